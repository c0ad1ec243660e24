// RedisStore beyond the conformance suite: exact 64-bit money where Lua doubles would be wrong,
// the server's clock, TTLs and key layout, NOSCRIPT recovery, command timeouts, the capped ledger.
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_UNITS, StoreUnavailableError, createGovernor, type LedgerEntry } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { RedisStore, RedisTimeoutError } from 'agent-governor/redis';
import { connectRedis, dropPrefix, freshPrefix } from './redis-helpers.js';

let client: Redis;
let prefix: string;
let store: RedisStore;
const clock = new ManualClock(Date.UTC(2026, 0, 5));

beforeAll(async () => {
  client = await connectRedis();
});
afterAll(async () => {
  await client?.quit();
});
afterEach(async () => {
  store?.close();
  await dropPrefix(client, prefix);
});
function fresh(options: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}): RedisStore {
  prefix = freshPrefix('store');
  store = new RedisStore({ client, prefix, clock, ...options });
  return store;
}

describe('RedisStore money is exact past 2^53', () => {
  it('refuses 2^53 + 1 against a cap of 2^53, which doubles would round to equal', async () => {
    const s = fresh();
    const p53 = 2n ** 53n;
    await s.add([{ key: 'k', amount: p53 }]);
    const r = await s.reserve({ id: 'r1', counters: [{ key: 'k', amount: 1n, cap: p53 }], leaseMs: 1000 });
    expect(r).toEqual({ ok: false, failure: { type: 'counter', index: 0, used: p53, held: 0n } });
    expect((await s.reserve({ id: 'r2', counters: [{ key: 'k', amount: 1n, cap: p53 + 1n }], leaseMs: 1000 })).ok).toBe(true);
    expect(await s.read(['k'])).toEqual([{ used: p53, held: 1n }]);
  });

  it('holds to the last unit below 2^63 - 1 and refuses one more', async () => {
    const s = fresh();
    await s.add([{ key: 'm', amount: MAX_UNITS - 7n }]);
    expect((await s.reserve({ id: 'a', counters: [{ key: 'm', amount: 5n, cap: MAX_UNITS }], leaseMs: 1000 })).ok).toBe(true);
    expect((await s.reserve({ id: 'b', counters: [{ key: 'm', amount: 2n, cap: MAX_UNITS }], leaseMs: 1000 })).ok).toBe(true);
    const r = await s.reserve({ id: 'c', counters: [{ key: 'm', amount: 1n, cap: MAX_UNITS }], leaseMs: 1000 });
    expect(r).toEqual({ ok: false, failure: { type: 'counter', index: 0, used: MAX_UNITS - 7n, held: 7n } });
    expect(await s.commit({ id: 'a', counters: [{ key: 'm', amount: 5n }] })).toEqual({ found: true, used: [MAX_UNITS - 2n] });
    expect(await s.read(['m'])).toEqual([{ used: MAX_UNITS - 2n, held: 2n }]);
  });

  it('refuses an add past the signed 64-bit range with invalid_input and changes nothing', async () => {
    const s = fresh();
    await s.add([
      { key: 'a', amount: 1n },
      { key: 'm', amount: MAX_UNITS - 1n },
    ]);
    await expect(
      s.add([
        { key: 'a', amount: 1n },
        { key: 'm', amount: 2n },
      ]),
    ).rejects.toMatchObject({ code: 'invalid_input' });
    expect(await s.read(['a', 'm'])).toEqual([
      { used: 1n, held: 0n },
      { used: MAX_UNITS - 1n, held: 0n },
    ]);
    expect(await s.add([{ key: 'n', amount: -(2n ** 63n) }])).toEqual([-(2n ** 63n)]);
    await expect(s.add([{ key: 'n', amount: -1n }])).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('RedisStore time and keys', () => {
  it("by default leases and windows run on the Redis server's clock", async () => {
    const s = fresh({ clock: 'server' });
    const [a] = (await client.time()) as [number, number];
    const r = await s.reserve({
      id: 'r',
      counters: [{ key: 'c', amount: 1n }],
      windows: [{ key: 'w', windowMs: 60_000, limit: 5, weight: 1 }],
      leaseMs: 5000,
    });
    const [b] = (await client.time()) as [number, number];
    if (!r.ok) throw new Error('refused');
    expect(r.expiresAt).toBeGreaterThanOrEqual(Number(a) * 1000 + 5000);
    expect(r.expiresAt).toBeLessThan(Number(b) * 1000 + 6000);
    expect(await client.zscore(`{${prefix}}:leases`, 'r')).toBe(String(r.expiresAt));
  });

  it('keeps every key under {prefix}: and gives idle keys a TTL, lifetime counters none', async () => {
    const s = fresh();
    await s.reserve({
      id: 'r',
      counters: [
        { key: 'period', amount: 3n, cap: 10n, expiresAt: clock.now() + 86_400_000 },
        { key: 'lifetime', amount: 1n },
      ],
      windows: [
        { key: 'w', windowMs: 60_000, limit: 5, weight: 1 },
        { key: 'x', windowMs: 1000, limit: 5, weight: 1, mode: 'exact' },
      ],
      leaseMs: 5000,
    });
    const keys = (await client.keys(`*${prefix}*`)).sort();
    expect(keys).toEqual(['c:lifetime', 'c:period', 'l:x', 'leases', 'res', 'w:w', 'w:x'].map((k) => `{${prefix}}:${k}`));
    expect(await client.hkeys(`{${prefix}}:res`)).toEqual(['r']);
    const ttl = async (k: string): Promise<number> => client.pttl(`{${prefix}}:${k}`);
    expect(await ttl('c:lifetime')).toBe(-1);
    expect(await ttl('c:period')).toBeGreaterThan(86_300_000);
    expect(await ttl('w:w')).toBeGreaterThan(170_000);
    expect(await ttl('w:w')).toBeLessThanOrEqual(180_000);
    expect(await ttl('l:x')).toBeLessThanOrEqual(62_000);
    await s.commit({ id: 'r', counters: [] });
    expect(await client.exists(`{${prefix}}:res`)).toBe(0);
    expect(await client.zcard(`{${prefix}}:leases`)).toBe(0);
  });

  it("grows a counter's TTL to cover a later period end or a lease, with one lease of slack, and never shortens it", async () => {
    const s = fresh();
    const ttl = async (): Promise<number> => client.pttl(`{${prefix}}:c:k`);
    await s.add([{ key: 'k', amount: 1n, expiresAt: clock.now() + 120_000 }]);
    expect(await ttl()).toBeGreaterThan(119_000);
    expect(await ttl()).toBeLessThanOrEqual(120_000);
    await s.add([{ key: 'k', amount: 1n, expiresAt: clock.now() + 60_000 }]);
    expect(await ttl()).toBeGreaterThan(119_000);
    await s.add([{ key: 'k', amount: 1n, expiresAt: clock.now() + 300_000 }]);
    expect(await ttl()).toBeGreaterThan(299_000);
    // A hold whose lease outlives the period keeps the counter one more lease.
    await s.reserve({ id: 'r', counters: [{ key: 'k', amount: 1n, expiresAt: clock.now() + 300_000 }], leaseMs: 400_000 });
    expect(await ttl()).toBeGreaterThan(799_000);
    expect(await ttl()).toBeLessThanOrEqual(800_000);
    // Holds inside that TTL do not touch it.
    await client.pexpire(`{${prefix}}:c:k`, 790_000);
    await s.reserve({ id: 'q', counters: [{ key: 'k', amount: 1n, expiresAt: clock.now() + 300_000 }], leaseMs: 400_000 });
    expect(await ttl()).toBeLessThanOrEqual(790_000);
    expect(await s.read(['k'])).toEqual([{ used: 3n, held: 2n }]);
  });

  it('recovers when the server forgot its scripts (NOSCRIPT)', async () => {
    const s = fresh();
    await s.add([{ key: 'k', amount: 1n }]);
    await client.script('FLUSH');
    expect(await s.add([{ key: 'k', amount: 1n }])).toEqual([2n]);
  });

  it('runs as a Redis Functions library and loads it again when the server lost it', async () => {
    const s = fresh();
    const libraries = async (): Promise<string[]> =>
      ((await client.call('FUNCTION', 'LIST', 'LIBRARYNAME', 'agent_governor_*')) as unknown[][]).map((l) => l[1] as string);
    await s.add([{ key: 'k', amount: 1n }]);
    const before = await libraries();
    expect(before.length).toBeGreaterThan(0);
    for (const name of before) await client.call('FUNCTION', 'DELETE', name);
    expect(await s.add([{ key: 'k', amount: 1n }])).toEqual([2n]);
    expect(await libraries()).toHaveLength(1);
  });

  it('falls back to EVALSHA (and EVAL on NOSCRIPT) where the server has no Functions', async () => {
    const sent: string[] = [];
    const redis6 = {
      call: async (command: string, ...args: string[]): Promise<unknown> => {
        sent.push(command);
        if (command === 'FCALL' || command === 'FUNCTION') throw new Error(`ERR unknown command '${command}', with args beginning with: `);
        return client.call(command, ...args);
      },
    };
    const s = fresh({ client: redis6 });
    expect(await s.add([{ key: 'k', amount: 1n }])).toEqual([1n]);
    expect(sent[0]).toBe('FCALL');
    await s.add([{ key: 'k', amount: 1n }]);
    await client.script('FLUSH');
    const mark = sent.length;
    expect(await s.add([{ key: 'k', amount: 2n }])).toEqual([4n]);
    expect(await s.add([{ key: 'k', amount: 3n }])).toEqual([7n]);
    expect(await s.read(['k'])).toEqual([{ used: 7n, held: 0n }]);
    // FCALL was tried once; later batches go straight to EVALSHA, and to EVAL once the server forgot the script.
    expect(sent.filter((c) => c === 'FCALL' || c === 'FUNCTION')).toEqual(['FCALL']);
    expect(sent.slice(mark)).toEqual(['EVALSHA', 'EVAL', 'EVALSHA', 'EVALSHA']);
  });

  it('returns expired leases when a reserve needs them: a cap they fill, an id they hold', async () => {
    const s = fresh();
    expect((await s.reserve({ id: 'a', counters: [{ key: 'k', amount: 7n, cap: 10n }], leaseMs: 100 })).ok).toBe(true);
    clock.advance(99);
    expect(await s.reserve({ id: 'b', counters: [{ key: 'k', amount: 7n, cap: 10n }], leaseMs: 100 })).toEqual({
      ok: false,
      failure: { type: 'counter', index: 0, used: 0n, held: 7n },
    });
    clock.advance(1);
    // Lease 'a' has ended: the refusal it would cause sweeps it, and the same reserve admits.
    expect((await s.reserve({ id: 'b', counters: [{ key: 'k', amount: 7n, cap: 10n }], leaseMs: 100 })).ok).toBe(true);
    expect(await s.read(['k'])).toEqual([{ used: 0n, held: 7n }]);
    clock.advance(100);
    // Lease 'b' has ended: its id is free again.
    expect((await s.reserve({ id: 'b', counters: [{ key: 'k', amount: 2n }], leaseMs: 100 })).ok).toBe(true);
    expect(await s.read(['k'])).toEqual([{ used: 0n, held: 2n }]);
    expect(await s.commit({ id: 'b', counters: [{ key: 'k', amount: 2n }] })).toEqual({ found: true, used: [2n] });
  });

  it('sweep returns every expired lease at once', async () => {
    const s = fresh();
    for (let i = 0; i < 150; i++) await s.reserve({ id: `r${i}`, counters: [{ key: 'k', amount: 1n }], leaseMs: 1000 });
    clock.advance(1000);
    expect(await s.sweep()).toBe(150);
    expect(await s.read(['k'])).toEqual([{ used: 0n, held: 0n }]);
  });
});

describe('RedisStore failures', () => {
  it('fails a command Redis does not answer after commandTimeoutMs, and the governor refuses with store_unavailable', async () => {
    const silent = { call: () => new Promise<unknown>(() => undefined) };
    prefix = freshPrefix('timeout');
    const s = new RedisStore({ client: silent, prefix, commandTimeoutMs: 20 });
    await expect(s.read(['k'])).rejects.toBeInstanceOf(RedisTimeoutError);
    const gov = createGovernor({ store: s, budgets: [{ amount: '1' }] });
    const errors: string[] = [];
    gov.on('store.error', (e) => errors.push(`${e.operation}: ${(e.error as Error).name}`));
    let ran = false;
    const err = await gov.guard({ estimate: { cost: '0.1' } }, () => (ran = true)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(ran).toBe(false);
    expect(errors).toContain('reserve: RedisTimeoutError');
    s.close();
  });

  it('rejects options it cannot use, naming the field', () => {
    expect(() => new RedisStore({ client, prefix: 'a{b}' })).toThrow(/prefix/);
    expect(() => new RedisStore({ client, commandTimeoutMs: -1 })).toThrow(/commandTimeoutMs/);
    expect(() => new RedisStore({ client, ledgerMaxLen: 0 })).toThrow(/ledgerMaxLen/);
    expect(() => new RedisStore({ client: {} as never })).toThrow(/client/);
    expect(() => new RedisStore({ client, timeoutMs: 5 } as never)).toThrow(
      expect.objectContaining({ field: 'options.timeoutMs', value: 5 }),
    );
    prefix = freshPrefix('none');
  });
});

describe('RedisStore ledger', () => {
  const entry = (i: number): LedgerEntry => ({
    id: `e${i}`,
    at: 1000 + i,
    kind: 'call',
    status: 'ok',
    scope: { agent: i % 2 === 0 ? 'even' : 'odd' },
    usage: {},
    cost: '0.000000000001',
    currency: 'USD',
  });

  it('caps the stream near ledgerMaxLen and exports what is kept, oldest first', async () => {
    const s = fresh({ ledgerMaxLen: 100 });
    for (let i = 0; i < 10; i++) await s.appendLedger(Array.from({ length: 100 }, (_, j) => entry(i * 100 + j)));
    const kept = await client.xlen(s.ledgerKey);
    expect(kept).toBeGreaterThanOrEqual(100);
    expect(kept).toBeLessThan(300);
    const ids: string[] = [];
    for await (const e of s.ledgerEntries({ scope: { agent: 'odd' } })) ids.push(e.id);
    // Trimming drops the oldest whole: what is kept is the newest `kept` entries, half of them odd.
    const odd = Array.from({ length: kept }, (_, i) => 1000 - kept + i).filter((i) => i % 2 === 1);
    expect(ids).toEqual(odd.map((i) => `e${i}`));
  });

  it('pages with the contract cursor', async () => {
    const s = fresh();
    await s.appendLedger(Array.from({ length: 25 }, (_, i) => entry(i)));
    const p1 = await s.queryLedger({ limit: 10, scope: { agent: 'even' } });
    expect(p1.entries.map((e) => e.id)).toEqual(['e0', 'e2', 'e4', 'e6', 'e8', 'e10', 'e12', 'e14', 'e16', 'e18']);
    const p2 = await s.queryLedger({ limit: 10, scope: { agent: 'even' }, cursor: p1.next });
    expect([p2.entries.map((e) => e.id), p2.next]).toEqual([['e20', 'e22', 'e24'], undefined]);
    await expect(s.queryLedger({ cursor: 'nope' })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
