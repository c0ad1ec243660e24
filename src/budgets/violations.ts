/**
 * Violations reported by budget monitors (seed 001): a typed kind and severity, delivered
 * through the governor's `violation` event with `type: 'reported'`.
 */
import type { Scope } from '../core/index.js';

/** What kind of budget violation a monitor reports (seed 001's `ViolationType`). */
export const ViolationType = Object.freeze({
  /** Spending passed a spending limit set with `setSpendingLimit`. */
  BUDGET_LIMIT_EXCEEDED: 'BUDGET_LIMIT_EXCEEDED',
  /** The remaining budget fell to the low-budget threshold (15 % by default). */
  LOW_BUDGET: 'LOW_BUDGET',
} as const);
/** A {@link ViolationType} value. */
export type ViolationType = (typeof ViolationType)[keyof typeof ViolationType];

/** How serious a violation is (seed 001's `AlertSeverity`). */
export const AlertSeverity = Object.freeze({
  LOW: 'LOW',
  MEDIUM: 'MEDIUM',
  HIGH: 'HIGH',
  CRITICAL: 'CRITICAL',
} as const);
/** An {@link AlertSeverity} value. */
export type AlertSeverity = (typeof AlertSeverity)[keyof typeof AlertSeverity];

/** What a monitor reports: the seed's `report_violation` arguments. */
export interface ViolationReport {
  readonly violationType: ViolationType;
  readonly severity: AlertSeverity;
  readonly message: string;
  readonly details?: { readonly [key: string]: unknown } | undefined;
}

/** A reported violation as the `violation` event carries it (`type: 'reported'`). */
export interface BudgetViolation {
  readonly type: 'reported';
  /** The violation type in lower case (`budget_limit_exceeded`, `low_budget`). */
  readonly code: string;
  readonly violationType: ViolationType;
  readonly severity: AlertSeverity;
  readonly agentId: string | undefined;
  readonly message: string;
  readonly details: { readonly [key: string]: unknown };
  /** The agent's budget id. */
  readonly limit: string;
  readonly meter: string;
  readonly scope: Scope;
  /** Nothing was asked: a monitor looks at what was spent. */
  readonly requested: string;
  /** What the agent's budget has left. */
  readonly available: string;
  /** What the agent has spent in the current period. */
  readonly used: string;
  /** The agent's budget. */
  readonly max: string;
  readonly retryAfterMs: undefined;
  readonly period: string | undefined;
  readonly at: number;
}
