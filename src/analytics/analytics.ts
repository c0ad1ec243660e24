/**
 * Analytics over the ledger (seeds 003 and 004): cost reports, cost allocation, API call
 * and token analytics, efficiency scores, forecasts, waste and recommendations. It reads
 * the ledger and its own rollups; it never writes limits.
 */
import {
  GovernorError,
  InvalidInputError,
  isPromiseLike,
  scopeWithin,
  systemClock,
  validateId,
  validateScope,
  type Clock,
  type Scope,
} from '../core/index.js';
import type { LedgerEntry, Store } from '../storage/index.js';
import {
  checkQueryKeys,
  resolveOptions,
  resolveWindow,
  type AnalyticsBudget,
  type AnalyticsOptions,
  type ReportQuery,
  type ResolvedOptions,
  type Window,
} from './options.js';
import type { AnalyticsPricing } from './pricing.js';
import { apiCallReport, tokenReport, type ApiCallQuery, type ApiCallReport, type TokenQuery, type TokenReport } from './reports-calls.js';
import {
  allocationReport,
  costForecastReport,
  costReport,
  costStatsReport,
  executionCostReport,
  type CostAllocationReport,
  type CostForecast,
  type CostReport,
  type CostStats,
  type ExecutionCostReport,
} from './reports-costs.js';
import { efficiencyReport, type EfficiencyQuery, type EfficiencyReport } from './reports-efficiency.js';
import { forecastReport, type ForecastQuery, type ForecastReport } from './reports-forecast.js';
import { recommendationReport, wasteReport, type RecommendationList, type WasteReport } from './reports-waste.js';
import { Folder } from './fold.js';
import {
  DAY_MS,
  HOUR_MS,
  decodeFields,
  decompose,
  encodeFields,
  mergeFields,
  parseDim,
  type Cell,
  type FoldConfig,
  type Fields,
} from './rollup.js';
import { cellScope } from './view.js';

const NO_PRICES: AnalyticsPricing = { cost: () => undefined };
const PAGE = 5000;

/** What a user reports about an execution so efficiency scores have real task and quality figures. */
export interface Outcome {
  /** Whether the task the execution ran was completed. */
  readonly completed: boolean;
  /** Quality score from 0 to 1, when the user grades it. */
  readonly quality?: number | undefined;
}

/** What reports get besides cells. */
export interface ReportContext {
  readonly currency: string;
  readonly pricing: AnalyticsPricing;
  readonly options: ResolvedOptions;
  readonly now: number;
  readonly budgets: readonly AnalyticsBudget[];
  /** Cells of `scope` over `[from, to)`. */
  cells(scope: Scope, from: number, to: number): Promise<Cell[]>;
  /** Durations (ms) of the calls that ran in the window, per group key. */
  latencies(scope: Scope, from: number, to: number, key: (e: LedgerEntry) => string): Promise<Map<string, number[]>>;
  /** Every entry of the window (for small scopes such as one execution). */
  entries(scope: Scope, from: number | undefined, to: number | undefined): Promise<LedgerEntry[]>;
}

/**
 * Reports over a store's ledger. Build one over any Store, or use `gov.analytics`, which
 * the governor feeds every ledger entry it writes so hourly and daily rollups stay current.
 */
export class Analytics {
  readonly store: Store;
  readonly clock: Clock;
  readonly currency: string;
  readonly pricing: AnalyticsPricing;
  private readonly o: ResolvedOptions;
  private readonly budgetSource: (() => readonly AnalyticsBudget[]) | undefined;
  private readonly onError: ((e: unknown) => void) | undefined;
  private readonly foldConfig: FoldConfig;
  private readonly live: Folder;
  private pending: LedgerEntry[] = [];
  private flushing: Promise<void> = Promise.resolve();
  /** Draws {@link renderReport}'s HTML. The governor installs the dashboard's (this room cannot import it). */
  reportRenderer: ((query: ReportQuery) => Promise<string>) | undefined;

  constructor(options: AnalyticsOptions) {
    this.pricing = options?.pricing ?? NO_PRICES;
    this.o = resolveOptions(options, options?.pricing);
    this.store = this.o.store;
    this.clock = options.clock ?? systemClock;
    this.currency = this.o.currency;
    this.budgetSource = options.budgets;
    this.onError = options.onError;
    this.foldConfig = {
      currency: this.currency,
      pricing: this.pricing,
      rates: this.o.rates,
      smallInputTokens: this.o.smallInputTokens,
      smallOutputTokens: this.o.smallOutputTokens,
      redundantWindowMs: this.o.redundantWindowMs,
      throttleGapMs: this.o.throttleGapMs,
    };
    this.live = new Folder(this.foldConfig, ['h', 'd']);
  }

  // ---- recording ------------------------------------------------------------------

  /**
   * Take one ledger entry into the rollups (the governor calls this for every entry it
   * writes). Cheap: entries are buffered and folded in batches of `flushEvery`. Never throws.
   */
  record(entry: LedgerEntry): void {
    if (!this.o.rollups) return;
    this.pending.push(entry);
    if (this.pending.length >= this.o.flushEvery) this.flush().then(undefined, (e: unknown) => this.onError?.(e));
  }

  /** Fold the buffered entries and merge them into the store's rollups. Reports call it first. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(
      () => this.flushNow(),
      () => this.flushNow(),
    );
    return this.flushing;
  }

  /**
   * Fold entries already in the ledger into the rollups, e.g. after creating analytics over
   * an existing store. Run it once per range: entries folded twice count twice. Returns how many.
   */
  async backfill(range: { from?: number | undefined; to?: number | undefined } = {}): Promise<number> {
    if (range === null || typeof range !== 'object') throw new InvalidInputError('range', 'must be { from?, to? }', range);
    checkQueryKeys(range, ['from', 'to'], 'range');
    for (const k of ['from', 'to'] as const) {
      const v = range[k];
      if (v !== undefined && !(typeof v === 'number' && Number.isFinite(v) && v >= 0))
        throw new InvalidInputError(`range.${k}`, 'must be epoch ms', v);
    }
    if (range.from !== undefined && range.to !== undefined && range.to <= range.from)
      throw new InvalidInputError('range.to', 'must be after range.from', range.to);
    let n = 0;
    for await (const e of this.scan({}, range.from, range.to)) {
      this.pending.push(e);
      n++;
      if (this.pending.length >= this.o.flushEvery) await this.flush();
    }
    await this.flush();
    return n;
  }

  /**
   * Record what an execution achieved: `completed` and an optional `quality` in [0, 1]. Stored
   * in the ledger as its own kind (`outcome`) under the execution's scope; efficiency scores read it.
   * Given an execution id alone, the scope is taken from the execution's first ledger entry.
   */
  async recordOutcome(execution: string | Scope, outcome: Outcome): Promise<LedgerEntry> {
    let scope: Scope;
    if (typeof execution === 'string') {
      const id = validateId(execution, 'execution');
      const page = await this.store.queryLedger({ scope: { execution: id }, kinds: ['call'], limit: 1 });
      scope = page.entries[0]?.scope ?? { execution: id };
    } else {
      scope = validateScope(execution, 'execution', false);
      if (scope.execution === undefined) throw new InvalidInputError('execution.execution', 'must name the execution', execution);
    }
    if (outcome === null || typeof outcome !== 'object') throw new InvalidInputError('outcome', 'must be { completed, quality? }', outcome);
    checkQueryKeys(outcome, ['completed', 'quality'], 'outcome');
    if (typeof outcome.completed !== 'boolean') throw new InvalidInputError('outcome.completed', 'must be a boolean', outcome.completed);
    const q = outcome.quality;
    if (q !== undefined && !(typeof q === 'number' && q >= 0 && q <= 1)) {
      throw new InvalidInputError('outcome.quality', 'must be a number from 0 to 1', q);
    }
    const entry: LedgerEntry = {
      id: `outcome-${globalThis.crypto.randomUUID()}`,
      at: this.clock.now(),
      kind: 'outcome',
      status: 'ok',
      scope,
      usage: {},
      cost: '0',
      currency: this.currency,
      data: q === undefined ? { completed: outcome.completed } : { completed: outcome.completed, quality: q },
    };
    await this.store.appendLedger([entry]);
    this.record(entry);
    return entry;
  }

  // ---- reports --------------------------------------------------------------------

  /** Costs of a scope over a period (seed 004 `GET /costs`): totals, LLM vs compute, by model, by resource, daily trend. */
  async getCosts(query?: ReportQuery): Promise<CostReport> {
    const w = this.window(query);
    return costReport(this.context(), w);
  }

  /** Cost of one execution (seed 004 `GET /executions/{id}/costs`), read from the ledger. */
  async getExecutionCost(executionId: string): Promise<ExecutionCostReport> {
    validateId(executionId, 'executionId');
    return executionCostReport(this.context(), executionId);
  }

  /** Month-to-date spend and the end-of-month forecast (seed 004 `GET /cost-forecast`). */
  async getCostForecast(scope?: Scope): Promise<CostForecast> {
    return costForecastReport(this.context(), validateScope(scope, 'scope', false));
  }

  /** Cost statistics of a period (seed 004 `GET /cost-stats`). */
  async getCostStats(query?: ReportQuery): Promise<CostStats> {
    return costStatsReport(this.context(), this.window(query));
  }

  /** Daily cost per workspace and agent split into cpu, memory, gpu, storage, network, token and API cost (seed 003 §4.1). */
  async getCostAllocation(query?: ReportQuery): Promise<CostAllocationReport> {
    return allocationReport(this.context(), this.window(query));
  }

  /** API call analytics per agent and endpoint/model (seed 003 §3.1). */
  async getApiCallAnalytics(query?: ApiCallQuery): Promise<ApiCallReport> {
    return apiCallReport(this.context(), this.window(query, ['by']), query ?? {});
  }

  /** Token analytics (seed 003 §2): distribution, per call, cache hits, context windows, daily budget status. */
  async getTokenAnalytics(query?: TokenQuery): Promise<TokenReport> {
    return tokenReport(this.context(), this.window(query, ['dailyTokenBudget']), query ?? {});
  }

  /** Efficiency scores per agent (seed 003 §5.1), normalized across the agents of the scope. */
  async getEfficiencyScores(query?: EfficiencyQuery): Promise<EfficiencyReport> {
    return efficiencyReport(this.context(), this.window(query, ['by']), query ?? {});
  }

  /** Forecasts of tokens, calls, compute and cost over a horizon, with prediction intervals and budget crossings (seed 003 §6.1). */
  async getForecast(query?: ForecastQuery): Promise<ForecastReport> {
    return forecastReport(this.context(), query === undefined ? {} : query);
  }

  /** Waste: failed calls, redundant calls, oversized models, low cache hit rates, idle reservations (seed 003 §8.1). */
  async getWaste(query?: ReportQuery): Promise<WasteReport> {
    return wasteReport(this.context(), this.window(query));
  }

  /** Recommendations: model downgrades, caching, batching, rate-limit strategy, each with priority and effort. */
  async getRecommendations(query?: ReportQuery): Promise<RecommendationList> {
    return recommendationReport(this.context(), this.window(query));
  }

  // ---- data access ----------------------------------------------------------------

  /** One self-contained HTML report of `{ scope, period }` as of now (docs/dashboard.md); `gov.analytics` has a renderer. */
  renderReport(query: ReportQuery = {}): Promise<string> {
    if (this.reportRenderer === undefined) {
      return Promise.reject(
        new GovernorError(
          'unsupported',
          'renderReport needs a renderer: use gov.analytics, or renderReport(gov) from agent-governor/dashboard',
        ),
      );
    }
    return this.reportRenderer(query);
  }

  private window(query: ReportQuery | undefined, extraKeys?: readonly string[]): Window {
    return resolveWindow(query, this.clock.now(), 'month', extraKeys);
  }

  private context(): ReportContext {
    return {
      currency: this.currency,
      pricing: this.pricing,
      options: this.o,
      now: this.clock.now(),
      budgets: this.budgetSource?.() ?? [],
      cells: (scope, from, to) => this.cells(scope, from, to),
      latencies: (scope, from, to, key) => this.latencies(scope, from, to, key),
      entries: async (scope, from, to) => {
        const out: LedgerEntry[] = [];
        for await (const e of this.scan(scope, from, to)) out.push(e);
        return out;
      },
    };
  }

  private async *scan(scope: Scope, from: number | undefined, to: number | undefined): AsyncGenerator<LedgerEntry> {
    let cursor: string | undefined;
    do {
      const page = await this.store.queryLedger({ scope, from, to, limit: PAGE, cursor });
      for (const e of page.entries) yield e;
      cursor = page.entries.length === 0 ? undefined : page.next;
    } while (cursor !== undefined);
  }

  private async latencies(scope: Scope, from: number, to: number, key: (e: LedgerEntry) => string): Promise<Map<string, number[]>> {
    const out = new Map<string, number[]>();
    for await (const e of this.scan(scope, from, to)) {
      if (e.kind !== 'call' || (e.status !== 'ok' && e.status !== 'error') || e.durationMs === undefined) continue;
      const k = key(e);
      let list = out.get(k);
      if (list === undefined) out.set(k, (list = []));
      list.push(e.durationMs);
    }
    for (const list of out.values()) list.sort((a, b) => a - b);
    return out;
  }

  /** Cells of `scope` over `[from, to)`: rollups for whole hours and days, the ledger for the rest. */
  private async cells(scope: Scope, from: number, to: number): Promise<Cell[]> {
    const out: Cell[] = [];
    if (!this.o.rollups || scope.execution !== undefined) {
      await this.foldRange(out, scope, from, to);
      return out;
    }
    await this.flush();
    // Nothing was folded before the first indexed day: start there, not at `from` (which may be 0).
    const first = await this.store.getValue(`${this.o.keyPrefix}first`);
    if (first === undefined) return out;
    const parts = decompose(Math.max(from, Number(first.value)), to);
    for (const [a, b] of parts.raw) await this.foldRange(out, scope, a, b);
    const dimsByDay = new Map<number, string[]>();
    const dims = async (day: number): Promise<string[]> => {
      let d = dimsByDay.get(day);
      if (d === undefined) {
        const v = await this.store.getValue(`${this.o.keyPrefix}i:${day}`);
        d = v === undefined ? [] : (JSON.parse(v.value) as string[]);
        dimsByDay.set(day, d);
      }
      return d;
    };
    const read = async (grain: 'h' | 'd', start: number): Promise<void> => {
      for (const dim of await dims(Math.floor(start / DAY_MS) * DAY_MS)) {
        const p = parseDim(dim);
        const cell: Cell = { grain, start, ...p, f: {} };
        if (!scopeWithin(cellScope(cell), scope)) continue;
        const v = await this.store.getValue(`${this.o.keyPrefix}${grain}:${start}:${dim}`);
        if (v === undefined) continue;
        mergeFields(cell.f, decodeFields(v.value));
        out.push(cell);
      }
    };
    for (const d of parts.days) await read('d', d);
    // Hours past the retention were emptied: the ledger answers for them.
    const kept = this.hourCutoff();
    for (const h of parts.hours) {
      if (h >= kept) await read('h', h);
      else await this.foldRange(out, scope, h, Math.min(h + HOUR_MS, to));
    }
    return out;
  }

  private async foldRange(out: Cell[], scope: Scope, from: number, to: number): Promise<void> {
    const folder = new Folder(this.foldConfig, ['h']);
    const warmUp = Math.max(this.o.redundantWindowMs, this.o.throttleGapMs);
    for await (const e of this.scan(scope, from - warmUp, to)) folder.fold(e, e.at >= from);
    out.push(...folder.output());
  }

  private async flushNow(): Promise<void> {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.live.reset();
    for (const e of batch) this.live.fold(e);
    const newDims = new Map<number, Set<string>>();
    const dims = this.live.dimKeys();
    for (const [i, cell] of this.live.output().entries()) {
      const dim = dims[i] as string;
      await this.merge(`${this.o.keyPrefix}${cell.grain}:${cell.start}:${dim}`, cell.f);
      if (cell.grain === 'd') {
        let s = newDims.get(cell.start);
        if (s === undefined) newDims.set(cell.start, (s = new Set()));
        s.add(dim);
      }
    }
    for (const [day, dims] of newDims) await this.index(day, dims);
    this.live.reset();
    await this.pruneHours();
  }

  /** The first hour whose cell is still kept. */
  private hourCutoff(): number {
    return Math.floor((this.clock.now() - this.o.hourlyRetentionMs) / DAY_MS) * DAY_MS;
  }

  /** Empty the hourly cells of the days that left the retention, once per day that leaves. */
  private async pruneHours(): Promise<void> {
    const cutoff = this.hourCutoff();
    const markKey = `${this.o.keyPrefix}pruned`;
    const mark = await this.store.getValue(markKey);
    let day = mark === undefined ? undefined : Number(mark.value);
    if (day !== undefined && day >= cutoff) return;
    if (day === undefined) {
      // First run: start from the oldest indexed day rather than the epoch.
      const first = await this.store.getValue(`${this.o.keyPrefix}first`);
      day = first === undefined ? cutoff : Number(first.value);
    }
    for (; day < cutoff; day += DAY_MS) {
      const index = await this.store.getValue(`${this.o.keyPrefix}i:${day}`);
      if (index === undefined) continue;
      for (const dim of JSON.parse(index.value) as string[]) {
        for (let h = day; h < day + DAY_MS; h += HOUR_MS) {
          const key = `${this.o.keyPrefix}h:${h}:${dim}`;
          const cur = await this.store.getValue(key);
          if (cur !== undefined && cur.value !== '') await this.store.compareAndSet(key, cur.version, '');
        }
      }
    }
    // Losing this race only repeats work: emptying an empty cell changes nothing.
    await this.store.compareAndSet(markKey, mark?.version ?? 0, String(cutoff));
  }

  /** Add `f` into the stored cell at `key` by compare-and-set, so processes sharing a store never lose each other's counts. */
  private async merge(key: string, f: Fields): Promise<void> {
    for (;;) {
      const cur = await this.store.getValue(key);
      const merged = decodeFields(cur?.value);
      mergeFields(merged, f);
      const r = this.store.compareAndSet(key, cur?.version ?? 0, encodeFields(merged));
      if ((isPromiseLike(r) ? await r : r).ok) return;
    }
  }

  private async index(day: number, dims: Set<string>): Promise<void> {
    const first = await this.store.getValue(`${this.o.keyPrefix}first`);
    if (first === undefined || Number(first.value) > day) {
      await this.store.compareAndSet(`${this.o.keyPrefix}first`, first?.version ?? 0, String(day));
    }
    const key = `${this.o.keyPrefix}i:${day}`;
    for (;;) {
      const cur = await this.store.getValue(key);
      const list = cur === undefined ? [] : (JSON.parse(cur.value) as string[]);
      const have = new Set(list);
      let added = false;
      for (const d of dims) if (!have.has(d)) (list.push(d), (added = true));
      if (!added) return;
      const r = await this.store.compareAndSet(key, cur?.version ?? 0, JSON.stringify(list));
      if (r.ok) return;
    }
  }
}
