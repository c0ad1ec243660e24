/**
 * An exact sliding window (a sliding log): every admitted hit is kept with its time until
 * it leaves the window, so the count at `now` is exactly the weight of the hits in
 * `(now - windowMs, now]`. A limit of N never admits more than N in any window of
 * `windowMs`. Memory grows with the hits inside one window (at most the limit, since
 * refused hits are not recorded); prefer the bucketed window for large limits.
 */
import { InvalidInputError } from '../core/index.js';
import { assertSameShape, DEFAULT_BUCKETS, type WindowCounter } from './bucket-window.js';

/** Exact sliding-window counter. */
export class LogWindow implements WindowCounter {
  get mode(): 'exact' {
    return 'exact';
  }

  readonly windowMs: number;
  readonly buckets: number;
  /** Hit times and weights, oldest first, from index `head`. */
  private times: number[] = [];
  private weights: number[] = [];
  private head = 0;
  total = 0;

  constructor(windowMs: number, buckets: number | undefined, field = 'window') {
    // A log has no buckets: any whole number of ms is a valid length (buckets is kept for the key's shape).
    if (!Number.isSafeInteger(windowMs) || windowMs < 1) {
      throw new InvalidInputError(`${field}.windowMs`, 'must be a whole number of ms >= 1', windowMs);
    }
    this.buckets = buckets ?? DEFAULT_BUCKETS;
    this.windowMs = windowMs;
  }

  private expire(now: number): void {
    const cutoff = now - this.windowMs;
    while (this.head < this.times.length && this.times[this.head]! <= cutoff) {
      this.total -= this.weights[this.head]!;
      this.head++;
    }
    // Compact once the dead prefix dominates, so memory follows the live hits.
    if (this.head > 32 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.weights = this.weights.slice(this.head);
      this.head = 0;
    }
    if (this.head === this.times.length) this.total = 0;
  }

  count(now: number): number {
    this.expire(now);
    return this.total;
  }

  add(now: number, weight: number): number {
    this.expire(now);
    const last = this.times.length - 1;
    if (last >= this.head && this.times[last] === now) this.weights[last]! += weight;
    else {
      this.times.push(now);
      this.weights.push(weight);
    }
    this.total += weight;
    return this.total;
  }

  adjust(now: number, at: number, delta: number): void {
    this.expire(now);
    for (let i = this.times.length - 1; i >= this.head; i--) {
      if (this.times[i] !== at) continue;
      const before = this.weights[i]!;
      const after = Math.max(0, before + delta);
      this.weights[i] = after;
      this.total += after - before;
      return;
    }
  }

  timeUntilFits(now: number, limit: number, weight: number): number | null {
    if (weight > limit) return null;
    this.expire(now);
    let count = this.total;
    if (count + weight <= limit) return 0;
    for (let i = this.head; i < this.times.length; i++) {
      count -= this.weights[i]!;
      if (count + weight <= limit) return Math.max(1, this.times[i]! + this.windowMs - now);
    }
    return Math.max(1, this.times[this.times.length - 1]! + this.windowMs - now);
  }

  timeUntilEmpty(now: number): number {
    this.expire(now);
    for (let i = this.times.length - 1; i >= this.head; i--)
      if (this.weights[i]! > 0) return Math.max(1, this.times[i]! + this.windowMs - now);
    return 0;
  }

  idleAt(now: number): boolean {
    this.expire(now);
    return this.total <= 0;
  }

  assertShape(windowMs: number, buckets: number | undefined, mode: 'bucketed' | 'exact', field: string): void {
    assertSameShape(this, windowMs, buckets, mode, field);
  }
}
