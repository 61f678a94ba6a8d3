/**
 * Channel subscriptions that are on only while something holds them, and for a while after the
 * last holder let go: instrumentHttp follows a response only for provider requests, so it
 * subscribes the response channels while one is in flight. Every request to any host passes a
 * subscribed channel (a message built, each handler called); lingering after the last release
 * makes it one subscription per busy period rather than one per request.
 */
import dc from 'node:diagnostics_channel';

export interface LingeringSubscriptions {
  hold(): void;
  release(): void;
  /** Unsubscribes now, whatever holds them. */
  close(): void;
}

export function lingeringSubscriptions(pairs: readonly [string, (m: unknown) => void][], lingerMs: number): LingeringSubscriptions {
  let holders = 0;
  let on = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let lastRelease = 0;
  const off = (): void => {
    if (!on) return;
    on = false;
    for (const [name, fn] of pairs) dc.unsubscribe(name, fn);
  };
  const arm = (ms: number): void => {
    timer = setTimeout(check, ms);
    // Never what keeps a process alive (Node's timers; Deno's are plain numbers).
    if (typeof timer === 'object') timer.unref();
  };
  function check(): void {
    timer = undefined;
    if (holders > 0) return; // the next release arms it again
    const left = lastRelease + lingerMs - Date.now();
    if (left > 0) arm(left);
    else off();
  }
  return {
    hold() {
      holders++;
      if (on) return;
      on = true;
      for (const [name, fn] of pairs) dc.subscribe(name, fn);
    },
    release() {
      if (holders > 0) holders--;
      if (holders > 0) return;
      lastRelease = Date.now();
      if (timer === undefined) arm(lingerMs);
    },
    close() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      holders = 0;
      off();
    },
  };
}
