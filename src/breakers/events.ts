/**
 * What a breaker tells the world when it changes state. Payloads are plain JSON; the
 * governor delivers them as its `breaker.open` / `breaker.halfOpen` / `breaker.close`
 * events. Only the process whose compare-and-set made the transition emits it, so with a
 * shared store each transition is announced once, not once per process.
 */

/** The three states of a breaker, as in seed 000. */
export type BreakerStateName = 'closed' | 'open' | 'half_open';

/** What counted as a failure: the operation threw, timed out, used more than estimated, or passed a hard cap. */
export type FailureKind = 'error' | 'timeout' | 'overrun' | 'limit_exceeded';

/** Why a breaker changed state. */
export type BreakerReason =
  /** `failureThreshold` consecutive failures (open). */
  | 'consecutive_failures'
  /** The failure rate over the rolling window reached `rate.failureRate` (open). */
  | 'failure_rate'
  /** A half-open probe failed (open again, with a fresh timer). */
  | 'probe_failed'
  /** `isolate()` was called (open until `reset()`). */
  | 'isolated'
  /** The open period elapsed and a probe was let through (half_open). */
  | 'reset_timeout'
  /** A half-open probe succeeded (closed). */
  | 'probe_succeeded'
  /** `reset()` was called (closed). */
  | 'reset';

/** A breaker changed state. */
export interface BreakerEvent {
  /** The breaker's key (`openai/gpt-4o`, or any key you chose). */
  readonly breaker: string;
  /** The state it is in now. */
  readonly state: BreakerStateName;
  readonly reason: BreakerReason;
  /** Failures behind the transition: consecutive failures, or failures in the window for the rate policy. */
  readonly failures: number;
  /** The kind of the failure that opened it (`undefined` for half-open, close and isolate). */
  readonly cause: FailureKind | undefined;
  /** When an open breaker lets a probe through (epoch ms); `undefined` unless open (and isolated breakers never do). */
  readonly halfOpenAt: number | undefined;
  /** Epoch ms of the transition. */
  readonly at: number;
}

/** The names under which breaker events are emitted. */
export type BreakerEventName = 'breaker.open' | 'breaker.halfOpen' | 'breaker.close';

/** Receives breaker events; a throwing listener never breaks the call that caused the event. */
export type BreakerEventListener = (event: BreakerEventName, payload: BreakerEvent) => void;
