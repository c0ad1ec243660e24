/**
 * Breaker options: the schema, the defaults (in one place) and their resolution into
 * the integers the breaker works with. Validated once with zod when a breaker or a
 * registry is configured; nothing is re-checked per call.
 */
import { Decimal } from 'decimal.js';
import { z } from 'zod';
import {
  GovernorError,
  InvalidInputError,
  moneyInput,
  parseDuration,
  parseInput,
  parseScaled,
  type Duration,
  clockSchema,
} from '../core/index.js';
import type { Store } from '../storage/index.js';
import type { BreakerEventListener } from './events.js';

/** The rolling failure-rate policy: trip when at least `failureRate` of the calls in `window` failed. */
export interface RatePolicyOptions {
  /** Fraction of failed calls that trips the breaker, in (0, 1]: `0.5` trips at half. */
  readonly failureRate: number;
  /** Calls the window must hold before the rate is judged (default 10). */
  readonly minimumCalls?: number | undefined;
  /** The rolling window (default `'1m'`); a whole number of ms divisible by 10 (it is kept in 10 buckets). */
  readonly window?: Duration | undefined;
}

/** Exponential back-off of the open period on repeated trips. */
export interface BackoffOptions {
  /** Each trip without a close in between multiplies the open period by this (default 2; at least 1). */
  readonly multiplier?: number | undefined;
  /** The open period never grows past this (default `'1h'`; at least `resetTimeout`). */
  readonly maxResetTimeout?: Duration | undefined;
}

/** How a breaker decides when to open and when to try again. Every field is optional. */
export interface BreakerOptions {
  /** Consecutive failures that trip a closed breaker (default 3, as in seed 000). Exclusive with `rate`. */
  readonly failureThreshold?: number | undefined;
  /** Trip on a failure rate over a rolling window instead of consecutive failures. Exclusive with `failureThreshold`. */
  readonly rate?: RatePolicyOptions | undefined;
  /** How long a tripped breaker stays open before the next call is let through as a probe (default `'5m'`). */
  readonly resetTimeout?: Duration | undefined;
  /** Probes admitted at once in half-open (default 1); the others are refused. */
  readonly halfOpenMaxProbes?: number | undefined;
  /** Grow the open period on repeated trips (default: off, every open period is `resetTimeout`); `false` turns an inherited one off. */
  readonly backoff?: BackoffOptions | false | undefined;
  /** A call running longer than this is aborted and counts as a failure (default: none); `false` turns an inherited one off. */
  readonly timeout?: Duration | false | undefined;
  /** Settled cost above estimate × this counts as a failure (default 1.5, as in seed 000; at least 1). */
  readonly thresholdMultiplier?: number | string | Decimal | undefined;
  /**
   * Which errors count as failures (default {@link defaultIsFailure}: everything but
   * `GovernorError`s and HTTP 4xx other than 408 and 429).
   */
  readonly isFailure?: ((error: unknown) => boolean) | undefined;
}

/** The defaults of {@link BreakerOptions}. */
export const BREAKER_DEFAULTS = Object.freeze({
  failureThreshold: 3,
  resetTimeout: '5m',
  halfOpenMaxProbes: 1,
  thresholdMultiplier: '1.5',
  rate: Object.freeze({ minimumCalls: 10, window: '1m' }),
  backoff: Object.freeze({ multiplier: 2, maxResetTimeout: '1h' }),
} as const);

/** Buckets of the rolling-rate window. */
export const RATE_BUCKETS = 10;

/** A ratio `num / den` of non-negative integers, for exact comparisons. */
export interface Ratio {
  readonly num: bigint;
  readonly den: bigint;
  /** The ratio as the user wrote it, for display. */
  readonly text: string;
}

/** The trip policy, resolved. */
export type ResolvedPolicy =
  | { readonly kind: 'consecutive'; readonly threshold: number }
  | { readonly kind: 'rate'; readonly failureRate: Ratio; readonly minimumCalls: number; readonly windowMs: number };

/** Options resolved into integers and functions: what the breaker reads on its paths. */
export interface ResolvedBreakerOptions {
  readonly policy: ResolvedPolicy;
  readonly resetTimeoutMs: number;
  readonly halfOpenMaxProbes: number;
  readonly backoff: { readonly multiplier: Ratio; readonly maxResetTimeoutMs: number } | undefined;
  readonly timeoutMs: number | undefined;
  readonly thresholdMultiplier: Ratio;
  readonly isFailure: (error: unknown) => boolean;
}

const duration = z.union([z.number(), z.string()]);
const wholeAtLeastOne = (what: string) =>
  z.number().int(`Expected ${what}, a whole number >= 1`).min(1, `Expected ${what}, a whole number >= 1`).max(1e9);

/** The zod schema of {@link BreakerOptions} (types and ranges; durations and ratios are parsed after it). */
export const breakerOptionsSchema = z
  .object({
    failureThreshold: wholeAtLeastOne('a failure count').optional(),
    rate: z
      .object({
        failureRate: z.number().gt(0, 'Expected a fraction of calls in (0, 1]').lte(1, 'Expected a fraction of calls in (0, 1]'),
        minimumCalls: wholeAtLeastOne('a number of calls').optional(),
        window: duration.optional(),
      })
      .strict()
      .optional(),
    resetTimeout: duration.optional(),
    halfOpenMaxProbes: wholeAtLeastOne('a number of probes').max(10_000).optional(),
    backoff: z
      .union([
        z.literal(false),
        z
          .object({
            multiplier: z.number().min(1, 'Expected a multiplier >= 1').max(1000).optional(),
            maxResetTimeout: duration.optional(),
          })
          .strict(),
      ])
      .optional(),
    timeout: z.union([z.literal(false), duration]).optional(),
    thresholdMultiplier: moneyInput.optional(),
    isFailure: z
      .custom<(error: unknown) => boolean>((v) => typeof v === 'function', { message: 'Expected a function (error) => boolean' })
      .optional(),
  })
  .strict();

/** The schema of where a standalone breaker lives (its key, store, clock and listener). */
export const breakerPlacementSchema = z.object({
  key: z.string().optional(),
  store: z
    .custom<Store>((v) => v !== null && typeof v === 'object' && typeof (v as Store).compareAndSet === 'function', {
      message: 'Expected a Store (an object with getValue, compareAndSet, ...)',
    })
    .optional(),
  clock: clockSchema.optional(),
  onEvent: z
    .custom<BreakerEventListener>((v) => typeof v === 'function', { message: 'Expected a function (event, payload) => void' })
    .optional(),
});

/**
 * The default failure predicate: every error counts except `GovernorError`s (refusals:
 * nothing reached the dependency) and HTTP 4xx client errors (an object with a numeric
 * `status` or `statusCode` from 400 to 499), but 408 (timeout) and 429 (rate limited)
 * do count: they are the provider's trouble, not the request's.
 */
export function defaultIsFailure(error: unknown): boolean {
  if (error instanceof GovernorError) return false;
  if (error !== null && typeof error === 'object') {
    const e = error as { status?: unknown; statusCode?: unknown };
    const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
    if (status !== undefined && status >= 400 && status <= 499) return status === 408 || status === 429;
  }
  return true;
}

/** An exact ratio from a number, decimal string or Decimal. */
export function toRatio(value: number | string | Decimal, field: string): Ratio {
  let d: Decimal;
  try {
    d = new Decimal(typeof value === 'number' ? String(value) : value);
  } catch {
    throw new InvalidInputError(field, 'must be a decimal number', value);
  }
  if (!d.isFinite()) throw new InvalidInputError(field, 'must be a finite number', value);
  const dp = d.decimalPlaces();
  if (dp > 12) throw new InvalidInputError(field, 'must have at most 12 decimal places', value);
  return { num: parseScaled(d.toFixed(), dp) as bigint, den: 10n ** BigInt(dp), text: d.toFixed() };
}

/**
 * Validate `input` and resolve it over `base` (the registry's defaults): a field not
 * given is taken from `base`, then from {@link BREAKER_DEFAULTS}. Errors name `field`.
 */
export function resolveBreakerOptions(input: unknown, field: string, base?: ResolvedBreakerOptions): ResolvedBreakerOptions {
  const o = parseInput(breakerOptionsSchema, input ?? {}, field);
  if (o.rate !== undefined && o.failureThreshold !== undefined) {
    throw new InvalidInputError(`${field}.rate`, 'cannot be combined with failureThreshold: choose one policy', o.rate);
  }
  let policy: ResolvedPolicy;
  if (o.rate !== undefined) {
    const windowMs = parseDuration(o.rate.window ?? BREAKER_DEFAULTS.rate.window, `${field}.rate.window`);
    if (windowMs % RATE_BUCKETS !== 0) {
      throw new InvalidInputError(`${field}.rate.window`, `must be a whole number of ms divisible by ${RATE_BUCKETS}`, o.rate.window);
    }
    policy = {
      kind: 'rate',
      failureRate: toRatio(o.rate.failureRate, `${field}.rate.failureRate`),
      minimumCalls: o.rate.minimumCalls ?? BREAKER_DEFAULTS.rate.minimumCalls,
      windowMs,
    };
  } else if (o.failureThreshold !== undefined) {
    policy = { kind: 'consecutive', threshold: o.failureThreshold };
  } else {
    policy = base?.policy ?? { kind: 'consecutive', threshold: BREAKER_DEFAULTS.failureThreshold };
  }
  const resetTimeoutMs =
    o.resetTimeout !== undefined
      ? parseDuration(o.resetTimeout, `${field}.resetTimeout`)
      : (base?.resetTimeoutMs ?? parseDuration(BREAKER_DEFAULTS.resetTimeout, 'resetTimeout'));
  let backoff = base?.backoff;
  if (o.backoff === false) backoff = undefined;
  else if (o.backoff !== undefined) {
    backoff = {
      multiplier: toRatio(o.backoff.multiplier ?? BREAKER_DEFAULTS.backoff.multiplier, `${field}.backoff.multiplier`),
      maxResetTimeoutMs: parseDuration(
        o.backoff.maxResetTimeout ?? BREAKER_DEFAULTS.backoff.maxResetTimeout,
        `${field}.backoff.maxResetTimeout`,
      ),
    };
  }
  if (backoff !== undefined && backoff.maxResetTimeoutMs < resetTimeoutMs) {
    throw new InvalidInputError(
      `${field}.backoff.maxResetTimeout`,
      `must be at least resetTimeout (${resetTimeoutMs} ms)`,
      o.backoff ? (o.backoff.maxResetTimeout ?? BREAKER_DEFAULTS.backoff.maxResetTimeout) : backoff.maxResetTimeoutMs,
    );
  }
  let timeoutMs = base?.timeoutMs;
  if (o.timeout === false) timeoutMs = undefined;
  else if (o.timeout !== undefined) timeoutMs = parseDuration(o.timeout, `${field}.timeout`);
  let thresholdMultiplier = base?.thresholdMultiplier ?? toRatio(BREAKER_DEFAULTS.thresholdMultiplier, 'thresholdMultiplier');
  if (o.thresholdMultiplier !== undefined) {
    thresholdMultiplier = toRatio(o.thresholdMultiplier, `${field}.thresholdMultiplier`);
    if (thresholdMultiplier.num < thresholdMultiplier.den) {
      throw new InvalidInputError(`${field}.thresholdMultiplier`, 'must be at least 1', o.thresholdMultiplier);
    }
  }
  return {
    policy,
    resetTimeoutMs,
    halfOpenMaxProbes: o.halfOpenMaxProbes ?? base?.halfOpenMaxProbes ?? BREAKER_DEFAULTS.halfOpenMaxProbes,
    backoff,
    timeoutMs,
    thresholdMultiplier,
    isFailure: o.isFailure ?? base?.isFailure ?? defaultIsFailure,
  };
}

/** The open period after the `trips`-th trip in a row: `resetTimeout`, grown by the back-off if any (whole ms, rounded up). */
export function openPeriodMs(o: ResolvedBreakerOptions, trips: number): number {
  const b = o.backoff;
  if (b === undefined || trips <= 1 || b.multiplier.num === b.multiplier.den) return o.resetTimeoutMs;
  // Decimal, not floats: 5m × 1.1^3 is 399,300 ms, not 399,300.00000000006. Runs once per trip.
  const grown = new Decimal(b.multiplier.text)
    .pow(trips - 1)
    .times(o.resetTimeoutMs)
    .ceil();
  return grown.gte(b.maxResetTimeoutMs) ? b.maxResetTimeoutMs : grown.toNumber();
}

/** True when `actual > estimate × ratio`, in exact integers; an estimate of 0 never overruns. */
export function exceedsRatio(estimate: bigint, actual: bigint, ratio: Ratio): boolean {
  return estimate > 0n && actual * ratio.den > estimate * ratio.num;
}
