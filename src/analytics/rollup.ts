/**
 * Rollups: the ledger folded into integer counters per (hour or UTC day, scope without its
 * execution, provider, model, name). One fold serves both paths: entries recorded at settle
 * time are folded in batches and merged into the store; a raw ledger scan is folded the same
 * way in memory. Reports read cells and never care which path made them.
 */
import { scopeKey, type Scope } from '../core/index.js';
import type { AnalyticsPricing } from './pricing.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Usage meters are kept at 6 decimal places (micro-units) whatever their own scale. */
export const USAGE_SCALE = 6;

/** Integer fields of a cell. Money in pico-units, usage in micro-units, durations in µs, counts as is. */
export type Fields = Record<string, bigint>;

/** One rollup cell. */
export interface Cell {
  /** `h` for an hour, `d` for a UTC day. */
  readonly grain: 'h' | 'd';
  /** Epoch ms of the hour or day start. */
  readonly start: number;
  /** Canonical scope key without the execution level. */
  readonly scope: string;
  readonly provider: string;
  readonly model: string;
  readonly name: string;
  readonly f: Fields;
}

/** The resource meters whose cost the allocation splits out, with their report names. */
export const RESOURCES = [
  ['cpuSeconds', 'cpu'],
  ['memoryGbSeconds', 'memory'],
  ['gpuSeconds', 'gpu'],
  ['storageGb', 'storage'],
  ['networkBytes', 'network'],
] as const;

/** What the fold needs to know besides the entry. */
export interface FoldConfig {
  readonly currency: string;
  readonly pricing: AnalyticsPricing;
  /** Pico-units per whole unit of each resource meter. */
  readonly rates: ReadonlyMap<string, bigint>;
  readonly smallInputTokens: number;
  readonly smallOutputTokens: number;
  readonly redundantWindowMs: number;
  readonly throttleGapMs: number;
}

/** The dimension key of an entry (JSON, so no separator can collide). */
export function dimKey(scope: string, provider: string, model: string, name: string): string {
  return JSON.stringify([scope, provider, model, name]);
}

/** The canonical key of `scope` without its execution level. */
export function rollupScopeKey(scope: Scope): string {
  if (scope.execution === undefined) return scopeKey(scope);
  const { execution: _drop, ...rest } = scope;
  return scopeKey(rest);
}

/** Read field `k` (0 when absent). */
export function g(f: Fields, k: string): bigint {
  return f[k] ?? 0n;
}

/** Add every field of `src` into `dst`. */
export function mergeFields(dst: Fields, src: Fields): void {
  for (const k in src) dst[k] = (dst[k] ?? 0n) + (src[k] as bigint);
}

/** Serialize fields for the store (bigints as decimal strings). */
export function encodeFields(f: Fields): string {
  const o: Record<string, string> = {};
  for (const k in f) o[k] = (f[k] as bigint).toString();
  return JSON.stringify(o);
}

/** Parse fields written by {@link encodeFields}. */
export function decodeFields(text: string | undefined): Fields {
  if (text === undefined || text === '') return {};
  const o = JSON.parse(text) as Record<string, string>;
  const f: Fields = {};
  for (const k in o) f[k] = BigInt(o[k] as string);
  return f;
}

/** Parse a dimension key back into its parts. */
export function parseDim(dim: string): { scope: string; provider: string; model: string; name: string } {
  const [scope, provider, model, name] = JSON.parse(dim) as [string, string, string, string];
  return { scope, provider, model, name };
}

/**
 * Split `[from, to)` into what rollups answer exactly (whole UTC days, whole hours) and the
 * fragments at the edges that only the raw ledger can (partial hours).
 */
export function decompose(from: number, to: number): { raw: [number, number][]; hours: number[]; days: number[] } {
  const out = { raw: [] as [number, number][], hours: [] as number[], days: [] as number[] };
  if (to <= from) return out;
  const h0 = Math.ceil(from / HOUR_MS) * HOUR_MS;
  const h1 = Math.floor(to / HOUR_MS) * HOUR_MS;
  if (h0 >= h1) {
    out.raw.push([from, to]);
    return out;
  }
  if (from < h0) out.raw.push([from, h0]);
  if (h1 < to) out.raw.push([h1, to]);
  const d0 = Math.ceil(h0 / DAY_MS) * DAY_MS;
  const d1 = Math.floor(h1 / DAY_MS) * DAY_MS;
  if (d0 >= d1) {
    for (let h = h0; h < h1; h += HOUR_MS) out.hours.push(h);
    return out;
  }
  for (let h = h0; h < d0; h += HOUR_MS) out.hours.push(h);
  for (let d = d0; d < d1; d += DAY_MS) out.days.push(d);
  for (let h = d1; h < h1; h += HOUR_MS) out.hours.push(h);
  return out;
}
