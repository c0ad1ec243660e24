import { InvalidInputError } from './errors.js';

/**
 * Time. Nothing in agent-governor reads `Date.now()` or `performance.now()` directly:
 * everything takes a `Clock`, so tests drive time with a `ManualClock` and never sleep.
 */

/** A source of wall time (for calendar periods and leases) and monotonic time (for durations). */
export interface Clock {
  /** Wall-clock time in epoch milliseconds. */
  now(): number;
  /** Monotonic milliseconds from an arbitrary origin; never goes backwards. */
  monotonic(): number;
  /**
   * Resolve after `ms` milliseconds of this clock's time, or reject with the signal's
   * reason when `signal` aborts first. Timers are `unref`'d so they never keep a process alive.
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** The real clock: `Date.now()`, `performance.now()` and `setTimeout`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(abortReason(signal as AbortSignal));
      };
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        Math.max(0, ms),
      );
      if (typeof timer === 'object' && typeof timer.unref === 'function') timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};

interface Sleeper {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/**
 * A clock that moves only when told to. `advance(ms)` moves wall and monotonic time
 * together and wakes every `sleep` that is due, in order.
 */
export class ManualClock implements Clock {
  private wall: number;
  private mono = 0;
  private seq = 0;
  private sleepers: Sleeper[] = [];

  /** Start at `start` (epoch ms or a date string; default 2026-01-01T00:00:00Z). */
  constructor(start: number | string | Date = Date.UTC(2026, 0, 1)) {
    this.wall = typeof start === 'number' ? start : new Date(start).getTime();
    if (!Number.isFinite(this.wall)) throw new InvalidInputError('start', 'must be epoch ms, a date string or a Date', start);
  }

  now(): number {
    return this.wall;
  }

  monotonic(): number {
    return this.mono;
  }

  /** Move time forward by `ms` and wake the sleepers that are due. */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new InvalidInputError('ms', 'must be a finite number of ms >= 0', ms);
    this.wall += ms;
    this.mono += ms;
    this.wake();
  }

  /** Jump the wall clock to an instant (monotonic time moves by the same amount if forward). */
  set(to: number | string | Date): void {
    const t = typeof to === 'number' ? to : new Date(to).getTime();
    if (!Number.isFinite(t)) throw new InvalidInputError('to', 'must be epoch ms, a date string or a Date', to);
    if (t > this.wall) this.mono += t - this.wall;
    this.wall = t;
    this.wake();
  }

  /** Number of sleeps not yet woken (useful to wait until code under test is parked). */
  get pendingSleeps(): number {
    return this.sleepers.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(abortReason(signal));
        return;
      }
      const sleeper: Sleeper = {
        at: this.mono + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(abortReason(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (ms <= 0) {
        sleeper.resolve();
        return;
      }
      this.sleepers.push(sleeper);
    });
  }

  private wake(): void {
    if (this.sleepers.length === 0) return;
    const due = this.sleepers.filter((s) => s.at <= this.mono).sort((a, b) => a.at - b.at || a.seq - b.seq);
    if (due.length === 0) return;
    this.sleepers = this.sleepers.filter((s) => s.at > this.mono);
    for (const s of due) s.resolve();
  }
}
