/**
 * Where the recorder runs, as far as it changes how it must behave: short-lived handlers (Lambda,
 * Vercel, Supabase Edge Functions, Deno isolates) are frozen or killed right after they answer,
 * so they must not keep connections open between invocations, and their disk (if any) dies with
 * them. Detection reads globals and a few well-known platform variables, never throwing: Deno
 * without `--allow-env` refuses environment reads.
 */
import fs from 'node:fs';
import path from 'node:path';

export type RuntimeName = 'node' | 'deno' | 'bun';

export function runtimeName(): RuntimeName {
  const g = globalThis as { Deno?: unknown; Bun?: unknown };
  if (g.Deno !== undefined) return 'deno';
  if (g.Bun !== undefined) return 'bun';
  return 'node';
}

/** Set by the platforms whose handlers are frozen or killed between invocations. */
const SHORT_LIVED_VARS = ['AWS_LAMBDA_FUNCTION_NAME', 'VERCEL', 'NETLIFY', 'FUNCTION_TARGET', 'FUNCTIONS_WORKER_RUNTIME', 'DENO_DEPLOYMENT_ID'];

/** Deno (Supabase Edge Functions, Deno Deploy) and the serverless platforms above. */
export function detectShortLived(): boolean {
  if (runtimeName() === 'deno' || (globalThis as { EdgeRuntime?: unknown }).EdgeRuntime !== undefined) return true;
  for (const name of SHORT_LIVED_VARS) {
    try {
      if (process.env[name]) return true;
    } catch {
      return false; // no permission to read the environment
    }
  }
  return false;
}

/**
 * Whether `dir` could be created and written: the nearest existing ancestor is a writable
 * directory. A read-only mount answers EROFS even to root; a runtime without file permissions
 * throws, which counts as not writable.
 */
export function writableDir(dir: string): boolean {
  try {
    let p = dir;
    for (;;) {
      try {
        if (!fs.statSync(p).isDirectory()) return false;
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') return false;
        const up = path.dirname(p);
        if (up === p) return false;
        p = up;
      }
    }
    fs.accessSync(p, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}
