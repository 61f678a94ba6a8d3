import path from 'node:path';
import type { Config } from '../config';
import { startEmbedded } from '../db/embedded';

/** Where the embedded server keeps its data: persistent, git-ignored. */
export const embeddedDataDir = (config: Config) => path.join(config.dataDir, 'postgres');

/**
 * Runs a one-shot command against DATABASE_URL, or against the embedded database started for the
 * duration of the command when DATABASE_URL is unset.
 */
export async function withDatabase<T>(config: Config, fn: (url: string) => Promise<T>): Promise<T> {
  if (config.databaseUrl) return fn(config.databaseUrl);
  const db = await startEmbedded(embeddedDataDir(config), { quiet: true, secretsDir: config.dataDir, log: (l) => console.error(l) });
  try {
    return await fn(db.url);
  } finally {
    await db.stop();
  }
}
