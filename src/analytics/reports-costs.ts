/**
 * Cost reports (seed 004) and cost allocation (seed 003 §4.1).
 */
import { Decimal } from 'decimal.js';
import { periodAt, unitsToDecimal, type Scope } from '../core/index.js';
import type { ReportContext } from './analytics.js';
import type { Window } from './options.js';
import { Folder } from './fold.js';
import { DAY_MS, g, RESOURCES, type Cell, type Fields } from './rollup.js';
import { cellScope, daily, dayOf, groupBy, iso, isoDay, money, moneyPer, round6, tokenCount, total, usage, toCSV } from './view.js';

/** One model's share of a period (seed 004 `by_model`). */
export interface ModelCost {
  readonly provider: string;
  readonly model: string;
  readonly cost: string;
  readonly tokens: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedInputTokens: number;
  readonly calls: number;
}

/** One resource's share (seed 004 `by_resource`); `api` is cost no token or resource explains. */
export interface ResourceCostShare {
  readonly resourceType: 'cpu' | 'memory' | 'gpu' | 'storage' | 'network' | 'api';
  readonly meter: string | null;
  readonly cost: string;
  readonly usage: string;
  readonly count: number;
}

/** One day of the cost trend. */
export interface DailyCost {
  readonly date: string;
  readonly cost: string;
  readonly llmCost: string;
  readonly computeCost: string;
  readonly calls: number;
  readonly tokens: number;
}

/** The cost report of seed 004 (`GET /workspaces/{id}/costs`). */
export interface CostReport {
  readonly scope: Scope;
  readonly period: string;
  readonly from: string;
  readonly to: string;
  readonly currency: string;
  readonly totalCost: string;
  readonly llmCost: string;
  readonly computeCost: string;
  readonly breakdown: {
    readonly llm: { readonly total: string; readonly tokens: number; readonly calls: number };
    readonly compute: { readonly total: string; readonly records: number };
  };
  readonly byModel: readonly ModelCost[];
  readonly byResource: readonly ResourceCostShare[];
  readonly trends: {
    readonly daily: readonly DailyCost[];
    readonly forecastEom: string | null;
    readonly forecastConfidence: string | null;
  };
  /** Call entries in another currency, left out of every amount. */
  readonly otherCurrencyCalls: number;
  toCSV(): string;
}

function byModel(cells: readonly Cell[]): ModelCost[] {
  const rows: ModelCost[] = [];
  for (const { cell, f } of groupBy(cells, (c) => JSON.stringify([c.provider, c.model])).values()) {
    if (g(f, 'llm') === 0n && cell.model === '') continue;
    rows.push({
      provider: cell.provider,
      model: cell.model,
      cost: money(g(f, 'cost')),
      tokens: Number(tokenCount(f)),
      inputTokens: Number(g(f, 'u:inputTokens') / 1_000_000n),
      outputTokens: Number(g(f, 'u:outputTokens') / 1_000_000n),
      cachedInputTokens: Number(g(f, 'u:cachedInputTokens') / 1_000_000n),
      calls: Number(g(f, 'calls')),
    });
  }
  return rows.sort((a, b) => new Decimal(b.cost).cmp(a.cost) || a.model.localeCompare(b.model) || a.provider.localeCompare(b.provider));
}

function byResource(f: Fields): ResourceCostShare[] {
  const rows: ResourceCostShare[] = [];
  for (const [meter, r] of RESOURCES) {
    const cost = g(f, `res:${r}`);
    const used = g(f, `u:${meter}`);
    if (cost === 0n && used === 0n) continue;
    rows.push({ resourceType: r, meter, cost: money(cost), usage: usage(used), count: Number(g(f, `n:${meter}`)) });
  }
  if (g(f, 'apiCost') > 0n)
    rows.push({ resourceType: 'api', meter: null, cost: money(g(f, 'apiCost')), usage: '0', count: Number(g(f, 'computeN')) });
  return rows;
}

/** Build the cost report of a window. */
export async function costReport(ctx: ReportContext, w: Window): Promise<CostReport> {
  const cells = await ctx.cells(w.scope, w.from, w.to);
  const t = total(cells);
  const cost = g(t, 'cost');
  const llm = g(t, 'tokenCost');
  const dailyRows: DailyCost[] = daily(cells, w.from, w.to).map(({ day, f }) => ({
    date: isoDay(day),
    cost: money(g(f, 'cost')),
    llmCost: money(g(f, 'tokenCost')),
    computeCost: money(g(f, 'cost') - g(f, 'tokenCost')),
    calls: Number(g(f, 'calls')),
    tokens: Number(tokenCount(f)),
  }));
  let forecastEom: string | null = null;
  let forecastConfidence: string | null = null;
  if (w.label === 'month') {
    const fc = forecastFrom(ctx.now, cells, t);
    forecastEom = fc.forecastEndOfMonth;
    forecastConfidence = fc.projectionAccuracy;
  }
  const models = byModel(cells);
  return {
    scope: w.scope,
    period: w.label,
    from: iso(w.from),
    to: iso(w.to),
    currency: ctx.currency,
    totalCost: money(cost),
    llmCost: money(llm),
    computeCost: money(cost - llm),
    breakdown: {
      llm: { total: money(llm), tokens: Number(tokenCount(t)), calls: Number(g(t, 'llm')) },
      compute: { total: money(cost - llm), records: Number(g(t, 'computeN')) },
    },
    byModel: models,
    byResource: byResource(t),
    trends: { daily: dailyRows, forecastEom, forecastConfidence },
    otherCurrencyCalls: Number(g(t, 'otherCurrency')),
    toCSV: () => toCSV(models as unknown as Record<string, unknown>[]),
  };
}

/** The cost of one execution (seed 004 `GET /executions/{id}/costs`). */
export interface ExecutionCostReport {
  readonly executionId: string;
  readonly currency: string;
  readonly totalCost: string;
  readonly llmCost: string;
  readonly computeCost: string;
  readonly breakdown: {
    readonly llm: { readonly cost: string; readonly tokens: number; readonly calls: number };
    readonly compute: {
      readonly cost: string;
      readonly byType: Readonly<Record<string, { readonly cost: string; readonly usage: string }>>;
    };
  };
  /** Every call entry of the execution, and how they ended. */
  readonly calls: number;
  readonly failedCalls: number;
  readonly firstAt: string | null;
  readonly lastAt: string | null;
}

/** Read one execution's entries from the ledger and price them. */
export async function executionCostReport(ctx: ReportContext, executionId: string): Promise<ExecutionCostReport> {
  const entries = await ctx.entries({ execution: executionId }, undefined, undefined);
  const folder = new Folder(foldConfigOf(ctx), ['d']);
  for (const e of entries) folder.fold(e);
  const t = total(folder.output());
  const byType: Record<string, { cost: string; usage: string }> = {};
  for (const r of byResource(t)) byType[r.resourceType] = { cost: r.cost, usage: r.usage };
  const calls = entries.filter((e) => e.kind === 'call');
  return {
    executionId,
    currency: ctx.currency,
    totalCost: money(g(t, 'cost')),
    llmCost: money(g(t, 'tokenCost')),
    computeCost: money(g(t, 'cost') - g(t, 'tokenCost')),
    breakdown: {
      llm: { cost: money(g(t, 'tokenCost')), tokens: Number(tokenCount(t)), calls: Number(g(t, 'llm')) },
      compute: { cost: money(g(t, 'cost') - g(t, 'tokenCost')), byType },
    },
    calls: calls.length,
    failedCalls: Number(g(t, 'error')),
    firstAt: calls.length === 0 ? null : iso((calls[0] as { at: number }).at),
    lastAt: calls.length === 0 ? null : iso((calls[calls.length - 1] as { at: number }).at),
  };
}

/** The fold configuration a report uses for its own raw folds. */
export function foldConfigOf(ctx: ReportContext): ConstructorParameters<typeof Folder>[0] {
  const o = ctx.options;
  return {
    currency: ctx.currency,
    pricing: ctx.pricing,
    rates: o.rates,
    smallInputTokens: o.smallInputTokens,
    smallOutputTokens: o.smallOutputTokens,
    redundantWindowMs: o.redundantWindowMs,
    throttleGapMs: o.throttleGapMs,
  };
}

/** Month-to-date spend and end-of-month forecast (seed 004). */
export interface CostForecast {
  readonly currentMonthSpent: string;
  readonly llmCost: string;
  readonly computeCost: string;
  /** Days since the month began, fractional (UTC), at least 1. */
  readonly daysElapsed: number;
  readonly totalDays: number;
  readonly dailyAverage: string;
  /** `dailyAverage × totalDays`: the month at the pace so far. */
  readonly forecastEndOfMonth: string;
  /** From 0 to 1: half how far into the month we are, half how steady the complete days were (1 / (1 + CV)). */
  readonly forecastConfidence: number;
  /** `high` at confidence ≥ 0.75, `medium` ≥ 0.5, `low` below. */
  readonly projectionAccuracy: 'high' | 'medium' | 'low';
  readonly currency: string;
}

function forecastFrom(now: number, cells: readonly Cell[], t: Fields): Omit<CostForecast, 'currency'> {
  const month = periodAt(now, 'month', 'UTC');
  const totalDays = Math.round((month.endMs - month.startMs) / DAY_MS);
  const spent = g(t, 'cost');
  // At least a day, so the first minutes of a month do not extrapolate a minute's spend to a month.
  const elapsed = new Decimal(Math.max(DAY_MS, now + 1 - month.startMs)).div(DAY_MS);
  const avg = unitsToDecimal(spent).div(elapsed);
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  const full = daily(
    cells.filter((c) => dayOf(c) < today),
    month.startMs,
    today,
  ).map(({ f }) => Number(g(f, 'cost')));
  let cv = 1;
  if (full.length >= 2) {
    const mean = full.reduce((s, v) => s + v, 0) / full.length;
    const sd = Math.sqrt(full.reduce((s, v) => s + (v - mean) ** 2, 0) / (full.length - 1));
    cv = mean === 0 ? 1 : sd / mean;
  }
  const confidence = round6(0.5 * Math.min(1, elapsed.toNumber() / totalDays) + 0.5 / (1 + cv));
  return {
    currentMonthSpent: money(spent),
    llmCost: money(g(t, 'tokenCost')),
    computeCost: money(spent - g(t, 'tokenCost')),
    daysElapsed: round6(elapsed.toNumber()),
    totalDays,
    dailyAverage: avg.toDecimalPlaces(12, Decimal.ROUND_HALF_EVEN).toFixed(),
    forecastEndOfMonth: avg.times(totalDays).toDecimalPlaces(12, Decimal.ROUND_HALF_EVEN).toFixed(),
    forecastConfidence: confidence,
    projectionAccuracy: confidence >= 0.75 ? 'high' : confidence >= 0.5 ? 'medium' : 'low',
  };
}

/** The month-to-date forecast of a scope. */
export async function costForecastReport(ctx: ReportContext, scope: Scope): Promise<CostForecast> {
  const month = periodAt(ctx.now, 'month', 'UTC');
  const cells = await ctx.cells(scope, month.startMs, ctx.now + 1);
  return { ...forecastFrom(ctx.now, cells, total(cells)), currency: ctx.currency };
}

/** Cost statistics of a period (seed 004 `GET /cost-stats`). */
export interface CostStats {
  readonly from: string;
  readonly to: string;
  readonly currency: string;
  readonly totalCost: string;
  readonly calls: {
    readonly total: number;
    readonly ok: number;
    readonly error: number;
    readonly refused: number;
    readonly released: number;
  };
  /** Cost per call that ran (ok or error). */
  readonly avgCostPerCall: string;
  readonly failedCost: string;
  /** Over every day of the window, zeros included. */
  readonly daily: { readonly days: number; readonly min: string; readonly max: string; readonly mean: string; readonly median: string };
  /** Models by cost (calls without a model under their name, e.g. a tool). */
  readonly topModels: readonly { readonly model: string; readonly cost: string; readonly share: number }[];
  readonly topAgents: readonly { readonly agent: string; readonly cost: string; readonly share: number }[];
}

/** Cost statistics of a window. */
export async function costStatsReport(ctx: ReportContext, w: Window): Promise<CostStats> {
  const cells = await ctx.cells(w.scope, w.from, w.to);
  const t = total(cells);
  const cost = g(t, 'cost');
  const days = daily(cells, w.from, w.to)
    .map(({ f }) => g(f, 'cost'))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const n = days.length;
  const sum = days.reduce((s, v) => s + v, 0n);
  const median =
    n === 0 ? '0' : n % 2 === 1 ? money(days[(n - 1) / 2] as bigint) : moneyPer((days[n / 2 - 1] as bigint) + (days[n / 2] as bigint), 2);
  const share = (c: bigint): number => (cost === 0n ? 0 : round6(Number(c) / Number(cost)));
  const top = (key: (c: Cell) => string): { key: string; cost: bigint }[] =>
    [...groupBy(cells, key)]
      .filter(([, v]) => g(v.f, 'calls') > 0n)
      .map(([k, v]) => ({ key: k, cost: g(v.f, 'cost') }))
      .sort((a, b) => (a.cost > b.cost ? -1 : a.cost < b.cost ? 1 : a.key.localeCompare(b.key)))
      .slice(0, 5);
  return {
    from: iso(w.from),
    to: iso(w.to),
    currency: ctx.currency,
    totalCost: money(cost),
    calls: {
      total: Number(g(t, 'calls')),
      ok: Number(g(t, 'ok')),
      error: Number(g(t, 'error')),
      refused: Number(g(t, 'refused')),
      released: Number(g(t, 'released')),
    },
    avgCostPerCall: moneyPer(cost, g(t, 'ok') + g(t, 'error')),
    failedCost: money(g(t, 'errorCost')),
    daily: {
      days: n,
      min: money(days[0] ?? 0n),
      max: money(days[n - 1] ?? 0n),
      mean: moneyPer(sum, n),
      median,
    },
    topModels: top((c) => c.model || c.name).map((r) => ({ model: r.key, cost: money(r.cost), share: share(r.cost) })),
    topAgents: top((c) => cellScope(c).agent ?? '').map((r) => ({ agent: r.key, cost: money(r.cost), share: share(r.cost) })),
  };
}

/** One row of the cost allocation (seed 003 `infrastructure_cost_allocation`). */
export interface AllocationRow {
  readonly workspace: string;
  readonly agent: string;
  readonly date: string;
  readonly cpuCost: string;
  readonly memoryCost: string;
  readonly gpuCost: string;
  readonly storageCost: string;
  readonly networkCost: string;
  readonly tokenCost: string;
  readonly apiCost: string;
  readonly totalDailyCost: string;
  /** The pair's cost over the 30 calendar days ending on `date`. */
  readonly rolling30dCost: string;
}

/** The cost allocation report. */
export interface CostAllocationReport {
  readonly from: string;
  readonly to: string;
  readonly currency: string;
  readonly rows: readonly AllocationRow[];
  toCSV(): string;
}

/** Daily cost per workspace and agent, split by resource, with a rolling 30-day total. */
export async function allocationReport(ctx: ReportContext, w: Window): Promise<CostAllocationReport> {
  const firstDay = Math.floor(w.from / DAY_MS) * DAY_MS;
  // The 29 days before the window feed the rolling totals only.
  const early = await ctx.cells(w.scope, firstDay - 29 * DAY_MS, firstDay);
  const cells = await ctx.cells(w.scope, w.from, w.to);
  const pairKey = (c: Cell): string => JSON.stringify([cellScope(c).workspace ?? '', cellScope(c).agent ?? '']);
  const history = groupBy([...early, ...cells], (c) => `${pairKey(c)}@${dayOf(c)}`);
  const rows: AllocationRow[] = [];
  for (const [pair, { cell: sample }] of groupBy(cells, pairKey)) {
    const [workspace, agent] = JSON.parse(pair) as [string, string];
    const days = groupBy(
      cells.filter((c) => pairKey(c) === pairKey(sample)),
      (c) => String(dayOf(c)),
    );
    for (const [d, v] of [...days].sort((a, b) => Number(a[0]) - Number(b[0]))) {
      const day = Number(d);
      if (g(v.f, 'calls') === 0n && g(v.f, 'cost') === 0n) continue;
      let rolling = 0n;
      for (let k = 0; k < 30; k++) rolling += g(history.get(`${pair}@${day - k * DAY_MS}`)?.f ?? {}, 'cost');
      const f = v.f;
      rows.push({
        workspace,
        agent,
        date: isoDay(day),
        cpuCost: money(g(f, 'res:cpu')),
        memoryCost: money(g(f, 'res:memory')),
        gpuCost: money(g(f, 'res:gpu')),
        storageCost: money(g(f, 'res:storage')),
        networkCost: money(g(f, 'res:network')),
        tokenCost: money(g(f, 'tokenCost')),
        apiCost: money(g(f, 'apiCost')),
        totalDailyCost: money(g(f, 'cost')),
        rolling30dCost: money(rolling),
      });
    }
  }
  rows.sort((a, b) => a.date.localeCompare(b.date) || a.workspace.localeCompare(b.workspace) || a.agent.localeCompare(b.agent));
  return {
    from: iso(w.from),
    to: iso(w.to),
    currency: ctx.currency,
    rows,
    toCSV: () => toCSV(rows as unknown as Record<string, unknown>[]),
  };
}
