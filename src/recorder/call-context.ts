/**
 * Which track() call (and attempt) the running code belongs to, so that HTTP requests observed by
 * instrumentHttp inside it count as that call's attempts instead of becoming rows of their own.
 *
 * AsyncLocalStorage follows the caller through awaits, timers and the HTTP clients' callbacks.
 * On Node 20, while enabled, it costs every promise of the process a hook (measured: +8 µs of CPU
 * per node:http request to any host, more for fetch), so it is enabled only while it has
 * something to follow: from the start of a tracked attempt with instrumentHttp on until the last
 * such attempt ends, or the last instrumentHttp is undone. A request is attributed when it is
 * created, so only creation has to happen inside the attempt; code an attempt left running after
 * it ended (a request fired and forgotten) may then find no frame, and its requests become rows
 * of their own.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Outcome } from './types';

/** One attempt of a tracked call, as seen by the HTTP observer. */
export interface AttemptFrame {
  /** HTTP requests this attempt made (an SDK retrying on its own makes several). */
  requests: number;
  /** How the latest of those requests ended, judged from its status and body. */
  last: Outcome | undefined;
  /** Between runInFrame and leaveFrame. */
  running?: boolean;
}

const frames = new AsyncLocalStorage<AttemptFrame>();
let users = 0;
/** Attempts between runInFrame and leaveFrame. */
let running = 0;

/** instrumentHttp turns attribution on; the returned function turns it off again. */
export function useFrames(): () => void {
  users++;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--users === 0) frames.disable();
  };
}

export function framesOn(): boolean {
  return users > 0;
}

/** Runs one attempt of a tracked call in its own frame; leaveFrame(frame) when the attempt has ended. */
export function runInFrame<A, R>(frame: AttemptFrame, fn: (arg: A) => R, arg: A): R {
  frame.running = true;
  running++;
  return frames.run(frame, fn, arg); // enables the storage (and its promise hook) if it was off
}

/** An attempt has ended: with no other attempt running, the storage and its promise hook go off. */
export function leaveFrame(frame: AttemptFrame | undefined): void {
  if (!frame?.running) return;
  frame.running = false;
  // disable() leaves the hook on while another AsyncLocalStorage of the process is enabled.
  if (--running === 0) frames.disable();
}

/** The attempt the current code runs in, if any. */
export function currentFrame(): AttemptFrame | undefined {
  return users > 0 ? frames.getStore() : undefined;
}
