/**
 * The governor's typed events. Payloads are plain objects; amounts are decimal strings
 * in the meter's unit (money in the limit's currency), so every payload serializes.
 */
import type { Scope } from '../core/index.js';
import type { LedgerEntry } from '../storage/index.js';
import type { BreakerEvent } from '../breakers/index.js';
import type { PricingWarning } from '../costs/index.js';
import type { AlertSeverity, BudgetAlert, BudgetReviewEvent, ViolationType } from '../budgets/index.js';

/** A governed call settled (or failed after reporting usage). */
export interface UsageEvent {
  readonly reservationId: string;
  readonly scope: Scope;
  readonly status: LedgerEntry['status'];
  readonly usage: { readonly [meter: string]: string };
  readonly cost: string;
  readonly currency: string;
  readonly estimated: boolean;
  readonly durationMs: number;
  readonly entry: LedgerEntry;
  readonly at: number;
  /** Set when `gov.tracker` released a pid: the event carries its final usage. */
  readonly pid?: string | undefined;
}

/** A soft threshold was crossed: fires once per threshold per period per scope. */
export interface WarningEvent {
  readonly limit: string;
  readonly meter: string;
  /** The scope the limit counts on (wildcards filled in). */
  readonly scope: Scope;
  readonly used: string;
  readonly max: string;
  /** The threshold crossed, in percent of `max`. */
  readonly threshold: number;
  readonly enforcement: 'hard' | 'soft';
  /** The calendar period instance (`2026-11`), if the limit has one. */
  readonly period: string | undefined;
  readonly currency: string | undefined;
  readonly at: number;
  /** Set when `gov.tracker` raised it from its own methods (`recordUsage`, the timeouts). */
  readonly pid?: string | undefined;
}

/** A hard limit refused a call, settled usage went past a hard cap, or a budget monitor reported one (`reported`). */
export interface ViolationEvent {
  readonly type: 'refused' | 'exceeded' | 'reported';
  readonly code: string;
  readonly limit: string;
  readonly meter: string;
  readonly scope: Scope;
  readonly requested: string;
  readonly available: string;
  readonly used: string;
  readonly max: string;
  readonly retryAfterMs: number | undefined;
  readonly period: string | undefined;
  readonly at: number;
  /** Set on `reported` violations (seed 001's monitors): the kind, severity, agent, message and details. */
  readonly violationType?: ViolationType | undefined;
  readonly severity?: AlertSeverity | undefined;
  readonly agentId?: string | undefined;
  readonly message?: string | undefined;
  readonly details?: { readonly [key: string]: unknown } | undefined;
  /** Set when `gov.tracker` raised it from its own methods (`recordUsage`, the timeouts). */
  readonly pid?: string | undefined;
}

/** A limit or budget was set, changed or removed: the audit trail. */
export interface BudgetChangedEvent {
  readonly limit: string;
  readonly meter: string;
  readonly scope: Scope;
  /** The cap before (`null` when newly set). */
  readonly before: string | null;
  /** The cap after (`null` when removed). */
  readonly after: string | null;
  readonly delta: string;
  readonly reason: string;
  readonly actor: string | undefined;
  /** What kind of change: `set`, `update`, `removed`, or the coordinator's `allocate`, `rebalance`, `emergency`, `reset`, `top-up`. */
  readonly action: string;
  readonly currency: string | undefined;
  readonly at: number;
}

/** A breaker changed state: defined by the breakers room, which emits it. */
export type { BreakerEvent };

/** The store failed an operation. */
export interface StoreErrorEvent {
  readonly operation: string;
  readonly error: unknown;
  readonly at: number;
}

/** A listener threw. */
export interface ListenerErrorEvent {
  readonly event: string;
  readonly error: unknown;
}

/** A call was priced at the fallback price, or could not be priced and was charged its estimate. */
export type { PricingWarning as PricingWarningEvent } from '../costs/index.js';

/** Every event a governor emits, by name. */
export interface GovernorEvents {
  usage: UsageEvent;
  warning: WarningEvent;
  violation: ViolationEvent;
  'budget.changed': BudgetChangedEvent;
  /** A budget threshold reached, sent once per period per budget (seed 004). */
  'budget.alert': BudgetAlert;
  /** The findings of a budget review (seed 001). */
  'budget.review': BudgetReviewEvent;
  'breaker.open': BreakerEvent;
  'breaker.halfOpen': BreakerEvent;
  'breaker.close': BreakerEvent;
  'store.error': StoreErrorEvent;
  'listener.error': ListenerErrorEvent;
  'pricing.warning': PricingWarning;
}
