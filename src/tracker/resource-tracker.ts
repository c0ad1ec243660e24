/**
 * Seed 002's `ResourceTracker` (the kernel's cgroups), with seed 000's resources on the
 * same counters: per-process quotas, usage, elapsed time, remaining budget, system usage,
 * soft and hard limits, and usage prediction.
 *
 * A pid's quota lives here, compiled to integer caps once; its usage lives in the Store,
 * one counter per field under `tk|<pid>|`, changed only through the store's atomic
 * primitives (`add` here, `reserve`/`commit` in the governor's pipeline), so processes
 * sharing a store count one usage against one quota. The parts live next door: quota
 * compilation (quota.ts), parsing what is recorded (usage-input.ts), reading usage
 * (usage.ts), limit checks (limits.ts), elapsed time (timeouts.ts), the pipeline's
 * admission (admission.ts) and prediction (prediction.ts).
 */
import {
  isPromiseLike,
  MeterRegistry,
  parseInput,
  scopeKey,
  systemClock,
  toUnits,
  unitsToDecimal,
  validateId,
  InvalidInputError,
} from '../core/index.js';
import type { Clock, MoneyInput, Scope } from '../core/index.js';
import type { Decimal } from 'decimal.js';
import { MemoryStore, type CounterState, type Store } from '../storage/index.js';
import { admissionOf, type TrackerAdmission } from './admission.js';
import { allocationKey, decodeAllocation, encodeAllocation, generationPrefix, type AllocationRecord } from './allocation.js';
import { andThen, attempt } from './awaitable.js';
import { TrackerContext } from './context.js';
import { linkSignals, type Deadline } from './deadline.js';
import { ResourceLimitError } from './errors.js';
import { FIELD_INDEX, FIELDS, meterKey, SUFFIX, type CounterField } from './fields.js';
import {
  crossed,
  hardLimit,
  parseEstimate,
  quotaCaps,
  quotaReason,
  softLimits,
  type HardLimitCheck,
  type ResourceEstimate,
  type SoftLimitWarning,
} from './limits.js';
import { optionsSchema, type AllocateOptions, type ResourceTrackerOptions } from './options.js';
import type { PidState } from './pid-state.js';
import { UsagePredictor, type OperationFeatures, type PredictionOptions, type UsagePrediction } from './prediction.js';
import { compileQuota, DEFAULT_RESOLVED, type CompiledQuota, type QuotaCap, type ResolvedQuota, type ResourceQuota } from './quota.js';
import { nonNegNumber, parseApiCall, parseComputeSample, parseUsage, type ComputeSample, type UsageInput } from './usage-input.js';
import { allKeys, remainingOf, usageOf, usageStrings, type RemainingBudget, type ResourceUsage, type SystemUsage } from './usage.js';
import { observe, rearm } from './timeouts.js';

/** Per-process quotas and usage over a Store. */
export class ResourceTracker {
  readonly store: Store;
  readonly clock: Clock;
  /** The scope level that names a pid in `gov.guard()`. */
  readonly level: 'agent' | 'execution';
  readonly currency: string;
  private readonly ctx: TrackerContext;
  private readonly defaults: CompiledQuota;
  private readonly predictor: UsagePredictor;
  private readonly priceCompute: ((sample: ComputeSample) => MoneyInput) | undefined;
  private readonly alternatives: ResourceTrackerOptions['alternatives'];
  private readonly rateLimits: ResourceTrackerOptions['rateLimits'];
  private readonly pids = new Map<string, PidState>();
  /** Usage of released pids (by FIELDS index), so system totals keep it. */
  private readonly releasedTotals: bigint[] = FIELDS.map(() => 0n);
  private released = 0;

  constructor(options: ResourceTrackerOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidInputError('options', 'must be an object', options);
    const field = typeof options.field === 'string' ? options.field : 'options';
    const o = parseInput(optionsSchema, options, field);
    this.clock = o.clock ?? systemClock;
    this.store = o.store ?? new MemoryStore({ clock: this.clock });
    this.level = o.level ?? 'agent';
    this.currency = o.currency ?? 'USD';
    const meters =
      o.meters instanceof MeterRegistry
        ? o.meters
        : new MeterRegistry((o.meters ?? {}) as Record<string, { kind?: 'count' | 'quantity'; scale?: number }>);
    this.ctx = new TrackerContext(this.store, this.clock, this.level, this.currency, o.warnAt ?? 0.8, meters, options.onEvent);
    this.defaults = compileQuota(o.defaultQuota, `${field}.defaultQuota`, DEFAULT_RESOLVED, this.ctx);
    this.predictor = new UsagePredictor((o.prediction ?? {}) as PredictionOptions, `${field}.prediction`);
    this.priceCompute = options.priceCompute;
    this.alternatives = options.alternatives;
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
    const compiled = quota === undefined ? this.defaults : compileQuota(quota, 'quota', this.defaults.quota, this.ctx);
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
    this.track(pid, compiled, quota !== undefined, operationType, complexity);
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
      return this.whenReady(st, () => {
        const keys = allKeys(this.ctx, st.prefix);
        return andThen(this.read(keys), (states) => {
          const used = states.map((s) => s.used);
          const usage = usageOf(this.ctx, used, this.clock.monotonic() - st.started);
          for (let i = 0; i < FIELDS.length; i++) this.releasedTotals[i]! += used[i] as bigint;
          this.released++;
          if (st.operationType !== undefined) {
            this.predictor.record(
              st.operationType,
              {
                money: used[FIELD_INDEX.money] as bigint,
                timeMinutes: usage.timeMinutes,
                apiCalls: usage.apiCalls,
                cpuHours: usage.cpuHours,
              },
              st.complexity ?? this.predictor.complexityOf(undefined),
            );
          }
          // End the generation first: a tracker that allocates the pid from now on starts the next one.
          return andThen(
            this.updateRecord(pid, st, (r) => ({ ...r, released: true, quota: undefined })),
            () =>
              andThen(
                this.ctx.guardStore('delete', () => this.store.delete(keys)),
                () => {
                  this.emitRelease(pid, st, usage, used);
                  return usage;
                },
              ),
          );
        });
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
    const compiled = compileQuota(adjustments, 'adjustments', st?.quota.quota ?? this.defaults.quota, this.ctx);
    if (st === undefined) return false;
    if (adjustments.rateLimit !== undefined && compiled.rateLimit !== undefined) this.rateLimits?.set(pid, compiled.rateLimit);
    const before = st.quota;
    st.quota = compiled;
    st.plans = undefined;
    if (compiled.deadlineMs !== before.deadlineMs || compiled.softMs !== before.softMs) rearm(this.ctx, pid, st);
    // Other trackers sharing the store take the new quota when they next join the pid's allocation.
    try {
      const r = this.updateRecord(pid, st, (rec) => ({ ...rec, quota: compiled.quota as unknown as Record<string, unknown> }));
      if (isPromiseLike(r)) Promise.resolve(r).then(undefined, () => undefined);
    } catch {
      // The quota applies here; a store that cannot keep the record only loses the copy others would read.
    }
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
      const amounts = parseUsage(this.ctx, usage, 'usage');
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
      const c = parseApiCall(call);
      return andThen(this.apply(pid, c.fields, undefined), (u) => {
        this.ctx.appendLedger({
          id: this.ctx.nextId(),
          at: this.clock.now(),
          kind: 'tracker.apiCall',
          status: 'ok',
          scope: this.ctx.scopeOf(pid),
          provider: c.service,
          usage: c.usage,
          cost: c.cost,
          currency: this.currency,
          data: { pid, service: c.service },
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
      return this.apply(pid, parseComputeSample(sample, this.priceCompute), undefined);
    });
  }

  /** The usage of `pid`, or null when it is not tracked. */
  getUsage(pid: string): Promise<ResourceUsage | null> {
    return attempt(() => {
      validateId(pid, 'pid');
      const st = this.pids.get(pid);
      return st === undefined ? null : this.usageNow(st);
    });
  }

  /** The usage of every tracked pid, by pid. */
  async getAllUsage(): Promise<Record<string, ResourceUsage>> {
    const entries = [...this.pids];
    const usages = await Promise.all(entries.map(([, st]) => this.usageNow(st)));
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
    return observe(this.ctx, pid, st) / 1000;
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
      return this.whenReady(st, () => {
        const elapsedMs = observe(this.ctx, pid, st);
        const q = st.quota;
        const { suffixes, caps } = quotaCaps(q);
        const keys = suffixes.map((s) => (typeof s === 'number' ? st.prefix + SUFFIX[s] : meterKey(st.prefix, s)));
        return andThen(this.read(keys), (states) => quotaReason(q, caps, states, elapsedMs));
      });
    });
  }

  /** What `pid` has left of each capped field (seed `get_remaining_budget`), or null when it is not tracked. */
  getRemainingBudget(pid: string): Promise<RemainingBudget | null> {
    return attempt(() => {
      validateId(pid, 'pid');
      const st = this.pids.get(pid);
      if (st === undefined) return null;
      return this.whenReady(st, () => {
        const elapsedMs = observe(this.ctx, pid, st);
        return andThen(this.read(allKeys(this.ctx, st.prefix)), (states) => remainingOf(this.ctx, st.quota, states, elapsedMs));
      });
    });
  }

  /** Seed 000's soft-limit check: every allocated resource whose utilization is above `threshold` (default: the tracker's warnAt). */
  checkSoftLimits(pid: string, threshold: number = this.ctx.warnAt): Promise<SoftLimitWarning[]> {
    return attempt(() => {
      validateId(pid, 'pid');
      if (typeof threshold !== 'number' || !(threshold >= 0)) throw new InvalidInputError('threshold', 'must be a number >= 0', threshold);
      const st = this.pids.get(pid);
      if (st === undefined) return [];
      return this.whenReady(st, () => {
        const elapsedMs = observe(this.ctx, pid, st);
        return andThen(this.read(allKeys(this.ctx, st.prefix)), (states) => softLimits(this.ctx, st.quota, states, elapsedMs, threshold));
      });
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
      const parsed = parseEstimate(this.ctx, this.predictor, estimate, features);
      const st = this.pids.get(pid);
      if (st === undefined) return { allowed: true } as const;
      return this.whenReady(st, () => {
        const elapsedMs = observe(this.ctx, pid, st);
        return andThen(this.read(allKeys(this.ctx, st.prefix)), (states) =>
          hardLimit(this.ctx, pid, st.quota, states, elapsedMs, parsed, this.alternatives),
        );
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
      scope: scopeKey(this.ctx.scopeOf(pid)),
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
    const states = await Promise.all(pids.map(([, st]) => this.read(allKeys(this.ctx, st.prefix))));
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
    return st === undefined ? undefined : admissionOf(this.ctx, pid, st, kind, estimate);
  }

  /**
   * Internal: the signal a governed call of an admitted pid follows, aborted when the pid's
   * time runs out (its timer starts with the first call). Undefined once it is released.
   */
  deadlineSignal(admission: TrackerAdmission): AbortSignal | undefined {
    const st = admission.state as PidState;
    if (this.pids.get(admission.pid) !== st) return undefined;
    if (st.deadline === undefined) rearm(this.ctx, admission.pid, st);
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

  /** Track `pid` here and join its allocation in the store (or start the next generation). */
  private track(pid: string, quota: CompiledQuota, custom: boolean, operationType?: string, complexity?: number): PidState {
    const st: PidState = {
      quota,
      generation: 0,
      prefix: generationPrefix(pid, 0),
      started: this.clock.monotonic(),
      flags: 0,
      deadline: undefined,
      plans: undefined,
      ready: undefined,
      operationType,
      complexity,
    };
    this.pids.set(pid, st);
    let r: void | PromiseLike<void>;
    try {
      r = this.join(pid, st, custom, 8);
    } catch {
      return st; // A store that cannot keep the record: this tracker counts on its own start and quota.
    }
    if (isPromiseLike(r)) {
      const done = (): void => {
        st.ready = undefined;
      };
      st.ready = Promise.resolve(r).then(done, done);
    }
    return st;
  }

  /**
   * Read the pid's allocation record: a live one (another tracker allocated the pid) is
   * adopted, its start and quota included; none, or a released one, is replaced by the next
   * generation started now, with this tracker's quota when it is not the default.
   */
  private join(pid: string, st: PidState, custom: boolean, tries: number): void | PromiseLike<void> {
    const key = allocationKey(pid);
    return andThen(
      this.ctx.guardStore('getValue', () => this.store.getValue(key)),
      (cur) => {
        const rec = decodeAllocation(cur);
        if (rec !== undefined && !rec.released) return this.adopt(pid, st, rec);
        const next: AllocationRecord = {
          generation: rec === undefined ? 0 : rec.generation + 1,
          startedAt: this.clock.now() - (this.clock.monotonic() - st.started),
          released: false,
          quota: custom ? (st.quota.quota as unknown as Record<string, unknown>) : undefined,
        };
        return andThen(
          this.ctx.guardStore('compareAndSet', () => this.store.compareAndSet(key, cur?.version ?? 0, encodeAllocation(next))),
          (r) => {
            if (r.ok) this.moveTo(pid, st, next.generation);
            else if (tries > 1) return this.join(pid, st, custom, tries - 1);
          },
        );
      },
    );
  }

  private adopt(pid: string, st: PidState, rec: AllocationRecord): void {
    st.started = this.clock.monotonic() - Math.max(0, this.clock.now() - rec.startedAt);
    let quota = this.defaults;
    if (rec.quota !== undefined) {
      try {
        quota = compileQuota(rec.quota, 'stored quota', DEFAULT_RESOLVED, this.ctx);
      } catch {
        quota = st.quota; // A quota this tracker cannot compile (a user meter it does not declare): it keeps its own.
      }
    }
    st.quota = quota;
    this.moveTo(pid, st, rec.generation);
    if (st.deadline !== undefined) rearm(this.ctx, pid, st);
  }

  private moveTo(pid: string, st: PidState, generation: number): void {
    st.generation = generation;
    st.prefix = generationPrefix(pid, generation);
    st.plans = undefined;
  }

  /** Change the pid's allocation record if it still names this generation (release, adjustQuota). */
  private updateRecord(pid: string, st: PidState, change: (r: AllocationRecord) => AllocationRecord): void | PromiseLike<void> {
    const key = allocationKey(pid);
    const go = (tries: number): void | PromiseLike<void> =>
      andThen(
        this.ctx.guardStore('getValue', () => this.store.getValue(key)),
        (cur) => {
          const rec = decodeAllocation(cur);
          if (cur === undefined || rec === undefined || rec.released || rec.generation !== st.generation) return;
          return andThen(
            this.ctx.guardStore('compareAndSet', () => this.store.compareAndSet(key, cur.version, encodeAllocation(change(rec)))),
            (r) => (r.ok || tries <= 1 ? undefined : go(tries - 1)),
          );
        },
      );
    return go(8);
  }

  /** Run `f` once the pid's allocation record is settled (at once over a synchronous store). */
  private whenReady<T>(st: PidState, f: () => T | PromiseLike<T>): T | PromiseLike<T> {
    return st.ready === undefined ? f() : st.ready.then(f);
  }

  private read(keys: readonly string[]): readonly CounterState[] | PromiseLike<readonly CounterState[]> {
    return this.ctx.guardStore('read', () => this.store.read(keys));
  }

  private usageNow(st: PidState): ResourceUsage | PromiseLike<ResourceUsage> {
    if (st.ready !== undefined) return st.ready.then(() => this.usageNow(st));
    return andThen(this.read(allKeys(this.ctx, st.prefix)), (states) =>
      usageOf(
        this.ctx,
        states.map((s) => s.used),
        this.clock.monotonic() - st.started,
      ),
    );
  }

  /**
   * Add `fields` (and user `meters`) to a pid's counters atomically, tracking it first if
   * needed; resolves with the usage after. The counters it adds to come back from `add`
   * itself, so only the others are read: the fields one record touches cost no second look.
   */
  private apply(
    pid: string,
    fields: readonly bigint[],
    meters: ReadonlyMap<string, bigint> | undefined,
  ): ResourceUsage | PromiseLike<ResourceUsage> {
    let st = this.pids.get(pid);
    if (st === undefined) {
      // Auto-created with the default quota, as the seed does.
      if (this.defaults.rateLimit !== undefined) this.rateLimits?.set(pid, this.defaults.rateLimit);
      st = this.track(pid, this.defaults, false);
    }
    const s = st;
    if (s.ready !== undefined) return s.ready.then(() => this.apply(pid, fields, meters));
    observe(this.ctx, pid, s);
    const userMeters = this.ctx.userMeters;
    const n = FIELDS.length + userMeters.length;
    const items: { key: string; amount: bigint }[] = [];
    const caps: (QuotaCap | undefined)[] = [];
    /** Index (FIELDS, then user meters) of each item. */
    const at: number[] = [];
    for (let i = 0; i < fields.length; i++) {
      const a = fields[i] as bigint;
      if (a === 0n) continue;
      items.push({ key: s.prefix + SUFFIX[i], amount: a });
      caps.push(s.quota.caps[i]);
      at.push(i);
    }
    if (meters !== undefined) {
      for (const [m, a] of meters) {
        if (a === 0n) continue;
        items.push({ key: meterKey(s.prefix, m), amount: a });
        caps.push(s.quota.meterCaps.get(m));
        at.push(FIELDS.length + userMeters.indexOf(m));
      }
    }
    const used: bigint[] = new Array<bigint>(n);
    const rest = (): ResourceUsage | PromiseLike<ResourceUsage> => {
      const keys: string[] = [];
      const where: number[] = [];
      for (let k = 0; k < n; k++) {
        if (used[k] !== undefined) continue;
        keys.push(k < FIELDS.length ? s.prefix + SUFFIX[k] : meterKey(s.prefix, userMeters[k - FIELDS.length] as string));
        where.push(k);
      }
      return andThen(this.read(keys), (states) => {
        for (let j = 0; j < where.length; j++) used[where[j] as number] = (states[j] as CounterState).used;
        return usageOf(this.ctx, used, this.clock.monotonic() - s.started);
      });
    };
    if (items.length === 0) return rest();
    return andThen(
      this.ctx.guardStore('add', () => this.store.add(items)),
      (after) => {
        for (let j = 0; j < items.length; j++) {
          const v = after[j] as bigint;
          used[at[j] as number] = v;
          const cap = caps[j];
          if (cap !== undefined) crossed(this.ctx, pid, cap, (items[j] as { amount: bigint }).amount, v);
        }
        return rest();
      },
    );
  }

  private emitRelease(pid: string, st: PidState, usage: ResourceUsage, used: readonly bigint[]): void {
    const strings = usageStrings(this.ctx, used, usage.elapsedSeconds);
    const at = this.clock.now();
    const durationMs = usage.elapsedSeconds * 1000;
    const entry = {
      id: this.ctx.nextId(),
      at,
      kind: 'tracker.release',
      status: 'ok' as const,
      scope: this.ctx.scopeOf(pid),
      usage: strings,
      cost: strings.money as string,
      currency: this.currency,
      durationMs,
      data: { pid, operationType: st.operationType },
    };
    this.ctx.appendLedger(entry);
    this.ctx.emit('usage', {
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
}
