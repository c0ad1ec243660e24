/**
 * Reading a pid's usage: the keys of its counters and what `getUsage`,
 * `getRemainingBudget` and `getSystemUsage` make of their states.
 */
import type { Decimal } from 'decimal.js';
import { formatUnits, unitsToDecimal } from '../core/index.js';
import type { CounterState } from '../storage/index.js';
import type { TrackerContext } from './context.js';
import { FIELD_INDEX, FIELDS, meterKey, SUFFIX } from './fields.js';
import type { CompiledQuota } from './quota.js';

/** A process's usage (seed 002's `ResourceUsage`, with seed 000's resources). */
export interface ResourceUsage {
  readonly llmCalls: number;
  readonly toolCalls: number;
  readonly agentHops: number;
  readonly iterations: number;
  readonly tokensIn: number;
  readonly tokensOut: number;
  /** Seconds since allocation (monotonic clock). */
  readonly elapsedSeconds: number;
  /** Money spent, in the tracker's currency. */
  readonly money: Decimal;
  readonly apiCalls: number;
  /** Minutes since allocation (seed 000's `time_minutes`). */
  readonly timeMinutes: number;
  readonly cpuHours: number;
  readonly memoryGbHours: number;
  readonly storageGb: number;
  /** User meters, by name. */
  readonly meters: { readonly [meter: string]: number };
}

/** What one process has left (seed `get_remaining_budget`): never negative; open reservations count as used. */
export interface RemainingBudget {
  readonly llmCalls: number;
  readonly toolCalls: number;
  readonly agentHops: number;
  readonly iterations: number;
  /** Whole seconds until the timeout. */
  readonly timeSeconds: number;
  readonly tokensIn?: number;
  readonly tokensOut?: number;
  readonly money?: Decimal;
  readonly apiCalls?: number;
  readonly timeMinutes?: number;
  readonly cpuHours?: number;
  readonly memoryGbHours?: number;
  readonly storageGb?: number;
  readonly meters?: { readonly [meter: string]: number };
}

/** Seed `get_system_usage`. */
export interface SystemUsage {
  /** Pids tracked now. */
  readonly totalProcesses: number;
  /** Tracked pids still within every quota field (`checkQuota` is null). */
  readonly activeProcesses: number;
  /** Pids released since the tracker started. */
  readonly releasedProcesses: number;
  /** Totals over tracked and released pids. */
  readonly systemLlmCalls: number;
  readonly systemToolCalls: number;
  readonly systemAgentHops: number;
  readonly systemIterations: number;
  readonly systemTokensIn: number;
  readonly systemTokensOut: number;
  readonly systemMoney: Decimal;
  /** Tracked pids per `checkQuota` reason. */
  readonly exceeded: { readonly [reason: string]: number };
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Every counter key of a pid: FIELDS in order, then the user meters. */
export function allKeys(ctx: TrackerContext, prefix: string): string[] {
  const keys = SUFFIX.map((s) => prefix + s);
  for (const m of ctx.userMeters) keys.push(meterKey(prefix, m));
  return keys;
}

/** A usage from every counter's `used` (FIELDS, then user meters, as `allKeys` orders them). */
export function usageOf(ctx: TrackerContext, used: readonly bigint[], elapsedMs: number): ResourceUsage {
  const u = (i: number): number => toNumber(used[i] as bigint, FIELDS[i]!.def.scale);
  const meters: Record<string, number> = {};
  ctx.userMeters.forEach((m, j) => {
    meters[m] = toNumber(used[FIELDS.length + j] as bigint, ctx.meters.get(m, m).scale);
  });
  return {
    llmCalls: u(0),
    toolCalls: u(1),
    agentHops: u(2),
    iterations: u(3),
    tokensIn: u(4),
    tokensOut: u(5),
    elapsedSeconds: elapsedMs / 1000,
    money: moneyOf(used[FIELD_INDEX.money] as bigint),
    apiCalls: u(7),
    timeMinutes: elapsedMs / 60_000,
    cpuHours: u(8),
    memoryGbHours: u(9),
    storageGb: u(10),
    meters,
  };
}

/** What is left of each capped field, from every counter's state. */
export function remainingOf(ctx: TrackerContext, q: CompiledQuota, states: readonly CounterState[], elapsedMs: number): RemainingBudget {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < FIELDS.length; i++) {
    const cap = q.caps[i];
    if (cap === undefined) continue;
    const left = free(cap.max, states[i] as CounterState);
    out[FIELDS[i]!.name] = i === FIELD_INDEX.money ? unitsToDecimal(left) : toNumber(left, cap.def.scale);
    if (i === 3) out.timeSeconds = Math.max(0, Math.floor((q.quota.timeoutSeconds * 1000 - elapsedMs) / 1000));
  }
  if (q.quota.timeMinutes !== undefined) out.timeMinutes = Math.max(0, q.quota.timeMinutes - elapsedMs / 60_000);
  if (q.meterCaps.size > 0) {
    const meters: Record<string, number> = {};
    ctx.userMeters.forEach((m, j) => {
      const cap = q.meterCaps.get(m);
      if (cap !== undefined) meters[m] = toNumber(free(cap.max, states[FIELDS.length + j] as CounterState), cap.def.scale);
    });
    out.meters = meters;
  }
  return out as unknown as RemainingBudget;
}

/** A pid's final usage as the decimal strings of a ledger entry and `usage` event. */
export function usageStrings(ctx: TrackerContext, used: readonly bigint[], elapsedSeconds: number): Record<string, string> {
  const strings: Record<string, string> = {};
  FIELDS.forEach((f, i) => {
    strings[f.name] = formatUnits(used[i] as bigint, f.def.scale);
  });
  ctx.userMeters.forEach((m, j) => {
    strings[`meters.${m}`] = formatUnits(used[FIELDS.length + j] as bigint, ctx.meters.get(m, m).scale);
  });
  strings.elapsedSeconds = String(elapsedSeconds);
  return strings;
}

export function toNumber(units: bigint, scale: number): number {
  if (units === 0n) return 0;
  if (scale === 0) return units <= MAX_SAFE ? Number(units) : Number(units.toString());
  return Number(formatUnits(units, scale));
}

/** Most pids spend nothing through the tracker: one shared Decimal zero (Decimals are immutable) spares building one per read. */
let ZERO_MONEY: Decimal | undefined;
function moneyOf(units: bigint): Decimal {
  return units === 0n ? (ZERO_MONEY ??= unitsToDecimal(0n)) : unitsToDecimal(units);
}

function free(max: bigint, s: CounterState): bigint {
  const left = max - s.used - s.held;
  return left > 0n ? left : 0n;
}
