/**
 * Efficiency scores (seed 003 §5.1): five per-dollar components, normalized across the
 * members of a scope (each component divided by the best member's), weighted 0.2, 0.25,
 * 0.25, 0.15, 0.15.
 */
import { InvalidInputError, SCOPE_LEVELS, type ScopeLevel } from '../core/index.js';
import type { ReportContext } from './analytics.js';
import type { ReportQuery, Window } from './options.js';
import { g } from './rollup.js';
import { cellScope, groupBy, iso, money, round6, tokenCount, toCSV } from './view.js';

/** The seed's weights. */
export const EFFICIENCY_WEIGHTS = {
  tokensPerDollar: 0.2,
  tasksPerDollar: 0.25,
  successPerDollar: 0.25,
  speedPerDollar: 0.15,
  qualityPerDollar: 0.15,
} as const;

/** A component of the efficiency score. */
export type EfficiencyComponent = keyof typeof EFFICIENCY_WEIGHTS;
const COMPONENTS = Object.keys(EFFICIENCY_WEIGHTS) as EfficiencyComponent[];

/** Query of {@link efficiencyReport}. */
export interface EfficiencyQuery extends ReportQuery {
  /** The level whose members are compared (default 'agent'; not 'execution'). */
  readonly by?: ScopeLevel | undefined;
}

/** One member's score. */
export interface EfficiencyRow {
  readonly id: string;
  readonly cost: string;
  readonly tokens: number;
  readonly tasks: number;
  readonly completedTasks: number;
  readonly successRate: number | null;
  readonly avgLatencyMs: number | null;
  readonly avgQuality: number | null;
  /** Raw components (per currency unit); null where the member has no data or no cost. */
  readonly componentScores: Readonly<Record<EfficiencyComponent, number | null>>;
  /** Each component over the best member's, from 0 to 1. */
  readonly normalizedScores: Readonly<Record<EfficiencyComponent, number>>;
  /** Weighted sum of the normalized scores over the components in play, from 0 to 1; null when the member cost nothing. */
  readonly overallEfficiency: number | null;
  /** Percent of the other scored members with a lower overall score. */
  readonly percentileRank: number | null;
  /** Components below half the best, the costliest first. */
  readonly improvementAreas: readonly EfficiencyComponent[];
}

/** The efficiency report. */
export interface EfficiencyReport {
  readonly from: string;
  readonly to: string;
  readonly by: ScopeLevel;
  readonly weights: typeof EFFICIENCY_WEIGHTS;
  /**
   * Components no member has data for (no outcomes recorded: tasks and quality). They are
   * left out and the other weights scaled up to sum to 1.
   */
  readonly missingComponents: readonly EfficiencyComponent[];
  readonly rows: readonly EfficiencyRow[];
  toCSV(): string;
}

/** Score the members of a scope. */
export async function efficiencyReport(ctx: ReportContext, w: Window, q: EfficiencyQuery): Promise<EfficiencyReport> {
  const by = q.by ?? 'agent';
  // Rollups drop the execution level (it would make a cell per execution), so executions are not compared here.
  const levels: readonly ScopeLevel[] = SCOPE_LEVELS.filter((l) => l !== 'execution');
  if (!levels.includes(by)) throw new InvalidInputError('query.by', `must be one of ${levels.join(', ')}`, q.by);
  const cells = await ctx.cells(w.scope, w.from, w.to);
  const members = [...groupBy(cells, (c) => cellScope(c)[by] ?? '')].sort((a, b) => a[0].localeCompare(b[0]));
  const raw = members.map(([id, { f }]) => {
    const cost = Number(g(f, 'cost')) / 1e12;
    const tokens = Number(tokenCount(f));
    const tasks = Number(g(f, 'tasks'));
    const completed = Number(g(f, 'completed'));
    const ran = Number(g(f, 'ok') + g(f, 'error'));
    const durN = Number(g(f, 'durN'));
    const avgLatencyMs = durN === 0 ? null : Number(g(f, 'durUs')) / durN / 1000;
    const qN = Number(g(f, 'qualityN'));
    const avgQuality = qN === 0 ? null : Number(g(f, 'quality')) / 1e6 / qN;
    const successRate = ran === 0 ? null : Number(g(f, 'ok')) / ran;
    const paid = cost > 0;
    const comp: Record<EfficiencyComponent, number | null> = {
      tokensPerDollar: paid ? tokens / cost : null,
      tasksPerDollar: paid && tasks > 0 ? completed / cost : null,
      successPerDollar: paid && successRate !== null ? successRate / cost : null,
      speedPerDollar: paid && avgLatencyMs !== null && avgLatencyMs > 0 ? 1 / ((avgLatencyMs / 1000) * cost) : null,
      qualityPerDollar: paid && avgQuality !== null ? avgQuality / cost : null,
    };
    return { id, f, cost, tokens, tasks, completed, successRate, avgLatencyMs, avgQuality, comp, paid };
  });
  const best: Partial<Record<EfficiencyComponent, number>> = {};
  for (const r of raw) for (const k of COMPONENTS) if (r.comp[k] !== null) best[k] = Math.max(best[k] ?? 0, r.comp[k] as number);
  const missing = COMPONENTS.filter((k) => best[k] === undefined);
  const inPlay = COMPONENTS.filter((k) => best[k] !== undefined);
  const weightSum = inPlay.reduce((s, k) => s + EFFICIENCY_WEIGHTS[k], 0);
  const scored = raw.map((r) => {
    const norm = {} as Record<EfficiencyComponent, number>;
    for (const k of COMPONENTS) {
      const b = best[k];
      const v = r.comp[k];
      norm[k] = b === undefined || b === 0 || v === null ? 0 : round6(v / b);
    }
    const overall = !r.paid || weightSum === 0 ? null : round6(inPlay.reduce((s, k) => s + EFFICIENCY_WEIGHTS[k] * norm[k], 0) / weightSum);
    return { r, norm, overall };
  });
  const ranked = scored.filter((s) => s.overall !== null);
  const rows: EfficiencyRow[] = scored.map(({ r, norm, overall }) => {
    const others = ranked.length - 1;
    const lower = overall === null ? 0 : ranked.filter((s) => (s.overall as number) < overall).length;
    return {
      id: r.id,
      cost: money(g(r.f, 'cost')),
      tokens: r.tokens,
      tasks: r.tasks,
      completedTasks: r.completed,
      successRate: r.successRate === null ? null : round6(r.successRate),
      avgLatencyMs: r.avgLatencyMs === null ? null : round6(r.avgLatencyMs),
      avgQuality: r.avgQuality === null ? null : round6(r.avgQuality),
      componentScores: Object.fromEntries(COMPONENTS.map((k) => [k, r.comp[k] === null ? null : round6(r.comp[k] as number)])) as Record<
        EfficiencyComponent,
        number | null
      >,
      normalizedScores: norm,
      overallEfficiency: overall,
      percentileRank: overall === null ? null : others === 0 ? 100 : round6((lower / others) * 100),
      improvementAreas: inPlay
        .filter((k) => norm[k] < 0.5)
        .sort((a, b) => EFFICIENCY_WEIGHTS[b] * (1 - norm[b]) - EFFICIENCY_WEIGHTS[a] * (1 - norm[a]) || a.localeCompare(b)),
    };
  });
  const flat = rows.map((r) => ({
    id: r.id,
    cost: r.cost,
    overallEfficiency: r.overallEfficiency,
    percentileRank: r.percentileRank,
    ...Object.fromEntries(COMPONENTS.map((k) => [k, r.normalizedScores[k]])),
  }));
  return {
    from: iso(w.from),
    to: iso(w.to),
    by,
    weights: EFFICIENCY_WEIGHTS,
    missingComponents: missing,
    rows,
    toCSV: () => toCSV(flat),
  };
}
