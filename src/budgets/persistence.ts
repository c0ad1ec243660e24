/**
 * Pools, agents and service levels shared through the Store, so every governor over one
 * store (processes sharing Redis) sees the same ones. The whole registry is one versioned
 * value (`budgets|registry`), written by compare-and-set: a change is merged into the
 * latest document and retried on a conflict, so changes to different pools or agents
 * never overwrite each other; two processes changing the same one at once: the last write
 * wins. One document keeps a change atomic and a refresh to one read (skipped when the
 * version has not moved); it suits hundreds to a few thousand agents, not millions.
 *
 * Changes are audited where they are made (the ledger is in the store too); a process that
 * loads a change sets its engine budget without a second audit record.
 */
import { Decimal } from 'decimal.js';
import { isPromiseLike, type BudgetAlternative, type CalendarPeriod } from '../core/index.js';
import type { VersionedValue } from '../storage/index.js';
import type { HostBudgetSpec } from './host.js';
import type { OnExhausted, PoolPolicy } from './options.js';
import { agentBudgetId, poolBudgetId, specOf, type Registry } from './registry.js';
import type { ServiceLevels } from './service-levels.js';

/** The store key of the shared registry. */
const REGISTRY_KEY = 'budgets|registry';

interface BudgetDoc {
  readonly amount: string;
  readonly currency: string | undefined;
  readonly period: CalendarPeriod;
  readonly timeZone: string | undefined;
  readonly hardLimit: boolean;
  readonly thresholds: readonly number[];
  readonly alternatives: readonly BudgetAlternative[];
  readonly onExhausted: OnExhausted;
  readonly maxWaitMs: number | undefined;
}

interface PoolDoc {
  readonly name: string;
  readonly priority: number;
  readonly metadata: { readonly [key: string]: unknown };
  readonly policy: PoolPolicy;
  readonly workspace: string | undefined;
  readonly project: string | undefined;
  readonly initialBudget: string;
  readonly createdAt: number;
  readonly budget: BudgetDoc;
}

interface AgentDoc {
  readonly name: string;
  readonly priority: number;
  readonly pool: string | undefined;
  readonly greediness: number | undefined;
  readonly metadata: { readonly [key: string]: unknown };
  readonly initialBudget: string;
  readonly createdAt: number;
  readonly budget: BudgetDoc;
  readonly serviceLevels: ServiceLevels | undefined;
}

interface RegistryDoc {
  pools: Record<string, PoolDoc>;
  agents: Record<string, AgentDoc>;
}

type Awaitable<T> = T | PromiseLike<T>;

/** Chain `f` after `v`, synchronously when `v` is a value. */
function then<T, U>(v: Awaitable<T>, f: (x: T) => Awaitable<U>): Awaitable<U> {
  return isPromiseLike(v) ? Promise.resolve(v).then(f) : f(v);
}

/** Keeps the coordinator's registry and the store's document in step. */
export class Persistence {
  /** What each `pool:<id>` / `agent:<id>` looked like when last written or loaded (JSON), to see what changed. */
  private readonly seen = new Map<string, string>();
  /** Keys changed here and not yet written. */
  private readonly dirty = new Set<string>();
  private version = -1;
  private lastRefresh = -Infinity;
  private flushing: Promise<void> | undefined;
  /** Ids looked for since the last load and not found: not looked for again until the next. */
  private readonly checkedPools = new Set<string>();
  private readonly checkedAgents = new Set<string>();
  private scheduled = false;

  constructor(
    private readonly reg: Registry,
    private readonly refreshMs: number,
    /** Told after loading changes made elsewhere (waiters may now fit), and when a pool or agent is unloaded. */
    private readonly hooks: { readonly loaded: () => void; readonly agentRemoved: (id: string) => void },
    private readonly report: (p: Promise<unknown>) => void,
  ) {}

  /** A pool or agent changed here: write it (batched: one write per burst of changes). */
  touch(key: string): void {
    this.dirty.add(key);
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      try {
        const r = this.flush();
        if (isPromiseLike(r)) this.report(Promise.resolve(r));
      } catch (error) {
        this.report(Promise.reject(error));
      }
    });
  }

  /** Write every pending change (merged into the latest document), then load what others changed. */
  flush(): Awaitable<void> {
    if (this.flushing !== undefined) return this.flushing.then(() => this.flush());
    if (this.dirty.size === 0) return undefined;
    const keys = [...this.dirty];
    this.dirty.clear();
    const attempt = (): Awaitable<void> =>
      then(this.reg.host.store.getValue(REGISTRY_KEY), (cur) => {
        const doc = parse(cur);
        const written = keys.map((k) => [k, this.write(doc, k)] as const);
        return then(this.reg.host.store.compareAndSet(REGISTRY_KEY, cur?.version ?? 0, JSON.stringify(doc)), (r) => {
          if (!r.ok) return attempt();
          for (const [k, json] of written) {
            if (json === undefined) this.seen.delete(k);
            else this.seen.set(k, json);
          }
          this.apply(r.current);
        });
      });
    let r: Awaitable<void>;
    try {
      r = attempt();
    } catch (e) {
      for (const k of keys) this.dirty.add(k);
      throw e;
    }
    if (!isPromiseLike(r)) return undefined;
    const p = Promise.resolve(r).then(
      () => {
        this.flushing = undefined;
      },
      (e: unknown) => {
        this.flushing = undefined;
        for (const k of keys) this.dirty.add(k);
        throw e;
      },
    );
    this.flushing = p;
    return p;
  }

  /** Write pending changes and load the store's registry now. */
  sync(): Awaitable<void> {
    return then(this.flush(), () => this.refresh());
  }

  /** Load the store's registry if `refreshMs` has passed since the last load (or `force`). */
  refresh(force = true, at?: number): Awaitable<void> {
    const now = at ?? this.reg.host.clock.now();
    if (!force && now - this.lastRefresh < this.refreshMs) return undefined;
    this.lastRefresh = now;
    this.checkedPools.clear();
    this.checkedAgents.clear();
    return then(this.reg.host.store.getValue(REGISTRY_KEY), (cur) => this.apply(cur));
  }

  /**
   * Before a governed call on `scope`: load at once if it names a pool or agent this process
   * does not know and has not looked for since the last load (so a call never runs without
   * a budget another process created), else every `refreshMs`.
   */
  refreshFor(scope: { readonly pool?: string | undefined; readonly agent?: string | undefined }, now?: number): Awaitable<void> {
    // Looked up by id in a set per kind: no key string is built on every governed call.
    const pool = scope.pool !== undefined && !this.reg.pools.has(scope.pool) ? scope.pool : undefined;
    const agent = scope.agent !== undefined && !this.reg.agents.has(scope.agent) ? scope.agent : undefined;
    if ((pool === undefined || this.checkedPools.has(pool)) && (agent === undefined || this.checkedAgents.has(agent)))
      return this.refresh(false, now);
    const r = this.refresh(true, now);
    if (pool !== undefined) this.checkedPools.add(pool);
    if (agent !== undefined) this.checkedAgents.add(agent);
    return r;
  }

  /** Load the store's registry now if the store answers synchronously; true when it did. */
  refreshNow(): boolean {
    const r = this.refresh();
    if (isPromiseLike(r)) {
      this.report(Promise.resolve(r));
      return false;
    }
    return true;
  }

  /** Put one pool or agent into the document (or take it out); returns its JSON as written. */
  private write(doc: RegistryDoc, key: string): string | undefined {
    const [kind, id] = splitKey(key);
    if (kind === 'pool') {
      const p = this.reg.pools.get(id);
      if (p === undefined) delete doc.pools[id];
      else {
        return JSON.stringify(
          (doc.pools[id] = {
            name: p.name,
            priority: p.priority,
            metadata: p.metadata,
            policy: p.policy,
            workspace: p.workspace,
            project: p.project,
            initialBudget: p.initialBudget.toFixed(),
            createdAt: p.createdAt,
            budget: this.budgetDoc(poolBudgetId(id)),
          }),
        );
      }
    } else {
      const a = this.reg.agents.get(id);
      if (a === undefined) delete doc.agents[id];
      else {
        return JSON.stringify(
          (doc.agents[id] = {
            name: a.name,
            priority: a.priority,
            pool: a.pool,
            greediness: a.greediness,
            metadata: a.metadata,
            initialBudget: a.initialBudget.toFixed(),
            createdAt: a.createdAt,
            budget: this.budgetDoc(agentBudgetId(id)),
            serviceLevels: this.reg.levels.get(id),
          }),
        );
      }
    }
    return undefined;
  }

  private budgetDoc(id: string): BudgetDoc {
    const s = specOf(this.reg.budget(id));
    const x = this.reg.extras.get(id);
    return {
      amount: String(s.amount),
      currency: s.currency,
      period: s.period ?? 'total',
      timeZone: s.timeZone,
      hardLimit: s.hardLimit !== false,
      thresholds: s.thresholds ?? [],
      alternatives: x?.alternatives ?? [],
      onExhausted: x?.onExhausted ?? 'refuse',
      maxWaitMs: x?.maxWaitMs,
    };
  }

  /** Make the registry match the document, leaving alone what changed here and is not written yet. */
  private apply(cur: VersionedValue | undefined): void {
    if (cur === undefined || cur.version === this.version) return;
    const doc = parse(cur);
    const failed: unknown[] = [];
    let changed = false;
    const present = new Set<string>();
    for (const [id, d] of Object.entries(doc.pools)) {
      const key = `pool:${id}`;
      present.add(key);
      if (this.dirty.has(key)) continue;
      const json = JSON.stringify(d);
      if (this.seen.get(key) === json) continue;
      try {
        this.loadPool(id, d);
        this.seen.set(key, json);
        changed = true;
      } catch (error) {
        failed.push(error);
      }
    }
    for (const [id, d] of Object.entries(doc.agents)) {
      const key = `agent:${id}`;
      present.add(key);
      if (this.dirty.has(key)) continue;
      const json = JSON.stringify(d);
      if (this.seen.get(key) === json) continue;
      try {
        this.loadAgent(id, d);
        this.seen.set(key, json);
        changed = true;
      } catch (error) {
        failed.push(error);
      }
    }
    // Deleted elsewhere: agents first, so no agent is left pointing at a removed pool.
    for (const key of [...this.seen.keys()].sort((a, b) => (a < b ? -1 : 1))) {
      if (present.has(key) || this.dirty.has(key)) continue;
      this.seen.delete(key);
      const [kind, id] = splitKey(key);
      this.reg.host.unloadBudget(key);
      this.reg.forget(key);
      if (kind === 'pool') this.reg.pools.delete(id);
      else {
        this.reg.agents.delete(id);
        this.reg.levels.delete(id);
        this.hooks.agentRemoved(id);
      }
      changed = true;
    }
    // A record this governor cannot set (another currency, say) is reported and tried again at the next load.
    if (failed.length === 0) this.version = cur.version;
    for (const error of failed) this.report(Promise.reject(error));
    if (changed) this.hooks.loaded();
  }

  private loadBudget(id: string, scope: { readonly pool: string } | { readonly agent: string }, b: BudgetDoc): void {
    const spec: HostBudgetSpec = {
      id,
      scope,
      amount: b.amount,
      currency: b.currency,
      period: b.period,
      timeZone: b.period === 'total' ? undefined : b.timeZone,
      hardLimit: b.hardLimit,
      thresholds: b.thresholds,
    };
    this.reg.host.loadBudget(spec);
    this.reg.setExtras(id, { alternatives: b.alternatives, onExhausted: b.onExhausted, maxWaitMs: b.maxWaitMs });
  }

  private loadPool(id: string, d: PoolDoc): void {
    this.loadBudget(poolBudgetId(id), { pool: id }, d.budget);
    this.reg.pools.set(id, {
      id,
      name: d.name,
      priority: d.priority,
      metadata: d.metadata,
      policy: d.policy,
      workspace: d.workspace,
      project: d.project,
      initialBudget: new Decimal(d.initialBudget),
      createdAt: d.createdAt,
    });
  }

  private loadAgent(id: string, d: AgentDoc): void {
    this.loadBudget(agentBudgetId(id), { agent: id }, d.budget);
    this.reg.agents.set(id, {
      id,
      name: d.name,
      priority: d.priority,
      pool: d.pool,
      greediness: d.greediness,
      metadata: d.metadata,
      initialBudget: new Decimal(d.initialBudget),
      createdAt: d.createdAt,
    });
    if (d.serviceLevels === undefined) this.reg.levels.delete(id);
    else this.reg.levels.set(id, d.serviceLevels);
  }
}

function parse(cur: VersionedValue | undefined): RegistryDoc {
  if (cur === undefined) return { pools: {}, agents: {} };
  const d = JSON.parse(cur.value) as Partial<RegistryDoc>;
  return { pools: d.pools ?? {}, agents: d.agents ?? {} };
}

function splitKey(key: string): ['pool' | 'agent', string] {
  const i = key.indexOf(':');
  return [key.slice(0, i) as 'pool' | 'agent', key.slice(i + 1)];
}
