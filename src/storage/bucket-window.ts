/**
 * A bucketed sliding window (the seed's `SlidingWindow` algorithm): the window is split
 * into `buckets` equal buckets and the count is the sum of the current bucket and the
 * `buckets - 1` before it. The oldest bucket is dropped whole as soon as the current one
 * starts, while part of it is still inside the true sliding window: the count can miss
 * at most one bucket's worth of hits, so over any true window of `windowMs` a limit of N
 * can admit up to N plus the hits of one bucket. Memory is fixed (one number per bucket).
 * Use the exact mode ({@link LogWindow}) where that bound matters.
 */
import { InvalidInputError } from '../core/index.js';

/** Default number of buckets per window, as in the seed. */
export const DEFAULT_BUCKETS = 10;

/** A sliding-window counter: bucketed ({@link BucketWindow}) or exact ({@link LogWindow}). */
export interface WindowCounter {
  readonly windowMs: number;
  readonly buckets: number;
  readonly mode: WindowMode;
  /** Weight counted as of the last operation. */
  readonly total: number;
  /** Weight counted at `now`. */
  count(now: number): number;
  /** Record `weight` at `now`; returns the new count. */
  add(now: number, weight: number): number;
  /** Correct a hit made at `at` by `delta` (never below 0); ignored once it left the window. */
  adjust(now: number, at: number, delta: number): void;
  /** Ms until `weight` more fits under `limit`: 0 if now, `null` if never (weight > limit). */
  timeUntilFits(now: number, limit: number, weight: number): number | null;
  /** Ms until the window is empty (0 if it is). */
  timeUntilEmpty(now: number): number;
  /** True when nothing is counted any more at `now`. */
  idleAt(now: number): boolean;
  /** Refuse a second definition of the same key with another shape. */
  assertShape(windowMs: number, buckets: number | undefined, mode: WindowMode, field: string): void;
}

/** `bucketed` (fixed memory, errs by at most one bucket) or `exact` (a sliding log: exact, memory per hit). */
export type WindowMode = 'bucketed' | 'exact';

interface BucketShape {
  readonly windowMs: number;
  readonly buckets: number;
  readonly bucketMs: number;
}

// Windows of one shape share it: an idle window then holds three fields and its counts.
const shapes = new Map<number, BucketShape>();

function shapeOf(windowMs: number, buckets: number): BucketShape {
  const id = windowMs * 4096 + buckets;
  let s = shapes.get(id);
  if (s === undefined) {
    s = Object.freeze({ windowMs, buckets, bucketMs: windowMs / buckets });
    if (shapes.size < 10_000) shapes.set(id, s);
  }
  return s;
}

/** Bucketed sliding-window counter. */
export class BucketWindow implements WindowCounter {
  private readonly shape: BucketShape;
  /** Index (time / bucketMs) of the newest bucket written; -1 before the first. */
  private last = -1;
  /** A plain array, not a typed one: no ArrayBuffer per window, so an idle window stays small. */
  private readonly counts: number[];
  total = 0;

  constructor(windowMs: number, buckets: number | undefined, field = 'window') {
    const n = BucketWindow.validate(windowMs, buckets, field);
    this.shape = shapeOf(windowMs, n);
    this.counts = new Array<number>(n).fill(0);
  }

  get mode(): 'bucketed' {
    return 'bucketed';
  }

  get windowMs(): number {
    return this.shape.windowMs;
  }

  get buckets(): number {
    return this.shape.buckets;
  }

  /** Validate a window shape; returns the bucket count. */
  static validate(windowMs: number, buckets: number | undefined, field: string): number {
    const n = buckets ?? DEFAULT_BUCKETS;
    if (!Number.isSafeInteger(n) || n < 1 || n > 3600)
      throw new InvalidInputError(`${field}.buckets`, 'must be an integer from 1 to 3600', buckets);
    if (!Number.isSafeInteger(windowMs) || windowMs < n || windowMs % n !== 0) {
      throw new InvalidInputError(`${field}.windowMs`, `must be a whole number of ms divisible by the bucket count ${n}`, windowMs);
    }
    return n;
  }

  assertShape(windowMs: number, buckets: number | undefined, mode: WindowMode, field: string): void {
    const s = this.shape;
    if (windowMs !== s.windowMs || (buckets ?? DEFAULT_BUCKETS) !== s.buckets || mode !== 'bucketed') {
      assertSameShape(this, windowMs, buckets, mode, field);
    }
  }

  private advance(now: number): number {
    const idx = Math.floor(now / this.shape.bucketMs);
    const last = this.last;
    if (idx > last) {
      const counts = this.counts;
      const n = counts.length;
      if (last < 0 || idx - last >= n) {
        counts.fill(0);
        this.total = 0;
      } else {
        for (let b = last + 1; b <= idx; b++) {
          const slot = b % n;
          this.total -= counts[slot]!;
          counts[slot] = 0;
        }
      }
      this.last = idx;
    }
    return idx;
  }

  /** Weight counted in the window at `now`. */
  count(now: number): number {
    this.advance(now);
    return this.total;
  }

  /** Record `weight` at `now`; returns the new count. */
  add(now: number, weight: number): number {
    const idx = this.advance(now);
    this.counts[idx % this.counts.length]! += weight;
    this.total += weight;
    return this.total;
  }

  /** Correct a hit made at `at` by `delta` (bucket floors at 0); ignored once that bucket left the window. */
  adjust(now: number, at: number, delta: number): void {
    const idx = this.advance(now);
    const n = this.counts.length;
    const b = Math.floor(at / this.shape.bucketMs);
    if (b > idx || b <= idx - n) return;
    const slot = b % n;
    const before = this.counts[slot]!;
    const after = Math.max(0, before + delta);
    this.counts[slot] = after;
    this.total += after - before;
  }

  /**
   * Ms from `now` until `weight` more fits under `limit` as the oldest buckets leave the
   * window; 0 if it fits now; `null` if it never can (weight > limit).
   */
  timeUntilFits(now: number, limit: number, weight: number): number | null {
    if (weight > limit) return null;
    const idx = this.advance(now);
    let count = this.total;
    if (count + weight <= limit) return 0;
    const n = this.counts.length;
    const bucketMs = this.shape.bucketMs;
    for (let b = idx - n + 1; b <= idx; b++) {
      count -= this.counts[((b % n) + n) % n]!;
      if (count + weight <= limit) return Math.max(1, (b + n) * bucketMs - now);
    }
    return Math.max(1, (idx + n) * bucketMs - now);
  }

  timeUntilEmpty(now: number): number {
    const idx = this.advance(now);
    if (this.total <= 0) return 0;
    const n = this.counts.length;
    for (let b = idx; b > idx - n; b--) if (this.counts[((b % n) + n) % n]! > 0) return Math.max(1, (b + n) * this.shape.bucketMs - now);
    return 0;
  }

  /** True when nothing in the window is still counted at `now`. */
  idleAt(now: number): boolean {
    return this.last < 0 || Math.floor(now / this.shape.bucketMs) - this.last >= this.counts.length || this.total <= 0;
  }
}

/** Throw when a key is used again with another window shape. */
export function assertSameShape(w: WindowCounter, windowMs: number, buckets: number | undefined, mode: WindowMode, field: string): void {
  if (windowMs !== w.windowMs || (buckets ?? DEFAULT_BUCKETS) !== w.buckets || mode !== w.mode) {
    throw new InvalidInputError(
      `${field}.windowMs`,
      `does not match the existing ${w.mode} window of ${w.windowMs} ms in ${w.buckets} buckets`,
      windowMs,
    );
  }
}

/** Validate the shape of a window of either mode (an exact log takes any whole number of ms). */
export function validateWindowShape(windowMs: number, buckets: number | undefined, mode: unknown, field: string): void {
  if (mode === 'exact') {
    if (!Number.isSafeInteger(windowMs) || windowMs < 1)
      throw new InvalidInputError(`${field}.windowMs`, 'must be a whole number of ms >= 1', windowMs);
    return;
  }
  if (mode !== 'bucketed') throw new InvalidInputError(`${field}.mode`, "must be 'bucketed' or 'exact'", mode);
  BucketWindow.validate(windowMs, buckets, field);
}
