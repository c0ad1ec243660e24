/**
 * Limit checks over a pid's counters: `checkQuota`'s reason in the seed's order, seed
 * 000's soft-limit warning list and hard-limit check (`used + estimate > allocated`, with
 * `required`, `available` and `alternatives`), and the warning and violation events that
 * recorded usage crossing a cap raises.
 */
import type { Decimal } from 'decimal.js';
import { formatUnits, InvalidInputError, toUnits, unitsToDecimal, type GovernorErrorCode } from '../core/index.js';
import type { CounterState } from '../storage/index.js';
import type { TrackerContext } from './context.js';
import { FIELD_INDEX, FIELDS, type CounterField } from './fields.js';
import type { OperationFeatures, UsagePredictor } from './prediction.js';
import type { CompiledQuota, QuotaCap } from './quota.js';
import { FIELD_NAMES, fieldUnits, nonNegNumber, parseMeters, type UsageInput } from './usage-input.js';
import { toNumber } from './usage.js';

/** One entry of seed 000's soft-limit check. */
export interface SoftLimitWarning {
  readonly resource: string;
  /** used / allocated. */
  readonly utilization: number;
  /** allocated - used (money as a Decimal). */
  readonly remaining: number | Decimal;
}

/** What an operation is estimated to use, per resource (for the hard-limit check): what `recordUsage` takes, plus time. */
export interface ResourceEstimate extends UsageInput {
  readonly timeMinutes?: number | undefined;
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

/** Suggestions a hard-limit refusal carries: by resource, or computed. */
export type Alternatives = Readonly<Record<string, readonly string[]>> | ((ctx: AlternativesContext) => readonly string[]);

/** The capped counters `checkQuota` reads, in the seed's order (the four call counts are always capped, so they come first). */
export function quotaCaps(q: CompiledQuota): { readonly suffixes: readonly (number | string)[]; readonly caps: readonly QuotaCap[] } {
  const suffixes: (number | string)[] = [];
  const caps: QuotaCap[] = [];
  for (let i = 0; i < FIELDS.length; i++) {
    const cap = q.caps[i];
    if (cap !== undefined) {
      suffixes.push(i);
      caps.push(cap);
    }
  }
  for (const [m, cap] of q.meterCaps) {
    suffixes.push(m);
    caps.push(cap);
  }
  return { suffixes, caps };
}

/** `checkQuota`'s reason from the states of `quotaCaps`' counters: a field counts as exceeded once its cap is reached. */
export function quotaReason(
  q: CompiledQuota,
  caps: readonly QuotaCap[],
  states: readonly CounterState[],
  elapsedMs: number,
): string | null {
  // The time check goes after the four call counts, as in the seed.
  for (let j = 0; j < caps.length; j++) {
    if (j === 4 && elapsedMs >= q.deadlineMs) return 'timeout_exceeded';
    const cap = caps[j] as QuotaCap;
    if ((states[j] as CounterState).used >= cap.max) return cap.def.refusalCode;
  }
  return caps.length <= 4 && elapsedMs >= q.deadlineMs ? 'timeout_exceeded' : null;
}

/** The warning and violation an addition of `amount` that brought a counter to `used` caused, if it crossed them. */
export function crossed(ctx: TrackerContext, pid: string, cap: QuotaCap, amount: bigint, used: bigint): void {
  const before = used - amount;
  const t = cap.thresholdUnits[0] as bigint;
  const scale = cap.def.scale;
  if (before < t && used >= t && t > 0n) {
    ctx.emit('warning', {
      limit: cap.id,
      meter: cap.meter,
      scope: ctx.scopeOf(pid),
      used: formatUnits(used, scale),
      max: formatUnits(cap.max, scale),
      threshold: cap.thresholds[0] as number,
      enforcement: 'hard',
      period: undefined,
      currency: cap.currency,
      at: ctx.clock.now(),
      pid,
    });
  }
  if (used > cap.max && before <= cap.max) {
    ctx.emit('violation', {
      type: 'exceeded',
      code: cap.def.refusalCode,
      limit: cap.id,
      meter: cap.meter,
      scope: ctx.scopeOf(pid),
      requested: formatUnits(amount, scale),
      available: '0',
      used: formatUnits(used, scale),
      max: formatUnits(cap.max, scale),
      retryAfterMs: undefined,
      period: undefined,
      at: ctx.clock.now(),
      pid,
    });
  }
}

/** One allocated resource of a pid, with used and allocated in units, for the soft and hard checks. */
interface Resource {
  readonly resource: string;
  readonly code: GovernorErrorCode;
  readonly scale: number;
  readonly used: number;
  readonly allocated: number;
  readonly usedUnits: bigint;
  readonly allocatedUnits: bigint;
  readonly remaining: () => number | Decimal;
}

/** Every allocated resource of a pid (states as `allKeys` orders them). */
function resources(ctx: TrackerContext, q: CompiledQuota, states: readonly CounterState[], elapsedMs: number): Resource[] {
  const out: Resource[] = [];
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
    out.push({
      resource,
      code: 'timeout_exceeded',
      scale: 6,
      used: elapsedMs / unitMs,
      allocated: maxMs / unitMs,
      usedUnits: BigInt(Math.floor((elapsedMs * 1e6) / unitMs)),
      allocatedUnits: BigInt(Math.round((maxMs * 1e6) / unitMs)),
      remaining: () => (maxMs - elapsedMs) / unitMs,
    });
  };
  time('timeSeconds', q.quota.timeoutSeconds * 1000, 1000);
  if (q.quota.timeMinutes !== undefined) time('timeMinutes', q.quota.timeMinutes * 60_000, 60_000);
  ctx.userMeters.forEach((m, j) => {
    const cap = q.meterCaps.get(m);
    if (cap !== undefined) add(m, cap, states[FIELDS.length + j] as CounterState);
  });
  return out;
}

/** Seed 000's soft-limit check: every allocated resource whose utilization is above `threshold`. */
export function softLimits(
  ctx: TrackerContext,
  q: CompiledQuota,
  states: readonly CounterState[],
  elapsedMs: number,
  threshold: number,
): SoftLimitWarning[] {
  return resources(ctx, q, states, elapsedMs)
    .filter((r) => r.allocated > 0 && r.used / r.allocated > threshold)
    .map((r) => ({ resource: r.resource, utilization: r.used / r.allocated, remaining: r.remaining() }));
}

/** Amounts of an estimate by resource. */
export interface ParsedEstimate {
  readonly amounts: Map<string, { units: bigint; value: number }>;
  readonly operationType: string | undefined;
}

/** Seed 000's hard-limit check: the first resource where `used + estimate > allocated` refuses. */
export function hardLimit(
  ctx: TrackerContext,
  pid: string,
  q: CompiledQuota,
  states: readonly CounterState[],
  elapsedMs: number,
  estimate: ParsedEstimate,
  alternatives: Alternatives | undefined,
): HardLimitCheck {
  for (const r of resources(ctx, q, states, elapsedMs)) {
    const need = estimate.amounts.get(r.resource);
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
      alternatives: alternativesFor(alternatives, {
        pid,
        resource: r.resource,
        required: formatUnits(need.units, r.scale),
        available: formatUnits(available, r.scale),
        operationType: estimate.operationType,
      }),
    };
  }
  return { allowed: true };
}

/** An estimate given as resource amounts, or as an operation type (and its features) to predict. */
export function parseEstimate(
  ctx: TrackerContext,
  predictor: UsagePredictor,
  estimate: ResourceEstimate | string,
  features: OperationFeatures | undefined,
): ParsedEstimate {
  const amounts = new Map<string, { units: bigint; value: number }>();
  if (typeof estimate === 'string') {
    const p = predictor.predict(estimate, features);
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
      for (const [m, units] of parseMeters(ctx, v, f)) amounts.set(m, { units, value: Number(units) });
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

function alternativesFor(a: Alternatives | undefined, ctx: AlternativesContext): readonly string[] {
  if (a === undefined) return [];
  if (typeof a === 'function') {
    const r = a(ctx);
    return Array.isArray(r) ? [...(r as readonly string[])] : [];
  }
  return [...(a[ctx.resource] ?? [])];
}
