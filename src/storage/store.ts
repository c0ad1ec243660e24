/**
 * The Store contract: a few atomic primitives, not get/set. Every amount is a `bigint`
 * at its meter's fixed scale (money in pico-units). A primitive may answer synchronously
 * (the in-memory store does, so the hot path skips microtasks) or with a promise (a
 * network store). Adapters must pass the conformance suite in `agent-governor/testing`.
 */
import { objectWith, type Scope } from '../core/index.js';

/** A value or a promise of it. */
export type Awaitable<T> = T | Promise<T>;

/** One counter touched by a reservation. */
export interface CounterItem {
  /** The counter's key. Keys in one request must be distinct. */
  readonly key: string;
  /** What to hold (>= 0). */
  readonly amount: bigint;
  /** Hard cap on `used + held + amount`; `undefined` counts without ever refusing. */
  readonly cap?: bigint | undefined;
  /** Epoch ms after which the counter, once idle (nothing held), may be dropped. */
  readonly expiresAt?: number | undefined;
}

/** One sliding-window hit of a reservation. */
export interface WindowItem {
  readonly key: string;
  /** Window length in ms; must be a multiple of `buckets`. */
  readonly windowMs: number;
  /** Most weight the window admits. */
  readonly limit: number;
  /** Weight of this hit (>= 0; 1 for a request, a token count for token limits). */
  readonly weight: number;
  /** Buckets per window (default 10): the count errs by at most one bucket's worth. */
  readonly buckets?: number | undefined;
  /** `'bucketed'` (default: fixed memory) or `'exact'` (a sliding log). A key keeps the shape it was created with. */
  readonly mode?: 'bucketed' | 'exact' | undefined;
}

/** Ask to hold amounts on counters and hit windows, all or none. */
export interface ReserveRequest {
  /** Reservation id; required when any counter amount is > 0 (and not a dry run). Must be unique while live. */
  readonly id?: string | undefined;
  readonly counters: readonly CounterItem[];
  readonly windows?: readonly WindowItem[] | undefined;
  /** Lease: the hold is released by itself this many ms after the reserve unless committed or released. */
  readonly leaseMs: number;
  /** Check only: answer as if reserving, change nothing. */
  readonly dryRun?: boolean | undefined;
}

/** Why a reservation was refused: the first item whose cap would be exceeded. */
export type ReserveFailure =
  | { readonly type: 'counter'; readonly index: number; readonly used: bigint; readonly held: bigint }
  | {
      readonly type: 'window';
      readonly index: number;
      readonly count: number;
      /** Ms until the hit would fit; `null` when it never can (weight > limit). */
      readonly retryAfterMs: number | null;
    };

/** The answer to a reserve. On `ok`, `windowCounts` are the window counts after the hit. */
export type ReserveResult =
  | { readonly ok: true; readonly expiresAt: number; readonly windowCounts: readonly number[] }
  | { readonly ok: false; readonly failure: ReserveFailure };

/** A correction of a window hit made at `at` (e.g. actual tokens minus the estimate). */
export interface WindowAdjustment {
  readonly key: string;
  readonly windowMs: number;
  readonly buckets?: number | undefined;
  readonly mode?: 'bucketed' | 'exact' | undefined;
  /** Signed change; a bucket never goes below 0. */
  readonly delta: number;
  /** Epoch ms of the original hit; ignored when that bucket has left the window. */
  readonly at: number;
}

/** Turn a reservation into usage at the actual amounts. */
export interface CommitRequest {
  readonly id: string;
  /** Amounts to add to `used` (any size: actual usage may exceed the estimate). */
  readonly counters: readonly { readonly key: string; readonly amount: bigint; readonly expiresAt?: number | undefined }[];
  readonly windows?: readonly WindowAdjustment[] | undefined;
  /** A ledger entry appended in the same atomic step. */
  readonly ledger?: LedgerEntry | undefined;
  /**
   * A hint: nobody waits for this answer now (the governor settles in the background), so a
   * store that batches may hold the commit back and send it with its next operation, as long
   * as operations still apply in the order they were made. Stores may ignore it.
   */
  readonly deferrable?: boolean | undefined;
}

/** The answer to a commit: `found` is false when the hold had already expired or was released (the usage still counts). */
export interface CommitResult {
  readonly found: boolean;
  /** `used` of each committed counter after the commit, in request order. */
  readonly used: readonly bigint[];
}

/** Used and held amounts of a counter. */
export interface CounterState {
  readonly used: bigint;
  readonly held: bigint;
}

/** The state of a window for a given limit. */
export interface WindowState {
  readonly count: number;
  /** Ms until one more unit fits under the limit; 0 when it fits now. */
  readonly retryAfterMs: number;
  /** Ms until the window is empty; 0 when it is. */
  readonly resetMs: number;
}

/** A window to read. */
export interface WindowRead {
  readonly key: string;
  readonly windowMs: number;
  readonly limit: number;
  readonly buckets?: number | undefined;
  readonly mode?: 'bucketed' | 'exact' | undefined;
}

/** The outcome of a governed operation. */
export type LedgerStatus = 'ok' | 'error' | 'refused' | 'released';

/** One record of the ledger: a settled, failed or refused call, or an audit record. Plain JSON. */
export interface LedgerEntry {
  readonly id: string;
  /** Epoch ms. */
  readonly at: number;
  /** `call` for governed operations; other kinds (e.g. `budget.changed`) for audit records. */
  readonly kind: string;
  readonly status: LedgerStatus;
  readonly scope: Scope;
  readonly name?: string | undefined;
  readonly provider?: string | undefined;
  readonly model?: string | undefined;
  /** Usage per meter as decimal strings. */
  readonly usage: { readonly [meter: string]: string };
  /** Money charged, a decimal string in `currency`. */
  readonly cost: string;
  readonly currency: string;
  /** True when the usage was estimated rather than reported. */
  readonly estimated?: boolean | undefined;
  readonly durationMs?: number | undefined;
  /** Refusal or error code. */
  readonly code?: string | undefined;
  readonly message?: string | undefined;
  readonly data?: { readonly [key: string]: unknown } | undefined;
}

/** A query of the ledger. Entries come oldest first. */
export interface LedgerQuery {
  /** Entries whose scope falls within this one (every level given must match). */
  readonly scope?: Scope | undefined;
  /** From this epoch ms, inclusive. */
  readonly from?: number | undefined;
  /** Until this epoch ms, exclusive. */
  readonly to?: number | undefined;
  readonly kinds?: readonly string[] | undefined;
  readonly statuses?: readonly LedgerStatus[] | undefined;
  /** Page size (default 1000). */
  readonly limit?: number | undefined;
  /** The `next` of the previous page. */
  readonly cursor?: string | undefined;
}

/** One page of ledger entries; `next` is set when more may follow. */
export interface LedgerPage {
  readonly entries: readonly LedgerEntry[];
  readonly next?: string | undefined;
}

/** A versioned opaque value (breaker state). Version 0 means absent. */
export interface VersionedValue {
  readonly version: number;
  readonly value: string;
}

/** The store contract. See docs/storage.md for the semantics an adapter must keep. */
export interface Store {
  /**
   * Check every window, then every counter cap (each in request order; the first that fails is
   * reported), then hold every amount and record every hit: all or none.
   */
  reserve(request: ReserveRequest): Awaitable<ReserveResult>;
  /** Drop the reservation's hold and add the actual amounts to `used`, atomically with the ledger entry. */
  commit(request: CommitRequest): Awaitable<CommitResult>;
  /** Drop a reservation's hold without charging. True when it was live. */
  release(id: string): Awaitable<boolean>;
  /** Add signed amounts to `used` unconditionally; returns the new values. */
  add(
    items: readonly { readonly key: string; readonly amount: bigint; readonly expiresAt?: number | undefined }[],
  ): Awaitable<readonly bigint[]>;
  /** Read counters (absent counters read as zero). */
  read(keys: readonly string[]): Awaitable<readonly CounterState[]>;
  /** Read windows: the count in each and the time until one more unit fits under `limit`. */
  readWindows(items: readonly WindowRead[]): Awaitable<readonly WindowState[]>;
  /** Delete counters and windows; returns how many existed. */
  delete(keys: readonly string[]): Awaitable<number>;
  /** Keys of the counters and windows that start with `prefix`. */
  keys(prefix: string): Awaitable<readonly string[]>;
  /** Append ledger entries. */
  appendLedger(entries: readonly LedgerEntry[]): Awaitable<void>;
  /** Read ledger entries, oldest first, a page at a time. */
  queryLedger(query: LedgerQuery): Awaitable<LedgerPage>;
  /** Read a versioned value (breaker state). */
  getValue(key: string): Awaitable<VersionedValue | undefined>;
  /**
   * Set `key` to `value` if its version is `expectedVersion` (0: absent). Returns the
   * stored value afterwards: the new one with version + 1 on success, the current one otherwise.
   */
  compareAndSet(key: string, expectedVersion: number, value: string): Awaitable<{ readonly ok: boolean; readonly current: VersionedValue }>;
  /**
   * Optional: drop every expired lease, idle window and expired counter now; returns how
   * many keys were removed. Stores that expire keys on their own (Redis TTLs) may omit it.
   */
  sweep?(): Awaitable<number>;
  /** Release resources (timers, connections). The store must not be used afterwards. */
  close(): Awaitable<void>;
}

/** A Store option, checked structurally (an object with `reserve`, `commit` and `queryLedger`), so a user's own adapter passes. */
export const storeSchema = objectWith<Store>(
  ['reserve', 'commit', 'queryLedger'],
  'a Store (an object with reserve, commit, release, ...)',
);
