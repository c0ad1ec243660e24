/**
 * Call timeouts: race an operation against the clock, aborting its signal when the time
 * runs out. Only calls through a breaker with a `timeout` pay for this (one sleep on the
 * injected clock per call, stopped as soon as the operation settles); the others run no
 * timer at all.
 */
import type { Clock } from '../core/index.js';
import { BreakerTimeoutError } from './errors.js';

/** A controller linked to `signal` (aborting with its reason), and `unlink` to stop following it. */
export function linkedController(signal: AbortSignal | undefined): { controller: AbortController; unlink: () => void } {
  const controller = new AbortController();
  if (signal === undefined) return { controller, unlink: noop };
  if (signal.aborted) {
    controller.abort(signal.reason);
    return { controller, unlink: noop };
  }
  // A long-lived caller signal must not collect one listener per call: unlink when done.
  const follow = (): void => controller.abort(signal.reason);
  signal.addEventListener('abort', follow, { once: true });
  return { controller, unlink: () => signal.removeEventListener('abort', follow) };
}

/**
 * Settle as `operation` does, or reject with `BreakerTimeoutError` after `ms` of `clock`
 * time, aborting `controller` with that error. A late result of the operation is dropped.
 */
export function raceTimeout<T>(
  clock: Clock,
  breaker: string,
  ms: number,
  controller: AbortController,
  operation: () => T | PromiseLike<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop = new AbortController();
    let settled = false;
    clock.sleep(ms, stop.signal).then(
      () => {
        if (settled) return;
        settled = true;
        const err = new BreakerTimeoutError(breaker, ms);
        controller.abort(err);
        reject(err);
      },
      () => undefined, // stopped: the operation settled first
    );
    const first = (): boolean => {
      if (settled) return false;
      settled = true;
      stop.abort();
      return true;
    };
    let r: T | PromiseLike<T>;
    try {
      r = operation();
    } catch (e) {
      if (first()) reject(e);
      return;
    }
    Promise.resolve(r).then(
      (v) => {
        if (first()) resolve(v);
      },
      (e: unknown) => {
        if (first()) reject(e);
      },
    );
  });
}

function noop(): void {}
