/**
 * The rolling failure-rate policy's counts: two sliding windows in the store (calls and
 * failures), hit with the store's atomic `reserve` under a limit no call reaches, so the
 * counts add up across every process sharing the store. Windows are keyed by the
 * breaker's generation: a breaker that closes again starts from empty windows, and the
 * old ones are dropped by the store once idle.
 */
import { isPromiseLike } from '../core/index.js';
import type { Awaitable, Store, WindowItem } from '../storage/index.js';
import { RATE_BUCKETS, type ResolvedPolicy } from './options.js';

type RatePolicy = Extract<ResolvedPolicy, { kind: 'rate' }>;

/** Calls and failures in the window. */
export interface RateCounts {
  readonly calls: number;
  readonly failures: number;
}

/** The call and failure windows of one breaker. */
export class RateWindow {
  private gen = -1;
  private success: readonly WindowItem[] = [];
  private failure: readonly WindowItem[] = [];

  constructor(
    private readonly store: Store,
    /** The breaker's store key (`b|<key>`), the prefix of the window keys. */
    private readonly prefix: string,
    private readonly policy: RatePolicy,
  ) {}

  /** Count one call of generation `gen` (and one failure when `failed`); returns the counts after it. */
  hit(gen: number, failed: boolean): Awaitable<RateCounts> {
    const res = this.store.reserve({ counters: [], windows: this.items(gen, failed), leaseMs: 1 });
    const counts = (r: Awaited<typeof res>): RateCounts =>
      r.ok ? { calls: r.windowCounts[0] as number, failures: failed ? (r.windowCounts[1] as number) : 0 } : { calls: 0, failures: 0 };
    return isPromiseLike(res) ? Promise.resolve(res).then(counts) : counts(res);
  }

  /** True when `counts` trip the breaker: at least `minimumCalls` calls, and failures / calls >= `failureRate` (exact). */
  trips(counts: RateCounts): boolean {
    const rate = this.policy.failureRate;
    return counts.calls >= this.policy.minimumCalls && BigInt(counts.failures) * rate.den >= BigInt(counts.calls) * rate.num;
  }

  /** Read the counts of generation `gen`. */
  async read(gen: number): Promise<RateCounts> {
    const [calls, failures] = await this.store.readWindows(this.items(gen, true));
    return { calls: calls!.count, failures: failures!.count };
  }

  private items(gen: number, failed: boolean): readonly WindowItem[] {
    if (gen !== this.gen) {
      const p = this.policy;
      const base = { windowMs: p.windowMs, limit: Number.MAX_SAFE_INTEGER, buckets: RATE_BUCKETS, weight: 1 };
      const calls = { ...base, key: `${this.prefix}|calls@${gen}/${p.windowMs}` };
      this.success = [calls];
      this.failure = [calls, { ...base, key: `${this.prefix}|failures@${gen}/${p.windowMs}` }];
      this.gen = gen;
    }
    return failed ? this.failure : this.success;
  }
}
