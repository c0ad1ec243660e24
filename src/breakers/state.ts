/**
 * The breaker's state machine, as pure functions over the record kept in the store.
 * Each function reads a record and the time and decides: a result, and maybe the next
 * record to compare-and-set and the event its transition announces. No I/O here: the
 * breaker runs these inside its CAS loop, so a decision made on a stale record is
 * simply made again on the fresh one.
 *
 * Nothing runs on a timer: an open breaker holds the instant it may half-open
 * (`halfOpenAt`), and the first call at or after it takes the probe slot (cockatiel's
 * way of computing the state from timestamps when asked).
 */
import { StoreUnavailableError } from '../core/index.js';
import type { BreakerEventName, BreakerReason, BreakerStateName, FailureKind } from './events.js';
import { openPeriodMs, type ResolvedBreakerOptions } from './options.js';

/** The record stored under `b|<key>` as JSON. */
export interface BreakerRecord {
  readonly state: BreakerStateName;
  /** Open by `isolate()`: no timer lets a call through, only `reset()`. */
  readonly isolated: boolean;
  /** Bumped on every transition, so outcomes of calls admitted under an older state are ignored. */
  readonly gen: number;
  /** Consecutive failures (consecutive policy), or the failures that tripped it (rate policy). */
  readonly failures: number;
  /** Trips in a row without a close in between (the back-off exponent). */
  readonly trips: number;
  /** Open: epoch ms from which the next call is let through as a probe. */
  readonly halfOpenAt: number | null;
  /** Half-open: probe slots taken. */
  readonly probes: number;
  /** Half-open: when the slots taken are presumed lost (their holder died) and may be taken again. */
  readonly probeUntil: number | null;
  readonly reason: BreakerReason | null;
  /** The kind of the last failure counted. */
  readonly cause: FailureKind | null;
  /** Epoch ms of the last transition. */
  readonly since: number | null;
}

/** A breaker that was never written: closed, no failures. */
export const INITIAL_RECORD: BreakerRecord = Object.freeze({
  state: 'closed',
  isolated: false,
  gen: 0,
  failures: 0,
  trips: 0,
  halfOpenAt: null,
  probes: 0,
  probeUntil: null,
  reason: null,
  cause: null,
  since: null,
});

/** A breaker's state as a reader sees it: plain JSON (see `CircuitBreaker.getState`). */
export interface BreakerState {
  readonly key: string;
  /** An open breaker whose open period is over reads `half_open`: the next call is a probe. */
  readonly state: BreakerStateName;
  /** Open by `isolate()`, until `reset()`. */
  readonly isolated: boolean;
  /** Consecutive failures (consecutive policy), or the failures that tripped it (rate policy). */
  readonly failures: number;
  /** Trips in a row without a close in between (the back-off exponent). */
  readonly trips: number;
  /** When an open breaker lets the next call through as a probe (epoch ms). */
  readonly halfOpenAt: number | null;
  /** Probe slots taken (half-open). */
  readonly probes: number;
  /** Why it last changed state. */
  readonly reason: BreakerReason | null;
  /** The kind of the last failure counted. */
  readonly cause: FailureKind | null;
  /** When it last changed state (epoch ms). */
  readonly since: number | null;
  /** Rate policy: calls and failures in the rolling window (closed state); `null` for the consecutive policy. */
  readonly window: { readonly calls: number; readonly failures: number } | null;
  /** The store version of the state (0: never written). */
  readonly version: number;
}

/** What a state function decided. */
export interface Decision<R> {
  readonly result: R;
  /** The record to write; none when nothing changes. */
  readonly next?: BreakerRecord | undefined;
  /** The event the write announces, once it succeeded. */
  readonly event?: BreakerEventName | undefined;
}

/** Whether a call may go, and as what. */
export type AdmitDecision =
  | { readonly ok: true; readonly probe: boolean; readonly gen: number }
  | { readonly ok: false; readonly retryAfterMs: number; readonly isolated: boolean };

/** What happened to an admitted call. `tripped` carries the rate policy's verdict, computed from the window. */
export type Outcome =
  | { readonly type: 'success' }
  | { readonly type: 'release' }
  | { readonly type: 'failure'; readonly cause: FailureKind; readonly tripped?: number | undefined };

/** Which call an outcome belongs to: the generation it was admitted in, and whether it was a probe. */
export interface PermitRef {
  readonly gen: number;
  readonly probe: boolean;
}

const STATES: ReadonlySet<string> = new Set(['closed', 'open', 'half_open']);

/** Parse a stored record, refusing anything that is not one (a corrupt value is a store fault). */
export function parseRecord(text: string, key: string): BreakerRecord {
  let r: unknown;
  try {
    r = JSON.parse(text);
  } catch (e) {
    throw new StoreUnavailableError(`breaker ${key}: reading its state (not JSON)`, e);
  }
  const x = r as Partial<Record<keyof BreakerRecord, unknown>> | null;
  if (
    x === null ||
    typeof x !== 'object' ||
    !STATES.has(x.state as string) ||
    typeof x.gen !== 'number' ||
    typeof x.failures !== 'number' ||
    typeof x.trips !== 'number' ||
    typeof x.probes !== 'number' ||
    typeof x.isolated !== 'boolean'
  ) {
    throw new StoreUnavailableError(`breaker ${key}: reading its state (not a breaker record: ${text.slice(0, 80)})`);
  }
  return x as BreakerRecord;
}

/** How long a probe slot is held before it is presumed lost: the call timeout, else `resetTimeout`. */
export function probeLeaseMs(o: ResolvedBreakerOptions): number {
  return o.timeoutMs ?? o.resetTimeoutMs;
}

function opened(rec: BreakerRecord, now: number, o: ResolvedBreakerOptions, reason: BreakerReason, failures: number, cause: FailureKind) {
  const trips = rec.trips + 1;
  const next: BreakerRecord = {
    state: 'open',
    isolated: false,
    gen: rec.gen + 1,
    failures,
    trips,
    halfOpenAt: now + openPeriodMs(o, trips),
    probes: 0,
    probeUntil: null,
    reason,
    cause,
    since: now,
  };
  return next;
}

function closed(rec: BreakerRecord, now: number, reason: BreakerReason): BreakerRecord {
  return {
    state: 'closed',
    isolated: false,
    gen: rec.gen + 1,
    failures: 0,
    trips: 0,
    halfOpenAt: null,
    probes: 0,
    probeUntil: null,
    reason,
    cause: null,
    since: now,
  };
}

/** May a call go now? Taking a probe slot is a write. */
export function decideAdmit(rec: BreakerRecord, now: number, o: ResolvedBreakerOptions): Decision<AdmitDecision> {
  if (rec.state === 'closed') return { result: { ok: true, probe: false, gen: rec.gen } };
  if (rec.state === 'open') {
    if (rec.isolated) return { result: { ok: false, retryAfterMs: Number.POSITIVE_INFINITY, isolated: true } };
    const at = rec.halfOpenAt as number;
    if (now < at) return { result: { ok: false, retryAfterMs: at - now, isolated: false } };
    const next: BreakerRecord = {
      ...rec,
      state: 'half_open',
      gen: rec.gen + 1,
      halfOpenAt: null,
      probes: 1,
      probeUntil: now + probeLeaseMs(o),
      reason: 'reset_timeout',
      since: now,
    };
    return { result: { ok: true, probe: true, gen: next.gen }, next, event: 'breaker.halfOpen' };
  }
  const until = rec.probeUntil as number;
  if (rec.probes < o.halfOpenMaxProbes || now >= until) {
    // A lapsed lease means the slots' holders are presumed dead: start counting slots afresh.
    const probes = now >= until ? 1 : rec.probes + 1;
    const next: BreakerRecord = { ...rec, probes, probeUntil: now + probeLeaseMs(o) };
    return { result: { ok: true, probe: true, gen: rec.gen }, next };
  }
  return { result: { ok: false, retryAfterMs: until - now, isolated: false } };
}

/** Apply the outcome of a call admitted as `permit`. Outcomes of calls admitted under an older state are ignored. */
export function decideOutcome(
  rec: BreakerRecord,
  permit: PermitRef,
  outcome: Outcome,
  now: number,
  o: ResolvedBreakerOptions,
): Decision<void> {
  if (rec.gen !== permit.gen) return NOTHING;
  if (permit.probe) {
    if (rec.state !== 'half_open') return NOTHING;
    if (outcome.type === 'success') return { result: undefined, next: closed(rec, now, 'probe_succeeded'), event: 'breaker.close' };
    if (outcome.type === 'release') {
      return rec.probes > 0 ? { result: undefined, next: { ...rec, probes: rec.probes - 1 } } : NOTHING;
    }
    return { result: undefined, next: opened(rec, now, o, 'probe_failed', rec.failures + 1, outcome.cause), event: 'breaker.open' };
  }
  if (rec.state !== 'closed' || outcome.type === 'release') return NOTHING;
  if (o.policy.kind === 'consecutive') {
    if (outcome.type === 'success') return rec.failures === 0 ? NOTHING : { result: undefined, next: { ...rec, failures: 0 } };
    const failures = rec.failures + 1;
    if (failures >= o.policy.threshold) {
      return { result: undefined, next: opened(rec, now, o, 'consecutive_failures', failures, outcome.cause), event: 'breaker.open' };
    }
    return { result: undefined, next: { ...rec, failures, cause: outcome.cause } };
  }
  // Rate policy: the window (in the store) already counted the call; the record changes only on a trip.
  if (outcome.type === 'failure' && outcome.tripped !== undefined) {
    return { result: undefined, next: opened(rec, now, o, 'failure_rate', outcome.tripped, outcome.cause), event: 'breaker.open' };
  }
  return NOTHING;
}

/** Open until `reset()`. */
export function decideIsolate(rec: BreakerRecord, now: number): Decision<void> {
  if (rec.isolated) return NOTHING;
  const next: BreakerRecord = {
    ...rec,
    state: 'open',
    isolated: true,
    gen: rec.gen + 1,
    halfOpenAt: null,
    probes: 0,
    probeUntil: null,
    reason: 'isolated',
    cause: null,
    since: now,
  };
  return { result: undefined, next, event: 'breaker.open' };
}

/** Close, forgetting failures and trips. */
export function decideReset(rec: BreakerRecord, now: number): Decision<void> {
  if (rec.state === 'closed') return rec.failures === 0 ? NOTHING : { result: undefined, next: { ...rec, failures: 0, cause: null } };
  return { result: undefined, next: closed(rec, now, 'reset'), event: 'breaker.close' };
}

/** The state a reader sees at `now`: an open breaker whose timer ran out reads `half_open` (the next call is a probe). */
export function visibleState(rec: BreakerRecord, now: number): BreakerStateName {
  if (rec.state === 'open' && !rec.isolated && now >= (rec.halfOpenAt as number)) return 'half_open';
  return rec.state;
}

const NOTHING: Decision<void> = Object.freeze({ result: undefined });
