import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readMigrations, resolveMigrationsDir } from '../../src/db/migrate';

/** A migrations folder holding the given numbered files and, optionally, today's repeatable folder (the caller removes it). */
export function migrationsCopy(names: string[], withRepeatables: boolean): string {
  const src = resolveMigrationsDir();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'intmon-mig-'));
  for (const n of names) fs.copyFileSync(path.join(src, n), path.join(dir, n));
  if (withRepeatables) fs.cpSync(path.join(src, 'repeatable'), path.join(dir, 'repeatable'), { recursive: true });
  return dir;
}

/**
 * A migrations folder as a database stood before `name` arrived: every numbered file but that one,
 * with today's repeatable folder (the upgrade tests migrate to it, then run the full set).
 */
export function migrationsWithout(name: string): string {
  const all = readMigrations().map((m) => m.name);
  if (!all.includes(name)) throw new Error(`no numbered migration ${name}`);
  return migrationsCopy(
    all.filter((n) => n !== name),
    true,
  );
}
