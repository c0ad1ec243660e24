/**
 * The coordinator's records: pools, agents, service levels and the behaviour the engine
 * does not keep (alternatives, wait mode). Every amount lives in the engine, set through
 * the host; this file is the one place that turns a record into an engine budget.
 */
import { Decimal } from 'decimal.js';
import {
  InvalidInputError,
  parseDuration,
  parseInput,
  unitsToDecimal,
  validateId,
  type BudgetAlternative,
  type ScopePattern,
} from '../core/index.js';
import type { BudgetHost, HostBudgetInfo, HostBudgetSpec, HostChange } from './host.js';
import { changeSchema, checkOptions, type BudgetBehaviour, type OnExhausted, type PoolPolicy } from './options.js';
import type { Persistence } from './persistence.js';
import type { ServiceLevels } from './service-levels.js';
import type { AgentInfo, BudgetChange, PoolInfo } from './types.js';

export interface PoolRecord {
  readonly id: string;
  name: string;
  priority: number;
  metadata: { readonly [key: string]: unknown };
  policy: PoolPolicy;
  readonly workspace: string | undefined;
  readonly project: string | undefined;
  readonly initialBudget: Decimal;
  readonly createdAt: number;
}

export interface AgentRecord {
  readonly id: string;
  name: string;
  priority: number;
  pool: string | undefined;
  greediness: number | undefined;
  metadata: { readonly [key: string]: unknown };
  readonly initialBudget: Decimal;
  readonly createdAt: number;
}

/** What a budget does beyond the engine's limit. */
export interface Extras {
  readonly alternatives: readonly BudgetAlternative[];
  readonly onExhausted: OnExhausted;
  readonly maxWaitMs: number | undefined;
}

/** The id of a pool's budget. */
export const poolBudgetId = (id: string): string => `pool:${id}`;
/** The id of an agent's budget. */
export const agentBudgetId = (id: string): string => `agent:${id}`;

/** Option keys that change a budget's behaviour (and so re-set its engine budget). */
export const BEHAVIOUR_KEYS: Record<string, true> = {
  currency: true,
  period: true,
  timeZone: true,
  hardLimit: true,
  thresholds: true,
  alternatives: true,
  onExhausted: true,
  maxWaitMs: true,
};

/** Records of pools and agents, and the engine budgets behind them. */
export class Registry {
  readonly pools = new Map<string, PoolRecord>();
  readonly agents = new Map<string, AgentRecord>();
  readonly extras = new Map<string, Extras>();
  readonly levels = new Map<string, ServiceLevels>();
  private waitBudgets = 0;
  /** The store's copy of the registry, when shared (see persistence.ts). */
  persist: Persistence | undefined;

  constructor(readonly host: BudgetHost) {}

  /** A pool or agent budget changed here: share it through the store. */
  touch(budgetId: string): void {
    if (this.persist !== undefined && this.isCoordinated(budgetId)) this.persist.touch(budgetId);
  }

  /** Record that a pool or agent went away (no longer coordinated, so `touch` would skip it). */
  touchRemoved(budgetId: string): void {
    this.persist?.touch(budgetId);
  }

  /** The pool, loading the store's registry first if this process does not know the id. */
  findPool(id: string): PoolRecord | undefined {
    const p = this.pools.get(id);
    if (p !== undefined || this.persist === undefined || !this.persist.refreshNow()) return p;
    return this.pools.get(id);
  }

  /** The agent, loading the store's registry first if this process does not know the id. */
  findAgent(id: string): AgentRecord | undefined {
    const a = this.agents.get(id);
    if (a !== undefined || this.persist === undefined || !this.persist.refreshNow()) return a;
    return this.agents.get(id);
  }

  /** True when some budget is in wait mode. */
  get waiting(): boolean {
    return this.waitBudgets > 0;
  }

  pool(id: unknown, field: string): PoolRecord {
    validateId(id, field);
    const p = this.findPool(id as string);
    if (p === undefined) throw new InvalidInputError(field, 'must name an existing pool', id);
    return p;
  }

  agent(id: unknown, field: string): AgentRecord {
    validateId(id, field);
    const a = this.findAgent(id as string);
    if (a === undefined) throw new InvalidInputError(field, 'must name an existing agent', id);
    return a;
  }

  /** The budget id of `{ agent }` or `{ pool }`. */
  targetId(target: unknown): string {
    if (target !== null && typeof target === 'object') {
      checkOptions(target, ['agent', 'pool'], 'target');
      const t = target as { agent?: unknown; pool?: unknown };
      if (t.agent !== undefined && t.pool !== undefined)
        throw new InvalidInputError('target', 'must be { agent } or { pool }, not both', target);
      if (t.agent !== undefined) return agentBudgetId(this.agent(t.agent, 'target.agent').id);
      if (t.pool !== undefined) return poolBudgetId(this.pool(t.pool, 'target.pool').id);
    }
    throw new InvalidInputError('target', 'must be { agent } or { pool }', target);
  }

  isCoordinated(id: string): boolean {
    return (id.startsWith('pool:') && this.pools.has(id.slice(5))) || (id.startsWith('agent:') && this.agents.has(id.slice(6)));
  }

  /** Ids of the agents in a pool, in creation order. */
  poolAgents(poolId: string): string[] {
    return [...this.agents.values()].filter((a) => a.pool === poolId).map((a) => a.id);
  }

  budget(id: string): HostBudgetInfo {
    return this.host.getBudget(id) as HostBudgetInfo;
  }

  change(change: BudgetChange, action: string | undefined, fallback: string | undefined): HostChange {
    const c = parseInput(changeSchema, change ?? {}, 'change');
    return { reason: c.reason ?? fallback, actor: c.actor, action };
  }

  /** Set a budget with its behaviour through the host (audited), and keep its extras. */
  setCoordinated(id: string, scope: ScopePattern, amount: Decimal, b: BudgetBehaviour, field: string, change: HostChange): HostBudgetInfo {
    const maxWaitMs = b.maxWaitMs === undefined ? undefined : parseDuration(b.maxWaitMs, `${field}.maxWaitMs`, true);
    if (b.currency !== undefined && b.currency !== this.host.currency) {
      throw new InvalidInputError(
        `${field}.currency`,
        `must be the governor's currency ${this.host.currency}: amounts of different currencies never mix`,
        b.currency,
      );
    }
    if ((b.period === undefined || b.period === 'total') && b.timeZone !== undefined) {
      throw new InvalidInputError(`${field}.timeZone`, 'only applies to a calendar period (day, week, month)', b.timeZone);
    }
    const spec: HostBudgetSpec = {
      id,
      scope,
      amount,
      currency: b.currency,
      period: b.period,
      timeZone: b.period === undefined || b.period === 'total' ? undefined : b.timeZone,
      hardLimit: b.hardLimit,
      thresholds: b.thresholds,
    };
    const info = this.host.setBudget(spec, change);
    this.setExtras(id, { alternatives: b.alternatives ?? [], onExhausted: b.onExhausted ?? 'refuse', maxWaitMs });
    return info;
  }

  setExtras(id: string, extras: Extras): void {
    this.forget(id);
    this.extras.set(id, extras);
    if (extras.onExhausted === 'wait') this.waitBudgets++;
  }

  forget(id: string): void {
    const old = this.extras.get(id);
    if (old?.onExhausted === 'wait') this.waitBudgets--;
    this.extras.delete(id);
  }

  /** Set a budget's amount, keeping everything else. */
  resize(id: string, units: bigint, change: HostChange): void {
    this.host.setBudget({ ...specOf(this.budget(id)), amount: unitsToDecimal(units) }, change);
    this.touch(id);
  }

  poolInfo(id: string): PoolInfo | undefined {
    const p = this.findPool(id);
    if (p === undefined) return undefined;
    const b = this.budget(poolBudgetId(id));
    return {
      id,
      name: p.name,
      priority: p.priority,
      metadata: p.metadata,
      currency: b.currency ?? this.host.currency,
      initialBudget: p.initialBudget,
      budget: new Decimal(b.max),
      period: b.period,
      hardLimit: b.enforcement === 'hard',
      policy: p.policy,
      workspace: p.workspace,
      project: p.project,
      agents: this.poolAgents(id),
    };
  }

  agentInfo(id: string): AgentInfo | undefined {
    const a = this.findAgent(id);
    if (a === undefined) return undefined;
    const b = this.budget(agentBudgetId(id));
    return {
      id,
      name: a.name,
      priority: a.priority,
      pool: a.pool,
      greediness: a.greediness,
      metadata: a.metadata,
      currency: b.currency ?? this.host.currency,
      initialBudget: a.initialBudget,
      budget: new Decimal(b.max),
      period: b.period,
      hardLimit: b.enforcement === 'hard',
    };
  }
}

/** The engine spec of a budget as set. */
export function specOf(info: HostBudgetInfo): HostBudgetSpec {
  return {
    id: info.id,
    scope: info.scope,
    amount: info.max,
    currency: info.currency,
    period: info.period,
    timeZone: info.period === 'total' ? undefined : info.timeZone,
    hardLimit: info.enforcement === 'hard',
    thresholds: info.thresholds,
  };
}

/** The behaviour of a budget as set, to re-set it with a patch on top. */
export function behaviourOf(info: HostBudgetInfo, extras: Extras | undefined): BudgetBehaviour {
  return {
    currency: info.currency,
    period: info.period,
    timeZone: info.period === 'total' ? undefined : info.timeZone,
    hardLimit: info.enforcement === 'hard',
    thresholds: info.thresholds,
    alternatives: extras?.alternatives,
    onExhausted: extras?.onExhausted,
    maxWaitMs: extras?.maxWaitMs,
  };
}

/** `used / max × 100`, two decimals, rounded down. */
export function percent(used: Decimal, max: Decimal): number {
  if (max.lte(0)) return used.gt(0) ? Infinity : 0;
  return Number(used.times(100).div(max).toDecimalPlaces(2, Decimal.ROUND_DOWN).toFixed());
}
