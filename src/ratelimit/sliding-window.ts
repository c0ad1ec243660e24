/**
 * The seed's `SlidingWindow`, on its own: an in-memory sliding-window counter with
 * timestamps in seconds. The `RateLimiter` keeps the same windows in the Store instead, so
 * that limits are shared across processes; this class is for code that wants one counter.
 */
import { InvalidInputError } from '../core/index.js';
import { BucketWindow, LogWindow, type WindowCounter } from '../storage/index.js';

/** A sliding window of `windowSeconds` in `bucketCount` buckets (or an exact log with `mode: 'exact'`). */
export class SlidingWindow {
  readonly windowSeconds: number;
  readonly bucketCount: number;
  private readonly w: WindowCounter;

  constructor(windowSeconds: number, bucketCount = 10, options: { mode?: 'bucketed' | 'exact' } = {}) {
    if (typeof windowSeconds !== 'number' || !(windowSeconds > 0) || !Number.isFinite(windowSeconds)) {
      throw new InvalidInputError('windowSeconds', 'must be a positive number of seconds', windowSeconds);
    }
    if (options === null || typeof options !== 'object') throw new InvalidInputError('options', 'must be an object', options);
    if (options.mode !== undefined && options.mode !== 'bucketed' && options.mode !== 'exact')
      throw new InvalidInputError('options.mode', "must be 'bucketed' or 'exact'", options.mode);
    const ms = Math.round(windowSeconds * 1000);
    this.windowSeconds = windowSeconds;
    this.bucketCount = bucketCount;
    this.w = options.mode === 'exact' ? new LogWindow(ms, bucketCount) : new BucketWindow(ms, bucketCount);
  }

  /** Weight counted now (the seed's `total_count` as of the last call). */
  get totalCount(): number {
    return this.w.total;
  }

  /** Record a request (of `weight`, default 1) at `timestamp` (seconds) and return the current count. */
  record(timestamp: number, weight = 1): number {
    if (!(weight >= 0) || !Number.isFinite(weight)) throw new InvalidInputError('weight', 'must be a finite number >= 0', weight);
    return this.w.add(toMs(timestamp), weight);
  }

  /** The count in the sliding window at `timestamp` (seconds). */
  getCount(timestamp: number): number {
    return this.w.count(toMs(timestamp));
  }

  /** Seconds from `timestamp` until one more request fits under `limit` (0 if it fits now). */
  timeUntilSlotAvailable(timestamp: number, limit: number): number {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new InvalidInputError('limit', 'must be a non-negative integer', limit);
    const ms = this.w.timeUntilFits(toMs(timestamp), limit, 1);
    return ms === null ? Infinity : ms / 1000;
  }
}

function toMs(timestamp: number): number {
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0) {
    throw new InvalidInputError('timestamp', 'must be a finite number of seconds >= 0', timestamp);
  }
  return Math.floor(timestamp * 1000);
}
