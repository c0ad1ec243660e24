/**
 * Seed 001's `BudgetCoordinator` (with seeds 000 and 004): pools, agents, priorities,
 * allocation strategies, emergency allocation, monitors, alerts, checks, reviews,
 * service levels and wait mode. It is a face of the engine's budget model: a pool is a
 * `cost` budget on `{ pool }`, an agent one on `{ agent }`, and every amount lives in the
 * engine's counters, so the one atomic reserve of a governed call holds the estimate on
 * the agent, its pool and every workspace or project budget at once, all or none.
 */
import { Decimal } from 'decimal.js';
import {
  BudgetExceededError,
  GovernorError,
  InvalidInputError,
  isPromiseLike,
  parseDuration,
  parseInput,
  scopeKey,
  toUnits,
  unitsToDecimal,
  validateId,
  validateScope,
  type BudgetAlternative,
  type MoneyInput,
  type Scope,
  type ScopePattern,
} from '../core/index.js';
import type { LedgerEntry, LedgerQuery } from '../storage/index.js';
import {
  allocateByGreediness,
  allocateDynamic,
  allocateByPriority,
  averageOf,
  distributeUnits,
  rebalance as rebalanceShares,
  type AllocationResult,
  type GreedinessAllocation,
  type GreedinessTotals,
} from './allocation.js';
import type { AlertChannel, BudgetAlert } from './alerts.js';
import type { BudgetHost, HostBudgetInfo, HostBudgetSpec, HostChange, HostLimitStatus } from './host.js';
import {
  agentPatchSchema,
  agentSchema,
  budgetSchema,
  changeSchema,
  poolPatchSchema,
  poolSchema,
  type AgentOptions,
  type BudgetBehaviour,
  type CoordinatorBudgetOptions,
  type OnExhausted,
  type PoolOptions,
  type PoolPolicy,
} from './options.js';
import { reviewAgent, reviewPool, type ReviewFinding } from './review.js';
import {
  DEFAULT_SERVICE_LEVELS,
  determineServiceLevel,
  validateServiceLevels,
  type ServiceLevel,
  type ServiceLevels,
} from './service-levels.js';
import { AlertSeverity, ViolationType, type BudgetViolation, type ViolationReport } from './violations.js';
import { BudgetWaits, type BudgetAttempt } from './wait.js';

/** Who made a change and why: recorded in the audit trail. */
export interface BudgetChange {
  readonly reason?: string | undefined;
  readonly actor?: string | undefined;
}

/** Options of the coordinator (`createGovernor({ alertChannels })` passes them on). */
export interface BudgetCoordinatorOptions {
  /** Where threshold alerts go, besides the `budget.alert` event. */
  readonly alertChannels?: readonly AlertChannel[] | undefined;
  /** Let emergency allocations create money when the pool has none left (default false). */
  readonly emergencyCreatesMoney?: boolean | undefined;
  /** How often a waiting call retries when nothing wakes it (default `'1s'`). */
  readonly waitPollMs?: number | string | undefined;
}

/** A pool as set. */
export interface PoolInfo {
  readonly id: string;
  readonly name: string;
  readonly priority: number;
  readonly metadata: { readonly [key: string]: unknown };
  readonly currency: string;
  /** The amount the pool was created with. */
  readonly initialBudget: Decimal;
  /** The budget in force (after top-ups and updates). */
  readonly budget: Decimal;
  readonly period: string;
  readonly hardLimit: boolean;
  readonly policy: PoolPolicy;
  readonly workspace: string | undefined;
  readonly project: string | undefined;
  readonly agents: readonly string[];
}

/** An agent as set. */
export interface AgentInfo {
  readonly id: string;
  readonly name: string;
  readonly priority: number;
  readonly pool: string | undefined;
  readonly greediness: number | undefined;
  readonly metadata: { readonly [key: string]: unknown };
  readonly currency: string;
  readonly initialBudget: Decimal;
  readonly budget: Decimal;
  readonly period: string;
  readonly hardLimit: boolean;
}

/** Where a pool's or agent's budget stands (seed 001's metrics). */
export interface BudgetMetrics {
  /** The budget in force for the current period (the initial allocation as updated since). */
  readonly initial: Decimal;
  /** Spent in the current period. */
  readonly used: Decimal;
  /** Held by calls in flight. */
  readonly held: Decimal;
  /** `initial - used`, never negative. */
  readonly remaining: Decimal;
  /** `used / initial × 100`, two decimals. */
  readonly usagePercent: number;
  /** Rate of consumption: spent per hour since the period (or the budget) began. */
  readonly consumptionPerHour: Decimal;
  readonly currency: string;
  /** The current calendar period instance, if the budget has one. */
  readonly period: string | undefined;
}

/** An agent's metrics. */
export interface AgentMetrics extends BudgetMetrics {
  readonly agentId: string;
  readonly pool: string | undefined;
  readonly priority: number;
}

/** A pool's metrics. */
export interface PoolMetrics extends BudgetMetrics {
  readonly poolId: string;
  /** What the pool's agents may still spend: the sum of their remaining budgets. */
  readonly allocated: Decimal;
  /** The pool's remaining budget not promised to any agent: what emergencies draw on. */
  readonly unallocated: Decimal;
  readonly agents: number;
}

/** Seed 004's budget status of one scope. */
export interface BudgetStatus {
  readonly hasBudget: boolean;
  /** The budget id (undefined without one). */
  readonly id: string | undefined;
  readonly budget: Decimal;
  readonly spent: Decimal;
  readonly remaining: Decimal;
  readonly usagePercent: number;
  /** A threshold is reached whose alert has not been sent in this period. */
  readonly alertNeeded: boolean;
  /** Nothing left: spent >= budget. */
  readonly isOverBudget: boolean;
  readonly hardLimit: boolean;
}

/** The answer of {@link BudgetCoordinator.canExecute}. */
export interface CanExecuteResult {
  readonly canExecute: boolean;
  readonly reason: string;
  /** The refusing budget, when refused. */
  readonly budget: string | undefined;
  /** Cheaper options configured on the refusing budget. */
  readonly alternatives: readonly BudgetAlternative[];
  /** Soft budgets the call would pass: admitted, with a warning. */
  readonly warnings: readonly string[];
}

/** The answer of an emergency allocation request. */
export interface EmergencyResult {
  readonly requested: Decimal;
  /** What the seed's rules approve: all (priority >= 7), half ("critical" reason) or nothing. */
  readonly approved: Decimal;
  /** What was added to the agent's budget: the approval, cut to what the pool has unallocated. */
  readonly granted: Decimal;
  readonly decision: 'full' | 'half' | 'denied';
  readonly note: string;
}

/** One record of the audit log. */
export interface AuditRecord {
  readonly id: string;
  readonly at: number;
  readonly budget: string;
  readonly scope: Scope;
  readonly before: Decimal | null;
  readonly after: Decimal | null;
  readonly delta: Decimal;
  readonly reason: string;
  readonly action: string | undefined;
  readonly actor: string | undefined;
  readonly currency: string;
}

/** A query of the audit log. */
export interface AuditQuery {
  readonly agent?: string | undefined;
  readonly pool?: string | undefined;
  readonly budget?: string | undefined;
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  readonly limit?: number | undefined;
  readonly cursor?: string | undefined;
}

/**
 * A budget monitor (seed 001): told what the agent has spent after each settled call;
 * a returned report is delivered as a `violation` event (`type: 'reported'`).
 */
export type BudgetMonitor = (
  agentId: string,
  spent: Decimal,
  metrics: AgentMetrics,
) => ViolationReport | boolean | void | undefined | Promise<ViolationReport | boolean | void | undefined>;

interface PoolRecord {
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

interface AgentRecord {
  readonly id: string;
  name: string;
  priority: number;
  pool: string | undefined;
  greediness: number | undefined;
  metadata: { readonly [key: string]: unknown };
  readonly initialBudget: Decimal;
  readonly createdAt: number;
}

interface Extras {
  readonly alternatives: readonly BudgetAlternative[];
  readonly onExhausted: OnExhausted;
  readonly maxWaitMs: number | undefined;
}

const HOUR_MS = 3_600_000n;
const DAY_MS = 86_400_000;

/** The id of a pool's budget. */
export const poolBudgetId = (id: string): string => `pool:${id}`;
/** The id of an agent's budget. */
export const agentBudgetId = (id: string): string => `agent:${id}`;

/** Pools, agents and the budget policies of seeds 000, 001 and 004, over the engine's budgets. */
export class BudgetCoordinator {
  private readonly pools = new Map<string, PoolRecord>();
  private readonly agents = new Map<string, AgentRecord>();
  private readonly extras = new Map<string, Extras>();
  private readonly channels = new Set<AlertChannel>();
  private readonly monitors = new Map<string, Set<BudgetMonitor>>();
  private readonly levels = new Map<string, ServiceLevels>();
  private readonly attached = new WeakSet<object>();
  private readonly lowState = new Map<string, boolean>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly reviews = new Set<AbortController>();
  private readonly waits: BudgetWaits;
  private readonly createsMoney: boolean;
  private lowBudgetPercent: number | undefined;
  private waitBudgets = 0;

  constructor(
    private readonly host: BudgetHost,
    options: BudgetCoordinatorOptions = {},
  ) {
    if (options === null || typeof options !== 'object') throw new InvalidInputError('options', 'must be an object', options);
    for (const [i, ch] of (options.alertChannels ?? []).entries()) {
      if (typeof ch !== 'function') throw new InvalidInputError(`options.alertChannels[${i}]`, 'must be a function', ch);
      this.channels.add(ch);
    }
    this.createsMoney = options.emergencyCreatesMoney === true;
    const poll = options.waitPollMs === undefined ? 1000 : parseDuration(options.waitPollMs, 'options.waitPollMs');
    this.waits = new BudgetWaits(host.clock, poll);
    host.on('warning', (w) => {
      if (w.meter !== 'cost') return;
      this.track(
        this.alertOnce({
          budget: w.limit,
          scope: w.scope,
          threshold: w.threshold,
          usagePercent: percent(new Decimal(w.used), new Decimal(w.max)),
          spent: w.used,
          amount: w.max,
          remaining: Decimal.max(new Decimal(w.max).minus(w.used), 0).toFixed(),
          currency: w.currency ?? host.currency,
          hardLimit: w.enforcement === 'hard',
          period: w.period,
          at: w.at,
        }),
      );
    });
    host.on('usage', (u) => {
      this.waits.wake();
      const agent = u.scope.agent;
      if (agent !== undefined && this.agents.has(agent) && (this.monitors.has(agent) || this.lowBudgetPercent !== undefined)) {
        this.track(this.checkMonitors(agent));
      }
    });
    host.on('budget.changed', () => this.waits.wake());
  }

  // ---- pools --------------------------------------------------------------------------

  /** Create a pool: a budget on `{ pool: id }` that every agent of the pool draws from. */
  createPool(options: PoolOptions, change: BudgetChange = {}): PoolInfo {
    const o = parseInput(poolSchema, options, 'pool');
    const id = validateId(o.id ?? o.name, o.id === undefined ? 'pool.name' : 'pool.id');
    if (this.pools.has(id) || this.host.getBudget(poolBudgetId(id)) !== undefined)
      throw new InvalidInputError('pool.id', 'is already in use', id);
    if (o.workspace !== undefined) validateId(o.workspace, 'pool.workspace');
    if (o.project !== undefined) validateId(o.project, 'pool.project');
    const initial = unitsToDecimal(toUnits(o.initialBudget, 'pool.initialBudget'));
    this.setCoordinated(poolBudgetId(id), { pool: id }, initial, o, 'pool', this.change(change, 'set', 'pool created'));
    this.pools.set(id, {
      id,
      name: o.name,
      priority: o.priority,
      metadata: { ...o.metadata },
      policy: o.policy ?? 'fixed',
      workspace: o.workspace,
      project: o.project,
      initialBudget: initial,
      createdAt: this.host.clock.now(),
    });
    return this.getPool(id) as PoolInfo;
  }

  /** The pool with this id, or undefined. */
  getPool(id: string): PoolInfo | undefined {
    const p = this.pools.get(id);
    if (p === undefined) return undefined;
    const b = this.host.getBudget(poolBudgetId(id)) as HostBudgetInfo;
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
      agents: this.getPoolAgents(id),
    };
  }

  /** Every pool, highest priority first (ties: creation order). */
  listPools(): PoolInfo[] {
    return [...this.pools.values()].sort((a, b) => b.priority - a.priority).map((p) => this.getPool(p.id) as PoolInfo);
  }

  /** Change a pool's name, priority, metadata, policy or budget (`initialBudget` sets the budget in force). */
  updatePool(id: string, patch: Partial<Omit<PoolOptions, 'id'>>, change: BudgetChange = {}): PoolInfo {
    const p = this.pool(id, 'id');
    const o = parseInput(poolPatchSchema, patch, 'patch');
    if (o.workspace !== undefined || o.project !== undefined) {
      throw new InvalidInputError(
        o.workspace !== undefined ? 'patch.workspace' : 'patch.project',
        'cannot change after the pool is created',
        o.workspace ?? o.project,
      );
    }
    const budgetChanged = Object.keys(o).some((k) => k in BEHAVIOUR_KEYS || k === 'initialBudget');
    if (budgetChanged) {
      const info = this.host.getBudget(poolBudgetId(id)) as HostBudgetInfo;
      const amount =
        o.initialBudget === undefined ? new Decimal(info.max) : unitsToDecimal(toUnits(o.initialBudget, 'patch.initialBudget'));
      this.setCoordinated(
        poolBudgetId(id),
        { pool: id },
        amount,
        { ...behaviourOf(info, this.extras.get(info.id)), ...o },
        'patch',
        this.change(change, 'update', 'pool updated'),
      );
    }
    if (o.name !== undefined) p.name = o.name;
    if (o.priority !== undefined) p.priority = o.priority;
    if (o.metadata !== undefined) p.metadata = { ...o.metadata };
    if (o.policy !== undefined) p.policy = o.policy;
    return this.getPool(id) as PoolInfo;
  }

  /** Delete an empty pool and its budget. Refused while agents draw from it. */
  deletePool(id: string, change: BudgetChange = {}): boolean {
    validateId(id, 'id');
    if (!this.pools.has(id)) return false;
    const agents = this.getPoolAgents(id);
    if (agents.length > 0) throw new InvalidInputError('id', `names a pool that still has agents (${agents.join(', ')})`, id);
    this.host.removeBudget(poolBudgetId(id), this.change(change, 'removed', 'pool deleted'));
    this.forget(poolBudgetId(id));
    this.pools.delete(id);
    return true;
  }

  /** Ids of the agents in a pool, in creation order. */
  getPoolAgents(poolId: string): string[] {
    return [...this.agents.values()].filter((a) => a.pool === poolId).map((a) => a.id);
  }

  // ---- agents ---------------------------------------------------------------------------

  /** Create an agent: a budget on `{ agent: id }`, drawing from its pool's budget when it has one. */
  createAgent(options: AgentOptions, change: BudgetChange = {}): AgentInfo {
    const o = parseInput(agentSchema, options, 'agent');
    const id = validateId(o.id, 'agent.id');
    if (this.agents.has(id) || this.host.getBudget(agentBudgetId(id)) !== undefined)
      throw new InvalidInputError('agent.id', 'is already in use', id);
    if (o.pool !== undefined) this.pool(o.pool, 'agent.pool');
    if (o.pool !== undefined && o.currency !== undefined) {
      const pc = this.getPool(o.pool)?.currency;
      if (pc !== o.currency) throw new InvalidInputError('agent.currency', `must be its pool's currency ${pc}`, o.currency);
    }
    const levels = o.serviceLevels === undefined ? undefined : validateServiceLevels(o.serviceLevels, 'agent.serviceLevels');
    const initial = unitsToDecimal(toUnits(o.initialBudget, 'agent.initialBudget'));
    this.setCoordinated(agentBudgetId(id), { agent: id }, initial, o, 'agent', this.change(change, 'set', 'agent created'));
    this.agents.set(id, {
      id,
      name: o.name ?? id,
      priority: o.priority,
      pool: o.pool,
      greediness: o.greediness,
      metadata: { ...o.metadata },
      initialBudget: initial,
      createdAt: this.host.clock.now(),
    });
    if (levels !== undefined) this.levels.set(id, levels);
    return this.getAgent(id) as AgentInfo;
  }

  /** The agent with this id, or undefined. */
  getAgent(id: string): AgentInfo | undefined {
    const a = this.agents.get(id);
    if (a === undefined) return undefined;
    const b = this.host.getBudget(agentBudgetId(id)) as HostBudgetInfo;
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

  /** Every agent (of one pool, if given), in creation order. */
  listAgents(poolId?: string): AgentInfo[] {
    return [...this.agents.values()].filter((a) => poolId === undefined || a.pool === poolId).map((a) => this.getAgent(a.id) as AgentInfo);
  }

  /** Every agent id (seed 001's `get_all_agent_ids`). */
  getAllAgentIds(): string[] {
    return [...this.agents.keys()];
  }

  /** Change an agent's name, priority, pool, greediness, metadata or budget behaviour. */
  updateAgent(
    id: string,
    patch: Partial<Omit<AgentOptions, 'id' | 'initialBudget' | 'serviceLevels'>>,
    change: BudgetChange = {},
  ): AgentInfo {
    const a = this.agent(id, 'id');
    const o = parseInput(agentPatchSchema, patch, 'patch');
    if (o.pool !== undefined) this.pool(o.pool, 'patch.pool');
    if (Object.keys(o).some((k) => k in BEHAVIOUR_KEYS)) {
      const info = this.host.getBudget(agentBudgetId(id)) as HostBudgetInfo;
      this.setCoordinated(
        agentBudgetId(id),
        { agent: id },
        new Decimal(info.max),
        { ...behaviourOf(info, this.extras.get(info.id)), ...o },
        'patch',
        this.change(change, 'update', 'agent updated'),
      );
    }
    if (o.name !== undefined) a.name = o.name;
    if (o.priority !== undefined) a.priority = o.priority;
    if (o.pool !== undefined) a.pool = o.pool;
    if (o.greediness !== undefined) a.greediness = o.greediness;
    if (o.metadata !== undefined) a.metadata = { ...o.metadata };
    return this.getAgent(id) as AgentInfo;
  }

  /** Delete an agent and its budget (its spending stays counted on its pool). */
  deleteAgent(id: string, change: BudgetChange = {}): boolean {
    validateId(id, 'id');
    if (!this.agents.has(id)) return false;
    this.host.removeBudget(agentBudgetId(id), this.change(change, 'removed', 'agent deleted'));
    this.forget(agentBudgetId(id));
    this.agents.delete(id);
    this.levels.delete(id);
    this.monitors.delete(id);
    return true;
  }

  /** The scope to guard an agent's calls with: its workspace, project, pool and id. */
  scopeOf(agentId: string): Scope {
    const a = this.agent(agentId, 'agentId');
    const p = a.pool === undefined ? undefined : this.pools.get(a.pool);
    const s: Record<string, string> = {};
    if (p?.workspace !== undefined) s.workspace = p.workspace;
    if (p?.project !== undefined) s.project = p.project;
    if (a.pool !== undefined) s.pool = a.pool;
    s.agent = agentId;
    return Object.freeze(s);
  }

  /** The agent's budget in force for the period (seed 001's `get_budget`). */
  getBudget(agentId: string): Decimal {
    this.agent(agentId, 'agentId');
    return new Decimal((this.host.getBudget(agentBudgetId(agentId)) as HostBudgetInfo).max);
  }

  /** Set the agent's budget (seed 001's `update_budget`), audited with `reason`. */
  updateBudget(agentId: string, amount: MoneyInput, reason?: string | BudgetChange): AgentInfo {
    this.agent(agentId, 'agentId');
    const units = toUnits(amount, 'amount');
    const change = typeof reason === 'string' ? { reason } : reason;
    this.resize(agentBudgetId(agentId), units, this.change(change ?? {}, 'update', 'budget updated'));
    return this.getAgent(agentId) as AgentInfo;
  }

  /** Add to an agent's or a pool's budget. */
  topUp(target: { readonly agent: string } | { readonly pool: string }, amount: MoneyInput, change: BudgetChange = {}): Decimal {
    const id = this.targetId(target);
    const add = toUnits(amount, 'amount', { allowZero: false });
    const now = toUnits((this.host.getBudget(id) as HostBudgetInfo).max, 'max');
    this.resize(id, now + add, this.change(change, 'top-up', 'top-up'));
    return unitsToDecimal(now + add);
  }

  /** Put an agent's budget back to its initial amount. */
  resetBudget(agentId: string, change: BudgetChange = {}): AgentInfo {
    const a = this.agent(agentId, 'agentId');
    this.resize(
      agentBudgetId(agentId),
      toUnits(a.initialBudget, 'initialBudget'),
      this.change(change, 'reset', 'reset to the initial budget'),
    );
    return this.getAgent(agentId) as AgentInfo;
  }

  /** The agent's priority, 1–10 (seed 001's `get_agent_priority`). */
  getAgentPriority(agentId: string): number {
    return this.agent(agentId, 'agentId').priority;
  }

  /** Metadata stored with an agent (seed 001's `get_agent_metadata`). */
  getAgentMetadata(agentId: string): { readonly [key: string]: unknown } {
    return this.agent(agentId, 'agentId').metadata;
  }

  // ---- workspace, project and other budgets -------------------------------------------

  /** Set (or replace, by id) a budget on any scope, e.g. a workspace's or a project's monthly budget (seed 004). */
  setBudget(options: CoordinatorBudgetOptions, change: BudgetChange = {}): HostBudgetInfo {
    const o = parseInput(budgetSchema, options, 'budget');
    const scope = validateScope(o.scope, 'budget.scope', true) as ScopePattern;
    const amount = unitsToDecimal(toUnits(o.amount, 'budget.amount'));
    const id = o.id ?? `budget:${scopeKey(scope) || '*'}`;
    validateId(id, 'budget.id');
    return this.setCoordinated(id, scope, amount, o, 'budget', this.change(change, undefined, undefined));
  }

  /** Remove a budget set with {@link setBudget}. */
  removeBudget(id: string, change: BudgetChange = {}): boolean {
    validateId(id, 'id');
    if (this.isCoordinated(id)) throw new InvalidInputError('id', 'names a pool or agent budget: delete the pool or agent instead', id);
    const removed = this.host.removeBudget(id, this.change(change, 'removed', undefined));
    this.forget(id);
    return removed;
  }

  // ---- metrics --------------------------------------------------------------------------

  /** Seed 001's agent metrics: initial, used, remaining, usage percent, consumption rate. */
  async getAgentMetrics(agentId: string): Promise<AgentMetrics> {
    const a = this.agent(agentId, 'agentId');
    const m = await this.metrics(agentBudgetId(agentId), { agent: agentId }, a.createdAt);
    return { ...m, agentId, pool: a.pool, priority: a.priority };
  }

  /** Seed 001's pool metrics, with what is promised to agents and what is left unallocated. */
  async getPoolMetrics(poolId: string): Promise<PoolMetrics> {
    const p = this.pool(poolId, 'poolId');
    const m = await this.metrics(poolBudgetId(poolId), { pool: poolId }, p.createdAt);
    const agents = this.getPoolAgents(poolId);
    let allocated = new Decimal(0);
    for (const id of agents) allocated = allocated.plus((await this.getAgentMetrics(id)).remaining);
    const unallocated = Decimal.max(m.remaining.minus(allocated), 0);
    return { ...m, poolId, allocated, unallocated, agents: agents.length };
  }

  /** Metrics of every agent, by id. */
  async getAllAgentMetrics(): Promise<Record<string, AgentMetrics>> {
    const out: Record<string, AgentMetrics> = {};
    for (const id of this.agents.keys()) out[id] = await this.getAgentMetrics(id);
    return out;
  }

  /** Metrics of every pool, by id. */
  async getAllPoolMetrics(): Promise<Record<string, PoolMetrics>> {
    const out: Record<string, PoolMetrics> = {};
    for (const id of this.pools.keys()) out[id] = await this.getPoolMetrics(id);
    return out;
  }

  /** The agent's settled calls (cost charged) from `from` to `to` (epoch ms), oldest first, from the ledger. */
  async getUsageHistory(
    agentId: string,
    range: { readonly from?: number; readonly to?: number } = {},
  ): Promise<{ at: number; amount: Decimal }[]> {
    this.agent(agentId, 'agentId');
    const out: { at: number; amount: Decimal }[] = [];
    let cursor: string | undefined;
    do {
      const q: LedgerQuery = {
        scope: { agent: agentId },
        kinds: ['call'],
        statuses: ['ok', 'error'],
        from: range.from,
        to: range.to,
        cursor,
      };
      const page = await this.host.queryLedger(q);
      for (const e of page.entries) out.push({ at: e.at, amount: new Decimal(e.cost) });
      cursor = page.next;
    } while (cursor !== undefined);
    return out;
  }

  // ---- allocation -----------------------------------------------------------------------

  /**
   * Run a pool's allocation policy (or `strategy`) over its agents and apply it, audited:
   * `fixed` puts each agent back to its initial budget; `dynamic` sets each to its average
   * daily spend over the last 7 days × 1.2, never below its initial budget; `priority`,
   * `greediness` and `rebalance` share the pool's remaining budget out as the agents'
   * remaining budgets (an agent's budget becomes what it spent plus its share).
   */
  async allocate(poolId: string, options: BudgetChange & { readonly strategy?: PoolPolicy | undefined } = {}): Promise<AllocationResult> {
    const p = this.pool(poolId, 'poolId');
    const strategy = options.strategy ?? p.policy;
    if (!['fixed', 'dynamic', 'priority', 'greediness', 'rebalance'].includes(strategy)) {
      throw new InvalidInputError('options.strategy', 'must be fixed, dynamic, priority, greediness or rebalance', strategy);
    }
    const change = this.change(
      { reason: options.reason, actor: options.actor },
      strategy === 'rebalance' ? 'rebalance' : 'allocate',
      `${strategy} allocation`,
    );
    const ids = this.getPoolAgents(poolId);
    const metrics = await Promise.all(ids.map((id) => this.getAgentMetrics(id)));
    const now = this.host.clock.now();
    let result: AllocationResult;
    let caps: bigint[];
    if (strategy === 'fixed' || strategy === 'dynamic') {
      const amounts: Decimal[] = [];
      for (const id of ids) {
        const a = this.agents.get(id) as AgentRecord;
        if (strategy === 'fixed') amounts.push(a.initialBudget);
        else amounts.push(allocateDynamic(await this.dailyTotals(id, now, 7), a.initialBudget, '1.2'));
      }
      const allocations: Record<string, Decimal> = {};
      ids.forEach((id, i) => (allocations[id] = amounts[i] as Decimal));
      const sum = amounts.reduce((s, x) => s.plus(x), new Decimal(0));
      result = { allocations, distributed: sum, undistributed: new Decimal(0), notes: [] };
      caps = amounts.map((x) => toUnits(x, 'amount'));
    } else {
      const available = (await this.getPoolMetrics(poolId)).remaining;
      if (strategy === 'priority') {
        result = allocateByPriority(
          ids.map((id) => ({ id, priority: (this.agents.get(id) as AgentRecord).priority })),
          available,
        );
      } else if (strategy === 'rebalance') {
        const agents = [];
        for (const id of ids) {
          const history = await this.getUsageHistory(id, { from: now - DAY_MS, to: now + 1 });
          agents.push({
            id,
            priority: (this.agents.get(id) as AgentRecord).priority,
            averageUsage: averageOf(history.map((h) => h.amount)),
          });
        }
        result = rebalanceShares(agents, available);
      } else {
        const units = toUnits(available, 'available');
        const shares = distributeUnits(
          units,
          ids.map((id) => {
            const g = (this.agents.get(id) as AgentRecord).greediness ?? 0;
            return [BigInt(Math.round(g * 1e6)), 1_000_000n] as const;
          }),
        );
        const allocations: Record<string, Decimal> = {};
        ids.forEach((id, i) => (allocations[id] = unitsToDecimal(shares[i] as bigint)));
        const sum = shares.reduce((s, x) => s + x, 0n);
        result = { allocations, distributed: unitsToDecimal(sum), undistributed: unitsToDecimal(units - sum), notes: [] };
      }
      caps = ids.map((id, i) => toUnits((metrics[i] as AgentMetrics).used.plus(result.allocations[id] as Decimal), 'amount'));
    }
    ids.forEach((id, i) => this.resize(agentBudgetId(id), caps[i] as bigint, change));
    return result;
  }

  /** Rebalance a pool's remaining budget among its agents (seed 001: 70 % priority, 30 % recent usage). */
  rebalance(poolId: string, change: BudgetChange = {}): Promise<AllocationResult> {
    return this.allocate(poolId, { ...change, strategy: 'rebalance' });
  }

  /**
   * Seed 000's greediness split for projects: sets each project a daily budget (on
   * `{ workspace?, project }`, id `project:<id>`) of its share of the money, and returns
   * every share (money, compute hours, API calls, storage).
   */
  applyGreediness(
    projects: readonly { readonly id: string; readonly greediness: number | string | Decimal; readonly workspace?: string | undefined }[],
    totals: GreedinessTotals,
    options: BudgetChange & { readonly timeZone?: string | undefined; readonly hardLimit?: boolean | undefined } = {},
  ): GreedinessAllocation {
    const split = allocateByGreediness(projects, totals);
    const specs = projects.map((p, i) => {
      if (p.workspace !== undefined) validateId(p.workspace, `projects[${i}].workspace`);
      const scope: ScopePattern = p.workspace === undefined ? { project: p.id } : { workspace: p.workspace, project: p.id };
      return { id: `project:${p.id}`, scope, amount: (split.shares[p.id] as { money: Decimal }).money };
    });
    const change = this.change(options, 'allocate', 'greediness allocation');
    for (const s of specs) {
      this.host.setBudget({ ...s, period: 'day', timeZone: options.timeZone, hardLimit: options.hardLimit }, change);
    }
    return split;
  }

  // ---- emergency ------------------------------------------------------------------------

  /**
   * Seed 001's emergency allocation: priority >= 7 is approved in full, a reason containing
   * "critical" at half, anything else denied. The grant comes out of what the agent's pool
   * has unallocated and is cut to it, unless money creation is allowed (then the pool's
   * budget grows by the shortfall). An agent without a pool gets nothing unless allowed.
   */
  async requestEmergencyAllocation(
    agentId: string,
    amount: MoneyInput,
    reason: string,
    options: { readonly actor?: string | undefined; readonly createMoney?: boolean | undefined } = {},
  ): Promise<EmergencyResult> {
    const a = this.agent(agentId, 'agentId');
    const requested = toUnits(amount, 'amount', { allowZero: false });
    if (typeof reason !== 'string' || reason.trim() === '') throw new InvalidInputError('reason', 'must be a non-empty string', reason);
    const createMoney = options.createMoney ?? this.createsMoney;
    const decision = a.priority >= 7 ? 'full' : reason.toLowerCase().includes('critical') ? 'half' : 'denied';
    const approved = decision === 'full' ? requested : decision === 'half' ? requested / 2n : 0n;
    let granted = approved;
    let note: string;
    const change = { reason, actor: options.actor, action: 'emergency' };
    if (decision === 'denied') note = `denied: priority ${a.priority} is below 7 and the reason does not say "critical"`;
    else if (a.pool === undefined) {
      if (!createMoney) granted = 0n;
      note = createMoney
        ? 'granted without a pool (money creation allowed)'
        : 'the agent has no pool to draw from and money creation is off';
    } else {
      const pm = await this.getPoolMetrics(a.pool);
      const free = toUnits(pm.unallocated, 'unallocated');
      if (approved <= free) note = `granted from pool ${a.pool}`;
      else if (createMoney) {
        this.resize(poolBudgetId(a.pool), toUnits(pm.initial, 'initial') + approved - free, change);
        note = `pool ${a.pool} had ${pm.unallocated.toFixed()} unallocated; its budget grew by the shortfall`;
      } else {
        granted = free;
        note = `cut to the ${pm.unallocated.toFixed()} pool ${a.pool} had unallocated`;
      }
    }
    if (granted > 0n) {
      const cap = toUnits((this.host.getBudget(agentBudgetId(agentId)) as HostBudgetInfo).max, 'max');
      this.resize(agentBudgetId(agentId), cap + granted, change);
    }
    return { requested: unitsToDecimal(requested), approved: unitsToDecimal(approved), granted: unitsToDecimal(granted), decision, note };
  }

  // ---- monitors and violations ---------------------------------------------------------

  /** Run `monitor` after each settled call of the agent; a returned report becomes a `violation` event. Returns a disposer. */
  registerBudgetMonitor(agentId: string, monitor: BudgetMonitor): () => void {
    this.agent(agentId, 'agentId');
    if (typeof monitor !== 'function') throw new InvalidInputError('monitor', 'must be a function', monitor);
    let set = this.monitors.get(agentId);
    if (set === undefined) this.monitors.set(agentId, (set = new Set()));
    set.add(monitor);
    return () => {
      set.delete(monitor);
      if (set.size === 0 && this.monitors.get(agentId) === set) this.monitors.delete(agentId);
    };
  }

  /**
   * Seed 001's spending limit: a monitor that reports `BUDGET_LIMIT_EXCEEDED` (severity
   * MEDIUM) when the agent's spending passes `limit`, once each time it goes past.
   */
  setSpendingLimit(agentId: string, limit: MoneyInput): () => void {
    const cap = unitsToDecimal(toUnits(limit, 'limit'));
    let over = false;
    return this.registerBudgetMonitor(agentId, (_id, spent) => {
      const now = spent.gt(cap);
      const report = now && !over;
      over = now;
      if (!report) return true;
      return {
        violationType: ViolationType.BUDGET_LIMIT_EXCEEDED,
        severity: AlertSeverity.MEDIUM,
        message: `Agent exceeded spending limit of ${cap.toFixed()}`,
        details: { limit: cap.toFixed(), spent: spent.toFixed(), overage: spent.minus(cap).toFixed() },
      };
    });
  }

  /** Seed 001's low-budget alerts: every agent reports `LOW_BUDGET` when at most `thresholdPercent` (15) of its budget is left, once per dip. */
  setupLowBudgetAlerts(thresholdPercent = 15): void {
    if (typeof thresholdPercent !== 'number' || !(thresholdPercent >= 0 && thresholdPercent <= 100)) {
      throw new InvalidInputError('thresholdPercent', 'must be a number from 0 to 100', thresholdPercent);
    }
    this.lowBudgetPercent = thresholdPercent;
  }

  /** Deliver a violation for an agent as a `violation` event; returns the payload. */
  async reportViolation(agentId: string, report: ViolationReport, metrics?: AgentMetrics): Promise<BudgetViolation> {
    const m = metrics ?? (await this.getAgentMetrics(agentId));
    if (!Object.values(ViolationType).includes(report.violationType))
      throw new InvalidInputError('report.violationType', 'must be a ViolationType', report.violationType);
    if (!Object.values(AlertSeverity).includes(report.severity))
      throw new InvalidInputError('report.severity', 'must be an AlertSeverity', report.severity);
    const v: BudgetViolation = {
      type: 'reported',
      code: report.violationType.toLowerCase(),
      violationType: report.violationType,
      severity: report.severity,
      agentId,
      message: report.message,
      details: { ...report.details },
      limit: agentBudgetId(agentId),
      meter: 'cost',
      scope: { agent: agentId },
      requested: '0',
      available: m.remaining.toFixed(),
      used: m.used.toFixed(),
      max: m.initial.toFixed(),
      retryAfterMs: undefined,
      period: m.period,
      at: this.host.clock.now(),
    };
    this.host.emit('violation', v);
    return v;
  }

  /** Run the agent's monitors (and the low-budget check) now; returns the violations reported. */
  async checkMonitors(agentId: string): Promise<BudgetViolation[]> {
    const m = await this.getAgentMetrics(agentId);
    const out: BudgetViolation[] = [];
    for (const monitor of [...(this.monitors.get(agentId) ?? [])]) {
      let r: Awaited<ReturnType<BudgetMonitor>>;
      try {
        r = await monitor(agentId, m.used, m);
      } catch (error) {
        this.host.emit('listener.error', { event: 'budget.monitor', error });
        continue;
      }
      if (r !== null && typeof r === 'object') out.push(await this.reportViolation(agentId, r, m));
    }
    const pct = this.lowBudgetPercent;
    if (pct !== undefined) {
      const left = m.initial.lte(0) ? new Decimal(0) : m.remaining.times(100).div(m.initial);
      const low = left.lte(pct);
      const key = `${agentId}|${m.period ?? ''}`;
      const was = this.lowState.get(key) === true;
      this.lowState.set(key, low);
      if (low && !was) {
        out.push(
          await this.reportViolation(
            agentId,
            {
              violationType: ViolationType.LOW_BUDGET,
              severity: AlertSeverity.MEDIUM,
              message: `Agent budget below ${pct}% threshold`,
              details: {
                current_budget: m.remaining.toFixed(),
                initial_budget: m.initial.toFixed(),
                percentage_remaining: Number(left.toDecimalPlaces(2).toFixed()),
              },
            },
            m,
          ),
        );
      }
    }
    return out;
  }

  // ---- thresholds, alerts and checks (seed 004) ----------------------------------------

  /** Add an alert channel; returns a disposer. */
  addAlertChannel(channel: AlertChannel): () => void {
    if (typeof channel !== 'function') throw new InvalidInputError('channel', 'must be a function', channel);
    this.channels.add(channel);
    return () => void this.channels.delete(channel);
  }

  /**
   * Seed 004's `check_and_alert`: for every budget on `scope`'s chain, send each threshold
   * reached and not yet sent in this period to every channel. Returns the alerts sent.
   */
  async checkAndAlert(scope: Scope): Promise<BudgetAlert[]> {
    const statuses = await this.host.status(validateScope(scope, 'scope', false));
    const sent: BudgetAlert[] = [];
    for (const s of statuses) {
      const info = this.host.getBudget(s.limit);
      if (info === undefined) continue;
      for (const t of info.thresholds) {
        if (s.used.times(100).lt(s.max.times(t))) continue;
        const alert = this.alertOf(s, t);
        if (await this.alertOnce(alert)) sent.push(alert);
      }
    }
    return sent;
  }

  /**
   * Seed 004's `can_execute`: would a call costing `estimatedCost` fit every budget on
   * `scope`'s chain now? Soft budgets admit and warn; a hard one refuses, naming itself
   * and its alternatives. Nothing is held: the guarded call itself reserves atomically.
   */
  async canExecute(scope: Scope, estimatedCost: MoneyInput): Promise<CanExecuteResult> {
    const s = validateScope(scope, 'scope', false);
    const est = unitsToDecimal(toUnits(estimatedCost, 'estimatedCost'));
    const statuses = await this.host.status(s);
    const warnings: string[] = [];
    for (const st of statuses) {
      const free = st.max.minus(st.used).minus(st.held);
      if (st.used.plus(st.held).plus(est).lte(st.max)) continue;
      const text = `budget ${st.limit} on ${scopeKey(st.scope) || '(global)'} has ${Decimal.max(free, 0).toFixed()} of ${st.max.toFixed()} ${st.currency ?? this.host.currency} left; the call needs ${est.toFixed()}`;
      if (st.enforcement === 'hard') {
        return { canExecute: false, reason: text, budget: st.limit, alternatives: this.alternativesFor(st.limit), warnings };
      }
      warnings.push(`soft ${text}`);
    }
    return {
      canExecute: true,
      reason:
        statuses.length === 0
          ? 'no budget applies'
          : warnings.length > 0
            ? `admitted over a soft budget: ${warnings[0] as string}`
            : 'within budget',
      budget: undefined,
      alternatives: [],
      warnings,
    };
  }

  /** Seed 004's budget status of the budget set on exactly this scope (the tightest, if several). */
  async getBudgetStatus(scope: Scope): Promise<BudgetStatus> {
    const s = validateScope(scope, 'scope', false);
    const key = scopeKey(s);
    const own = (await this.host.status(s)).filter((st) => scopeKey(st.scope) === key);
    if (own.length === 0) {
      const zero = new Decimal(0);
      return {
        hasBudget: false,
        id: undefined,
        budget: zero,
        spent: zero,
        remaining: zero,
        usagePercent: 0,
        alertNeeded: false,
        isOverBudget: false,
        hardLimit: false,
      };
    }
    const st = own.reduce((a, b) => (b.max.minus(b.used).lt(a.max.minus(a.used)) ? b : a));
    const info = this.host.getBudget(st.limit);
    const sent = await this.sentThresholds(st.limit, key, st.period?.id);
    const alertNeeded = (info?.thresholds ?? []).some((t) => !st.used.times(100).lt(st.max.times(t)) && !sent.includes(t));
    return {
      hasBudget: true,
      id: st.limit,
      budget: st.max,
      spent: st.used,
      remaining: Decimal.max(st.max.minus(st.used), 0),
      usagePercent: st.usagePercent,
      alertNeeded,
      isOverBudget: st.used.gte(st.max),
      hardLimit: st.enforcement === 'hard',
    };
  }

  // ---- audit ----------------------------------------------------------------------------

  /** The audit log: every change of a budget (set, allocate, rebalance, emergency, reset, top-up), oldest first. */
  async getAuditLog(query: AuditQuery = {}): Promise<{ records: AuditRecord[]; next: string | undefined }> {
    if (query === null || typeof query !== 'object') throw new InvalidInputError('query', 'must be an object', query);
    const scope: Scope | undefined =
      query.agent !== undefined
        ? { agent: validateId(query.agent, 'query.agent') }
        : query.pool !== undefined
          ? { pool: validateId(query.pool, 'query.pool') }
          : undefined;
    const page = await this.host.queryLedger({
      kinds: ['budget.changed'],
      scope,
      from: query.from,
      to: query.to,
      limit: query.limit,
      cursor: query.cursor,
    });
    const records = page.entries.map(auditRecord).filter((r) => query.budget === undefined || r.budget === query.budget);
    return { records, next: page.next };
  }

  // ---- reviews (seed 001) -----------------------------------------------------------------

  /** Run the seed's review now: agents under 10 % used or under 10 % left, pools under 20 % left. Emits `budget.review`. */
  async review(): Promise<ReviewFinding[]> {
    const findings: ReviewFinding[] = [];
    for (const [id, m] of Object.entries(await this.getAllAgentMetrics())) {
      const f = reviewAgent(id, m.initial, m.remaining);
      if (f !== undefined) findings.push(f);
    }
    for (const [id, m] of Object.entries(await this.getAllPoolMetrics())) {
      const f = reviewPool(id, m.initial, m.remaining);
      if (f !== undefined) findings.push(f);
    }
    this.host.emit('budget.review', { findings, at: this.host.clock.now() });
    return findings;
  }

  /** Run {@link review} every `every` on the clock (its timer never keeps the process alive). Returns a stopper. */
  scheduleReview(options: { readonly every: number | string }): { stop(): void } {
    if (options === null || typeof options !== 'object') throw new InvalidInputError('options', 'must be an object', options);
    const every = parseDuration(options.every, 'options.every');
    const ac = new AbortController();
    this.reviews.add(ac);
    const loop = async (): Promise<void> => {
      while (!ac.signal.aborted) {
        try {
          await this.host.clock.sleep(every, ac.signal);
        } catch {
          return;
        }
        try {
          await this.review();
        } catch (error) {
          this.host.emit('listener.error', { event: 'budget.review', error });
        }
      }
    };
    void loop();
    return {
      stop: () => {
        ac.abort();
        this.reviews.delete(ac);
      },
    };
  }

  /** Stop every scheduled review. */
  stop(): void {
    for (const ac of this.reviews) ac.abort();
    this.reviews.clear();
  }

  /** Resolve once the background work started by events (alerts, monitors) has finished. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  // ---- service levels (seed 001) ---------------------------------------------------------

  /** Configure an agent's service levels (default: the seed's full / standard / minimal / emergency). */
  setServiceLevels(agentId: string, levels: ServiceLevels = DEFAULT_SERVICE_LEVELS): void {
    this.agent(agentId, 'agentId');
    this.levels.set(agentId, validateServiceLevels(levels, 'levels'));
  }

  /** The agent's current service level, from the share of its budget left. */
  async getServiceLevel(agentId: string): Promise<ServiceLevel> {
    const m = await this.getAgentMetrics(agentId);
    return determineServiceLevel(this.levels.get(agentId) ?? DEFAULT_SERVICE_LEVELS, m.remaining, m.initial);
  }

  /** Internal (pipeline hook): set `ctx.serviceLevel` on an admitted call of an agent with service levels. */
  attachServiceLevel(r: { readonly scope: Scope; serviceLevel: ServiceLevel | undefined }): Promise<void> | undefined {
    if (this.levels.size === 0) return undefined;
    const agent = r.scope.agent;
    if (agent === undefined || !this.levels.has(agent) || this.attached.has(r)) return undefined;
    this.attached.add(r);
    return this.getServiceLevel(agent).then(
      (level) => {
        r.serviceLevel = level;
      },
      (error: unknown) => this.host.emit('listener.error', { event: 'serviceLevel', error }),
    );
  }

  // ---- refusals and wait mode (pipeline hooks) -------------------------------------------

  /** Cheaper options configured on a budget (for its `BudgetExceededError`). */
  alternativesFor(budgetId: string): readonly BudgetAlternative[] {
    return this.extras.get(budgetId)?.alternatives ?? [];
  }

  /** True when some budget is in wait mode: the pipeline then passes its admissions through {@link admitWaiting}. */
  get waiting(): boolean {
    return this.waitBudgets > 0;
  }

  /**
   * Internal (pipeline hook): when `first` is a refusal by a budget in wait mode, wait for
   * a top-up, a settle or the period's reset and admit again with `again`, until the
   * deadline; then return the last refusal. Anything else passes through unchanged.
   */
  admitWaiting<T>(
    first: T | PromiseLike<T>,
    again: () => T | PromiseLike<T>,
    maxWaitMs: number | undefined,
    signal: AbortSignal | undefined,
  ): T | Promise<T> {
    const waitsOn = (x: unknown): x is BudgetExceededError =>
      x instanceof BudgetExceededError && this.extras.get(x.limit)?.onExhausted === 'wait';
    const attempt = (x: T): BudgetAttempt<T> =>
      waitsOn(x) ? { ok: false, retryAfterMs: x.retryAfterMs, error: x } : { ok: true, value: x };
    const check = (r: T): T | Promise<T> => {
      if (!waitsOn(r)) return r;
      const deadline = this.host.clock.now() + (maxWaitMs ?? this.extras.get(r.limit)?.maxWaitMs ?? this.host.maxWaitMs);
      const retry = (): BudgetAttempt<T> | PromiseLike<BudgetAttempt<T>> => {
        const x = again();
        return isPromiseLike(x) ? Promise.resolve(x).then(attempt) : attempt(x);
      };
      return this.waits.run(`${r.limit}|${r.scope}`, retry, attempt(r), deadline, signal).catch((e: unknown) => {
        if (e instanceof GovernorError) return e as T;
        throw e;
      });
    };
    return isPromiseLike(first) ? Promise.resolve(first).then(check) : check(first);
  }

  // ---- internals --------------------------------------------------------------------------

  private pool(id: unknown, field: string): PoolRecord {
    validateId(id, field);
    const p = this.pools.get(id as string);
    if (p === undefined) throw new InvalidInputError(field, 'must name an existing pool', id);
    return p;
  }

  private agent(id: unknown, field: string): AgentRecord {
    validateId(id, field);
    const a = this.agents.get(id as string);
    if (a === undefined) throw new InvalidInputError(field, 'must name an existing agent', id);
    return a;
  }

  private targetId(target: unknown): string {
    if (target !== null && typeof target === 'object') {
      const t = target as { agent?: unknown; pool?: unknown };
      if (t.agent !== undefined) return agentBudgetId(this.agent(t.agent, 'target.agent').id);
      if (t.pool !== undefined) return poolBudgetId(this.pool(t.pool, 'target.pool').id);
    }
    throw new InvalidInputError('target', 'must be { agent } or { pool }', target);
  }

  private isCoordinated(id: string): boolean {
    return (id.startsWith('pool:') && this.pools.has(id.slice(5))) || (id.startsWith('agent:') && this.agents.has(id.slice(6)));
  }

  private change(change: BudgetChange, action: string | undefined, fallback: string | undefined): HostChange {
    const c = parseInput(changeSchema, change ?? {}, 'change');
    return { reason: c.reason ?? fallback, actor: c.actor, action };
  }

  /** Set a budget with its behaviour through the host (audited), and keep its extras. */
  private setCoordinated(
    id: string,
    scope: ScopePattern,
    amount: Decimal,
    b: BudgetBehaviour,
    field: string,
    change: HostChange,
  ): HostBudgetInfo {
    const maxWaitMs = b.maxWaitMs === undefined ? undefined : parseDuration(b.maxWaitMs, `${field}.maxWaitMs`, true);
    if (b.currency !== undefined && b.currency !== this.host.currency) {
      throw new InvalidInputError(
        `${field}.currency`,
        `must be the governor's currency ${this.host.currency}: amounts of different currencies never mix`,
        b.currency,
      );
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
    if ((b.period === undefined || b.period === 'total') && b.timeZone !== undefined) {
      throw new InvalidInputError(`${field}.timeZone`, 'only applies to a calendar period (day, week, month)', b.timeZone);
    }
    const info = this.host.setBudget(spec, change);
    this.forget(id);
    const extras: Extras = { alternatives: b.alternatives ?? [], onExhausted: b.onExhausted ?? 'refuse', maxWaitMs };
    this.extras.set(id, extras);
    if (extras.onExhausted === 'wait') this.waitBudgets++;
    return info;
  }

  private forget(id: string): void {
    const old = this.extras.get(id);
    if (old?.onExhausted === 'wait') this.waitBudgets--;
    this.extras.delete(id);
  }

  /** Set a budget's amount, keeping everything else. */
  private resize(id: string, units: bigint, change: HostChange): void {
    const info = this.host.getBudget(id) as HostBudgetInfo;
    this.host.setBudget({ ...specOf(info), amount: unitsToDecimal(units) }, change);
  }

  private async metrics(id: string, scope: Scope, createdAt: number): Promise<BudgetMetrics> {
    const st = (await this.host.status(scope)).find((s) => s.limit === id);
    if (st === undefined) throw new InvalidInputError('id', 'has no budget', id);
    const now = this.host.clock.now();
    const since = Math.max(createdAt, st.period?.startMs ?? createdAt);
    const elapsed = BigInt(Math.max(0, now - since));
    const usedUnits = toUnits(st.used, 'used');
    const rate = elapsed === 0n ? 0n : (2n * usedUnits * HOUR_MS + elapsed) / (2n * elapsed);
    return {
      initial: st.max,
      used: st.used,
      held: st.held,
      remaining: Decimal.max(st.max.minus(st.used), 0),
      usagePercent: st.usagePercent,
      consumptionPerHour: unitsToDecimal(rate),
      currency: st.currency ?? this.host.currency,
      period: st.period?.id,
    };
  }

  /** The agent's spend per day over the last `days` 24-hour spans ending now (idle days count as 0). */
  private async dailyTotals(agentId: string, now: number, days: number): Promise<Decimal[]> {
    const from = now - days * DAY_MS;
    const totals = Array.from({ length: days }, () => new Decimal(0));
    for (const h of await this.getUsageHistory(agentId, { from, to: now + 1 })) {
      const i = Math.min(days - 1, Math.floor((h.at - from) / DAY_MS));
      totals[i] = (totals[i] as Decimal).plus(h.amount);
    }
    return totals;
  }

  private alertOf(s: HostLimitStatus, threshold: number): BudgetAlert {
    return {
      budget: s.limit,
      scope: s.scope,
      threshold,
      usagePercent: s.usagePercent,
      spent: s.used.toFixed(),
      amount: s.max.toFixed(),
      remaining: Decimal.max(s.max.minus(s.used), 0).toFixed(),
      currency: s.currency ?? this.host.currency,
      hardLimit: s.enforcement === 'hard',
      period: s.period?.id,
      at: this.host.clock.now(),
    };
  }

  private alertKey(budget: string, scope: string, period: string | undefined): string {
    return `budgets|alerted|${budget}|${scope}|${period ?? 'total'}`;
  }

  private async sentThresholds(budget: string, scope: string, period: string | undefined): Promise<number[]> {
    const v = await this.host.store.getValue(this.alertKey(budget, scope, period));
    return v === undefined ? [] : (JSON.parse(v.value) as number[]);
  }

  /** Record the alert in the store (compare-and-set, so processes sharing a store send it once) and deliver it if new. */
  private async alertOnce(alert: BudgetAlert): Promise<boolean> {
    const key = this.alertKey(alert.budget, scopeKey(alert.scope), alert.period);
    for (;;) {
      const cur = await this.host.store.getValue(key);
      const sent = cur === undefined ? [] : (JSON.parse(cur.value) as number[]);
      if (sent.includes(alert.threshold)) return false;
      const r = await this.host.store.compareAndSet(key, cur?.version ?? 0, JSON.stringify([...sent, alert.threshold]));
      if (r.ok) break;
    }
    this.host.emit('budget.alert', alert);
    await Promise.all(
      [...this.channels].map(async (ch) => {
        try {
          await ch(alert);
        } catch (error) {
          this.host.emit('listener.error', { event: 'budget.alert', error });
        }
      }),
    );
    return true;
  }

  private track(p: Promise<unknown>): void {
    const t = p.then(undefined, (error: unknown) => this.host.emit('listener.error', { event: 'budgets', error }));
    this.pending.add(t);
    void t.finally(() => this.pending.delete(t));
  }
}

const BEHAVIOUR_KEYS: Record<string, true> = {
  currency: true,
  period: true,
  timeZone: true,
  hardLimit: true,
  thresholds: true,
  alternatives: true,
  onExhausted: true,
  maxWaitMs: true,
};

function specOf(info: HostBudgetInfo): HostBudgetSpec {
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

function behaviourOf(info: HostBudgetInfo, extras: Extras | undefined): BudgetBehaviour {
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

function percent(used: Decimal, max: Decimal): number {
  if (max.lte(0)) return used.gt(0) ? Infinity : 0;
  return Number(used.times(100).div(max).toDecimalPlaces(2, Decimal.ROUND_DOWN).toFixed());
}

function auditRecord(e: LedgerEntry): AuditRecord {
  const d = (e.data ?? {}) as Record<string, unknown>;
  const dec = (v: unknown): Decimal | null => (typeof v === 'string' ? new Decimal(v) : null);
  return {
    id: e.id,
    at: e.at,
    budget: String(d.limit),
    scope: e.scope,
    before: dec(d.before),
    after: dec(d.after),
    delta: new Decimal(typeof d.delta === 'string' ? d.delta : '0'),
    reason: String(d.reason ?? ''),
    action: typeof d.action === 'string' ? d.action : undefined,
    actor: typeof d.actor === 'string' ? d.actor : undefined,
    currency: e.currency,
  };
}
