/**
 * API call analytics (seed 003 §3.1) and token analytics (seed 003 §2).
 */
import { InvalidInputError } from '../core/index.js';
import type { LedgerEntry } from '../storage/index.js';
import type { ReportContext } from './analytics.js';
import type { ReportQuery, Window } from './options.js';
import { DAY_MS, g, type Fields } from './rollup.js';
import { nearestRank, sketchPercentile, SKETCH_ACCURACY } from './stats.js';
import { cellScope, daily, groupBy, iso, isoDay, money, moneyPer, ratio, round6, tokenCount, total, toCSV } from './view.js';

/** Query of {@link apiCallReport}. */
export interface ApiCallQuery extends ReportQuery {
  /** Group rows by agent and `'model'` (default; calls without a model by their name) or by agent and `'name'` (the endpoint or tool a call names). */
  readonly by?: 'model' | 'name' | undefined;
}

/** One row of API call analytics: an agent and an endpoint (model or name). */
export interface ApiCallRow {
  readonly agent: string;
  readonly endpoint: string;
  readonly totalCalls: number;
  readonly successfulCalls: number;
  readonly failedCalls: number;
  readonly rateLimitedCalls: number;
  /** Refusals other than rate limits (budgets, quotas, open breakers). */
  readonly otherRefusedCalls: number;
  /** Reservations released without running. */
  readonly releasedCalls: number;
  readonly avgLatencyMs: number | null;
  readonly p95LatencyMs: number | null;
  readonly p99LatencyMs: number | null;
  readonly totalCost: string;
  /** Cost per call that ran (ok or error). */
  readonly costPerCall: string;
  readonly wastedCostFailedCalls: string;
  /** Runs of rate-limit refusals (a gap longer than `throttleGap` starts a new one). */
  readonly throttleIncidents: number;
  /** Error and refusal codes with their counts. */
  readonly errorTypes: Readonly<Record<string, number>>;
  /** Failed calls / calls that ran. */
  readonly errorRate: number;
  /** Calls with `metadata.attempt > 1` that succeeded / all such calls (null when none). */
  readonly retrySuccessRate: number | null;
  readonly retries: number;
}

/** The API call analytics report. */
export interface ApiCallReport {
  readonly from: string;
  readonly to: string;
  readonly currency: string;
  /** `exact`: nearest-rank over every call of the window; `sketch`: log buckets, each within ±1 % of its values. */
  readonly percentileMethod: 'exact' | 'sketch';
  readonly sketchRelativeAccuracy: number;
  readonly rows: readonly ApiCallRow[];
  readonly totals: ApiCallRow;
  toCSV(): string;
}

function latencySketch(f: Fields): Map<string, number> {
  const m = new Map<string, number>();
  for (const k in f) if (k.startsWith('lat:')) m.set(k.slice(4), Number(f[k]));
  return m;
}

function row(agent: string, endpoint: string, f: Fields, lat: readonly number[] | undefined): ApiCallRow {
  const errors: Record<string, number> = {};
  for (const k of Object.keys(f).sort()) if (k.startsWith('err:')) errors[k.slice(4)] = Number(f[k]);
  const ran = g(f, 'ok') + g(f, 'error');
  const durN = g(f, 'durN');
  const sketch = latencySketch(f);
  const pct = (p: number): number | null => {
    const v = lat === undefined ? sketchPercentile(sketch, p) : nearestRank(lat, p);
    return v === null ? null : round6(v);
  };
  const rateLimited = Number(g(f, 'rateLimited'));
  return {
    agent,
    endpoint,
    totalCalls: Number(g(f, 'calls')),
    successfulCalls: Number(g(f, 'ok')),
    failedCalls: Number(g(f, 'error')),
    rateLimitedCalls: rateLimited,
    otherRefusedCalls: Number(g(f, 'refused')) - rateLimited,
    releasedCalls: Number(g(f, 'released')),
    avgLatencyMs: durN === 0n ? null : round6(Number(g(f, 'durUs')) / Number(durN) / 1000),
    p95LatencyMs: pct(95),
    p99LatencyMs: pct(99),
    totalCost: money(g(f, 'cost')),
    costPerCall: moneyPer(g(f, 'cost'), ran),
    wastedCostFailedCalls: money(g(f, 'errorCost')),
    throttleIncidents: Number(g(f, 'throttleIncidents')),
    errorTypes: errors,
    errorRate: ratio(g(f, 'error'), ran),
    retrySuccessRate: g(f, 'retries') === 0n ? null : ratio(g(f, 'retriesOk'), g(f, 'retries')),
    retries: Number(g(f, 'retries')),
  };
}

/** The endpoint of a call: its model (or its name when it has none, e.g. a tool call), or its name. */
function endpointOf(by: 'model' | 'name', model: string, name: string): string {
  return by === 'model' ? model || name : name || model;
}

/** API call analytics of a window, per agent and endpoint. */
export async function apiCallReport(ctx: ReportContext, w: Window, q: ApiCallQuery): Promise<ApiCallReport> {
  const by = q.by ?? 'model';
  if (by !== 'model' && by !== 'name') throw new InvalidInputError('query.by', "must be 'model' or 'name'", q.by);
  const cells = await ctx.cells(w.scope, w.from, w.to);
  const t = total(cells);
  const exact = g(t, 'durN') <= BigInt(ctx.options.exactPercentileLimit);
  const keyOf = (agent: string, endpoint: string): string => JSON.stringify([agent, endpoint]);
  let lat: Map<string, number[]> | undefined;
  let all: number[] | undefined;
  if (exact) {
    lat = await ctx.latencies(w.scope, w.from, w.to, (e: LedgerEntry) =>
      keyOf(e.scope.agent ?? '', endpointOf(by, e.model ?? '', e.name ?? '')),
    );
    all = [...lat.values()].flat().sort((a, b) => a - b);
  }
  const groups = groupBy(cells, (c) => keyOf(cellScope(c).agent ?? '', endpointOf(by, c.model, c.name)));
  const rows = [...groups]
    .filter(([, { f }]) => g(f, 'calls') > 0n)
    .map(([k, { f }]) => {
      const [agent, endpoint] = JSON.parse(k) as [string, string];
      return row(agent, endpoint, f, exact ? (lat?.get(k) ?? []) : undefined);
    })
    .sort((a, b) => a.agent.localeCompare(b.agent) || a.endpoint.localeCompare(b.endpoint));
  return {
    from: iso(w.from),
    to: iso(w.to),
    currency: ctx.currency,
    percentileMethod: exact ? 'exact' : 'sketch',
    sketchRelativeAccuracy: SKETCH_ACCURACY,
    rows,
    totals: row('*', '*', t, all),
    toCSV: () => toCSV(rows as unknown as Record<string, unknown>[]),
  };
}

/** Query of {@link tokenReport}. */
export interface TokenQuery extends ReportQuery {
  /** Daily token budget (input + output) the daily status compares against (seed 003 §2.2). */
  readonly dailyTokenBudget?: number | undefined;
}

/** Per-model token figures. */
export interface ModelTokens {
  readonly provider: string;
  readonly model: string;
  readonly calls: number;
  readonly inputTokens: number;
  readonly outputTokens: number;
  readonly cachedInputTokens: number;
  readonly avgInputTokens: number;
  readonly avgOutputTokens: number;
  readonly cacheHitRatio: number;
  /** The model's context window (from the pricing), when known. */
  readonly contextWindow: number | null;
  /** Average input tokens per call over the context window. */
  readonly contextWindowUsed: number | null;
  /** Calls that used 80 % of the window or more. */
  readonly callsNearWindow: number;
  /** Share of successful calls at or below the small-call sizes. */
  readonly smallCallShare: number;
  /** A model sizing hint (seed 003 `recommend_model_sizing`). */
  readonly sizing: 'oversized' | 'near_window' | 'fits';
}

/** One day of token budget tracking (seed 003 `token_budget_tracking`). */
export interface TokenDay {
  readonly date: string;
  readonly totalTokens: number;
  readonly dailyCost: string;
  readonly dailyTokenBudget: number | null;
  readonly dailyBudgetUsagePct: number | null;
  /** Tokens over the 30 calendar days ending on `date`. */
  readonly rolling30dTokens: number;
  readonly budgetStatus: 'within_budget' | 'near_limit' | 'over_budget' | null;
}

/** The token analytics report. */
export interface TokenReport {
  readonly from: string;
  readonly to: string;
  readonly distribution: {
    readonly inputTokens: number;
    readonly uncachedInputTokens: number;
    readonly cachedInputTokens: number;
    readonly cacheWriteTokens: number;
    readonly outputTokens: number;
    readonly reasoningTokens: number;
  };
  readonly perCall: { readonly calls: number; readonly inputTokens: number; readonly outputTokens: number; readonly totalTokens: number };
  readonly cacheHitRatio: number;
  readonly tokenCost: string;
  readonly byModel: readonly ModelTokens[];
  readonly daily: readonly TokenDay[];
  toCSV(): string;
}

const tok = (f: Fields, m: string): number => Number(g(f, `u:${m}`) / 1_000_000n);

/** Token analytics of a window. */
export async function tokenReport(ctx: ReportContext, w: Window, q: TokenQuery): Promise<TokenReport> {
  const budget = q.dailyTokenBudget;
  if (budget !== undefined && !(Number.isSafeInteger(budget) && budget > 0)) {
    throw new InvalidInputError('query.dailyTokenBudget', 'must be a positive whole number of tokens', budget);
  }
  const firstDay = Math.floor(w.from / DAY_MS) * DAY_MS;
  const early = await ctx.cells(w.scope, firstDay - 29 * DAY_MS, firstDay);
  const cells = await ctx.cells(w.scope, w.from, w.to);
  const t = total(cells);
  const llm = g(t, 'llm');
  const input = tok(t, 'inputTokens');
  const cached = tok(t, 'cachedInputTokens');
  const cacheWrite = tok(t, 'cacheWriteTokens');
  const byModel: ModelTokens[] = [...groupBy(cells, (c) => JSON.stringify([c.provider, c.model]))]
    .filter(([, v]) => g(v.f, 'llm') > 0n)
    .map(([, { cell, f }]) => {
      const calls = Number(g(f, 'llm'));
      const inp = tok(f, 'inputTokens');
      const window = ctx.pricing.contextWindow?.(cell.model) ?? null;
      const avgIn = calls === 0 ? 0 : round6(inp / calls);
      const small = ratio(g(f, 'small'), g(f, 'ok'));
      const near = Number(g(f, 'nearWindow'));
      return {
        provider: cell.provider,
        model: cell.model,
        calls,
        inputTokens: inp,
        outputTokens: tok(f, 'outputTokens'),
        cachedInputTokens: tok(f, 'cachedInputTokens'),
        avgInputTokens: avgIn,
        avgOutputTokens: calls === 0 ? 0 : round6(tok(f, 'outputTokens') / calls),
        cacheHitRatio: ratio(tok(f, 'cachedInputTokens'), inp),
        contextWindow: window,
        contextWindowUsed: window === null || window === 0 ? null : round6(avgIn / window),
        callsNearWindow: near,
        smallCallShare: small,
        sizing: near > 0 ? 'near_window' : small >= 0.5 ? 'oversized' : 'fits',
      } satisfies ModelTokens;
    })
    .sort((a, b) => a.model.localeCompare(b.model) || a.provider.localeCompare(b.provider));
  const history = groupBy([...early, ...cells], (c) => String(Math.floor(c.start / DAY_MS) * DAY_MS));
  const days: TokenDay[] = daily(cells, w.from, w.to).map(({ day, f }) => {
    const tokens = Number(tokenCount(f));
    let rolling = 0;
    for (let k = 0; k < 30; k++) rolling += Number(tokenCount(history.get(String(day - k * DAY_MS))?.f ?? {}));
    const pct = budget === undefined ? null : round6((tokens / budget) * 100);
    return {
      date: isoDay(day),
      totalTokens: tokens,
      dailyCost: money(g(f, 'tokenCost')),
      dailyTokenBudget: budget ?? null,
      dailyBudgetUsagePct: pct,
      rolling30dTokens: rolling,
      budgetStatus: budget === undefined ? null : tokens > budget ? 'over_budget' : tokens > budget * 0.8 ? 'near_limit' : 'within_budget',
    };
  });
  return {
    from: iso(w.from),
    to: iso(w.to),
    distribution: {
      inputTokens: input,
      uncachedInputTokens: input - cached - cacheWrite,
      cachedInputTokens: cached,
      cacheWriteTokens: cacheWrite,
      outputTokens: tok(t, 'outputTokens'),
      reasoningTokens: tok(t, 'reasoningTokens'),
    },
    perCall: {
      calls: Number(llm),
      inputTokens: ratio(input, llm),
      outputTokens: ratio(tok(t, 'outputTokens'), llm),
      totalTokens: ratio(Number(tokenCount(t)), llm),
    },
    cacheHitRatio: ratio(cached, input),
    tokenCost: money(g(t, 'tokenCost')),
    byModel,
    daily: days,
    toCSV: () => toCSV(days as unknown as Record<string, unknown>[]),
  };
}
