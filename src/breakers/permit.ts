/**
 * A permit: the right to make one call through a breaker, taken at admission and
 * resolved with the call's outcome. Closed-state permits carry no slot and are shared;
 * a half-open probe permit holds one probe slot until it is resolved once.
 */
import { InvalidInputError } from '../core/index.js';
import type { FailureKind } from './events.js';
import type { OverrunInput } from './overrun.js';
import type { Outcome, PermitRef } from './state.js';
import type { Awaitable } from '../storage/index.js';

const FAILURE_KINDS: ReadonlySet<unknown> = new Set<FailureKind>(['error', 'timeout', 'overrun', 'limit_exceeded']);

/** Internal: throw `invalid_input` unless `cause` is a {@link FailureKind}. */
export function checkFailureKind(cause: unknown): void {
  if (!FAILURE_KINDS.has(cause)) throw new InvalidInputError('cause', "must be 'error', 'timeout', 'overrun' or 'limit_exceeded'", cause);
}

/** What a permit reports back to its breaker (implemented by `CircuitBreaker`). */
export interface PermitOwner {
  /** Internal: record an outcome for a permit. */
  settlePermit(permit: PermitRef, outcome: Outcome): Awaitable<void>;
  /** Internal: classify a thrown error into an outcome. */
  outcomeOf(error: unknown, signal: AbortSignal | undefined): Outcome;
  /** Internal: true when the overrun counts as a failure. */
  isOverrun(input: OverrunInput): boolean;
}

const SUCCESS: Outcome = Object.freeze({ type: 'success' });
const RELEASE: Outcome = Object.freeze({ type: 'release' });

/** The right to make one call through a breaker; resolve it with exactly one outcome. */
export class BreakerPermit implements PermitRef {
  private done = false;

  constructor(
    private readonly owner: PermitOwner,
    /** The breaker generation the call was admitted in. */
    readonly gen: number,
    /** True for a half-open probe (it holds a probe slot until resolved). */
    readonly probe: boolean,
  ) {}

  /** The call succeeded: resets consecutive failures, and a probe closes the breaker. */
  success(): Awaitable<void> {
    return this.settle(SUCCESS);
  }

  /** The call failed (`cause`, default `'error'`): counts toward a trip, and a probe re-opens the breaker. */
  failure(cause: FailureKind = 'error'): Awaitable<void> {
    checkFailureKind(cause);
    return this.settle({ type: 'failure', cause });
  }

  /**
   * The call threw `error`: a failure if the breaker's `isFailure` says so (its own
   * timeout always is); a refusal (`GovernorError`) or an abort by `signal` changes
   * nothing; any other error is the dependency answering, so it counts as a success.
   */
  error(error: unknown, signal?: AbortSignal): Awaitable<void> {
    return this.settle(this.owner.outcomeOf(error, signal));
  }

  /** The call succeeded but used `actual` against `estimate`: a failure (`'overrun'`) past the multiplier, else a success. */
  settleUsage(input: OverrunInput): Awaitable<void> {
    return this.settle(this.owner.isOverrun(input) ? { type: 'failure', cause: 'overrun' } : SUCCESS);
  }

  /** The call never ran (refused further on, cancelled): give the probe slot back, count nothing. */
  release(): Awaitable<void> {
    return this.settle(RELEASE);
  }

  private settle(outcome: Outcome): Awaitable<void> {
    if (this.probe) {
      // A probe slot is resolved once; closed-state permits are shared and hold nothing.
      if (this.done) return undefined;
      this.done = true;
    }
    return this.owner.settlePermit(this, outcome);
  }
}
