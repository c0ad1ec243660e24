// RedisStore against MemoryStore as a model: random runs of reserve, commit, release, add,
// reads and clock steps give the same answers from both. This covers what the speed-minded
// scripts do differently from a plain reading of the contract: money added as doubles below
// 1e14 and on exact limbs above it, bucketed windows read one bucket at a time, reservations
// and counter TTL bookkeeping kept in the hashes themselves.
import type { Redis } from 'ioredis';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore, type CommitRequest, type ReserveRequest, type WindowItem } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { RedisStore } from 'agent-governor/redis';
import { connectRedis, dropPrefix, freshPrefix } from './redis-helpers.js';

let client: Redis;
beforeAll(async () => {
  client = await connectRedis();
});
afterAll(async () => {
  await client?.quit();
});

const KEYS = ['a', 'b', 'c'] as const;
// Amounts around the 1e14 switch from doubles to limbs, and past 2^53.
const amount = fc.constantFrom(0n, 1n, 7n, 99_999_999_999_999n, 100_000_000_000_000n, 2n ** 53n + 1n, 123_456_789_012_345_678n);
const cap = fc.option(fc.constantFrom(10n, 100_000_000_000_000n, 2n ** 53n + 5n, 400_000_000_000_000_000n), { nil: undefined });
const WINDOWS: Record<string, Omit<WindowItem, 'weight' | 'limit'>> = {
  wb: { key: 'wb', windowMs: 1000, buckets: 10, mode: 'bucketed' },
  we: { key: 'we', windowMs: 500, mode: 'exact' },
};

type Op =
  | {
      op: 'reserve';
      counters: { key: string; amount: bigint; cap: bigint | undefined }[];
      windows: { w: string; weight: number; limit: number }[];
      leaseMs: number;
    }
  | { op: 'commit'; which: number; counters: { key: string; amount: bigint }[]; adjust: number }
  | { op: 'release'; which: number }
  | { op: 'add'; items: { key: string; amount: bigint; neg: boolean }[] }
  | { op: 'tick'; ms: number }
  | { op: 'read' };

/** The reserve request of a generated op, under `id`, at `now`. */
function reserveRequest(o: Extract<Op, { op: 'reserve' }>, id: string, now: number): ReserveRequest {
  return {
    id,
    leaseMs: o.leaseMs,
    counters: o.counters.map((c) => ({ key: c.key, amount: c.amount, cap: c.cap, expiresAt: now + 5000 })),
    windows: o.windows.map((w) => ({ ...WINDOWS[w.w]!, weight: w.weight, limit: w.limit })),
  };
}

/** The commit request of a generated op, for the reservation `r` (none: an id no store knows). */
function commitRequest(o: Extract<Op, { op: 'commit' }>, r: { id: string; at: number } | undefined): CommitRequest {
  return {
    id: r?.id ?? 'none',
    counters: o.counters,
    windows: o.adjust === 0 || r === undefined ? [] : [{ ...WINDOWS.wb!, delta: o.adjust, at: r.at }],
  };
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('reserve' as const),
    counters: fc.uniqueArray(fc.record({ key: fc.constantFrom(...KEYS), amount, cap }), { maxLength: 3, selector: (c) => c.key }),
    windows: fc.uniqueArray(
      fc.record({ w: fc.constantFrom('wb', 'we'), weight: fc.constantFrom(0, 1, 2.5, 4), limit: fc.constantFrom(0, 3, 8, 20) }),
      { maxLength: 2, selector: (w) => w.w },
    ),
    leaseMs: fc.constantFrom(100, 800, 3000),
  }),
  fc.record({
    op: fc.constant('commit' as const),
    which: fc.nat(30),
    counters: fc.array(fc.record({ key: fc.constantFrom(...KEYS), amount }), { maxLength: 3 }),
    adjust: fc.constantFrom(0, -1, 2),
  }),
  fc.record({ op: fc.constant('release' as const), which: fc.nat(30) }),
  fc.record({
    op: fc.constant('add' as const),
    items: fc.array(fc.record({ key: fc.constantFrom(...KEYS), amount, neg: fc.boolean() }), { minLength: 1, maxLength: 3 }),
  }),
  fc.record({ op: fc.constant('tick' as const), ms: fc.constantFrom(0, 1, 99, 100, 250, 700, 1500) }),
  fc.constant({ op: 'read' as const }),
);

/** One run: a RedisStore on a fresh prefix and a MemoryStore on one ManualClock; the prefix is dropped after. */
async function withStores(run: (s: { clock: ManualClock; redis: RedisStore; memory: MemoryStore }) => Promise<void>): Promise<void> {
  const clock = new ManualClock(Date.UTC(2026, 0, 5) + 37);
  const prefix = freshPrefix('model');
  const redis = new RedisStore({ client, prefix, clock });
  const memory = new MemoryStore({ clock });
  try {
    await run({ clock, redis, memory });
  } finally {
    redis.close();
    await dropPrefix(client, prefix);
  }
}

describe('RedisStore answers as MemoryStore does', () => {
  it('over random runs of every counter, window and reservation primitive', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), async (ops) => {
        await withStores(async ({ clock, redis, memory }) => {
          const ids: { id: string; at: number }[] = [];
          for (const [n, o] of ops.entries()) {
            if (o.op === 'tick') {
              clock.advance(o.ms);
              continue;
            }
            // Reads return expired leases, so they are ops of their own: between them, reserves
            // must find expired holds by themselves.
            if (o.op === 'read') {
              expect(await redis.read([...KEYS])).toEqual(await memory.read([...KEYS]));
              const reads = Object.values(WINDOWS).map((w) => ({ ...w, limit: 8 }));
              expect(await redis.readWindows(reads)).toEqual(await memory.readWindows(reads));
              continue;
            }
            const run = async (s: RedisStore | MemoryStore): Promise<unknown> => {
              switch (o.op) {
                case 'reserve':
                  return s.reserve(reserveRequest(o, `r${n}`, clock.now()));
                case 'commit':
                  return s.commit(commitRequest(o, ids[o.which % Math.max(1, ids.length)]));
                case 'release':
                  return s.release(ids[o.which % Math.max(1, ids.length)]?.id ?? 'none');
                case 'add':
                  return s.add(o.items.map((i) => ({ key: i.key, amount: i.neg ? -i.amount : i.amount })));
              }
            };
            const expected = await run(memory);
            expect(await run(redis), `op ${n}: ${o.op}`).toEqual(expected);
            if (o.op === 'reserve' && (expected as { ok: boolean }).ok) ids.push({ id: `r${n}`, at: clock.now() });
          }
          expect(await redis.read([...KEYS])).toEqual(await memory.read([...KEYS]));
        });
      }),
      { numRuns: 100 },
    );
  }, 60_000);

  // The same ops sent a group at a time (one batch, so reserves and commits of one group share
  // templates, often the same one with different ids): Redis answers each as MemoryStore does
  // running them one after another in queue order.
  it('over random runs sent in concurrent groups, one batch each', async () => {
    // Fewer shapes than opArb, so the requests of a group often differ in one field only.
    const reserveArb = fc.record({
      op: fc.constant('reserve' as const),
      counters: fc.uniqueArray(
        fc.record({ key: fc.constantFrom('a', 'b'), amount, cap: fc.option(fc.constantFrom(10n, 2n ** 53n + 5n), { nil: undefined }) }),
        { maxLength: 2, selector: (c) => c.key },
      ),
      windows: fc.uniqueArray(
        fc.record({ w: fc.constantFrom('wb', 'we'), weight: fc.constantFrom(1, 2.5), limit: fc.constantFrom(3, 8) }),
        { maxLength: 1, selector: (w) => w.w },
      ),
      leaseMs: fc.constantFrom(800, 3000),
    });
    const commitArb = fc.record({
      op: fc.constant('commit' as const),
      which: fc.nat(30),
      counters: fc.array(fc.record({ key: fc.constantFrom('a', 'b'), amount }), { minLength: 1, maxLength: 2 }),
      adjust: fc.constantFrom(0, 0, -1),
    });
    const step = fc.oneof(
      { arbitrary: reserveArb, weight: 4 },
      { arbitrary: commitArb, weight: 3 },
      { arbitrary: opArb, weight: 3 },
      { arbitrary: fc.constant({ op: 'flush' as const }), weight: 1 },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 60 }), async (steps) => {
        await withStores(async ({ clock, redis, memory }) => {
          // Every reserve's id and time, whether or not it was admitted (a commit or release of a
          // refused one finds nothing in both stores).
          const ids: { id: string; at: number }[] = [];
          let group: ((s: RedisStore | MemoryStore) => unknown)[] = [];
          const flush = async (): Promise<void> => {
            const expected: unknown[] = [];
            for (const f of group) expected.push(await f(memory));
            expect(await Promise.all(group.map((f) => f(redis)))).toEqual(expected);
            group = [];
          };
          for (const [n, o] of steps.entries()) {
            if (o.op === 'flush' || o.op === 'tick' || o.op === 'read') await flush();
            if (o.op === 'tick') clock.advance(o.ms);
            if (o.op === 'read') expect(await redis.read([...KEYS])).toEqual(await memory.read([...KEYS]));
            if (o.op === 'reserve') {
              const req = reserveRequest(o, `r${n}`, clock.now());
              ids.push({ id: req.id!, at: clock.now() });
              // Twice in a row under fresh ids: the same template, one id apart.
              group.push(
                (s) => s.reserve(req),
                (s) => s.reserve({ ...req, id: `r${n}b` }),
              );
              ids.push({ id: `r${n}b`, at: clock.now() });
            }
            if (o.op === 'commit') {
              const req = commitRequest(o, ids[o.which % Math.max(1, ids.length)]);
              group.push((s) => s.commit(req));
            }
            if (o.op === 'release') {
              const id = ids[o.which % Math.max(1, ids.length)]?.id ?? 'none';
              group.push((s) => s.release(id));
            }
            if (o.op === 'add') {
              const items = o.items.map((i) => ({ key: i.key, amount: i.neg ? -i.amount : i.amount }));
              group.push((s) => s.add(items));
            }
          }
          await flush();
          expect(await redis.read([...KEYS])).toEqual(await memory.read([...KEYS]));
        });
      }),
      { numRuns: 100 },
    );
  }, 60_000);
});
