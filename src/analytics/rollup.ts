/**
 * Rollups: the ledger folded into integer counters per (hour or UTC day, scope without its
 * execution, provider, model, name). One fold serves both paths: entries recorded at settle
 * time are folded in batches and merged into the store; a raw ledger scan is folded the same
 * way in memory. Reports read cells and never care which path made them.
 */
import { parseScaled, scopeKey, SCOPE_LEVELS, type Scope } from '../core/index.js';
import type { LedgerEntry } from '../storage/index.js';
import { sketchIndex } from './stats.js';
import type { AnalyticsPricing } from './pricing.js';

export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;
/** Usage meters are kept at 6 decimal places (micro-units) whatever their own scale. */
export const USAGE_SCALE = 6;
const MICRO = 1_000_000n;

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

function add(f: Fields, k: string, v: bigint): void {
  if (v !== 0n) f[k] = (f[k] ?? 0n) + v;
}

/** Read field `k` (0 when absent). */
export function g(f: Fields, k: string): bigint {
  return f[k] ?? 0n;
}

/** Add every field of `src` into `dst`. */
export function mergeFields(dst: Fields, src: Fields): void {
  for (const k in src) dst[k] = (dst[k] ?? 0n) + (src[k] as bigint);
}

const INT_RE = /^\d+$/;

/** A usage value (decimal string) in micro-units; 0 for anything unreadable. */
export function micro(v: string | undefined): bigint {
  if (v === undefined) return 0n;
  if (INT_RE.test(v)) return BigInt(v) * MICRO;
  const u = parseScaled(v, USAGE_SCALE, 'ceil');
  return typeof u === 'bigint' && u > 0n ? u : 0n;
}

function tokens(v: string | undefined): bigint {
  if (v === undefined) return 0n;
  if (INT_RE.test(v)) return BigInt(v);
  const u = parseScaled(v, 0, 'ceil');
  return typeof u === 'bigint' && u > 0n ? u : 0n;
}

/**
 * Folds ledger entries into cells. It keeps the little state that spans entries (the last
 * time each request fingerprint succeeded, the last rate-limit refusal per dimension), so
 * entries must come in ledger order.
 */
export class Folder {
  readonly cells = new Map<string, Cell>();
  private readonly fingerprints = new Map<string, number>();
  private readonly lastThrottle = new Map<string, number>();

  constructor(
    private readonly config: FoldConfig,
    private readonly grains: readonly ('h' | 'd')[],
  ) {}

  /** Start a new batch of cells, keeping the cross-entry state. */
  reset(): void {
    this.cells.clear();
  }

  /**
   * Fold one entry: `call` and `outcome` entries count, other kinds are ignored. With
   * `keep` false the entry only warms the cross-entry state (a raw scan reads the span
   * before its window so redundancy and throttle runs are judged as the live fold judged them).
   */
  fold(e: LedgerEntry, keep = true): void {
    const d = this.delta(e);
    if (d === undefined || !keep) return;
    const scope = rollupScopeKey(e.scope);
    const provider = e.provider ?? '';
    const model = e.model ?? '';
    const name = e.name ?? '';
    const dim = dimKey(scope, provider, model, name);
    for (const grain of this.grains) {
      const size = grain === 'h' ? HOUR_MS : DAY_MS;
      const start = Math.floor(e.at / size) * size;
      const key = `${grain}:${start}:${dim}`;
      let cell = this.cells.get(key);
      if (cell === undefined) {
        cell = { grain, start, scope, provider, model, name, f: {} };
        this.cells.set(key, cell);
      }
      mergeFields(cell.f, d);
    }
  }

  private delta(e: LedgerEntry): Fields | undefined {
    const f: Fields = {};
    if (e.kind === 'outcome') {
      const data = e.data ?? {};
      add(f, 'tasks', 1n);
      if (data.completed === true) add(f, 'completed', 1n);
      if (typeof data.quality === 'number' && Number.isFinite(data.quality)) {
        add(f, 'quality', BigInt(Math.round(data.quality * 1e6)));
        add(f, 'qualityN', 1n);
      }
      return f;
    }
    if (e.kind !== 'call') return undefined;
    const c = this.config;
    add(f, 'calls', 1n);
    add(f, e.status, 1n);
    let cost = 0n;
    if (e.currency === c.currency) cost = parseScaled(e.cost, 12, 'ceil') ?? 0n;
    else add(f, 'otherCurrency', 1n);
    if (cost < 0n) cost = 0n;
    add(f, 'cost', cost);
    if (e.status === 'error') add(f, 'errorCost', cost);
    if (e.status === 'error' || e.status === 'refused') add(f, `err:${e.code ?? 'unknown'}`, 1n);
    const dim = dimKey(rollupScopeKey(e.scope), e.provider ?? '', e.model ?? '', e.name ?? '');
    if (e.status === 'refused' && e.code === 'rate_limited') {
      add(f, 'rateLimited', 1n);
      const last = this.lastThrottle.get(dim);
      if (last === undefined || e.at - last > c.throttleGapMs) add(f, 'throttleIncidents', 1n);
      this.lastThrottle.set(dim, e.at);
    }
    const u = e.usage;
    for (const m in u) add(f, `u:${m}`, micro(u[m]));
    const ran = e.status === 'ok' || e.status === 'error';
    if (e.durationMs !== undefined && Number.isFinite(e.durationMs) && e.durationMs >= 0) {
      const us = BigInt(Math.round(e.durationMs * 1000));
      if (ran) {
        add(f, 'durUs', us);
        add(f, 'durN', 1n);
        add(f, `lat:${sketchIndex(e.durationMs)}`, 1n);
      } else if (e.status === 'released') add(f, 'idleUs', us);
    }
    const data = e.data;
    const attempt = data?.attempt;
    if (typeof attempt === 'number' && attempt > 1 && ran) {
      add(f, 'retries', 1n);
      if (e.status === 'ok') add(f, 'retriesOk', 1n);
    }
    // Token cost versus the rest (compute, API fees), the split the allocation reports.
    const input = tokens(u.inputTokens);
    const output = tokens(u.outputTokens);
    let tokenCost = 0n;
    if (u.inputTokens !== undefined || u.outputTokens !== undefined) {
      add(f, 'llm', 1n);
      if (data?.batchable === true) add(f, 'batchable', 1n);
      const priced =
        e.model === undefined
          ? undefined
          : c.pricing.cost(e.model, {
              inputTokens: input,
              outputTokens: output,
              cachedInputTokens: tokens(u.cachedInputTokens),
              cacheWriteTokens: tokens(u.cacheWriteTokens),
              reasoningTokens: tokens(u.reasoningTokens),
            });
      tokenCost = priced === undefined || priced > cost ? cost : priced;
      if (e.status === 'ok' && input <= BigInt(c.smallInputTokens) && output <= BigInt(c.smallOutputTokens)) {
        add(f, 'small', 1n);
        add(f, 'smallCost', cost);
      }
      const window = e.model === undefined ? undefined : c.pricing.contextWindow?.(e.model);
      if (window !== undefined && window > 0 && Number(input) >= 0.8 * window) add(f, 'nearWindow', 1n);
    }
    add(f, 'tokenCost', tokenCost);
    for (const [m] of RESOURCES) if ((f[`u:${m}`] ?? 0n) > 0n) add(f, `n:${m}`, 1n);
    this.splitRest(f, cost - tokenCost);
    const fp = data?.fingerprint;
    if (typeof fp === 'string' && e.status === 'ok') {
      // Per scope (without the execution): the same request from another agent is not this agent's waste.
      const key = `${rollupScopeKey(e.scope)}|${fp}`;
      const last = this.fingerprints.get(key);
      if (last !== undefined && e.at - last <= c.redundantWindowMs) {
        add(f, 'redundant', 1n);
        add(f, 'redundantCost', cost);
      }
      this.fingerprints.set(key, e.at);
      if (this.fingerprints.size > 100_000) this.sweepFingerprints(e.at);
    }
    return f;
  }

  /** Split what a call cost beyond its tokens over its resources at the configured rates; the remainder is API cost. */
  private splitRest(f: Fields, rest: bigint): void {
    if (rest <= 0n) return;
    const raw: bigint[] = [];
    let sum = 0n;
    for (const [meter] of RESOURCES) {
      const used = f[`u:${meter}`] ?? 0n;
      const v = (used * (this.config.rates.get(meter) ?? 0n)) / MICRO;
      raw.push(v);
      sum += v;
    }
    add(f, 'computeN', 1n);
    if (sum <= rest) {
      RESOURCES.forEach(([, r], i) => add(f, `res:${r}`, raw[i] as bigint));
      add(f, 'apiCost', rest - sum);
      return;
    }
    // The resources explain more than was charged: share the charge in proportion, exactly.
    let given = 0n;
    let big = 0;
    RESOURCES.forEach(([, r], i) => {
      const share = (rest * (raw[i] as bigint)) / sum;
      given += share;
      if ((raw[i] as bigint) > (raw[big] as bigint)) big = i;
      add(f, `res:${r}`, share);
    });
    add(f, `res:${(RESOURCES[big] as readonly [string, string])[1]}`, rest - given);
  }

  private sweepFingerprints(now: number): void {
    for (const [k, at] of this.fingerprints) if (now - at > this.config.redundantWindowMs) this.fingerprints.delete(k);
  }
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

/** A scope level id of a rollup scope key, or '' when the key lacks it. */
export function levelOf(scope: Scope, level: (typeof SCOPE_LEVELS)[number]): string {
  return scope[level] ?? '';
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
