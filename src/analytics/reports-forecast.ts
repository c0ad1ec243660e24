/**
 * Forecasts (seed 003 §6.1). Method: each meter's daily totals over the history (complete
 * UTC days, from the first day with activity) are fitted by ordinary least squares to
 * `y = a + b·t + Σ s_d·[weekday = d]` (a linear trend plus day-of-week effects, Monday the
 * baseline) when there are at least 14 days, to `y = a + b·t` from 3 days, to the mean from
 * 2. A day's prediction interval is `ŷ ± t(q, n − p) · σ · √(1 + x₀ᵀ(XᵀX)⁻¹x₀)`, with σ
 * the residual standard error and t Student's quantile at the stated confidence; the
 * horizon total's interval uses the variance of the sum, `σ²(h + uᵀ(XᵀX)⁻¹u)` with u the
 * sum of the horizon's rows. Lower bounds are clamped at 0.
 */
import { InvalidInputError, instantiatePattern, periodAt, scopeKey, scopeMatches, validateScope, type Scope } from '../core/index.js';
import type { ReportContext } from './analytics.js';
import { checkQueryKeys } from './options.js';
import { DAY_MS, g, type Fields } from './rollup.js';
import { dot, leastSquares, quadratic, studentTQuantile } from './stats.js';
import { daily, isoDay, round6, toCSV, total, tokenCount } from './view.js';

/** What can be forecast. */
export type ForecastMeter = 'tokens' | 'calls' | 'compute' | 'cost';
const METERS: readonly ForecastMeter[] = ['tokens', 'calls', 'compute', 'cost'];
const UNITS: Record<ForecastMeter, string> = { tokens: 'tokens', calls: 'calls', compute: 'cpu seconds', cost: 'currency' };

/** Query of {@link forecastReport}. */
export interface ForecastQuery {
  readonly scope?: Scope | undefined;
  /** Days ahead, from today (default 30). */
  readonly horizonDays?: number | undefined;
  /** Complete days of history to fit (default 56). */
  readonly historyDays?: number | undefined;
  /** Confidence of the prediction intervals (default 0.95). */
  readonly confidence?: number | undefined;
  readonly meters?: readonly ForecastMeter[] | undefined;
}

/** One forecast day. */
export interface ForecastPoint {
  readonly date: string;
  readonly forecast: number;
  readonly lower: number;
  readonly upper: number;
}

/** The forecast of one meter. */
export interface MeterForecast {
  readonly meter: ForecastMeter;
  readonly unit: string;
  readonly method: 'linear+weekday' | 'linear' | 'mean' | 'none';
  /** Days fitted. */
  readonly observations: number;
  readonly degreesOfFreedom: number;
  readonly residualStdError: number;
  /** Change per day of the trend (0 for the mean model). */
  readonly trendPerDay: number;
  /** Day-of-week effects relative to Monday, Monday first (all 0 without the weekday model). */
  readonly weekdayEffects: readonly number[];
  readonly daily: readonly ForecastPoint[];
  readonly total: { readonly forecast: number; readonly lower: number; readonly upper: number };
}

/** Where a budget's projected usage crosses one of its thresholds. */
export interface ThresholdCrossing {
  readonly threshold: number;
  /** `crossed` already, `projected` on `date`, or `not_projected` within the budget's current period. */
  readonly status: 'crossed' | 'projected' | 'not_projected';
  /** The day the point forecast crosses it. */
  readonly date: string | null;
  /** The day the upper bound crosses it (the earliest plausible). */
  readonly earliestDate: string | null;
}

/** A budget the forecast checked. */
export interface BudgetForecast {
  readonly budget: string;
  readonly meter: string;
  readonly period: string;
  readonly max: number;
  readonly used: number;
  readonly periodEnd: string;
  readonly projectedAtPeriodEnd: number;
  readonly crossings: readonly ThresholdCrossing[];
}

/** The forecast report. */
export interface ForecastReport {
  readonly scope: Scope;
  readonly historyFrom: string;
  readonly historyTo: string;
  readonly horizonDays: number;
  readonly confidence: number;
  readonly meters: Readonly<Partial<Record<ForecastMeter, MeterForecast>>>;
  /** The cost forecast's horizon total as decimal strings (6 places: a statistical estimate, not a charge). */
  readonly projectedCosts: { readonly total: string; readonly lower: string; readonly upper: string } | null;
  readonly budgetAlerts: readonly BudgetForecast[];
  toCSV(): string;
}

function value(meter: ForecastMeter, f: Fields): number {
  if (meter === 'tokens') return Number(tokenCount(f));
  if (meter === 'calls') return Number(g(f, 'ok') + g(f, 'error'));
  if (meter === 'compute') return Number(g(f, 'u:cpuSeconds')) / 1e6;
  return Number(g(f, 'cost')) / 1e12;
}

/** The design row of day index `t` falling on epoch-ms `day`. */
export function designRow(method: MeterForecast['method'], t: number, day: number): number[] {
  if (method === 'mean') return [1];
  if (method === 'linear') return [1, t];
  const dow = (new Date(day).getUTCDay() + 6) % 7;
  return [1, t, ...[1, 2, 3, 4, 5, 6].map((d) => (dow === d ? 1 : 0))];
}

/** Fit and project one series (`days[i]` is the epoch ms of `ys[i]`). */
export function forecastSeries(
  meter: ForecastMeter,
  days: readonly number[],
  ys: readonly number[],
  start: number,
  horizon: number,
  confidence: number,
): MeterForecast {
  const n = ys.length;
  const methods: MeterForecast['method'][] = n >= 14 ? ['linear+weekday', 'linear', 'mean'] : n >= 3 ? ['linear', 'mean'] : ['mean'];
  for (const method of methods) {
    const x = days.map((d, i) => designRow(method, i, d));
    const fit = n >= 2 ? leastSquares(x, ys) : undefined;
    if (fit === undefined) continue;
    const tq = studentTQuantile((1 + confidence) / 2, fit.degreesOfFreedom);
    const rows: ForecastPoint[] = [];
    const u = new Array<number>(fit.coefficients.length).fill(0);
    let sum = 0;
    for (let i = 0; i < horizon; i++) {
      const day = start + i * DAY_MS;
      const x0 = designRow(method, Math.round((day - (days[0] as number)) / DAY_MS), day);
      x0.forEach((v, j) => (u[j]! += v));
      const yhat = dot(x0, fit.coefficients);
      const half = tq * fit.sigma * Math.sqrt(1 + quadratic(x0, fit.xtxInverse, x0));
      sum += yhat;
      rows.push({ date: isoDay(day), forecast: round6(yhat), lower: round6(Math.max(0, yhat - half)), upper: round6(yhat + half) });
    }
    const halfTotal = tq * fit.sigma * Math.sqrt(horizon + quadratic(u, fit.xtxInverse, u));
    const beta = fit.coefficients;
    return {
      meter,
      unit: UNITS[meter],
      method,
      observations: n,
      degreesOfFreedom: fit.degreesOfFreedom,
      residualStdError: round6(fit.sigma),
      trendPerDay: method === 'mean' ? 0 : round6(beta[1] as number),
      weekdayEffects: method === 'linear+weekday' ? [0, ...beta.slice(2).map(round6)] : [0, 0, 0, 0, 0, 0, 0],
      daily: rows,
      total: { forecast: round6(sum), lower: round6(Math.max(0, sum - halfTotal)), upper: round6(sum + halfTotal) },
    };
  }
  return {
    meter,
    unit: UNITS[meter],
    method: 'none',
    observations: n,
    degreesOfFreedom: 0,
    residualStdError: 0,
    trendPerDay: 0,
    weekdayEffects: [0, 0, 0, 0, 0, 0, 0],
    daily: [],
    total: { forecast: 0, lower: 0, upper: 0 },
  };
}

const BUDGET_METERS: Readonly<Record<string, ForecastMeter>> = { cost: 'cost', cpuSeconds: 'compute', llmCalls: 'calls' };

function int(v: unknown, field: string, min: number, max: number, def: number): number {
  if (v === undefined) return def;
  if (!(Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max)) {
    throw new InvalidInputError(field, `must be a whole number from ${min} to ${max}`, v);
  }
  return v as number;
}

/** Forecast the meters of a scope and check its budgets. */
export async function forecastReport(ctx: ReportContext, q: ForecastQuery): Promise<ForecastReport> {
  if (q === null || typeof q !== 'object') throw new InvalidInputError('query', 'must be an object', q);
  checkQueryKeys(q, ['scope', 'horizonDays', 'historyDays', 'confidence', 'meters']);
  const scope = validateScope(q.scope, 'query.scope', false);
  const horizon = int(q.horizonDays, 'query.horizonDays', 1, 366, 30);
  const historyDays = int(q.historyDays, 'query.historyDays', 2, 3660, 56);
  const confidence = q.confidence ?? 0.95;
  if (!(typeof confidence === 'number' && confidence > 0.5 && confidence < 1)) {
    throw new InvalidInputError('query.confidence', 'must be a number between 0.5 and 1 (exclusive)', q.confidence);
  }
  const meters = q.meters ?? METERS;
  if (!Array.isArray(meters as unknown)) throw new InvalidInputError('query.meters', `must be an array of ${METERS.join(', ')}`, q.meters);
  for (const [i, m] of meters.entries()) {
    if (!METERS.includes(m)) throw new InvalidInputError(`query.meters[${i}]`, `must be one of ${METERS.join(', ')}`, m);
  }
  const today = Math.floor(ctx.now / DAY_MS) * DAY_MS;
  const from = today - historyDays * DAY_MS;
  const cells = await ctx.cells(scope, from, today);
  let series = daily(cells, from, today);
  const first = series.findIndex(({ f }) => g(f, 'calls') > 0n || g(f, 'cost') > 0n);
  series = first < 0 ? [] : series.slice(first);
  const out: Partial<Record<ForecastMeter, MeterForecast>> = {};
  for (const m of meters) {
    out[m] = forecastSeries(
      m,
      series.map((s) => s.day),
      series.map((s) => value(m, s.f)),
      today,
      horizon,
      confidence,
    );
  }
  const cost = out.cost;
  const alerts: BudgetForecast[] = [];
  for (const b of ctx.budgets) {
    const meter = BUDGET_METERS[b.meter];
    if (meter === undefined || b.windowMs !== undefined || b.period === 'total') continue;
    if (!scopeMatches(b.scope, scope) || scopeKey(instantiatePattern(b.scope, scope)) !== scopeKey(scope)) continue;
    const period = periodAt(ctx.now, b.period, 'UTC');
    // Walk to the end of the budget's period even when it lies beyond the report's horizon.
    const need = Math.ceil((period.endMs - today) / DAY_MS);
    const known = out[meter];
    const fc =
      known !== undefined && need <= horizon
        ? known
        : forecastSeries(
            meter,
            series.map((s) => s.day),
            series.map((s) => value(meter, s.f)),
            today,
            need,
            confidence,
          );
    const used = value(meter, total(await ctx.cells(scope, period.startMs, ctx.now + 1)));
    const max = Number(b.max);
    let cum = used;
    let cumUp = used;
    const path: { day: number; cum: number; cumUp: number }[] = [];
    fc.daily.forEach((p, i) => {
      const day = today + i * DAY_MS;
      if (day >= period.endMs) return;
      const share = i === 0 ? 1 - (ctx.now - today) / DAY_MS : 1;
      cum += p.forecast * share;
      cumUp += p.upper * share;
      path.push({ day, cum, cumUp });
    });
    const crossings = (b.thresholds ?? [50, 80, 90, 100]).map((th): ThresholdCrossing => {
      const target = (max * th) / 100;
      if (used >= target) return { threshold: th, status: 'crossed', date: null, earliestDate: null };
      const at = path.find((p) => p.cum >= target);
      const early = path.find((p) => p.cumUp >= target);
      return {
        threshold: th,
        status: at === undefined ? 'not_projected' : 'projected',
        date: at === undefined ? null : isoDay(at.day),
        earliestDate: early === undefined ? null : isoDay(early.day),
      };
    });
    alerts.push({
      budget: b.id,
      meter: b.meter,
      period: period.id,
      max,
      used: round6(used),
      periodEnd: new Date(period.endMs).toISOString(),
      projectedAtPeriodEnd: round6(path[path.length - 1]?.cum ?? used),
      crossings,
    });
  }
  const rows = Object.values(out).flatMap((m) => m.daily.map((p) => ({ meter: m.meter, ...p })));
  return {
    scope,
    historyFrom: isoDay(series[0]?.day ?? today),
    historyTo: isoDay(today),
    horizonDays: horizon,
    confidence,
    meters: out,
    projectedCosts:
      cost === undefined
        ? null
        : { total: cost.total.forecast.toFixed(6), lower: cost.total.lower.toFixed(6), upper: cost.total.upper.toFixed(6) },
    budgetAlerts: alerts,
    toCSV: () => toCSV(rows),
  };
}
