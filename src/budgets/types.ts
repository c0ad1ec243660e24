/** The public shapes of `gov.budgets`: what its methods take and return. */
import type { Decimal } from 'decimal.js';
import type { BudgetAlternative, Scope } from '../core/index.js';
import type { AlertChannel } from './alerts.js';
import type { PoolPolicy } from './options.js';
import type { ViolationReport } from './violations.js';

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
  /**
   * Share pools, agents and service levels through the store, so governors over one store
   * see the same ones (default true). See {@link BudgetCoordinator.sync}.
   */
  readonly persist?: boolean | undefined;
  /** How often a governed call reloads the shared registry when it changed elsewhere (default `'1s'`). */
  readonly refreshMs?: number | string | undefined;
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
