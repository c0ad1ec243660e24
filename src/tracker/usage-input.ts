/**
 * Parsing what the recording methods add: `recordUsage`'s fields, `recordApiCall`'s call
 * and `recordComputeUsage`'s sample, into integer units per counter field (index of
 * FIELDS) and per user meter. Hand checks, not zod: these are hot paths. Bad input throws
 * `invalid_input` naming the field before anything is recorded.
 */
import type { Decimal } from 'decimal.js';
import { ceilDiv, formatUnits, InvalidInputError, toUnits, unitsToDecimal, validateId, type MoneyInput } from '../core/index.js';
import type { TrackerContext } from './context.js';
import { FIELD_INDEX, FIELDS, type CounterField } from './fields.js';

/** What `recordUsage` adds. Counts are whole numbers; `money` and the compute fields are decimals. */
export interface UsageInput {
  readonly llmCalls?: number | undefined;
  readonly toolCalls?: number | undefined;
  readonly agentHops?: number | undefined;
  readonly iterations?: number | undefined;
  readonly tokensIn?: number | undefined;
  readonly tokensOut?: number | undefined;
  readonly money?: MoneyInput | undefined;
  readonly apiCalls?: number | undefined;
  readonly cpuHours?: number | string | undefined;
  readonly memoryGbHours?: number | string | undefined;
  readonly storageGb?: number | string | undefined;
  /** User meters (declared with the governor's or tracker's `meters` option). */
  readonly meters?: { readonly [meter: string]: number | string | undefined } | undefined;
}

/** Compute usage handed to `priceCompute`. */
export interface ComputeSample {
  readonly cpuPercent: number;
  readonly memoryGb: number;
  readonly intervalMs: number;
  /** The CPU hours and memory GB-hours the sample adds. */
  readonly cpuHours: Decimal;
  readonly memoryGbHours: Decimal;
}

/** Amounts to add: units per FIELDS index, and per user meter. */
export interface ParsedUsage {
  readonly fields: bigint[];
  readonly meters: Map<string, bigint> | undefined;
}

export const FIELD_NAMES = FIELDS.map((f) => f.name).join(', ');

export function parseUsage(ctx: TrackerContext, u: unknown, field: string): ParsedUsage {
  if (u === null || typeof u !== 'object' || Array.isArray(u)) throw new InvalidInputError(field, 'must be an object of usage fields', u);
  const fields = FIELDS.map(() => 0n);
  let meters: Map<string, bigint> | undefined;
  for (const k in u) {
    const v = (u as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (k === 'meters') {
      meters = parseMeters(ctx, v, `${field}.meters`);
      continue;
    }
    const i = Object.hasOwn(FIELD_INDEX, k) ? FIELD_INDEX[k as CounterField] : undefined;
    if (i === undefined) throw new InvalidInputError(`${field}.${k}`, `is not a known field (${FIELD_NAMES}, meters)`, v);
    fields[i] = fieldUnits(i, v, `${field}.${k}`);
  }
  return { fields, meters };
}

export function parseMeters(ctx: TrackerContext, v: unknown, field: string): Map<string, bigint> {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new InvalidInputError(field, 'must be an object of user meter values', v);
  const out = new Map<string, bigint>();
  for (const [m, x] of Object.entries(v as Record<string, unknown>)) {
    if (x === undefined) continue;
    const f = `${field}.${m}`;
    if (!ctx.userMeters.includes(m))
      throw new InvalidInputError(f, `must name a user meter (${ctx.userMeters.join(', ') || 'none declared'})`, x);
    out.set(m, ctx.meters.toUnits(m, x, f));
  }
  return out;
}

/** Seed 000's `record_api_call` arguments: one API call, its cost and tokens; plus the ledger entry's usage. */
export function parseApiCall(call: unknown): { service: string; fields: bigint[]; usage: Record<string, string>; cost: string } {
  if (call === null || typeof call !== 'object') throw new InvalidInputError('call', 'must be an object', call);
  const c = call as { service?: unknown; cost?: unknown; tokens?: unknown };
  for (const k of Object.keys(c))
    if (k !== 'service' && k !== 'cost' && k !== 'tokens')
      throw new InvalidInputError(`call.${k}`, 'is not a known field (service, cost, tokens)', (c as Record<string, unknown>)[k]);
  const service = validateId(c.service, 'call.service');
  const fields = FIELDS.map(() => 0n);
  fields[FIELD_INDEX.apiCalls] = 1n;
  if (c.cost !== undefined) fields[FIELD_INDEX.money] = toUnits(c.cost, 'call.cost', { roundUp: true });
  const t = c.tokens as { input?: unknown; output?: unknown } | null | undefined;
  if (t !== undefined) {
    if (t === null || typeof t !== 'object') throw new InvalidInputError('call.tokens', 'must be { input, output }', t);
    for (const k of Object.keys(t))
      if (k !== 'input' && k !== 'output')
        throw new InvalidInputError(`call.tokens.${k}`, 'is not a known field (input, output)', (t as Record<string, unknown>)[k]);
    if (t.input !== undefined) fields[FIELD_INDEX.tokensIn] = wholeUnits(t.input, 'call.tokens.input');
    if (t.output !== undefined) fields[FIELD_INDEX.tokensOut] = wholeUnits(t.output, 'call.tokens.output');
  }
  const usage = { apiCalls: '1', tokensIn: String(fields[FIELD_INDEX.tokensIn]), tokensOut: String(fields[FIELD_INDEX.tokensOut]) };
  return { service, fields, usage, cost: formatUnits(fields[FIELD_INDEX.money] as bigint) };
}

/**
 * Seed 000's `record_compute_usage` arguments: `cpuPercent` of one core and `memoryGb`
 * held for `intervalMs` (default one minute, as in the seed) add CPU hours and memory
 * GB-hours, and money when `priceCompute` is given.
 */
export function parseComputeSample(sample: unknown, priceCompute: ((sample: ComputeSample) => MoneyInput) | undefined): bigint[] {
  if (sample === null || typeof sample !== 'object') throw new InvalidInputError('sample', 'must be an object', sample);
  const s = sample as { cpuPercent?: unknown; memoryGb?: unknown; intervalMs?: unknown };
  for (const k of Object.keys(s))
    if (k !== 'cpuPercent' && k !== 'memoryGb' && k !== 'intervalMs')
      throw new InvalidInputError(
        `sample.${k}`,
        'is not a known field (cpuPercent, memoryGb, intervalMs)',
        (s as Record<string, unknown>)[k],
      );
  const cpuPercent = nonNegNumber(s.cpuPercent, 'sample.cpuPercent');
  const memoryGb = nonNegNumber(s.memoryGb, 'sample.memoryGb');
  const cpuMicro = toUnits(cpuPercent, 'sample.cpuPercent', { scale: 6, roundUp: true });
  const memMicro = toUnits(memoryGb, 'sample.memoryGb', { scale: 6, roundUp: true });
  const intervalMs = s.intervalMs ?? 60_000;
  if (typeof intervalMs !== 'number' || !Number.isSafeInteger(intervalMs) || intervalMs <= 0)
    throw new InvalidInputError('sample.intervalMs', 'must be a positive whole number of ms', s.intervalMs);
  const ms = BigInt(intervalMs);
  // Nano-hours: percent/100 × ms/3.6e6 h × 1e9 = percentMicro × ms / 360,000; GB × ms/3.6e6 × 1e9 = GBMicro × ms / 3,600.
  const cpu = ceilDiv(cpuMicro * ms, 360_000n);
  const mem = ceilDiv(memMicro * ms, 3_600n);
  const fields = FIELDS.map(() => 0n);
  fields[FIELD_INDEX.cpuHours] = cpu;
  fields[FIELD_INDEX.memoryGbHours] = mem;
  if (priceCompute !== undefined) {
    const price = priceCompute({
      cpuPercent,
      memoryGb,
      intervalMs,
      cpuHours: unitsToDecimal(cpu, 9),
      memoryGbHours: unitsToDecimal(mem, 9),
    });
    fields[FIELD_INDEX.money] = toUnits(price, 'priceCompute() result', { roundUp: true });
  }
  return fields;
}

/** Units of FIELDS[i] in `v`: whole counts, money rounded up to pico-units, quantities at the field's scale. */
export function fieldUnits(i: number, v: unknown, field: string): bigint {
  const def = FIELDS[i]!.def;
  if (def.kind === 'count') return wholeUnits(v, field);
  if (def.kind === 'money') return toUnits(v, field, { roundUp: true });
  return toUnits(typeof v === 'number' ? nonNegNumber(v, field) : v, field, { scale: def.scale, roundUp: true });
}

function wholeUnits(v: unknown, field: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new InvalidInputError(field, 'must be a non-negative whole number', v);
}

export function nonNegNumber(v: unknown, field: string): number {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  throw new InvalidInputError(field, 'must be a finite number >= 0', v);
}
