/**
 * Options of {@link Analytics} and of its report queries, validated with zod at the boundary.
 */
import { z } from 'zod';
import {
  InvalidInputError,
  moneyInput,
  parseDuration,
  parseInput,
  periodAt,
  toUnits,
  validateScope,
  type Clock,
  type Duration,
  type MoneyInput,
  type Scope,
  clockSchema,
} from '../core/index.js';
import { storeSchema } from '../storage/index.js';
import type { Store } from '../storage/index.js';
import { DEFAULT_RESOURCE_RATES, type AnalyticsPricing } from './pricing.js';

/** A budget or limit as analytics reads it; the governor's `LimitInfo` has this shape. */
export interface AnalyticsBudget {
  readonly id: string;
  readonly scope: Scope;
  readonly meter: string;
  /** The cap, a decimal string in the meter's unit. */
  readonly max: string;
  readonly period: 'total' | 'day' | 'week' | 'month';
  /** Sliding window of a rate limit; such limits are not budgets and are skipped. */
  readonly windowMs?: number | undefined;
  /** Warning thresholds in percent (default 50, 80, 90, 100). */
  readonly thresholds?: readonly number[] | undefined;
}

/** Options of {@link Analytics}. Only `store` is required. */
export interface AnalyticsOptions {
  /** The store whose ledger is analysed and where rollups are kept. */
  store: Store;
  clock?: Clock | undefined;
  /** Currency of the amounts (default 'USD'); ledger entries in another currency are counted, never added. */
  currency?: string | undefined;
  /** Prices for token costs, downgrades, caching and batching (default: none, so only recorded costs are used). */
  pricing?: AnalyticsPricing | undefined;
  /** The budgets forecasts check for threshold crossings (the governor passes its `listLimits`). */
  budgets?: (() => readonly AnalyticsBudget[]) | undefined;
  /**
   * Keep hourly and daily rollups of recorded entries (default false: every report scans the
   * ledger). Turn on for large ledgers (a shared RedisStore): a monthly report over 1,000,000
   * calls then reads rollups in tens of ms, for ~0.6–0.9 µs more per governed call and ~2 KB per
   * scope and day kept in the store.
   */
  rollups?: boolean | undefined;
  /** Fold and write recorded entries to the store after this many (default 10,000); reports flush first. */
  flushEvery?: number | undefined;
  /** API call percentiles are exact (from the ledger) up to this many calls in the window, from the sketch beyond (default 100,000). */
  exactPercentileLimit?: number | undefined;
  /** A call at or below both counts is "small" (oversized-model detection; default 1,000 in, 300 out). */
  smallCallTokens?: { input?: number | undefined; output?: number | undefined } | undefined;
  /** Two successful calls with the same `metadata.fingerprint` this close are redundant (default 1 h). */
  redundantWindow?: Duration | undefined;
  /** Rate-limit refusals further apart than this are separate throttle incidents (default 1 min). */
  throttleGap?: Duration | undefined;
  /** Price per unit of each resource meter (defaults: {@link DEFAULT_RESOURCE_RATES}). */
  resourceRates?: Readonly<Record<string, MoneyInput>> | undefined;
  /** Downgrade candidates per model, cheapest or preferred first (default: `pricing.candidates`, else the ledger's other priced models). */
  downgrades?: Readonly<Record<string, readonly string[]>> | undefined;
  /**
   * How long hourly cells are kept (default 35 days). Older ones are emptied (the store has no
   * way to delete a versioned value) and the hours they covered are read from the ledger when a
   * report's edge falls there; daily cells are kept.
   */
  hourlyRetention?: Duration | undefined;
  /** Prefix of the store keys analytics owns (default 'an:'). */
  keyPrefix?: string | undefined;
  /** Told about a store fault while writing rollups (the rollup batch is then lost, the ledger is not). */
  onError?: ((error: unknown) => void) | undefined;
}

const posInt = z.number().int().positive();
const nonNegInt = z.number().int().nonnegative();
const duration = z.union([z.number(), z.string()]);

const optionsSchema = z
  .object({
    store: storeSchema,
    clock: clockSchema.optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'Expected an ISO 4217 code such as USD')
      .optional(),
    pricing: z
      .custom<AnalyticsPricing>((v) => v !== null && typeof v === 'object' && typeof (v as AnalyticsPricing).cost === 'function', {
        message: 'Expected an object with a cost(model, usage) method',
      })
      .optional(),
    budgets: z.custom<() => readonly AnalyticsBudget[]>((v) => typeof v === 'function').optional(),
    rollups: z.boolean().optional(),
    flushEvery: posInt.optional(),
    exactPercentileLimit: nonNegInt.optional(),
    smallCallTokens: z.object({ input: nonNegInt.optional(), output: nonNegInt.optional() }).strict().optional(),
    redundantWindow: duration.optional(),
    throttleGap: duration.optional(),
    resourceRates: z.record(z.string(), moneyInput).optional(),
    downgrades: z.record(z.string(), z.array(z.string())).optional(),
    keyPrefix: z.string().min(1).optional(),
    hourlyRetention: duration.optional(),
    onError: z.custom<(e: unknown) => void>((v) => typeof v === 'function').optional(),
  })
  .strict();

/** Options after validation, with defaults filled in. */
export interface ResolvedOptions {
  readonly store: Store;
  readonly currency: string;
  readonly rollups: boolean;
  readonly flushEvery: number;
  readonly exactPercentileLimit: number;
  readonly smallInputTokens: number;
  readonly smallOutputTokens: number;
  readonly redundantWindowMs: number;
  readonly throttleGapMs: number;
  readonly rates: ReadonlyMap<string, bigint>;
  readonly downgrades: Readonly<Record<string, readonly string[]>>;
  readonly keyPrefix: string;
  readonly hourlyRetentionMs: number;
}

/** Validate options (throws `InvalidInputError` naming the field). */
export function resolveOptions(options: AnalyticsOptions, pricing: AnalyticsPricing | undefined): ResolvedOptions {
  const o = parseInput(optionsSchema, options, 'options');
  const rates = new Map<string, bigint>();
  for (const [m, r] of Object.entries(DEFAULT_RESOURCE_RATES)) {
    const override = o.resourceRates?.[m] ?? pricing?.resourceRate?.(m);
    rates.set(m, toUnits(override ?? r, `options.resourceRates.${m}`));
  }
  for (const [m, r] of Object.entries(o.resourceRates ?? {})) rates.set(m, toUnits(r, `options.resourceRates.${m}`));
  return {
    store: o.store,
    currency: o.currency ?? 'USD',
    rollups: o.rollups ?? false,
    flushEvery: o.flushEvery ?? 10_000,
    exactPercentileLimit: o.exactPercentileLimit ?? 100_000,
    smallInputTokens: o.smallCallTokens?.input ?? 1000,
    smallOutputTokens: o.smallCallTokens?.output ?? 300,
    redundantWindowMs: o.redundantWindow === undefined ? 3_600_000 : parseDuration(o.redundantWindow, 'options.redundantWindow'),
    throttleGapMs: o.throttleGap === undefined ? 60_000 : parseDuration(o.throttleGap, 'options.throttleGap'),
    rates,
    downgrades: o.downgrades ?? {},
    keyPrefix: o.keyPrefix ?? 'an:',
    hourlyRetentionMs: o.hourlyRetention === undefined ? 35 * 86_400_000 : parseDuration(o.hourlyRetention, 'options.hourlyRetention'),
  };
}

/** A time range: a calendar period up to now, or explicit bounds. */
export type PeriodInput =
  'day' | 'week' | 'month' | { readonly from: number | string | Date; readonly to?: number | string | Date | undefined };

/** The common shape of a report query. */
export interface ReportQuery {
  /** The scope reported on (entries within it count); default: everything. */
  readonly scope?: Scope | undefined;
  /** Default 'month': the current UTC calendar month up to now. */
  readonly period?: PeriodInput | undefined;
}

/** A resolved query: a validated scope and `[from, to)` in epoch ms. */
export interface Window {
  readonly scope: Scope;
  readonly from: number;
  readonly to: number;
  readonly label: string;
}

function instant(v: unknown, field: string): number {
  const ms = typeof v === 'number' ? v : typeof v === 'string' || v instanceof Date ? new Date(v).getTime() : NaN;
  if (!Number.isFinite(ms)) throw new InvalidInputError(field, 'must be epoch ms, an ISO date string or a Date', v);
  return ms;
}

/** Refuse a key of `q` outside `known` (a misspelt `perod` would otherwise report the default period). */
export function checkQueryKeys(q: object, known: readonly string[], field = 'query'): void {
  for (const k in q) {
    if (!known.includes(k)) throw new InvalidInputError(`${field}.${k}`, 'is not a known option', (q as Record<string, unknown>)[k]);
  }
}

/**
 * Resolve `period` against `now` (calendar periods are UTC; weeks start on Monday). `extraKeys`
 * are the keys the report's query has besides `scope` and `period`; any other key is refused.
 */
export function resolveWindow(
  q: ReportQuery | undefined,
  now: number,
  defaultPeriod: PeriodInput = 'month',
  extraKeys: readonly string[] = [],
): Window {
  if (q !== undefined && (q === null || typeof q !== 'object')) throw new InvalidInputError('query', 'must be an object', q);
  if (q !== undefined) checkQueryKeys(q, ['scope', 'period', ...extraKeys]);
  const scope = validateScope(q?.scope, 'query.scope', false);
  const p = q?.period ?? defaultPeriod;
  if (p === 'day' || p === 'week' || p === 'month') {
    const inst = periodAt(now, p, 'UTC');
    return { scope, from: inst.startMs, to: now + 1, label: p };
  }
  if (p === null || typeof p !== 'object') throw new InvalidInputError('query.period', "must be 'day', 'week', 'month' or { from, to }", p);
  const from = instant(p.from, 'query.period.from');
  const to = p.to === undefined ? now + 1 : instant(p.to, 'query.period.to');
  if (to <= from) throw new InvalidInputError('query.period.to', 'must be after period.from', p.to);
  return { scope, from, to, label: 'range' };
}
