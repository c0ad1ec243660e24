/**
 * Waste detection (seed 003 §8.1) and recommendations (seed 004, seed 003 §3.2 and §4.2).
 * Savings are priced on the user's own token mix: the same tokens, priced on another model,
 * with more cache hits, or through the batch API. Monthly figures scale the window's
 * figures to 30 days.
 */
import { Decimal } from 'decimal.js';
import type { ReportContext } from './analytics.js';
import type { Window } from './options.js';
import type { AnalyticsTokenUsage } from './pricing.js';
import { DAY_MS, g, type Cell, type Fields } from './rollup.js';
import { cellScope, groupBy, iso, money, ratio, toCSV, total } from './view.js';

/** Priority of a finding: its monthly savings as a share of the scope's monthly cost (≥ 10 % high, ≥ 2 % medium). */
export type Priority = 'high' | 'medium' | 'low';
/** How much work acting on a finding takes. */
export type Effort = 'low' | 'medium' | 'high';

/** Cache hit ratio below which a model's caching counts as low, and the ratio savings assume instead. */
export const LOW_CACHE_HIT_RATIO = 0.2;
export const TARGET_CACHE_HIT_RATIO = 0.5;

interface ModelView {
  readonly provider: string;
  readonly model: string;
  readonly f: Fields;
  readonly mix: AnalyticsTokenUsage;
  /** The mix priced on its own model (undefined when unpriced). */
  readonly current: bigint | undefined;
  /** The cheapest fitting candidate and its price on the mix. */
  readonly best: { readonly model: string; readonly cost: bigint } | undefined;
  /** True when the candidates came from the user (options.downgrades or pricing.candidates). */
  readonly vouched: boolean;
}

const M = 1_000_000n;

function mixOf(f: Fields): AnalyticsTokenUsage {
  return {
    inputTokens: g(f, 'u:inputTokens') / M,
    outputTokens: g(f, 'u:outputTokens') / M,
    cachedInputTokens: g(f, 'u:cachedInputTokens') / M,
    cacheWriteTokens: g(f, 'u:cacheWriteTokens') / M,
    reasoningTokens: g(f, 'u:reasoningTokens') / M,
  };
}

function models(ctx: ReportContext, cells: readonly Cell[]): ModelView[] {
  const groups = [...groupBy(cells, (c) => JSON.stringify([c.provider, c.model]))].filter(
    ([, v]) => g(v.f, 'llm') > 0n && v.cell.model !== '',
  );
  const seen = [...new Set(groups.map(([, v]) => v.cell.model))].sort();
  return groups
    .map(([, { cell, f }]) => {
      const mix = mixOf(f);
      const current = ctx.pricing.cost(cell.model, mix);
      const own = ctx.options.downgrades[cell.model] ?? ctx.pricing.candidates?.(cell.model);
      const avgIn = Number(mix.inputTokens) / Number(g(f, 'llm'));
      let best: ModelView['best'];
      if (current !== undefined) {
        for (const c of own ?? seen) {
          if (c === cell.model) continue;
          const window = ctx.pricing.contextWindow?.(c);
          if (window !== undefined && avgIn > 0.8 * window) continue;
          const cost = ctx.pricing.cost(c, mix);
          if (cost !== undefined && cost < current && (best === undefined || cost < best.cost)) best = { model: c, cost };
        }
      }
      return { provider: cell.provider, model: cell.model, f, mix, current, best, vouched: own !== undefined };
    })
    .sort((a, b) => a.model.localeCompare(b.model) || a.provider.localeCompare(b.provider));
}

function monthly(pico: bigint, w: Window): bigint {
  return (pico * 30n * BigInt(DAY_MS)) / BigInt(w.to - w.from);
}

function priority(monthlySavings: bigint, monthlyCost: bigint): Priority {
  if (monthlyCost === 0n) return 'low';
  const share = Number(monthlySavings) / Number(monthlyCost);
  return share >= 0.1 ? 'high' : share >= 0.02 ? 'medium' : 'low';
}

/** What more cache hits would save on a model: the mix with its hit ratio raised to the target. */
function cachingSavings(ctx: ReportContext, m: ModelView): bigint {
  if (m.current === undefined) return 0n;
  const input = m.mix.inputTokens;
  const uncached = input - m.mix.cachedInputTokens - m.mix.cacheWriteTokens;
  let extra = (input * BigInt(TARGET_CACHE_HIT_RATIO * 100)) / 100n - m.mix.cachedInputTokens;
  if (extra > uncached) extra = uncached;
  if (extra <= 0n) return 0n;
  const better = ctx.pricing.cost(m.model, { ...m.mix, cachedInputTokens: m.mix.cachedInputTokens + extra });
  return better === undefined || better >= m.current ? 0n : m.current - better;
}

/** A waste finding with its cost over the window. */
export interface WasteItem {
  readonly wasteCost: string;
}

/** The waste report. */
export interface WasteReport {
  readonly from: string;
  readonly to: string;
  readonly currency: string;
  readonly failedExecutionCosts: WasteItem & { readonly calls: number };
  /** Successful calls whose `metadata.fingerprint` repeated one within `redundantWindow`. */
  readonly redundantApiCalls: WasteItem & { readonly calls: number };
  /** Small calls (≤ the small-call sizes) on models a cheaper candidate prices lower; waste = what the candidate would save on them. */
  readonly oversizedModels: readonly (WasteItem & {
    readonly provider: string;
    readonly model: string;
    readonly smallCalls: number;
    readonly smallCallCost: string;
    readonly recommendedModel: string;
  })[];
  /** Models whose cache hit ratio is below 0.2 where cached input is cheaper; waste = savings at a 0.5 ratio. */
  readonly lowCacheHitRates: readonly (WasteItem & { readonly provider: string; readonly model: string; readonly cacheHitRatio: number })[];
  /** Reservations released without running: they cost nothing but held budget while open. */
  readonly idleReservations: WasteItem & { readonly count: number; readonly heldSeconds: number };
  /** Sum of the findings over the window (categories may overlap: a redundant call may also be small). */
  readonly totalWaste: string;
  readonly totalMonthlyWaste: string;
  readonly potentialMonthlySavings: string;
  readonly eliminationPlan: readonly {
    readonly category: string;
    readonly action: string;
    readonly monthlySavings: string;
    readonly priority: Priority;
    readonly effort: Effort;
  }[];
  toCSV(): string;
}

/** Find the waste in a window. */
export async function wasteReport(ctx: ReportContext, w: Window): Promise<WasteReport> {
  const cells = await ctx.cells(w.scope, w.from, w.to);
  const t = total(cells);
  const mv = models(ctx, cells);
  const monthlyCost = monthly(g(t, 'cost'), w);
  const oversized = mv
    .filter((m) => g(m.f, 'small') > 0n && m.best !== undefined && m.current !== undefined && m.current > 0n)
    .map((m) => {
      const small = g(m.f, 'smallCost');
      const waste = (small * ((m.current as bigint) - (m.best as { cost: bigint }).cost)) / (m.current as bigint);
      return {
        provider: m.provider,
        model: m.model,
        smallCalls: Number(g(m.f, 'small')),
        smallCallCost: money(small),
        recommendedModel: (m.best as { model: string }).model,
        wasteCost: money(waste),
        waste,
      };
    });
  const lowCache = mv
    .map((m) => ({ m, ratio: ratio(m.mix.cachedInputTokens, m.mix.inputTokens), saving: cachingSavings(ctx, m) }))
    .filter((x) => x.ratio < LOW_CACHE_HIT_RATIO && x.saving > 0n)
    .map((x) => ({ provider: x.m.provider, model: x.m.model, cacheHitRatio: x.ratio, wasteCost: money(x.saving), waste: x.saving }));
  const failed = g(t, 'errorCost');
  const redundant = g(t, 'redundantCost');
  type Step = { category: string; action: string; savings: bigint; effort: Effort };
  const plan: Step[] = [
    {
      category: 'failed_execution_costs',
      action: 'Fix the failing calls (see error types in the API call analytics) or stop retrying them',
      savings: failed,
      effort: 'medium',
    } as Step,
    {
      category: 'redundant_api_calls',
      action: 'Cache responses of identical requests (same fingerprint)',
      savings: redundant,
      effort: 'medium',
    } as Step,
    ...oversized.map((o) => ({
      category: 'oversized_models',
      action: `Route small calls of ${o.model} to ${o.recommendedModel}`,
      savings: o.waste,
      effort: 'low' as Effort,
    })),
    ...lowCache.map((c) => ({
      category: 'low_cache_hit_rate',
      action: `Enable prompt caching on ${c.model} (stable prefixes first)`,
      savings: c.waste,
      effort: 'medium' as Effort,
    })),
  ].filter((p) => p.savings > 0n);
  const totalWaste = plan.reduce((s, p) => s + p.savings, 0n);
  const eliminationPlan = plan
    .map((p) => ({ ...p, monthly: monthly(p.savings, w) }))
    .sort((a, b) => (a.monthly > b.monthly ? -1 : a.monthly < b.monthly ? 1 : a.action.localeCompare(b.action)))
    .map((p) => ({
      category: p.category,
      action: p.action,
      monthlySavings: money(p.monthly),
      priority: priority(p.monthly, monthlyCost),
      effort: p.effort,
    }));
  return {
    from: iso(w.from),
    to: iso(w.to),
    currency: ctx.currency,
    failedExecutionCosts: { calls: Number(g(t, 'error')), wasteCost: money(failed) },
    redundantApiCalls: { calls: Number(g(t, 'redundant')), wasteCost: money(redundant) },
    oversizedModels: oversized.map(({ waste: _w, ...o }) => o),
    lowCacheHitRates: lowCache.map(({ waste: _w, ...c }) => c),
    idleReservations: { count: Number(g(t, 'released')), heldSeconds: Number(g(t, 'idleUs')) / 1e6, wasteCost: '0' },
    totalWaste: money(totalWaste),
    totalMonthlyWaste: money(monthly(totalWaste, w)),
    potentialMonthlySavings: money(monthly(totalWaste, w)),
    eliminationPlan,
    toCSV: () => toCSV(eliminationPlan),
  };
}

/** One recommendation. Amounts are decimal strings in the report currency; `estimatedSavings` is per 30 days. */
export interface Recommendation {
  readonly type: 'model_downgrade' | 'caching' | 'batching' | 'rate_limit_optimization';
  readonly priority: Priority;
  readonly implementationEffort: Effort;
  readonly title: string;
  readonly description: string;
  readonly estimatedSavings: string;
  readonly impact: string;
  readonly currentModel?: string | undefined;
  readonly recommendedModel?: string | undefined;
  readonly savingsPercent?: number | undefined;
  readonly currentHitRate?: number | undefined;
  readonly estimatedHitRate?: number | undefined;
  /** Batching: true when no call was marked `metadata.batchable`, so the savings assume every call could be batched. */
  readonly upperBound?: boolean | undefined;
  readonly agent?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly rateLimitedCalls?: number | undefined;
  readonly throttleIncidents?: number | undefined;
}

/** Recommendations with a `toCSV()` of their headline columns. */
export type RecommendationList = Recommendation[] & { toCSV(): string };

const RANK: Record<Priority, number> = { high: 0, medium: 1, low: 2 };

/** Recommendations for a window, highest priority and savings first. */
export async function recommendationReport(ctx: ReportContext, w: Window): Promise<RecommendationList> {
  const cells = await ctx.cells(w.scope, w.from, w.to);
  const t = total(cells);
  const monthlyCost = monthly(g(t, 'cost'), w);
  const mv = models(ctx, cells);
  const out: (Recommendation & { sort: bigint })[] = [];
  const impact = (pico: bigint): string => `${new Decimal(money(pico)).toFixed(2)} ${ctx.currency}/month`;
  for (const m of mv) {
    if (m.current === undefined || m.best === undefined) continue;
    const smallShare = ratio(g(m.f, 'small'), g(m.f, 'ok'));
    if (!m.vouched && smallShare < 0.5) continue;
    const save = monthly(m.current - m.best.cost, w);
    const pct = Number(((m.current - m.best.cost) * 10_000n) / m.current) / 100;
    const avgIn = Math.round(Number(m.mix.inputTokens) / Number(g(m.f, 'llm')));
    out.push({
      type: 'model_downgrade',
      priority: priority(save, monthlyCost),
      implementationEffort: 'low',
      title: `Use ${m.best.model} instead of ${m.model}`,
      description: `You're using ${m.model} with an average of ${avgIn} input tokens per call${
        m.vouched ? '' : ` and ${Math.round(smallShare * 100)}% small calls`
      }. ${m.best.model} costs ${pct}% less on the same tokens.`,
      currentModel: m.model,
      recommendedModel: m.best.model,
      estimatedSavings: money(save),
      savingsPercent: pct,
      impact: impact(save),
      sort: save,
    });
  }
  const redundant = monthly(g(t, 'redundantCost'), w);
  for (const m of mv) {
    const saving = monthly(cachingSavings(ctx, m), w);
    const hit = ratio(m.mix.cachedInputTokens, m.mix.inputTokens);
    if (saving === 0n || hit >= LOW_CACHE_HIT_RATIO) continue;
    out.push({
      type: 'caching',
      priority: priority(saving, monthlyCost),
      implementationEffort: 'medium',
      title: `Enable prompt caching on ${m.model}`,
      description: `${Math.round(hit * 100)}% of ${m.model}'s input tokens are cache hits; at ${TARGET_CACHE_HIT_RATIO * 100}% the same tokens would cost less.`,
      currentModel: m.model,
      currentHitRate: hit,
      estimatedHitRate: TARGET_CACHE_HIT_RATIO,
      estimatedSavings: money(saving),
      impact: impact(saving),
      sort: saving,
    });
  }
  if (redundant > 0n) {
    out.push({
      type: 'caching',
      priority: priority(redundant, monthlyCost),
      implementationEffort: 'medium',
      title: 'Cache responses of repeated requests',
      description: `${g(t, 'redundant')} successful calls repeated a request (same fingerprint) within the redundancy window.`,
      estimatedSavings: money(redundant),
      impact: impact(redundant),
      sort: redundant,
    });
  }
  for (const m of mv) {
    if (m.current === undefined) continue;
    const batch = ctx.pricing.batchCost?.(m.model, m.mix);
    if (batch === undefined || batch >= m.current) continue;
    const llm = g(m.f, 'llm');
    const marked = g(m.f, 'batchable');
    const share = marked > 0n ? marked : llm;
    const save = monthly(((m.current - batch) * share) / llm, w);
    out.push({
      type: 'batching',
      priority: priority(save, monthlyCost),
      implementationEffort: 'low',
      title: `Send ${m.model} calls that can wait through the batch API`,
      description: `${marked > 0n ? `${marked} of ${llm}` : `All ${llm}`} calls priced at the batch rate would cost less${marked > 0n ? '' : ' (upper bound: no call was marked batchable)'}.`,
      currentModel: m.model,
      estimatedSavings: money(save),
      impact: impact(save),
      upperBound: marked === 0n,
      sort: save,
    });
  }
  for (const [k, { f }] of groupBy(cells, (c) => JSON.stringify([cellScope(c).agent ?? '', c.model || c.name]))) {
    const limited = g(f, 'rateLimited');
    const calls = g(f, 'calls');
    const share = ratio(limited, calls);
    if (limited === 0n || share < 0.01) continue;
    const [agent, endpoint] = JSON.parse(k) as [string, string];
    out.push({
      type: 'rate_limit_optimization',
      priority: share >= 0.1 ? 'high' : share >= 0.03 ? 'medium' : 'low',
      implementationEffort: 'medium',
      title: `Queue ${agent || 'calls'}'s requests to ${endpoint || 'its endpoint'} instead of failing on rate limits`,
      description: `${limited} of ${calls} calls (${(share * 100).toFixed(1)}%) were refused by rate limits in ${g(f, 'throttleIncidents')} incidents. Use the governor's queue mode (onRateLimit: 'wait') or spread calls under the limit.`,
      agent,
      endpoint,
      rateLimitedCalls: Number(limited),
      throttleIncidents: Number(g(f, 'throttleIncidents')),
      estimatedSavings: '0',
      impact: `${limited} refused calls`,
      sort: 0n,
    });
  }
  const sorted = out
    .sort((a, b) => RANK[a.priority] - RANK[b.priority] || (a.sort > b.sort ? -1 : a.sort < b.sort ? 1 : a.title.localeCompare(b.title)))
    .map(({ sort: _s, ...r }) => r as Recommendation);
  // Not enumerable: the list stays a plain array to JSON and to deep equality.
  return Object.defineProperty(sorted, 'toCSV', {
    value: () =>
      toCSV(
        sorted.map((r) => ({
          type: r.type,
          priority: r.priority,
          implementationEffort: r.implementationEffort,
          title: r.title,
          estimatedSavings: r.estimatedSavings,
          impact: r.impact,
        })),
      ),
  }) as RecommendationList;
}
