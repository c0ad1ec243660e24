/**
 * Allocation strategies (seeds 000 and 001) as pure functions over Decimal. Every share
 * is computed exactly in integers at the money scale (pico-units) and the rounding
 * remainder is handed out by largest remainder, ties to the earlier entry, so the
 * allocations always sum exactly to what was distributed.
 */
import { Decimal } from 'decimal.js';
import { checkOptions } from './options.js';
import { InvalidInputError, parseScaled, pow10, toUnits, unitsToDecimal, validateId, type MoneyInput } from '../core/index.js';

/** What a strategy decided. */
export interface AllocationResult {
  /** Amount per id, in input order. */
  readonly allocations: Readonly<Record<string, Decimal>>;
  /** What was handed out: the sum of `allocations`, exactly. */
  readonly distributed: Decimal;
  /** What was available and not handed out (never negative). */
  readonly undistributed: Decimal;
  /** What the strategy did that a caller may not expect (e.g. minimums cut short). */
  readonly notes: readonly string[];
}

/** A rational number `num / den` with `den > 0`. */
type Ratio = readonly [bigint, bigint];

/** A non-negative Decimal (or money input) as an exact ratio. */
function ratio(value: unknown, field: string): Ratio {
  // Strings follow the grammar of toUnits (parseScaled): decimal.js would throw its own error, or take hex.
  const ok =
    Decimal.isDecimal(value) || typeof value === 'number' || (typeof value === 'string' && parseScaled(value, 0, 'ceil') !== undefined);
  if (!ok) throw new InvalidInputError(field, 'must be a Decimal, a decimal string or a finite number', value);
  const d = Decimal.isDecimal(value)
    ? (value as Decimal)
    : new Decimal(typeof value === 'number' ? String(value) : (value as string).trim());
  if (!d.isFinite() || d.isNegative()) throw new InvalidInputError(field, 'must be a finite number >= 0', value);
  const text = d.toFixed();
  const dot = text.indexOf('.');
  if (dot < 0) return [BigInt(text), 1n];
  const frac = text.slice(dot + 1);
  return [BigInt(text.slice(0, dot) + frac), frac.length <= 40 ? pow10(frac.length) : 10n ** BigInt(frac.length)];
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a < 0n ? -a : a;
}

/**
 * Split `total` integer units in proportion to `weights` (exact ratios). Each gets
 * floor(total × w / Σw); the leftover units go one each to the largest remainders,
 * ties to the earlier entry. All weights zero: nothing is distributed.
 */
export function distributeUnits(total: bigint, weights: readonly Ratio[]): bigint[] {
  let lcm = 1n;
  for (const [, den] of weights) lcm = (lcm / gcd(lcm, den)) * den;
  const ints = weights.map(([num, den]) => num * (lcm / den));
  const sum = ints.reduce((s, w) => s + w, 0n);
  if (sum === 0n || total <= 0n) return ints.map(() => 0n);
  const shares = ints.map((w) => (total * w) / sum);
  let left = total - shares.reduce((s, x) => s + x, 0n);
  if (left > 0n) {
    const order = ints
      .map((w, i) => ({ i, rem: (total * w) % sum }))
      .sort((a, b) => (a.rem === b.rem ? a.i - b.i : a.rem > b.rem ? -1 : 1));
    for (const { i } of order) {
      if (left === 0n) break;
      shares[i] = (shares[i] as bigint) + 1n;
      left--;
    }
  }
  return shares;
}

function result(ids: readonly string[], units: readonly bigint[], available: bigint, notes: string[]): AllocationResult {
  const allocations: Record<string, Decimal> = {};
  let sum = 0n;
  ids.forEach((id, i) => {
    allocations[id] = unitsToDecimal(units[i] as bigint);
    sum += units[i] as bigint;
  });
  const rest = available - sum;
  return { allocations, distributed: unitsToDecimal(sum), undistributed: unitsToDecimal(rest > 0n ? rest : 0n), notes };
}

function uniqueIds(items: readonly { readonly id: string }[], field: string): string[] {
  checkArray(items, field);
  const seen = new Set<string>();
  return items.map((it, i) => {
    const id = validateId((it as { id?: unknown } | null)?.id, `${field}[${i}].id`);
    if (seen.has(id)) throw new InvalidInputError(`${field}[${i}].id`, 'must be unique', id);
    seen.add(id);
    return id;
  });
}

function checkArray(items: unknown, field: string): void {
  if (!Array.isArray(items)) throw new InvalidInputError(field, 'must be an array', items);
}

function checkPriority(p: unknown, field: string): number {
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 10)
    throw new InvalidInputError(field, 'must be an integer from 1 to 10', p);
  return p;
}

/** Fixed allocation (seed 001): each agent keeps the amount it was given. */
export function allocateFixed(agents: readonly { readonly id: string; readonly amount: MoneyInput }[]): AllocationResult {
  const ids = uniqueIds(agents, 'agents');
  const units = agents.map((a, i) => toUnits(a.amount, `agents[${i}].amount`));
  return result(
    ids,
    units,
    units.reduce((s, u) => s + u, 0n),
    [],
  );
}

/**
 * Dynamic allocation (seed 001): the average of recent usage × `multiplier` (default 1.2),
 * never below `base`; `base` when there is no history. Rounded half up at the money scale.
 */
export function allocateDynamic(history: readonly MoneyInput[], base: MoneyInput, multiplier: MoneyInput = '1.2'): Decimal {
  checkArray(history, 'history');
  const baseUnits = toUnits(base, 'base');
  const [mNum, mDen] = ratio(multiplier, 'multiplier');
  if (history.length === 0) return unitsToDecimal(baseUnits);
  const total = history.reduce<bigint>((s, h, i) => s + toUnits(h, `history[${i}]`), 0n);
  const den = BigInt(history.length) * mDen;
  const units = (2n * total * mNum + den) / (2n * den);
  return unitsToDecimal(units > baseUnits ? units : baseUnits);
}

/** Options of {@link allocateByPriority}. */
export interface PriorityAllocationOptions {
  /** Agents at or above this priority are critical (default 8). */
  readonly criticalPriority?: number | undefined;
  /** What each critical agent gets first (default 50). */
  readonly minimum?: MoneyInput | undefined;
}

/**
 * Priority-based allocation (seed 001): agents with priority >= 8 first get a minimum of
 * 50 each; the rest is shared by every agent in proportion to its priority. Never more
 * than `available`: when the minimums alone exceed it, critical agents are served in
 * priority order (ties: input order), the last one partly, and a note says so.
 *
 * The seed's code divides the rest by the priorities of all agents but gives it only to
 * the non-critical ones, leaving part of it unallocated; here the critical agents share
 * in it too, so everything available is allocated and the minimum is a floor.
 */
export function allocateByPriority(
  agents: readonly { readonly id: string; readonly priority: number }[],
  available: MoneyInput,
  options: PriorityAllocationOptions = {},
): AllocationResult {
  const ids = uniqueIds(agents, 'agents');
  checkOptions(options, ['criticalPriority', 'minimum'], 'options');
  const prios = agents.map((a, i) => checkPriority(a.priority, `agents[${i}].priority`));
  const total = toUnits(available, 'available');
  const critical = checkPriority(options.criticalPriority ?? 8, 'options.criticalPriority');
  const minimum = toUnits(options.minimum ?? '50', 'options.minimum');
  const units = ids.map(() => 0n);
  const notes: string[] = [];
  const crit = prios.map((p, i) => ({ p, i })).filter((x) => x.p >= critical);
  crit.sort((a, b) => b.p - a.p || a.i - b.i);
  const minTotal = minimum * BigInt(crit.length);
  let left = total;
  if (minTotal > total) {
    for (const { i } of crit) {
      const give = left < minimum ? left : minimum;
      units[i] = give;
      left -= give;
    }
    notes.push(
      `minimums of ${unitsToDecimal(minTotal).toFixed()} for ${crit.length} critical agents exceed the ${unitsToDecimal(total).toFixed()} available: ` +
        'critical agents were served in priority order and nothing was left for the others',
    );
    return result(ids, units, total, notes);
  }
  for (const { i } of crit) units[i] = minimum;
  left -= minTotal;
  const shares = distributeUnits(
    left,
    prios.map((p) => [BigInt(p), 1n]),
  );
  shares.forEach((s, i) => (units[i] = (units[i] as bigint) + s));
  return result(ids, units, total, notes);
}

/** The seed 000 resources a greediness split shares out, each a total per day. */
export interface GreedinessTotals {
  /** Money per day, or `{ amount, days }` for a budget over several days (biweekly: `{ amount: 42, days: 14 }`). */
  readonly money?: MoneyInput | { readonly amount: MoneyInput; readonly days: number } | undefined;
  readonly computeHours?: MoneyInput | undefined;
  /** Whole calls: shares are whole numbers. */
  readonly apiCalls?: number | undefined;
  readonly storageGb?: MoneyInput | undefined;
}

/** One project's daily share of each resource. */
export interface GreedinessShare {
  readonly money: Decimal;
  readonly computeHours: Decimal;
  readonly apiCalls: Decimal;
  readonly storageGb: Decimal;
}

/** What {@link allocateByGreediness} decided. */
export interface GreedinessAllocation {
  readonly shares: Readonly<Record<string, GreedinessShare>>;
  /** The daily totals that were shared (money after turning a multi-day budget into a day's). */
  readonly daily: GreedinessShare;
  readonly notes: readonly string[];
}

function checkGreediness(g: unknown, field: string): Ratio {
  const r = ratio(g, field);
  if (r[0] > r[1]) throw new InvalidInputError(field, 'must be from 0.0 to 1.0', g);
  return r;
}

/**
 * Greediness-based distribution (seed 000): each project's daily share of money, compute
 * hours, API calls and storage is its greediness over the sum of all greediness. A money
 * budget over several days becomes a day's (42 over 14 days is 3 a day, rounded down at
 * the money scale when it does not divide), and every resource's shares sum exactly to it.
 */
export function allocateByGreediness(
  projects: readonly { readonly id: string; readonly greediness: number | string | Decimal }[],
  totals: GreedinessTotals,
): GreedinessAllocation {
  const ids = uniqueIds(projects, 'projects');
  const weights = projects.map((p, i) => checkGreediness(p.greediness, `projects[${i}].greediness`));
  if (totals === undefined) throw new InvalidInputError('totals', 'must be an object', totals);
  checkOptions(totals, ['money', 'computeHours', 'apiCalls', 'storageGb'], 'totals');
  const notes: string[] = [];
  let moneyDaily = 0n;
  const m = totals.money;
  if (m !== null && typeof m === 'object' && !Decimal.isDecimal(m)) {
    checkOptions(m, ['amount', 'days'], 'totals.money');
    const days = m.days;
    if (!Number.isInteger(days) || days < 1) throw new InvalidInputError('totals.money.days', 'must be a whole number of days >= 1', days);
    const amount = toUnits(m.amount, 'totals.money.amount');
    moneyDaily = amount / BigInt(days);
    if (moneyDaily * BigInt(days) !== amount)
      notes.push(
        `money ${unitsToDecimal(amount).toFixed()} over ${days} days was rounded down to a day's ${unitsToDecimal(moneyDaily).toFixed()}`,
      );
  } else if (m !== undefined) moneyDaily = toUnits(m, 'totals.money');
  const hours = totals.computeHours === undefined ? 0n : toUnits(totals.computeHours, 'totals.computeHours');
  const storage = totals.storageGb === undefined ? 0n : toUnits(totals.storageGb, 'totals.storageGb');
  const calls = totals.apiCalls === undefined ? 0n : toUnits(totals.apiCalls, 'totals.apiCalls', { scale: 0 });
  if (weights.every(([n]) => n === 0n) && ids.length > 0) notes.push('every greediness is 0: nothing was distributed');
  const split = (total: bigint): bigint[] => distributeUnits(total, weights);
  const money = split(moneyDaily);
  const h = split(hours);
  const c = split(calls);
  const s = split(storage);
  const shares: Record<string, GreedinessShare> = {};
  ids.forEach((id, i) => {
    shares[id] = {
      money: unitsToDecimal(money[i] as bigint),
      computeHours: unitsToDecimal(h[i] as bigint),
      apiCalls: unitsToDecimal(c[i] as bigint, 0),
      storageGb: unitsToDecimal(s[i] as bigint),
    };
  });
  return {
    shares,
    daily: {
      money: unitsToDecimal(moneyDaily),
      computeHours: unitsToDecimal(hours),
      apiCalls: unitsToDecimal(calls, 0),
      storageGb: unitsToDecimal(storage),
    },
    notes,
  };
}

/**
 * Efficiency-based greediness readjustment (seed 000): each project moves 20 % of the way
 * toward 80 % of its share of the total efficiency (new = 0.8 × current + 0.2 × 0.8 ×
 * efficiency / Σ efficiency), bounded to 0.01–1.0, rounded half up at 12 decimals. With
 * no efficiency at all the greediness only decays by the 0.8 factor (then the bounds).
 */
export function readjustGreediness(
  projects: readonly {
    readonly id: string;
    readonly greediness: number | string | Decimal;
    readonly efficiency: number | string | Decimal;
  }[],
): Record<string, Decimal> {
  const ids = uniqueIds(projects, 'projects');
  const g = projects.map((p, i) => checkGreediness(p.greediness, `projects[${i}].greediness`));
  const e = projects.map((p, i) => ratio(p.efficiency, `projects[${i}].efficiency`));
  // Σ efficiency as one ratio.
  let sNum = 0n;
  let sDen = 1n;
  for (const [n, d] of e) {
    sNum = sNum * d + n * sDen;
    sDen *= d;
  }
  const SCALE = 12;
  const unit = pow10(SCALE);
  const lo = unit / 100n;
  const out: Record<string, Decimal> = {};
  ids.forEach((id, i) => {
    const [gn, gd] = g[i] as Ratio;
    const [en, ed] = e[i] as Ratio;
    // 0.8 g + 0.16 × (en/ed) / (sNum/sDen) = (4 gn / 5 gd) + (4 en sDen) / (25 ed sNum)
    let num = 4n * gn;
    let den = 5n * gd;
    if (sNum > 0n) {
      const n2 = 4n * en * sDen;
      const d2 = 25n * ed * sNum;
      num = num * d2 + n2 * den;
      den = den * d2;
    }
    let units = (2n * num * unit + den) / (2n * den);
    if (units < lo) units = lo;
    if (units > unit) units = unit;
    out[id] = unitsToDecimal(units, SCALE);
  });
  return out;
}

/** One agent as {@link rebalance} weighs it. */
export interface RebalanceAgent {
  readonly id: string;
  readonly priority: number;
  /** Average recent usage; `undefined` (no history) weighs as 1.0. */
  readonly averageUsage?: MoneyInput | undefined;
}

/**
 * Rebalance (seed 001): share `remaining` (the pool's remaining budget) by weight =
 * 0.7 × priority + 0.3 × average recent usage (1.0 without history).
 */
export function rebalance(agents: readonly RebalanceAgent[], remaining: MoneyInput): AllocationResult {
  const ids = uniqueIds(agents, 'agents');
  const weights: Ratio[] = agents.map((a, i) => {
    const p = BigInt(checkPriority(a.priority, `agents[${i}].priority`));
    const [un, ud] = a.averageUsage === undefined ? ([1n, 1n] as Ratio) : ratio(a.averageUsage, `agents[${i}].averageUsage`);
    // 7p/10 + 3u/10
    return [7n * p * ud + 3n * un, 10n * ud];
  });
  const total = toUnits(remaining, 'remaining');
  return result(ids, distributeUnits(total, weights), total, []);
}

/** The exact average of amounts as a ratio of units (for usage weights), or undefined when empty. */
export function averageOf(amounts: readonly Decimal[]): Decimal | undefined {
  if (amounts.length === 0) return undefined;
  const sum = amounts.reduce((s, a) => s.plus(a), new Decimal(0));
  // Rounded half up at the money scale: the weight is then a plain Decimal again.
  const units = toUnits(sum, 'usage');
  const n = BigInt(amounts.length);
  return unitsToDecimal((2n * units + n) / (2n * n));
}
