/**
 * The `BudgetHost`: the small surface through which the BudgetCoordinator drives the
 * engine. The coordinator is a face of the engine's budget model, not a second budget
 * engine: pools and agents become `cost` limits set through the host, spending is read
 * back through it, and every change goes through the host's audit path. The governor
 * implements it; a test can implement it over anything.
 */
import type { Decimal } from 'decimal.js';
import type { CalendarPeriod, Clock, MoneyInput, Scope, ScopePattern } from '../core/index.js';
import type { LedgerPage, LedgerQuery, Store } from '../storage/index.js';
import type { BudgetAlert } from './alerts.js';
import type { BudgetReviewEvent } from './review.js';
import type { BudgetViolation } from './violations.js';

/** A money budget as the host sets it (the engine's `BudgetSpec`). */
export interface HostBudgetSpec {
  readonly id: string;
  readonly scope: ScopePattern;
  readonly amount: MoneyInput;
  readonly currency?: string | undefined;
  readonly period?: CalendarPeriod | undefined;
  readonly timeZone?: string | undefined;
  readonly hardLimit?: boolean | undefined;
  readonly thresholds?: readonly number[] | undefined;
}

/** Who changed a budget, why, and what kind of change it was: recorded in the audit trail. */
export interface HostChange {
  readonly reason?: string | undefined;
  readonly actor?: string | undefined;
  /** `set`, `allocate`, `rebalance`, `emergency`, `reset`, `top-up`, `update`, `removed`. */
  readonly action?: string | undefined;
}

/** A budget as set (the engine's `LimitInfo` of a `cost` limit). */
export interface HostBudgetInfo {
  readonly id: string;
  readonly scope: Scope;
  readonly meter: string;
  /** The amount, a decimal string. */
  readonly max: string;
  readonly enforcement: 'hard' | 'soft';
  readonly period: CalendarPeriod;
  readonly timeZone: string;
  readonly thresholds: readonly number[];
  readonly currency: string | undefined;
}

/** Where one budget stands for a scope (the engine's `LimitStatus`). */
export interface HostLimitStatus {
  readonly limit: string;
  readonly meter: string;
  readonly scope: Scope;
  readonly enforcement: 'hard' | 'soft';
  readonly max: Decimal;
  readonly used: Decimal;
  readonly held: Decimal;
  readonly remaining: Decimal;
  readonly usagePercent: number;
  readonly isOver: boolean;
  readonly currency: string | undefined;
  readonly period: { readonly id: string; readonly startMs: number; readonly endMs: number } | undefined;
}

/** The engine's `warning` event, as the coordinator reads it. */
export interface HostWarning {
  readonly limit: string;
  readonly meter: string;
  readonly scope: Scope;
  readonly used: string;
  readonly max: string;
  readonly threshold: number;
  readonly enforcement: 'hard' | 'soft';
  readonly period: string | undefined;
  readonly currency: string | undefined;
  readonly at: number;
}

/** The engine's `usage` event, as the coordinator reads it. */
export interface HostUsage {
  readonly scope: Scope;
  readonly cost: string;
  readonly at: number;
}

/** The engine's `budget.changed` event, as the coordinator reads it. */
export interface HostBudgetChanged {
  readonly limit: string;
  readonly meter: string;
  readonly after: string | null;
  readonly at: number;
}

/** What the coordinator listens to. */
export interface HostListenEvents {
  warning: HostWarning;
  usage: HostUsage;
  'budget.changed': HostBudgetChanged;
}

/** What the coordinator emits through the host's event bus. */
export interface HostEmitEvents {
  violation: BudgetViolation;
  'budget.alert': BudgetAlert;
  'budget.review': BudgetReviewEvent;
  'listener.error': { readonly event: string; readonly error: unknown };
  'store.error': { readonly operation: string; readonly error: unknown; readonly at: number };
}

/** The engine as the coordinator sees it. */
export interface BudgetHost {
  readonly store: Store;
  readonly clock: Clock;
  /** The currency every budget is in. */
  readonly currency: string;
  /** Default longest wait of a call in wait mode, ms. */
  readonly maxWaitMs: number;
  /** Set or replace (by id) a money budget, through the audit path. Throws `invalid_input`; nothing changes then. */
  setBudget(spec: HostBudgetSpec, change: HostChange): HostBudgetInfo;
  /** Remove a budget through the audit path; true when it existed. */
  removeBudget(id: string, change: HostChange): boolean;
  /** Set or replace (by id) a money budget loaded from the store: audited where it was changed, so not again here. */
  loadBudget(spec: HostBudgetSpec): HostBudgetInfo;
  /** Remove a budget deleted elsewhere, without an audit record; true when it existed. */
  unloadBudget(id: string): boolean;
  /** The budget (any `cost` limit) with this id. */
  getBudget(id: string): HostBudgetInfo | undefined;
  /** Where every money budget that applies to calls on `scope` stands now. */
  status(scope: Scope): Promise<HostLimitStatus[]>;
  queryLedger(query: LedgerQuery): Promise<LedgerPage>;
  on<K extends keyof HostListenEvents>(event: K, listener: (payload: HostListenEvents[K]) => unknown): () => void;
  emit<K extends keyof HostEmitEvents>(event: K, payload: HostEmitEvents[K]): void;
}
