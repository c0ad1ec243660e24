/**
 * What every part of a tracker shares: its store (behind fault translation), clock,
 * meters, event sink and ledger ids. One per `ResourceTracker`.
 */
import {
  BUILTIN_METERS,
  GovernorError,
  isPromiseLike,
  StoreUnavailableError,
  type Clock,
  type MeterRegistry,
  type Scope,
} from '../core/index.js';
import type { LedgerEntry, Store } from '../storage/index.js';
import type { TrackerEventListener, TrackerEvents } from './events.js';

const LEDGER_PREFIX = globalThis.crypto.randomUUID().slice(0, 8);

/** The shared state and services of one tracker (internal). */
export class TrackerContext {
  /** The user meters (not built in), in declaration order: their counters follow FIELDS. */
  readonly userMeters: readonly string[];
  private seq = 0;

  readonly store: Store;
  readonly clock: Clock;
  readonly level: 'agent' | 'execution';
  readonly currency: string;
  readonly warnAt: number;
  readonly meters: MeterRegistry;
  private readonly onEvent: TrackerEventListener | undefined;

  constructor(
    store: Store,
    clock: Clock,
    level: 'agent' | 'execution',
    currency: string,
    warnAt: number,
    meters: MeterRegistry,
    onEvent: TrackerEventListener | undefined,
  ) {
    this.store = store;
    this.clock = clock;
    this.level = level;
    this.currency = currency;
    this.warnAt = warnAt;
    this.meters = meters;
    this.onEvent = onEvent;
    this.userMeters = meters.names().filter((n) => !(n in BUILTIN_METERS));
  }

  /** The scope that names `pid` in events and ledger entries. */
  scopeOf(pid: string): Scope {
    return { [this.level]: pid };
  }

  emit<K extends keyof TrackerEvents>(event: K, payload: TrackerEvents[K]): void {
    if (this.onEvent === undefined) return;
    try {
      this.onEvent(event, payload);
    } catch {
      // A listener fault never breaks the operation it was told about (the governor's bus reports it as listener.error).
    }
  }

  nextId(): string {
    return `${LEDGER_PREFIX}-tk${(++this.seq).toString(36)}`;
  }

  appendLedger(entry: LedgerEntry): void {
    try {
      const r = this.store.appendLedger([entry]);
      if (isPromiseLike(r)) Promise.resolve(r).then(undefined, () => undefined);
    } catch {
      // The usage is in the counters and the event; a ledger the store cannot append to loses only the copy.
    }
  }

  /** Run a store operation, turning a fault that is not already a GovernorError into `store_unavailable`. */
  guardStore<T>(operation: string, f: () => T | PromiseLike<T>): T | PromiseLike<T> {
    const fault = (e: unknown): never => {
      if (e instanceof GovernorError) throw e;
      throw new StoreUnavailableError(operation, e);
    };
    let r: T | PromiseLike<T>;
    try {
      r = f();
    } catch (e) {
      return fault(e);
    }
    return isPromiseLike(r) ? Promise.resolve(r).then(undefined, fault) : r;
  }
}
