/**
 * Pools and agents (seed 001) and the coordinator's other budgets (seed 004's workspace
 * and project budgets): create, read, update, delete, top up and reset. Each is a `cost`
 * budget in the engine on `{ pool }`, `{ agent }` or any scope, set through the host.
 */
import { Decimal } from 'decimal.js';
import {
  InvalidInputError,
  parseInput,
  scopeKey,
  toUnits,
  unitsToDecimal,
  validateId,
  validateScope,
  type MoneyInput,
  type Scope,
  type ScopePattern,
} from '../core/index.js';
import type { HostBudgetInfo } from './host.js';
import {
  agentPatchSchema,
  agentSchema,
  budgetSchema,
  poolPatchSchema,
  poolSchema,
  type AgentOptions,
  type CoordinatorBudgetOptions,
  type PoolOptions,
} from './options.js';
import { agentBudgetId, BEHAVIOUR_KEYS, behaviourOf, poolBudgetId, type Registry } from './registry.js';
import { validateServiceLevels } from './service-levels.js';
import type { AgentInfo, BudgetChange, PoolInfo } from './types.js';

/** Pools, agents and other coordinator budgets. */
export class Accounts {
  constructor(
    private readonly reg: Registry,
    /** Told when an agent is deleted, so per-agent state elsewhere goes with it. */
    private readonly onAgentDeleted: (id: string) => void,
  ) {}

  /** Create a pool: a budget on `{ pool: id }` that every agent of the pool draws from. */
  createPool(options: PoolOptions, change: BudgetChange = {}): PoolInfo {
    const o = parseInput(poolSchema, options, 'pool');
    const id = validateId(o.id ?? o.name, o.id === undefined ? 'pool.name' : 'pool.id');
    if (this.reg.findPool(id) !== undefined || this.reg.host.getBudget(poolBudgetId(id)) !== undefined)
      throw new InvalidInputError('pool.id', 'is already in use', id);
    if (o.workspace !== undefined) validateId(o.workspace, 'pool.workspace');
    if (o.project !== undefined) validateId(o.project, 'pool.project');
    const initial = unitsToDecimal(toUnits(o.initialBudget, 'pool.initialBudget'));
    this.reg.setCoordinated(poolBudgetId(id), { pool: id }, initial, o, 'pool', this.reg.change(change, 'set', 'pool created'));
    this.reg.pools.set(id, {
      id,
      name: o.name,
      priority: o.priority,
      metadata: { ...o.metadata },
      policy: o.policy ?? 'fixed',
      workspace: o.workspace,
      project: o.project,
      initialBudget: initial,
      createdAt: this.reg.host.clock.now(),
    });
    this.reg.touch(poolBudgetId(id));
    return this.getPool(id) as PoolInfo;
  }

  /** The pool with this id, or undefined. */
  getPool(id: string): PoolInfo | undefined {
    return this.reg.poolInfo(id);
  }

  /** Every pool, highest priority first (ties: creation order). */
  listPools(): PoolInfo[] {
    return [...this.reg.pools.values()].sort((a, b) => b.priority - a.priority).map((p) => this.getPool(p.id) as PoolInfo);
  }

  /** Change a pool's name, priority, metadata, policy or budget (`initialBudget` sets the budget in force). */
  updatePool(id: string, patch: Partial<Omit<PoolOptions, 'id'>>, change: BudgetChange = {}): PoolInfo {
    const p = this.reg.pool(id, 'id');
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
      const info = this.reg.host.getBudget(poolBudgetId(id)) as HostBudgetInfo;
      const amount =
        o.initialBudget === undefined ? new Decimal(info.max) : unitsToDecimal(toUnits(o.initialBudget, 'patch.initialBudget'));
      this.reg.setCoordinated(
        poolBudgetId(id),
        { pool: id },
        amount,
        { ...behaviourOf(info, this.reg.extras.get(info.id)), ...o },
        'patch',
        this.reg.change(change, 'update', 'pool updated'),
      );
    }
    if (o.name !== undefined) p.name = o.name;
    if (o.priority !== undefined) p.priority = o.priority;
    if (o.metadata !== undefined) p.metadata = { ...o.metadata };
    if (o.policy !== undefined) p.policy = o.policy;
    this.reg.touch(poolBudgetId(id));
    return this.getPool(id) as PoolInfo;
  }

  /** Delete an empty pool and its budget. Refused while agents draw from it. */
  deletePool(id: string, change: BudgetChange = {}): boolean {
    validateId(id, 'id');
    if (this.reg.findPool(id) === undefined) return false;
    const agents = this.reg.poolAgents(id);
    if (agents.length > 0) throw new InvalidInputError('id', `names a pool that still has agents (${agents.join(', ')})`, id);
    this.reg.host.removeBudget(poolBudgetId(id), this.reg.change(change, 'removed', 'pool deleted'));
    this.reg.forget(poolBudgetId(id));
    this.reg.pools.delete(id);
    this.reg.touchRemoved(poolBudgetId(id));
    return true;
  }

  /** Ids of the agents in a pool, in creation order. */
  getPoolAgents(poolId: string): string[] {
    return [...this.reg.agents.values()].filter((a) => a.pool === poolId).map((a) => a.id);
  }

  /** Create an agent: a budget on `{ agent: id }`, drawing from its pool's budget when it has one. */
  createAgent(options: AgentOptions, change: BudgetChange = {}): AgentInfo {
    const o = parseInput(agentSchema, options, 'agent');
    const id = validateId(o.id, 'agent.id');
    if (this.reg.findAgent(id) !== undefined || this.reg.host.getBudget(agentBudgetId(id)) !== undefined)
      throw new InvalidInputError('agent.id', 'is already in use', id);
    if (o.pool !== undefined) this.reg.pool(o.pool, 'agent.pool');
    if (o.pool !== undefined && o.currency !== undefined) {
      const pc = this.getPool(o.pool)?.currency;
      if (pc !== o.currency) throw new InvalidInputError('agent.currency', `must be its pool's currency ${pc}`, o.currency);
    }
    const levels = o.serviceLevels === undefined ? undefined : validateServiceLevels(o.serviceLevels, 'agent.serviceLevels');
    const initial = unitsToDecimal(toUnits(o.initialBudget, 'agent.initialBudget'));
    this.reg.setCoordinated(agentBudgetId(id), { agent: id }, initial, o, 'agent', this.reg.change(change, 'set', 'agent created'));
    this.reg.agents.set(id, {
      id,
      name: o.name ?? id,
      priority: o.priority,
      pool: o.pool,
      greediness: o.greediness,
      metadata: { ...o.metadata },
      initialBudget: initial,
      createdAt: this.reg.host.clock.now(),
    });
    if (levels !== undefined) this.reg.levels.set(id, levels);
    this.reg.touch(agentBudgetId(id));
    return this.getAgent(id) as AgentInfo;
  }

  /** The agent with this id, or undefined. */
  getAgent(id: string): AgentInfo | undefined {
    return this.reg.agentInfo(id);
  }

  /** Every agent (of one pool, if given), in creation order. */
  listAgents(poolId?: string): AgentInfo[] {
    return [...this.reg.agents.values()]
      .filter((a) => poolId === undefined || a.pool === poolId)
      .map((a) => this.getAgent(a.id) as AgentInfo);
  }

  /** Every agent id (seed 001's `get_all_agent_ids`). */
  getAllAgentIds(): string[] {
    return [...this.reg.agents.keys()];
  }

  /** Change an agent's name, priority, pool, greediness, metadata or budget behaviour. */
  updateAgent(
    id: string,
    patch: Partial<Omit<AgentOptions, 'id' | 'initialBudget' | 'serviceLevels'>>,
    change: BudgetChange = {},
  ): AgentInfo {
    const a = this.reg.agent(id, 'id');
    const o = parseInput(agentPatchSchema, patch, 'patch');
    if (o.pool !== undefined) this.reg.pool(o.pool, 'patch.pool');
    if (Object.keys(o).some((k) => k in BEHAVIOUR_KEYS)) {
      const info = this.reg.host.getBudget(agentBudgetId(id)) as HostBudgetInfo;
      this.reg.setCoordinated(
        agentBudgetId(id),
        { agent: id },
        new Decimal(info.max),
        { ...behaviourOf(info, this.reg.extras.get(info.id)), ...o },
        'patch',
        this.reg.change(change, 'update', 'agent updated'),
      );
    }
    if (o.name !== undefined) a.name = o.name;
    if (o.priority !== undefined) a.priority = o.priority;
    if (o.pool !== undefined) a.pool = o.pool;
    if (o.greediness !== undefined) a.greediness = o.greediness;
    if (o.metadata !== undefined) a.metadata = { ...o.metadata };
    this.reg.touch(agentBudgetId(id));
    return this.getAgent(id) as AgentInfo;
  }

  /** Delete an agent and its budget (its spending stays counted on its pool). */
  deleteAgent(id: string, change: BudgetChange = {}): boolean {
    validateId(id, 'id');
    if (this.reg.findAgent(id) === undefined) return false;
    this.reg.host.removeBudget(agentBudgetId(id), this.reg.change(change, 'removed', 'agent deleted'));
    this.reg.forget(agentBudgetId(id));
    this.reg.agents.delete(id);
    this.reg.levels.delete(id);
    this.reg.touchRemoved(agentBudgetId(id));
    this.onAgentDeleted(id);
    return true;
  }

  /** The scope to guard an agent's calls with: its workspace, project, pool and id. */
  scopeOf(agentId: string): Scope {
    const a = this.reg.agent(agentId, 'agentId');
    const p = a.pool === undefined ? undefined : this.reg.pools.get(a.pool);
    const s: Record<string, string> = {};
    if (p?.workspace !== undefined) s.workspace = p.workspace;
    if (p?.project !== undefined) s.project = p.project;
    if (a.pool !== undefined) s.pool = a.pool;
    s.agent = agentId;
    return Object.freeze(s);
  }

  /** The agent's budget in force for the period (seed 001's `get_budget`). */
  getBudget(agentId: string): Decimal {
    this.reg.agent(agentId, 'agentId');
    return new Decimal((this.reg.host.getBudget(agentBudgetId(agentId)) as HostBudgetInfo).max);
  }

  /** Set the agent's budget (seed 001's `update_budget`), audited with `reason`. */
  updateBudget(agentId: string, amount: MoneyInput, reason?: string | BudgetChange): AgentInfo {
    this.reg.agent(agentId, 'agentId');
    const units = toUnits(amount, 'amount');
    const change = typeof reason === 'string' ? { reason } : reason;
    this.reg.resize(agentBudgetId(agentId), units, this.reg.change(change ?? {}, 'update', 'budget updated'));
    return this.getAgent(agentId) as AgentInfo;
  }

  /** Add to an agent's or a pool's budget. */
  topUp(target: { readonly agent: string } | { readonly pool: string }, amount: MoneyInput, change: BudgetChange = {}): Decimal {
    const id = this.reg.targetId(target);
    const add = toUnits(amount, 'amount', { allowZero: false });
    const now = toUnits((this.reg.host.getBudget(id) as HostBudgetInfo).max, 'max');
    this.reg.resize(id, now + add, this.reg.change(change, 'top-up', 'top-up'));
    return unitsToDecimal(now + add);
  }

  /** Put an agent's budget back to its initial amount. */
  resetBudget(agentId: string, change: BudgetChange = {}): AgentInfo {
    const a = this.reg.agent(agentId, 'agentId');
    this.reg.resize(
      agentBudgetId(agentId),
      toUnits(a.initialBudget, 'initialBudget'),
      this.reg.change(change, 'reset', 'reset to the initial budget'),
    );
    return this.getAgent(agentId) as AgentInfo;
  }

  /** The agent's priority, 1–10 (seed 001's `get_agent_priority`). */
  getAgentPriority(agentId: string): number {
    return this.reg.agent(agentId, 'agentId').priority;
  }

  /** Metadata stored with an agent (seed 001's `get_agent_metadata`). */
  getAgentMetadata(agentId: string): { readonly [key: string]: unknown } {
    return this.reg.agent(agentId, 'agentId').metadata;
  }

  /** Set (or replace, by id) a budget on any scope, e.g. a workspace's or a project's monthly budget (seed 004). */
  setBudget(options: CoordinatorBudgetOptions, change: BudgetChange = {}): HostBudgetInfo {
    const o = parseInput(budgetSchema, options, 'budget');
    const scope = validateScope(o.scope, 'budget.scope', true) as ScopePattern;
    const amount = unitsToDecimal(toUnits(o.amount, 'budget.amount'));
    const id = o.id ?? `budget:${scopeKey(scope) || '*'}`;
    validateId(id, 'budget.id');
    return this.reg.setCoordinated(id, scope, amount, o, 'budget', this.reg.change(change, undefined, undefined));
  }

  /** Remove a budget set with {@link setBudget}. */
  removeBudget(id: string, change: BudgetChange = {}): boolean {
    validateId(id, 'id');
    if (this.reg.isCoordinated(id)) throw new InvalidInputError('id', 'names a pool or agent budget: delete the pool or agent instead', id);
    const removed = this.reg.host.removeBudget(id, this.reg.change(change, 'removed', undefined));
    this.reg.forget(id);
    return removed;
  }
}
