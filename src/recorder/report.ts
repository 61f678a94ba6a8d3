/**
 * Where the recorder's own problems go. With an `onError`, every report goes there (a throwing
 * handler is ignored). Without one, the recorder is still never silent: each kind of problem is
 * emitted as a process warning, at most once per kind per minute, so a stalled recorder shows up in
 * the application's logs without flooding them.
 */
export type ProblemKind = 'database-down' | 'write-timeout' | 'dead-letter' | 'spool-full' | 'spool-corrupt' | 'spool-io' | 'spool-unsafe' | 'internal' | 'unflushed';

/** An error the recorder reports about itself; `kind` says which problem it is. */
export class RecorderError extends Error {
  constructor(
    readonly kind: ProblemKind,
    message: string,
  ) {
    super(`integration-monitor recorder: ${message}`);
    this.name = 'RecorderError';
  }
}

export const WARNING_INTERVAL_MS = 60_000;

/** Per process: several recorders (or one re-created) still warn once per kind per minute. */
const lastWarned = new Map<ProblemKind, number>();

export class Reporter {
  constructor(
    private readonly onError: ((e: Error) => void) | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  report(kind: ProblemKind, message: string): void {
    const err = new RecorderError(kind, message);
    if (this.onError) {
      try {
        this.onError(err);
      } catch {
        /* a throwing error handler must not break the writer loop */
      }
      return;
    }
    const t = this.now();
    const last = lastWarned.get(kind);
    if (last !== undefined && t - last < WARNING_INTERVAL_MS) return;
    lastWarned.set(kind, t);
    process.emitWarning(err.message, { type: 'IntegrationMonitorRecorderWarning', code: kind });
  }

  /** An unexpected exception inside the recorder (a bug, a throwing inspect callback). */
  internal(e: unknown): void {
    this.report('internal', e instanceof Error ? e.message : String(e));
  }
}
