/**
 * Limits: a cap on a meter over a window (lifetime, calendar period or sliding
 * duration), on a scope pattern, enforced hard (refuse) or soft (warn), with warning
 * thresholds. Specs are validated once with zod and compiled into integers.
 */
import { z } from 'zod';
import {
  formatUnits,
  InvalidInputError,
  moneyInput,
  parseDuration,
  parseInput,
  quietBelow,
  PeriodTracker,
  scopeKey,
  toUnits,
  validateId,
  validateScope,
  validateTimeZone,
  type CalendarPeriod,
  type Duration,
  type MeterDefinition,
  type MeterRegistry,
  type MoneyInput,
  type Scope,
  type ScopePattern,
} from '../core/index.js';

/** Default warning thresholds, in percent of the cap. */
export const DEFAULT_THRESHOLDS: readonly number[] = Object.freeze([50, 80, 90, 100]);

/** A limit as the user writes it. */
export interface LimitSpec {
  /** Stable id (default: derived from scope, meter and window). */
  readonly id?: string | undefined;
  /** Where it applies; `'*'` at a level gives each id there its own counter. Default: everything. */
  readonly scope?: ScopePattern | undefined;
  /** What it caps (`cost`, `llmCalls`, `requests`, `inputTokens`, or a user meter). */
  readonly meter: string;
  /** The cap, in the meter's unit (money for `cost`). */
  readonly max: MoneyInput;
  /** A calendar period that resets the count (default `'total'`: never). Exclusive with `window`. */
  readonly period?: CalendarPeriod | undefined;
  /** IANA time zone of the calendar period (default `'UTC'`). */
  readonly timeZone?: string | undefined;
  /** A sliding window (`'1m'`, `'1h'`, ms): a rate limit. Exclusive with `period`. */
  readonly window?: Duration | undefined;
  /** Buckets of a sliding window (default 10; the count errs by at most one bucket). */
  readonly buckets?: number | undefined;
  /** A sliding window kept in buckets (`'bucketed'`, default) or as an exact sliding log (`'exact'`). */
  readonly mode?: 'bucketed' | 'exact' | undefined;
  /** `'hard'` refuses calls that would pass the cap (default); `'soft'` only warns. */
  readonly enforcement?: 'hard' | 'soft' | undefined;
  /** Percentages of the cap at which a `warning` fires, ascending (default 50, 80, 90, 100). */
  readonly thresholds?: readonly number[] | undefined;
  /** Currency of a `cost` limit (default: the governor's currency). */
  readonly currency?: string | undefined;
}

/** A money budget: a `cost` limit in the words of seed 004. */
export interface BudgetSpec {
  readonly id?: string | undefined;
  readonly scope?: ScopePattern | undefined;
  /** The budget amount. */
  readonly amount: MoneyInput;
  readonly currency?: string | undefined;
  readonly period?: CalendarPeriod | undefined;
  readonly timeZone?: string | undefined;
  /** Refuse calls that would pass the budget (default true); false only warns. */
  readonly hardLimit?: boolean | undefined;
  readonly thresholds?: readonly number[] | undefined;
}

/** A compiled limit. */
export interface CompiledLimit {
  readonly id: string;
  readonly pattern: Scope;
  readonly patternKey: string;
  readonly meter: string;
  readonly def: MeterDefinition;
  readonly max: bigint;
  readonly hard: boolean;
  readonly thresholds: readonly number[];
  /** Smallest used amount at which each threshold is reached (ceil(max × pct / 100)). */
  readonly thresholdUnits: readonly bigint[];
  /** Below this many units used, a commit reaches no threshold and passes no hard cap (see {@link quietBelow}). */
  readonly quietBelow: bigint;
  readonly period: CalendarPeriod;
  readonly timeZone: string;
  readonly tracker: PeriodTracker | undefined;
  readonly windowMs: number | undefined;
  readonly buckets: number | undefined;
  readonly mode: 'bucketed' | 'exact';
  readonly currency: string | undefined;
  /** The counter (or window) key without the period instance. */
  readonly counterBase: string;
  readonly spec: LimitSpec;
}

const thresholdsSchema = z
  .array(z.number().positive().max(1000))
  .min(1)
  .refine((a) => a.every((v, i) => i === 0 || v > (a[i - 1] as number)), { message: 'Thresholds must be strictly ascending' });

const limitSchema = z
  .object({
    id: z.string().optional(),
    scope: z.record(z.string(), z.unknown()).optional(),
    meter: z.string(),
    max: moneyInput,
    period: z.enum(['total', 'day', 'week', 'month']).optional(),
    timeZone: z.string().optional(),
    window: z.union([z.number(), z.string()]).optional(),
    buckets: z.number().int().min(1).max(3600).optional(),
    mode: z.enum(['bucketed', 'exact']).optional(),
    enforcement: z.enum(['hard', 'soft']).optional(),
    thresholds: thresholdsSchema.optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3,8}$/, 'Expected an upper-case currency code such as USD')
      .optional(),
  })
  .strict();

const budgetSchema = z
  .object({
    id: z.string().optional(),
    scope: z.record(z.string(), z.unknown()).optional(),
    amount: moneyInput,
    currency: z
      .string()
      .regex(/^[A-Z]{3,8}$/, 'Expected an upper-case currency code such as USD')
      .optional(),
    period: z.enum(['total', 'day', 'week', 'month']).optional(),
    timeZone: z.string().optional(),
    hardLimit: z.boolean().optional(),
    thresholds: thresholdsSchema.optional(),
  })
  .strict();

/** Turn a budget spec into the limit spec it stands for. */
export function budgetToLimit(value: unknown, field: string): LimitSpec {
  const b = parseInput(budgetSchema, value, field) as BudgetSpec;
  // Validate the amount under its own name: the limit it becomes calls it `max`.
  toUnits(b.amount, `${field}.amount`);
  return {
    id: b.id,
    scope: b.scope as ScopePattern | undefined,
    meter: 'cost',
    max: b.amount,
    currency: b.currency,
    period: b.period,
    timeZone: b.timeZone,
    enforcement: b.hardLimit === false ? 'soft' : 'hard',
    thresholds: b.thresholds,
  };
}

/** Validate and compile a limit spec. `currency` is the governor's cost currency. */
export function compileLimit(value: unknown, field: string, meters: MeterRegistry, currency: string): CompiledLimit {
  const spec = parseInput(limitSchema, value, field) as LimitSpec;
  const pattern = validateScope(spec.scope, `${field}.scope`, true);
  const def = meters.get(spec.meter, `${field}.meter`);
  const max = def.kind === 'count' ? countMax(spec.max, `${field}.max`) : toUnits(spec.max, `${field}.max`, { scale: def.scale });
  if (spec.window !== undefined && spec.period !== undefined && spec.period !== 'total') {
    throw new InvalidInputError(`${field}.window`, 'cannot be combined with a calendar period', spec.window);
  }
  let windowMs: number | undefined;
  let buckets: number | undefined;
  if (spec.window !== undefined) {
    windowMs = parseDuration(spec.window, `${field}.window`);
    buckets = spec.buckets ?? 10;
    if (windowMs % buckets !== 0) {
      throw new InvalidInputError(`${field}.window`, `must be a whole number of ms divisible by buckets (${buckets})`, spec.window);
    }
    if (max > BigInt(Number.MAX_SAFE_INTEGER))
      throw new InvalidInputError(`${field}.max`, 'of a sliding window must be a safe integer', spec.max);
  } else if (spec.buckets !== undefined) {
    throw new InvalidInputError(`${field}.buckets`, 'only applies to a sliding window', spec.buckets);
  } else if (spec.mode !== undefined) {
    throw new InvalidInputError(`${field}.mode`, 'only applies to a sliding window', spec.mode);
  }
  const mode = spec.mode ?? 'bucketed';
  if (def.kind !== 'money' && spec.currency !== undefined) {
    throw new InvalidInputError(`${field}.currency`, 'only applies to the cost meter', spec.currency);
  }
  const limitCurrency = def.kind === 'money' ? (spec.currency ?? currency) : undefined;
  if (limitCurrency !== undefined && limitCurrency !== currency) {
    throw new InvalidInputError(
      `${field}.currency`,
      `must be the governor's cost currency ${currency}: amounts of different currencies never mix`,
      limitCurrency,
    );
  }
  const period = spec.period ?? 'total';
  const timeZone = spec.timeZone === undefined ? 'UTC' : validateTimeZone(spec.timeZone, `${field}.timeZone`);
  if (spec.timeZone !== undefined && period === 'total') {
    throw new InvalidInputError(`${field}.timeZone`, 'only applies to a calendar period (day, week, month)', spec.timeZone);
  }
  const thresholds = spec.thresholds ?? DEFAULT_THRESHOLDS;
  const thresholdUnits = thresholds.map((pct) => ceilPercent(max, pct));
  const hard = (spec.enforcement ?? 'hard') === 'hard';
  const patternKey = scopeKey(pattern);
  const windowPart =
    windowMs !== undefined ? `w${windowMs}/${mode === 'exact' ? 'x' : buckets}` : period === 'total' ? 'total' : `${period}:${timeZone}`;
  const id = spec.id === undefined ? `${spec.meter}:${windowPart}@${patternKey || '*'}` : validateId(spec.id, `${field}.id`);
  return {
    id,
    pattern,
    patternKey,
    meter: spec.meter,
    def,
    max,
    hard,
    thresholds,
    thresholdUnits,
    quietBelow: quietBelow(thresholdUnits, max, hard),
    period,
    timeZone,
    tracker: period === 'total' || windowMs !== undefined ? undefined : new PeriodTracker(period, timeZone),
    windowMs,
    buckets,
    mode,
    currency: limitCurrency,
    counterBase: `${spec.meter}|${windowPart}`,
    spec,
  };
}

function countMax(v: unknown, field: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^\d+$/.test(v)) return toUnits(v, field, { scale: 0 });
  throw new InvalidInputError(field, 'must be a non-negative whole number', v);
}

/** ceil(max × pct / 100) for a percentage with up to 6 decimals. */
function ceilPercent(max: bigint, pct: number): bigint {
  const micro = BigInt(Math.round(pct * 1e6));
  const num = max * micro;
  const den = 100_000_000n;
  return num === 0n ? 0n : (num + den - 1n) / den;
}

/** The cap of a limit as a user-facing string in the meter's unit. */
export function formatMeter(limit: { def: MeterDefinition }, units: bigint): string {
  return formatUnits(units, limit.def.scale);
}
