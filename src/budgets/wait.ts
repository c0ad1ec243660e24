/**
 * Wait mode for budgets: a call refused by a budget set to `onExhausted: 'wait'` pauses
 * until the budget is topped up, money held by other calls comes back, or the period
 * resets, instead of failing. The shape follows the rate limiter's wait queues: waiters
 * of one budget go in arrival order, each retry is one atomic reserve, sleeping goes
 * through the injected clock, and a waiter gives up at its deadline or when its signal
 * aborts. A budget change, a settled call or a released hold in this process wakes the
 * waiters at once; the poll interval covers what happens elsewhere (another process's
 * release or top-up over a shared store, a lease that expires).
 */
import { BudgetExceededError, GovernorError, isPromiseLike, type Clock } from '../core/index.js';
import type { Registry } from './registry.js';

/** What one admission attempt gave: a result, or a refusal with the time its period resets (if known). */
export type BudgetAttempt<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly retryAfterMs: number | undefined; readonly error: unknown };

/** FIFO waiters per budget key, woken by `wake()` or by time. */
class BudgetWaits {
  private readonly tails = new Map<string, Promise<void>>();
  private wakers = new Set<() => void>();

  constructor(
    private readonly clock: Clock,
    private readonly pollMs: number,
  ) {}

  /** Number of budget keys with waiters. */
  get size(): number {
    return this.tails.size;
  }

  /** Wake every waiter to try again now (a budget changed or a call settled). */
  wake(): void {
    if (this.wakers.size === 0) return;
    const w = this.wakers;
    this.wakers = new Set();
    for (const f of w) f();
  }

  /**
   * Wait for this key's earlier waiters, then retry `attempt` until it admits. Each
   * refusal waits for a wake, the period's reset or the poll interval, whichever is
   * first. Returns the last refusal's error once `deadline` (epoch ms) has passed;
   * rejects with the signal's reason when it aborts.
   */
  async run<T>(
    key: string,
    attempt: () => PromiseLike<BudgetAttempt<T>> | BudgetAttempt<T>,
    first: BudgetAttempt<T>,
    deadline: number,
    signal?: AbortSignal,
  ): Promise<T> {
    const prev = this.tails.get(key);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    const tail = prev === undefined ? mine : prev.then(() => mine);
    this.tails.set(key, tail);
    try {
      let last = first;
      if (prev !== undefined) await this.pause(prev, deadline - this.clock.now(), signal);
      for (;;) {
        if (last.ok) return last.value;
        signal?.throwIfAborted();
        const now = this.clock.now();
        if (now >= deadline) throw last.error;
        const wait = Math.min(deadline - now, last.retryAfterMs ?? Infinity, this.pollMs);
        await this.pause(undefined, wait, signal);
        signal?.throwIfAborted();
        last = await attempt();
      }
    } finally {
      done();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Resolve on a wake, after `ms` of clock time, or when `turn` resolves; reject on abort. */
  private pause(turn: Promise<void> | undefined, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const stop = new AbortController();
      const finish = (): void => {
        this.wakers.delete(finish);
        signal?.removeEventListener('abort', onAbort);
        stop.abort();
        resolve();
      };
      const onAbort = (): void => {
        this.wakers.delete(finish);
        stop.abort();
        reject(signal?.reason);
      };
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      if (turn === undefined) this.wakers.add(finish);
      else void turn.then(finish);
      this.clock.sleep(Math.max(0, ms), stop.signal).then(finish, () => undefined);
    });
  }
}

/** The pipeline's side of wait mode: which refusals wait, for how long, and on what. */
export class WaitMode {
  readonly waits: BudgetWaits;

  constructor(
    private readonly reg: Registry,
    pollMs: number,
    /** Run before each retry: loads top-ups made by other processes sharing the store. */
    private readonly beforeRetry: () => Promise<void> | undefined,
  ) {
    this.waits = new BudgetWaits(reg.host.clock, pollMs);
  }

  /**
   * Internal (pipeline hook): when `first` is a refusal by a budget in wait mode, wait for
   * a top-up, a settle or the period's reset and admit again with `again`, until the
   * deadline; then return the last refusal. Anything else passes through unchanged.
   */
  admitWaiting<T>(
    first: T | PromiseLike<T>,
    again: () => T | PromiseLike<T>,
    maxWaitMs: number | undefined,
    signal: AbortSignal | undefined,
  ): T | Promise<T> {
    const waitsOn = (x: unknown): x is BudgetExceededError =>
      x instanceof BudgetExceededError && this.reg.extras.get(x.limit)?.onExhausted === 'wait';
    const attempt = (x: T): BudgetAttempt<T> =>
      waitsOn(x) ? { ok: false, retryAfterMs: x.retryAfterMs, error: x } : { ok: true, value: x };
    const check = (r: T): T | Promise<T> => {
      if (!waitsOn(r)) return r;
      const deadline = this.reg.host.clock.now() + (maxWaitMs ?? this.reg.extras.get(r.limit)?.maxWaitMs ?? this.reg.host.maxWaitMs);
      const once = (): BudgetAttempt<T> | PromiseLike<BudgetAttempt<T>> => {
        const x = again();
        return isPromiseLike(x) ? Promise.resolve(x).then(attempt) : attempt(x);
      };
      const retry = (): BudgetAttempt<T> | PromiseLike<BudgetAttempt<T>> => {
        const loading = this.beforeRetry();
        return loading === undefined ? once() : loading.then(once);
      };
      return this.waits.run(`${r.limit}|${r.scope}`, retry, attempt(r), deadline, signal).catch((e: unknown) => {
        if (e instanceof GovernorError) return e as T;
        throw e;
      });
    };
    return isPromiseLike(first) ? Promise.resolve(first).then(check) : check(first);
  }
}
