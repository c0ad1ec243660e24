/**
 * Helpers the reports share: grouping cells, reading fields in report units, money as
 * decimal strings, time ranges and CSV.
 */
import { Decimal } from 'decimal.js';
import { formatUnits, parseScopeKey, type Scope } from '../core/index.js';
import { DAY_MS, g, mergeFields, USAGE_SCALE, type Cell, type Fields } from './rollup.js';

/** Money (pico-units) as a decimal string. */
export const money = (pico: bigint): string => formatUnits(pico);
/** A usage field (micro-units) as a decimal string. */
export const usage = (micro: bigint): string => formatUnits(micro, USAGE_SCALE);

/** `pico / n` as a decimal string rounded half-even to the pico ('0' when n is 0). */
export function moneyPer(pico: bigint, n: bigint | number): string {
  const d = BigInt(n);
  if (d === 0n) return '0';
  return new Decimal(formatUnits(pico)).div(d.toString()).toDecimalPlaces(12, Decimal.ROUND_HALF_EVEN).toFixed();
}

/** A ratio as a number rounded to 6 decimals (0 when the denominator is 0). */
export function ratio(a: bigint | number, b: bigint | number): number {
  const d = Number(b);
  if (d === 0) return 0;
  return round6(Number(a) / d);
}

/** Round to 6 decimals, so report numbers are stable across platforms' last-bit differences. */
export function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Total tokens (input + output) of fields, as a bigint count. */
export function tokenCount(f: Fields): bigint {
  return (g(f, 'u:inputTokens') + g(f, 'u:outputTokens')) / 1_000_000n;
}

/** Sum of every cell's fields. */
export function total(cells: readonly Cell[]): Fields {
  const f: Fields = {};
  for (const c of cells) mergeFields(f, c.f);
  return f;
}

/** Sum cells per key, keeping one sample cell of each group for its dimensions. */
export function groupBy(cells: readonly Cell[], key: (c: Cell) => string): Map<string, { cell: Cell; f: Fields }> {
  const out = new Map<string, { cell: Cell; f: Fields }>();
  for (const c of cells) {
    const k = key(c);
    let gr = out.get(k);
    if (gr === undefined) out.set(k, (gr = { cell: c, f: {} }));
    mergeFields(gr.f, c.f);
  }
  return out;
}

const scopes = new Map<string, Scope>();
/** The scope of a cell (parsed once per key). */
export function cellScope(c: Cell): Scope {
  let s = scopes.get(c.scope);
  if (s === undefined) {
    if (scopes.size > 10_000) scopes.clear();
    s = parseScopeKey(c.scope);
    scopes.set(c.scope, s);
  }
  return s;
}

/** The UTC day start of a cell. */
export const dayOf = (c: Cell): number => Math.floor(c.start / DAY_MS) * DAY_MS;
/** `YYYY-MM-DD` of an epoch ms (UTC). */
export const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
/** ISO 8601 of an epoch ms. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** Fields summed per UTC day over `[from, to)`, every day present (zeros where nothing happened). */
export function daily(cells: readonly Cell[], from: number, to: number): { day: number; f: Fields }[] {
  const byDay = groupBy(cells, (c) => String(dayOf(c)));
  const out: { day: number; f: Fields }[] = [];
  for (let d = Math.floor(from / DAY_MS) * DAY_MS; d < to; d += DAY_MS) out.push({ day: d, f: byDay.get(String(d))?.f ?? {} });
  return out;
}

/** Rows of plain values to CSV (RFC 4180): a header of the first row's keys, values quoted when needed. */
export function toCSV(rows: readonly Record<string, unknown>[]): string {
  if (rows.length === 0) return '';
  const cols: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!cols.includes(k)) cols.push(k);
  const cell = (v: unknown): string => {
    if (v === undefined || v === null) return '';
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [cols.join(','), ...rows.map((r) => cols.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}
