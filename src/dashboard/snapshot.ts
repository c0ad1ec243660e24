/**
 * One snapshot of everything the dashboard and the report show, as plain JSON: the page
 * draws it, the server pushes it, the report embeds it. Amounts of money are the exact
 * decimal strings analytics and `getStatus` give; chart coordinates are numbers (a chart
 * cannot plot a decimal string), never used for a figure shown as text.
 */
import { Decimal } from 'decimal.js';
import { z } from 'zod';
import {
  instantiatePattern,
  InvalidInputError,
  parseInput,
  scopeKey,
  scopeMatches,
  scopeWithin,
  validateScope,
  type Scope,
} from '../core/index.js';
import type { ReportQuery } from '../analytics/index.js';
import type { LedgerEntry } from '../storage/index.js';
import type { Governor, LimitInfo } from '../index.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Days of activity the heatmap and the timeline cover (one ledger scan, bounded). */
export const ACTIVITY_DAYS = 7;

/** A limit's gauge; `burn` for money budgets with a calendar period. */
export interface BudgetView {
  readonly id: string;
  readonly scope: Scope;
  readonly meter: string;
  readonly enforcement: 'hard' | 'soft';
  readonly period: string;
  readonly max: string;
  readonly used: string;
  readonly held: string;
  readonly remaining: string;
  readonly usagePercent: number;
  readonly thresholds: readonly number[];
  readonly thresholdReached: number | null;
  readonly isOver: boolean;
  readonly currency: string | null;
  readonly periodStart: number | null;
  readonly periodEnd: number | null;
  /** Cumulative cost per day of the period (`[ms, amount]`), then the pace to the period's end. */
  readonly burn: { readonly actual: readonly [number, number][]; readonly forecast: readonly [number, number][] } | null;
}

/** A `warning` or `violation` event, as the page lists it. */
export interface AlertView {
  readonly kind: 'warning' | 'violation';
  readonly at: number;
  readonly message: string;
}

/** Everything a dashboard page draws. */
export interface DashboardSnapshot {
  readonly version: 1;
  readonly at: number;
  readonly currency: string;
  readonly scope: Scope;
  readonly period: string;
  readonly from: string;
  readonly to: string;
  readonly totals: {
    readonly cost: string;
    readonly llmCost: string;
    readonly computeCost: string;
    readonly calls: number;
    readonly failedCalls: number;
    readonly rateLimitedCalls: number;
    readonly tokens: number;
    readonly forecastEom: string | null;
  };
  readonly budgets: readonly BudgetView[];
  /** Tokens per UTC hour (columns 0–23) of each of the last days (rows, oldest first). */
  readonly heatmap: { readonly days: readonly string[]; readonly tokens: readonly (readonly number[])[] };
  /** Calls per UTC hour over the same days. */
  readonly timeline: {
    readonly start: number;
    readonly stepMs: number;
    readonly ok: readonly number[];
    readonly failed: readonly number[];
    readonly rateLimited: readonly number[];
    readonly refused: readonly number[];
  };
  readonly breakers: readonly {
    readonly key: string;
    readonly state: string;
    readonly failures: number;
    readonly halfOpenAt: number | null;
  }[];
  readonly waste: {
    readonly total: string;
    readonly monthly: string;
    readonly items: readonly { readonly label: string; readonly cost: string }[];
  };
  readonly recommendations: readonly {
    readonly type: string;
    readonly priority: string;
    readonly title: string;
    readonly description: string;
    readonly estimatedSavings: string;
    readonly impact: string;
  }[];
  readonly alerts: readonly AlertView[];
}

/** What a snapshot is taken over. */
export interface SnapshotOptions extends ReportQuery {
  /** Called with the share (0–1) of the activity window read so far, on long ledger reads. */
  readonly onProgress?: ((fraction: number) => void) | undefined;
  /** Alerts to include (the server keeps the latest ones). */
  readonly alerts?: readonly AlertView[] | undefined;
}

const num = (s: string): number => Number(s);

/** The fields of {@link SnapshotOptions}, for the option schemas (the scope and period are checked by their own validators). */
export const snapshotOptionFields = {
  scope: z.unknown().optional(),
  period: z.unknown().optional(),
  onProgress: z.custom<(fraction: number) => void>((v) => typeof v === 'function', { message: 'Expected a function' }).optional(),
  alerts: z.array(z.unknown()).optional(),
};
const optionsSchema = z.object(snapshotOptionFields).strict();

/** Refuse what is not a Governor, naming `field`. */
export function checkGovernor(gov: unknown, field: string): void {
  if (gov === null || typeof gov !== 'object' || typeof (gov as Governor).queryLedger !== 'function') {
    throw new InvalidInputError(field, 'must be a Governor (from createGovernor())', gov);
  }
}

/** Take a snapshot of `gov` over `{ scope, period }` (default everything, this month). */
export async function buildSnapshot(gov: Governor, options: SnapshotOptions = {}): Promise<DashboardSnapshot> {
  checkGovernor(gov, 'gov');
  parseInput(optionsSchema, options, 'options');
  const scope = options.scope === undefined ? {} : validateScope(options.scope, 'options.scope', false);
  const period = options.period ?? 'month';
  const query: ReportQuery = { scope, period };
  const a = gov.analytics;
  const [costs, calls, tokens, waste, recs] = await Promise.all([
    a.getCosts(query),
    a.getApiCallAnalytics(query),
    a.getTokenAnalytics(query),
    a.getWaste(query),
    a.getRecommendations(query),
  ]);
  const now = gov.clock.now();
  const activity = await activityOf(gov, scope, now, options.onProgress);
  const budgets = await budgetViews(gov, scope, now, activity.scopes);
  const breakers = (await gov.breakers.snapshot()).map((b) => ({
    key: b.key,
    state: b.state,
    failures: b.failures,
    halfOpenAt: b.halfOpenAt,
  }));
  const items = [
    { label: 'Failed calls', cost: waste.failedExecutionCosts.wasteCost },
    { label: 'Redundant calls', cost: waste.redundantApiCalls.wasteCost },
    ...waste.oversizedModels.map((m) => ({ label: `Oversized: ${m.model} → ${m.recommendedModel}`, cost: m.wasteCost })),
    ...waste.lowCacheHitRates.map((m) => ({ label: `Low cache hits: ${m.model}`, cost: m.wasteCost })),
  ];
  return {
    version: 1,
    at: now,
    currency: costs.currency,
    scope,
    period: typeof period === 'string' ? period : 'custom',
    from: costs.from,
    to: costs.to,
    totals: {
      cost: costs.totalCost,
      llmCost: costs.llmCost,
      computeCost: costs.computeCost,
      calls: calls.totals.totalCalls,
      failedCalls: calls.totals.failedCalls,
      rateLimitedCalls: calls.totals.rateLimitedCalls,
      tokens: tokens.distribution.inputTokens + tokens.distribution.outputTokens,
      forecastEom: costs.trends.forecastEom,
    },
    budgets,
    heatmap: activity.heatmap,
    timeline: activity.timeline,
    breakers,
    waste: { total: waste.totalWaste, monthly: waste.totalMonthlyWaste, items },
    recommendations: recs.map((r) => ({
      type: r.type,
      priority: r.priority,
      title: r.title,
      description: r.description,
      estimatedSavings: r.estimatedSavings,
      impact: r.impact,
    })),
    alerts: options.alerts ?? [],
  };
}

/** Most gauges drawn for one wildcard limit (the fullest first). */
export const MAX_GAUGES_PER_LIMIT = 12;

/** The concrete scopes a wildcard limit (`{ agent: '*' }`) stands for among `seen`: one per member. */
function members(pattern: Scope, seen: readonly Scope[]): Scope[] {
  const out = new Map<string, Scope>();
  for (const s of seen) {
    if (!scopeMatches(pattern, s)) continue;
    const c = instantiatePattern(pattern, s);
    out.set(scopeKey(c), c);
  }
  return [...out.values()];
}

async function budgetViews(gov: Governor, scope: Scope, now: number, seen: readonly Scope[]): Promise<BudgetView[]> {
  // Limits on the scope or under it; sliding windows are rate limits, not budgets.
  // A wildcard level stands for every id (`{ agent: '*' }` applies to the page of `{ agent: 'a' }`).
  const related = (s: Scope): boolean => scopeWithin(s, scope) || scopeWithin(scope, s);
  const limits = gov.listLimits().filter((l) => l.windowMs === undefined && related(l.scope));
  const out: BudgetView[] = [];
  for (const l of limits) {
    // A wildcard limit counts per member: one gauge for each member active in the last days, the fullest first.
    const wild = Object.values(l.scope).includes('*');
    const scopes = wild ? members(l.scope, seen).filter(related) : [l.scope];
    const views: BudgetView[] = [];
    for (const s of scopes) {
      const v = await budgetView(gov, l, s, now);
      if (v !== undefined) views.push(v);
    }
    if (wild) views.sort((a, b) => b.usagePercent - a.usagePercent || JSON.stringify(a.scope).localeCompare(JSON.stringify(b.scope)));
    out.push(...views.slice(0, wild ? MAX_GAUGES_PER_LIMIT : views.length));
  }
  return out;
}

async function budgetView(gov: Governor, l: LimitInfo, scope: Scope, now: number): Promise<BudgetView | undefined> {
  const st = (await gov.getStatus(scope)).find((s) => s.limit === l.id);
  if (st === undefined) return undefined;
  let burn: BudgetView['burn'] = null;
  if (l.meter === 'cost' && st.period !== undefined) {
    const report = await gov.analytics.getCosts({
      scope: l.scope,
      period: { from: st.period.startMs, to: Math.min(now + 1, st.period.endMs) },
    });
    let acc = new Decimal(0);
    const actual: [number, number][] = [[st.period.startMs, 0]];
    for (const d of report.trends.daily) {
      acc = acc.plus(d.cost);
      actual.push([Math.min(Date.parse(d.date) + DAY, now), acc.toNumber()]);
    }
    // The pace so far (at least one day elapsed, as analytics counts it) carried to the period's end.
    const elapsedDays = Math.max(1, (now - st.period.startMs) / DAY);
    const perDay = acc.div(elapsedDays);
    const end = acc.plus(perDay.mul((st.period.endMs - now) / DAY));
    burn = {
      actual,
      forecast: [
        [now, acc.toNumber()],
        [st.period.endMs, end.toNumber()],
      ],
    };
  }
  return {
    id: l.id,
    scope: st.scope,
    meter: l.meter,
    enforcement: l.enforcement,
    period: l.period,
    max: st.max.toString(),
    used: st.used.toString(),
    held: st.held.toString(),
    remaining: st.remaining.toString(),
    usagePercent: st.usagePercent,
    thresholds: l.thresholds,
    thresholdReached: st.thresholdReached ?? null,
    isOver: st.isOver,
    currency: st.currency ?? null,
    periodStart: st.period?.startMs ?? null,
    periodEnd: st.period?.endMs ?? null,
    burn,
  };
}

async function activityOf(
  gov: Governor,
  scope: Scope,
  now: number,
  onProgress: ((f: number) => void) | undefined,
): Promise<Pick<DashboardSnapshot, 'heatmap' | 'timeline'> & { scopes: Scope[] }> {
  const seen = new Map<string, Scope>();
  const firstDay = Math.floor(now / DAY) * DAY - (ACTIVITY_DAYS - 1) * DAY;
  const hours = ACTIVITY_DAYS * 24;
  const tokens = Array.from({ length: ACTIVITY_DAYS }, () => new Array<number>(24).fill(0));
  const ok = new Array<number>(hours).fill(0);
  const failed = new Array<number>(hours).fill(0);
  const rateLimited = new Array<number>(hours).fill(0);
  const refused = new Array<number>(hours).fill(0);
  const add = (e: LedgerEntry): void => {
    if (e.kind !== 'call') return;
    const { execution: _, ...member } = e.scope;
    const key = JSON.stringify(member);
    if (!seen.has(key)) seen.set(key, member);
    const h = Math.floor((e.at - firstDay) / HOUR);
    if (h < 0 || h >= hours) return;
    if (e.status === 'ok') ok[h]!++;
    else if (e.status === 'error') failed[h]!++;
    else if (e.status === 'refused') (e.code === 'rate_limited' ? rateLimited : refused)[h]!++;
    const t = num(e.usage.inputTokens ?? '0') + num(e.usage.outputTokens ?? '0');
    tokens[Math.floor(h / 24)]![h % 24]! += t;
  };
  let cursor: string | undefined;
  const span = now + 1 - firstDay;
  do {
    const page = await gov.queryLedger({ scope, from: firstDay, to: now + 1, kinds: ['call'], limit: 5000, cursor });
    for (const e of page.entries) add(e);
    const last = page.entries[page.entries.length - 1];
    if (last !== undefined) onProgress?.(Math.min(1, (last.at - firstDay) / span));
    cursor = page.entries.length === 0 ? undefined : page.next;
  } while (cursor !== undefined);
  onProgress?.(1);
  const days = Array.from({ length: ACTIVITY_DAYS }, (_, i) => new Date(firstDay + i * DAY).toISOString().slice(0, 10));
  return {
    heatmap: { days, tokens },
    timeline: { start: firstDay, stepMs: HOUR, ok, failed, rateLimited, refused },
    scopes: [...seen.values()],
  };
}
