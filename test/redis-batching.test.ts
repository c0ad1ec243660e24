// RedisStore batching: operations of concurrent callers share one script call, each still
// atomic and isolated; `settle: 'background'` sends a call's commit with the next admission.
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGovernor, type Governor } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { RedisStore } from 'agent-governor/redis';
import { connectRedis, dropPrefix, freshPrefix } from './redis-helpers.js';

let client: Redis;
let prefix: string;
/** The prefixes of the stores a test opened (see store). */
const used: string[] = [];
const clock = new ManualClock(Date.UTC(2026, 0, 5));
const open: { close(): unknown }[] = [];

beforeAll(async () => {
  client = await connectRedis();
});
afterAll(async () => {
  await client?.quit();
});
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
  // Every prefix a test used, not only its last: a test may open stores on several.
  for (const p of new Set([...used.splice(0), prefix])) await dropPrefix(client, p);
});

/** A client that records the script calls (FCALL / EVALSHA / EVAL): the operation names in each. */
function counting(): { client: Redis; batches: string[][] } {
  const batches: string[][] = [];
  const proxy = {
    call: (command: string, ...args: string[]): Promise<unknown> => {
      if (command === 'FCALL' || command === 'EVALSHA' || command === 'EVAL') {
        // args: function/sha, numkeys (1), key, prefix, the number of templates, the templates
        // (name, text)*, then the operations: (name, now, n, n args), or on the server's
        // time a reserve as ('R', template, id) and a commit as ('C', template, id, ledger)
        let i = 5 + 2 * Number(args[4]);
        const ops: string[] = [];
        while (i < args.length) {
          const name = args[i] as string;
          if (name === 'R' || name === 'C') {
            ops.push(name === 'R' ? 'reserve' : 'commit');
            i += name === 'R' ? 3 : 4;
          } else {
            ops.push(name);
            i += 3 + Number(args[i + 2]);
          }
        }
        batches.push(ops);
      }
      return client.call(command, ...args);
    },
  };
  return { client: proxy as unknown as Redis, batches };
}

function store(c: Redis, options: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}): RedisStore {
  prefix = freshPrefix('batch');
  used.push(prefix);
  const s = new RedisStore({ client: c, prefix, clock, ...options });
  open.push(s);
  return s;
}

describe('RedisStore batches', () => {
  it('sends the operations of 50 concurrent callers in two script calls on their way together, each answered on its own', async () => {
    const { client: c, batches } = counting();
    const s = store(c);
    await s.read(['k']); // loads the library: later counts are of batches only
    batches.length = 0;
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => s.reserve({ id: `r${i}`, counters: [{ key: 'k', amount: 1n, cap: 30n }], leaseMs: 60_000 })),
    );
    // Shared between the two batches that may be on their way (maxInFlight 2): see the test below.
    expect(batches.map((b) => b.length)).toEqual([25, 25]);
    // In queue order: the first 30 fit under the cap, the other 20 are refused and see all 30 held.
    expect(results.filter((r) => r.ok)).toHaveLength(30);
    expect(results.slice(0, 30).every((r) => r.ok)).toBe(true);
    expect(results[30]).toEqual({ ok: false, failure: { type: 'counter', index: 0, used: 0n, held: 30n } });
    expect(await s.read(['k'])).toEqual([{ used: 0n, held: 30n }]);
  });

  it('queues what arrives while a batch is on its way and sends it as the next batch, in order', async () => {
    const { client: c, batches } = counting();
    const s = store(c, { maxInFlight: 1 });
    await s.read(['k']);
    batches.length = 0;
    const first = s.add([{ key: 'k', amount: 1n }]);
    await Promise.resolve(); // the first batch leaves with one operation
    const rest = Array.from({ length: 10 }, (_, i) => s.add([{ key: 'k', amount: BigInt(i + 2) }]));
    expect(await first).toEqual([1n]);
    // Each add sees the ones queued before it: 1, then +2 ... +11.
    expect(await Promise.all(rest)).toEqual([3n, 6n, 10n, 15n, 21n, 28n, 36n, 45n, 55n, 66n].map((v) => [v]));
    expect(batches.map((b) => b.length)).toEqual([1, 10]);
  });

  it('sends a second batch while the first is on its way (maxInFlight 2, the default), then queues', async () => {
    const { client: c, batches } = counting();
    const s = store(c);
    await s.read(['k']);
    batches.length = 0;
    const first = s.add([{ key: 'k', amount: 1n }]);
    await Promise.resolve(); // the first batch leaves with one operation
    const second = Array.from({ length: 10 }, () => s.add([{ key: 'k', amount: 1n }]));
    await Promise.resolve(); // the second leaves at once: two may be on their way
    const third = Array.from({ length: 5 }, () => s.add([{ key: 'k', amount: 1n }]));
    expect(await first).toEqual([1n]);
    expect(await Promise.all(second)).toEqual([2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n].map((v) => [v]));
    expect(await Promise.all(third)).toEqual([12n, 13n, 14n, 15n, 16n].map((v) => [v]));
    expect(batches.map((b) => b.length)).toEqual([1, 10, 5]);
  });

  it('shares what is queued between the batches it may have on their way, never cutting off fewer than 16', async () => {
    const { client: c, batches } = counting();
    const s = store(c);
    await s.read(['k']);
    batches.length = 0;
    // 64 at once: two batches of 32 on their way together, in order.
    const a = Array.from({ length: 64 }, () => s.add([{ key: 'k', amount: 1n }]));
    expect((await Promise.all(a)).map(([v]) => v)).toEqual(Array.from({ length: 64 }, (_, i) => BigInt(i + 1)));
    // 20 at once: one batch (cut in two, each part would be under 16); 32: two of 16.
    await Promise.all(Array.from({ length: 20 }, () => s.add([{ key: 'k', amount: 1n }])));
    await Promise.all(Array.from({ length: 32 }, () => s.add([{ key: 'k', amount: 1n }])));
    expect(batches.map((b) => b.length)).toEqual([32, 32, 20, 16, 16]);
    // One batch at a time: nothing to share with.
    const { client: c1, batches: one } = counting();
    const s1 = store(c1, { maxInFlight: 1 });
    await Promise.all(Array.from({ length: 64 }, () => s1.add([{ key: 'j', amount: 1n }])));
    expect(one.map((b) => b.length)).toEqual([64]);
    expect(await s.read(['k'])).toEqual([{ used: 116n, held: 0n }]);
    expect(await s1.read(['j'])).toEqual([{ used: 64n, held: 0n }]);
  });

  it("on the server's time, reserves and commits take the short form, mixed in one batch with other operations", async () => {
    const { client: c, batches } = counting();
    prefix = freshPrefix('batch');
    const s = new RedisStore({ client: c, prefix });
    open.push(s);
    await s.read(['k']);
    batches.length = 0;
    const before = Number((await client.time())[0]) * 1000;
    const k = (amount: bigint): { key: string; amount: bigint; cap: bigint } => ({ key: 'k', amount, cap: 5n });
    const r = await Promise.all([
      s.reserve({ id: 'a', counters: [k(2n)], leaseMs: 60_000 }),
      s.reserve({ id: 'b', counters: [k(2n)], leaseMs: 60_000 }),
      s.reserve({ id: 'c', counters: [k(2n)], leaseMs: 60_000 }), // 6 > 5: refused
      s.reserve({ id: 'd', counters: [{ key: 'j', amount: 1n }], leaseMs: 60_000 }),
      s.add([{ key: 'j', amount: 10n }]),
      s.commit({ id: 'a', counters: [{ key: 'k', amount: 1n }] }),
      s.release('b'),
      s.read(['k', 'j']),
    ]);
    const after = (Number((await client.time())[0]) + 1) * 1000;
    expect(batches).toEqual([['reserve', 'reserve', 'reserve', 'reserve', 'add', 'commit', 'release', 'read']]);
    for (const i of [0, 1, 3]) {
      const res = r[i] as { ok: true; expiresAt: number; windowCounts: number[] };
      expect(res.ok).toBe(true);
      expect(res.expiresAt - 60_000).toBeGreaterThanOrEqual(before);
      expect(res.expiresAt - 60_000).toBeLessThanOrEqual(after);
    }
    expect(r[2]).toEqual({ ok: false, failure: { type: 'counter', index: 0, used: 0n, held: 4n } });
    expect(r.slice(4)).toEqual([
      [10n],
      { found: true, used: [1n] },
      true,
      [
        { used: 1n, held: 0n },
        { used: 10n, held: 1n },
      ],
    ]);
  });

  it('fails an operation Redis refuses alone: the others of its batch still apply', async () => {
    const s = store(client);
    await client.set(`{${prefix}}:c:bad`, 'not a hash');
    const [bad, good] = await Promise.allSettled([
      s.reserve({ id: 'a', counters: [{ key: 'bad', amount: 1n, cap: 5n }], leaseMs: 60_000 }),
      s.reserve({ id: 'b', counters: [{ key: 'good', amount: 2n, cap: 5n }], leaseMs: 60_000 }),
    ]);
    expect(bad.status).toBe('rejected');
    expect(String((bad as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    expect(good).toEqual({ status: 'fulfilled', value: { ok: true, expiresAt: clock.now() + 60_000, windowCounts: [] } });
    expect(await s.read(['good'])).toEqual([{ used: 0n, held: 2n }]);
    expect(await client.hkeys(`{${prefix}}:res`)).toEqual(['b']);
  });

  it('refuses an exact reserve on a bucketed window made earlier in the same batch, as across batches', async () => {
    const s = store(client);
    const [bucketed, exact] = await Promise.allSettled([
      s.reserve({ id: 'a', counters: [], windows: [{ key: 'w', windowMs: 60_000, limit: 10, weight: 1, buckets: 10 }], leaseMs: 1000 }),
      s.reserve({ id: 'b', counters: [], windows: [{ key: 'w', windowMs: 60_000, limit: 10, weight: 1, mode: 'exact' }], leaseMs: 1000 }),
    ]);
    expect(bucketed.status).toBe('fulfilled');
    expect(String((exact as PromiseRejectedResult).reason)).toMatch(/windows\[0\]\.windowMs.*does not match the existing bucketed window/);
    expect(await client.exists(`{${prefix}}:l:w`)).toBe(0);
    expect(Object.keys(await client.hgetall(`{${prefix}}:w:w`)).filter((f) => f.startsWith('t'))).toEqual([]);
  });

  it('a commit Redis refuses (a foreign key under the prefix) changes nothing, so a retry charges once', async () => {
    const s = store(client);
    await s.reserve({ id: 'x', counters: [{ key: 'k', amount: 5n, cap: 10n }], leaseMs: 60_000 });
    await client.set(`{${prefix}}:w:bad`, 'not a hash');
    const commit = {
      id: 'x',
      counters: [{ key: 'k', amount: 3n }],
      windows: [{ key: 'bad', windowMs: 60_000, delta: -1, at: clock.now() }],
    };
    await expect(s.commit(commit)).rejects.toThrow(/WRONGTYPE/);
    expect(await s.read(['k'])).toEqual([{ used: 0n, held: 5n }]);
    expect(await client.hkeys(`{${prefix}}:res`)).toEqual(['x']);
    await client.del(`{${prefix}}:w:bad`);
    expect(await s.commit(commit)).toEqual({ found: true, used: [3n] });
    expect(await s.read(['k'])).toEqual([{ used: 3n, held: 0n }]);
  });

  it('a reserve and a commit of the same batch see each other, and the counter is written once', async () => {
    const s = store(client);
    const [r, c, again] = await Promise.all([
      s.reserve({ id: 'x', counters: [{ key: 'k', amount: 4n, cap: 5n }], leaseMs: 60_000 }),
      s.commit({ id: 'x', counters: [{ key: 'k', amount: 3n }] }),
      s.reserve({ id: 'y', counters: [{ key: 'k', amount: 2n, cap: 5n }], leaseMs: 60_000 }),
    ]);
    expect(r.ok).toBe(true);
    expect(c).toEqual({ found: true, used: [3n] });
    expect(again).toEqual({ ok: true, expiresAt: clock.now() + 60_000, windowCounts: [] });
    expect(await client.hgetall(`{${prefix}}:c:k`)).toEqual({ u: '3', h: '2' });
    expect(await client.hkeys(`{${prefix}}:res`)).toEqual(['y']);
  });

  it('close() sends what is still queued and waits for it', async () => {
    const s = store(client);
    const pending = s.add([{ key: 'k', amount: 7n }]);
    await s.close();
    expect(await client.hget(`{${prefix}}:c:k`, 'u')).toBe('7');
    expect(await pending).toEqual([7n]);
  });

  it('refuses a maxInFlight it cannot use, naming the field', () => {
    expect(() => new RedisStore({ client, maxInFlight: 0 })).toThrow(/maxInFlight/);
    expect(() => new RedisStore({ client, maxInFlight: 1.5 })).toThrow(/maxInFlight/);
  });
});

describe('RedisStore templates and single operations', () => {
  const cap = (key: string, amount: bigint, c: bigint): { key: string; amount: bigint; cap: bigint } => ({ key, amount, cap: c });

  it('a request repeated, then changed, is answered exactly whether its template was kept or parsed anew', async () => {
    const { client: c, batches } = counting();
    const s = store(c);
    expect(await s.reserve({ id: 'a', counters: [cap('k', 3n, 10n)], leaseMs: 60_000 })).toMatchObject({ ok: true });
    expect(await s.commit({ id: 'a', counters: [{ key: 'k', amount: 2n }] })).toEqual({ found: true, used: [2n] });
    // The same request again (its template kept by the library since the first call).
    expect(await s.reserve({ id: 'b', counters: [cap('k', 3n, 10n)], leaseMs: 60_000 })).toMatchObject({ ok: true });
    expect(await s.read(['k'])).toEqual([{ used: 2n, held: 3n }]);
    // Another cap is another template: 2 + 3 + 3 > 7.
    expect(await s.reserve({ id: 'c', counters: [cap('k', 3n, 7n)], leaseMs: 60_000 })).toEqual({
      ok: false,
      failure: { type: 'counter', index: 0, used: 2n, held: 3n },
    });
    expect(await s.reserve({ id: 'c', counters: [cap('k', 2n, 7n)], leaseMs: 60_000 })).toMatchObject({ ok: true });
    expect(await s.read(['k'])).toEqual([{ used: 2n, held: 5n }]);
    // Windows too: a limit of 2 refuses the third hit, a limit of 3 (a new template) admits it.
    const win = (limit: number): { key: string; windowMs: number; limit: number; weight: number } => ({
      key: 'w',
      windowMs: 60_000,
      limit,
      weight: 1,
    });
    expect(await s.reserve({ id: 'w1', counters: [], windows: [win(2)], leaseMs: 1000 })).toMatchObject({ ok: true, windowCounts: [1] });
    expect(await s.reserve({ id: 'w2', counters: [], windows: [win(2)], leaseMs: 1000 })).toMatchObject({ ok: true, windowCounts: [2] });
    expect(await s.reserve({ id: 'w3', counters: [], windows: [win(2)], leaseMs: 1000 })).toMatchObject({ ok: false });
    expect(await s.reserve({ id: 'w3', counters: [], windows: [win(3)], leaseMs: 1000 })).toMatchObject({ ok: true, windowCounts: [3] });
    // One operation per batch throughout.
    expect(batches.every((b) => b.length === 1)).toBe(true);
  });

  it('a request object changed in place between calls is sent as it is now', async () => {
    const s = store(client);
    const counters = [cap('k', 3n, 10n)];
    const windows = [{ key: 'w', windowMs: 60_000, limit: 5, weight: 1 }];
    expect(await s.reserve({ id: 'a', counters, windows, leaseMs: 60_000 })).toMatchObject({ ok: true });
    counters[0] = cap('k', 3n, 5n); // 3 held + 3 > 5
    expect(await s.reserve({ id: 'b', counters, windows, leaseMs: 60_000 })).toMatchObject({
      ok: false,
      failure: { type: 'counter', held: 3n },
    });
    counters[0]!.cap = 6n;
    windows[0]!.limit = 1; // 1 hit + 1 > 1
    expect(await s.reserve({ id: 'b', counters, windows, leaseMs: 60_000 })).toMatchObject({
      ok: false,
      failure: { type: 'window', count: 1 },
    });
    windows[0]!.limit = 5;
    expect(await s.reserve({ id: 'b', counters, windows, leaseMs: 60_000 })).toMatchObject({ ok: true, windowCounts: [2] });
    const commit = { id: 'a', counters: [{ key: 'k', amount: 1n }] };
    expect(await s.commit(commit)).toEqual({ found: true, used: [1n] });
    commit.counters[0]!.amount = 2n;
    commit.id = 'b';
    expect(await s.commit(commit)).toEqual({ found: true, used: [3n] });
  });

  it('the same template under two prefixes writes each to its own keys', async () => {
    const s1 = store(client);
    const p1 = prefix;
    const s2 = store(client);
    try {
      for (const s of [s1, s2, s1]) {
        expect(await s.reserve({ id: 'x', counters: [cap('k', 4n, 10n)], leaseMs: 60_000 })).toMatchObject({ ok: true });
        await s.commit({ id: 'x', counters: [{ key: 'k', amount: 1n }] });
      }
      expect(await client.hgetall(`{${p1}}:c:k`)).toEqual({ u: '2', h: '0' });
      expect(await client.hgetall(`{${prefix}}:c:k`)).toEqual({ u: '1', h: '0' });
    } finally {
      await dropPrefix(client, p1);
    }
  });

  it('stays exact past the number of templates the library keeps (512)', async () => {
    const s = store(client);
    const keys = Array.from({ length: 600 }, (_, i) => `k${i}`);
    const first = await Promise.all(keys.map((k, i) => s.reserve({ id: `a${i}`, counters: [cap(k, 1n, 1n)], leaseMs: 60_000 })));
    expect(first.every((r) => r.ok)).toBe(true);
    const again = await Promise.all(keys.map((k, i) => s.reserve({ id: `b${i}`, counters: [cap(k, 1n, 1n)], leaseMs: 60_000 })));
    expect(again.every((r) => !r.ok && r.failure.type === 'counter' && r.failure.held === 1n)).toBe(true);
    const read = await s.read(keys);
    expect(read.every((c) => c.used === 0n && c.held === 1n)).toBe(true);
  });

  it('stays exact when one-use commit templates (each its own amount) pass the number kept', async () => {
    const s = store(client);
    const keys = Array.from({ length: 600 }, (_, i) => `u${i}`);
    const held = await Promise.all(keys.map((k, i) => s.reserve({ id: `h${i}`, counters: [cap(k, 1000n, 10_000n)], leaseMs: 60_000 })));
    expect(held.every((r) => r.ok)).toBe(true);
    // Usage reported per call: every commit its own amount, so its own template.
    const done = await Promise.all(keys.map((k, i) => s.commit({ id: `h${i}`, counters: [{ key: k, amount: BigInt(i + 1) }] })));
    expect(done.every((r, i) => r.found && r.used[0] === BigInt(i + 1))).toBe(true);
    // The reserve template of the first calls is used again: 1 + 9,999 fits the cap of 10,000 on u0, not on u1.
    const next = await Promise.all(
      [0, 1].map((i) => s.reserve({ id: `n${i}`, counters: [cap(keys[i]!, 9_999n, 10_000n)], leaseMs: 60_000 })),
    );
    expect(next.map((r) => r.ok)).toEqual([true, false]);
    expect(await s.read(['u0', 'u1', 'u599'])).toEqual([
      { used: 1n, held: 9_999n },
      { used: 2n, held: 0n },
      { used: 600n, held: 0n },
    ]);
  });

  it('keys with characters beyond ASCII: template fields are counted in UTF-8 bytes', async () => {
    const s = store(client);
    const key = 'é€😀|k:1';
    expect(
      await s.reserve({
        id: 'x',
        counters: [cap(key, 2n, 5n)],
        windows: [{ key, windowMs: 60_000, limit: 1, weight: 1 }],
        leaseMs: 60_000,
      }),
    ).toMatchObject({ ok: true, windowCounts: [1] });
    expect(await s.commit({ id: 'x', counters: [{ key, amount: 1n }] })).toEqual({ found: true, used: [1n] });
    expect(await client.hgetall(`{${prefix}}:c:${key}`)).toEqual({ u: '1', h: '0' });
    expect(await client.hget(`{${prefix}}:w:${key}`, 'T')).toBe('1');
    expect(await s.keys('é')).toEqual([key]);
  });

  it('a reservation alone in its batch: a live id is refused, a commit or release finds it once', async () => {
    const { client: c, batches } = counting();
    const s = store(c);
    expect(await s.reserve({ id: 'x', counters: [cap('k', 2n, 10n)], leaseMs: 60_000 })).toMatchObject({ ok: true });
    await expect(s.reserve({ id: 'x', counters: [cap('k', 2n, 10n)], leaseMs: 60_000 })).rejects.toThrow(/already a live reservation/);
    expect(await s.commit({ id: 'x', counters: [{ key: 'k', amount: 1n }] })).toEqual({ found: true, used: [1n] });
    expect(await s.commit({ id: 'x', counters: [{ key: 'k', amount: 1n }] })).toEqual({ found: false, used: [2n] });
    expect(await s.reserve({ id: 'y', counters: [cap('k', 2n, 10n)], leaseMs: 60_000 })).toMatchObject({ ok: true });
    expect(await s.release('y')).toBe(true);
    expect(await s.release('y')).toBe(false);
    expect(await s.read(['k'])).toEqual([{ used: 2n, held: 0n }]);
    expect(batches.every((b) => b.length === 1)).toBe(true);
    expect(await client.exists(`{${prefix}}:res`, `{${prefix}}:leases`)).toBe(0);
  });

  it('holds of one kind, parsed once, come off right on commit, release and expiry; other holds are parsed on their own', async () => {
    const s = store(client);
    const req = (id: string, a: bigint, b: bigint, leaseMs = 60_000): Parameters<RedisStore['reserve']>[0] => ({
      id,
      counters: [cap('a', a, 100n), cap('b', b, 100n)],
      leaseMs,
    });
    await s.reserve(req('r1', 2n, 3n));
    await s.commit({ id: 'r1', counters: [] });
    await s.reserve(req('r2', 2n, 3n));
    expect(await s.read(['a', 'b'])).toEqual([
      { used: 0n, held: 2n },
      { used: 0n, held: 3n },
    ]);
    expect(await s.release('r2')).toBe(true);
    await s.reserve(req('r3', 5n, 7n));
    await s.reserve(req('r4', 2n, 3n, 1000));
    expect(await s.read(['a', 'b'])).toEqual([
      { used: 0n, held: 7n },
      { used: 0n, held: 10n },
    ]);
    clock.advance(2000);
    expect(await s.sweep()).toBe(1);
    expect(await s.read(['a', 'b'])).toEqual([
      { used: 0n, held: 5n },
      { used: 0n, held: 7n },
    ]);
    await s.commit({ id: 'r3', counters: [{ key: 'a', amount: 1n }] });
    expect(await s.read(['a', 'b'])).toEqual([
      { used: 1n, held: 0n },
      { used: 0n, held: 0n },
    ]);
  });
});

describe("settle: 'background' over Redis", () => {
  const request = { scope: { project: 'p', agent: 'a' }, kind: 'llm' as const, estimate: { cost: '0.25' } };

  function governor(c: Redis, settle: 'await' | 'background'): Governor {
    const gov = createGovernor({
      clock,
      settle,
      store: store(c),
      budgets: [{ scope: { project: 'p' }, amount: '1' }],
      limits: [{ scope: { agent: '*' }, meter: 'llmCalls', max: 100 }],
    });
    open.unshift(gov);
    return gov;
  }

  it('takes one round trip a call: the commit goes with the next admission', async () => {
    const { client: c, batches } = counting();
    const gov = governor(c, 'background');
    await gov.getStatus({ project: 'p' });
    batches.length = 0;
    for (let i = 0; i < 4; i++) await gov.guard(request, async () => 'done');
    await gov.flush();
    // reserve 1; commit 1 + reserve 2; commit 2 + reserve 3; commit 3 + reserve 4; commit 4 (flushed).
    // (Other script calls are the budget's threshold bookkeeping.)
    const calls = batches.map((b) => b.filter((op) => op === 'reserve' || op === 'commit')).filter((b) => b.length > 0);
    expect(calls).toEqual([['reserve'], ['commit', 'reserve'], ['commit', 'reserve'], ['commit', 'reserve'], ['commit']]);
    const [budget] = await gov.getStatus({ project: 'p' });
    expect([String(budget?.used), String(budget?.remaining)]).toEqual(['1', '0']);
    await expect(gov.guard(request, async () => 'over')).rejects.toMatchObject({ code: 'budget_exceeded' });
  });

  it('answers the caller before the charge reaches Redis; reads through the governor still see it', async () => {
    const gov = governor(client, 'background');
    expect(await gov.guard(request, async () => 'result')).toBe('result');
    // The commit is still queued in the store, behind nothing: Redis has the hold, not the charge.
    expect(await client.hmget(`{${prefix}}:c:c|project=p|cost|total`, 'u', 'h')).toEqual(['0', '250000000000']);
    const [budget] = await gov.getStatus({ project: 'p' });
    expect([String(budget?.used), String(budget?.held)]).toEqual(['0.25', '0']);
    const { entries } = await gov.queryLedger({ kinds: ['call'] });
    expect(entries.map((e) => [e.status, e.cost])).toEqual([['ok', '0.25']]);
  });

  it('with the default settle, guard() returns once Redis holds the charge', async () => {
    const gov = governor(client, 'await');
    await gov.guard(request, async () => 'result');
    expect(await client.hmget(`{${prefix}}:c:c|project=p|cost|total`, 'u', 'h')).toEqual(['250000000000', '0']);
  });

  it('two governors of one process on one store hold reservations under different ids', async () => {
    const shared = store(client);
    const [a, b] = [1, 2].map(() => {
      const gov = createGovernor({ clock, store: shared, budgets: [{ scope: { project: 'p' }, amount: '1' }] });
      open.unshift(gov);
      return gov;
    }) as [Governor, Governor];
    const ra = await a.reserve(request);
    const rb = await b.reserve(request);
    expect(ra.id).not.toBe(rb.id);
    expect((await client.hkeys(`{${prefix}}:res`)).sort()).toEqual([ra.id, rb.id].sort());
    await Promise.all([ra.settle(), rb.settle()]);
    const [budget] = await a.getStatus({ project: 'p' });
    expect([String(budget?.used), String(budget?.held)]).toEqual(['0.5', '0']);
  });

  it('a charge that cannot be recorded is a store.error event, and the caller keeps its result', async () => {
    const gov = governor(client, 'background');
    const errors: string[] = [];
    gov.on('store.error', (e) => errors.push(`${e.operation}: ${(e.error as Error).message}`));
    await gov.guard(request, async () => 'first'); // the budget counter exists from here
    await gov.flush();
    // Break the counter between admission and settle: the commit fails in Redis, the call does not.
    const out = await gov.guard(request, async () => {
      await client.del(`{${prefix}}:c:c|agent=a|llmCalls|total`);
      await client.set(`{${prefix}}:c:c|agent=a|llmCalls|total`, 'broken');
      return 'second';
    });
    expect(out).toBe('second');
    await gov.flush();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^commit: .*WRONGTYPE/);
  });
});
