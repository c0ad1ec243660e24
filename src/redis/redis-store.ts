/**
 * `RedisStore`: the Store contract over Redis, shared by every process that uses the same
 * prefix. Each primitive is one operation of a Lua script (see scripts.ts), so a guarded call
 * costs one round trip to admit and one to settle, whatever the number of limits and scopes;
 * and the operations of concurrent callers travel together, one script call per batch.
 */
import { InvalidInputError, MAX_UNITS, MIN_UNITS, scopeMatches, type Clock } from '../core/index.js';
import {
  validateWindowShape,
  type CommitRequest,
  type CommitResult,
  type CounterState,
  type LedgerEntry,
  type LedgerPage,
  type LedgerQuery,
  type ReserveRequest,
  type ReserveResult,
  type Store,
  type VersionedValue,
  type WindowRead,
  type WindowState,
} from '../storage/index.js';
import { Connection, type RedisClient } from './connection.js';
import type { OpName } from './scripts.js';

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** An ioredis client or cluster (v5+), or a node-redis client (v4+). The store does not close it. */
  client: RedisClient;
  /**
   * Prefix of every key, without braces (default `'ag'`). Keys are `{prefix}:...`: the braces
   * make them one Redis Cluster hash slot, so multi-key scripts work on Cluster. Processes that
   * share limits use the same prefix; use several prefixes to spread tenants over a cluster.
   */
  prefix?: string;
  /**
   * Time of leases and windows: `'server'` (default: the Redis server's `TIME`, so hosts whose
   * clocks disagree still agree on windows and leases) or a `Clock` (tests pass a `ManualClock`).
   */
  clock?: 'server' | Clock;
  /** Ms to wait for Redis before a command fails with `RedisTimeoutError` (default 1000; 0: no timeout). */
  commandTimeoutMs?: number;
  /** Ledger entries kept in the stream (approximately, `XADD MAXLEN ~`; default 100,000). */
  ledgerMaxLen?: number;
  /**
   * Batches sent to Redis at a time (default 2). Operations that arrive while that many batches
   * are on their way wait and go together in the next one, so under load many calls share a
   * round trip and a script call; with 2, Redis runs one batch while Node handles the answers of
   * the other and gathers the next, so neither sits idle waiting for the other.
   */
  maxInFlight?: number;
}

/** Operations per script call at most (a bigger queue goes in several batches). */
/**
 * The fewest operations a batch, or what is left after it, is cut down to when the work is
 * shared between the batches in flight (see flush): below that, a batch's fixed cost in Redis
 * outweighs the overlap.
 */
const MIN_SHARE = 16;
const MAX_BATCH = 256;

interface QueuedOp {
  readonly name: OpName;
  readonly now: string;
  readonly args: readonly string[];
  /**
   * A reserve's or commit's arguments other than its id (and ledger entry), as one string (each
   * field `<UTF-8 byte length>:<field>`): sent once per batch for all the operations of that
   * name with the same arguments, which then send only the template's number.
   */
  readonly tpl?: string | undefined;
  readonly resolve: (reply: unknown) => void;
  readonly reject: (error: unknown) => void;
}

const OPTION_KEYS = new Set(['client', 'prefix', 'clock', 'commandTimeoutMs', 'ledgerMaxLen', 'maxInFlight']);
const GLOB = /[*?[\]\\]/g;

/** The Store contract over Redis: each primitive one operation of a batched Lua script, atomic across processes. */
export class RedisStore implements Store {
  /** The key prefix with its hash tag, e.g. `{ag}:`. */
  readonly keyPrefix: string;
  private readonly conn: Connection;
  private readonly clock: Clock | undefined;
  private readonly maxLen: string;
  private readonly maxLenField: string;
  private readonly route: string;
  private readonly maxInFlight: number;
  private queue: QueuedOp[] = [];
  private inFlight = 0;
  /** Operations in the batches on their way. */
  private inFlightOps = 0;
  private scheduled = false;
  private idle: (() => void)[] = [];
  private deferred = false;
  /** The previous reserve's (commit's) template values and text (see reserve). */
  private lastReserve: { readonly vals: readonly unknown[]; readonly tpl: string } | undefined;
  private lastCommit: { readonly vals: readonly unknown[]; readonly tpl: string } | undefined;

  constructor(options: RedisStoreOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidInputError('options', 'must be an object', options);
    for (const k in options)
      if (!OPTION_KEYS.has(k))
        throw new InvalidInputError(`options.${k}`, 'is not a known option', (options as unknown as Record<string, unknown>)[k]);
    const prefix = options.prefix ?? 'ag';
    if (typeof prefix !== 'string' || prefix === '' || /[{}]/.test(prefix))
      throw new InvalidInputError('prefix', 'must be a non-empty string without braces', prefix);
    const timeout = options.commandTimeoutMs ?? 1000;
    if (!Number.isSafeInteger(timeout) || timeout < 0)
      throw new InvalidInputError('commandTimeoutMs', 'must be a whole number of ms >= 0', options.commandTimeoutMs);
    const maxLen = options.ledgerMaxLen ?? 100_000;
    if (!Number.isSafeInteger(maxLen) || maxLen < 1)
      throw new InvalidInputError('ledgerMaxLen', 'must be a positive integer', options.ledgerMaxLen);
    const maxInFlight = options.maxInFlight ?? 2;
    if (!Number.isSafeInteger(maxInFlight) || maxInFlight < 1)
      throw new InvalidInputError('maxInFlight', 'must be a positive integer', options.maxInFlight);
    const clock = options.clock ?? 'server';
    if (clock !== 'server' && (clock === null || typeof clock !== 'object' || typeof clock.now !== 'function'))
      throw new InvalidInputError('clock', "must be 'server' or a Clock", clock);
    if (options.client === null || typeof options.client !== 'object')
      throw new InvalidInputError('client', 'must be an ioredis or node-redis client', options.client);
    try {
      this.conn = new Connection(options.client, timeout);
    } catch (e) {
      throw new InvalidInputError('client', (e as Error).message, options.client);
    }
    this.keyPrefix = `{${prefix}}:`;
    this.route = `${this.keyPrefix}leases`;
    this.clock = clock === 'server' ? undefined : clock;
    this.maxLen = String(maxLen);
    this.maxLenField = field(this.maxLen);
    this.maxInFlight = maxInFlight;
  }

  /** The Redis key of the ledger stream (for export with `XRANGE`, see docs/redis.md). */
  get ledgerKey(): string {
    return `${this.keyPrefix}ledger`;
  }

  async reserve(req: ReserveRequest): Promise<ReserveResult> {
    if (!(req.leaseMs > 0) || !Number.isFinite(req.leaseMs))
      throw new InvalidInputError('leaseMs', 'must be a positive number of ms', req.leaseMs);
    const items = req.counters;
    const wins = req.windows ?? [];
    // The template's values, compared with the previous reserve's: a process mostly repeats its
    // requests, and then the template's text is not built again.
    const vals: unknown[] = [Math.ceil(req.leaseMs), req.dryRun === true, items.length, wins.length];
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (typeof it.amount !== 'bigint' || it.amount < 0n || it.amount > MAX_UNITS)
        throw new InvalidInputError(`counters[${i}].amount`, 'must be a bigint from 0 to 2^63 - 1', it.amount);
      if (it.cap !== undefined && (typeof it.cap !== 'bigint' || it.cap > MAX_UNITS || it.cap < MIN_UNITS))
        throw new InvalidInputError(`counters[${i}].cap`, 'must be a signed 64-bit bigint', it.cap);
      for (let j = 0; j < i; j++)
        if (items[j]!.key === it.key) throw new InvalidInputError(`counters[${i}].key`, 'must be distinct within a request', it.key);
      vals.push(it.key, it.amount, it.cap, expiry(it.expiresAt, `counters[${i}].expiresAt`));
    }
    for (let i = 0; i < wins.length; i++) {
      const w = wins[i]!;
      if (!(w.weight >= 0) || !Number.isFinite(w.weight))
        throw new InvalidInputError(`windows[${i}].weight`, 'must be a finite number >= 0', w.weight);
      if (typeof w.limit !== 'number' || Number.isNaN(w.limit))
        throw new InvalidInputError(`windows[${i}].limit`, 'must be a number', w.limit);
      const mode = w.mode ?? 'bucketed';
      validateWindowShape(w.windowMs, w.buckets, mode, `windows[${i}]`);
      for (let j = 0; j < i; j++)
        if (wins[j]!.key === w.key) throw new InvalidInputError(`windows[${i}].key`, 'must be distinct within a request', w.key);
      vals.push(w.key, w.windowMs, w.limit, w.weight, w.buckets ?? 10, mode === 'exact' ? 'e' : 'b');
    }
    let tpl: string;
    const last = this.lastReserve;
    if (last !== undefined && sameValues(vals, last.vals)) tpl = last.tpl;
    else {
      tpl = reserveTemplate(vals, items.length, wins.length);
      this.lastReserve = { vals, tpl };
    }
    const r = (await this.run('reserve', [req.id ?? ''], false, tpl)) as unknown[];
    if (r[0] === 1) {
      const counts: number[] = [];
      for (let i = 2; i < r.length; i++) counts.push(Number(r[i]));
      return { ok: true, expiresAt: Number(r[1]), windowCounts: counts };
    }
    if (r[0] === 0) {
      const index = Number(r[2]);
      if (r[1] === 'w') {
        return { ok: false, failure: { type: 'window', index, count: Number(r[3]), retryAfterMs: r[4] === '' ? null : Number(r[4]) } };
      }
      return { ok: false, failure: { type: 'counter', index, used: BigInt(r[3] as string), held: BigInt(r[4] as string) } };
    }
    throw this.scriptError(r, 'windows', 'counters', req.id, items);
  }

  async commit(req: CommitRequest): Promise<CommitResult> {
    const cs = req.counters;
    const ws = req.windows ?? [];
    const ledger = req.ledger === undefined ? '' : JSON.stringify(req.ledger);
    const vals: unknown[] = [cs.length, ws.length];
    for (let i = 0; i < cs.length; i++) {
      const c = cs[i]!;
      if (typeof c.amount !== 'bigint' || c.amount < 0n || c.amount > MAX_UNITS)
        throw new InvalidInputError(`counters[${i}].amount`, 'must be a bigint from 0 to 2^63 - 1', c.amount);
      vals.push(c.key, c.amount, expiry(c.expiresAt, `counters[${i}].expiresAt`));
    }
    for (let i = 0; i < ws.length; i++) {
      const w = ws[i]!;
      if (!Number.isFinite(w.delta)) throw new InvalidInputError(`windows[${i}].delta`, 'must be a finite number', w.delta);
      if (!Number.isFinite(w.at)) throw new InvalidInputError(`windows[${i}].at`, 'must be epoch ms', w.at);
      vals.push(w.key, w.delta, Math.floor(w.at));
    }
    let tpl: string;
    const last = this.lastCommit;
    if (last !== undefined && sameValues(vals, last.vals)) tpl = last.tpl;
    else {
      tpl = commitTemplate(vals, cs.length, ws.length, this.maxLenField);
      this.lastCommit = { vals, tpl };
    }
    const r = (await this.run('commit', [req.id, ledger], req.deferrable === true, tpl)) as unknown[];
    if (r[0] === -1) throw this.scriptError(r, 'windows', 'counters', req.id, cs);
    const used: bigint[] = [];
    for (let i = 1; i < r.length; i++) used.push(BigInt(r[i] as string));
    return { found: r[0] === 1, used };
  }

  async release(id: string): Promise<boolean> {
    if (typeof id !== 'string') throw new InvalidInputError('id', 'must be a string', id);
    return (await this.run('release', [id])) === 1;
  }

  async add(
    items: readonly { readonly key: string; readonly amount: bigint; readonly expiresAt?: number | undefined }[],
  ): Promise<bigint[]> {
    const args = [String(items.length)];
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (typeof it.amount !== 'bigint' || it.amount > MAX_UNITS || it.amount < MIN_UNITS)
        throw new InvalidInputError(`items[${i}].amount`, 'must be a signed 64-bit bigint', it.amount);
      args.push(it.key, String(it.amount), expiry(it.expiresAt, `items[${i}].expiresAt`));
    }
    const r = (await this.run('add', args)) as unknown[];
    if (r[0] === -1) throw this.scriptError(r, 'windows', 'items', undefined, items);
    return r.map((v) => BigInt(v as string));
  }

  async read(keys: readonly string[]): Promise<CounterState[]> {
    const r = (await this.run('read', [...keys])) as string[];
    const out: CounterState[] = [];
    for (let i = 0; i < r.length; i += 2) out.push({ used: BigInt(r[i]!), held: BigInt(r[i + 1]!) });
    return out;
  }

  async readWindows(items: readonly WindowRead[]): Promise<WindowState[]> {
    const args: string[] = [];
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      const mode = it.mode ?? 'bucketed';
      validateWindowShape(it.windowMs, it.buckets, mode, `items[${i}]`);
      args.push(it.key, String(it.windowMs), num(it.limit), String(it.buckets ?? 10), mode === 'exact' ? 'e' : 'b');
    }
    const r = (await this.run('readWindows', args)) as unknown[];
    if (r[0] === -1) throw this.scriptError(r, 'items', 'items');
    const out: WindowState[] = [];
    for (let i = 0; i < r.length; i += 3) {
      out.push({ count: Number(r[i]), retryAfterMs: r[i + 1] === 'inf' ? Infinity : Number(r[i + 1]), resetMs: Number(r[i + 2]) });
    }
    return out;
  }

  async delete(keys: readonly string[]): Promise<number> {
    return Number(await this.run('delete', [...keys]));
  }

  async keys(prefix: string): Promise<string[]> {
    const pattern = `${this.keyPrefix.replace(GLOB, '\\$&')}[cw]:${prefix.replace(GLOB, '\\$&')}*`;
    const out: string[] = [];
    let cursor = '0';
    do {
      const r = (await this.run('scanKeys', [cursor, pattern, '1000'])) as string[];
      cursor = r[0]!;
      for (let i = 1; i < r.length; i++) out.push(r[i]!);
    } while (cursor !== '0');
    return [...new Set(out)];
  }

  async appendLedger(entries: readonly LedgerEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.run('appendLedger', [this.maxLen, ...entries.map((e) => JSON.stringify(e))]);
  }

  /**
   * Read ledger entries oldest first. Filters are applied as the stream is read, a batch at a
   * time; `next` is the stream id to resume from.
   */
  async queryLedger(q: LedgerQuery): Promise<LedgerPage> {
    const limit = q.limit ?? 1000;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidInputError('limit', 'must be a positive integer', q.limit);
    if (q.cursor !== undefined && !/^\d+-\d+$/.test(q.cursor))
      throw new InvalidInputError('cursor', 'must be the next value of a previous page', q.cursor);
    const out: LedgerEntry[] = [];
    let start = q.cursor ?? '-';
    const batch = String(Math.min(1000, limit + 1));
    for (;;) {
      const rows = (await this.run('xrange', [start, batch])) as [string, string[]][];
      for (const [id, fields] of rows) {
        const e = JSON.parse(fields[1] as string) as LedgerEntry;
        if (!matches(q, e)) continue;
        if (out.length === limit) return { entries: out, next: id };
        out.push(e);
      }
      if (rows.length < Number(batch)) return { entries: out };
      start = `(${rows[rows.length - 1]![0]}`;
    }
  }

  /** Every ledger entry matching `query`, oldest first, read a page at a time (for export). */
  async *ledgerEntries(query: Omit<LedgerQuery, 'cursor'> = {}): AsyncGenerator<LedgerEntry> {
    let cursor: string | undefined;
    do {
      const page = await this.queryLedger({ ...query, cursor });
      yield* page.entries;
      cursor = page.next;
    } while (cursor !== undefined);
  }

  async getValue(key: string): Promise<VersionedValue | undefined> {
    const r = (await this.run('getValue', [key])) as (string | null)[];
    return r[0] === null || r[0] === undefined ? undefined : { version: Number(r[0]), value: r[1] ?? '' };
  }

  async compareAndSet(key: string, expectedVersion: number, value: string): Promise<{ ok: boolean; current: VersionedValue }> {
    if (typeof value !== 'string') throw new InvalidInputError('value', 'must be a string', value);
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0)
      throw new InvalidInputError('expectedVersion', 'must be a whole number >= 0', expectedVersion);
    const r = (await this.run('compareAndSet', [key, String(expectedVersion), value])) as [number, number, string];
    return { ok: r[0] === 1, current: { version: Number(r[1]), value: r[2] } };
  }

  /** Return the amounts of every expired lease now (scripts also do it as they go, a batch at a time); returns how many. */
  async sweep(): Promise<number> {
    return Number(await this.run('sweep', []));
  }

  /**
   * Send what is queued, wait for every answer, then stop the timeout timer. The client is the
   * caller's: quit it yourself after this (`client.quit()`), or queued writes are lost.
   */
  async close(): Promise<void> {
    while (this.queue.length > 0 || this.inFlight > 0) {
      const idle = new Promise<void>((resolve) => this.idle.push(resolve));
      this.schedule();
      await idle;
    }
    this.conn.close();
  }

  /**
   * Queue one operation. Operations queued in the same turn of the event loop, and those that
   * arrive while `maxInFlight` batches are on their way, go to Redis together as one script
   * call, in the order they were queued (so a read sees this store's earlier writes).
   */
  private run(name: OpName, args: string[], deferrable = false, tpl?: string): Promise<unknown> {
    const now = this.clock === undefined ? '' : String(Math.floor(this.clock.now()));
    return new Promise((resolve, reject) => {
      this.queue.push({ name, now, args, tpl, resolve, reject });
      if (deferrable) this.later();
      else this.schedule();
    });
  }

  private schedule(): void {
    if (this.queue.length === 0 && this.inFlight === 0 && this.idle.length > 0) {
      const idle = this.idle;
      this.idle = [];
      for (const resolve of idle) resolve();
    }
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.maxInFlight) return;
    this.scheduled = true;
    queueMicrotask(this.flush);
  }

  /**
   * A deferrable operation (a background commit) waits for the next one that is not, so both
   * go in one round trip; if none comes within this turn of the event loop, it goes alone.
   */
  private later(): void {
    if (this.deferred) return;
    this.deferred = true;
    setImmediate(() => {
      this.deferred = false;
      this.schedule();
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const q = this.queue;
      // A batch takes its share of the operations queued and in flight, if that leaves both it
      // and the rest MIN_SHARE or more. Many callers that all wait on one batch would otherwise
      // send their next operations together too: Node and Redis would take turns, each idle
      // while the other works. Shared, one batch runs in Redis while Node answers the other's callers.
      let n = Math.min(q.length, MAX_BATCH);
      const share = Math.ceil((q.length + this.inFlightOps) / this.maxInFlight);
      if (share < n && share >= MIN_SHARE && n - share >= MIN_SHARE) n = share;
      this.queue = q.length > n ? q.slice(n) : [];
      this.send(q.length > n ? q.slice(0, n) : q);
    }
  };

  private send(ops: readonly QueuedOp[]): void {
    // ARGV: the prefix, the number of templates, the templates (name, text), the operations.
    const argv = [this.keyPrefix, '0'];
    const body: string[] = [];
    // Templates by text, and the last one of each name: consecutive reserves (commits) of a
    // batch mostly repeat one request, found by one string compare.
    let reserves: Map<string, string> | undefined;
    let commits: Map<string, string> | undefined;
    let count = 0;
    let lastReserve: string | undefined;
    let lastCommit: string | undefined;
    let reserveT = '';
    let commitT = '';
    for (const op of ops) {
      const tpl = op.tpl;
      if (tpl === undefined) body.push(op.name, op.now, String(op.args.length));
      else {
        const reserve = op.name === 'reserve';
        let t: string | undefined;
        if (reserve ? tpl === lastReserve : tpl === lastCommit) t = reserve ? reserveT : commitT;
        else {
          const known = reserve ? (reserves ??= new Map()) : (commits ??= new Map());
          t = known.get(tpl);
          if (t === undefined) {
            t = String(++count);
            known.set(tpl, t);
            argv.push(op.name, tpl);
          }
          if (reserve) {
            lastReserve = tpl;
            reserveT = t;
          } else {
            lastCommit = tpl;
            commitT = t;
          }
        }
        // On the server's time the short form: 'R' or 'C', the template, then the arguments.
        if (op.now === '') body.push(reserve ? 'R' : 'C', t);
        else body.push(op.name, op.now, String(op.args.length + 1), t);
      }
      for (const a of op.args) body.push(a);
    }
    if (count > 0) argv[1] = String(count);
    for (const a of body) argv.push(a);
    this.inFlight++;
    this.inFlightOps += ops.length;
    this.conn.script('batch', this.route, argv).then(
      (reply) => {
        this.inFlight--;
        this.inFlightOps -= ops.length;
        if (!Array.isArray(reply) || reply.length !== ops.length) {
          const e = new Error(`RedisStore: a batch of ${ops.length} operations got an unexpected reply`);
          for (const op of ops) op.reject(e);
        } else {
          for (let i = 0; i < ops.length; i++) {
            const r: unknown = reply[i];
            // An operation the script could not run (a Redis error inside it) fails alone.
            if (Array.isArray(r) && r[0] === '!err') ops[i]!.reject(new Error(String(r[1])));
            else ops[i]!.resolve(r);
          }
        }
        this.schedule();
      },
      (e: unknown) => {
        this.inFlight--;
        this.inFlightOps -= ops.length;
        for (const op of ops) op.reject(e);
        this.schedule();
      },
    );
  }

  /** The error of a script's refusal; `items`: the request's counters, whose amount an overflow echoes. */
  private scriptError(
    r: unknown[],
    windowField: string,
    counterField: string,
    id?: string,
    items?: readonly { readonly amount: bigint }[],
  ): InvalidInputError {
    const index = Number(r[2]);
    switch (r[1]) {
      case 'shape': {
        const mode = r[3] === 'e' ? 'exact' : 'bucketed';
        return new InvalidInputError(
          `${windowField}[${index}].windowMs`,
          `does not match the existing ${mode} window of ${String(r[4])} ms in ${String(r[5])} buckets`,
          undefined,
        );
      }
      case 'noid':
        return new InvalidInputError('id', 'must be a non-empty string when amounts are held', id);
      case 'dupid':
        return new InvalidInputError('id', 'is already a live reservation', id);
      case 'overflow':
        return new InvalidInputError(
          `${counterField}[${index}].amount`,
          'would take the counter past the signed 64-bit range',
          items?.[index]?.amount,
        );
      default:
        return new InvalidInputError('request', `was refused by the store (${String(r[1])})`, undefined);
    }
  }
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A reserve template's text from its values: leaseMs, dryRun, nCounters, nWindows, (key, amount,
 * cap, expiresAt)*, (key, windowMs, limit, weight, buckets, mode)* (the script's PARSE.reserve).
 */
function reserveTemplate(v: readonly unknown[], nc: number, nw: number): string {
  let t = `${field(String(v[0]))}${v[1] === true ? '1:1' : '1:0'}${field(String(nc))}${field(String(nw))}`;
  let i = 4;
  for (let c = 0; c < nc; c++, i += 4) {
    const cap = v[i + 2] as bigint | undefined;
    t += `${keyField(v[i] as string)}${field(String(v[i + 1]))}${cap === undefined ? '0:' : field(String(cap))}${field(v[i + 3] as string)}`;
  }
  for (let w = 0; w < nw; w++, i += 6) {
    t += `${keyField(v[i] as string)}${field(String(v[i + 1]))}${field(num(v[i + 2] as number))}${field(num(v[i + 3] as number))}${field(String(v[i + 4]))}1:${v[i + 5] as string}`;
  }
  return t;
}

/** A commit template's text: nCounters, nWindows, maxLen, (key, amount, expiresAt)*, (key, delta, at)* (PARSE.commit). */
function commitTemplate(v: readonly unknown[], nc: number, nw: number, maxLenField: string): string {
  let t = `${field(String(nc))}${field(String(nw))}${maxLenField}`;
  let i = 2;
  for (let c = 0; c < nc; c++, i += 3) t += `${keyField(v[i] as string)}${field(String(v[i + 1]))}${field(v[i + 2] as string)}`;
  for (let w = 0; w < nw; w++, i += 3) t += `${keyField(v[i] as string)}${field(num(v[i + 1] as number))}${field(String(v[i + 2]))}`;
  return t;
}

/** A template's field: `<UTF-8 byte length>:<field>` (an ASCII field: its length is its byte count). */
function field(s: string): string {
  return `${s.length}:${s}`;
}

/** A key as a template field: keys may hold any character, so the length is counted in UTF-8 bytes. */
function keyField(s: string): string {
  return `${Buffer.byteLength(s)}:${s}`;
}

function expiry(at: number | undefined, field: string): string {
  if (at === undefined || at === Infinity) return '';
  if (!Number.isFinite(at)) throw new InvalidInputError(field, 'must be epoch ms', at);
  return String(Math.ceil(at));
}

/** A number as Lua reads it back exactly. */
function num(x: number): string {
  return x === Infinity ? 'inf' : x === -Infinity ? '-inf' : String(x);
}

function matches(q: LedgerQuery, e: LedgerEntry): boolean {
  if (q.from !== undefined && e.at < q.from) return false;
  if (q.to !== undefined && e.at >= q.to) return false;
  if (q.kinds !== undefined && !q.kinds.includes(e.kind)) return false;
  if (q.statuses !== undefined && !q.statuses.includes(e.status)) return false;
  if (q.scope !== undefined && !scopeMatches(q.scope, e.scope)) return false;
  return true;
}
