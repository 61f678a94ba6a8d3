/**
 * recorder.wrapHandler: the short-lived handler's pattern in one call. A Lambda, a Vercel function
 * or a Deno.serve/Supabase handler may be frozen or killed as soon as its promise settles, so the
 * rows of its calls must be written before that: the wrapper awaits the handler, then the flush,
 * and only then settles with the handler's own value or error. With `waitUntil` (Supabase's
 * EdgeRuntime.waitUntil, Vercel's waitUntil, a Worker's ctx.waitUntil) the answer goes out at once
 * and the platform keeps the instance alive until the flush is done.
 */
import type { WrapHandlerOptions } from './types';

export function wrapHandler<A extends unknown[], R>(flush: () => Promise<void>, handler: (...args: A) => R | Promise<R>, options?: WrapHandlerOptions): (...args: A) => Promise<Awaited<R>> {
  const waitUntil = options?.waitUntil;
  const wrapped = async function flushedHandler(this: unknown, ...args: A): Promise<Awaited<R>> {
    try {
      return await handler.apply(this, args);
    } finally {
      let handedOver = false;
      if (waitUntil) {
        try {
          waitUntil(flush());
          handedOver = true;
        } catch {
          /* the platform refused the promise: flush before answering instead */
        }
      }
      if (!handedOver) await flush();
    }
  };
  // Callers read a handler's arity: Deno.serve builds no Request for a handler declaring no
  // parameter, Express treats four as an error handler.
  Object.defineProperty(wrapped, 'length', { value: handler.length });
  return wrapped;
}
