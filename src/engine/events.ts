/**
 * The governor's typed events. Payloads are plain objects; amounts are decimal strings
 * in the meter's unit (money in the limit's currency), so every payload serializes.
 */
import type { Scope } from '../core/index.js';
import type { LedgerEntry } from '../storage/index.js';
import type { BreakerEvent } from '../breakers/index.js';

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

/** A hard limit refused a call, or settled usage went past a hard cap. */
export interface ViolationEvent {
  readonly type: 'refused' | 'exceeded';
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

/** Every event a governor emits, by name. */
export interface GovernorEvents {
  usage: UsageEvent;
  warning: WarningEvent;
  violation: ViolationEvent;
  'budget.changed': BudgetChangedEvent;
  'breaker.open': BreakerEvent;
  'breaker.halfOpen': BreakerEvent;
  'breaker.close': BreakerEvent;
  'store.error': StoreErrorEvent;
  'listener.error': ListenerErrorEvent;
}
