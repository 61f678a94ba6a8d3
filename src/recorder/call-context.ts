/**
 * Which track() call (and attempt) the running code belongs to, so that HTTP requests observed by
 * instrumentHttp inside it count as that call's attempts instead of becoming rows of their own.
 *
 * AsyncLocalStorage follows the caller through awaits, timers and the HTTP clients' callbacks.
 * On Node 20 it costs every promise of the process a hook once used, so it stays off until
 * instrumentHttp asks for it (without instrumentHttp there is nothing to attribute), and is
 * disabled again when the last instrumentHttp is undone: the hook would otherwise stay on for
 * the rest of the process. A track() call still running then loses its frame (nothing observes
 * its requests any more); its later attempts run without one (track() asks framesOn() for each).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Outcome } from './types';

/** One attempt of a tracked call, as seen by the HTTP observer. */
export interface AttemptFrame {
  /** HTTP requests this attempt made (an SDK retrying on its own makes several). */
  requests: number;
  /** How the latest of those requests ended, judged from its status and body. */
  last: Outcome | undefined;
}

const frames = new AsyncLocalStorage<AttemptFrame>();
let users = 0;

/** instrumentHttp turns attribution on; the returned function turns it off again. */
export function useFrames(): () => void {
  users++;
  let done = false;
  return () => {
    if (done) return;
    done = true;
    if (--users === 0) frames.disable(); // the promise hook goes too, unless another storage needs it
  };
}

export function framesOn(): boolean {
  return users > 0;
}

/** Runs one attempt of a tracked call in its own frame. */
export function runInFrame<A, R>(frame: AttemptFrame, fn: (arg: A) => R, arg: A): R {
  return frames.run(frame, fn, arg);
}

/** The attempt the current code runs in, if any. */
export function currentFrame(): AttemptFrame | undefined {
  return users > 0 ? frames.getStore() : undefined;
}
