/**
 * The events a tracker raises. Their payloads have the shape of the governor's
 * `warning`, `violation` and `usage` events (plus the `pid`), so `gov.tracker` reports on
 * the governor's one event bus; a standalone tracker hands them to its `onEvent`.
 */
import type { Scope } from '../core/index.js';
import type { LedgerEntry } from '../storage/index.js';

/** A quota field reached the warning threshold (once per field), or the soft timeout passed. */
export interface TrackerWarningEvent {
  /** `tracker.<quota field>`, e.g. `tracker.maxLlmCalls`, `tracker.softTimeoutSeconds`. */
  readonly limit: string;
  readonly meter: string;
  /** `{ agent: pid }` (or `{ execution: pid }`, per the tracker's level). */
  readonly scope: Scope;
  readonly used: string;
  readonly max: string;
  /** Percent of `max` the warning marks (80 by default; soft/hard × 100 for the soft timeout). */
  readonly threshold: number;
  readonly enforcement: 'hard' | 'soft';
  readonly period: undefined;
  readonly currency: string | undefined;
  readonly at: number;
  readonly pid: string;
}

/** Recorded usage went past a hard quota field, or the pid's time ran out. */
export interface TrackerViolationEvent {
  readonly type: 'exceeded';
  readonly code: string;
  readonly limit: string;
  readonly meter: string;
  readonly scope: Scope;
  readonly requested: string;
  readonly available: string;
  readonly used: string;
  readonly max: string;
  readonly retryAfterMs: undefined;
  readonly period: undefined;
  readonly at: number;
  readonly pid: string;
}

/** A pid was released: its final usage (also appended to the ledger as a `tracker.release` entry). */
export interface TrackerUsageEvent {
  /** The id of the ledger entry. */
  readonly reservationId: string;
  readonly scope: Scope;
  readonly status: 'ok';
  /** The final usage per field, as decimal strings. */
  readonly usage: { readonly [field: string]: string };
  /** Money spent, a decimal string. */
  readonly cost: string;
  readonly currency: string;
  readonly estimated: false;
  /** Time from allocation to release. */
  readonly durationMs: number;
  readonly entry: LedgerEntry;
  readonly at: number;
  readonly pid: string;
}

/** The tracker's events by name. */
export interface TrackerEvents {
  warning: TrackerWarningEvent;
  violation: TrackerViolationEvent;
  usage: TrackerUsageEvent;
}

/** Told of every event a tracker raises. */
export type TrackerEventListener = <K extends keyof TrackerEvents>(event: K, payload: TrackerEvents[K]) => void;
