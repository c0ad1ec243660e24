/**
 * `createGovernor()`: wires the rooms together and runs the one admission pipeline that
 * every governed operation goes through:
 *
 *   validate → admit (circuit breaker, then rate limits → quotas → budgets in one atomic
 *   store reserve, all or none) → run → settle (actual usage → price → commit → ledger →
 *   threshold events → breaker outcome) → on throw: release (or charge what was
 *   reported), count the failure in the breaker, record it, rethrow.
 */
import type { Decimal } from 'decimal.js';
import { z } from 'zod';
import {
  BudgetExceededError,
  CircuitOpenError,
  formatUnits,
  GovernorError,
  InvalidInputError,
  LimitExceededError,
  MeterRegistry,
  parseDuration,
  parseInput,
  RateLimitedError,
  StoreUnavailableError,
  systemClock,
  TypedEvents,
  unitsToDecimal,
  isPromiseLike,
  validateId,
  type Clock,
  type Duration,
  type GovernorErrorCode,
  type MoneyInput,
  type RefusalDetails,
  type Scope,
  clockSchema,
} from './core/index.js';
import {
  BudgetCoordinator,
  type AlertChannel,
  type BudgetCoordinatorOptions,
  type BudgetHost,
  type HostBudgetInfo,
} from './budgets/index.js';
import { Analytics, type AnalyticsOptions, type AnalyticsPricing, type AnalyticsTokenUsage } from './analytics/index.js';
import { BreakerRegistry, linkedController, type BreakerOptions, type BreakerPermit, type CircuitBreaker } from './breakers/index.js';
import { CostCalculator, UnknownModelError, type ComputePrices, type MachineType, type ModelPrice } from './costs/index.js';
import { RateLimiter, WaitQueues, type RateLimitConfig } from './ratelimit/index.js';
import { ResourceTracker, type ResourceTrackerOptions, type TrackerAdmission } from './tracker/index.js';
import {
  budgetToLimit,
  compileLimit,
  LimitRegistry,
  memoMatches,
  prepareRequest,
  prepareScope,
  requestMemo,
  Reservation,
  usageUnits,
  type BudgetSpec,
  type CompiledLimit,
  type GovernorEvents,
  type GuardRequest,
  type LimitSpec,
  type Plan,
  type PlanCounter,
  type PlanWindow,
  type PreparedRequest,
  type RequestMemo,
  type ReservationOwner,
  type SettleResult,
  type UsageReport,
} from './engine/index.js';
import {
  FailOpenStore,
  MemoryStore,
  type CommitResult,
  type CounterItem,
  type LedgerEntry,
  type LedgerPage,
  type LedgerQuery,
  type CallId,
  type CallUnits,
  type HoldResult,
  type MemoryHold,
  type UsageLayout,
  USAGE_SLOTS,
  type ReserveFailure,
  type ReserveResult,
  type Store,
  type WindowAdjustment,
  type WindowItem,
  storeSchema,
} from './storage/index.js';

/** Options of {@link createGovernor}. Every field is optional. */
export interface GovernorOptions {
  /** Where counters, reservations and the ledger live (default: a new `MemoryStore` on `clock`). */
  store?: Store;
  /** Time source (default: the system clock). Tests pass a `ManualClock`. */
  clock?: Clock;
  /** Currency of costs and of every budget (default `'USD'`). */
  currency?: string;
  /** How long a reservation holds before it expires on its own (default `'10m'`). */
  leaseMs?: Duration;
  /** User meters, e.g. `{ screenshots: { kind: 'count' } }`. */
  meters?: Record<string, { kind?: 'count' | 'quantity'; scale?: number }>;
  /**
   * LLM and compute pricing (see `gov.costs` and docs/costs.md): `models` are prices per
   * million tokens ahead of the pinned catalog; `fallback` prices unknown models (with a
   * `pricing.warning`) instead of refusing them with `unknown_model`; `exchangeRate` converts
   * the catalog's USD when `currency` is another.
   */
  pricing?: {
    models?: Record<string, ModelPrice>;
    fallback?: ModelPrice;
    exchangeRate?: (from: string, to: string) => MoneyInput;
    catalog?: boolean;
    seedTables?: boolean;
    batchMultipliers?: Record<string, MoneyInput>;
    compute?: ComputePrices;
    vmTypeMultipliers?: Record<string, MoneyInput>;
    machineTypes?: Record<string, MachineType>;
  };
  /** Money budgets to set at start. */
  budgets?: BudgetSpec[];
  /** Limits (quotas, rate limits, any meter) to set at start. */
  limits?: LimitSpec[];
  /** Per-user and per-endpoint rate limits for requests that name a `user` (see `gov.limiter`). */
  limiter?: {
    defaultConfig?: RateLimitConfig;
    users?: Record<string, RateLimitConfig>;
    endpoints?: Record<string, RateLimitConfig>;
  };
  /**
   * Which calls leave a ledger entry: `'all'` (default), `'failures'` (refused and failed calls
   * only) or `'none'`. Budget audit records are always kept. Every kept entry is held by the
   * store until its ring turns over, which costs the in-memory store about a fifth of a governed
   * call (measured: ~1.8 µs a call with 'all', ~1.45 µs with 'failures' or 'none'); keep less when
   * the ledger is not read.
   */
  ledger?: 'all' | 'failures' | 'none';
  /** Options of `gov.analytics` (e.g. `{ rollups: true }` to keep hourly/daily rollups, for fast reports over a large ledger). */
  analytics?: Omit<AnalyticsOptions, 'store' | 'clock' | 'currency' | 'budgets' | 'onError'>;
  /** What a rate-limited call does by default: `'throw'` (default) or `'wait'` until it fits. */
  onRateLimit?: 'throw' | 'wait';
  /** The longest a call waits in `'wait'` mode before the refusal is thrown (default `'1m'`). */
  maxWaitMs?: Duration;
  /** Default options of the circuit breakers in `gov.breakers` (a request names its breaker with `breaker`). */
  breakers?: BreakerOptions;
  /**
   * When the store cannot be reached: `'failClosed'` (default) refuses with `store_unavailable`;
   * `'failOpen'` admits against local counters, emits `store.error` and replays what it counted
   * once the store answers again (see `FailOpenStore` and docs/redis.md for what can be overspent).
   */
  onStoreUnavailable?: 'failClosed' | 'failOpen';
  /**
   * When `guard()` returns: `'await'` (default) once the store has recorded the call's charge;
   * `'background'` as soon as the function returned, the charge following on its own (a store
   * fault is a `store.error` event). With Redis this takes the settle off the caller's path: the
   * commit goes with the next call's admission, one round trip a call instead of two. Reads
   * through the same store (`getStatus`, `queryLedger`) still see the charge; `gov.flush()` and
   * `gov.close()` wait for charges on their way. No difference with a synchronous store
   * (MemoryStore).
   */
  settle?: 'await' | 'background';
  /** Where budget threshold alerts go (`gov.budgets`), besides the `budget.alert` event. */
  alertChannels?: readonly AlertChannel[];
  /** Options of `gov.budgets` (emergency money creation, wait-mode polling). */
  coordinator?: Omit<BudgetCoordinatorOptions, 'alertChannels'>;
  /**
   * Options of `gov.tracker` (per-process quotas, seeds 002 and 000). `level` chooses which
   * scope id is the pid whose quota a guarded call counts on: `'agent'` (default) or `'execution'`.
   */
  tracker?: Omit<ResourceTrackerOptions, 'store' | 'clock' | 'currency' | 'meters' | 'onEvent' | 'rateLimits' | 'field'>;
}

/** Who changed a limit and why: recorded in the audit trail. */
export interface ChangeOptions {
  readonly reason?: string | undefined;
  readonly actor?: string | undefined;
  /** The kind of change for the audit trail (default `set`, `update` or `removed`). */
  readonly action?: string | undefined;
}

/** A limit as set, in plain JSON. */
export interface LimitInfo {
  readonly id: string;
  readonly scope: Scope;
  readonly meter: string;
  readonly max: string;
  readonly enforcement: 'hard' | 'soft';
  readonly period: 'total' | 'day' | 'week' | 'month';
  readonly timeZone: string;
  readonly windowMs: number | undefined;
  readonly thresholds: readonly number[];
  readonly currency: string | undefined;
}

/** Where one limit stands for a scope. Amounts are `Decimal` in the meter's unit. */
export interface LimitStatus {
  readonly limit: string;
  readonly meter: string;
  readonly scope: Scope;
  readonly enforcement: 'hard' | 'soft';
  readonly max: Decimal;
  /** Committed usage in the current period or window. */
  readonly used: Decimal;
  /** Held by open reservations. */
  readonly held: Decimal;
  /** `max - used - held`, never negative. */
  readonly remaining: Decimal;
  /** `used / max × 100`, two decimals. */
  readonly usagePercent: number;
  /** The highest threshold reached, if any. */
  readonly thresholdReached: number | undefined;
  readonly isOver: boolean;
  readonly currency: string | undefined;
  /** The current calendar period, if the limit has one. */
  readonly period: { readonly id: string; readonly startMs: number; readonly endMs: number } | undefined;
  readonly windowMs: number | undefined;
}

/** The answer of {@link Governor.check}: a refusal is data here, not a throw. */
export type AdmissionCheck =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      /** The code the call would be refused with (`budget_exceeded`, `rate_limited`, `circuit_open`, ...). */
      readonly code: string;
      /** The refusing limit's id, or the breaker's key. */
      readonly limit: string;
      readonly meter: string | undefined;
      readonly scope: string | undefined;
      readonly requested: string | undefined;
      readonly available: string | undefined;
      readonly max: string | undefined;
      readonly retryAfterMs: number | undefined;
    };

/** A refusal as data: the details an error carries, its code, and the currency of a budget. */
interface Refusal extends RefusalDetails {
  readonly code: GovernorErrorCode;
  /** Set for money budgets. */
  readonly currency: string | undefined;
}

/** The context a guarded function receives: report usage, read the signal. */
export type GuardContext = Reservation;

interface Admission {
  readonly p: PreparedRequest;
  readonly plan: Plan;
  readonly now: number;
  readonly started: number;
  /** The plan counters that were reserved, in reserve order. */
  readonly counters: readonly PlanCounter[];
  /** Counter keys as of admission (the period instance is fixed when the call is admitted). */
  readonly keys: readonly string[];
  readonly periods: readonly (string | undefined)[];
  readonly expires: readonly (number | undefined)[];
  readonly amounts: readonly bigint[];
  /**
   * Indices (into `counters`) of the counters sent to the store's reserve: those the call
   * estimates, and money always. The others are not checked, but still charged at settle
   * with what the call reports.
   */
  readonly reserved: readonly number[];
  /** True when the reserve holds something (else the store keeps no reservation record). */
  readonly holds: boolean;
  /** Every sliding window the call hits: the plan's, then the rate limiter's for its user and endpoint. */
  readonly windows: readonly AdmissionWindow[];
  /** Where counters…holds come from (shared, read-only, between calls of one plan with the same estimate). */
  readonly shape: AdmissionShape;
  /** The breaker the call goes through and the permit it was admitted with (set by `admit`). */
  breaker: CircuitBreaker | undefined;
  permit: BreakerPermit | undefined;
  /** Aborts the call when the breaker's `timeout` runs out (the reservation's signal); `unlink` stops following the caller's. */
  timeout: { readonly controller: AbortController; readonly unlink: () => void } | undefined;
  /** What the call's tracked pid adds (`gov.tracker`), if its scope names one. */
  readonly quota: TrackerAdmission | undefined;
  /** A refusal decided before the store (the pid's time is up, or the call asks for more tokens than one call may). */
  readonly pre: ReserveResult | undefined;
  /** The default store's record of the hold, when reserved by handle (see admitLimits); settled through it. */
  held: MemoryHold | undefined;
  /** The number in the call's id (`idPrefix` + it in base 36), once admitLimits gave it one; else -1. */
  idSeq: number;
}

/** The counter and window arrays of an admission; shared between admissions, so never mutated. */
interface AdmissionShape {
  readonly counters: readonly PlanCounter[];
  readonly keys: readonly string[];
  readonly periods: readonly (string | undefined)[];
  readonly expires: readonly (number | undefined)[];
  readonly amounts: readonly bigint[];
  readonly reserved: readonly number[];
  readonly holds: boolean;
  /** The plan's windows (the rate limiter's, per user, are added per call). */
  readonly windows: readonly AdmissionWindow[];
  /** The store's counter items for `reserved`, built on first reserve. */
  items: readonly CounterItem[] | undefined;
  /** What a settle with nothing reported commits (the estimate), built on first such settle. */
  commits: SettleCommits | undefined;
  /**
   * The last estimate found to give this shape's amounts and window weights. A memoised request
   * (see requestMemo) brings the same Map, never changed, call after call: then they need no
   * comparing again.
   */
  estimate: ReadonlyMap<string, bigint> | undefined;
}

/** The usage text of an estimate, for settles with nothing reported (see Governor.estimateUsage). */
interface EstimateUsage {
  readonly estimate: ReadonlyMap<string, bigint>;
  readonly usage: { readonly [meter: string]: string };
  readonly estimated: boolean;
}

/** One counter a settle commits. */
interface CommitItem {
  readonly key: string;
  readonly amount: bigint;
  readonly expiresAt: number | undefined;
}

/** The counters a settle commits (those with a non-zero amount) and their indices in the admission's counters. */
interface SettleCommits {
  readonly counters: readonly CommitItem[];
  readonly indices: readonly number[];
}

/** A meter's figure at settle: the reported one, else the estimate, else 0. */
function actualUnits(reported: ReadonlyMap<string, bigint>, estimate: ReadonlyMap<string, bigint>, meter: string): bigint {
  const v = reported.get(meter);
  if (v !== undefined) return v;
  return estimate.get(meter) ?? 0n;
}

/** The commits of a settle with nothing reported: each counter at its admitted amount. */
function shapeCommits(s: AdmissionShape): SettleCommits {
  const counters: CommitItem[] = [];
  const indices: number[] = [];
  for (let i = 0; i < s.counters.length; i++) {
    const amount = s.amounts[i] as bigint;
    if (amount === 0n) continue;
    counters.push({ key: s.keys[i] as string, amount, expiresAt: s.expires[i] });
    indices.push(i);
  }
  return { counters, indices };
}

/** The commits of a settle with reported usage: money at `costUnits`, every other meter at its actual figure. */
function reportedCommits(a: Admission, reported: ReadonlyMap<string, bigint>, costUnits: bigint): SettleCommits {
  const counters: CommitItem[] = [];
  const indices: number[] = [];
  for (let i = 0; i < a.counters.length; i++) {
    const c = a.counters[i] as PlanCounter;
    const amount = c.meter === 'cost' ? costUnits : actualUnits(reported, a.p.estimate, c.meter);
    if (amount === 0n) continue;
    counters.push({ key: a.keys[i] as string, amount, expiresAt: a.expires[i] });
    indices.push(i);
  }
  return { counters, indices };
}

/**
 * Build an admission shape. `refusedAmount` is set when a pid quota refused before the
 * store: its one counter is then reserved at that amount.
 */
function admissionShape(
  list: readonly PlanCounter[],
  planWindows: readonly PlanWindow[],
  estimate: ReadonlyMap<string, bigint>,
  now: number,
  refusedAmount: bigint | undefined,
): AdmissionShape {
  const counters: PlanCounter[] = [];
  const keys: string[] = [];
  const periods: (string | undefined)[] = [];
  const expires: (number | undefined)[] = [];
  const amounts: bigint[] = [];
  const reserved: number[] = [];
  let holds = false;
  for (const c of list) {
    const amount = refusedAmount !== undefined ? refusedAmount : (estimate.get(c.meter) ?? 0n);
    // A meter the call does not estimate is not checked, except money: an exhausted hard budget refuses every call.
    if (amount > 0n || c.meter === 'cost' || refusedAmount !== undefined) reserved.push(counters.length);
    if (amount > 0n) holds = true;
    if (c.tracker !== undefined && (now >= c.periodEnd || now < c.periodStart)) refreshPeriod(c, now);
    counters.push(c);
    keys.push(c.key);
    periods.push(c.tracker === undefined ? undefined : c.periodId);
    expires.push(c.expiresAt);
    amounts.push(amount);
  }
  const windows: AdmissionWindow[] = planWindows.map((w) => ({
    key: w.key,
    windowMs: w.windowMs,
    limit: w.max,
    weight: Number(estimate.get(w.meter) ?? 0n),
    buckets: w.buckets,
    mode: w.mode,
    weighs: w.meter,
    limitId: w.limit.id,
    meter: w.meter,
    scope: w.scope,
    scopeKey: w.scopeKey,
  }));
  return { counters, keys, periods, expires, amounts, reserved, holds, windows, items: undefined, commits: undefined, estimate: undefined };
}

/** The store's counter items of a shape: its reserved counters with their amounts and caps. */
function counterItems(s: AdmissionShape): CounterItem[] {
  const items: CounterItem[] = [];
  for (const i of s.reserved) {
    items.push({
      key: s.keys[i] as string,
      amount: s.amounts[i] as bigint,
      cap: (s.counters[i] as PlanCounter).cap,
      expiresAt: s.expires[i],
    });
  }
  return items;
}

/** One window of an admission, with what a refusal or a settle needs to know about it. */
interface AdmissionWindow extends WindowItem {
  /** What the weight counts: a meter, or `tokens` (input + output tokens) for the limiter's token windows. */
  readonly weighs: string;
  readonly limitId: string;
  readonly meter: string;
  readonly scope: Scope;
  readonly scopeKey: string;
}

const optionsSchema = z
  .object({
    store: storeSchema.optional(),
    clock: clockSchema.optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3,8}$/, 'Expected an upper-case currency code such as USD')
      .optional(),
    leaseMs: z.union([z.number(), z.string()]).optional(),
    meters: z
      .record(z.string(), z.object({ kind: z.enum(['count', 'quantity']).optional(), scale: z.number().optional() }).strict())
      .optional(),
    // Each field is validated by the CostCalculator, which names it (options.pricing.models.m.input ...).
    pricing: z
      .object({
        models: z.record(z.string(), z.unknown()).optional(),
        fallback: z.unknown().optional(),
        exchangeRate: z.unknown().optional(),
        catalog: z.boolean().optional(),
        seedTables: z.boolean().optional(),
        batchMultipliers: z.record(z.string(), z.unknown()).optional(),
        compute: z.unknown().optional(),
        vmTypeMultipliers: z.record(z.string(), z.unknown()).optional(),
        machineTypes: z.record(z.string(), z.unknown()).optional(),
      })
      .strict()
      .optional(),
    budgets: z.array(z.unknown()).optional(),
    limits: z.array(z.unknown()).optional(),
    limiter: z
      .object({
        defaultConfig: z.unknown().optional(),
        users: z.record(z.string(), z.unknown()).optional(),
        endpoints: z.record(z.string(), z.unknown()).optional(),
      })
      .strict()
      .optional(),
    onRateLimit: z.enum(['throw', 'wait']).optional(),
    ledger: z.enum(['all', 'failures', 'none']).optional(),
    analytics: z.record(z.string(), z.unknown()).optional(),
    maxWaitMs: z.union([z.number(), z.string()]).optional(),
    // Validated by the breaker registry, which names the field (options.breakers.failureThreshold ...).
    breakers: z.unknown().optional(),
    onStoreUnavailable: z.enum(['failClosed', 'failOpen']).optional(),
    settle: z.enum(['await', 'background']).optional(),
    // Validated by the budget coordinator, which names the field.
    alertChannels: z.array(z.unknown()).optional(),
    coordinator: z
      .object({
        emergencyCreatesMoney: z.boolean().optional(),
        waitPollMs: z.union([z.number(), z.string()]).optional(),
        persist: z.boolean().optional(),
        refreshMs: z.union([z.number(), z.string()]).optional(),
      })
      .strict()
      .optional(),
    // Validated by the tracker, which names the field (options.tracker.warnAt ...).
    tracker: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

const ledgerQuerySchema = z
  .object({
    scope: z.record(z.string(), z.unknown()).optional(),
    from: z.number().finite().optional(),
    to: z.number().finite().optional(),
    kinds: z.array(z.string()).optional(),
    statuses: z.array(z.enum(['ok', 'error', 'refused', 'released'])).optional(),
    limit: z.number().int().positive().optional(),
    cursor: z.string().optional(),
  })
  .strict();

const PROCESS_PREFIX = globalThis.crypto.randomUUID().slice(0, 8);
/** Governors made in this process so far: each numbers its reservation ids after its own. */
let governorsMade = 0;

/** The governor: admits, runs and settles governed calls against limits kept in a store. */
export class Governor implements ReservationOwner {
  readonly store: Store;
  readonly clock: Clock;
  readonly currency: string;
  /** Pricing (LLM catalog with overrides, compute, estimates, execution costs): prices every governed call. */
  readonly costs: CostCalculator;
  readonly meters: MeterRegistry;
  /** Per-user and per-endpoint rate limits (seed 002); a request naming a `user` is checked against them. */
  readonly limiter: RateLimiter;
  /** Circuit breakers by key (seed 000), with their state in the store; a request naming a `breaker` is checked against it first. */
  readonly breakers: BreakerRegistry;
  /** Pools, agents, allocation strategies, alerts and checks over the money budgets (seeds 000, 001, 004). */
  readonly budgets: BudgetCoordinator;
  /** Per-process quotas and usage (seeds 002 and 000); a guarded call on a tracked pid counts on its quota. */
  readonly tracker: ResourceTracker;
  /** Reports over the ledger (seeds 003 and 004); fed every ledger entry the governor writes, for its rollups. */
  readonly analytics: Analytics;
  private readonly events: TypedEvents<GovernorEvents>;
  private readonly registry = new LimitRegistry();
  private readonly leaseMs: number;
  private readonly onRateLimit: 'throw' | 'wait';
  private readonly ledgerMode: 'all' | 'failures' | 'none';
  /** The longest a call waits in queue mode (`onRateLimit: 'wait'`), in ms (option `maxWaitMs`, default 60 s). */
  readonly maxWaitMs: number;
  private readonly waits: WaitQueues;
  private readonly refusals = new WeakMap<GovernorError, { a: Admission; id: string; failure: ReserveFailure }>();
  private readonly circuitRefusals = new WeakMap<GovernorError, { p: PreparedRequest; id: string; at: number }>();
  private readonly idPrefix: string;
  private seq = 0;
  /** The ids' text before their last base-36 digit (see nextId). */
  private idBlock = -1;
  private idBlockText = '';
  /** The time admitOrWait read, for the admission it starts synchronously (taken once, then cleared). */
  private admitNow: number | undefined = undefined;
  /** The last request prepared, when of the common shape (see requestMemo). */
  private lastRequest: RequestMemo | undefined = undefined;
  /** The usage text of the last estimate settled with nothing reported (see estimateUsage). */
  private lastEstimateUsage: EstimateUsage | undefined = undefined;
  /** The units of the last reported usage and its cost (see unitsOf). */
  private readonly callUnits: UnitsScratch = { layout: undefined, meters: [], scales: [], values: [], cost: 0 };
  /** The id of the entry being kept, as prefix and number (see idOf); filled again by each. */
  private readonly callId: { prefix: string; seq: number };
  /** The last priced call's metadata, pricing record and the entry data made of them (see pricedData). */
  private lastPriced: { meta: object | undefined; pricing: object; data: { readonly [key: string]: unknown } } | undefined = undefined;
  /** The last settled cost and its text (see costText). */
  private lastCost = -1n;
  private lastCostText = '';
  /** The last admission shape per plan (see planShape). */
  private readonly shapes = new WeakMap<Plan, AdmissionShape>();
  /** The store when it is a MemoryStore on the governor's clock: it then takes the time the pipeline already read. */
  private readonly memory: MemoryStore | undefined;
  /** Option `settle: 'background'`. */
  private readonly background: boolean;
  /** Set by `succeeded()` just before it settles in the background, read (and cleared) by `settleReservation` in the same synchronous step. */
  private deferCommit = false;
  /** Settles on their way (`settle: 'background'`), for `flush()` and `close()`. */
  private readonly settling = new Set<Promise<unknown>>();

  constructor(options: GovernorOptions = {}) {
    const o = parseInput(optionsSchema, options, 'options');
    this.clock = o.clock ?? systemClock;
    this.store = o.store ?? new MemoryStore({ clock: this.clock });
    if (o.onStoreUnavailable === 'failOpen')
      this.store = failOpen(this.store, this.clock, (operation, error) =>
        this.events.emit('store.error', { operation, error, at: this.clock.now() }),
      );
    this.memory = this.store instanceof MemoryStore && this.store.sharesClock(this.clock) ? this.store : undefined;
    this.background = o.settle === 'background';
    this.currency = o.currency ?? 'USD';
    this.leaseMs = o.leaseMs === undefined ? 600_000 : parseDuration(o.leaseMs, 'options.leaseMs');
    this.meters = new MeterRegistry(o.meters);
    this.onRateLimit = o.onRateLimit ?? 'throw';
    this.ledgerMode = o.ledger ?? 'all';
    this.maxWaitMs = o.maxWaitMs === undefined ? 60_000 : parseDuration(o.maxWaitMs, 'options.maxWaitMs', true);
    this.limiter = new RateLimiter({
      store: this.store,
      clock: this.clock,
      defaultConfig: o.limiter?.defaultConfig as RateLimitConfig | undefined,
    });
    for (const [user, config] of Object.entries(o.limiter?.users ?? {})) this.limiter.setUserLimits(user, config as RateLimitConfig);
    for (const [endpoint, config] of Object.entries(o.limiter?.endpoints ?? {}))
      this.limiter.setEndpointLimits(endpoint, config as RateLimitConfig);
    this.waits = new WaitQueues(this.clock);
    this.costs = new CostCalculator(
      {
        ...(o.pricing as GovernorOptions['pricing']),
        currency: this.currency,
        clock: this.clock,
        ledger: this.store,
        onWarning: (w) => this.events.emit('pricing.warning', w),
        record: (c) =>
          this.guard({ scope: c.scope, name: c.name, estimate: { cost: formatUnits(c.cost) }, metadata: { pricing: c.pricing } }, (ctx) =>
            ctx.report({ ...c.usage, cost: formatUnits(c.cost) }),
          ),
      },
      'options.pricing',
    );
    this.events = new TypedEvents<GovernorEvents>((error, event) => {
      if (event !== 'listener.error') this.events.emit('listener.error', { event, error });
    });
    this.breakers = new BreakerRegistry({
      store: this.store,
      clock: this.clock,
      defaults: o.breakers as BreakerOptions | undefined,
      field: 'options.breakers',
      onEvent: (event, payload) => this.events.emit(event, payload),
    });
    this.tracker = new ResourceTracker({
      ...(o.tracker as ResourceTrackerOptions | undefined),
      store: this.store,
      clock: this.clock,
      currency: this.currency,
      meters: this.meters,
      field: 'options.tracker',
      // Compute samples are priced by the catalog's compute prices unless the user prices them.
      priceCompute:
        (o.tracker as ResourceTrackerOptions | undefined)?.priceCompute ??
        ((sample) =>
          this.costs.priceCompute({
            cpuSeconds: sample.cpuHours.mul(3600).toFixed(),
            memoryGbSeconds: sample.memoryGbHours.mul(3600).toFixed(),
          }).total),
      // The tracker's payloads are the bus's own shapes plus `pid` (checked in test/tracker-events.test.ts).
      onEvent: (event, payload) => this.events.emit(event, payload as never),
      rateLimits: {
        set: (pid, c) => this.limiter.setUserLimits(pid, c as RateLimitConfig),
        remove: (pid) => this.limiter.removeUserLimits(pid),
      },
    });
    // Two governors of one process may share a store (one Redis prefix): their ids must differ.
    this.idPrefix = `${PROCESS_PREFIX}-${(++governorsMade).toString(36)}-`;
    this.callId = { prefix: this.idPrefix, seq: 0 };
    this.budgets = new BudgetCoordinator(this.budgetHost(), {
      ...o.coordinator,
      alertChannels: o.alertChannels as AlertChannel[] | undefined,
    });
    this.analytics = new Analytics({
      pricing: this.analyticsPricing(),
      ...(o.analytics as Omit<AnalyticsOptions, 'store'>),
      store: this.store,
      clock: this.clock,
      currency: this.currency,
      budgets: () => this.listLimits(),
      onError: (error) => this.events.emit('store.error', { operation: 'analytics', error, at: this.clock.now() }),
    });
    // Loaded on first use, so the core entry carries no page assets.
    this.analytics.reportRenderer = (q) => import('./dashboard/report.js').then((m) => m.renderReport(this, q));
    // Compile everything before setting anything, so a bad entry leaves no half-configured governor.
    const compiled = [
      ...(o.budgets ?? []).map((b, i) => this.compile(budgetToLimit(b, `options.budgets[${i}]`), `options.budgets[${i}]`)),
      ...(o.limits ?? []).map((l, i) => this.compile(l, `options.limits[${i}]`)),
    ];
    const ids = new Set<string>();
    for (const l of compiled) {
      if (ids.has(l.id)) throw new InvalidInputError('options.limits', 'must not set two limits with the same id', l.id);
      ids.add(l.id);
    }
    for (const l of compiled) this.install(l, { reason: 'initial configuration' });
  }

  // ---- events -------------------------------------------------------------------

  /** Subscribe to an event; returns a disposer. A throwing listener never breaks a call. */
  on<K extends keyof GovernorEvents>(event: K, listener: (payload: GovernorEvents[K]) => unknown): () => void {
    return this.events.on(event, listener);
  }

  /** Subscribe for one event; returns a disposer. */
  once<K extends keyof GovernorEvents>(event: K, listener: (payload: GovernorEvents[K]) => unknown): () => void {
    return this.events.once(event, listener);
  }

  /** Resolve with the next payload of `event`. */
  next<K extends keyof GovernorEvents>(event: K, signal?: AbortSignal): Promise<GovernorEvents[K]> {
    return this.events.next(event, signal);
  }

  /** Internal: emit an event (used by the rooms the governor wires). */
  emit<K extends keyof GovernorEvents>(event: K, payload: GovernorEvents[K]): void {
    this.events.emit(event, payload);
  }

  // ---- limits -------------------------------------------------------------------

  /** Set (or replace, by id) a limit on any meter. Returns the limit as set. */
  setLimit(spec: LimitSpec, change: ChangeOptions = {}): LimitInfo {
    return info(this.install(this.compile(spec, 'limit'), change));
  }

  /** Set (or replace, by id) a money budget: a `cost` limit. Returns the limit as set. */
  setBudget(spec: BudgetSpec, change: ChangeOptions = {}): LimitInfo {
    return info(this.install(this.compile(budgetToLimit(spec, 'budget'), 'budget'), change));
  }

  /** Remove a limit; its counters stay in the store. True when it existed. */
  removeLimit(id: string, change: ChangeOptions = {}): boolean {
    validateId(id, 'id');
    const old = this.registry.remove(id);
    if (old === undefined) return false;
    this.audit(old, undefined, change);
    return true;
  }

  /** The limit with this id, or undefined. */
  getLimit(id: string): LimitInfo | undefined {
    const l = this.registry.get(id);
    return l === undefined ? undefined : info(l);
  }

  /** Every limit in force. */
  listLimits(): LimitInfo[] {
    return this.registry.all().map(info);
  }

  /** Set or replace the prices of a model (per million tokens): an override ahead of the catalog (`gov.costs.override`). */
  setPrice(model: string, price: ModelPrice): void {
    validateId(model, 'model');
    this.costs.override(model, price);
  }

  private compile(spec: unknown, field: string): CompiledLimit {
    return compileLimit(spec, field, this.meters, this.currency);
  }

  private install(limit: CompiledLimit, change: ChangeOptions): CompiledLimit {
    const old = this.registry.set(limit);
    this.audit(old, limit, change);
    return limit;
  }

  private audit(before: CompiledLimit | undefined, after: CompiledLimit | undefined, change: ChangeOptions): void {
    const l = (after ?? before) as CompiledLimit;
    const sameMeter = before === undefined || after === undefined || before.meter === after.meter;
    if (before !== undefined && after !== undefined && sameMeter && before.max === after.max && change.reason === undefined) return;
    const b = before?.max;
    const a = after?.max;
    const scale = l.def.scale;
    // A limit id moved to another meter: each cap in its own unit, and no delta across units.
    const beforeScale = before?.def.scale ?? scale;
    const reason = change.reason ?? (before === undefined ? 'set' : after === undefined ? 'removed' : 'updated');
    const at = this.clock.now();
    const payload = {
      limit: l.id,
      meter: l.meter,
      scope: l.pattern,
      before: b === undefined ? null : formatUnits(b, beforeScale),
      after: a === undefined ? null : formatUnits(a, scale),
      delta: sameMeter ? formatUnits((a ?? 0n) - (b ?? 0n), scale) : a === undefined ? '0' : formatUnits(a, scale),
      reason,
      actor: change.actor,
      action: change.action ?? (before === undefined ? 'set' : after === undefined ? 'removed' : 'update'),
      currency: l.currency,
      at,
    };
    this.events.emit('budget.changed', payload);
    const entry: LedgerEntry = {
      id: this.nextId(),
      at,
      kind: 'budget.changed',
      status: 'ok',
      scope: l.pattern,
      usage: {},
      cost: '0',
      currency: l.currency ?? this.currency,
      data: payload,
    };
    this.appendLedger(entry);
  }

  // ---- the pipeline ---------------------------------------------------------------

  /**
   * Run `fn` as a governed call: admit it against every limit of its scope (throwing a
   * typed refusal, with nothing charged, if any hard limit would be passed), run it,
   * and settle at the usage it reported (`ctx.report`, `request.usageOf`) or, for
   * meters it did not report, at the estimate. If `fn` throws, the hold is released
   * (reported usage is still charged) and the error is rethrown.
   */
  guard<T>(request: GuardRequest<T>, fn: (ctx: GuardContext) => T | PromiseLike<T>): Promise<T> {
    let p: PreparedRequest;
    let admitted: Reservation | GovernorError | PromiseLike<Reservation | GovernorError>;
    try {
      p = this.prepare(request);
      admitted = this.admitOrWait(p);
    } catch (e) {
      return Promise.reject(e);
    }
    return isPromiseLike(admitted) ? Promise.resolve(admitted).then((r) => this.run(r, p, fn)) : this.run(admitted, p, fn);
  }

  /** A governed version of `fn`: each call is guarded with the request `requestFor(...args)` builds. */
  wrap<A extends unknown[], T>(
    fn: (...args: A) => T | PromiseLike<T>,
    requestFor: GuardRequest<T> | ((...args: A) => GuardRequest<T>),
  ): (...args: A) => Promise<T> {
    if (typeof fn !== 'function') throw new InvalidInputError('fn', 'must be a function', fn);
    if (typeof requestFor !== 'function' && (requestFor === null || typeof requestFor !== 'object')) {
      throw new InvalidInputError('requestFor', 'must be a request or a function returning one', requestFor);
    }
    return (...args: A) => {
      let req: GuardRequest<T>;
      try {
        req = typeof requestFor === 'function' ? requestFor(...args) : requestFor;
      } catch (e) {
        return Promise.reject(e);
      }
      return this.guard(req, () => fn(...args));
    };
  }

  /**
   * Admit a call and hold its estimate; settle or release the returned reservation
   * yourself (streams, callbacks). An unsettled reservation expires after its lease.
   */
  async reserve(request: GuardRequest): Promise<Reservation> {
    const p = this.prepare(request);
    const r = await this.admitOrWait(p);
    if (r instanceof GovernorError) throw this.refused(r);
    return r;
  }

  /**
   * Would this call be admitted now? Checks the breaker and every limit without holding or
   * recording anything; a refusal comes back as data (no Error is built).
   */
  async check(request: GuardRequest): Promise<AdmissionCheck> {
    let p: PreparedRequest;
    try {
      p = this.prepare(request);
    } catch (e) {
      // A model without a price would be refused too: data here, like every refusal (bad input still throws).
      if (!(e instanceof UnknownModelError)) throw e;
      return {
        allowed: false,
        code: e.code,
        limit: 'pricing',
        meter: 'cost',
        scope: undefined,
        requested: undefined,
        available: undefined,
        max: undefined,
        retryAfterMs: undefined,
      };
    }
    if (p.breaker !== undefined) {
      const breaker = this.breakers.for(p.breaker);
      const open = await this.guardStore('breaker', () => breaker.peek());
      if (open !== undefined) {
        return {
          allowed: false,
          code: open.code,
          limit: open.breaker,
          meter: undefined,
          scope: undefined,
          requested: undefined,
          available: undefined,
          max: undefined,
          retryAfterMs: open.retryAfterMs,
        };
      }
    }
    const a = this.buildAdmission(p);
    const res = a.pre ?? (await this.guardStore('reserve', () => this.store.reserve(this.reserveRequest(a, undefined, true))));
    if (res.ok) return { allowed: true };
    const d = this.refusalOf(a, res.failure);
    return {
      allowed: false,
      code: d.code,
      limit: d.limit,
      meter: d.meter,
      scope: d.scope,
      requested: d.requested,
      available: d.available,
      max: d.max,
      retryAfterMs: d.retryAfterMs,
    };
  }

  private prepare(request: GuardRequest<never>): PreparedRequest {
    // Most calls repeat the last request's shape and values: the same prepared request (never mutated).
    const memo = this.lastRequest;
    if (memo !== undefined && memoMatches(request, memo)) return memo.prepared;
    const p = prepareRequest(request, this.meters, this.leaseMs);
    // Only a token estimate needs a price: a call naming an unpriced model without one is admitted as before.
    if (!p.estimate.has('cost') && p.model !== undefined && (p.estimate.has('inputTokens') || p.estimate.has('outputTokens'))) {
      const inT = p.estimate.get('inputTokens') ?? 0n;
      p.estimate.set('cost', this.costs.estimateUnits(p.model, p.provider, inT, p.estimate.get('outputTokens') ?? 0n, p.batch));
    }
    this.lastRequest = requestMemo(request, p);
    return p;
  }

  private buildAdmission(p: PreparedRequest): Admission {
    const now = this.admitNow ?? this.clock.now();
    this.admitNow = undefined;
    const plan = this.registry.plan(p.scope, p.scopeKey);
    const quota = this.tracker.admission(p.scope, p.kind, p.estimate);
    const refused = quota?.refused;
    // The pid's quota counters come first (the narrowest scope); a refusal decided before the store reserves nothing.
    const shape =
      quota === undefined
        ? this.planShape(plan, p.estimate, now)
        : admissionShape(
            refused !== undefined ? [refused.counter] : [...quota.counters, ...plan.counters],
            plan.windows,
            p.estimate,
            now,
            refused?.amount,
          );
    let windows = shape.windows;
    const user = p.user ?? quota?.rateLimitUser;
    if (user !== undefined) {
      const lw = this.limiter.windowsFor(user, p.endpoint ?? 'default', Number(tokensOf(p.estimate)));
      const scope = { ...p.scope };
      const scopeLabel = `user=${lw.userId}/endpoint=${lw.endpoint}`;
      const all = [...windows];
      lw.items.forEach((item, i) => {
        const spec = lw.specs[i]!;
        const weighs = spec.weighs === 'tokens' ? 'tokens' : 'requests';
        all.push({ ...item, weighs, limitId: spec.type, meter: weighs, scope, scopeKey: scopeLabel });
      });
      windows = all;
    }
    // The breaker fields are set by admit; present from the start so every admission has one shape.
    return {
      p,
      plan,
      now,
      started: this.clock.monotonic(),
      counters: shape.counters,
      keys: shape.keys,
      periods: shape.periods,
      expires: shape.expires,
      amounts: shape.amounts,
      reserved: shape.reserved,
      holds: shape.holds,
      windows,
      shape,
      breaker: undefined,
      permit: undefined,
      timeout: undefined,
      quota,
      held: undefined,
      idSeq: -1,
      pre: refused === undefined ? undefined : { ok: false, failure: { type: 'counter', index: 0, used: refused.used, held: 0n } },
    };
  }

  /**
   * The counters and windows of a call on `plan` with this estimate. Calls on one plan
   * mostly estimate the same amounts in the same period: the last shape is reused (it is
   * never mutated) as long as every key, expiry, amount and window weight is the same.
   */
  private planShape(plan: Plan, estimate: ReadonlyMap<string, bigint>, now: number): AdmissionShape {
    let s = this.shapes.get(plan);
    const list = plan.counters;
    const same = s !== undefined && s.estimate === estimate;
    for (let i = 0; i < list.length; i++) {
      const c = list[i] as PlanCounter;
      if (c.tracker !== undefined && (now >= c.periodEnd || now < c.periodStart)) refreshPeriod(c, now);
      if (
        s !== undefined &&
        (s.keys[i] !== c.key || s.expires[i] !== c.expiresAt || (!same && s.amounts[i] !== (estimate.get(c.meter) ?? 0n)))
      ) {
        s = undefined;
      }
    }
    if (s !== undefined && !same) {
      const ws = plan.windows;
      for (let i = 0; i < ws.length; i++) {
        const w = ws[i] as PlanWindow;
        if ((s.windows[i] as AdmissionWindow).weight !== Number(estimate.get(w.meter) ?? 0n)) {
          s = undefined;
          break;
        }
      }
    }
    if (s === undefined) {
      s = admissionShape(list, plan.windows, estimate, now, undefined);
      this.shapes.set(plan, s);
    }
    s.estimate = estimate;
    return s;
  }

  private reserveRequest(a: Admission, id: string | undefined, dryRun: boolean) {
    return { id, counters: (a.shape.items ??= counterItems(a.shape)), windows: a.windows, leaseMs: a.p.leaseMs, dryRun };
  }

  private admit(p: PreparedRequest): Reservation | GovernorError | Promise<Reservation | GovernorError> {
    if (p.breaker === undefined) return this.admitLimits(p, undefined, undefined);
    // The breaker first: an open one refuses before any rate-limit slot or budget is taken.
    const breaker = this.breakers.for(p.breaker);
    let permit: BreakerPermit | CircuitOpenError | Promise<BreakerPermit | CircuitOpenError>;
    try {
      permit = breaker.tryAcquire();
    } catch (e) {
      return this.storeFailure('breaker', e);
    }
    if (isPromiseLike(permit)) {
      return permit.then(
        (x) => this.admitThrough(p, breaker, x),
        (e: unknown) => this.storeFailure('breaker', e),
      );
    }
    return this.admitThrough(p, breaker, permit);
  }

  private admitThrough(
    p: PreparedRequest,
    breaker: CircuitBreaker,
    permit: BreakerPermit | CircuitOpenError,
  ): Reservation | GovernorError | Promise<Reservation | GovernorError> {
    if (permit instanceof CircuitOpenError) {
      // Recorded only if the caller gives up on it, like every refusal.
      this.circuitRefusals.set(permit, { p, id: this.nextId(), at: this.clock.now() });
      return permit;
    }
    return this.admitLimits(p, breaker, permit);
  }

  private admitLimits(
    p: PreparedRequest,
    breaker: CircuitBreaker | undefined,
    permit: BreakerPermit | undefined,
  ): Reservation | GovernorError | Promise<Reservation | GovernorError> {
    const a = this.buildAdmission(p);
    if (breaker !== undefined) {
      a.breaker = breaker;
      a.permit = permit;
    }
    const id = this.nextId();
    a.idSeq = this.seq;
    let res: ReserveResult | HoldResult | Promise<ReserveResult>;
    try {
      const m = this.memory;
      if (a.pre !== undefined) res = a.pre;
      else if (m !== undefined && m.reserve === MEMORY_RESERVE) {
        // The default store reserves at the admission's time (the same clock, read once) and
        // hands back its record of the hold, so the settle needs no lookup by id.
        const h = m.holdAt(this.reserveRequest(a, id, false), a.now);
        if (h.ok) a.held = h.held;
        res = h;
      } else res = this.store.reserve(this.reserveRequest(a, id, false));
    } catch (e) {
      return this.storeFailure('reserve', e);
    }
    if (isPromiseLike(res)) {
      return Promise.resolve(res).then(
        (r) => this.admitted(a, id, r),
        (e: unknown) => this.storeFailure('reserve', e),
      );
    }
    return this.admitted(a, id, res);
  }

  private admitted(a: Admission, id: string, res: ReserveResult | HoldResult): Reservation | GovernorError {
    if (res.ok) {
      let signal = a.p.signal;
      // A tracked pid's calls follow its deadline: aborted when its timeoutSeconds run out.
      const deadline = a.quota === undefined ? undefined : this.tracker.deadlineSignal(a.quota);
      if (a.breaker?.timeoutMs !== undefined || deadline !== undefined) {
        a.timeout = deadline === undefined ? linkedController(signal) : this.tracker.linkSignals(signal, deadline);
        signal = a.timeout.controller.signal;
      }
      return new Reservation(this, id, a.p.scope, res.expiresAt, signal, a);
    }
    // A half-open probe slot taken for a call a limit refused goes back: the call never ran.
    if (a.permit !== undefined) void this.breakerOutcome(() => (a.permit as BreakerPermit).release());
    const error = this.refusal(a, res.failure);
    // Recorded only if the caller gives up on it: a call waiting in queue mode is refused many times.
    this.refusals.set(error, { a, id, failure: res.failure });
    return error;
  }

  /** Record a refusal the caller gives up on (ledger entry, violation event); returns it to throw. */
  private refused(error: GovernorError): GovernorError {
    const r = this.refusals.get(error);
    if (r !== undefined) {
      this.refusals.delete(error);
      this.recordRefusal(r.a, r.id, error, r.failure);
    }
    const c = this.circuitRefusals.get(error);
    if (c !== undefined) {
      this.circuitRefusals.delete(error);
      this.recordCircuitRefusal(c.p, c.id, error, c.at);
    }
    return error;
  }

  /**
   * Internal, for the SDK integrations: record a refusal decided outside the pipeline (a
   * provider's `retry-after`) the way the pipeline records its own when the caller gives up:
   * a `refused` ledger entry with the error's code. Returns the error, to throw.
   */
  recordOutsideRefusal(request: GuardRequest, error: GovernorError): GovernorError {
    if (this.keeps('refused'))
      this.appendLedger(this.callEntry(this.prepare(request), this.nextId(), this.clock.now(), 'refused', error), true);
    return error;
  }

  /**
   * Internal: record a ledger entry built outside the pipeline (an integration's failed attempt of a
   * call that goes on), if the `ledger` option keeps its status; fed to analytics like every entry.
   */
  recordEntry(entry: LedgerEntry): void {
    if (this.keeps(entry.status)) this.appendLedger(entry);
  }

  /** A `refused` ledger entry for a call an open breaker turned away (the `breaker.open` event already told). */
  private recordCircuitRefusal(p: PreparedRequest, id: string, error: GovernorError, at: number): void {
    if (this.keeps('refused')) this.appendLedger(this.callEntry(p, id, at, 'refused', error), true);
  }

  /** Record a breaker outcome; a store fault is reported as `store.error`, never thrown into the call it concerns. */
  private breakerOutcome(record: () => void | Promise<void>): void | Promise<void> {
    const fault = (e: unknown): void => this.events.emit('store.error', { operation: 'breaker', error: e, at: this.clock.now() });
    let r: void | Promise<void>;
    try {
      r = record();
    } catch (e) {
      fault(e);
      return;
    }
    if (isPromiseLike(r)) return Promise.resolve(r).then(undefined, fault);
  }

  private admitOrWait(p: PreparedRequest): Reservation | GovernorError | Promise<Reservation | GovernorError> {
    // Pools and agents changed by another governor over the same store (gov.budgets) load first.
    // One clock read for the registry's refresh check and, when nothing is loaded, the admission itself.
    const now = this.clock.now();
    const loading = this.budgets.refresh(p.scope, now);
    if (loading !== undefined) return loading.then(() => this.admitLoaded(p));
    this.admitNow = now;
    try {
      return this.admitLoaded(p);
    } finally {
      this.admitNow = undefined;
    }
  }

  private admitLoaded(p: PreparedRequest): Reservation | GovernorError | Promise<Reservation | GovernorError> {
    const first = this.admitOnce(p);
    // A budget in wait mode (`onExhausted: 'wait'`) pauses a call it refuses until it fits again.
    return this.budgets.waiting ? this.budgets.admitWaiting(first, () => this.admitOnce(p), p.maxWaitMs, p.signal) : first;
  }

  private admitOnce(p: PreparedRequest): Reservation | GovernorError | Promise<Reservation | GovernorError> {
    return (p.onRateLimit ?? this.onRateLimit) === 'wait' ? this.waitAdmit(p) : this.admit(p);
  }

  /**
   * Queue mode: admit at once unless calls already wait on one of this call's windows;
   * when a rate limit refuses, wait in that window's FIFO queue until the call fits, the
   * deadline passes or the signal aborts. Other refusals are returned at once.
   */
  private async waitAdmit(p: PreparedRequest): Promise<Reservation | GovernorError> {
    const deadline = this.clock.now() + (p.maxWaitMs ?? this.maxWaitMs);
    let key = this.buildAdmission(p).windows.find((w) => this.waits.busy(w.key))?.key;
    if (key === undefined) {
      const first = await this.admit(p);
      if (!(first instanceof RateLimitedError)) return first;
      const r = this.refusals.get(first);
      if (r === undefined || r.failure.type !== 'window') return first;
      key = (r.a.windows[r.failure.index] as AdmissionWindow).key;
    }
    try {
      return await this.waits.run<Reservation | GovernorError>(
        key,
        async () => {
          const r = await this.admit(p);
          return r instanceof RateLimitedError ? { ok: false, retryAfterMs: r.retryAfterMs, error: r } : { ok: true, value: r };
        },
        deadline,
        p.signal,
      );
    } catch (e) {
      if (e instanceof GovernorError) return e;
      throw e;
    }
  }

  /**
   * Run the guarded function on an admitted reservation and settle it. Written without
   * async/await: with a synchronous store the pipeline adds no promise of its own beyond
   * the one `guard()` returns and the function's.
   */
  private run<T>(r: Reservation | GovernorError, p: PreparedRequest, fn: (ctx: GuardContext) => T | PromiseLike<T>): Promise<T> {
    if (r instanceof GovernorError) return Promise.reject(this.refused(r));
    // An agent with service levels gets its current one as ctx.serviceLevel.
    const levelled = this.budgets.attachServiceLevel(r);
    if (levelled !== undefined) return levelled.then(() => this.run(r, p, fn));
    const a = r.internal as Admission;
    let out: T | PromiseLike<T>;
    try {
      out =
        a.timeout === undefined || a.breaker?.timeoutMs === undefined ? fn(r) : a.breaker.withTimeout(() => fn(r), a.timeout.controller);
    } catch (e) {
      return this.failed(r, e);
    }
    if (isPromiseLike(out)) {
      return Promise.resolve(out).then(
        (value) => this.succeeded(r, p, value),
        (e: unknown) => this.failed(r, e),
      );
    }
    return Promise.resolve(this.succeeded(r, p, out));
  }

  /** The function returned: read its usage, settle, and hand back its result whatever the store says. */
  private succeeded<T>(r: Reservation, p: PreparedRequest, value: T): T | Promise<T> {
    try {
      if (p.usageOf !== undefined && r.open) {
        const u = (p.usageOf as (x: T) => UsageReport | undefined)(value);
        if (u !== undefined) r.report(u);
      }
    } catch (e) {
      return this.failed(r, e);
    }
    if (!r.open) return value;
    let s: SettleResult | PromiseLike<SettleResult>;
    this.deferCommit = this.background;
    try {
      s = r.settleNow();
    } catch (e) {
      return this.commitLost(e, value);
    } finally {
      this.deferCommit = false;
    }
    // The closures only when the store answers later: none per call on a synchronous store.
    if (!isPromiseLike(s)) return value;
    if (!this.background)
      return Promise.resolve(s).then(
        () => value,
        (e: unknown) => this.commitLost(e, value),
      );
    // settle: 'background': the caller has its result now; the charge follows (flush() waits for it).
    const pending: Promise<unknown> = Promise.resolve(s).then(undefined, (e: unknown) => this.commitLost(e, value));
    this.settling.add(pending);
    void pending.then(() => this.settling.delete(pending));
    return value;
  }

  /** The call has happened: a store that cannot record it is reported, but the result is not lost. */
  private commitLost<T>(e: unknown, value: T): T {
    if (!(e instanceof StoreUnavailableError)) this.events.emit('store.error', { operation: 'commit', error: e, at: this.clock.now() });
    return value;
  }

  /** The function threw: release the hold (or charge what it reported), record the failure, rethrow its error. */
  private failed(r: Reservation, error: unknown): Promise<never> {
    const rethrow = (): never => {
      throw error;
    };
    const lost = (e: unknown): never => {
      // The function's own error matters more to the caller than a store fault while cleaning up.
      if (!(e instanceof StoreUnavailableError)) this.events.emit('store.error', { operation: 'release', error: e, at: this.clock.now() });
      throw error;
    };
    let f: unknown;
    try {
      f = r.fail(error);
    } catch (e) {
      return Promise.reject(error).catch(() => lost(e));
    }
    return isPromiseLike(f) ? Promise.resolve(f).then(rethrow, lost) : Promise.reject(error);
  }

  /** What refused a call, as plain data (building an Error, with its stack, is left to those who throw it). */
  private refusalOf(a: Admission, f: ReserveFailure): Refusal {
    if (f.type === 'window') {
      const w = a.windows[f.index]!;
      return {
        code: 'rate_limited',
        limit: w.limitId,
        meter: w.meter,
        scope: w.scopeKey,
        requested: String(w.weight),
        available: String(Math.max(0, w.limit - f.count)),
        max: String(w.limit),
        // null: the call is heavier than the whole window and can never fit.
        retryAfterMs: f.retryAfterMs ?? undefined,
        currency: undefined,
      };
    }
    const ci = a.reserved[f.index] as number;
    const c = a.counters[ci]!;
    const l = c.capLimit as CompiledLimit;
    const scale = l.def.scale;
    const amount = a.amounts[ci] as bigint;
    const free = l.max - f.used - f.held;
    return {
      code: l.def.refusalCode as GovernorErrorCode,
      limit: l.id,
      meter: c.meter,
      scope: c.scopeKey,
      requested: formatUnits(amount, scale),
      available: formatUnits(free > 0n ? free : 0n, scale),
      max: formatUnits(l.max, scale),
      // A calendar period frees the cap at its end, unless the call asks for more than the whole cap.
      retryAfterMs: c.tracker === undefined || amount > l.max ? undefined : Math.max(1, c.periodEnd - a.now),
      currency: l.def.kind === 'money' ? (l.currency ?? this.currency) : undefined,
    };
  }

  private refusal(a: Admission, f: ReserveFailure): GovernorError {
    const d = this.refusalOf(a, f);
    if (d.currency !== undefined)
      return new BudgetExceededError({ ...d, currency: d.currency, alternatives: this.budgets.alternativesFor(d.limit) });
    if (d.code === 'rate_limited' && d.retryAfterMs !== undefined) return new RateLimitedError({ ...d, retryAfterMs: d.retryAfterMs });
    return new LimitExceededError(d.code, d);
  }

  private recordRefusal(a: Admission, id: string, error: GovernorError, f: ReserveFailure): void {
    const e = error as LimitExceededError;
    const at = a.now;
    if (this.events.has('violation')) {
      const ci = f.type === 'counter' ? (a.reserved[f.index] as number) : -1;
      const c = f.type === 'counter' ? a.counters[ci] : undefined;
      const w = f.type === 'window' ? a.windows[f.index] : undefined;
      this.events.emit('violation', {
        type: 'refused',
        code: e.code,
        limit: e.limit,
        meter: e.meter,
        scope: (c ?? w)?.scope ?? a.p.scope,
        requested: e.requested,
        available: e.available,
        used: f.type === 'window' ? String(f.count) : formatUnits(f.used, c?.capLimit?.def.scale ?? 0),
        max: e.max,
        retryAfterMs: e.retryAfterMs,
        period: f.type === 'counter' ? a.periods[ci] : undefined,
        at,
      });
    }
    if (this.keeps('refused')) this.appendLedger(this.callEntry(a.p, id, at, 'refused', e), true, this.idOf(a));
  }

  // ---- settling (ReservationOwner) -----------------------------------------------------

  /** Internal: validate a usage report and merge it into the reservation (all or nothing). */
  validateReport(r: Reservation, usage: UsageReport, field: string): void {
    const units = new Map<string, bigint>();
    const model = usageUnits(usage, field, this.meters, units);
    if (r.reported === undefined) r.reported = units;
    else for (const [k, v] of units) r.reported.set(k, v);
    if (model !== undefined) r.reportedModel = model;
  }

  /** Internal: commit a reservation at its actual usage; synchronous when the store is. */
  settleReservation(r: Reservation, status: 'ok' | 'error', error?: unknown): SettleResult | PromiseLike<SettleResult> {
    const a = r.internal as Admission;
    const reported = r.reported ?? NO_UNITS;
    const estimate = a.p.estimate;
    const model = r.reportedModel ?? a.p.model;
    // A figure taken from the estimate makes the entry estimated, unless it is a call count (a call is one call).
    let estimated = r.reportedEstimated;
    let costUnits = reported.get('cost');
    const priced =
      costUnits === undefined && reported.size > 0 ? this.costs.priceReport(model, a.p.provider, reported, a.p.batch) : undefined;
    if (priced !== undefined) costUnits = priced.units;
    if (costUnits === undefined) {
      costUnits = estimate.get('cost') ?? 0n;
      if (costUnits !== 0n) estimated = true;
    }
    let usage: Record<string, string>;
    let units: CallUnits | undefined;
    if (reported.size === 0) {
      // Nothing reported: the estimate's usage, one frozen text shared by every call with this estimate.
      const u = this.estimateUsage(estimate);
      usage = u.usage;
      if (u.estimated) estimated = true;
    } else {
      // A usage record of its own; its units go along for the MemoryStore to keep as numbers.
      usage = {};
      let n = 0;
      for (const k of estimate.keys()) {
        if (k === 'cost') continue;
        let v = reported.get(k);
        if (v === undefined) {
          const e = estimate.get(k) as bigint;
          v = e;
          if (e !== 0n && !CALL_COUNTS.has(k)) estimated = true;
        }
        const scale = this.meters.get(k, k).scale;
        usage[k] = formatUnits(v, scale);
        this.noteUnits(n++, k, scale, v);
      }
      for (const [k, v] of reported) {
        if (k === 'cost') continue;
        const scale = this.meters.get(k, k).scale;
        usage[k] = formatUnits(v, scale);
        if (!estimate.has(k)) this.noteUnits(n++, k, scale, v);
      }
      units = this.unitsOf(n, costUnits);
    }
    const at = this.clock.now();
    const entry = this.callEntry(
      a.p,
      r.id,
      at,
      status,
      error,
      usage,
      this.costText(costUnits),
      model,
      estimated,
      this.clock.monotonic() - a.started,
      priced?.pricing,
    );
    // Every counter of the call's limits is charged what the call used, estimated or not. With
    // nothing reported, that is the estimate the call was admitted with: the shape's own list.
    const commits = reported.size === 0 ? (a.shape.commits ??= shapeCommits(a.shape)) : reportedCommits(a, reported, costUnits);
    let windows: WindowAdjustment[] | undefined;
    for (const w of a.windows) {
      const weight =
        w.weighs === 'cost'
          ? costUnits
          : w.weighs === 'tokens'
            ? actualUnits(reported, estimate, 'inputTokens') + actualUnits(reported, estimate, 'outputTokens')
            : actualUnits(reported, estimate, w.weighs);
      const delta = Number(weight) - w.weight;
      // The hit's time is the store's (Redis may keep its own clock): its lease started then.
      if (delta !== 0)
        (windows ??= []).push({ key: w.key, windowMs: w.windowMs, buckets: w.buckets, mode: w.mode, delta, at: r.expiresAt - a.p.leaseMs });
    }
    let res: CommitResult | PromiseLike<CommitResult>;
    try {
      const kept = this.keeps(status) ? entry : undefined;
      const m = this.memory;
      // The default store keeps the entry by field (see LedgerRing); any other gets it with the commit.
      const direct = m !== undefined && m.commit === MEMORY_COMMIT;
      const req = {
        id: r.id,
        counters: commits.counters,
        windows,
        ledger: direct ? undefined : kept,
        deferrable: this.deferCommit || undefined,
      };
      this.deferCommit = false;
      if (direct) {
        const cid = kept === undefined ? undefined : this.idOf(a);
        res = a.held !== undefined ? m.commitHeld(a.held, req, at, kept, units, cid) : m.commitAt(req, at, kept, units, cid);
      } else {
        // A commit replaced since the reserve (a spy) looks the reservation up by id.
        if (a.held !== undefined) m?.indexHeld(a.held);
        res = this.store.commit(req);
      }
    } catch (e) {
      return this.storeFailure('commit', e);
    }
    if (!isPromiseLike(res)) return this.committed(r, a, status, error, entry, usage, estimated, costUnits, commits, at, res);
    const cost = costUnits;
    return Promise.resolve(res).then(
      (x) => this.committed(r, a, status, error, entry, usage, estimated, cost, commits, at, x),
      (e: unknown) => this.storeFailure('commit', e),
    );
  }

  /**
   * The usage text of a settle with nothing reported (every meter at its estimate but money),
   * and whether a figure in it is an estimate (a call count is not). Kept for the last estimate:
   * a memoised request (see requestMemo) brings the same Map call after call.
   */
  private estimateUsage(estimate: ReadonlyMap<string, bigint>): EstimateUsage {
    const last = this.lastEstimateUsage;
    if (last !== undefined && last.estimate === estimate) return last;
    const usage: Record<string, string> = {};
    let estimated = false;
    for (const [k, v] of estimate) {
      if (k === 'cost') continue;
      if (v !== 0n && !CALL_COUNTS.has(k)) estimated = true;
      usage[k] = formatUnits(v, this.meters.get(k, k).scale);
    }
    return (this.lastEstimateUsage = { estimate, usage: Object.freeze(usage), estimated });
  }

  /** Note the `n`th meter of a usage record and its units, for unitsOf (no note past USAGE_SLOTS). */
  private noteUnits(n: number, meter: string, scale: number, v: bigint): void {
    if (n >= USAGE_SLOTS) return;
    const u = this.callUnits;
    u.meters[n] = meter;
    u.scales[n] = scale;
    // Past 2^53 a double is not exact: such a record is kept as text (see unitsOf).
    u.values[n] = v <= MAX_EXACT ? Number(v) : -1;
  }

  /**
   * The units of the usage record just noted (n meters) and of its cost, for the MemoryStore
   * to keep as numbers (see LedgerRing), or undefined when they do not fit. One object, filled
   * again by each settle; the layout is kept while the meters stay the same.
   */
  private unitsOf(n: number, cost: bigint): CallUnits | undefined {
    if (n > USAGE_SLOTS || cost < 0n || cost > MAX_EXACT) return undefined;
    const u = this.callUnits;
    for (let i = 0; i < n; i++) if ((u.values[i] as number) < 0) return undefined;
    let l = u.layout;
    let same = l !== undefined && l.meters.length === n;
    for (let i = 0; same && i < n; i++) same = (l as UsageLayout).meters[i] === u.meters[i] && (l as UsageLayout).scales[i] === u.scales[i];
    if (!same) l = u.layout = Object.freeze({ meters: Object.freeze(u.meters.slice(0, n)), scales: Object.freeze(u.scales.slice(0, n)) });
    u.cost = Number(cost);
    return u as CallUnits;
  }

  /**
   * An entry's data when the cost was priced: the call's metadata plus the pricing record, one
   * frozen object while both stay the same. Only metadata that cannot change (none, or a frozen
   * object) is memoised: a caller may pass one object again with other values, and each entry
   * gets the values it had at its settle.
   */
  private pricedData(meta: { readonly [key: string]: unknown } | undefined, pricing: object): { readonly [key: string]: unknown } {
    const l = this.lastPriced;
    if (l !== undefined && l.meta === meta && l.pricing === pricing) return l.data;
    const data = Object.freeze({ ...meta, pricing });
    if (meta === undefined || Object.isFrozen(meta)) this.lastPriced = { meta, pricing, data };
    return data;
  }

  /** `formatUnits(units)`, kept for the last amount: calls of one shape mostly cost the same. */
  private costText(units: bigint): string {
    if (units !== this.lastCost) {
      this.lastCost = units;
      this.lastCostText = formatUnits(units);
    }
    return this.lastCostText;
  }

  /** After the store committed a settle: thresholds, analytics, the usage event, the breaker. */
  private committed(
    r: Reservation,
    a: Admission,
    status: 'ok' | 'error',
    error: unknown,
    entry: LedgerEntry,
    usage: Record<string, string>,
    estimated: boolean,
    cost: bigint,
    commits: SettleCommits,
    at: number,
    res: CommitResult,
  ): SettleResult | PromiseLike<SettleResult> {
    let exceeded = false;
    const committed = commits.indices;
    // The MemoryStore fills one result object commit after commit, and a warning listener may
    // settle another call at once: read `found` now, and copy `used` before the first event.
    const leaseExpired = a.holds ? !res.found : at >= r.expiresAt;
    let used = res.used;
    let copied = false;
    for (let j = 0; j < committed.length; j++) {
      const i = committed[j] as number;
      const c = a.counters[i] as PlanCounter;
      const u = used[j] as bigint;
      if (!thresholdsDue(c, u)) continue;
      if (!copied) {
        used = used.slice();
        copied = true;
      }
      if (this.thresholds(c, a.periods[i], (commits.counters[j] as CommitItem).amount, u, at)) exceeded = true;
    }
    const result = new Settled(cost, this.currency, usage, estimated, leaseExpired, entry);
    if (this.keeps(status)) this.analytics.record(entry);
    if (this.events.has('usage')) {
      this.events.emit('usage', {
        reservationId: r.id,
        scope: a.p.scope,
        status,
        usage,
        cost: entry.cost,
        currency: this.currency,
        estimated,
        durationMs: entry.durationMs as number,
        entry,
        at,
      });
    }
    const outcome = this.settleBreaker(a, status, error, exceeded, cost);
    return outcome === undefined ? result : Promise.resolve(outcome).then(() => result);
  }

  /** Tell the call's breaker how it went; a store fault there is reported, never thrown into a call that happened. */
  private settleBreaker(a: Admission, status: 'ok' | 'error', error: unknown, exceeded: boolean, cost: bigint): void | Promise<void> {
    a.timeout?.unlink();
    const permit = a.permit;
    if (permit === undefined) return;
    const breaker = a.breaker as CircuitBreaker;
    const estimate = a.p.estimate.get('cost') ?? 0n;
    return this.breakerOutcome(() => {
      if (status === 'error') return permit.error(error, a.p.signal);
      // The seed's second kind of failure: a hard cap passed at settle, or cost over estimate × thresholdMultiplier.
      if (exceeded) return permit.failure('limit_exceeded');
      return breaker.overrunUnits(estimate, cost) ? permit.failure('overrun') : permit.success();
    });
  }

  /** Internal: release a reservation without charging, recording the failure if there was one. */
  releaseReservation(r: Reservation, error?: unknown): boolean | PromiseLike<boolean> {
    const a = r.internal as Admission;
    a.timeout?.unlink();
    const permit = a.permit;
    const outcome =
      permit === undefined
        ? undefined
        : this.breakerOutcome(() => (error === undefined ? permit.release() : permit.error(error, a.p.signal)));
    const status = error === undefined ? 'released' : 'error';
    if (this.keeps(status)) {
      this.appendLedger(
        this.callEntry(a.p, r.id, this.clock.now(), status, error, {}, '0', a.p.model, undefined, this.clock.monotonic() - a.started),
        true,
        this.idOf(a),
      );
    }
    // A reservation that held nothing has no store record: it was live while its lease ran.
    let found: boolean | PromiseLike<boolean> = this.clock.now() < r.expiresAt;
    if (a.holds) {
      try {
        // A call waiting on a budget (gov.budgets wait mode) may fit once the hold is back.
        const m = this.memory;
        const held = a.held;
        let released: boolean | PromiseLike<boolean>;
        if (held !== undefined && m !== undefined && m.release === MEMORY_RELEASE) released = m.releaseHeld(held);
        else {
          if (held !== undefined) m?.indexHeld(held);
          released = this.store.release(r.id);
        }
        found = this.budgets.released(released);
      } catch (e) {
        this.storeFailure('release', e);
      }
    }
    if (outcome === undefined && !isPromiseLike(found)) return found;
    return Promise.all([outcome, Promise.resolve(found).then(undefined, (e: unknown) => this.storeFailure('release', e))]).then(
      ([, f]) => f,
    );
  }

  /** Fire the warnings and violations a commit caused; true when it took a hard limit past its cap. */
  private thresholds(c: PlanCounter, period: string | undefined, amount: bigint, used: bigint, at: number): boolean {
    // What was used before this commit: a BigInt subtraction (an allocation), so only once a threshold or the cap is reached.
    let before: bigint | undefined;
    let exceeded = false;
    for (const l of c.limits) {
      if (used < l.quietBelow) continue;
      const units = l.thresholdUnits;
      for (let i = 0; i < units.length; i++) {
        const t = units[i] as bigint;
        if (used >= t && t > 0n && (before ??= used - amount) < t) {
          this.events.emit('warning', {
            limit: l.id,
            meter: l.meter,
            scope: c.scope,
            used: formatUnits(used, l.def.scale),
            max: formatUnits(l.max, l.def.scale),
            threshold: l.thresholds[i] as number,
            enforcement: l.hard ? 'hard' : 'soft',
            period,
            currency: l.currency,
            at,
          });
        }
      }
      if (l.hard && used > l.max && (before ??= used - amount) <= l.max) {
        exceeded = true;
        this.events.emit('violation', {
          type: 'exceeded',
          code: l.def.refusalCode,
          limit: l.id,
          meter: l.meter,
          scope: c.scope,
          requested: formatUnits(amount, l.def.scale),
          available: '0',
          used: formatUnits(used, l.def.scale),
          max: formatUnits(l.max, l.def.scale),
          retryAfterMs: undefined,
          period,
          at,
        });
      }
    }
    return exceeded;
  }

  // ---- reading --------------------------------------------------------------------------

  /** Where every limit that applies to calls on `scope` stands now. */
  async getStatus(scope: Scope): Promise<LimitStatus[]> {
    const { scope: s, key } = prepareScope(scope, 'scope');
    const plan = this.registry.plan(s, key);
    const now = this.clock.now();
    for (const c of plan.counters) if (c.tracker !== undefined) refreshPeriod(c, now);
    const states = await this.guardStore('read', () => this.store.read(plan.counters.map((c) => c.key)));
    const wins = await this.guardStore('readWindows', () =>
      this.store.readWindows(
        plan.windows.map((w) => ({ key: w.key, windowMs: w.windowMs, limit: w.max, buckets: w.buckets, mode: w.mode })),
      ),
    );
    const out: LimitStatus[] = [];
    plan.counters.forEach((c, i) => {
      const st = states[i]!;
      for (const l of c.limits) {
        out.push(status(l, c.scope, st.used, st.held, c.tracker === undefined ? undefined : c.tracker.at(now)));
      }
    });
    plan.windows.forEach((w, i) => {
      out.push(status(w.limit, w.scope, BigInt(wins[i]!.count), 0n, undefined));
    });
    return out;
  }

  /** Read the ledger, oldest first, a page at a time. */
  async queryLedger(query: LedgerQuery = {}): Promise<LedgerPage> {
    const q = parseInput(ledgerQuerySchema, query, 'query') as LedgerQuery;
    if (q.scope !== undefined) prepareScope(q.scope, 'query.scope');
    return this.guardStore('queryLedger', () => this.store.queryLedger(q));
  }

  /** Wait until every charge on its way to the store (`settle: 'background'`) has reached it. */
  async flush(): Promise<void> {
    while (this.settling.size > 0) await Promise.all(this.settling);
  }

  /**
   * Stop: wait for charges on their way and for the work they started in the background
   * (budget alerts: their record in the store and their channels), remove listeners and close
   * the store.
   */
  async close(): Promise<void> {
    await this.flush();
    try {
      await this.budgets.idle();
    } catch (error) {
      // A store that cannot take the registry's last writes is reported; the store is still closed.
      this.events.emit('store.error', { operation: 'budgets.registry', error, at: this.clock.now() });
    }
    this.budgets.stop();
    this.tracker.close();
    this.events.clear();
    await this.store.close();
  }

  // ---- the budget coordinator's view of the engine -------------------------------------

  /** The `BudgetHost` that `gov.budgets` drives the engine through: money budgets, their status, the ledger, events. */
  /**
   * Analytics prices tokens with `gov.costs` on its integer settle path (a cached lookup,
   * no Decimal), and splits compute cost by the catalog's compute prices.
   */
  private analyticsPricing(): AnalyticsPricing {
    const costs = this.costs;
    const units = (model: string, u: AnalyticsTokenUsage, batch: boolean): bigint | undefined => {
      if (!costs.has(model)) return undefined;
      const reported = new Map<string, bigint>([
        ['inputTokens', u.inputTokens],
        ['outputTokens', u.outputTokens],
        ['cachedInputTokens', u.cachedInputTokens],
        ['cacheWriteTokens', u.cacheWriteTokens],
        ['reasoningTokens', u.reasoningTokens],
      ]);
      try {
        return costs.priceReport(model, undefined, reported, batch)?.units;
      } catch {
        return undefined; // in another currency without an exchange rate: unpriced, never mixed
      }
    };
    // Per unit of each meter (at 12 decimals), from the price of an hour (a GB for bytes): only the ratios matter to the split.
    const perUnit = (usage: Parameters<CostCalculator['priceCompute']>[0], units: number): string | undefined => {
      try {
        return costs.priceCompute(usage).total.div(units).toDecimalPlaces(12).toFixed();
      } catch {
        return undefined; // compute prices in another currency: analytics keeps its default weights
      }
    };
    return {
      cost: (model, u) => units(model, u, false),
      batchCost: (model, u) => {
        const batch = units(model, u, true);
        return batch === undefined || batch === units(model, u, false) ? undefined : batch;
      },
      resourceRate: (meter) =>
        meter === 'cpuSeconds'
          ? perUnit({ cpuSeconds: 3600 }, 3600)
          : meter === 'memoryGbSeconds'
            ? perUnit({ memoryGbSeconds: 3600 }, 3600)
            : meter === 'gpuSeconds'
              ? perUnit({ gpuSeconds: 3600 }, 3600)
              : meter === 'networkBytes'
                ? perUnit({ networkBytes: 1e9 }, 1e9)
                : undefined,
    };
  }

  private budgetHost(): BudgetHost {
    const budget = (l: LimitInfo | undefined): HostBudgetInfo | undefined => (l?.meter === 'cost' ? l : undefined);
    return {
      store: this.store,
      clock: this.clock,
      currency: this.currency,
      maxWaitMs: this.maxWaitMs,
      setBudget: (spec, change) => this.setBudget(spec, change),
      removeBudget: (id, change) => budget(this.getLimit(id)) !== undefined && this.removeLimit(id, change),
      getBudget: (id) => budget(this.getLimit(id)),
      loadBudget: (spec) => {
        const l = this.compile(budgetToLimit(spec, 'budget'), 'budget');
        this.registry.set(l);
        return info(l);
      },
      unloadBudget: (id) => this.registry.remove(id) !== undefined,
      status: async (scope) => (await this.getStatus(scope)).filter((s) => s.meter === 'cost'),
      queryLedger: (query) => this.queryLedger(query),
      on: (event, listener) => this.events.on(event, listener as (payload: GovernorEvents[typeof event]) => unknown),
      emit: (event, payload) => this.events.emit(event, payload as GovernorEvents[typeof event]),
    };
  }

  // ---- helpers --------------------------------------------------------------------------

  /**
   * The id of `a`'s call as prefix and number, for the MemoryStore to keep it as a number (see
   * LedgerRing); undefined before it has one. One object, filled again by each call.
   */
  private idOf(a: Admission): CallId | undefined {
    if (a.idSeq < 0) return undefined;
    this.callId.seq = a.idSeq;
    return this.callId;
  }

  private nextId(): string {
    // seq in base 36 is its block (seq / 36) in base 36 plus one digit: the block's text is
    // kept, as toString(36) is a runtime call costing about as much as a clock read.
    const seq = ++this.seq;
    const block = Math.floor(seq / 36);
    if (block !== this.idBlock) {
      this.idBlock = block;
      this.idBlockText = block === 0 ? this.idPrefix : this.idPrefix + block.toString(36);
    }
    return this.idBlockText + BASE36[seq - block * 36];
  }

  private storeFailure(operation: string, e: unknown): never {
    if (e instanceof GovernorError) throw e;
    this.events.emit('store.error', { operation, error: e, at: this.clock.now() });
    throw new StoreUnavailableError(operation, e);
  }

  /** The ledger entry of a governed call: one builder for refusals, settles, failures and releases. */
  private callEntry(
    p: PreparedRequest,
    id: string,
    at: number,
    status: LedgerEntry['status'],
    error: unknown,
    usage: LedgerEntry['usage'] = {},
    cost = '0',
    model = p.model,
    estimated?: boolean,
    durationMs?: number,
    pricing?: object,
  ): LedgerEntry {
    return {
      id,
      at,
      kind: 'call',
      status,
      scope: p.scope,
      name: p.name,
      provider: p.provider,
      model,
      usage,
      cost,
      currency: this.currency,
      estimated,
      durationMs,
      code: error === undefined ? undefined : errorCode(error),
      message: error === undefined ? undefined : errorMessage(error),
      // Which prices a cost used (source, version, effective date) rides on the entry.
      data: pricing === undefined ? p.metadata : this.pricedData(p.metadata, pricing),
    };
  }

  /** Whether the ledger keeps a call entry of this status (audit records are always kept). */
  private keeps(status: LedgerEntry['status']): boolean {
    return this.ledgerMode === 'all' || (this.ledgerMode === 'failures' && (status === 'refused' || status === 'error'));
  }

  /**
   * Append a ledger entry without waiting; a store fault is reported as `store.error`, never
   * thrown. `call`: built by callEntry, which the default store may keep by field.
   */
  private appendLedger(entry: LedgerEntry, call = false, id?: CallId): void {
    this.analytics.record(entry);
    const m = this.memory;
    if (call && m !== undefined && m.appendLedger === MEMORY_APPEND) return m.appendCall(entry, id);
    const fault = (e: unknown): void => this.events.emit('store.error', { operation: 'appendLedger', error: e, at: this.clock.now() });
    try {
      const r = this.store.appendLedger([entry]);
      if (isPromiseLike(r)) Promise.resolve(r).then(undefined, fault);
    } catch (e) {
      fault(e);
    }
  }

  private async guardStore<T>(operation: string, f: () => T | Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      return this.storeFailure(operation, e);
    }
  }
}

/** Whether a commit leaving `used` on `c` may reach a threshold or pass a hard cap of one of its limits (see quietBelow). */
function thresholdsDue(c: PlanCounter, used: bigint): boolean {
  const ls = c.limits;
  for (let k = 0; k < ls.length; k++) if (used >= (ls[k] as CompiledLimit).quietBelow) return true;
  return false;
}

/** Where a settle notes the units of a reported usage record (see noteUnits, unitsOf). */
interface UnitsScratch {
  layout: UsageLayout | undefined;
  readonly meters: string[];
  readonly scales: number[];
  readonly values: number[];
  cost: number;
}

/** The largest integer a double holds exactly (2^53 - 1). */
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/** Input plus output tokens: what token rate limits count, the way providers count them. */
function tokensOf(units: ReadonlyMap<string, bigint>): bigint {
  return (units.get('inputTokens') ?? 0n) + (units.get('outputTokens') ?? 0n);
}

// A MemoryStore whose reserve/commit were replaced (a spy, a subclass) is called through them.
const MEMORY_RESERVE = MemoryStore.prototype.reserve;
const MEMORY_COMMIT = MemoryStore.prototype.commit;
const MEMORY_RELEASE = MemoryStore.prototype.release;
const MEMORY_APPEND = MemoryStore.prototype.appendLedger;

const NO_UNITS: ReadonlyMap<string, bigint> = new Map();
const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';
/** Call counts are never "estimated": a call is one call. */
const CALL_COUNTS: ReadonlySet<string> = new Set(['requests', 'llmCalls', 'toolCalls', 'agentHops', 'iterations']);

/** What a settle charged. The Decimal is built on first read: the guard() path never reads it. */
class Settled implements SettleResult {
  private decimal: Decimal | undefined;
  constructor(
    private readonly units: bigint,
    readonly currency: string,
    readonly usage: { readonly [meter: string]: string },
    readonly estimated: boolean,
    readonly leaseExpired: boolean,
    readonly entry: LedgerEntry,
  ) {}

  get cost(): Decimal {
    return (this.decimal ??= unitsToDecimal(this.units));
  }

  get durationMs(): number {
    return this.entry.durationMs as number;
  }

  toJSON(): object {
    return {
      cost: this.entry.cost,
      currency: this.currency,
      usage: this.usage,
      estimated: this.estimated,
      leaseExpired: this.leaseExpired,
      durationMs: this.durationMs,
      entry: this.entry,
    };
  }
}

function refreshPeriod(c: PlanCounter, now: number): void {
  const inst = (c.tracker as NonNullable<PlanCounter['tracker']>).at(now);
  if (inst.id === c.periodId) return;
  c.periodId = inst.id;
  c.key = `${c.base}@${inst.id}`;
  c.periodStart = inst.startMs;
  c.periodEnd = inst.endMs;
  // Keep a finished period readable for one more period, then let the store drop it.
  c.expiresAt = inst.endMs + (inst.endMs - inst.startMs);
}

function status(
  l: CompiledLimit,
  scope: Scope,
  used: bigint,
  held: bigint,
  period: { id: string; startMs: number; endMs: number } | undefined,
): LimitStatus {
  const scale = l.def.scale;
  const free = l.max - used - held;
  let reached: number | undefined;
  l.thresholdUnits.forEach((t, i) => {
    if (used >= t) reached = l.thresholds[i];
  });
  return {
    limit: l.id,
    meter: l.meter,
    scope,
    enforcement: l.hard ? 'hard' : 'soft',
    max: unitsToDecimal(l.max, scale),
    used: unitsToDecimal(used, scale),
    held: unitsToDecimal(held, scale),
    remaining: unitsToDecimal(free > 0n ? free : 0n, scale),
    usagePercent: l.max === 0n ? (used > 0n ? Infinity : 0) : Number((used * 10_000n) / l.max) / 100,
    thresholdReached: reached,
    isOver: used > l.max,
    currency: l.currency,
    period,
    windowMs: l.windowMs,
  };
}

function info(l: CompiledLimit): LimitInfo {
  return {
    id: l.id,
    scope: l.pattern,
    meter: l.meter,
    max: formatUnits(l.max, l.def.scale),
    enforcement: l.hard ? 'hard' : 'soft',
    period: l.period,
    timeZone: l.timeZone,
    windowMs: l.windowMs,
    thresholds: l.thresholds,
    currency: l.currency,
  };
}

function errorCode(e: unknown): string {
  if (e instanceof GovernorError) return e.code;
  if (e instanceof Error) return e.name;
  return typeof e;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Create a governor. See {@link GovernorOptions}; every option is optional. */
export function createGovernor(options: GovernorOptions = {}): Governor {
  return new Governor(options);
}

export type { MoneyInput };

/** Wrap a store so that an outage admits against local counters (`onStoreUnavailable: 'failOpen'`). */
function failOpen(store: Store, clock: Clock, onError: (operation: string, error: unknown) => void): Store {
  return store instanceof FailOpenStore ? store : new FailOpenStore(store, { clock, onError });
}
