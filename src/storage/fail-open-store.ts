/**
 * `FailOpenStore`: keeps admitting when a shared store (Redis) is unreachable. While the
 * inner store fails, every primitive is answered by a process-local `MemoryStore` whose
 * counters start from the last values this process saw in the shared store; every write
 * made locally (commits, adds, ledger entries, releases) is kept in a journal and replayed
 * into the inner store when it answers again. Bad input (`GovernorError`) is never masked.
 *
 * What can be overspent during an outage: each process admits against its own view, so a
 * cap can be passed by up to (processes - 1) x the remainder each last saw, plus what their
 * stale views missed; a sliding window admits up to its limit in every process. See docs/redis.md.
 */
import { GovernorError, InvalidInputError, isPromiseLike, type Clock } from '../core/index.js';
import { MemoryStore } from './memory-store.js';
import type {
  Awaitable,
  CommitRequest,
  CommitResult,
  CounterState,
  LedgerEntry,
  LedgerPage,
  LedgerQuery,
  ReserveRequest,
  ReserveResult,
  Store,
  VersionedValue,
  WindowRead,
  WindowState,
} from './store.js';

/** Options of {@link FailOpenStore}. */
export interface FailOpenStoreOptions {
  /** Clock of the local store and of retries (the governor's). */
  clock: Clock;
  /** Told once per outage and on each failed reconciliation (the governor emits `store.error`). */
  onError: (operation: string, error: unknown) => void;
  /** Ms between attempts to reach the inner store while it is down (default 1000). */
  retryMs?: number;
  /** Most local writes kept for reconciliation; the oldest are dropped (and reported) past it (default 100,000). */
  maxJournal?: number;
}

type CounterAdd = { readonly key: string; readonly amount: bigint; readonly expiresAt?: number | undefined };

type JournalItem =
  | { readonly op: 'commit'; readonly req: CommitRequest }
  | { readonly op: 'add'; readonly items: readonly CounterAdd[] }
  | { readonly op: 'release'; readonly id: string }
  | { readonly op: 'appendLedger'; readonly entries: readonly LedgerEntry[] }
  | { readonly op: 'delete'; readonly keys: readonly string[] };

const KNOWN_MAX = 10_000;
const OPTION_KEYS = new Set(['clock', 'onError', 'retryMs', 'maxJournal']);

/** A store that fails open: see the module comment. */
export class FailOpenStore implements Store {
  private local: MemoryStore;
  private readonly clock: Clock;
  private readonly onError: (operation: string, error: unknown) => void;
  private readonly retryMs: number;
  private readonly maxJournal: number;
  private down = false;
  private nextTry = 0;
  private flushing: Promise<void> | undefined;
  private journal: JournalItem[] = [];
  private readonly localIds = new Set<string>();
  /** Last `used` seen in the inner store per counter key: the local store starts from it. */
  private readonly known = new Map<string, bigint>();
  private seeded = new Set<string>();

  constructor(
    readonly inner: Store,
    options: FailOpenStoreOptions,
  ) {
    if (inner === null || typeof inner !== 'object' || typeof inner.reserve !== 'function')
      throw new InvalidInputError('inner', 'must be a Store', inner);
    if (options === null || typeof options !== 'object') throw new InvalidInputError('options', 'must be an object', options);
    for (const k in options)
      if (!OPTION_KEYS.has(k))
        throw new InvalidInputError(`options.${k}`, 'is not a known option', (options as unknown as Record<string, unknown>)[k]);
    if (options.clock === null || typeof options.clock !== 'object' || typeof options.clock.now !== 'function')
      throw new InvalidInputError('options.clock', 'must be a Clock', options.clock);
    if (typeof options.onError !== 'function') throw new InvalidInputError('options.onError', 'must be a function', options.onError);
    this.clock = options.clock;
    this.onError = options.onError;
    this.retryMs = options.retryMs ?? 1000;
    if (!Number.isSafeInteger(this.retryMs) || this.retryMs < 0)
      throw new InvalidInputError('retryMs', 'must be a whole number of ms >= 0', options.retryMs);
    this.maxJournal = options.maxJournal ?? 100_000;
    if (!Number.isSafeInteger(this.maxJournal) || this.maxJournal < 1)
      throw new InvalidInputError('maxJournal', 'must be a positive integer', options.maxJournal);
    this.local = new MemoryStore({ clock: this.clock });
  }

  /** True while the inner store is treated as down (answers come from the local store). */
  get degraded(): boolean {
    return this.down;
  }

  /** Local writes waiting to be replayed into the inner store. */
  get pending(): number {
    return this.journal.length;
  }

  reserve(req: ReserveRequest): Awaitable<ReserveResult> {
    return this.route(
      'reserve',
      () => this.inner.reserve(req),
      () => this.localReserve(req),
      (r) => {
        if (!r.ok && r.failure.type === 'counter') this.remember(req.counters[r.failure.index]!.key, r.failure.used);
      },
    );
  }

  commit(req: CommitRequest): Awaitable<CommitResult> {
    if (this.localIds.has(req.id)) {
      // Held locally during an outage: drop the local hold, and record the usage where it can be recorded.
      const res = this.local.commit(req);
      this.localIds.delete(req.id);
      this.drained();
      if (this.down) return this.journaled({ op: 'commit', req }, res);
      return this.route(
        'commit',
        () => this.inner.commit(req),
        () => this.journaled({ op: 'commit', req }, res),
        (r) => this.rememberAll(req.counters, r.used),
      );
    }
    return this.route(
      'commit',
      () => this.inner.commit(req),
      () => this.journaled({ op: 'commit', req }, { found: true, used: this.seed(req.counters).commit({ ...req, id: '' }).used }),
      (r) => this.rememberAll(req.counters, r.used),
    );
  }

  release(id: string): Awaitable<boolean> {
    if (this.localIds.has(id)) {
      this.localIds.delete(id);
      const found = this.local.release(id);
      this.drained();
      return found;
    }
    return this.route(
      'release',
      () => this.inner.release(id),
      () => this.journaled({ op: 'release', id }, true),
    );
  }

  add(items: readonly CounterAdd[]): Awaitable<readonly bigint[]> {
    return this.route(
      'add',
      () => this.inner.add(items),
      () => this.journaled({ op: 'add', items }, this.seed(items).add(items)),
      (r) => this.rememberAll(items, r),
    );
  }

  read(keys: readonly string[]): Awaitable<readonly CounterState[]> {
    return this.route(
      'read',
      () => this.inner.read(keys),
      () => this.seed(keys.map((key) => ({ key }))).read(keys),
      (r) => r.forEach((s, i) => this.remember(keys[i]!, s.used)),
    );
  }

  readWindows(items: readonly WindowRead[]): Awaitable<readonly WindowState[]> {
    return this.route(
      'readWindows',
      () => this.inner.readWindows(items),
      () => this.local.readWindows(items),
    );
  }

  delete(keys: readonly string[]): Awaitable<number> {
    return this.route(
      'delete',
      () => this.inner.delete(keys),
      () => this.journaled({ op: 'delete', keys }, this.local.delete(keys)),
    );
  }

  keys(prefix: string): Awaitable<readonly string[]> {
    return this.route(
      'keys',
      () => this.inner.keys(prefix),
      () => this.local.keys(prefix),
    );
  }

  appendLedger(entries: readonly LedgerEntry[]): Awaitable<void> {
    return this.route(
      'appendLedger',
      () => this.inner.appendLedger(entries),
      () => {
        this.local.appendLedger(entries);
        this.journaled({ op: 'appendLedger', entries }, undefined);
      },
    );
  }

  queryLedger(query: LedgerQuery): Awaitable<LedgerPage> {
    return this.route(
      'queryLedger',
      () => this.inner.queryLedger(query),
      () => this.local.queryLedger(query),
    );
  }

  getValue(key: string): Awaitable<VersionedValue | undefined> {
    return this.route(
      'getValue',
      () => this.inner.getValue(key),
      () => this.local.getValue(key),
    );
  }

  compareAndSet(
    key: string,
    expectedVersion: number,
    value: string,
  ): Awaitable<{ readonly ok: boolean; readonly current: VersionedValue }> {
    return this.route(
      'compareAndSet',
      () => this.inner.compareAndSet(key, expectedVersion, value),
      () => this.local.compareAndSet(key, expectedVersion, value),
    );
  }

  sweep(): Awaitable<number> {
    const local = this.local.sweep();
    if (this.down || this.inner.sweep === undefined) return local;
    return this.route(
      'sweep',
      () => this.inner.sweep!(),
      () => local,
    );
  }

  /**
   * Replay the journal into the inner store now (it is also tried by itself every `retryMs`
   * while degraded). Resolves when the inner store has every local write, or rejects with its error.
   */
  async reconcile(): Promise<void> {
    if (this.flushing !== undefined) return this.flushing;
    const run = this.flush().finally(() => {
      this.flushing = undefined;
    });
    this.flushing = run;
    return run;
  }

  async close(): Promise<void> {
    await this.inner.close();
  }

  // ---- internals ------------------------------------------------------------------------

  private route<T>(operation: string, remote: () => Awaitable<T>, fallback: () => Awaitable<T>, seen?: (r: T) => void): Awaitable<T> {
    if (this.down) {
      this.maybeRetry();
      return fallback();
    }
    const failed = (e: unknown): Awaitable<T> => {
      if (e instanceof GovernorError) throw e;
      this.goDown(operation, e);
      return fallback();
    };
    let r: Awaitable<T>;
    try {
      r = remote();
    } catch (e) {
      return failed(e);
    }
    if (isPromiseLike(r)) {
      return Promise.resolve(r).then((v) => {
        if (seen !== undefined) seen(v);
        return v;
      }, failed);
    }
    if (seen !== undefined) seen(r);
    return r;
  }

  private goDown(operation: string, error: unknown): void {
    if (!this.down) {
      this.down = true;
      this.nextTry = this.clock.now() + this.retryMs;
      this.onError(operation, error);
    }
  }

  private maybeRetry(): void {
    if (this.flushing === undefined && this.clock.now() >= this.nextTry) {
      this.reconcile().catch(() => undefined);
    }
  }

  private localReserve(req: ReserveRequest): ReserveResult {
    const r = this.seed(req.counters).reserve(req);
    if (r.ok && req.dryRun !== true && req.id !== undefined && req.counters.some((c) => c.amount > 0n)) this.localIds.add(req.id);
    return r;
  }

  /** Start local counters from the last values seen in the inner store, once per outage. */
  private seed(items: readonly { readonly key: string }[]): MemoryStore {
    for (const { key } of items) {
      if (this.seeded.has(key)) continue;
      this.seeded.add(key);
      const used = this.known.get(key);
      if (used !== undefined && used !== 0n) this.local.add([{ key, amount: used }]);
    }
    return this.local;
  }

  private journaled<T>(item: JournalItem, result: T): T {
    this.journal.push(item);
    if (this.journal.length > this.maxJournal) {
      const dropped = this.journal.shift()!;
      this.onError(
        'journal',
        new Error(`the fail-open journal is full (${this.maxJournal}); dropped a ${dropped.op} that Redis will never see`),
      );
    }
    return result;
  }

  private remember(key: string, used: bigint): void {
    this.known.delete(key);
    this.known.set(key, used);
    if (this.known.size > KNOWN_MAX) this.known.delete(this.known.keys().next().value as string);
  }

  private rememberAll(items: readonly { readonly key: string }[], used: readonly bigint[]): void {
    items.forEach((it, i) => {
      const u = used[i];
      if (u !== undefined) this.remember(it.key, u);
    });
  }

  private async flush(): Promise<void> {
    try {
      // A cheap probe first: with nothing to replay, reaching the store is what proves it is back.
      await this.inner.read([]);
      while (this.journal.length > 0) {
        const j = this.journal[0]!;
        switch (j.op) {
          case 'commit':
            this.rememberAll(j.req.counters, (await this.inner.commit(j.req)).used);
            break;
          case 'add':
            this.rememberAll(j.items, await this.inner.add(j.items));
            break;
          case 'release':
            await this.inner.release(j.id);
            break;
          case 'appendLedger':
            await this.inner.appendLedger(j.entries);
            break;
          case 'delete':
            await this.inner.delete(j.keys);
            break;
        }
        this.journal.shift();
      }
    } catch (e) {
      this.nextTry = this.clock.now() + this.retryMs;
      this.onError('reconcile', e);
      throw e;
    }
    this.down = false;
    this.drained();
  }

  /** Once the inner store is back and no reservation is held locally, start the next outage from a clean local store. */
  private drained(): void {
    if (!this.down && this.localIds.size === 0 && this.seeded.size > 0) {
      this.local = new MemoryStore({ clock: this.clock });
      this.seeded = new Set();
    }
  }
}
