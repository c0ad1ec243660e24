/**
 * `CircuitBreaker`: seed 000's `ResourceCircuitBreaker` over the store. Its state is a
 * versioned JSON record under `b|<key>`, changed only by compare-and-set, so breakers of
 * the same key in many processes on one shared store are one breaker: one process's trip
 * stops the others, and only one of them wins the half-open probe slot.
 *
 * The closed path is cheap: one `getValue` (a Map get for `MemoryStore`, answered
 * synchronously, so no microtask is added) and a version compare against the parsed
 * record cached by version; a success with no failures to forget writes nothing.
 */
import {
  CircuitOpenError,
  GovernorError,
  InvalidInputError,
  parseInput,
  StoreUnavailableError,
  systemClock,
  validateId,
  type Clock,
  isPromiseLike,
} from '../core/index.js';
import { MemoryStore, type Awaitable, type Store, type VersionedValue } from '../storage/index.js';
import { BreakerIsolatedError, BreakerTimeoutError } from './errors.js';
import type { BreakerEvent, BreakerEventListener, FailureKind } from './events.js';
import {
  breakerPlacementSchema,
  exceedsRatio,
  resolveBreakerOptions,
  type BreakerOptions,
  type ResolvedBreakerOptions,
} from './options.js';
import { isOverrun, type OverrunInput } from './overrun.js';
import { RateWindow, type RateCounts } from './rate-window.js';
import { linkedController, raceTimeout } from './timeout.js';
import { BreakerPermit, checkFailureKind, type PermitOwner } from './permit.js';
import {
  decideAdmit,
  decideIsolate,
  decideOutcome,
  decideReset,
  INITIAL_RECORD,
  parseRecord,
  visibleState,
  type AdmitDecision,
  type BreakerRecord,
  type BreakerState,
  type Decision,
  type Outcome,
  type PermitRef,
} from './state.js';

/** Options of a standalone {@link CircuitBreaker}: the policy plus where it lives. */
export interface CircuitBreakerOptions extends BreakerOptions {
  /** What this breaker guards (default `'default'`); breakers with the same key on one store share their state. */
  readonly key?: string | undefined;
  /** Where the state lives (default: a new `MemoryStore` on `clock`). Share one store to share the breaker. */
  readonly store?: Store | undefined;
  /** Time source (default: the system clock). Tests pass a `ManualClock`. */
  readonly clock?: Clock | undefined;
  /** Told of every transition this breaker makes. */
  readonly onEvent?: BreakerEventListener | undefined;
}

/** Most compare-and-set attempts in a row before giving up with `store_unavailable`. */
const MAX_CAS_ATTEMPTS = 32;
const NEVER_ABORTED: AbortSignal = new AbortController().signal;
const INTERNAL = Symbol('breaker.internal');

interface InternalInit {
  readonly key: string;
  readonly store: Store;
  readonly clock: Clock;
  readonly options: ResolvedBreakerOptions;
  readonly onEvent: BreakerEventListener | undefined;
}

/** Internal: options carrying an already validated configuration (used by the registry). */
export function internalOptions(init: InternalInit): CircuitBreakerOptions {
  return { [INTERNAL]: init } as CircuitBreakerOptions;
}

/** A circuit breaker whose state lives in a store: closed → open → half_open → closed. */
export class CircuitBreaker implements PermitOwner {
  /** What this breaker guards. */
  readonly key: string;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly o: ResolvedBreakerOptions;
  private readonly onEvent: BreakerEventListener | undefined;
  private readonly storeKey: string;
  private cachedVersion = 0;
  private cachedRecord: BreakerRecord = INITIAL_RECORD;
  private closedPermit: BreakerPermit;
  private readonly rate: RateWindow | undefined;

  /** Create a breaker; options are validated here, once (`invalid_input` names the field). */
  constructor(options: CircuitBreakerOptions = {}) {
    const init = (options as { [INTERNAL]?: InternalInit })[INTERNAL] ?? resolveStandalone(options);
    this.key = init.key;
    this.store = init.store;
    this.clock = init.clock;
    this.o = init.options;
    this.onEvent = init.onEvent;
    // `|` separates the parts of store keys: escaped, no key can collide with another breaker's windows.
    this.storeKey = `b|${init.key.replace(/[%|]/g, (c) => (c === '%' ? '%25' : '%7C'))}`;
    this.closedPermit = new BreakerPermit(this, 0, false);
    this.rate = this.o.policy.kind === 'rate' ? new RateWindow(this.store, this.storeKey, this.o.policy) : undefined;
  }

  /** The per-call timeout in ms, if any. */
  get timeoutMs(): number | undefined {
    return this.o.timeoutMs;
  }

  // ---- calls ------------------------------------------------------------------------

  /**
   * Run `operation` through the breaker, as the seed's `call`: refused with
   * `CircuitOpenError` while open; a throw counts as a failure per `isFailure`; with a
   * `timeout`, the operation's signal aborts and the call rejects with
   * `BreakerTimeoutError`, a failure. `signal` lets the caller cancel (not a failure).
   */
  call<T>(operation: (signal: AbortSignal) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    if (typeof operation !== 'function') return Promise.reject(new InvalidInputError('operation', 'must be a function', operation));
    if (signal?.aborted) return Promise.reject(signal.reason);
    let p: Awaitable<BreakerPermit | CircuitOpenError>;
    try {
      p = this.tryAcquire();
    } catch (e) {
      return Promise.reject(e);
    }
    if (isPromiseLike(p)) return Promise.resolve(p).then((x) => this.execute(x, operation, signal));
    return this.execute(p, operation, signal);
  }

  /** Take a permit for one call, or throw (reject) `CircuitOpenError` while open. Resolve the permit with the outcome. */
  async acquire(): Promise<BreakerPermit> {
    const p = await this.tryAcquire();
    if (p instanceof CircuitOpenError) throw p;
    return p;
  }

  /**
   * Take a permit, or return the refusal as data (no throw: the pipeline's path). Answers
   * synchronously when the store does.
   */
  tryAcquire(): Awaitable<BreakerPermit | CircuitOpenError> {
    const got = this.store.getValue(this.storeKey);
    if (isPromiseLike(got)) return Promise.resolve(got).then((v) => this.admitFrom(v));
    return this.admitFrom(got);
  }

  /** Would a call be admitted now? Takes no probe slot; returns the refusal, or undefined. */
  peek(): Awaitable<CircuitOpenError | undefined> {
    const got = this.store.getValue(this.storeKey);
    const decide = (v: VersionedValue | undefined): CircuitOpenError | undefined => {
      const d = decideAdmit(this.record(v), this.clock.now(), this.o).result;
      return d.ok ? undefined : this.refusal(d);
    };
    return isPromiseLike(got) ? Promise.resolve(got).then(decide) : decide(got);
  }

  /**
   * Run `operation` under this breaker's timeout (if any) with the signal of `controller`,
   * aborting it with `BreakerTimeoutError` when the time runs out. Records no outcome:
   * the caller resolves its permit (the governor's pipeline does, at settle).
   */
  withTimeout<T>(operation: () => T | PromiseLike<T>, controller: AbortController): Promise<T> {
    const ms = this.o.timeoutMs;
    if (ms === undefined) return Promise.resolve().then(operation);
    return raceTimeout(this.clock, this.key, ms, controller, operation);
  }

  // ---- outcomes without a permit -------------------------------------------------------

  /** Count a success against the current state (an outcome observed outside `call`). */
  async recordSuccess(): Promise<void> {
    await this.settleCurrent({ type: 'success' });
  }

  /** Count a failure against the current state (an outcome observed outside `call`). */
  async recordFailure(cause: FailureKind = 'error'): Promise<void> {
    checkFailureKind(cause);
    await this.settleCurrent({ type: 'failure', cause });
  }

  /** True when `actual > estimate × thresholdMultiplier` (exact; an estimate of 0 never overruns). */
  isOverrun(input: OverrunInput): boolean {
    return isOverrun(input, this.o.thresholdMultiplier);
  }

  /** Internal: {@link isOverrun} on integer units, for the pipeline. */
  overrunUnits(estimate: bigint, actual: bigint): boolean {
    return exceedsRatio(estimate, actual, this.o.thresholdMultiplier);
  }

  /** Count a resource overrun as a failure (cause `'overrun'`) when it passes the multiplier; returns whether it was an overrun. */
  async recordOverrun(input: OverrunInput): Promise<boolean> {
    if (!this.isOverrun(input)) return false;
    await this.settleCurrent({ type: 'failure', cause: 'overrun' });
    return true;
  }

  // ---- manual control -------------------------------------------------------------------

  /** Open the breaker until {@link reset}, whatever happens meanwhile (cockatiel's `isolate`). */
  async isolate(): Promise<void> {
    await this.update(await this.store.getValue(this.storeKey), (rec, now) => decideIsolate(rec, now));
  }

  /** Close the breaker and forget its failures and trips (also ends an isolation). */
  async reset(): Promise<void> {
    await this.update(await this.store.getValue(this.storeKey), (rec, now) => decideReset(rec, now));
  }

  /** The breaker's state now, as plain JSON. */
  async getState(): Promise<BreakerState> {
    const v = await this.store.getValue(this.storeKey);
    const rec = this.record(v);
    const now = this.clock.now();
    let window: BreakerState['window'] = null;
    if (this.rate !== undefined) window = rec.state === 'closed' ? await this.rate.read(rec.gen) : { calls: 0, failures: 0 };
    return {
      key: this.key,
      state: visibleState(rec, now),
      isolated: rec.isolated,
      failures: rec.failures,
      trips: rec.trips,
      halfOpenAt: rec.halfOpenAt,
      probes: rec.state === 'half_open' ? rec.probes : 0,
      reason: rec.reason,
      cause: rec.cause,
      since: rec.since,
      window,
      version: v === undefined ? 0 : v.version,
    };
  }

  // ---- PermitOwner -------------------------------------------------------------------------

  /** Internal: record the outcome of a permit's call. */
  settlePermit(permit: PermitRef, outcome: Outcome): Awaitable<void> {
    const rate = this.rate;
    if (rate !== undefined && !permit.probe && outcome.type !== 'release') {
      // Every call counts in the window; only a failure can trip the breaker.
      const counts = rate.hit(permit.gen, outcome.type === 'failure');
      const judge = (c: RateCounts): Awaitable<void> => {
        if (outcome.type !== 'failure' || !rate.trips(c)) return undefined;
        return this.settleFresh(permit, { type: 'failure', cause: outcome.cause, tripped: c.failures });
      };
      return isPromiseLike(counts) ? Promise.resolve(counts).then(judge) : judge(counts);
    }
    if (outcome.type === 'success' && !permit.probe) {
      // Hot path: a success on a closed breaker with nothing to forget writes nothing.
      const got = this.store.getValue(this.storeKey);
      if (!isPromiseLike(got)) {
        const rec = this.record(got);
        if (rec.state !== 'closed' || rec.failures === 0 || rec.gen !== permit.gen) return undefined;
        return this.update(got, (r, now) => decideOutcome(r, permit, outcome, now, this.o));
      }
      return Promise.resolve(got).then((v) => this.update(v, (r, now) => decideOutcome(r, permit, outcome, now, this.o)));
    }
    return this.settleFresh(permit, outcome);
  }

  /** Internal: what a thrown error means for the breaker. */
  outcomeOf(error: unknown, signal: AbortSignal | undefined): Outcome {
    if (error instanceof BreakerTimeoutError && error.breaker === this.key) return { type: 'failure', cause: 'timeout' };
    if (signal?.aborted === true) return RELEASE;
    let counted: boolean;
    try {
      counted = this.o.isFailure(error) === true;
    } catch {
      // A predicate that throws cannot vouch for the call: count it.
      counted = true;
    }
    if (counted) return { type: 'failure', cause: 'error' };
    // A refusal never reached the dependency; any other error is the dependency answering.
    return error instanceof GovernorError ? RELEASE : SUCCESS;
  }

  // ---- internals -----------------------------------------------------------------------------

  private admitFrom(v: VersionedValue | undefined): Awaitable<BreakerPermit | CircuitOpenError> {
    const rec = this.record(v);
    if (rec.state === 'closed') return this.permitFor(rec.gen);
    const r = this.update(v, (x, now) => decideAdmit(x, now, this.o));
    return isPromiseLike(r) ? Promise.resolve(r).then((d) => this.admission(d)) : this.admission(r);
  }

  private admission(d: AdmitDecision): BreakerPermit | CircuitOpenError {
    if (!d.ok) return this.refusal(d);
    return d.probe ? new BreakerPermit(this, d.gen, true) : this.permitFor(d.gen);
  }

  private refusal(d: { retryAfterMs: number; isolated: boolean }): CircuitOpenError {
    return d.isolated ? new BreakerIsolatedError(this.key) : new CircuitOpenError(this.key, d.retryAfterMs);
  }

  private permitFor(gen: number): BreakerPermit {
    if (this.closedPermit.gen !== gen) this.closedPermit = new BreakerPermit(this, gen, false);
    return this.closedPermit;
  }

  private settleCurrent(outcome: Outcome): Awaitable<void> {
    const got = this.store.getValue(this.storeKey);
    const run = (v: VersionedValue | undefined): Awaitable<void> => {
      const rec = this.record(v);
      if (rec.state !== 'closed') return undefined;
      return this.settlePermit({ gen: rec.gen, probe: false }, outcome);
    };
    return isPromiseLike(got) ? Promise.resolve(got).then(run) : run(got);
  }

  private settleFresh(permit: PermitRef, outcome: Outcome): Awaitable<void> {
    const got = this.store.getValue(this.storeKey);
    const decide = (r: BreakerRecord, now: number): Decision<void> => decideOutcome(r, permit, outcome, now, this.o);
    return isPromiseLike(got) ? Promise.resolve(got).then((v) => this.update(v, decide)) : this.update(got, decide);
  }

  /** The parsed record of a stored value, parsed once per version. */
  private record(v: VersionedValue | undefined): BreakerRecord {
    if (v === undefined || v.version === 0) return INITIAL_RECORD;
    if (v.version === this.cachedVersion) return this.cachedRecord;
    const rec = parseRecord(v.value, this.key);
    this.cachedVersion = v.version;
    this.cachedRecord = rec;
    return rec;
  }

  /**
   * The CAS loop: decide on the record of `v`, write the decision's record if any; on a
   * conflict decide again on the value the store returned. Synchronous while the store is.
   */
  private update<R>(v: VersionedValue | undefined, decide: (rec: BreakerRecord, now: number) => Decision<R>, attempt = 0): Awaitable<R> {
    for (let i = attempt; ; i++) {
      const now = this.clock.now();
      const d = decide(this.record(v), now);
      const next = d.next;
      if (next === undefined) return d.result;
      if (i >= MAX_CAS_ATTEMPTS) {
        throw new StoreUnavailableError(`breaker ${this.key} compareAndSet (${MAX_CAS_ATTEMPTS} conflicts in a row)`);
      }
      const res = this.store.compareAndSet(this.storeKey, v === undefined ? 0 : v.version, JSON.stringify(next));
      if (isPromiseLike(res)) {
        return Promise.resolve(res).then((r) =>
          r.ok ? this.written(r.current.version, d, next, now) : this.update(r.current, decide, i + 1),
        );
      }
      if (res.ok) return this.written(res.current.version, d, next, now);
      v = res.current;
    }
  }

  private written<R>(version: number, d: Decision<R>, next: BreakerRecord, now: number): R {
    this.cachedVersion = version;
    this.cachedRecord = next;
    if (d.event !== undefined && this.onEvent !== undefined) {
      const payload: BreakerEvent = {
        breaker: this.key,
        state: next.state,
        reason: next.reason as BreakerEvent['reason'],
        failures: next.failures,
        cause: d.event === 'breaker.open' ? (next.cause ?? undefined) : undefined,
        halfOpenAt: next.state === 'open' && next.halfOpenAt !== null ? next.halfOpenAt : undefined,
        at: now,
      };
      try {
        this.onEvent(d.event, payload);
      } catch {
        // A listener's fault must not undo a transition that is already written.
      }
    }
    return d.result;
  }

  private execute<T>(
    p: BreakerPermit | CircuitOpenError,
    op: (signal: AbortSignal) => T | PromiseLike<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    if (p instanceof CircuitOpenError) return Promise.reject(p);
    return this.o.timeoutMs === undefined ? this.executePlain(p, op, signal) : this.executeTimed(p, op, this.o.timeoutMs, signal);
  }

  /** The hot path: no timer, no controller, no finally. */
  private async executePlain<T>(p: BreakerPermit, op: (signal: AbortSignal) => T | PromiseLike<T>, signal?: AbortSignal): Promise<T> {
    let value: T;
    try {
      value = await op(signal ?? NEVER_ABORTED);
    } catch (e) {
      const r = p.error(e, signal);
      if (isPromiseLike(r)) await r;
      throw e;
    }
    const r = p.success();
    if (isPromiseLike(r)) await r;
    return value;
  }

  private executeTimed<T>(p: BreakerPermit, op: (signal: AbortSignal) => T | PromiseLike<T>, ms: number, signal?: AbortSignal): Promise<T> {
    const { controller, unlink } = linkedController(signal);
    const timed = raceTimeout(this.clock, this.key, ms, controller, () => op(controller.signal));
    return this.executePlain(p, () => timed, signal).finally(unlink);
  }
}

const SUCCESS: Outcome = Object.freeze({ type: 'success' });
const RELEASE: Outcome = Object.freeze({ type: 'release' });

function resolveStandalone(options: CircuitBreakerOptions): InternalInit {
  if (options === null || typeof options !== 'object') throw new InvalidInputError('options', 'must be an object', options);
  const { key, store, clock, onEvent, ...policy } = options;
  parseInput(breakerPlacementSchema, { key, store, clock, onEvent }, 'options');
  const c = clock ?? systemClock;
  return {
    key: key === undefined ? 'default' : validateId(key, 'options.key'),
    store: store ?? new MemoryStore({ clock: c }),
    clock: c,
    options: resolveBreakerOptions(policy, 'options'),
    onEvent,
  };
}
