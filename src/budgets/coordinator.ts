/**
 * Seed 001's `BudgetCoordinator` (with seeds 000 and 004), the face `gov.budgets`. It is
 * a face of the engine's budget model: a pool is a `cost` budget on `{ pool }`, an agent
 * one on `{ agent }`, and every amount lives in the engine's counters, so the one atomic
 * reserve of a governed call holds the estimate on the agent, its pool and every
 * workspace or project budget at once, all or none. This class only wires the parts:
 * accounts (pools, agents), metrics, policies, emergency, monitors, thresholds, checks,
 * audit, reviews, service levels and wait mode each live in their own file.
 */
import type { Decimal } from 'decimal.js';
import { InvalidInputError, isPromiseLike, parseDuration, type BudgetAlternative, type MoneyInput, type Scope } from '../core/index.js';
import { Accounts } from './accounts.js';
import type { AlertChannel, BudgetAlert } from './alerts.js';
import type { AllocationResult, GreedinessAllocation, GreedinessTotals } from './allocation.js';
import { getAuditLog } from './audit.js';
import { Checks } from './checks.js';
import { Emergency } from './emergency.js';
import type { BudgetHost, HostBudgetInfo } from './host.js';
import { Metrics } from './metrics.js';
import { Monitors } from './monitors.js';
import type { AgentOptions, CoordinatorBudgetOptions, PoolOptions, PoolPolicy } from './options.js';
import { Persistence } from './persistence.js';
import { Policies } from './policies.js';
import { Registry } from './registry.js';
import { Reviews, type ReviewFinding } from './review.js';
import { AgentServiceLevels, DEFAULT_SERVICE_LEVELS, type ServiceLevel, type ServiceLevels } from './service-levels.js';
import { Thresholds } from './thresholds.js';
import type {
  AgentInfo,
  AgentMetrics,
  AuditQuery,
  AuditRecord,
  BudgetChange,
  BudgetCoordinatorOptions,
  BudgetMonitor,
  BudgetStatus,
  CanExecuteResult,
  EmergencyResult,
  PoolInfo,
  PoolMetrics,
} from './types.js';
import type { BudgetViolation, ViolationReport } from './violations.js';
import { WaitMode } from './wait.js';

export { agentBudgetId, poolBudgetId } from './registry.js';
export type {
  AgentInfo,
  AgentMetrics,
  AuditQuery,
  AuditRecord,
  BudgetChange,
  BudgetCoordinatorOptions,
  BudgetMetrics,
  BudgetMonitor,
  BudgetStatus,
  CanExecuteResult,
  EmergencyResult,
  PoolInfo,
  PoolMetrics,
} from './types.js';

/** Pools, agents and the budget policies of seeds 000, 001 and 004, over the engine's budgets. */
export class BudgetCoordinator {
  private readonly reg: Registry;
  private readonly accounts: Accounts;
  private readonly metrics: Metrics;
  private readonly policies: Policies;
  private readonly emergency: Emergency;
  private readonly monitors: Monitors;
  private readonly thresholds: Thresholds;
  private readonly checks: Checks;
  private readonly reviews: Reviews;
  private readonly levels: AgentServiceLevels;
  private readonly wait: WaitMode;
  private readonly pending = new Set<Promise<unknown>>();

  constructor(
    private readonly host: BudgetHost,
    options: BudgetCoordinatorOptions = {},
  ) {
    if (options === null || typeof options !== 'object') throw new InvalidInputError('options', 'must be an object', options);
    const poll = options.waitPollMs === undefined ? 1000 : parseDuration(options.waitPollMs, 'options.waitPollMs');
    this.reg = new Registry(host);
    this.thresholds = new Thresholds(this.reg, options.alertChannels ?? []);
    this.metrics = new Metrics(this.reg);
    this.monitors = new Monitors(this.reg, this.metrics);
    this.accounts = new Accounts(this.reg, (id) => this.monitors.forget(id));
    this.policies = new Policies(this.reg, this.metrics);
    this.emergency = new Emergency(this.reg, this.metrics, options.emergencyCreatesMoney === true);
    this.checks = new Checks(this.reg, this.thresholds);
    this.reviews = new Reviews(this.reg, this.metrics);
    this.levels = new AgentServiceLevels(this.reg, this.metrics);
    this.wait = new WaitMode(this.reg, poll, () => this.refresh());
    if (options.persist !== false) {
      const every = options.refreshMs === undefined ? 1000 : parseDuration(options.refreshMs, 'options.refreshMs');
      this.reg.persist = new Persistence(
        this.reg,
        every,
        { loaded: () => this.wait.waits.wake(), agentRemoved: (id) => this.monitors.forget(id) },
        (p) => this.track(p, 'store'),
      );
    }
    host.on('warning', (w) => {
      const sent = this.thresholds.onWarning(w);
      if (sent !== undefined) this.track(sent);
    });
    host.on('usage', (u) => {
      this.wait.waits.wake();
      const agent = u.scope.agent;
      if (agent !== undefined && this.monitors.watches(agent)) this.track(this.monitors.checkMonitors(agent));
    });
    host.on('budget.changed', () => this.wait.waits.wake());
  }

  // ---- pools and agents (accounts.ts) ---------------------------------------------------

  /** Create a pool: a budget on `{ pool: id }` that every agent of the pool draws from. */
  createPool(options: PoolOptions, change: BudgetChange = {}): PoolInfo {
    return this.accounts.createPool(options, change);
  }

  /** The pool with this id, or undefined. */
  getPool(id: string): PoolInfo | undefined {
    return this.accounts.getPool(id);
  }

  /** Every pool, highest priority first (ties: creation order). */
  listPools(): PoolInfo[] {
    return this.accounts.listPools();
  }

  /** Change a pool's name, priority, metadata, policy or budget (`initialBudget` sets the budget in force). */
  updatePool(id: string, patch: Partial<Omit<PoolOptions, 'id'>>, change: BudgetChange = {}): PoolInfo {
    return this.accounts.updatePool(id, patch, change);
  }

  /** Delete an empty pool and its budget. Refused while agents draw from it. */
  deletePool(id: string, change: BudgetChange = {}): boolean {
    return this.accounts.deletePool(id, change);
  }

  /** Ids of the agents in a pool, in creation order. */
  getPoolAgents(poolId: string): string[] {
    return this.reg.poolAgents(poolId);
  }

  /** Create an agent: a budget on `{ agent: id }`, drawing from its pool's budget when it has one. */
  createAgent(options: AgentOptions, change: BudgetChange = {}): AgentInfo {
    return this.accounts.createAgent(options, change);
  }

  /** The agent with this id, or undefined. */
  getAgent(id: string): AgentInfo | undefined {
    return this.accounts.getAgent(id);
  }

  /** Every agent (of one pool, if given), in creation order. */
  listAgents(poolId?: string): AgentInfo[] {
    return this.accounts.listAgents(poolId);
  }

  /** Every agent id (seed 001's `get_all_agent_ids`). */
  getAllAgentIds(): string[] {
    return this.accounts.getAllAgentIds();
  }

  /** Change an agent's name, priority, pool, greediness, metadata or budget behaviour. */
  updateAgent(
    id: string,
    patch: Partial<Omit<AgentOptions, 'id' | 'initialBudget' | 'serviceLevels'>>,
    change: BudgetChange = {},
  ): AgentInfo {
    return this.accounts.updateAgent(id, patch, change);
  }

  /** Delete an agent and its budget (its spending stays counted on its pool). */
  deleteAgent(id: string, change: BudgetChange = {}): boolean {
    return this.accounts.deleteAgent(id, change);
  }

  /** The scope to guard an agent's calls with: its workspace, project, pool and id. */
  scopeOf(agentId: string): Scope {
    return this.accounts.scopeOf(agentId);
  }

  /** The agent's budget in force for the period (seed 001's `get_budget`). */
  getBudget(agentId: string): Decimal {
    return this.accounts.getBudget(agentId);
  }

  /** Set the agent's budget (seed 001's `update_budget`), audited with `reason`. */
  updateBudget(agentId: string, amount: MoneyInput, reason?: string | BudgetChange): AgentInfo {
    return this.accounts.updateBudget(agentId, amount, reason);
  }

  /** Add to an agent's or a pool's budget; returns the new budget. */
  topUp(target: { readonly agent: string } | { readonly pool: string }, amount: MoneyInput, change: BudgetChange = {}): Decimal {
    return this.accounts.topUp(target, amount, change);
  }

  /** Put an agent's budget back to its initial amount. */
  resetBudget(agentId: string, change: BudgetChange = {}): AgentInfo {
    return this.accounts.resetBudget(agentId, change);
  }

  /** The agent's priority, 1–10 (seed 001's `get_agent_priority`). */
  getAgentPriority(agentId: string): number {
    return this.accounts.getAgentPriority(agentId);
  }

  /** Metadata stored with an agent (seed 001's `get_agent_metadata`). */
  getAgentMetadata(agentId: string): { readonly [key: string]: unknown } {
    return this.accounts.getAgentMetadata(agentId);
  }

  /** Set (or replace, by id) a budget on any scope, e.g. a workspace's or a project's monthly budget (seed 004). */
  setBudget(options: CoordinatorBudgetOptions, change: BudgetChange = {}): HostBudgetInfo {
    return this.accounts.setBudget(options, change);
  }

  /** Remove a budget set with {@link setBudget}. */
  removeBudget(id: string, change: BudgetChange = {}): boolean {
    return this.accounts.removeBudget(id, change);
  }

  // ---- metrics (metrics.ts) -------------------------------------------------------------

  /** Seed 001's agent metrics: initial, used, remaining, usage percent, consumption rate. */
  getAgentMetrics(agentId: string): Promise<AgentMetrics> {
    return this.metrics.getAgentMetrics(agentId);
  }

  /** Seed 001's pool metrics, with what is promised to agents and what is left unallocated. */
  getPoolMetrics(poolId: string): Promise<PoolMetrics> {
    return this.metrics.getPoolMetrics(poolId);
  }

  /** Metrics of every agent, by id. */
  getAllAgentMetrics(): Promise<Record<string, AgentMetrics>> {
    return this.metrics.getAllAgentMetrics();
  }

  /** Metrics of every pool, by id. */
  getAllPoolMetrics(): Promise<Record<string, PoolMetrics>> {
    return this.metrics.getAllPoolMetrics();
  }

  /** The agent's settled calls (cost charged) from `from` to `to` (epoch ms), oldest first, from the ledger. */
  getUsageHistory(
    agentId: string,
    range: { readonly from?: number; readonly to?: number } = {},
  ): Promise<{ at: number; amount: Decimal }[]> {
    return this.metrics.getUsageHistory(agentId, range);
  }

  // ---- allocation policies (policies.ts) and emergency (emergency.ts) -------------------

  /**
   * Run a pool's allocation policy (or `strategy`) over its agents and apply it, audited:
   * `fixed` puts each agent back to its initial budget; `dynamic` sets each to its average
   * daily spend over the last 7 days × 1.2, never below its initial budget; `priority`,
   * `greediness` and `rebalance` share the pool's remaining budget out as the agents'
   * remaining budgets (an agent's budget becomes what it spent plus its share).
   */
  allocate(poolId: string, options: BudgetChange & { readonly strategy?: PoolPolicy | undefined } = {}): Promise<AllocationResult> {
    return this.policies.allocate(poolId, options);
  }

  /** Rebalance a pool's remaining budget among its agents (seed 001: 70 % priority, 30 % recent usage). */
  rebalance(poolId: string, change: BudgetChange = {}): Promise<AllocationResult> {
    return this.policies.allocate(poolId, { ...change, strategy: 'rebalance' });
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
    return this.policies.applyGreediness(projects, totals, options);
  }

  /**
   * Seed 001's emergency allocation: priority >= 7 is approved in full, a reason containing
   * "critical" at half, anything else denied. The grant comes out of what the agent's pool
   * has unallocated and is cut to it, unless money creation is allowed (then the pool's
   * budget grows by the shortfall). An agent without a pool gets nothing unless allowed.
   */
  requestEmergencyAllocation(
    agentId: string,
    amount: MoneyInput,
    reason: string,
    options: { readonly actor?: string | undefined; readonly createMoney?: boolean | undefined } = {},
  ): Promise<EmergencyResult> {
    return this.emergency.requestEmergencyAllocation(agentId, amount, reason, options);
  }

  // ---- monitors and violations (monitors.ts) --------------------------------------------

  /** Run `monitor` after each settled call of the agent; a returned report becomes a `violation` event. Returns a disposer. */
  registerBudgetMonitor(agentId: string, monitor: BudgetMonitor): () => void {
    return this.monitors.registerBudgetMonitor(agentId, monitor);
  }

  /** Seed 001's spending limit: report `BUDGET_LIMIT_EXCEEDED` (MEDIUM) when the agent's spending passes `limit`, once per crossing. */
  setSpendingLimit(agentId: string, limit: MoneyInput): () => void {
    return this.monitors.setSpendingLimit(agentId, limit);
  }

  /** Seed 001's low-budget alerts: every agent reports `LOW_BUDGET` when at most `thresholdPercent` (15) of its budget is left, once per dip. */
  setupLowBudgetAlerts(thresholdPercent = 15): void {
    this.monitors.setupLowBudgetAlerts(thresholdPercent);
  }

  /** Deliver a violation for an agent as a `violation` event; returns the payload. */
  reportViolation(agentId: string, report: ViolationReport, metrics?: AgentMetrics): Promise<BudgetViolation> {
    return this.monitors.reportViolation(agentId, report, metrics);
  }

  /** Run the agent's monitors (and the low-budget check) now; returns the violations reported. */
  checkMonitors(agentId: string): Promise<BudgetViolation[]> {
    return this.monitors.checkMonitors(agentId);
  }

  // ---- thresholds and alerts (thresholds.ts), checks (checks.ts), audit (audit.ts) -------

  /** Add an alert channel; returns a disposer. */
  addAlertChannel(channel: AlertChannel): () => void {
    return this.thresholds.addAlertChannel(channel);
  }

  /**
   * Seed 004's `check_and_alert`: for every budget on `scope`'s chain, send each threshold
   * reached and not yet sent in this period to every channel. Returns the alerts sent.
   */
  checkAndAlert(scope: Scope): Promise<BudgetAlert[]> {
    return this.thresholds.checkAndAlert(scope);
  }

  /**
   * Seed 004's `can_execute`: would a call costing `estimatedCost` fit every budget on
   * `scope`'s chain now? Soft budgets admit and warn; a hard one refuses, naming itself
   * and its alternatives. Nothing is held: the guarded call itself reserves atomically.
   */
  canExecute(scope: Scope, estimatedCost: MoneyInput): Promise<CanExecuteResult> {
    return this.checks.canExecute(scope, estimatedCost);
  }

  /** Seed 004's budget status of the budget set on exactly this scope (the tightest, if several). */
  getBudgetStatus(scope: Scope): Promise<BudgetStatus> {
    return this.checks.getBudgetStatus(scope);
  }

  /** The audit log: every change of a budget (set, allocate, rebalance, emergency, reset, top-up), oldest first. */
  getAuditLog(query: AuditQuery = {}): Promise<{ records: AuditRecord[]; next: string | undefined }> {
    return getAuditLog(this.host, query);
  }

  // ---- reviews (review.ts) --------------------------------------------------------------

  /** Run the seed's review now: agents under 10 % used or under 10 % left, pools under 20 % left. Emits `budget.review`. */
  review(): Promise<ReviewFinding[]> {
    return this.reviews.review();
  }

  /** Run {@link review} every `every` on the clock (its timer never keeps the process alive). Returns a stopper. */
  scheduleReview(options: { readonly every: number | string }): { stop(): void } {
    return this.reviews.scheduleReview(options);
  }

  /** Stop every scheduled review. */
  stop(): void {
    this.reviews.stop();
  }

  /** Resolve once the background work started by events (alerts, monitors, writes to the store) has finished. */
  async idle(): Promise<void> {
    await this.reg.persist?.flush();
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  // ---- the shared registry (persistence.ts) ---------------------------------------------

  /**
   * Write this process's pending changes of pools, agents and service levels to the store
   * and load every change made by other governors over the same store. Unknown ids load
   * on first use by themselves (at once on a synchronous store such as MemoryStore), and
   * governed calls reload changes every `refreshMs`; call this at start-up on Redis, before
   * listing pools or agents, or to see another process's change at once.
   */
  async sync(): Promise<void> {
    // Let writes queued in this turn (this or another governor in the process) land first.
    await Promise.resolve();
    await this.reg.persist?.sync();
  }

  /**
   * Internal (pipeline hook): reload the shared registry if `scope` names a pool or agent
   * this process does not know, or `refreshMs` has passed since the last load. Undefined when there is nothing to wait for (always on a synchronous store);
   * never rejects: a store fault is reported as `store.error` and the call goes on.
   */
  refresh(scope?: Scope, now?: number): Promise<void> | undefined {
    const persist = this.reg.persist;
    if (persist === undefined) return undefined;
    let r: void | PromiseLike<void>;
    try {
      r = scope === undefined ? persist.refresh(false) : persist.refreshFor(scope, now);
    } catch (error) {
      this.storeError(error);
      return undefined;
    }
    return isPromiseLike(r) ? Promise.resolve(r).then(undefined, (error: unknown) => this.storeError(error)) : undefined;
  }

  // ---- service levels (service-levels.ts) -----------------------------------------------

  /** Configure an agent's service levels (default: the seed's full / standard / minimal / emergency). */
  setServiceLevels(agentId: string, levels: ServiceLevels = DEFAULT_SERVICE_LEVELS): void {
    this.levels.setServiceLevels(agentId, levels);
  }

  /** The agent's current service level, from the share of its budget left. */
  getServiceLevel(agentId: string): Promise<ServiceLevel> {
    return this.levels.getServiceLevel(agentId);
  }

  /** Internal (pipeline hook): set `ctx.serviceLevel` on an admitted call of an agent with service levels. */
  attachServiceLevel(r: { readonly scope: Scope; serviceLevel: ServiceLevel | undefined }): Promise<void> | undefined {
    return this.levels.attachServiceLevel(r);
  }

  // ---- refusals and wait mode (pipeline hooks, wait.ts) ---------------------------------

  /** Cheaper options configured on a budget (for its `BudgetExceededError`). */
  alternativesFor(budgetId: string): readonly BudgetAlternative[] {
    return this.checks.alternativesFor(budgetId);
  }

  /** True when some budget is in wait mode: the pipeline then passes its admissions through {@link admitWaiting}. */
  get waiting(): boolean {
    return this.reg.waiting;
  }

  /**
   * Internal (pipeline hook): when `first` is a refusal by a budget in wait mode, wait for
   * a top-up, a settle, a release or the period's reset and admit again with `again`,
   * until the deadline; then return the last refusal. Anything else passes through unchanged.
   */
  admitWaiting<T>(
    first: T | PromiseLike<T>,
    again: () => T | PromiseLike<T>,
    maxWaitMs: number | undefined,
    signal: AbortSignal | undefined,
  ): T | Promise<T> {
    return this.wait.admitWaiting(first, again, maxWaitMs, signal);
  }

  /** Internal (pipeline hook): a hold was released; once the store has it back, wake the calls waiting on a budget. */
  released<T>(done: T | PromiseLike<T>): T | PromiseLike<T> {
    if (!this.reg.waiting) return done;
    if (!isPromiseLike(done)) {
      this.wait.waits.wake();
      return done;
    }
    return Promise.resolve(done).then((v) => {
      this.wait.waits.wake();
      return v;
    });
  }

  private storeError(error: unknown): void {
    this.host.emit('store.error', { operation: 'budgets.registry', error, at: this.host.clock.now() });
  }

  private track(p: Promise<unknown>, kind: 'listener' | 'store' = 'listener'): void {
    const t = p.then(undefined, (error: unknown) =>
      kind === 'store' ? this.storeError(error) : this.host.emit('listener.error', { event: 'budgets', error }),
    );
    this.pending.add(t);
    void t.finally(() => this.pending.delete(t));
  }
}
