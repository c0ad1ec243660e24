/**
 * Rate-limit configuration (seed 002's `RateLimitConfig`): requests per minute, hour and
 * day, a burst allowance, and token limits the way LLM providers set them.
 */
import { z } from 'zod';
import { InvalidInputError, parseDuration, parseInput, type Duration } from '../core/index.js';

/** Which sliding window a result speaks of. */
export type LimitType = 'burst' | 'minute' | 'hour' | 'day' | 'tokensPerMinute' | 'tokensPerHour' | 'tokensPerDay';

/** Limits for one user or endpoint. Every field is optional; an absent field sets no limit. */
export interface RateLimitConfig {
  /** Requests in any sliding minute. */
  readonly requestsPerMinute?: number | undefined;
  /** Requests in any sliding hour. */
  readonly requestsPerHour?: number | undefined;
  /** Requests in any sliding day (24 h). */
  readonly requestsPerDay?: number | undefined;
  /**
   * Burst: at most this many requests in any `burstWindow` (default one second). With
   * `requestsPerMinute: 60, burstSize: 10`, a client may send 10 requests at once, but not
   * all 60 of its minute.
   */
  readonly burstSize?: number | undefined;
  /** The short window of `burstSize` (default `'1s'`). */
  readonly burstWindow?: Duration | undefined;
  /** Tokens (input + output) in any sliding minute, hour or day: weighted hits. */
  readonly tokensPerMinute?: number | undefined;
  readonly tokensPerHour?: number | undefined;
  readonly tokensPerDay?: number | undefined;
  /** `'bucketed'` (default; fixed memory, errs by at most one bucket) or `'exact'` (a sliding log). */
  readonly mode?: 'bucketed' | 'exact' | undefined;
}

/** The default config, from the seed's example: 60 a minute, 1,000 an hour, 10,000 a day. */
export const DEFAULT_RATE_LIMIT_CONFIG: RateLimitConfig = Object.freeze({
  requestsPerMinute: 60,
  requestsPerHour: 1000,
  requestsPerDay: 10000,
});

/** One window of a compiled config. */
export interface WindowSpec {
  readonly type: LimitType;
  readonly windowMs: number;
  readonly limit: number;
  /** `requests` windows count 1 a call; `tokens` windows count the call's tokens. */
  readonly weighs: 'requests' | 'tokens';
  readonly buckets: number;
  readonly mode: 'bucketed' | 'exact';
}

/** A validated config and its windows, longest first (the longest exceeded window is the one reported). */
export interface CompiledConfig {
  readonly config: RateLimitConfig;
  readonly windows: readonly WindowSpec[];
}

const positiveInt = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const configSchema = z
  .object({
    requestsPerMinute: positiveInt.optional(),
    requestsPerHour: positiveInt.optional(),
    requestsPerDay: positiveInt.optional(),
    burstSize: positiveInt.optional(),
    burstWindow: z.union([z.number(), z.string()]).optional(),
    tokensPerMinute: positiveInt.optional(),
    tokensPerHour: positiveInt.optional(),
    tokensPerDay: positiveInt.optional(),
    mode: z.enum(['bucketed', 'exact']).optional(),
  })
  .strict();

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Validate a config and compile its windows. */
export function compileConfig(value: unknown, field: string): CompiledConfig {
  const c = parseInput(configSchema, value, field) as RateLimitConfig;
  const mode = c.mode ?? 'bucketed';
  const burstMs = c.burstWindow === undefined ? 1000 : parseDuration(c.burstWindow, `${field}.burstWindow`);
  if (c.burstWindow !== undefined && c.burstSize === undefined) {
    throw new InvalidInputError(`${field}.burstWindow`, 'needs a burstSize', c.burstWindow);
  }
  const w = (type: LimitType, windowMs: number, limit: number | undefined, weighs: 'requests' | 'tokens'): WindowSpec[] =>
    limit === undefined ? [] : [{ type, windowMs, limit, weighs, buckets: bucketsFor(windowMs), mode }];
  const windows = [
    ...w('day', DAY, c.requestsPerDay, 'requests'),
    ...w('hour', HOUR, c.requestsPerHour, 'requests'),
    ...w('minute', MINUTE, c.requestsPerMinute, 'requests'),
    ...w('burst', burstMs, c.burstSize, 'requests'),
    ...w('tokensPerDay', DAY, c.tokensPerDay, 'tokens'),
    ...w('tokensPerHour', HOUR, c.tokensPerHour, 'tokens'),
    ...w('tokensPerMinute', MINUTE, c.tokensPerMinute, 'tokens'),
  ];
  return { config: Object.freeze({ ...c }), windows };
}

/** Ten buckets when the window divides evenly (the seed's count), else one bucket per ms-divisor that fits. */
function bucketsFor(windowMs: number): number {
  for (const n of [10, 8, 5, 4, 2]) if (windowMs % n === 0) return n;
  return 1;
}
