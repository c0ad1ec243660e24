/**
 * Seed 002's `ResourceTracker` (the kernel's cgroups), with seed 000's resources on the
 * same counters: per-process quotas, usage, elapsed time, remaining budget, system usage,
 * soft and hard limits, and usage prediction.
 *
 * A pid's quota lives here, compiled to integer caps once; its usage lives in the Store,
 * one counter per field under `tk|<pid>|`, changed only through the store's atomic
 * primitives (`add` here, `reserve`/`commit` in the governor's pipeline), so processes
 * sharing a store count one usage against one quota.
 */
import type { Decimal } from 'decimal.js';
import { z } from 'zod';
import {
  BUILTIN_METERS,
  formatUnits,
  GovernorError,
  InvalidInputError,
  isPromiseLike,
  MeterRegistry,
  parseInput,
  scopeKey,
  StoreUnavailableError,
  systemClock,
  toUnits,
  unitsToDecimal,
  validateId,
  type Clock,
  type GovernorErrorCode,
  type MoneyInput,
  type Scope,
} from '../core/index.js';
import { MemoryStore, type CounterState, type LedgerEntry, type Store } from '../storage/index.js';
import { linkSignals, runDeadline, type Deadline } from './deadline.js';
import { ResourceLimitError } from './errors.js';
import type { TrackerEventListener, TrackerEvents } from './events.js';
import { FIELD_INDEX, FIELDS, meterKey, pidPrefix, SUFFIX, type CounterField } from './fields.js';
import { UsagePredictor, type OperationFeatures, type PredictionOptions, type UsagePrediction } from './prediction.js';
import { compileQuota, DEFAULT_RESOLVED, type CompiledQuota, type QuotaCap, type ResolvedQuota, type ResourceQuota } from './quota.js';

/** A process's usage (seed 002's `ResourceUsage`, with seed 000's resources). */
export interface ResourceUsage {
  readonly llmCalls: number;
  readonly toolCalls: number;
  readonly agentHops: number;
  readonly iterations: number;
  readonly tokensIn: number;
  readonly tokensOut: number;
  /** Seconds since allocation (monotonic clock). */
  readonly elapsedSeconds: number;
  /** Money spent, in the tracker's currency. */
  readonly money: Decimal;
  readonly apiCalls: number;
  /** Minutes since allocation (seed 000's `time_minutes`). */
  readonly timeMinutes: number;
  readonly cpuHours: number;
  readonly memoryGbHours: number;
  readonly storageGb: number;
  /** User meters, by name. */
  readonly meters: { readonly [meter: string]: number };
}

/** What `recordUsage` adds. Counts are whole numbers; `money` and the compute fields are decimals. */
export interface UsageInput {
  readonly llmCalls?: number | undefined;
  readonly toolCalls?: number | undefined;
  readonly agentHops?: number | undefined;
  readonly iterations?: number | undefined;
  readonly tokensIn?: number | undefined;
  readonly tokensOut?: number | undefined;
  readonly money?: MoneyInput | undefined;
  readonly apiCalls?: number | undefined;
  readonly cpuHours?: number | string | undefined;
  readonly memoryGbHours?: number | string | undefined;
  readonly storageGb?: number | string | undefined;
  /** User meters (declared with the governor's or tracker's `meters` option). */
  readonly meters?: { readonly [meter: string]: number | string | undefined } | undefined;
}

/** What one process has left (seed `get_remaining_budget`): never negative; open reservations count as used. */
export interface RemainingBudget {
  readonly llmCalls: number;
  readonly toolCalls: number;
  readonly agentHops: number;
  readonly iterations: number;
  /** Whole seconds until the timeout. */
  readonly timeSeconds: number;
  readonly tokensIn?: number;
  readonly tokensOut?: number;
  readonly money?: Decimal;
  readonly apiCalls?: number;
  readonly timeMinutes?: number;
  readonly cpuHours?: number;
  readonly memoryGbHours?: number;
  readonly storageGb?: number;
  readonly meters?: { readonly [meter: string]: number };
}

/** Seed `get_system_usage`. */
export interface SystemUsage {
  /** Pids tracked now. */
  readonly totalProcesses: number;
  /** Tracked pids still within every quota field (`checkQuota` is null). */
  readonly activeProcesses: number;
  /** Pids released since the tracker started. */
  readonly releasedProcesses: number;
  /** Totals over tracked and released pids. */
  readonly systemLlmCalls: number;
  readonly systemToolCalls: number;
  readonly systemAgentHops: number;
  readonly systemIterations: number;
  readonly systemTokensIn: number;
  readonly systemTokensOut: number;
  readonly systemMoney: Decimal;
  /** Tracked pids per `checkQuota` reason. */
  readonly exceeded: { readonly [reason: string]: number };
}

/** One entry of seed 000's soft-limit check. */
export interface SoftLimitWarning {
  readonly resource: string;
  /** used / allocated. */
  readonly utilization: number;
  /** allocated - used (money as a Decimal). */
  readonly remaining: number | Decimal;
}

/** What an operation is estimated to use, per resource (for the hard-limit check). */
export interface ResourceEstimate {
  readonly llmCalls?: number | undefined;
  readonly toolCalls?: number | undefined;
  readonly agentHops?: number | undefined;
  readonly iterations?: number | undefined;
  readonly tokensIn?: number | undefined;
  readonly tokensOut?: number | undefined;
  readonly money?: MoneyInput | undefined;
  readonly apiCalls?: number | undefined;
  readonly cpuHours?: number | string | undefined;
  readonly memoryGbHours?: number | string | undefined;
  readonly storageGb?: number | string | undefined;
  readonly timeMinutes?: number | undefined;
  readonly meters?: { readonly [meter: string]: number | string | undefined } | undefined;
}

/** The answer of seed 000's hard-limit check: a refusal is data here. */
export type HardLimitCheck =
  | { readonly allowed: true }
  | {
      readonly allowed: false;
      readonly code: GovernorErrorCode;
      readonly resource: string;
      /** The estimate of that resource. */
      readonly required: number | Decimal;
      /** allocated - used, never negative. */
      readonly available: number | Decimal;
      readonly allocated: number | Decimal;
      readonly alternatives: readonly string[];
    };

/** What `alternatives` is asked about. */
export interface AlternativesContext {
  readonly pid: string;
  readonly resource: string;
  readonly required: string;
  readonly available: string;
  readonly operationType: string | undefined;
}

/** Compute usage handed to `priceCompute`. */
export interface ComputeSample {
  readonly cpuPercent: number;
  readonly memoryGb: number;
  readonly intervalMs: number;
  /** The CPU hours and memory GB-hours the sample adds. */
  readonly cpuHours: Decimal;
  readonly memoryGbHours: Decimal;
}

/** Options of allocate. */
export interface AllocateOptions {
  /** The kind of operation the pid runs: its final usage becomes a sample of that type's history at release. */
  readonly operationType?: string | undefined;
  /** Its features (complexity), recorded with the sample. */
  readonly features?: OperationFeatures | undefined;
}

/** Options of {@link ResourceTracker}. Every field is optional. */
export interface ResourceTrackerOptions {
  /** Where usage counters live (default: a new MemoryStore on `clock`). */
  readonly store?: Store | undefined;
  readonly clock?: Clock | undefined;
  /** Which scope level names the pid in `gov.guard()`: `'agent'` (default) or `'execution'`. */
  readonly level?: 'agent' | 'execution' | undefined;
  /** The quota of pids allocated without one and of auto-created pids (default: seed 002's). */
  readonly defaultQuota?: ResourceQuota | undefined;
  /** Share of a quota field at which `warning` fires, once per field (default 0.8). */
  readonly warnAt?: number | undefined;
  /** Currency of `money` (default `'USD'`). */
  readonly currency?: string | undefined;
  /** User meters: the governor's registry, or definitions as in the governor's `meters` option. */
  readonly meters?: MeterRegistry | Readonly<Record<string, { kind?: 'count' | 'quantity'; scale?: number }>> | undefined;
  /** Prices a compute sample (seed 000's VM cost); without it `recordComputeUsage` charges no money. */
  readonly priceCompute?: ((sample: ComputeSample) => MoneyInput) | undefined;
  /** Baselines and history of `predictUsage`. */
  readonly prediction?: PredictionOptions | undefined;
  /** Suggestions a hard-limit refusal carries: by resource, or computed. */
  readonly alternatives?: Readonly<Record<string, readonly string[]>> | ((ctx: AlternativesContext) => readonly string[]) | undefined;
  /** Told of every `warning`, `violation` and `usage` event. */
  readonly onEvent?: TrackerEventListener | undefined;
  /** Where a quota's `rateLimit` goes (the governor hands it to `gov.limiter`). */
  readonly rateLimits?: { set(pid: string, config: Readonly<Record<string, unknown>>): void; remove(pid: string): void } | undefined;
  /** The name `invalid_input` errors give these options (default `'options'`). */
  readonly field?: string | undefined;
}

/** A counter of the pipeline's admission (the governor reads it as one of its plan counters). */
export interface TrackerCounter {
  readonly base: string;
  readonly meter: string;
  readonly scope: Scope;
  readonly scopeKey: string;
  readonly limits: readonly QuotaCap[];
  readonly cap: bigint | undefined;
  readonly capLimit: QuotaCap | undefined;
  readonly tracker: undefined;
  periodId: string;
  key: string;
  expiresAt: number | undefined;
  periodStart: number;
  periodEnd: number;
}

/** What a tracked pid adds to a governed call's admission. */
export interface TrackerAdmission {
  readonly pid: string;
  /** Counters to reserve and charge, tightest first. */
  readonly counters: readonly TrackerCounter[];
  /** Set when the call is refused before any store operation: its time is up or it asks for more tokens than one call may. */
  readonly refused: { readonly counter: TrackerCounter; readonly amount: bigint; readonly used: bigint } | undefined;
  /** The limiter user whose limits apply (the pid, when its quota has a `rateLimit`). */
  readonly rateLimitUser: string | undefined;
  /** @internal */
  readonly state: unknown;
}

interface PidState {
  quota: CompiledQuota;
  readonly prefix: string;
  /** Monotonic ms at allocation. */
  readonly started: number;
  /** Bit 1: soft timeout warned; bit 2: timeout violation emitted. */
  flags: number;
  deadline: Deadline | undefined;
  /** Admission counters by call kind, built on first use. */
  plans: (TrackerCounter[] | undefined)[] | undefined;
  readonly operationType: string | undefined;
  readonly complexity: number | undefined;
}

const SOFT_WARNED = 1;
const TIMED_OUT = 2;
const KIND_FIELD: Readonly<Record<string, number>> = { call: -1, llm: 0, tool: 1, agentHop: 2, iteration: 3 };
const KIND_SLOT: Readonly<Record<string, number>> = { call: 0, llm: 1, tool: 2, agentHop: 3, iteration: 4 };
/** Fields the pipeline charges (the others only the tracker's own methods record). */
const PIPELINE_FIELDS = [4, 5, 6, 10];
const FIELD_NAMES = FIELDS.map((f) => f.name).join(', ');
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

const optionsSchema = z
  .object({
    store: z.custom<Store>((v) => v !== null && typeof v === 'object' && typeof (v as Store).add === 'function').optional(),
    clock: z.custom<Clock>((v) => v !== null && typeof v === 'object' && typeof (v as Clock).monotonic === 'function').optional(),
    level: z.enum(['agent', 'execution']).optional(),
    defaultQuota: z.unknown().optional(),
    warnAt: z.number().gt(0).max(1).optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3,8}$/, 'Expected an upper-case currency code such as USD')
      .optional(),
    meters: z.unknown().optional(),
    priceCompute: z.function().optional(),
    prediction: z.unknown().optional(),
    alternatives: z.union([z.function(), z.record(z.string(), z.array(z.string()))]).optional(),
    onEvent: z.function().optional(),
    rateLimits: z
      .custom<{ set: unknown; remove: unknown }>(
        (v) =>
          v !== null &&
          typeof v === 'object' &&
          typeof (v as { set: unknown }).set === 'function' &&
          typeof (v as { remove: unknown }).remove === 'function',
        { message: 'Expected { set(pid, config), remove(pid) }' },
      )
      .optional(),
    field: z.string().optional(),
  })
  .strict();

const LEDGER_PREFIX = globalThis.crypto.randomUUID().slice(0, 8);

/** Per-process quotas and usage over a Store. */
export class ResourceTracker {
  readonly store: Store;
  readonly clock: Clock;
  /** The scope level that names a pid in `gov.guard()`. */
  readonly level: 'agent' | 'execution';
  readonly currency: string;
  private readonly warnAt: number;
  private readonly meters: MeterRegistry;
  private readonly userMeters: readonly string[];
  private readonly defaults: CompiledQuota;
  private readonly predictor: UsagePredictor;
  private readonly priceCompute: ((sample: ComputeSample) => MoneyInput) | undefined;
  private readonly alternatives: ResourceTrackerOptions['alternatives'];
  private readonly onEvent: TrackerEventListener | undefined;
  private readonly rateLimits: ResourceTrackerOptions['rateLimits'];
  private readonly pids = new Map<string, PidState>();
  /** Usage of released pids (by FIELDS index), so system totals keep it. */
  private readonly releasedTotals: bigint[] = FIELDS.map(() => 0n);
  private released = 0;
  private seq = 0;

  constructor(options: ResourceTrackerOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidInputError('options', 'must be an object', options);
    const field = typeof options.field === 'string' ? options.field : 'options';
    const o = parseInput(optionsSchema, options, field);
    this.clock = o.clock ?? systemClock;
    this.store = o.store ?? new MemoryStore({ clock: this.clock });
    this.level = o.level ?? 'agent';
    this.warnAt = o.warnAt ?? 0.8;
    this.currency = o.currency ?? 'USD';
    this.meters =
      o.meters instanceof MeterRegistry
        ? o.meters
        : new MeterRegistry((o.meters ?? {}) as Record<string, { kind?: 'count' | 'quantity'; scale?: number }>);
    this.userMeters = this.meters.names().filter((n) => !(n in BUILTIN_METERS));
    this.defaults = compileQuota(o.defaultQuota, `${field}.defaultQuota`, DEFAULT_RESOLVED, this.ctx());
    this.predictor = new UsagePredictor((o.prediction ?? {}) as PredictionOptions, `${field}.prediction`);
    this.priceCompute = options.priceCompute;
    this.alternatives = options.alternatives;
    this.onEvent = options.onEvent;
    this.rateLimits = options.rateLimits;
  }

  // ---- quota management -------------------------------------------------------------

  /**
   * Start tracking `pid` with `quota` (merged over the default quota). False if it is
   * already tracked (its quota is left as it is). Usage already in the store for the pid
   * (another process sharing the store tracks it too) is kept: it is one process's usage.
   */
  allocate(pid: string, quota?: ResourceQuota, options?: AllocateOptions): boolean {
    validateId(pid, 'pid');
    const compiled = quota === undefined ? this.defaults : compileQuota(quota, 'quota', this.defaults.quota, this.ctx());
    let operationType: string | undefined;
    let complexity: number | undefined;
    if (options !== undefined) {
      if (options === null || typeof options !== 'object') throw new InvalidInputError('options', 'must be an object', options);
      for (const k of Object.keys(options))
        if (k !== 'operationType' && k !== 'features')
          throw new InvalidInputError(`options.${k}`, 'is not a known option', (options as Record<string, unknown>)[k]);
      if (options.operationType !== undefined) operationType = validateId(options.operationType, 'options.operationType');
      if (options.features !== undefined) complexity = this.predictor.complexityOf(options.features, 'options.features');
    }
    if (this.pids.has(pid)) return false;
    if (compiled.rateLimit !== undefined) this.rateLimits?.set(pid, compiled.rateLimit);
    this.track(pid, compiled, operationType, complexity);
    return true;
  }

  /**
   * Stop tracking `pid` and delete its counters. Resolves with its final usage (also
   * emitted as a `usage` event and appended to the ledger, so nothing is lost), or null
   * when it was not tracked. Calls still running for the pid are charged when they settle.
   */
  release(pid: string): Promise<ResourceUsage | null> {
    return attempt(() => {
      validateId(pid, 'pid');
      const st = this.pids.get(pid);
      if (st === undefined) return null;
      this.pids.delete(pid);
      if (st.deadline !== undefined) st.deadline.stop.abort();
      if (st.quota.rateLimit !== undefined) this.rateLimits?.remove(pid);
      return then(this.readAll(st), (states) => {
        const usage = this.usageOf(st, states);
        for (let i = 0; i < FIELDS.length; i++) this.releasedTotals[i]! += (states[i] as CounterState).used;
        this.released++;
        const keys = SUFFIX.map((s) => st.prefix + s);
        for (const m of this.userMeters) keys.push(meterKey(st.prefix, m));
        if (st.operationType !== undefined) {
          this.predictor.record(
            st.operationType,
            {
              money: (states[FIELD_INDEX.money] as CounterState).used,
              timeMinutes: usage.timeMinutes,
              apiCalls: usage.apiCalls,
              cpuHours: usage.cpuHours,
            },
            st.complexity ?? this.predictor.complexityOf(undefined),
          );
        }
        return then(
          this.guardStore('delete', () => this.store.delete(keys)),
          () => {
            this.emitRelease(pid, st, usage, states);
            return usage;
          },
        );
      });
    });
  }

  /** The quota of `pid` (every seed 002 field filled in), or null when it is not tracked. */
  getQuota(pid: string): ResolvedQuota | null {
    validateId(pid, 'pid');
    return this.pids.get(pid)?.quota.quota ?? null;
  }

  /**
   * Change some fields of a tracked pid's quota (`{ maxLlmCalls: 20, timeoutSeconds: 600 }`).
   * Validated first: an unknown field or bad value throws `invalid_input` and the quota is
   * unchanged. False when the pid is not tracked.
   */
  adjustQuota(pid: string, adjustments: ResourceQuota): boolean {
    validateId(pid, 'pid');
    if (adjustments === null || typeof adjustments !== 'object' || Array.isArray(adjustments))
      throw new InvalidInputError('adjustments', 'must be an object of quota fields', adjustments);
    const st = this.pids.get(pid);
    const compiled = compileQuota(adjustments, 'adjustments', st?.quota.quota ?? this.defaults.quota, this.ctx());
    if (st === undefined) return false;
    if (adjustments.rateLimit !== undefined && compiled.rateLimit !== undefined) this.rateLimits?.set(pid, compiled.rateLimit);
    const before = st.quota;
    st.quota = compiled;
    st.plans = undefined;
    if (compiled.deadlineMs !== before.deadlineMs || compiled.softMs !== before.softMs) this.rearm(pid, st);
    return true;
  }

  /** True when `pid` is tracked. */
  isTracked(pid: string): boolean {
    validateId(pid, 'pid');
    return this.pids.has(pid);
  }

  /** The tracked pids, in allocation order. */
  pidsTracked(): string[] {
    return [...this.pids.keys()];
  }

  // ---- usage ------------------------------------------------------------------------

  /**
   * Add usage to `pid` (tracking it with the default quota if it is not yet) and resolve
   * with its usage after. A quota field reaching the warning share emits `warning` (once:
   * only the one addition that crosses it does); passing a hard cap emits `violation`.
   * Bad input throws `invalid_input` naming the field, and nothing is recorded.
   */
  recordUsage(pid: string, usage: UsageInput = {}): Promise<ResourceUsage> {
    return attempt(() => {
      validateId(pid, 'pid');
      const amounts = this.parseUsage(usage, 'usage');
      return this.apply(pid, amounts.fields, amounts.meters);
    });
  }

  /** Seed 000's `record_api_call`: one API call to `service` costing `cost`, with its tokens. */
  recordApiCall(
    pid: string,
    call: { service: string; cost?: MoneyInput; tokens?: { input?: number; output?: number } },
  ): Promise<ResourceUsage> {
    return attempt(() => {
      validateId(pid, 'pid');
      if (call === null || typeof call !== 'object') throw new InvalidInputError('call', 'must be an object', call);
      for (const k of Object.keys(call))
        if (k !== 'service' && k !== 'cost' && k !== 'tokens')
          throw new InvalidInputError(`call.${k}`, 'is not a known field (service, cost, tokens)', (call as Record<string, unknown>)[k]);
      const service = validateId(call.service, 'call.service');
      const fields = FIELDS.map(() => 0n);
      fields[FIELD_INDEX.apiCalls] = 1n;
      if (call.cost !== undefined) fields[FIELD_INDEX.money] = toUnits(call.cost, 'call.cost', { roundUp: true });
      const t = call.tokens;
      if (t !== undefined) {
        if (t === null || typeof t !== 'object') throw new InvalidInputError('call.tokens', 'must be { input, output }', t);
        for (const k of Object.keys(t))
          if (k !== 'input' && k !== 'output')
            throw new InvalidInputError(`call.tokens.${k}`, 'is not a known field (input, output)', (t as Record<string, unknown>)[k]);
        if (t.input !== undefined) fields[FIELD_INDEX.tokensIn] = wholeUnits(t.input, 'call.tokens.input');
        if (t.output !== undefined) fields[FIELD_INDEX.tokensOut] = wholeUnits(t.output, 'call.tokens.output');
      }
      return then(this.apply(pid, fields, undefined), (u) => {
        this.appendLedger({
          id: this.nextId(),
          at: this.clock.now(),
          kind: 'tracker.apiCall',
          status: 'ok',
          scope: this.scopeOf(pid),
          provider: service,
          usage: { apiCalls: '1', tokensIn: String(fields[FIELD_INDEX.tokensIn]), tokensOut: String(fields[FIELD_INDEX.tokensOut]) },
          cost: formatUnits(fields[FIELD_INDEX.money] as bigint),
          currency: this.currency,
          data: { pid, service },
        });
        return u;
      });
    });
  }

  /**
   * Seed 000's `record_compute_usage`: `cpuPercent` of one core and `memoryGb` held for
   * `intervalMs` (default one minute, as in the seed) add CPU hours and memory GB-hours,
   * and money when a `priceCompute` function is configured.
   */
  recordComputeUsage(pid: string, sample: { cpuPercent: number; memoryGb: number; intervalMs?: number }): Promise<ResourceUsage> {
    return attempt(() => {
      validateId(pid, 'pid');
      if (sample === null || typeof sample !== 'object') throw new InvalidInputError('sample', 'must be an object', sample);
      for (const k of Object.keys(sample))
        if (k !== 'cpuPercent' && k !== 'memoryGb' && k !== 'intervalMs')
          throw new InvalidInputError(
            `sample.${k}`,
            'is not a known field (cpuPercent, memoryGb, intervalMs)',
            (sample as Record<string, unknown>)[k],
          );
      const cpuMicro = toUnits(nonNegNumber(sample.cpuPercent, 'sample.cpuPercent'), 'sample.cpuPercent', { scale: 6, roundUp: true });
      const memMicro = toUnits(nonNegNumber(sample.memoryGb, 'sample.memoryGb'), 'sample.memoryGb', { scale: 6, roundUp: true });
      const intervalMs = sample.intervalMs ?? 60_000;
      if (!Number.isSafeInteger(intervalMs) || intervalMs <= 0)
        throw new InvalidInputError('sample.intervalMs', 'must be a positive whole number of ms', sample.intervalMs);
      const ms = BigInt(intervalMs);
      // Nano-hours: percent/100 × ms/3.6e6 h × 1e9 = percentMicro × ms / 360,000; GB × ms/3.6e6 × 1e9 = GBMicro × ms / 3,600.
      const cpu = ceilDivBig(cpuMicro * ms, 360_000n);
      const mem = ceilDivBig(memMicro * ms, 3_600n);
      const fields = FIELDS.map(() => 0n);
      fields[FIELD_INDEX.cpuHours] = cpu;
      fields[FIELD_INDEX.memoryGbHours] = mem;
      if (this.priceCompute !== undefined) {
        const price = this.priceCompute({
          cpuPercent: sample.cpuPercent,
          memoryGb: sample.memoryGb,
          intervalMs,
          cpuHours: unitsToDecimal(cpu, 9),
          memoryGbHours: unitsToDecimal(mem, 9),
        });
        fields[FIELD_INDEX.money] = toUnits(price, 'priceCompute() result', { roundUp: true });
      }
      return this.apply(pid, fields, undefined);
    });
  }

  /** The usage of `pid`, or null when it is not tracked. */
  getUsage(pid: string): Promise<ResourceUsage | null> {
    return attempt(() => {
      validateId(pid, 'pid');
      const st = this.pids.get(pid);
      if (st === undefined) return null;
      return then(this.readAll(st), (states) => this.usageOf(st, states));
    });
  }

  /** The usage of every tracked pid, by pid. */
  async getAllUsage(): Promise<Record<string, ResourceUsage>> {
    const entries = [...this.pids];
    const usages = await Promise.all(entries.map(([, st]) => then(this.readAll(st), (s) => this.usageOf(st, s))));
    return Object.fromEntries(entries.map(([pid], i) => [pid, usages[i] as ResourceUsage]));
  }

  /**
   * Seconds since `pid` was allocated, or null when it is not tracked. Passing the soft
   * timeout emits its `warning` (once), passing the timeout its `violation` (once).
   */
  updateElapsedTime(pid: string): number | null {
    validateId(pid, 'pid');
    const st = this.pids.get(pid);
    if (st === undefined) return null;
    return this.observe(pid, st) / 1000;
  }

  // ---- enforcement ------------------------------------------------------------------

  /**
   * Null when `pid` may go on, else the first reason in the seed's order:
   * `max_llm_calls_exceeded`, `max_tool_calls_exceeded`, `max_agent_hops_exceeded`,
   * `max_iterations_exceeded`, `timeout_exceeded`; then the cumulative token caps
   * (`max_input_tokens_exceeded`, `max_output_tokens_exceeded`) and seed 000's resources
   * (`budget_exceeded` for money, `limit_exceeded` for the others). A field counts as
   * exceeded once its cap is reached: no further call would fit. Untracked pids: null.
   */
  checkQuota(pid: string): Promise<string | null> {
    return attempt(() => {
      validateId(pid, 'pid');
      const st = this.pids.get(pid);
      if (st === undefined) return null;
      const elapsedMs = this.observe(pid, st);
      const q = st.quota;
      const keys: string[] = [];
      const caps: QuotaCap[] = [];
      for (let i = 0; i < FIELDS.length; i++) {
        const cap = q.caps[i];
        if (cap !== undefined) {
          keys.push(st.prefix + SUFFIX[i]);
          caps.push(cap);
        }
      }
      for (const [m, cap] of q.meterCaps) {
        keys.push(meterKey(st.prefix, m));
        caps.push(cap);
      }
      return then(
        this.guardStore('read', () => this.store.read(keys)),
        (states) => {
          // The four call counts are always capped, so they come first; the time check goes after them.
          for (let j = 0; j < caps.length; j++) {
            if (j === 4 && elapsedMs >= q.deadlineMs) return 'timeout_exceeded';
            const cap = caps[j] as QuotaCap;
            if ((states[j] as CounterState).used >= cap.max) return cap.def.refusalCode;
          }
          return caps.length <= 4 && elapsedMs >= q.deadlineMs ? 'timeout_exceeded' : null;
        },
      );
    });
  }

  /** What `pid` has left of each capped field (seed `get_remaining_budget`), or null when it is not tracked. */
  getRemainingBudget(pid: string): Promise<RemainingBudget | null> {
    return attempt(() => {
      validateId(pid, 'pid');
      const st = this.pids.get(pid);
      if (st === undefined) return null;
      const elapsedMs = this.observe(pid, st);
      return then(this.readAll(st), (states) => {
        const q = st.quota;
        const out: Record<string, unknown> = {};
        for (let i = 0; i < FIELDS.length; i++) {
          const cap = q.caps[i];
          if (cap === undefined) continue;
          const left = free(cap.max, states[i] as CounterState);
          out[FIELDS[i]!.name] = i === FIELD_INDEX.money ? unitsToDecimal(left) : toNumber(left, cap.def.scale);
          if (i === 3) out.timeSeconds = Math.max(0, Math.floor((q.quota.timeoutSeconds * 1000 - elapsedMs) / 1000));
        }
        if (q.quota.timeMinutes !== undefined) out.timeMinutes = Math.max(0, q.quota.timeMinutes - elapsedMs / 60_000);
        if (q.meterCaps.size > 0) {
          const meters: Record<string, number> = {};
          this.userMeters.forEach((m, j) => {
            const cap = q.meterCaps.get(m);
            if (cap !== undefined) meters[m] = toNumber(free(cap.max, states[FIELDS.length + j] as CounterState), cap.def.scale);
          });
          out.meters = meters;
        }
        return out as unknown as RemainingBudget;
      });
    });
  }

  /** Seed 000's soft-limit check: every allocated resource whose utilization is above `threshold` (default: the tracker's warnAt). */
  checkSoftLimits(pid: string, threshold: number = this.warnAt): Promise<SoftLimitWarning[]> {
    return attempt(() => {
      validateId(pid, 'pid');
      if (typeof threshold !== 'number' || !(threshold >= 0)) throw new InvalidInputError('threshold', 'must be a number >= 0', threshold);
      const st = this.pids.get(pid);
      if (st === undefined) return [];
      const elapsedMs = this.observe(pid, st);
      return then(this.readAll(st), (states) =>
        this.resources(st, states, elapsedMs)
          .filter((r) => r.allocated > 0 && r.used / r.allocated > threshold)
          .map((r) => ({ resource: r.resource, utilization: r.used / r.allocated, remaining: r.remaining() })),
      );
    });
  }

  /**
   * Seed 000's hard-limit check: would an operation with this estimate (or, given an
   * operation type, its predicted usage) fit? The first resource where
   * `used + estimate > allocated` refuses, with `required`, `available` and `alternatives`.
   */
  checkHardLimits(pid: string, estimate: ResourceEstimate | string, features?: OperationFeatures): Promise<HardLimitCheck> {
    return attempt(() => {
      validateId(pid, 'pid');
      const { amounts, operationType } = this.parseEstimate(estimate, features);
      const st = this.pids.get(pid);
      if (st === undefined) return { allowed: true } as const;
      const elapsedMs = this.observe(pid, st);
      return then(this.readAll(st), (states) => {
        for (const r of this.resources(st, states, elapsedMs)) {
          const need = amounts.get(r.resource);
          if (need === undefined || need.value === 0) continue;
          if (r.usedUnits + need.units <= r.allocatedUnits) continue;
          const available = r.allocatedUnits > r.usedUnits ? r.allocatedUnits - r.usedUnits : 0n;
          const money = r.resource === 'money';
          const show = (u: bigint): number | Decimal => (money ? unitsToDecimal(u) : toNumber(u, r.scale));
          return {
            allowed: false,
            code: r.code,
            resource: r.resource,
            required: show(need.units),
            available: show(available),
            allocated: show(r.allocatedUnits),
            alternatives: this.alternativesFor({
              pid,
              resource: r.resource,
              required: formatUnits(need.units, r.scale),
              available: formatUnits(available, r.scale),
              operationType,
            }),
          } as const;
        }
        return { allowed: true } as const;
      });
    });
  }

  /** {@link checkHardLimits}, throwing a `ResourceLimitError` (with the resource's code) when the operation does not fit. */
  async enforceHardLimits(pid: string, estimate: ResourceEstimate | string, features?: OperationFeatures): Promise<void> {
    const r = await this.checkHardLimits(pid, estimate, features);
    if (r.allowed) return;
    const s = (v: number | Decimal): string => (typeof v === 'number' ? String(v) : v.toFixed());
    throw new ResourceLimitError(r.code, {
      limit: `tracker.${r.resource}`,
      meter: r.resource,
      scope: scopeKey(this.scopeOf(pid)),
      requested: s(r.required),
      available: s(r.available),
      max: s(r.allocated),
      retryAfterMs: undefined,
      resource: r.resource,
      alternatives: r.alternatives,
    });
  }

  // ---- system -----------------------------------------------------------------------

  /** Totals over every pid, tracked or released, and how many tracked pids stand at each `checkQuota` reason. */
  async getSystemUsage(): Promise<SystemUsage> {
    const totals = [...this.releasedTotals];
    const exceeded: Record<string, number> = {};
    let active = 0;
    const pids = [...this.pids];
    const reasons = await Promise.all(pids.map(([pid]) => this.checkQuota(pid)));
    const states = await Promise.all(pids.map(([, st]) => this.readAll(st)));
    pids.forEach((_, k) => {
      const s = states[k] as readonly CounterState[];
      for (let i = 0; i < FIELDS.length; i++) totals[i]! += (s[i] as CounterState).used;
      const reason = reasons[k];
      if (reason === null || reason === undefined) active++;
      else exceeded[reason] = (exceeded[reason] ?? 0) + 1;
    });
    const n = (f: CounterField): number => Number(totals[FIELD_INDEX[f]]);
    return {
      totalProcesses: pids.length,
      activeProcesses: active,
      releasedProcesses: this.released,
      systemLlmCalls: n('llmCalls'),
      systemToolCalls: n('toolCalls'),
      systemAgentHops: n('agentHops'),
      systemIterations: n('iterations'),
      systemTokensIn: n('tokensIn'),
      systemTokensOut: n('tokensOut'),
      systemMoney: unitsToDecimal(totals[FIELD_INDEX.money] as bigint),
      exceeded,
    };
  }

  // ---- prediction -------------------------------------------------------------------

  /**
   * Seed 000's prediction for an operation of `operationType`: baseline × complexity
   * multiplier per resource. The baseline is learned from released pids allocated with that
   * operation type (and from `recordOperation`) once there are samples.
   */
  predictUsage(operationType: string, features?: OperationFeatures): UsagePrediction {
    return this.predictor.predict(operationType, features);
  }

  /** Add a finished operation's usage to the history `predictUsage` learns from. */
  recordOperation(
    operationType: string,
    usage: { money?: MoneyInput; timeMinutes?: number; apiCalls?: number; cpuHours?: number },
    features?: OperationFeatures,
  ): void {
    validateId(operationType, 'operationType');
    if (usage === null || typeof usage !== 'object') throw new InvalidInputError('usage', 'must be an object', usage);
    for (const k of Object.keys(usage))
      if (k !== 'money' && k !== 'timeMinutes' && k !== 'apiCalls' && k !== 'cpuHours')
        throw new InvalidInputError(
          `usage.${k}`,
          'is not a known field (money, timeMinutes, apiCalls, cpuHours)',
          (usage as Record<string, unknown>)[k],
        );
    const complexity = this.predictor.complexityOf(features);
    this.predictor.record(
      operationType,
      {
        money: usage.money === undefined ? 0n : toUnits(usage.money, 'usage.money', { roundUp: true }),
        timeMinutes: usage.timeMinutes === undefined ? 0 : nonNegNumber(usage.timeMinutes, 'usage.timeMinutes'),
        apiCalls: usage.apiCalls === undefined ? 0 : nonNegNumber(usage.apiCalls, 'usage.apiCalls'),
        cpuHours: usage.cpuHours === undefined ? 0 : nonNegNumber(usage.cpuHours, 'usage.cpuHours'),
      },
      complexity,
    );
  }

  // ---- the governor's pipeline ------------------------------------------------------

  /**
   * Internal (the governor's admission hook): the counters a call of `kind` on `scope`
   * reserves and is charged on for its pid, or undefined when the scope's pid is not
   * tracked. A call past the pid's time, or asking for more tokens than one call may, comes
   * back `refused` without touching the store.
   */
  admission(scope: Scope, kind: string, estimate: ReadonlyMap<string, bigint>): TrackerAdmission | undefined {
    const pid = scope[this.level];
    if (pid === undefined) return undefined;
    const st = this.pids.get(pid);
    if (st === undefined) return undefined;
    const q = st.quota;
    const elapsedMs = this.observe(pid, st);
    const rateLimitUser = q.rateLimit === undefined ? undefined : pid;
    let refused: TrackerAdmission['refused'];
    if (elapsedMs >= q.deadlineMs) {
      refused = { counter: this.counter(st, pid, '', q.deadline), amount: 0n, used: BigInt(Math.floor(elapsedMs * 1000)) };
    } else {
      const input = estimate.get('inputTokens') ?? 0n;
      const output = estimate.get('outputTokens') ?? 0n;
      const per = q.perCall;
      const over =
        input > per.input.max
          ? per.input
          : output > per.output.max
            ? per.output
            : input + output > per.context.max
              ? per.context
              : undefined;
      if (over !== undefined) {
        const amount = over === per.input ? input : over === per.output ? output : input + output;
        refused = { counter: this.counter(st, pid, '', over), amount, used: 0n };
      }
    }
    const slot = KIND_SLOT[kind] ?? 0;
    const plans = (st.plans ??= []);
    const counters = plans[slot] ?? (plans[slot] = this.plan(st, pid, KIND_FIELD[kind] ?? -1));
    return { pid, counters, refused, rateLimitUser, state: st };
  }

  /**
   * Internal: the signal a governed call of an admitted pid follows, aborted when the pid's
   * time runs out (its timer starts with the first call). Undefined once it is released.
   */
  deadlineSignal(admission: TrackerAdmission): AbortSignal | undefined {
    const st = admission.state as PidState;
    if (this.pids.get(admission.pid) !== st) return undefined;
    if (st.deadline === undefined) this.rearm(admission.pid, st);
    return (st.deadline as Deadline).controller.signal;
  }

  /** Link a call's own signal and its pid's deadline into one controller (see {@link deadlineSignal}). */
  linkSignals(signal: AbortSignal | undefined, deadline: AbortSignal | undefined): { controller: AbortController; unlink: () => void } {
    return linkSignals(signal, deadline);
  }

  /** Stop every pid timer. Counters stay in the store. */
  close(): void {
    for (const st of this.pids.values()) st.deadline?.stop.abort();
  }

  // ---- internals --------------------------------------------------------------------

  private ctx(): { meters: MeterRegistry; currency: string; warnAt: number } {
    return { meters: this.meters, currency: this.currency, warnAt: this.warnAt };
  }

  private track(pid: string, quota: CompiledQuota, operationType?: string, complexity?: number): PidState {
    const st: PidState = {
      quota,
      prefix: pidPrefix(pid),
      started: this.clock.monotonic(),
      flags: 0,
      deadline: undefined,
      plans: undefined,
      operationType,
      complexity,
    };
    this.pids.set(pid, st);
    return st;
  }

  private scopeOf(pid: string): Scope {
    return { [this.level]: pid };
  }

  private counter(st: PidState, pid: string, suffix: string, cap: QuotaCap | undefined, meter?: string): TrackerCounter {
    const scope = this.scopeOf(pid);
    const key = st.prefix + suffix;
    return {
      base: key,
      meter: meter ?? (cap as QuotaCap).meter,
      scope,
      scopeKey: scopeKey(scope),
      limits: cap === undefined ? [] : [cap],
      cap: cap?.max,
      capLimit: cap,
      tracker: undefined,
      periodId: '',
      key,
      expiresAt: undefined,
      periodStart: -Infinity,
      periodEnd: -Infinity,
    };
  }

  /** The admission counters of a call counting on `kindField` (-1: none): its call count, then tokens, money, storage and user meters. */
  private plan(st: PidState, pid: string, kindField: number): TrackerCounter[] {
    const q = st.quota;
    const out: TrackerCounter[] = [];
    for (const i of kindField < 0 ? PIPELINE_FIELDS : [kindField, ...PIPELINE_FIELDS]) {
      out.push(this.counter(st, pid, SUFFIX[i] as string, q.caps[i], FIELDS[i]!.meter));
    }
    for (const m of this.userMeters) out.push(this.counter(st, pid, `m:${m}`, q.meterCaps.get(m), m));
    return out;
  }

  /** Elapsed ms of a pid; fires the soft-timeout warning and the timeout violation the first time each is passed. */
  private observe(pid: string, st: PidState): number {
    const elapsed = this.clock.monotonic() - st.started;
    if (elapsed >= st.quota.softMs && (st.flags & SOFT_WARNED) === 0) this.softWarning(pid, st, elapsed);
    if (elapsed >= st.quota.deadlineMs && (st.flags & TIMED_OUT) === 0) this.timedOut(pid, st, elapsed);
    return elapsed;
  }

  private softWarning(pid: string, st: PidState, elapsedMs: number): void {
    st.flags |= SOFT_WARNED;
    const q = st.quota.quota;
    this.emit('warning', {
      limit: 'tracker.softTimeoutSeconds',
      meter: 'elapsedSeconds',
      scope: this.scopeOf(pid),
      used: formatUnits(BigInt(Math.floor(elapsedMs * 1000)), 6),
      max: String(q.timeoutSeconds),
      threshold: Math.round((q.softTimeoutSeconds / q.timeoutSeconds) * 10_000) / 100,
      enforcement: 'soft',
      period: undefined,
      currency: undefined,
      at: this.clock.now(),
      pid,
    });
  }

  private timedOut(pid: string, st: PidState, elapsedMs: number): void {
    st.flags |= TIMED_OUT;
    const cap = st.quota.deadline;
    this.emit('violation', {
      type: 'exceeded',
      code: 'timeout_exceeded',
      limit: cap.id,
      meter: 'elapsedSeconds',
      scope: this.scopeOf(pid),
      requested: '0',
      available: '0',
      used: formatUnits(BigInt(Math.floor(elapsedMs * 1000)), 6),
      max: formatUnits(cap.max, 6),
      retryAfterMs: undefined,
      period: undefined,
      at: this.clock.now(),
      pid,
    });
  }

  /** (Re)start a pid's timer for its current quota; a deadline already passed gets a fresh signal only if the new quota allows more time. */
  private rearm(pid: string, st: PidState): void {
    const old = st.deadline;
    if (old !== undefined) old.stop.abort();
    const elapsed = this.clock.monotonic() - st.started;
    const controller =
      old === undefined || (old.controller.signal.aborted && elapsed < st.quota.deadlineMs) ? new AbortController() : old.controller;
    if (elapsed < st.quota.softMs) st.flags &= ~SOFT_WARNED;
    if (elapsed < st.quota.deadlineMs) st.flags &= ~TIMED_OUT;
    const d: Deadline = { controller, stop: new AbortController() };
    st.deadline = d;
    if (controller.signal.aborted) return;
    void runDeadline(
      this.clock,
      d.stop.signal,
      st.started + st.quota.softMs,
      st.started + st.quota.deadlineMs,
      () => (st.flags & SOFT_WARNED) !== 0,
      () => this.softWarning(pid, st, this.clock.monotonic() - st.started),
      () => {
        const e = this.clock.monotonic() - st.started;
        if ((st.flags & TIMED_OUT) === 0) this.timedOut(pid, st, e);
        controller.abort(this.timeoutError(pid, st));
      },
    );
  }

  private timeoutError(pid: string, st: PidState): GovernorError {
    const cap = st.quota.deadline;
    return new ResourceLimitError('timeout_exceeded', {
      limit: cap.id,
      meter: 'elapsedSeconds',
      scope: scopeKey(this.scopeOf(pid)),
      requested: '0',
      available: '0',
      max: formatUnits(cap.max, 6),
      retryAfterMs: undefined,
      resource: 'timeSeconds',
      alternatives: [],
    });
  }

  /** Add `fields` (and user `meters`) to a pid's counters atomically, tracking it first if needed; resolves with the usage after. */
  private apply(
    pid: string,
    fields: readonly bigint[],
    meters: ReadonlyMap<string, bigint> | undefined,
  ): ResourceUsage | PromiseLike<ResourceUsage> {
    let st = this.pids.get(pid);
    if (st === undefined) {
      // Auto-created with the default quota, as the seed does.
      if (this.defaults.rateLimit !== undefined) this.rateLimits?.set(pid, this.defaults.rateLimit);
      st = this.track(pid, this.defaults);
    }
    this.observe(pid, st);
    const items: { key: string; amount: bigint }[] = [];
    const caps: (QuotaCap | undefined)[] = [];
    for (let i = 0; i < fields.length; i++) {
      const a = fields[i] as bigint;
      if (a === 0n) continue;
      items.push({ key: st.prefix + SUFFIX[i], amount: a });
      caps.push(st.quota.caps[i]);
    }
    if (meters !== undefined) {
      for (const [m, a] of meters) {
        if (a === 0n) continue;
        items.push({ key: meterKey(st.prefix, m), amount: a });
        caps.push(st.quota.meterCaps.get(m));
      }
    }
    const after = (): ResourceUsage | PromiseLike<ResourceUsage> => then(this.readAll(st), (states) => this.usageOf(st, states));
    if (items.length === 0) return after();
    return then(
      this.guardStore('add', () => this.store.add(items)),
      (used) => {
        for (let j = 0; j < items.length; j++) {
          const cap = caps[j];
          if (cap !== undefined) this.crossed(pid, cap, (items[j] as { amount: bigint }).amount, used[j] as bigint);
        }
        return after();
      },
    );
  }

  /** The warning and violation an addition of `amount` that brought a counter to `used` caused, if it crossed them. */
  private crossed(pid: string, cap: QuotaCap, amount: bigint, used: bigint): void {
    const before = used - amount;
    const t = cap.thresholdUnits[0] as bigint;
    const scale = cap.def.scale;
    if (before < t && used >= t && t > 0n) {
      this.emit('warning', {
        limit: cap.id,
        meter: cap.meter,
        scope: this.scopeOf(pid),
        used: formatUnits(used, scale),
        max: formatUnits(cap.max, scale),
        threshold: cap.thresholds[0] as number,
        enforcement: 'hard',
        period: undefined,
        currency: cap.currency,
        at: this.clock.now(),
        pid,
      });
    }
    if (used > cap.max && before <= cap.max) {
      this.emit('violation', {
        type: 'exceeded',
        code: cap.def.refusalCode,
        limit: cap.id,
        meter: cap.meter,
        scope: this.scopeOf(pid),
        requested: formatUnits(amount, scale),
        available: '0',
        used: formatUnits(used, scale),
        max: formatUnits(cap.max, scale),
        retryAfterMs: undefined,
        period: undefined,
        at: this.clock.now(),
        pid,
      });
    }
  }

  /** Every counter of a pid: FIELDS in order, then the user meters. */
  private readAll(st: PidState): readonly CounterState[] | PromiseLike<readonly CounterState[]> {
    const keys = SUFFIX.map((s) => st.prefix + s);
    for (const m of this.userMeters) keys.push(meterKey(st.prefix, m));
    return this.guardStore('read', () => this.store.read(keys));
  }

  private usageOf(st: PidState, states: readonly CounterState[]): ResourceUsage {
    const elapsedMs = this.clock.monotonic() - st.started;
    const u = (i: number): number => toNumber((states[i] as CounterState).used, FIELDS[i]!.def.scale);
    const meters: Record<string, number> = {};
    this.userMeters.forEach((m, j) => {
      meters[m] = toNumber((states[FIELDS.length + j] as CounterState).used, this.meters.get(m, m).scale);
    });
    return {
      llmCalls: u(0),
      toolCalls: u(1),
      agentHops: u(2),
      iterations: u(3),
      tokensIn: u(4),
      tokensOut: u(5),
      elapsedSeconds: elapsedMs / 1000,
      money: moneyOf((states[FIELD_INDEX.money] as CounterState).used),
      apiCalls: u(7),
      timeMinutes: elapsedMs / 60_000,
      cpuHours: u(8),
      memoryGbHours: u(9),
      storageGb: u(10),
      meters,
    };
  }

  /** Every allocated resource of a pid, with used and allocated in units, for the soft and hard checks. */
  private resources(
    st: PidState,
    states: readonly CounterState[],
    elapsedMs: number,
  ): {
    resource: string;
    code: GovernorErrorCode;
    scale: number;
    used: number;
    allocated: number;
    usedUnits: bigint;
    allocatedUnits: bigint;
    remaining: () => number | Decimal;
  }[] {
    const q = st.quota;
    const out: ReturnType<ResourceTracker['resources']> = [];
    const add = (resource: string, cap: QuotaCap, s: CounterState): void => {
      const usedUnits = s.used + s.held;
      const scale = cap.def.scale;
      out.push({
        resource,
        code: cap.def.refusalCode as GovernorErrorCode,
        scale,
        used: toNumber(usedUnits, scale),
        allocated: toNumber(cap.max, scale),
        usedUnits,
        allocatedUnits: cap.max,
        remaining: () => {
          const left = cap.max - usedUnits;
          return resource === 'money' ? unitsToDecimal(left) : toNumber(left, scale);
        },
      });
    };
    for (let i = 0; i < FIELDS.length; i++) {
      const cap = q.caps[i];
      if (cap !== undefined) add(FIELDS[i]!.name, cap, states[i] as CounterState);
    }
    const time = (resource: string, maxMs: number, unitMs: number): void => {
      // Time in µs of its unit: exact enough for ratios, integer for the hard check.
      const usedUnits = BigInt(Math.floor((elapsedMs * 1e6) / unitMs));
      const allocatedUnits = BigInt(Math.round((maxMs * 1e6) / unitMs));
      out.push({
        resource,
        code: 'timeout_exceeded',
        scale: 6,
        used: elapsedMs / unitMs,
        allocated: maxMs / unitMs,
        usedUnits,
        allocatedUnits,
        remaining: () => (maxMs - elapsedMs) / unitMs,
      });
    };
    time('timeSeconds', q.quota.timeoutSeconds * 1000, 1000);
    if (q.quota.timeMinutes !== undefined) time('timeMinutes', q.quota.timeMinutes * 60_000, 60_000);
    this.userMeters.forEach((m, j) => {
      const cap = q.meterCaps.get(m);
      if (cap !== undefined) add(m, cap, states[FIELDS.length + j] as CounterState);
    });
    return out;
  }

  private parseUsage(u: unknown, field: string): { fields: bigint[]; meters: Map<string, bigint> | undefined } {
    if (u === null || typeof u !== 'object' || Array.isArray(u)) throw new InvalidInputError(field, 'must be an object of usage fields', u);
    const fields = FIELDS.map(() => 0n);
    let meters: Map<string, bigint> | undefined;
    for (const k in u) {
      const v = (u as Record<string, unknown>)[k];
      if (v === undefined) continue;
      if (k === 'meters') {
        meters = this.parseMeters(v, `${field}.meters`);
        continue;
      }
      const i = Object.hasOwn(FIELD_INDEX, k) ? FIELD_INDEX[k as CounterField] : undefined;
      if (i === undefined) throw new InvalidInputError(`${field}.${k}`, `is not a known field (${FIELD_NAMES}, meters)`, v);
      fields[i] = fieldUnits(i, v, `${field}.${k}`);
    }
    return { fields, meters };
  }

  private parseMeters(v: unknown, field: string): Map<string, bigint> {
    if (v === null || typeof v !== 'object' || Array.isArray(v))
      throw new InvalidInputError(field, 'must be an object of user meter values', v);
    const out = new Map<string, bigint>();
    for (const [m, x] of Object.entries(v as Record<string, unknown>)) {
      if (x === undefined) continue;
      const f = `${field}.${m}`;
      if (!this.userMeters.includes(m))
        throw new InvalidInputError(f, `must name a user meter (${this.userMeters.join(', ') || 'none declared'})`, x);
      out.set(m, this.meters.toUnits(m, x, f));
    }
    return out;
  }

  private parseEstimate(
    estimate: ResourceEstimate | string,
    features: OperationFeatures | undefined,
  ): { amounts: Map<string, { units: bigint; value: number }>; operationType: string | undefined } {
    const amounts = new Map<string, { units: bigint; value: number }>();
    if (typeof estimate === 'string') {
      const p = this.predictor.predict(estimate, features);
      const put = (r: string, units: bigint): void => void amounts.set(r, { units, value: Number(units) });
      put('money', toUnits(p.money, 'prediction.money', { roundUp: true }));
      put('timeMinutes', toUnits(p.timeMinutes.toFixed(6), 'prediction.timeMinutes', { scale: 6, roundUp: true }));
      put('apiCalls', BigInt(Math.ceil(p.apiCalls)));
      put('cpuHours', toUnits(p.cpuHours.toFixed(9), 'prediction.cpuHours', { scale: 9, roundUp: true }));
      return { amounts, operationType: estimate };
    }
    if (features !== undefined) throw new InvalidInputError('features', 'only applies to an operation type estimate', features);
    if (estimate === null || typeof estimate !== 'object' || Array.isArray(estimate))
      throw new InvalidInputError('estimate', 'must be an object of resource amounts or an operation type', estimate);
    for (const k in estimate) {
      const v = (estimate as Record<string, unknown>)[k];
      if (v === undefined) continue;
      const f = `estimate.${k}`;
      if (k === 'meters') {
        for (const [m, units] of this.parseMeters(v, f)) amounts.set(m, { units, value: Number(units) });
      } else if (k === 'timeMinutes') {
        const units = toUnits(nonNegNumber(v, f), f, { scale: 6, roundUp: true });
        amounts.set(k, { units, value: Number(units) });
      } else {
        const i = Object.hasOwn(FIELD_INDEX, k) ? FIELD_INDEX[k as CounterField] : undefined;
        if (i === undefined) throw new InvalidInputError(f, `is not a known resource (${FIELD_NAMES}, timeMinutes, meters)`, v);
        const units = fieldUnits(i, v, f);
        amounts.set(k, { units, value: Number(units) });
      }
    }
    return { amounts, operationType: undefined };
  }

  private alternativesFor(ctx: AlternativesContext): readonly string[] {
    const a = this.alternatives;
    if (a === undefined) return [];
    if (typeof a === 'function') {
      const r = a(ctx);
      return Array.isArray(r) ? [...(r as readonly string[])] : [];
    }
    return [...(a[ctx.resource] ?? [])];
  }

  private emitRelease(pid: string, st: PidState, usage: ResourceUsage, states: readonly CounterState[]): void {
    const strings: Record<string, string> = {};
    FIELDS.forEach((f, i) => {
      strings[f.name] = formatUnits((states[i] as CounterState).used, f.def.scale);
    });
    this.userMeters.forEach((m, j) => {
      strings[`meters.${m}`] = formatUnits((states[FIELDS.length + j] as CounterState).used, this.meters.get(m, m).scale);
    });
    strings.elapsedSeconds = String(usage.elapsedSeconds);
    const at = this.clock.now();
    const durationMs = usage.elapsedSeconds * 1000;
    const entry: LedgerEntry = {
      id: this.nextId(),
      at,
      kind: 'tracker.release',
      status: 'ok',
      scope: this.scopeOf(pid),
      usage: strings,
      cost: strings.money as string,
      currency: this.currency,
      durationMs,
      data: { pid, operationType: st.operationType },
    };
    this.appendLedger(entry);
    this.emit('usage', {
      reservationId: entry.id,
      scope: entry.scope,
      status: 'ok',
      usage: strings,
      cost: entry.cost,
      currency: this.currency,
      estimated: false,
      durationMs,
      entry,
      at,
      pid,
    });
  }

  private appendLedger(entry: LedgerEntry): void {
    try {
      const r = this.store.appendLedger([entry]);
      if (isPromiseLike(r)) Promise.resolve(r).then(undefined, () => undefined);
    } catch {
      // The usage is in the counters and the event; a ledger the store cannot append to loses only the copy.
    }
  }

  private emit<K extends keyof TrackerEvents>(event: K, payload: TrackerEvents[K]): void {
    if (this.onEvent === undefined) return;
    try {
      this.onEvent(event, payload);
    } catch {
      // A listener fault never breaks the operation it was told about (the governor's bus reports it as listener.error).
    }
  }

  private nextId(): string {
    return `${LEDGER_PREFIX}-tk${(++this.seq).toString(36)}`;
  }

  private guardStore<T>(operation: string, f: () => T | PromiseLike<T>): T | PromiseLike<T> {
    const fault = (e: unknown): never => {
      if (e instanceof GovernorError) throw e;
      throw new StoreUnavailableError(operation, e);
    };
    let r: T | PromiseLike<T>;
    try {
      r = f();
    } catch (e) {
      return fault(e);
    }
    return isPromiseLike(r) ? Promise.resolve(r).then(undefined, fault) : r;
  }
}

// ---- helpers ----------------------------------------------------------------------------

/** Run `f`; its value, promise or throw as a promise. */
function attempt<T>(f: () => T | PromiseLike<T>): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Apply `f` to a value or a promise of one, staying synchronous for a synchronous store. */
function then<T, U>(v: T | PromiseLike<T>, f: (t: T) => U | PromiseLike<U>): U | PromiseLike<U> {
  return isPromiseLike(v) ? Promise.resolve(v).then(f) : f(v);
}

function fieldUnits(i: number, v: unknown, field: string): bigint {
  const def = FIELDS[i]!.def;
  if (def.kind === 'count') return wholeUnits(v, field);
  if (def.kind === 'money') return toUnits(v, field, { roundUp: true });
  return toUnits(typeof v === 'number' ? nonNegNumber(v, field) : v, field, { scale: def.scale, roundUp: true });
}

function wholeUnits(v: unknown, field: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new InvalidInputError(field, 'must be a non-negative whole number', v);
}

function nonNegNumber(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  throw new InvalidInputError(field, 'must be a finite number >= 0', v);
}

function ceilDivBig(a: bigint, b: bigint): bigint {
  return a === 0n ? 0n : (a + b - 1n) / b;
}

/** Most pids spend nothing through the tracker: one shared Decimal zero (Decimals are immutable) spares building one per read. */
let ZERO_MONEY: Decimal | undefined;
function moneyOf(units: bigint): Decimal {
  return units === 0n ? (ZERO_MONEY ??= unitsToDecimal(0n)) : unitsToDecimal(units);
}

function free(max: bigint, s: CounterState): bigint {
  const left = max - s.used - s.held;
  return left > 0n ? left : 0n;
}

function toNumber(units: bigint, scale: number): number {
  if (units === 0n) return 0;
  if (scale === 0) return units <= MAX_SAFE ? Number(units) : Number(units.toString());
  return Number(formatUnits(units, scale));
}
