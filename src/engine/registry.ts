/**
 * The limits in force, indexed by scope so that finding the limits of a call is a few
 * map look-ups, and compiled per call scope into a cached admission plan.
 */
import { instantiatePattern, SCOPE_LEVELS, scopeKey, scopeMatches, WILDCARD, type PeriodTracker, type Scope } from '../core/index.js';
import type { CompiledLimit } from './limit.js';

/** One counter a call touches: the limits that share it and the tightest hard cap. */
export interface PlanCounter {
  /** Counter key without the period instance. */
  readonly base: string;
  readonly meter: string;
  readonly scope: Scope;
  readonly scopeKey: string;
  readonly limits: readonly CompiledLimit[];
  readonly cap: bigint | undefined;
  readonly capLimit: CompiledLimit | undefined;
  readonly tracker: PeriodTracker | undefined;
  /** Cache of the key for the current period instance. */
  periodId: string;
  key: string;
  expiresAt: number | undefined;
  periodStart: number;
  periodEnd: number;
}

/** One sliding window a call hits. */
export interface PlanWindow {
  readonly key: string;
  readonly meter: string;
  readonly scope: Scope;
  readonly scopeKey: string;
  readonly limit: CompiledLimit;
  readonly max: number;
  readonly windowMs: number;
  readonly buckets: number;
  readonly mode: 'bucketed' | 'exact';
}

/** Everything admission needs for calls on one scope. */
export interface Plan {
  readonly counters: readonly PlanCounter[];
  readonly windows: readonly PlanWindow[];
}

const PLAN_CACHE_MAX = 10_000;

function depth(scope: Scope): number {
  let d = -1;
  SCOPE_LEVELS.forEach((l, i) => {
    if (scope[l] !== undefined) d = i;
  });
  return d;
}

/** Limits indexed by the narrowest concrete id of their scope pattern. */
export class LimitRegistry {
  private readonly byId = new Map<string, CompiledLimit>();
  private readonly index = new Map<string, CompiledLimit[]>();
  private readonly unindexed: CompiledLimit[] = [];
  private readonly plans = new Map<string, Plan>();

  /** Add or replace (same id) a limit; returns the one it replaced. */
  set(limit: CompiledLimit): CompiledLimit | undefined {
    const old = this.byId.get(limit.id);
    if (old !== undefined) this.unlink(old);
    this.byId.set(limit.id, limit);
    const slot = indexSlot(limit.pattern);
    if (slot === undefined) this.unindexed.push(limit);
    else {
      const list = this.index.get(slot);
      if (list === undefined) this.index.set(slot, [limit]);
      else list.push(limit);
    }
    this.plans.clear();
    return old;
  }

  /** Remove a limit by id; returns it. */
  remove(id: string): CompiledLimit | undefined {
    const old = this.byId.get(id);
    if (old === undefined) return undefined;
    this.unlink(old);
    this.byId.delete(id);
    this.plans.clear();
    return old;
  }

  get(id: string): CompiledLimit | undefined {
    return this.byId.get(id);
  }

  all(): CompiledLimit[] {
    return [...this.byId.values()];
  }

  /** The admission plan for calls on `scope` (whose key is `key`). */
  plan(scope: Scope, key: string): Plan {
    const cached = this.plans.get(key);
    if (cached !== undefined) return cached;
    const plan = this.build(scope);
    if (this.plans.size >= PLAN_CACHE_MAX) this.plans.clear();
    this.plans.set(key, plan);
    return plan;
  }

  private unlink(limit: CompiledLimit): void {
    const slot = indexSlot(limit.pattern);
    const list = slot === undefined ? this.unindexed : this.index.get(slot);
    if (list === undefined) return;
    const i = list.indexOf(limit);
    if (i >= 0) list.splice(i, 1);
    if (slot !== undefined && list.length === 0) this.index.delete(slot);
  }

  private build(scope: Scope): Plan {
    const matching: CompiledLimit[] = [];
    for (const l of this.unindexed) if (scopeMatches(l.pattern, scope)) matching.push(l);
    for (const level of SCOPE_LEVELS) {
      const id = scope[level];
      if (id === undefined) continue;
      const list = this.index.get(`${level}=${id}`);
      if (list !== undefined) for (const l of list) if (scopeMatches(l.pattern, scope)) matching.push(l);
    }
    const counters = new Map<string, { scope: Scope; scopeKey: string; limits: CompiledLimit[] }>();
    const windows = new Map<string, PlanWindow>();
    for (const l of matching) {
      const inst = instantiatePattern(l.pattern, scope);
      const sk = scopeKey(inst);
      if (l.windowMs !== undefined) {
        const key = `w|${sk}|${l.counterBase}`;
        const max = Number(l.max);
        const prev = windows.get(key);
        if (prev === undefined || max < prev.max) {
          windows.set(key, {
            key,
            meter: l.meter,
            scope: inst,
            scopeKey: sk,
            limit: l,
            max,
            windowMs: l.windowMs,
            buckets: l.buckets ?? 10,
            mode: l.mode,
          });
        }
        continue;
      }
      const base = `c|${sk}|${l.counterBase}`;
      const entry = counters.get(base);
      if (entry === undefined) counters.set(base, { scope: inst, scopeKey: sk, limits: [l] });
      else entry.limits.push(l);
    }
    const planCounters: PlanCounter[] = [];
    for (const [base, { scope: inst, scopeKey: sk, limits }] of counters) {
      let capLimit: CompiledLimit | undefined;
      for (const l of limits) if (l.hard && (capLimit === undefined || l.max < capLimit.max)) capLimit = l;
      const first = limits[0] as CompiledLimit;
      planCounters.push({
        base,
        meter: first.meter,
        scope: inst,
        scopeKey: sk,
        limits,
        cap: capLimit?.max,
        capLimit,
        tracker: first.tracker,
        periodId: '',
        key: base,
        expiresAt: undefined,
        periodStart: -Infinity,
        periodEnd: -Infinity,
      });
    }
    // Quotas before budgets; within each, the narrowest scope first (agent → pool → project → workspace).
    planCounters.sort((a, b) => Number(a.meter === 'cost') - Number(b.meter === 'cost') || depth(b.scope) - depth(a.scope));
    const planWindows = [...windows.values()].sort((a, b) => depth(b.scope) - depth(a.scope));
    return { counters: planCounters, windows: planWindows };
  }
}

function indexSlot(pattern: Scope): string | undefined {
  for (let i = SCOPE_LEVELS.length - 1; i >= 0; i--) {
    const level = SCOPE_LEVELS[i] as (typeof SCOPE_LEVELS)[number];
    const id = pattern[level];
    if (id !== undefined && id !== WILDCARD) return `${level}=${id}`;
  }
  return undefined;
}
