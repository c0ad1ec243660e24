/**
 * The store conformance suite: the same tests for every `Store` adapter, ours and
 * users'. It needs only `describe` and `it` from your test framework (vitest, jest,
 * mocha, node:test) and asserts with `node:assert`, so it adds no dependency.
 *
 * ```ts
 * import { describe, it } from 'vitest';
 * import { storeConformance } from 'agent-governor/testing';
 * storeConformance({ describe, it }, { name: 'MyStore', create: ({ clock }) => new MyStore({ clock }) });
 * ```
 */
import assert from 'node:assert/strict';
import { GovernorError, ManualClock, MAX_UNITS } from '../core/index.js';
import type { LedgerEntry, Store } from '../storage/index.js';

/** The two functions of a test framework the suite needs. */
export interface ConformanceHarness {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void>): void;
}

/** How to make (and optionally dispose of) a fresh, empty store driven by `clock`. */
export interface ConformanceOptions {
  /** A name for the describe block. */
  name: string;
  /** A new empty store whose time is `clock` (leases, windows, expiry). */
  create(ctx: { clock: ManualClock }): Store | Promise<Store>;
  /** Called after each test (default: `store.close()`). */
  destroy?(store: Store): void | Promise<void>;
}

const START = Date.UTC(2026, 0, 5, 12, 0, 0);

function entry(id: string, at: number, over: Partial<LedgerEntry> = {}): LedgerEntry {
  return { id, at, kind: 'call', status: 'ok', scope: { agent: 'a1' }, usage: { requests: '1' }, cost: '0.5', currency: 'USD', ...over };
}

/** A seeded pseudo-random generator (mulberry32), so interleavings are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function rejectsInvalid(f: () => unknown, field: RegExp): Promise<void> {
  await assert.rejects(
    async () => f(),
    (e: unknown) => e instanceof GovernorError && e.code === 'invalid_input' && field.test(e.message),
  );
}

/** Register the conformance tests for one store adapter. */
export function storeConformance(h: ConformanceHarness, options: ConformanceOptions): void {
  const test = (name: string, body: (s: Store, clock: ManualClock) => Promise<void>): void => {
    h.it(name, async () => {
      const clock = new ManualClock(START);
      const store = await options.create({ clock });
      try {
        await body(store, clock);
      } finally {
        await (options.destroy ? options.destroy(store) : store.close());
      }
    });
  };

  h.describe(`Store conformance: ${options.name}`, () => {
    h.describe('reserve / commit / release', () => {
      test('holds amounts up to the cap and refuses past it, naming the counter', async (s) => {
        const r1 = await s.reserve({ id: 'r1', counters: [{ key: 'k', amount: 60n, cap: 100n }], leaseMs: 1000 });
        assert.equal(r1.ok, true);
        const r2 = await s.reserve({ id: 'r2', counters: [{ key: 'k', amount: 41n, cap: 100n }], leaseMs: 1000 });
        assert.deepEqual(r2, { ok: false, failure: { type: 'counter', index: 0, used: 0n, held: 60n } });
        const r3 = await s.reserve({ id: 'r3', counters: [{ key: 'k', amount: 40n, cap: 100n }], leaseMs: 1000 });
        assert.equal(r3.ok, true);
        assert.deepEqual(await s.read(['k']), [{ used: 0n, held: 100n }]);
      });

      test('is all or none across counters', async (s) => {
        await s.add([{ key: 'b', amount: 95n }]);
        const r = await s.reserve({
          id: 'r1',
          counters: [
            { key: 'a', amount: 10n, cap: 100n },
            { key: 'b', amount: 10n, cap: 100n },
            { key: 'c', amount: 10n },
          ],
          leaseMs: 1000,
        });
        assert.deepEqual(r, { ok: false, failure: { type: 'counter', index: 1, used: 95n, held: 0n } });
        assert.deepEqual(await s.read(['a', 'b', 'c']), [
          { used: 0n, held: 0n },
          { used: 95n, held: 0n },
          { used: 0n, held: 0n },
        ]);
      });

      test('counts uncapped counters without refusing', async (s) => {
        const r = await s.reserve({ id: 'r1', counters: [{ key: 'u', amount: 10n ** 15n }], leaseMs: 1000 });
        assert.equal(r.ok, true);
        assert.deepEqual(await s.read(['u']), [{ used: 0n, held: 10n ** 15n }]);
      });

      test('a zero amount is refused only when nothing is left', async (s) => {
        assert.equal((await s.reserve({ id: 'r1', counters: [{ key: 'k', amount: 0n, cap: 5n }], leaseMs: 1000 })).ok, true);
        await s.add([{ key: 'k', amount: 5n }]);
        const r = await s.reserve({ id: 'r2', counters: [{ key: 'k', amount: 0n, cap: 5n }], leaseMs: 1000 });
        assert.deepEqual(r, { ok: false, failure: { type: 'counter', index: 0, used: 5n, held: 0n } });
      });

      test('commit turns the hold into used at the actual amount, even above the estimate', async (s) => {
        await s.reserve({
          id: 'r1',
          counters: [
            { key: 'a', amount: 10n, cap: 100n },
            { key: 'b', amount: 3n },
          ],
          leaseMs: 1000,
        });
        const c = await s.commit({
          id: 'r1',
          counters: [
            { key: 'a', amount: 14n },
            { key: 'b', amount: 2n },
          ],
        });
        assert.deepEqual(c, { found: true, used: [14n, 2n] });
        assert.deepEqual(await s.read(['a', 'b']), [
          { used: 14n, held: 0n },
          { used: 2n, held: 0n },
        ]);
      });

      test('commit of an expired or unknown reservation still records the usage', async (s, clock) => {
        await s.reserve({ id: 'r1', counters: [{ key: 'a', amount: 10n, cap: 100n }], leaseMs: 1000 });
        clock.advance(1000);
        const c = await s.commit({ id: 'r1', counters: [{ key: 'a', amount: 7n }] });
        assert.deepEqual(c, { found: false, used: [7n] });
        assert.deepEqual(await s.read(['a']), [{ used: 7n, held: 0n }]);
      });

      test('release drops the hold once', async (s) => {
        await s.reserve({ id: 'r1', counters: [{ key: 'a', amount: 10n, cap: 10n }], leaseMs: 1000 });
        assert.equal(await s.release('r1'), true);
        assert.equal(await s.release('r1'), false);
        assert.deepEqual(await s.read(['a']), [{ used: 0n, held: 0n }]);
        assert.equal((await s.reserve({ id: 'r2', counters: [{ key: 'a', amount: 10n, cap: 10n }], leaseMs: 1000 })).ok, true);
      });

      test('a lease expires exactly at its end and the amount comes back', async (s, clock) => {
        const r = await s.reserve({ id: 'r1', counters: [{ key: 'a', amount: 10n, cap: 10n }], leaseMs: 5000 });
        assert.deepEqual(r, { ok: true, expiresAt: START + 5000, windowCounts: [] });
        clock.advance(4999);
        assert.deepEqual(await s.read(['a']), [{ used: 0n, held: 10n }]);
        clock.advance(1);
        assert.deepEqual(await s.read(['a']), [{ used: 0n, held: 0n }]);
        assert.equal(await s.release('r1'), false);
        assert.equal((await s.reserve({ id: 'r2', counters: [{ key: 'a', amount: 10n, cap: 10n }], leaseMs: 5000 })).ok, true);
      });

      test('a dry run answers without changing anything', async (s) => {
        const r = await s.reserve({
          counters: [{ key: 'a', amount: 10n, cap: 10n }],
          windows: [{ key: 'w', windowMs: 1000, limit: 1, weight: 1 }],
          leaseMs: 1000,
          dryRun: true,
        });
        assert.equal(r.ok, true);
        assert.deepEqual(await s.read(['a']), [{ used: 0n, held: 0n }]);
        assert.deepEqual(await s.readWindows([{ key: 'w', windowMs: 1000, limit: 1 }]), [{ count: 0, retryAfterMs: 0, resetMs: 0 }]);
      });

      test('keeps amounts up to the signed 64-bit maximum exactly', async (s) => {
        const big = MAX_UNITS - 1n;
        assert.equal((await s.reserve({ id: 'r1', counters: [{ key: 'm', amount: big, cap: MAX_UNITS }], leaseMs: 1000 })).ok, true);
        await s.commit({ id: 'r1', counters: [{ key: 'm', amount: big }] });
        assert.deepEqual(await s.read(['m']), [{ used: big, held: 0n }]);
        assert.equal((await s.reserve({ id: 'r2', counters: [{ key: 'm', amount: 1n, cap: MAX_UNITS }], leaseMs: 1000 })).ok, true);
        const r = await s.reserve({ id: 'r3', counters: [{ key: 'm', amount: 1n, cap: MAX_UNITS }], leaseMs: 1000 });
        assert.deepEqual(r, { ok: false, failure: { type: 'counter', index: 0, used: big, held: 1n } });
      });
    });

    h.describe('sliding windows', () => {
      test('counts hits and refuses past the limit with the time until a slot frees', async (s, clock) => {
        const w = { key: 'w', windowMs: 60_000, limit: 3, weight: 1 };
        for (let i = 0; i < 3; i++) {
          const r = await s.reserve({ counters: [], windows: [w], leaseMs: 1000 });
          assert.deepEqual(r, { ok: true, expiresAt: START + i * 1000 + 1000, windowCounts: [i + 1] });
          clock.advance(1000);
        }
        // Hits at +0s, +1s, +2s sit in the bucket [0s, 6s) of a 60 s window in 10 buckets: it leaves at +60s.
        const r = await s.reserve({ counters: [], windows: [w], leaseMs: 1000 });
        assert.deepEqual(r, { ok: false, failure: { type: 'window', index: 0, count: 3, retryAfterMs: 57_000 } });
        assert.deepEqual(await s.readWindows([{ key: 'w', windowMs: 60_000, limit: 3 }]), [
          { count: 3, retryAfterMs: 57_000, resetMs: 57_000 },
        ]);
        clock.advance(56_999);
        assert.equal((await s.reserve({ counters: [], windows: [w], leaseMs: 1000 })).ok, false);
        clock.advance(1);
        assert.deepEqual(await s.readWindows([{ key: 'w', windowMs: 60_000, limit: 3 }]), [{ count: 0, retryAfterMs: 0, resetMs: 0 }]);
      });

      test('weights count in full, and a weight above the limit never fits', async (s) => {
        const r1 = await s.reserve({ counters: [], windows: [{ key: 't', windowMs: 60_000, limit: 1000, weight: 700 }], leaseMs: 1000 });
        assert.equal(r1.ok, true);
        const r2 = await s.reserve({ counters: [], windows: [{ key: 't', windowMs: 60_000, limit: 1000, weight: 301 }], leaseMs: 1000 });
        assert.deepEqual(r2, { ok: false, failure: { type: 'window', index: 0, count: 700, retryAfterMs: 60_000 } });
        const r3 = await s.reserve({ counters: [], windows: [{ key: 't', windowMs: 60_000, limit: 1000, weight: 1001 }], leaseMs: 1000 });
        assert.deepEqual(r3, { ok: false, failure: { type: 'window', index: 0, count: 700, retryAfterMs: null } });
      });

      test('a window hit is not recorded when a counter refuses, and vice versa', async (s) => {
        await s.add([{ key: 'full', amount: 10n }]);
        const r = await s.reserve({
          id: 'r1',
          counters: [{ key: 'full', amount: 1n, cap: 10n }],
          windows: [{ key: 'w', windowMs: 1000, limit: 5, weight: 1 }],
          leaseMs: 1000,
        });
        assert.equal(r.ok, false);
        assert.deepEqual(await s.readWindows([{ key: 'w', windowMs: 1000, limit: 5 }]), [{ count: 0, retryAfterMs: 0, resetMs: 0 }]);
        await s.reserve({ counters: [], windows: [{ key: 'w2', windowMs: 1000, limit: 1, weight: 1 }], leaseMs: 1000 });
        const r2 = await s.reserve({
          id: 'r2',
          counters: [{ key: 'free', amount: 1n, cap: 10n }],
          windows: [{ key: 'w2', windowMs: 1000, limit: 1, weight: 1 }],
          leaseMs: 1000,
        });
        assert.equal(r2.ok, false);
        assert.deepEqual(await s.read(['free']), [{ used: 0n, held: 0n }]);
      });

      test('commit corrects a weighted hit in the bucket it was made in', async (s, clock) => {
        const at = clock.now();
        await s.reserve({
          id: 'r1',
          counters: [{ key: 'c', amount: 1n }],
          windows: [{ key: 't', windowMs: 60_000, limit: 1000, weight: 500 }],
          leaseMs: 1000,
        });
        clock.advance(10_000);
        await s.commit({ id: 'r1', counters: [], windows: [{ key: 't', windowMs: 60_000, delta: -380, at }] });
        assert.deepEqual(await s.readWindows([{ key: 't', windowMs: 60_000, limit: 1000 }]), [
          { count: 120, retryAfterMs: 0, resetMs: 50_000 },
        ]);
        await s.commit({ id: 'r1', counters: [], windows: [{ key: 't', windowMs: 60_000, delta: -1000, at }] });
        assert.deepEqual(await s.readWindows([{ key: 't', windowMs: 60_000, limit: 1000 }]), [{ count: 0, retryAfterMs: 0, resetMs: 0 }]);
      });
    });

    h.describe('window edge cases', () => {
      test('a zero-weight hit on a full window is refused with a wait for one unit, never "retry now"', async (s) => {
        await s.reserve({ counters: [], windows: [{ key: 'w', windowMs: 60_000, limit: 1, weight: 1 }], leaseMs: 1000 });
        const r = await s.reserve({ counters: [], windows: [{ key: 'w', windowMs: 60_000, limit: 1, weight: 0 }], leaseMs: 1000 });
        assert.deepEqual(r, { ok: false, failure: { type: 'window', index: 0, count: 1, retryAfterMs: 60_000 } });
      });

      test('duplicate window keys in one request are invalid_input', async (s) => {
        const w = { key: 'dup', windowMs: 60_000, limit: 1, weight: 1 };
        await rejectsInvalid(() => s.reserve({ counters: [], windows: [w, w], leaseMs: 1000 }), /key/);
        assert.deepEqual(await s.readWindows([{ key: 'dup', windowMs: 60_000, limit: 1 }]), [{ count: 0, retryAfterMs: 0, resetMs: 0 }]);
      });

      test('an exact window takes any whole number of ms', async (s, clock) => {
        const w = { key: 'odd', windowMs: 7_001, limit: 1, weight: 1, mode: 'exact' as const };
        assert.equal((await s.reserve({ counters: [], windows: [w], leaseMs: 1000 })).ok, true);
        assert.deepEqual(await s.reserve({ counters: [], windows: [w], leaseMs: 1000 }), {
          ok: false,
          failure: { type: 'window', index: 0, count: 1, retryAfterMs: 7_001 },
        });
        clock.advance(7_001);
        assert.equal((await s.reserve({ counters: [], windows: [w], leaseMs: 1000 })).ok, true);
      });
    });

    h.describe('exact (sliding log) windows', () => {
      const exact = { windowMs: 60_000, mode: 'exact' as const };
      test('count exactly the hits of the last windowMs, where the bucketed window drops a whole bucket', async (s, clock) => {
        clock.advance(5_000);
        for (let i = 0; i < 3; i++) {
          for (const mode of ['exact', 'bucketed'] as const) {
            const key = mode === 'exact' ? 'log' : 'buckets';
            assert.equal(
              (await s.reserve({ counters: [], windows: [{ key, windowMs: 60_000, limit: 3, weight: 1, mode }], leaseMs: 1000 })).ok,
              true,
            );
          }
          clock.advance(1_000);
        }
        // Hits at +5 s, +6 s and +7 s. At +60 s the bucketed window has dropped its bucket [0 s, 6 s)
        // (the +5 s hit), while the log still counts all three: the +5 s hit leaves at +65 s.
        clock.advance(52_000);
        assert.deepEqual(await s.readWindows([{ key: 'log', limit: 3, ...exact }]), [{ count: 3, retryAfterMs: 5_000, resetMs: 7_000 }]);
        assert.deepEqual(await s.readWindows([{ key: 'buckets', windowMs: 60_000, limit: 3 }]), [
          { count: 2, retryAfterMs: 0, resetMs: 6_000 },
        ]);
        const r = await s.reserve({ counters: [], windows: [{ key: 'log', weight: 1, limit: 3, ...exact }], leaseMs: 1000 });
        assert.deepEqual(r, { ok: false, failure: { type: 'window', index: 0, count: 3, retryAfterMs: 5_000 } });
        clock.advance(4_999);
        assert.equal(
          (await s.reserve({ counters: [], windows: [{ key: 'log', weight: 1, limit: 3, ...exact }], leaseMs: 1000 })).ok,
          false,
        );
        clock.advance(1);
        assert.equal((await s.reserve({ counters: [], windows: [{ key: 'log', weight: 1, limit: 3, ...exact }], leaseMs: 1000 })).ok, true);
      });

      test('weights and corrections at the hit time', async (s, clock) => {
        const at = clock.now();
        await s.reserve({ counters: [], windows: [{ key: 't', weight: 700, limit: 1000, ...exact }], leaseMs: 1000 });
        clock.advance(2_000);
        await s.reserve({ counters: [], windows: [{ key: 't', weight: 200, limit: 1000, ...exact }], leaseMs: 1000 });
        const r = await s.reserve({ counters: [], windows: [{ key: 't', weight: 300, limit: 1000, ...exact }], leaseMs: 1000 });
        assert.deepEqual(r, { ok: false, failure: { type: 'window', index: 0, count: 900, retryAfterMs: 58_000 } });
        await s.commit({ id: 'none', counters: [], windows: [{ key: 't', delta: -500, at, ...exact }] });
        assert.deepEqual(await s.readWindows([{ key: 't', limit: 1000, ...exact }]), [{ count: 400, retryAfterMs: 0, resetMs: 60_000 }]);
      });

      test('a key keeps its mode: using it with another is invalid_input', async (s) => {
        await s.reserve({ counters: [], windows: [{ key: 'k', weight: 1, limit: 5, ...exact }], leaseMs: 1000 });
        await rejectsInvalid(
          () => s.reserve({ counters: [], windows: [{ key: 'k', windowMs: 60_000, weight: 1, limit: 5 }], leaseMs: 1000 }),
          /windowMs/,
        );
        await s.reserve({ counters: [], windows: [{ key: 'b', windowMs: 60_000, weight: 1, limit: 5 }], leaseMs: 1000 });
        await rejectsInvalid(
          () => s.reserve({ counters: [], windows: [{ key: 'b', weight: 1, limit: 5, ...exact }], leaseMs: 1000 }),
          /windowMs/,
        );
        await rejectsInvalid(
          () => s.reserve({ counters: [], windows: [{ key: 'b', windowMs: 30_000, weight: 1, limit: 5 }], leaseMs: 1000 }),
          /windowMs/,
        );
      });
    });

    h.describe('counters, keys and values', () => {
      test('add, read, keys by prefix and delete', async (s) => {
        assert.deepEqual(
          await s.add([
            { key: 'p|a', amount: 5n },
            { key: 'p|b', amount: 7n },
            { key: 'q|c', amount: 1n },
          ]),
          [5n, 7n, 1n],
        );
        assert.deepEqual(await s.add([{ key: 'p|a', amount: -2n }]), [3n]);
        assert.deepEqual([...(await s.keys('p|'))].sort(), ['p|a', 'p|b']);
        assert.equal(await s.delete(['p|a', 'p|zzz']), 1);
        assert.deepEqual(await s.read(['p|a', 'p|b', 'nope']), [
          { used: 0n, held: 0n },
          { used: 7n, held: 0n },
          { used: 0n, held: 0n },
        ]);
      });

      test('compare-and-set versions a value', async (s) => {
        assert.equal(await s.getValue('b'), undefined);
        assert.deepEqual(await s.compareAndSet('b', 0, 'open'), { ok: true, current: { version: 1, value: 'open' } });
        assert.deepEqual(await s.compareAndSet('b', 0, 'closed'), { ok: false, current: { version: 1, value: 'open' } });
        assert.deepEqual(await s.compareAndSet('b', 1, 'half'), { ok: true, current: { version: 2, value: 'half' } });
        assert.deepEqual(await s.getValue('b'), { version: 2, value: 'half' });
      });

      test('only one of many concurrent compare-and-sets on one version wins', async (s) => {
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => s.compareAndSet('race', 0, `p${i}`)));
        assert.equal(results.filter((r) => r.ok).length, 1);
      });
    });

    h.describe('ledger', () => {
      test('appends and queries by scope, time, kind and status, a page at a time', async (s) => {
        await s.appendLedger([
          entry('1', START, { scope: { workspace: 'w', agent: 'a1' } }),
          entry('2', START + 10, { scope: { workspace: 'w', agent: 'a2' }, status: 'error' }),
          entry('3', START + 20, { scope: { workspace: 'x', agent: 'a1' }, kind: 'budget.changed' }),
          entry('4', START + 30, { scope: { workspace: 'w', agent: 'a1' } }),
        ]);
        const ids = (p: { entries: readonly LedgerEntry[] }): string[] => p.entries.map((e) => e.id);
        assert.deepEqual(ids(await s.queryLedger({})), ['1', '2', '3', '4']);
        assert.deepEqual(ids(await s.queryLedger({ scope: { workspace: 'w' } })), ['1', '2', '4']);
        assert.deepEqual(ids(await s.queryLedger({ scope: { agent: 'a1' }, kinds: ['call'] })), ['1', '4']);
        assert.deepEqual(ids(await s.queryLedger({ statuses: ['error'] })), ['2']);
        assert.deepEqual(ids(await s.queryLedger({ from: START + 10, to: START + 30 })), ['2', '3']);
        const p1 = await s.queryLedger({ limit: 3 });
        assert.deepEqual(ids(p1), ['1', '2', '3']);
        assert.notEqual(p1.next, undefined);
        const p2 = await s.queryLedger({ limit: 3, cursor: p1.next });
        assert.deepEqual(ids(p2), ['4']);
        assert.equal(p2.next, undefined);
        assert.deepEqual(
          (await s.queryLedger({ scope: { agent: 'a2' } })).entries[0],
          entry('2', START + 10, { scope: { workspace: 'w', agent: 'a2' }, status: 'error' }),
        );
      });

      test('commit appends its ledger entry in the same step', async (s) => {
        await s.reserve({ id: 'r1', counters: [{ key: 'a', amount: 1n }], leaseMs: 1000 });
        await s.commit({ id: 'r1', counters: [{ key: 'a', amount: 1n }], ledger: entry('r1', START) });
        assert.deepEqual(
          (await s.queryLedger({})).entries.map((e) => e.id),
          ['r1'],
        );
      });
    });

    h.describe('concurrency', () => {
      test('1,000 interleaved reserves, commits, releases and expiries never pass a cap and lose nothing', async (s, clock) => {
        const rand = prng(42);
        const cap = 1000n;
        let committed = 0n;
        // Usage committed after its lease expired still counts (it was spent) but was no longer held:
        // the only way past the cap, and by exactly that much.
        let late = 0n;
        const open: { id: string; amount: bigint }[] = [];
        const ops: Promise<void>[] = [];
        for (let i = 0; i < 1000; i++) {
          const roll = rand();
          if (roll < 0.55 || open.length === 0) {
            const amount = BigInt(1 + Math.floor(rand() * 20));
            const id = `r${i}`;
            ops.push(
              Promise.resolve(s.reserve({ id, counters: [{ key: 'k', amount, cap }], leaseMs: 1 + Math.floor(rand() * 50) })).then((r) => {
                if (r.ok) open.push({ id, amount });
              }),
            );
          } else if (roll < 0.8) {
            const r = open.splice(Math.floor(rand() * open.length), 1)[0]!;
            const actual = r.amount - BigInt(Math.floor(rand() * Number(r.amount)));
            ops.push(
              Promise.resolve(s.commit({ id: r.id, counters: [{ key: 'k', amount: actual }] })).then((c) => {
                committed += actual;
                if (!c.found) late += actual;
              }),
            );
          } else if (roll < 0.9) {
            const r = open.splice(Math.floor(rand() * open.length), 1)[0]!;
            ops.push(Promise.resolve(s.release(r.id)).then(() => undefined));
          } else {
            clock.advance(Math.floor(rand() * 10));
          }
          if (i % 7 === 0) {
            await Promise.all(ops.splice(0));
            const [st] = await s.read(['k']);
            assert.ok(st!.used + st!.held <= cap + late, `used ${st!.used} + held ${st!.held} > cap ${cap} + late ${late}`);
          }
        }
        await Promise.all(ops);
        clock.advance(1000);
        const [st] = await s.read(['k']);
        assert.deepEqual(st, { used: committed, held: 0n });
      });

      test('200 concurrent reserves of 1 against a cap of 50 admit exactly 50', async (s) => {
        const rs = await Promise.all(
          Array.from({ length: 200 }, (_, i) =>
            s.reserve({ id: `c${i}`, counters: [{ key: 'k', amount: 1n, cap: 50n }], leaseMs: 10_000 }),
          ),
        );
        assert.equal(rs.filter((r) => r.ok).length, 50);
        assert.deepEqual(await s.read(['k']), [{ used: 0n, held: 50n }]);
      });
    });

    h.describe('bad input changes nothing', () => {
      test('negative amounts, duplicate keys, bad leases, bad windows and reused ids are refused', async (s) => {
        await rejectsInvalid(() => s.reserve({ id: 'x', counters: [{ key: 'k', amount: -1n, cap: 10n }], leaseMs: 1000 }), /amount/);
        await rejectsInvalid(
          () =>
            s.reserve({
              id: 'x',
              counters: [
                { key: 'k', amount: 1n },
                { key: 'k', amount: 1n },
              ],
              leaseMs: 1000,
            }),
          /key/,
        );
        await rejectsInvalid(() => s.reserve({ id: 'x', counters: [{ key: 'k', amount: 1n }], leaseMs: Number.NaN }), /leaseMs/);
        await rejectsInvalid(
          () => s.reserve({ counters: [], windows: [{ key: 'w', windowMs: 1001, limit: 5, weight: 1 }], leaseMs: 1000 }),
          /windowMs/,
        );
        await rejectsInvalid(
          () => s.reserve({ counters: [], windows: [{ key: 'w', windowMs: 1000, limit: 5, weight: Number.NaN }], leaseMs: 1000 }),
          /weight/,
        );
        await rejectsInvalid(() => s.commit({ id: 'x', counters: [{ key: 'k', amount: -5n }] }), /amount/);
        assert.equal((await s.reserve({ id: 'dup', counters: [{ key: 'k', amount: 1n }], leaseMs: 1000 })).ok, true);
        await rejectsInvalid(() => s.reserve({ id: 'dup', counters: [{ key: 'k', amount: 1n }], leaseMs: 1000 }), /id/);
        assert.deepEqual(await s.read(['k']), [{ used: 0n, held: 1n }]);
        assert.deepEqual(await s.readWindows([{ key: 'w', windowMs: 1000, limit: 5 }]), [{ count: 0, retryAfterMs: 0, resetMs: 0 }]);
      });

      test('amounts past the signed 64-bit range are refused whole, and change nothing', async (s) => {
        await rejectsInvalid(() => s.reserve({ id: 'x', counters: [{ key: 'k', amount: MAX_UNITS + 1n }], leaseMs: 1000 }), /amount/);
        await rejectsInvalid(() => s.reserve({ id: 'x', counters: [{ key: 'k', amount: 1n, cap: MAX_UNITS + 1n }], leaseMs: 1000 }), /cap/);
        await rejectsInvalid(() => s.commit({ id: 'x', counters: [{ key: 'k', amount: MAX_UNITS + 1n }] }), /amount/);
        await rejectsInvalid(() => s.add([{ key: 'k', amount: MAX_UNITS + 1n }]), /amount/);
        // A counter at the maximum takes nothing more: a commit or an add past it is refused whole,
        // and the reservation the commit names is still held.
        assert.deepEqual(await s.add([{ key: 'm', amount: MAX_UNITS }]), [MAX_UNITS]);
        assert.equal((await s.reserve({ id: 'r', counters: [{ key: 'm', amount: 1n }], leaseMs: 1000 })).ok, true);
        const both = [
          { key: 'n', amount: 5n },
          { key: 'm', amount: 1n },
        ];
        // The refusal names the item and echoes its amount.
        await rejectsInvalid(() => s.commit({ id: 'r', counters: both }), /counters\[1\]\.amount .*64-bit range \(got 1n\)/);
        await rejectsInvalid(() => s.add(both), /items\[1\]\.amount .*64-bit range \(got 1n\)/);
        assert.deepEqual(await s.read(['m', 'n']), [
          { used: MAX_UNITS, held: 1n },
          { used: 0n, held: 0n },
        ]);
        // And at the other end: an add below -2^63, a cap below it.
        const MIN = -MAX_UNITS - 1n;
        await rejectsInvalid(() => s.add([{ key: 'k', amount: MIN - 1n }]), /amount/);
        assert.deepEqual(await s.add([{ key: 'low', amount: MIN }]), [MIN]);
        await rejectsInvalid(() => s.add([{ key: 'low', amount: -1n }]), /items\[0\]\.amount/);
        await rejectsInvalid(() => s.reserve({ id: 'x', counters: [{ key: 'k', amount: 1n, cap: MIN - 1n }], leaseMs: 1000 }), /cap/);
        assert.deepEqual(await s.read(['low']), [{ used: MIN, held: 0n }]);
        // Holding past the range is refused too.
        await rejectsInvalid(() => s.reserve({ id: 'r2', counters: [{ key: 'm', amount: MAX_UNITS }], leaseMs: 1000 }), /amount/);
        assert.equal(await s.release('r'), true);
        assert.deepEqual(await s.read(['m', 'k']), [
          { used: MAX_UNITS, held: 0n },
          { used: 0n, held: 0n },
        ]);
      });
    });
  });
}
