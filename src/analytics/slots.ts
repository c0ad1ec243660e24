/**
 * The fold's slots: each fixed field of a cell has an index into a Float64Array. Integers
 * below 2^52 add exactly in a double; a slot that grows past it spills into a bigint, so no
 * sum is ever rounded. Decimal strings are parsed by a fast path when they fit (costs below
 * 1,000 currency units with at most 12 decimals, usage below 10^9 with at most 6) and by the
 * exact bigint parser otherwise.
 */
import { parseScaled } from '../core/index.js';
import type { Fields } from './rollup.js';
import { ZERO_BUCKET } from './stats.js';

/** The resource meters the allocation prices, and their report names below. */
export const RESOURCE_METERS = ['cpuSeconds', 'memoryGbSeconds', 'gpuSeconds', 'storageGb', 'networkBytes'] as const;
export const RESOURCE_NAMES = ['cpu', 'memory', 'gpu', 'storage', 'network'] as const;
/** Usage meters with a slot of their own; any other meter goes to a cell's extra fields. */
export const USAGE_METERS = [
  'llmCalls',
  'toolCalls',
  'inputTokens',
  'outputTokens',
  'cachedInputTokens',
  'cacheWriteTokens',
  'reasoningTokens',
  ...RESOURCE_METERS,
];

// Slots of the fixed fields: an object literal, so reading a slot number is a fast property access.
export const IX = {
  calls: 0,
  ok: 1,
  error: 2,
  refused: 3,
  released: 4,
  cost: 5,
  errorCost: 6,
  otherCurrency: 7,
  rateLimited: 8,
  throttleIncidents: 9,
  durUs: 10,
  durN: 11,
  idleUs: 12,
  retries: 13,
  retriesOk: 14,
  llm: 15,
  batchable: 16,
  small: 17,
  smallCost: 18,
  nearWindow: 19,
  tokenCost: 20,
  apiCost: 21,
  computeN: 22,
  redundant: 23,
  redundantCost: 24,
  tasks: 25,
  completed: 26,
  quality: 27,
  qualityN: 28,
} as const;
const BASE = Object.keys(IX);
const FIELDS: readonly string[] = [
  ...BASE,
  ...RESOURCE_NAMES.map((r) => `res:${r}`),
  ...USAGE_METERS.map((m) => `u:${m}`),
  ...RESOURCE_METERS.map((m) => `n:${m}`),
];
/** Number of slots. */
export const NF = FIELDS.length;
/** Slot of each resource's cost, of its usage count (`N_IX`), of its usage (`RES_USAGE_IX`); usage slots by meter (`USAGE_IX`). */
export const RES_IX = RESOURCE_NAMES.map((r) => FIELDS.indexOf(`res:${r}`));
export const N_IX = RESOURCE_METERS.map((m) => FIELDS.indexOf(`n:${m}`));
export const USAGE_IX = new Map<string, number>(USAGE_METERS.map((m) => [m, FIELDS.indexOf(`u:${m}`)]));
export const RES_USAGE_IX = RESOURCE_METERS.map((m) => FIELDS.indexOf(`u:${m}`));
/** Slot counting each ledger status. */
export const STATUS_IX: Record<string, number> = { ok: IX.ok, error: IX.error, refused: IX.refused, released: IX.released };
/** A slot at or past this moves into its bigint. */
export const SPILL = 2 ** 52;
const MONEY_RE = /^\d{1,3}(?:\.\d{1,12})?$/;
const USAGE_RE = /^\d{1,9}(?:\.\d{1,6})?$/;
const PAD = '000000000000';

/** A decimal string at `scale` places (12 or 6) as a number when exact, else a bigint (or 0 when unreadable). */
export function scaled(s: string, scale: 12 | 6): number | bigint {
  if ((scale === 12 ? MONEY_RE : USAGE_RE).test(s)) {
    const dot = s.indexOf('.');
    if (dot < 0) return Number(s) * (scale === 12 ? 1e12 : 1e6);
    const frac = s.slice(dot + 1);
    return Number(s.slice(0, dot)) * (scale === 12 ? 1e12 : 1e6) + Number(frac + PAD.slice(0, scale - frac.length));
  }
  const u = parseScaled(s, scale, 'ceil');
  return typeof u === 'bigint' && u > 0n ? u : 0;
}

/** One cell's accumulators. */
export class Acc<D> {
  readonly v = new Float64Array(NF);
  big: bigint[] | undefined;
  readonly extra = new Map<string, number | bigint>();
  /** Latency sketch: bucket → count. */
  readonly lat = new Map<number, number>();
  constructor(
    readonly grain: 'h' | 'd',
    readonly start: number,
    readonly dim: D,
  ) {}

  add(i: number, x: number): void {
    const y = (this.v[i] as number) + x;
    if (y < SPILL) this.v[i] = y;
    else {
      const big = (this.big ??= new Array<bigint>(NF).fill(0n));
      big[i] = (big[i] as bigint) + BigInt(y);
      this.v[i] = 0;
    }
  }

  addBig(i: number, x: bigint): void {
    const big = (this.big ??= new Array<bigint>(NF).fill(0n));
    big[i] = (big[i] as bigint) + x;
  }

  addExtra(k: string, x: number | bigint): void {
    const cur = this.extra.get(k) ?? 0;
    if (typeof cur === 'number' && typeof x === 'number' && cur + x < SPILL) this.extra.set(k, cur + x);
    else this.extra.set(k, BigInt(cur) + BigInt(x));
  }

  fields(): Fields {
    const f: Fields = {};
    for (let i = 0; i < NF; i++) {
      const v = BigInt(this.v[i] as number) + (this.big?.[i] ?? 0n);
      if (v !== 0n) f[FIELDS[i] as string] = v;
    }
    for (const [k, v] of this.extra) f[k] = BigInt(v);
    for (const [b, n] of this.lat) f[b === ZERO_BUCKET ? 'lat:z' : `lat:${b}`] = BigInt(n);
    return f;
  }
}

/** {@link SPILL} as a bigint. */
export const SPILL_BIG = BigInt(SPILL);

/** A bigint as a number when below the spill point, else itself. */
export function num(v: bigint): number | bigint {
  return v < SPILL_BIG ? Number(v) : v;
}

/** A token count from a usage string (whole, non-negative). */
export function toTokens(v: string | undefined): number {
  if (v === undefined) return 0;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : Math.max(0, Math.ceil(Number.isFinite(n) ? n : 0));
}
