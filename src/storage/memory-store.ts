/**
 * The in-memory store: the default, and the one to use in unit tests. Every primitive
 * runs synchronously, so the hot path never waits on a microtask. No timer per key or
 * per reservation: leases expire from a heap checked on each operation, and idle keys
 * are swept in small batches as operations go by.
 */
import { InvalidInputError, MAX_UNITS, MIN_UNITS, scopeMatches, systemClock, type Clock } from '../core/index.js';
import { MinHeap } from './heap.js';
import type {
  CommitRequest,
  CommitResult,
  CounterItem,
  CounterState,
  LedgerEntry,
  LedgerPage,
  LedgerQuery,
  ReserveFailure,
  ReserveRequest,
  ReserveResult,
  Store,
  VersionedValue,
  WindowAdjustment,
  WindowItem,
  WindowRead,
  WindowState,
} from './store.js';
import { BucketWindow, validateWindowShape, type WindowCounter, type WindowMode } from './bucket-window.js';
import { LogWindow } from './log-window.js';
import { LedgerRing, type CallId, type CallUnits } from './ledger-ring.js';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** Clock for leases, windows and expiry (default: the system clock). */
  clock?: Clock;
  /** Most ledger entries kept; the oldest are dropped first (default 100,000). */
  maxLedgerEntries?: number;
}

interface Counter {
  used: bigint;
  held: bigint;
  /** Epoch ms after which the idle counter may be dropped; Infinity keeps it. */
  expiresAt: number;
}

interface Reservation {
  readonly id: string;
  readonly at: number;
  /** What it holds, flat: counter, amount, counter, amount, ... (no object per hold). */
  readonly holds: (Counter | bigint)[];
  done: boolean;
  /** False while only its holder knows it (see {@link MemoryStore.holdAt}): it is then not in the id index. */
  indexed: boolean;
}

/**
 * Internal, for the governor: a reservation held by handle (see {@link MemoryStore.holdAt}).
 * Opaque outside this file.
 */
export interface MemoryHold {
  readonly id: string;
}

/** What {@link MemoryStore.holdAt} answers: a reserve's result plus, when it holds something, the handle. */
export type HoldResult =
  | { readonly ok: true; readonly expiresAt: number; readonly held: MemoryHold | undefined }
  | { readonly ok: false; readonly failure: ReserveFailure };

/**
 * The counters and windows the governor's last hold found (see {@link MemoryStore.holdAt}), by
 * the identity of its item arrays: a governor sends the same arrays call after call and never
 * changes them. Valid while no counter or window has been dropped since (`gen`).
 */
interface Known {
  readonly items: readonly CounterItem[];
  readonly windows: readonly WindowItem[] | undefined;
  readonly counters: readonly Counter[];
  readonly found: readonly WindowCounter[];
  /** How many items hold an amount (> 0). */
  readonly holds: number;
  /** MAX_UNITS minus each item's amount: the most a counter may hold before the item would overflow it. */
  readonly rooms: readonly bigint[];
  readonly gen: number;
}

/** The counters a commit's items found, by the identity of its array (see Known). */
interface KnownCommit {
  readonly items: CommitRequest['counters'];
  readonly counters: readonly Counter[];
  /** MAX_UNITS minus each item's amount (see Known). */
  readonly rooms: readonly bigint[];
  readonly gen: number;
}

const SWEEP_EVERY = 256;
const SWEEP_BATCH = 64;

/** The default store: process-local, synchronous, bounded memory. */
export class MemoryStore implements Store {
  private readonly clock: Clock;
  private readonly counters = new Map<string, Counter>();
  private readonly windows = new Map<string, WindowCounter>();
  private readonly reservations = new Map<string, Reservation>();
  private readonly leases = new MinHeap<Reservation>();
  private deadLeases = 0;
  /** Live reservations held by handle only (see holdAt), not in `reservations`. */
  private unindexed = 0;
  /** Scratch of reserve: the windows and counters its checks found, by request index. */
  private readonly foundWindows: (WindowCounter | undefined)[] = [];
  private readonly foundCounters: (Counter | undefined)[] = [];
  private readonly values = new Map<string, VersionedValue>();
  private readonly ledger: LedgerRing;
  /** The result of commitAt/commitHeld, filled again by each (see commitCore). */
  private readonly commitOut: { found: boolean; used: bigint[] } = { found: false, used: [] };
  private ops = 0;
  /** Counted up each time a counter or window is dropped: what Known and KnownCommit found may be gone. */
  private gen = 0;
  private known: Known | undefined = undefined;
  private knownCommit: KnownCommit | undefined = undefined;
  /** The items of the governor's last hold not taken from known (see reserveWrite). */
  private lastHoldItems: readonly CounterItem[] | undefined = undefined;
  /** The items of the governor's last commit not taken from knownCommit (see commitCore). */
  private lastCommitItems: CommitRequest['counters'] | undefined = undefined;
  private counterSweep: Iterator<[string, Counter]> | undefined;
  private windowSweep: Iterator<[string, WindowCounter]> | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    this.clock = options.clock ?? systemClock;
    const max = options.maxLedgerEntries ?? 100_000;
    if (!Number.isSafeInteger(max) || max < 1) throw new InvalidInputError('maxLedgerEntries', 'must be a positive integer', max);
    this.ledger = new LedgerRing(max);
  }

  /** Number of live counters, windows and reservations (for tests and memory checks). */
  get size(): { counters: number; windows: number; reservations: number; ledger: number } {
    return {
      counters: this.counters.size,
      windows: this.windows.size,
      reservations: this.reservations.size + this.unindexed,
      ledger: this.ledger.size,
    };
  }

  reserve(req: ReserveRequest): ReserveResult {
    return this.reserveAt(req, this.clock.now());
  }

  /**
   * Internal, for the governor: `reserve` at a time the caller has just read from this
   * store's own clock (see {@link MemoryStore.sharesClock}), saving a second clock read.
   */
  reserveAt(req: ReserveRequest, at: number): ReserveResult {
    return this.reserveCore(req, this.tickAt(at), true) as ReserveResult;
  }

  /**
   * Internal, for the governor: `reserveAt`, handing back the reservation's record (`held`,
   * undefined when nothing is held) instead of indexing it by id. The governor settles it
   * with {@link MemoryStore.commitHeld} / {@link MemoryStore.releaseHeld}: putting a fresh id
   * string into a Map and taking it out again was a tenth of a governed call. Its lease
   * expires like any other. The id is not checked against live ones: the governor's are unique.
   * `commit(id)`/`release(id)` from anyone else still find it (see byId), at the cost of a scan.
   */
  holdAt(req: ReserveRequest, at: number): HoldResult {
    const now = this.tickAt(at);
    return this.holdKnown(req, now) ?? (this.reserveCore(req, now, false) as HoldResult);
  }

  /**
   * `holdAt` of the same item arrays as the last one (see Known): no Map lookup and no
   * validation, as these items passed it and their counters and windows are still the ones
   * found then. Undefined when that does not apply or a check fails (the full path then
   * builds the refusal).
   */
  private holdKnown(req: ReserveRequest, now: number): HoldResult | undefined {
    const k = this.known;
    if (k === undefined || k.items !== req.counters || k.windows !== req.windows || k.gen !== this.gen) return undefined;
    if (!(req.leaseMs > 0) || !Number.isFinite(req.leaseMs) || req.dryRun === true || typeof req.id !== 'string' || req.id === '')
      return undefined;
    const wins = req.windows;
    const found = k.found;
    if (wins !== undefined) {
      for (let i = 0; i < wins.length; i++) {
        const w = wins[i] as WindowItem;
        const count = (found[i] as WindowCounter).count(now);
        if (count + w.weight > w.limit || (w.weight === 0 && count >= w.limit)) return undefined;
      }
    }
    const items = req.counters;
    const cs = k.counters;
    const rooms = k.rooms;
    for (let i = 0; i < items.length; i++) {
      const it = items[i] as CounterItem;
      const c = cs[i] as Counter;
      if (c.held > (rooms[i] as bigint)) return undefined;
      if (it.cap === undefined) continue;
      const after = c.used + c.held + it.amount;
      if (after > it.cap || (it.amount === 0n && after >= it.cap)) return undefined;
    }
    if (wins !== undefined) for (let i = 0; i < wins.length; i++) (found[i] as WindowCounter).add(now, (wins[i] as WindowItem).weight);
    const list = new Array<Counter | bigint>(k.holds * 2);
    let n = 0;
    for (let i = 0; i < items.length; i++) {
      const it = items[i] as CounterItem;
      const c = cs[i] as Counter;
      if (it.expiresAt !== undefined && it.expiresAt > c.expiresAt) c.expiresAt = it.expiresAt;
      if (it.amount > 0n) {
        c.held += it.amount;
        list[n++] = c;
        list[n++] = it.amount;
      }
    }
    return this.hold(req.id, now + req.leaseMs, list, false);
  }

  /** Record a reservation holding `list`: under its lease and, if `indexed`, by id. */
  private hold(id: string, expiresAt: number, list: (Counter | bigint)[], indexed: boolean): HoldResult {
    const r: Reservation = { id, at: expiresAt, holds: list, done: false, indexed };
    if (indexed) this.reservations.set(id, r);
    else this.unindexed++;
    this.leases.push(r);
    return { ok: true, expiresAt, held: r };
  }

  /** A reserve at `now` (the store's time, after tickAt). */
  private reserveCore(req: ReserveRequest, now: number, indexed: boolean): ReserveResult | HoldResult {
    try {
      return this.reserveChecked(req, now, indexed);
    } finally {
      // Keep the scratch arrays' room, not what they point to.
      const found = this.foundWindows;
      for (let i = 0; i < found.length; i++) found[i] = undefined;
      const cs = this.foundCounters;
      for (let i = 0; i < cs.length; i++) cs[i] = undefined;
    }
  }

  /** The checks of a reserve (nothing written until all pass), then {@link MemoryStore.reserveWrite}. */
  private reserveChecked(req: ReserveRequest, now: number, indexed: boolean): ReserveResult | HoldResult {
    const items = req.counters;
    const wins = req.windows;
    if (!(req.leaseMs > 0) || !Number.isFinite(req.leaseMs))
      throw new InvalidInputError('leaseMs', 'must be a positive number of ms', req.leaseMs);
    let counts: number[] = EMPTY;
    // The windows and counters the checks looked up, for the writes after them (a second
    // Map lookup each): the store's own scratch arrays, as reserve never re-enters.
    const found = this.foundWindows;
    const cs = this.foundCounters;
    if (wins !== undefined && wins.length > 0) {
      // Sized up front: a push onto [] reserves room for 17 elements. Not for the governor's
      // holdAt (indexed false), which has no use for the counts.
      if (indexed) counts = new Array<number>(wins.length);
      for (let i = 0; i < wins.length; i++) {
        const w = wins[i]!;
        if (!(w.weight >= 0) || !Number.isFinite(w.weight))
          throw new InvalidInputError(`windows[${i}].weight`, 'must be a finite number >= 0', w.weight);
        const mode = w.mode ?? 'bucketed';
        const win = this.windows.get(w.key);
        let count = 0;
        if (win === undefined) {
          // Validated here, created only once every window and counter has passed: a refusal leaves nothing behind.
          validateWindowShape(w.windowMs, w.buckets, mode, `windows[${i}]`);
        } else {
          win.assertShape(w.windowMs, w.buckets, mode, `windows[${i}]`);
          count = win.count(now);
        }
        for (let j = 0; j < i; j++)
          if (wins[j]!.key === w.key) throw new InvalidInputError(`windows[${i}].key`, 'must be distinct within a request', w.key);
        if (count + w.weight > w.limit || (w.weight === 0 && count >= w.limit)) {
          // A zero-weight hit refused on a full window waits for one unit to free, never "retry now".
          const need = w.weight === 0 ? 1 : w.weight;
          const retryAfterMs = win !== undefined ? win.timeUntilFits(now, w.limit, need) : need > w.limit ? null : 0;
          return { ok: false, failure: { type: 'window', index: i, count, retryAfterMs } };
        }
        found[i] = win;
        if (indexed) counts[i] = count + w.weight;
      }
    }
    let holds = 0;
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (typeof it.amount !== 'bigint' || it.amount < 0n || it.amount > MAX_UNITS)
        throw new InvalidInputError(`counters[${i}].amount`, 'must be a bigint from 0 to 2^63 - 1', it.amount);
      if (it.cap !== undefined && (typeof it.cap !== 'bigint' || it.cap > MAX_UNITS || it.cap < MIN_UNITS))
        throw new InvalidInputError(`counters[${i}].cap`, 'must be a signed 64-bit bigint', it.cap);
      for (let j = 0; j < i; j++)
        if (items[j]!.key === it.key) throw new InvalidInputError(`counters[${i}].key`, 'must be distinct within a request', it.key);
      if (it.amount > 0n) holds++;
      if (it.cap === undefined) {
        cs[i] = undefined;
        continue;
      }
      const c = this.counters.get(it.key);
      cs[i] = c;
      const used = c === undefined ? 0n : c.used;
      const held = c === undefined ? 0n : c.held;
      const after = used + held + it.amount;
      if (after > it.cap || (it.amount === 0n && after >= it.cap)) {
        return { ok: false, failure: { type: 'counter', index: i, used, held } };
      }
    }
    return this.reserveWrite(req, now, indexed, holds, counts);
  }

  /** The writes of a reserve whose checks all passed: window hits, holds, the lease. */
  private reserveWrite(req: ReserveRequest, now: number, indexed: boolean, holds: number, counts: number[]): ReserveResult | HoldResult {
    const items = req.counters;
    const wins = req.windows;
    const found = this.foundWindows;
    const cs = this.foundCounters;
    const expiresAt = now + req.leaseMs;
    if (req.dryRun === true) return { ok: true, expiresAt, windowCounts: counts };
    if (holds > 0) {
      const id = req.id;
      if (typeof id !== 'string' || id === '') throw new InvalidInputError('id', 'must be a non-empty string when amounts are held', id);
      // Like Redis's INCRBY, a counter holds a signed 64-bit integer: refused before anything changes.
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        const c = cs[i] ?? this.counters.get(it.key);
        if (c !== undefined && c.held > MAX_UNITS - it.amount) throw overflow(i, it.amount);
      }
      if (indexed && this.byId(id) !== undefined) throw new InvalidInputError('id', 'is already a live reservation', id);
    }
    if (wins !== undefined) {
      for (let i = 0; i < wins.length; i++) {
        const w = wins[i]!;
        const win = found[i] ?? this.windows.get(w.key) ?? this.createWindow(w.key, w.windowMs, w.buckets, w.mode ?? 'bucketed');
        win.add(now, w.weight);
        found[i] = win;
      }
    }
    if (holds > 0) {
      const list = new Array<Counter | bigint>(holds * 2);
      // The governor's holds (not indexed) are remembered for the next one with the same items (see
      // Known) once they came twice in a row: calls on many scopes in turn would rebuild it each time.
      const again = !indexed && items === this.lastHoldItems;
      if (!indexed) this.lastHoldItems = items;
      const known = again ? new Array<Counter>(items.length) : undefined;
      let n = 0;
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        let c = cs[i] ?? this.counters.get(it.key);
        if (c === undefined) {
          c = { used: 0n, held: 0n, expiresAt: it.expiresAt ?? Infinity };
          this.counters.set(it.key, c);
        } else if (it.expiresAt !== undefined && it.expiresAt > c.expiresAt) {
          c.expiresAt = it.expiresAt;
        }
        if (known !== undefined) known[i] = c;
        if (it.amount > 0n) {
          c.held += it.amount;
          list[n++] = c;
          list[n++] = it.amount;
        }
      }
      if (known !== undefined) {
        const ws = wins === undefined ? [] : found.slice(0, wins.length);
        this.known = { items, windows: wins, counters: known, found: ws as WindowCounter[], holds, rooms: rooms(items), gen: this.gen };
      }
      const h = this.hold(req.id as string, expiresAt, list, indexed);
      if (!indexed) return h;
    }
    return indexed ? { ok: true, expiresAt, windowCounts: counts } : { ok: true, expiresAt, held: undefined };
  }

  commit(req: CommitRequest): CommitResult {
    return this.commitCore(req, this.tick(), undefined);
  }

  /** Internal, for the governor: `commit` at a time just read from this store's own clock. */
  commitAt(req: CommitRequest, at: number, call?: LedgerEntry, units?: CallUnits, id?: CallId): CommitResult {
    return this.commitCore(req, this.tickAt(at), undefined, call, units, this.commitOut, id);
  }

  /**
   * Internal, for the governor: `commitAt` of a reservation {@link MemoryStore.holdAt} handed
   * back (its id is `req.id`). `call`, instead of `req.ledger`: the call's entry, built by the
   * governor with exactly the fields of a LedgerEntry, so it may be kept by field (see appendCall),
   * with `units`, the units behind its usage and cost texts, if they fit, and `id`, its id as a
   * prefix and a number (see LedgerRing).
   */
  commitHeld(held: MemoryHold, req: CommitRequest, at: number, call?: LedgerEntry, units?: CallUnits, id?: CallId): CommitResult {
    return this.commitCore(req, this.tickAt(at), held as Reservation, call, units, this.commitOut, id);
  }

  /**
   * Internal, for the governor: append the entry of a governed call, built with exactly the
   * fields of a LedgerEntry. It is kept by field, not as the object (see {@link LedgerRing}):
   * queries hand back an equal new object. `id`: its id as a prefix and a number.
   */
  appendCall(entry: LedgerEntry, id?: CallId): void {
    this.ledger.pushFields(entry, undefined, id);
  }

  /** Internal, for the governor: `release` of a reservation {@link MemoryStore.holdAt} handed back. */
  releaseHeld(held: MemoryHold): boolean {
    this.tick();
    const r = held as Reservation;
    if (r.done) return false;
    this.finish(r);
    return true;
  }

  /**
   * Internal, for the governor: put a reservation {@link MemoryStore.holdAt} handed back into
   * the id index, for a `commit` or `release` by id (one replaced by a spy or subclass).
   */
  indexHeld(held: MemoryHold): void {
    const r = held as Reservation;
    if (r.indexed || r.done) return;
    r.indexed = true;
    this.unindexed--;
    this.reservations.set(r.id, r);
  }

  /**
   * The live reservation `id`: from the index, else (while the governor holds some by handle,
   * see holdAt) from the lease heap, so a `commit`/`release` by id still finds it; that search is
   * O(live reservations) and only runs when the index misses.
   */
  private byId(id: string): Reservation | undefined {
    const r = this.reservations.get(id);
    if (r !== undefined || this.unindexed === 0) return r;
    const h = this.leases.find((x) => x.id === id && !x.done && !x.indexed);
    if (h !== undefined) this.indexHeld(h);
    return h;
  }

  /**
   * A commit of the reservation `held` (by handle) or, when undefined, of the one indexed as
   * `req.id`. `out`: the result object to fill (the governor's internal commits, which read it
   * before the next one), else a new one.
   */
  private commitCore(
    req: CommitRequest,
    now: number,
    held: Reservation | undefined,
    call?: LedgerEntry,
    units?: CallUnits,
    out?: { found: boolean; used: bigint[] },
    id?: CallId,
  ): CommitResult {
    // The governor's commits (out given) of the same items as the last one: validated then, counters known (see Known).
    const kc = this.knownCommit;
    let known = out !== undefined && kc !== undefined && kc.items === req.counters && kc.gen === this.gen ? kc.counters : undefined;
    if (known !== undefined) {
      // A commit that would overflow a counter goes the full way, which refuses it.
      const cs = known;
      const rooms = (kc as KnownCommit).rooms;
      for (let i = 0; i < cs.length; i++) {
        if ((cs[i] as Counter).used > (rooms[i] as bigint)) {
          known = undefined;
          break;
        }
      }
    }
    if (known === undefined) {
      const items = req.counters;
      for (let i = 0; i < items.length; i++) {
        const a = items[i]!.amount;
        if (typeof a !== 'bigint' || a < 0n || a > MAX_UNITS)
          throw new InvalidInputError(`counters[${i}].amount`, 'must be a bigint from 0 to 2^63 - 1', a);
      }
      this.assertInRange(items, 'counters');
    }
    // Leases expired in the tick above are done: not found, as if taken out of the index.
    const r = held === undefined ? this.byId(req.id) : held.done ? undefined : held;
    const found = r !== undefined;
    if (found) this.finish(r);
    const items = req.counters;
    let used: bigint[];
    if (out === undefined) used = new Array<bigint>(items.length);
    else {
      used = out.used.length === items.length ? out.used : (out.used = new Array<bigint>(items.length));
      out.found = found;
    }
    if (known !== undefined) {
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        const c = known[i] as Counter;
        if (it.expiresAt !== undefined && it.expiresAt > c.expiresAt) c.expiresAt = it.expiresAt;
        c.used += it.amount;
        used[i] = c.used;
      }
    } else {
      // Remembered for the governor's next commit of these items (see Known) once it sent the same
      // array twice in a row (a usage it reported makes a new array each time), if the keys are distinct.
      const again = out !== undefined && items === this.lastCommitItems;
      if (out !== undefined) this.lastCommitItems = items;
      const cs = again && distinctKeys(items) ? new Array<Counter>(items.length) : undefined;
      for (let i = 0; i < items.length; i++) {
        const it = items[i]!;
        const c = this.counterFor(it.key, it.expiresAt);
        c.used += it.amount;
        used[i] = c.used;
        if (cs !== undefined) cs[i] = c;
      }
      if (cs !== undefined) this.knownCommit = { items, counters: cs, rooms: rooms(items), gen: this.gen };
    }
    if (req.windows !== undefined) this.adjustWindows(req.windows, now);
    if (req.ledger !== undefined) this.ledger.push(req.ledger);
    if (call !== undefined) this.ledger.pushFields(call, units, id);
    return out ?? { found, used };
  }

  release(id: string): boolean {
    this.tick();
    const r = this.byId(id);
    if (r === undefined) return false;
    this.finish(r);
    return true;
  }

  add(items: readonly { key: string; amount: bigint; expiresAt?: number | undefined }[]): bigint[] {
    this.tick();
    for (let i = 0; i < items.length; i++) {
      const a = items[i]!.amount;
      if (typeof a !== 'bigint' || a > MAX_UNITS || a < MIN_UNITS)
        throw new InvalidInputError(`items[${i}].amount`, 'must be a signed 64-bit bigint', a);
    }
    this.assertInRange(items, 'items');
    return items.map((it) => {
      const c = this.counterFor(it.key, it.expiresAt);
      c.used += it.amount;
      return c.used;
    });
  }

  read(keys: readonly string[]): CounterState[] {
    this.tick();
    return keys.map((k) => {
      const c = this.counters.get(k);
      return c === undefined ? ZERO_STATE : { used: c.used, held: c.held };
    });
  }

  readWindows(items: readonly WindowRead[]): WindowState[] {
    const now = this.tick();
    return items.map((it, i) => {
      const w = this.windows.get(it.key);
      if (w === undefined) {
        validateWindowShape(it.windowMs, it.buckets, it.mode ?? 'bucketed', `items[${i}]`);
        return { count: 0, retryAfterMs: it.limit >= 1 ? 0 : Infinity, resetMs: 0 };
      }
      w.assertShape(it.windowMs, it.buckets, it.mode ?? 'bucketed', `items[${i}]`);
      const count = w.count(now);
      const retryAfterMs = count + 1 <= it.limit ? 0 : (w.timeUntilFits(now, it.limit, 1) ?? Infinity);
      return { count, retryAfterMs, resetMs: w.timeUntilEmpty(now) };
    });
  }

  delete(keys: readonly string[]): number {
    let n = 0;
    for (const k of keys) {
      if (this.counters.delete(k)) n++;
      if (this.windows.delete(k)) n++;
    }
    if (n > 0) this.gen++;
    return n;
  }

  keys(prefix: string): string[] {
    this.tick();
    const out: string[] = [];
    for (const k of this.counters.keys()) if (k.startsWith(prefix)) out.push(k);
    for (const k of this.windows.keys()) if (k.startsWith(prefix)) out.push(k);
    return out;
  }

  appendLedger(entries: readonly LedgerEntry[]): void {
    for (const e of entries) this.ledger.push(e);
  }

  queryLedger(q: LedgerQuery): LedgerPage {
    const limit = q.limit ?? 1000;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidInputError('limit', 'must be a positive integer', q.limit);
    const ring = this.ledger;
    let seq = ring.start;
    if (q.cursor !== undefined) {
      const c = Number(q.cursor);
      if (!Number.isSafeInteger(c) || c < 0) throw new InvalidInputError('cursor', 'must be the next value of a previous page', q.cursor);
      seq = Math.max(seq, c);
    }
    const out: LedgerEntry[] = [];
    for (; seq < ring.count; seq++) {
      if (q.from !== undefined && ring.at(seq) < q.from) continue;
      if (q.to !== undefined && ring.at(seq) >= q.to) continue;
      if (q.kinds !== undefined && !q.kinds.includes(ring.kind(seq))) continue;
      if (q.statuses !== undefined && !q.statuses.includes(ring.status(seq))) continue;
      if (q.scope !== undefined && !scopeMatches(q.scope, ring.scope(seq))) continue;
      if (out.length === limit) return { entries: out, next: String(seq) };
      out.push(ring.entry(seq));
    }
    return { entries: out };
  }

  getValue(key: string): VersionedValue | undefined {
    return this.values.get(key);
  }

  compareAndSet(key: string, expectedVersion: number, value: string): { ok: boolean; current: VersionedValue } {
    if (typeof value !== 'string') throw new InvalidInputError('value', 'must be a string', value);
    const cur = this.values.get(key);
    const version = cur === undefined ? 0 : cur.version;
    if (version !== expectedVersion) return { ok: false, current: cur ?? { version: 0, value: '' } };
    const next = { version: version + 1, value };
    this.values.set(key, next);
    return { ok: true, current: next };
  }

  /** Drop every expired lease, idle window and expired counter now; returns how many keys went. */
  sweep(): number {
    const now = this.clock.now();
    // A half-finished incremental walk would keep the old table of a shrunk Map alive.
    this.counterSweep = undefined;
    this.windowSweep = undefined;
    this.expireLeases(now);
    let removed = 0;
    for (const [k, c] of this.counters) {
      if (c.held === 0n && c.expiresAt <= now) {
        this.counters.delete(k);
        removed++;
      }
    }
    for (const [k, w] of this.windows) {
      if (w.idleAt(now)) {
        this.windows.delete(k);
        removed++;
      }
    }
    if (removed > 0) this.gen++;
    return removed;
  }

  close(): void {
    // Nothing to release: no timers, no connections.
  }

  /** Internal: true when this store reads time from `clock`, so a time read from it may be passed to `reserveAt`/`commitAt`. */
  sharesClock(clock: Clock): boolean {
    return this.clock === clock;
  }

  private tick(): number {
    return this.tickAt(this.clock.now());
  }

  private tickAt(now: number): number {
    const top = this.leases.peek();
    if (top !== undefined && top.at <= now) this.expireLeases(now);
    if (++this.ops % SWEEP_EVERY === 0) this.sweepSome(now);
    return now;
  }

  private expireLeases(now: number): void {
    for (let top = this.leases.peek(); top !== undefined && top.at <= now; top = this.leases.peek()) {
      this.leases.pop();
      if (top.done) {
        this.deadLeases--;
        continue;
      }
      this.retire(top);
    }
  }

  /** Mark a reservation done, out of the index, its holds given back. */
  private retire(r: Reservation): void {
    r.done = true;
    if (r.indexed) this.reservations.delete(r.id);
    else this.unindexed--;
    const h = r.holds;
    for (let i = 0; i < h.length; i += 2) (h[i] as Counter).held -= h[i + 1] as bigint;
  }

  private finish(r: Reservation): void {
    this.retire(r);
    this.deadLeases++;
    // Calls mostly finish in the order they started: drop finished leases from the top at once.
    for (let top = this.leases.peek(); top !== undefined && top.done; top = this.leases.peek()) {
      this.leases.pop();
      this.deadLeases--;
    }
    // Finished reservations deeper in the heap stay until popped; rebuild when they dominate it.
    if (this.deadLeases > 64 && this.deadLeases * 2 > this.leases.size) {
      this.leases.filter((x) => !x.done);
      this.deadLeases = 0;
    }
  }

  private sweepSome(now: number): void {
    this.counterSweep ??= this.counters.entries();
    for (let i = 0; i < SWEEP_BATCH; i++) {
      const n = this.counterSweep.next();
      if (n.done === true) {
        this.counterSweep = undefined;
        break;
      }
      const [k, c] = n.value;
      if (c.held === 0n && c.expiresAt <= now) {
        this.counters.delete(k);
        this.gen++;
      }
    }
    this.windowSweep ??= this.windows.entries();
    for (let i = 0; i < SWEEP_BATCH; i++) {
      const n = this.windowSweep.next();
      if (n.done === true) {
        this.windowSweep = undefined;
        break;
      }
      if (n.value[1].idleAt(now)) {
        this.windows.delete(n.value[0]);
        this.gen++;
      }
    }
  }

  /**
   * Like Redis's INCRBY, a counter holds a signed 64-bit integer: throws (before anything
   * changes) if adding `items` in order would take one out of that range.
   */
  private assertInRange(items: readonly { readonly key: string; readonly amount: bigint }[], field: string): void {
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      let used = (this.counters.get(it.key)?.used ?? 0n) + it.amount;
      for (let j = 0; j < i; j++) if (items[j]!.key === it.key) used += items[j]!.amount;
      if (used > MAX_UNITS || used < MIN_UNITS) throw overflow(i, it.amount, field);
    }
  }

  private counterFor(key: string, expiresAt: number | undefined): Counter {
    let c = this.counters.get(key);
    if (c === undefined) {
      c = { used: 0n, held: 0n, expiresAt: expiresAt ?? Infinity };
      this.counters.set(key, c);
    } else if (expiresAt !== undefined && expiresAt > c.expiresAt) {
      c.expiresAt = expiresAt;
    }
    return c;
  }

  private createWindow(key: string, windowMs: number, buckets: number | undefined, mode: WindowMode): WindowCounter {
    const w = mode === 'exact' ? new LogWindow(windowMs, buckets) : new BucketWindow(windowMs, buckets);
    this.windows.set(key, w);
    return w;
  }

  private adjustWindows(adjs: readonly WindowAdjustment[], now: number): void {
    for (const a of adjs) {
      const w = this.windows.get(a.key);
      if (w !== undefined) w.adjust(now, a.at, a.delta);
    }
  }
}

const EMPTY: number[] = [];

/** An amount that would take a counter past the signed 64-bit range (what Redis's INCRBY refuses). */
function overflow(i: number, amount: bigint, field = 'counters'): InvalidInputError {
  return new InvalidInputError(`${field}[${i}].amount`, 'would take the counter past the signed 64-bit range', amount);
}

function distinctKeys(items: readonly { readonly key: string }[]): boolean {
  for (let i = 1; i < items.length; i++) for (let j = 0; j < i; j++) if (items[j]!.key === items[i]!.key) return false;
  return true;
}

/** MAX_UNITS minus each item's amount (see Known). */
function rooms(items: readonly { readonly amount: bigint }[]): bigint[] {
  return items.map((it) => MAX_UNITS - it.amount);
}
const ZERO_STATE: CounterState = Object.freeze({ used: 0n, held: 0n });
