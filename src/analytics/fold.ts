/**
 * The fold: ledger entries into rollup cells. It runs for every recorded call, so it works
 * in plain numbers on the slots of `slots.ts`; cells are turned into `Fields` (bigints)
 * once, when a batch is written or read.
 */
import type { Scope } from '../core/index.js';
import type { LedgerEntry } from '../storage/index.js';
import { DAY_MS, dimKey, HOUR_MS, rollupScopeKey, USAGE_SCALE, type Cell, type FoldConfig } from './rollup.js';
import { Acc, IX, N_IX, num, RES_IX, RES_USAGE_IX, RESOURCE_METERS, scaled, STATUS_IX, toTokens, USAGE_IX, NF } from './slots.js';
import { sketchBucket } from './stats.js';

/** One dimension (scope without execution, provider, model, name) and its current cells. */
interface Dim {
  readonly scope: string;
  readonly provider: string;
  readonly model: string;
  readonly name: string;
  readonly key: string;
  hour: Acc<Dim> | undefined;
  day: Acc<Dim> | undefined;
  lastThrottle: number;
}

/**
 * Folds ledger entries into cells. It keeps the little state that spans entries (the last
 * time each request fingerprint succeeded per scope, the last rate-limit refusal per
 * dimension), so entries must come in ledger order.
 */
export class Folder {
  private accs: Acc<Dim>[] = [];
  private readonly byKey = new Map<string, Acc<Dim>>();
  private readonly dims = new Map<string, Map<string, Map<string, Map<string, Dim>>>>();
  private readonly scopeKeys = new WeakMap<Scope, string>();
  private readonly fingerprints = new Map<string, Map<string, number>>();
  private fingerprintCount = 0;
  private sweepAt = 10_000;
  private readonly d = new Float64Array(NF);
  private readonly bigD = new Map<number, bigint>();
  private readonly extraD: [string, number | bigint][] = [];
  private latBucket: number | undefined;
  /** Slots of `d` this entry set, so applying and clearing touch only those. */
  private readonly touched = new Int32Array(NF);
  private nTouched = 0;
  private lastDim: Dim | undefined;
  private lastScope: Scope | undefined;
  private lastScopeKey = '';
  private readonly hours: boolean;
  private readonly days: boolean;

  constructor(
    private readonly config: FoldConfig,
    grains: readonly ('h' | 'd')[],
  ) {
    this.hours = grains.includes('h');
    this.days = grains.includes('d');
  }

  /** Start a new batch of cells, keeping the cross-entry state. */
  reset(): void {
    this.accs = [];
    this.byKey.clear();
    for (const p of this.dims.values())
      for (const m of p.values()) for (const n of m.values()) for (const dim of n.values()) dim.hour = dim.day = undefined;
  }

  /** The cells of the batch. */
  output(): Cell[] {
    return this.accs.map((a) => ({
      grain: a.grain,
      start: a.start,
      scope: a.dim.scope,
      provider: a.dim.provider,
      model: a.dim.model,
      name: a.dim.name,
      f: a.fields(),
    }));
  }

  /** The store key suffix (`JSON [scope, provider, model, name]`) of each output cell, in output order. */
  dimKeys(): string[] {
    return this.accs.map((a) => a.dim.key);
  }

  /** The rollup scope key, memoized per scope object when it is frozen (the governor's validated scopes are, and repeat). */
  private scopeKeyOf(scope: Scope): string {
    if (scope === this.lastScope) return this.lastScopeKey;
    let k: string | undefined;
    if (Object.isFrozen(scope)) {
      k = this.scopeKeys.get(scope);
      if (k === undefined) this.scopeKeys.set(scope, (k = rollupScopeKey(scope)));
    } else k = rollupScopeKey(scope);
    this.lastScope = scope;
    this.lastScopeKey = k;
    return k;
  }

  private dimOf(scope: string, e: LedgerEntry): Dim {
    const last = this.lastDim;
    if (
      last !== undefined &&
      last.scope === scope &&
      last.provider === (e.provider ?? '') &&
      last.model === (e.model ?? '') &&
      last.name === (e.name ?? '')
    ) {
      return last;
    }
    const dim = this.lookupDim(scope, e);
    this.lastDim = dim;
    return dim;
  }

  private lookupDim(scope: string, e: LedgerEntry): Dim {
    const provider = e.provider ?? '';
    const model = e.model ?? '';
    const name = e.name ?? '';
    let byProvider = this.dims.get(scope);
    if (byProvider === undefined) this.dims.set(scope, (byProvider = new Map()));
    let byModel = byProvider.get(provider);
    if (byModel === undefined) byProvider.set(provider, (byModel = new Map()));
    let byName = byModel.get(model);
    if (byName === undefined) byModel.set(model, (byName = new Map()));
    let dim = byName.get(name);
    if (dim === undefined) {
      dim = {
        scope,
        provider,
        model,
        name,
        key: dimKey(scope, provider, model, name),
        hour: undefined,
        day: undefined,
        lastThrottle: -Infinity,
      };
      byName.set(name, dim);
    }
    return dim;
  }

  private acc(dim: Dim, grain: 'h' | 'd', at: number): Acc<Dim> {
    const size = grain === 'h' ? HOUR_MS : DAY_MS;
    const cur = grain === 'h' ? dim.hour : dim.day;
    if (cur !== undefined && at >= cur.start && at < cur.start + size) return cur;
    const start = Math.floor(at / size) * size;
    const key = `${grain}${start}${dim.key}`;
    let a = this.byKey.get(key);
    if (a === undefined) {
      a = new Acc(grain, start, dim);
      this.byKey.set(key, a);
      this.accs.push(a);
    }
    if (grain === 'h') dim.hour = a;
    else dim.day = a;
    return a;
  }

  /**
   * Fold one entry: `call` and `outcome` entries count, other kinds are ignored. With
   * `keep` false the entry only warms the cross-entry state (a raw scan reads the span
   * before its window so redundancy and throttle runs are judged as the live fold judged them).
   */
  fold(e: LedgerEntry, keep = true): void {
    if (e.kind !== 'call' && e.kind !== 'outcome') return;
    const scope = this.scopeKeyOf(e.scope);
    const dim = this.dimOf(scope, e);
    const d = this.d;
    for (let j = 0; j < this.nTouched; j++) d[this.touched[j] as number] = 0;
    this.nTouched = 0;
    if (this.bigD.size > 0) this.bigD.clear();
    if (this.extraD.length > 0) this.extraD.length = 0;
    this.latBucket = undefined;
    if (e.kind === 'outcome') this.outcome(e);
    else this.call(e, scope, dim);
    if (!keep) return;
    if (this.hours) this.apply(this.acc(dim, 'h', e.at));
    if (this.days) this.apply(this.acc(dim, 'd', e.at));
  }

  private apply(a: Acc<Dim>): void {
    const d = this.d;
    const t = this.touched;
    for (let j = 0; j < this.nTouched; j++) {
      const i = t[j] as number;
      a.add(i, d[i] as number);
    }
    if (this.bigD.size > 0) for (const [i, x] of this.bigD) a.addBig(i, x);
    for (let j = 0; j < this.extraD.length; j++) {
      const [k, x] = this.extraD[j] as [string, number | bigint];
      a.addExtra(k, x);
    }
    if (this.latBucket !== undefined) a.lat.set(this.latBucket, (a.lat.get(this.latBucket) ?? 0) + 1);
  }

  /** Set a slot of the entry's delta (each slot is set once per entry). */
  private set(i: number, x: number): void {
    if (x === 0) return;
    if (this.d[i] === 0) this.touched[this.nTouched++] = i;
    this.d[i] = x;
  }

  /** Add to a slot of the entry's delta (numbers below 2^53 stay numbers). */
  private put(i: number, x: number | bigint): void {
    if (typeof x === 'number') {
      if (x === 0) return;
      if (this.d[i] === 0) this.touched[this.nTouched++] = i;
      this.d[i] = (this.d[i] as number) + x;
    } else this.bigD.set(i, (this.bigD.get(i) ?? 0n) + x);
  }

  private outcome(e: LedgerEntry): void {
    const data = e.data ?? {};
    this.set(IX.tasks, 1);
    if (data.completed === true) this.set(IX.completed, 1);
    if (typeof data.quality === 'number' && Number.isFinite(data.quality)) {
      this.set(IX.quality, Math.round(data.quality * 1e6));
      this.set(IX.qualityN, 1);
    }
  }

  private call(e: LedgerEntry, scope: string, dim: Dim): void {
    const c = this.config;
    const d = this.d;
    this.set(IX.calls, 1);
    const si = STATUS_IX[e.status];
    if (si !== undefined) this.set(si, 1);
    let cost: number | bigint = 0;
    if (e.currency === c.currency) cost = scaled(e.cost, 12);
    else this.set(IX.otherCurrency, 1);
    this.put(IX.cost, cost);
    if (e.status === 'error') this.put(IX.errorCost, cost);
    if (e.status === 'error' || e.status === 'refused') this.extraD.push([`err:${e.code ?? 'unknown'}`, 1]);
    if (e.status === 'refused' && e.code === 'rate_limited') {
      this.set(IX.rateLimited, 1);
      if (e.at - dim.lastThrottle > c.throttleGapMs) this.set(IX.throttleIncidents, 1);
      dim.lastThrottle = e.at;
    }
    const u = e.usage;
    for (const m in u) {
      const v = scaled(u[m] as string, USAGE_SCALE);
      const i = USAGE_IX.get(m);
      if (i !== undefined) this.put(i, v);
      else if (v !== 0) this.extraD.push([`u:${m}`, v]);
    }
    const ran = e.status === 'ok' || e.status === 'error';
    const dur = e.durationMs;
    if (dur !== undefined && dur >= 0 && dur < 1e12) {
      const us = Math.round(dur * 1000);
      if (ran) {
        this.set(IX.durUs, us);
        this.set(IX.durN, 1);
        this.latBucket = sketchBucket(dur);
      } else if (e.status === 'released') this.set(IX.idleUs, us);
    }
    const data = e.data;
    if (data !== undefined && ran && typeof data.attempt === 'number' && data.attempt > 1) {
      this.set(IX.retries, 1);
      if (e.status === 'ok') this.set(IX.retriesOk, 1);
    }
    // Token cost versus the rest (compute, API fees), the split the allocation reports.
    let tokenCost: number | bigint = 0;
    if (u.inputTokens !== undefined || u.outputTokens !== undefined) {
      this.set(IX.llm, 1);
      if (data?.batchable === true) this.set(IX.batchable, 1);
      const input = toTokens(u.inputTokens);
      const output = toTokens(u.outputTokens);
      const priced =
        e.model === undefined || cost === 0
          ? undefined
          : c.pricing.cost(e.model, {
              inputTokens: BigInt(input),
              outputTokens: BigInt(output),
              cachedInputTokens: BigInt(toTokens(u.cachedInputTokens)),
              cacheWriteTokens: BigInt(toTokens(u.cacheWriteTokens)),
              reasoningTokens: BigInt(toTokens(u.reasoningTokens)),
            });
      tokenCost = priced === undefined || priced > BigInt(cost) ? cost : Number(priced);
      if (e.status === 'ok' && input <= c.smallInputTokens && output <= c.smallOutputTokens) {
        this.set(IX.small, 1);
        this.put(IX.smallCost, cost);
      }
      const window = e.model === undefined ? undefined : c.pricing.contextWindow?.(e.model);
      if (window !== undefined && window > 0 && input >= 0.8 * window) this.set(IX.nearWindow, 1);
    }
    this.put(IX.tokenCost, tokenCost);
    RES_USAGE_IX.forEach((i, k) => {
      if ((d[i] as number) > 0 || this.bigD.has(i)) this.set(N_IX[k] as number, 1);
    });
    if (typeof cost === 'number' && typeof tokenCost === 'number' ? cost > tokenCost : BigInt(cost) > BigInt(tokenCost)) {
      this.splitRest(typeof cost === 'number' && typeof tokenCost === 'number' ? cost - tokenCost : BigInt(cost) - BigInt(tokenCost));
    }
    const fp = data?.fingerprint;
    if (typeof fp === 'string' && e.status === 'ok') {
      // Per scope (without the execution): the same request from another agent is not this agent's waste.
      let seen = this.fingerprints.get(scope);
      if (seen === undefined) this.fingerprints.set(scope, (seen = new Map()));
      const last = seen.get(fp);
      if (last !== undefined && e.at - last <= c.redundantWindowMs) {
        this.set(IX.redundant, 1);
        this.put(IX.redundantCost, cost);
      }
      if (last === undefined) this.fingerprintCount++;
      seen.set(fp, e.at);
      if (this.fingerprintCount > this.sweepAt) this.sweepFingerprints(e.at);
    }
  }

  /** Split what a call cost beyond its tokens over its resources at the configured rates; the remainder is API cost. */
  private splitRest(rest: number | bigint): void {
    this.set(IX.computeN, 1);
    let any = this.bigD.size > 0;
    for (let k = 0; k < RES_USAGE_IX.length && !any; k++) any = (this.d[RES_USAGE_IX[k] as number] as number) > 0;
    if (!any) {
      // Nothing but a fee: the common tool call.
      this.put(IX.apiCost, rest);
      return;
    }
    return this.splitResources(BigInt(rest));
  }

  private splitResources(rest: bigint): void {
    const raw: bigint[] = [];
    let sum = 0n;
    for (const [k, m] of RESOURCE_METERS.entries()) {
      const i = RES_USAGE_IX[k] as number;
      const used = BigInt(this.d[i] as number) + (this.bigD.get(i) ?? 0n);
      const v = (used * (this.config.rates.get(m) ?? 0n)) / 1_000_000n;
      raw.push(v);
      sum += v;
    }
    const res = (k: number, v: bigint): void => this.put(RES_IX[k] as number, num(v));
    if (sum <= rest) {
      raw.forEach((v, k) => res(k, v));
      this.put(IX.apiCost, num(rest - sum));
      return;
    }
    // The resources explain more than was charged: share the charge in proportion, exactly.
    let given = 0n;
    let big = 0;
    raw.forEach((v, k) => {
      const share = (rest * v) / sum;
      given += share;
      if (v > (raw[big] as bigint)) big = k;
      res(k, share);
    });
    res(big, rest - given);
  }

  /** Drop fingerprints older than the window; the next sweep waits until the map has doubled, so sweeping stays O(1) per entry. */
  private sweepFingerprints(now: number): void {
    let n = 0;
    for (const seen of this.fingerprints.values()) {
      for (const [k, at] of seen) if (now - at > this.config.redundantWindowMs) seen.delete(k);
      n += seen.size;
    }
    this.fingerprintCount = n;
    this.sweepAt = Math.max(10_000, 2 * n);
  }
}
