/**
 * The end of the process, for every recorder in it. Two duties:
 *  - a script that runs out of work without close(): Node emits 'beforeExit' when the event loop
 *    runs dry, and closing then schedules the final writes, which keeps the process alive until
 *    they are done;
 *  - a process that ends anyway — `process.exit()` right after a handler answered, Deno's
 *    `unload` — while tracked calls were never
 *    written: nothing can be written any more, but it must not be silent. One warning per process,
 *    written synchronously (a warning emitted the usual way would wait for a tick that never comes).
 */
import fs from 'node:fs';
import type { RecorderError } from './report';

/** What a recorder holds that is not yet in the database (or on a disk spool). */
export interface Unsaved {
  rows: number;
  calls: number;
  writing: boolean;
}

export interface LiveRecorder {
  close(): Promise<void>;
  flush(): Promise<void>;
  unsaved(): Unsaved;
  /** The recorder's onError, if it has one: the warning goes there instead of stderr. */
  readonly onError: ((e: Error) => void) | undefined;
  problem(message: string): RecorderError;
}

const live = new Set<LiveRecorder>();
let installed = false;
let warned = false;

export function register(r: LiveRecorder): void {
  live.add(r);
  if (installed) return;
  installed = true;
  const proc = (globalThis as { process?: NodeJS.Process }).process;
  if (proc && typeof proc.on === 'function') {
    proc.on('beforeExit', () => {
      for (const x of live) void x.close();
    });
    proc.on('exit', warnUnsaved);
  }
  const g = globalThis as { Deno?: unknown; addEventListener?: (type: string, fn: () => void) => void };
  if (g.Deno !== undefined && typeof g.addEventListener === 'function') {
    // Deno dispatches beforeunload when the event loop runs dry (as Node's beforeExit) and
    // Supabase before it stops a worker: a last chance to write. Work started here keeps the loop
    // going; what is still unwritten at `unload` is warned about.
    g.addEventListener('beforeunload', () => {
      for (const x of live) {
        const u = x.unsaved();
        if (u.rows > 0 || u.writing) void x.flush();
      }
    });
    g.addEventListener('unload', warnUnsaved);
  }
}

export function unregister(r: LiveRecorder): void {
  live.delete(r);
}

export const UNFLUSHED_HINT = 'in a short-lived handler, `await recorder.flush()` before answering or wrap it with recorder.wrapHandler() (docs/recorder.md, "Runtimes")';

/** Once per process: the calls of every recorder that the process's end is about to lose. */
export function warnUnsaved(): void {
  if (warned) return;
  let rows = 0;
  let calls = 0;
  let writing = false;
  const toStderr: string[] = [];
  for (const r of live) {
    const u = r.unsaved();
    if (u.rows === 0 && u.calls === 0 && !u.writing) continue;
    const what = `${u.rows} tracked row(s) not written${u.calls ? `, ${u.calls} call(s) still running` : ''}${u.writing ? ', a write in flight' : ''}`;
    const message = `the process is ending with ${what}: the recorder was not flushed; ${UNFLUSHED_HINT}`;
    if (r.onError) {
      try {
        r.onError(r.problem(message));
      } catch {
        /* a throwing handler changes nothing now */
      }
    } else {
      rows += u.rows;
      calls += u.calls;
      writing ||= u.writing;
      toStderr.push(message);
    }
    warned = true;
  }
  if (toStderr.length === 0) return;
  const sum =
    toStderr.length === 1
      ? toStderr[0]
      : `the process is ending with ${rows} tracked row(s) not written, ${calls} call(s) still running${writing ? ', a write in flight' : ''} in ${toStderr.length} recorders: they were not flushed; ${UNFLUSHED_HINT}`;
  const text = `(${process.release?.name ?? 'js'}:${process.pid}) IntegrationMonitorRecorderWarning: integration-monitor recorder: ${sum}\n`;
  try {
    fs.writeSync(2, text);
  } catch {
    console.error(text.trimEnd());
  }
}
