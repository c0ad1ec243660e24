import { describe, expect, it } from 'vitest';
import { MemoryStore } from 'agent-governor';
import { ManualClock, storeConformance } from 'agent-governor/testing';

storeConformance({ describe, it }, { name: 'MemoryStore', create: ({ clock }) => new MemoryStore({ clock }) });

describe('MemoryStore memory stays bounded', () => {
  it('drops idle windows and expired period counters as operations go by', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new MemoryStore({ clock });
    for (let i = 0; i < 5000; i++) {
      store.reserve({ counters: [], windows: [{ key: `w${i}`, windowMs: 1000, limit: 5, weight: 1 }], leaseMs: 1000 });
      store.add([{ key: `c${i}`, amount: 1n, expiresAt: clock.now() + 1000 }]);
    }
    expect(store.size).toMatchObject({ counters: 5000, windows: 5000 });
    clock.advance(1000);
    // Each operation sweeps a small batch; 5000 keys of each kind go within 5000/64 sweeps.
    for (let i = 0; i < 256 * 100; i++) store.read(['x']);
    expect(store.size).toMatchObject({ counters: 0, windows: 0 });
  });

  it('keeps lifetime counters (a quota must not reset because its agent went idle)', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new MemoryStore({ clock });
    store.add([{ key: 'life', amount: 3n }]);
    clock.advance(365 * 86_400_000);
    store.sweep();
    expect(store.read(['life'])).toEqual([{ used: 3n, held: 0n }]);
  });

  it('finished reservations do not pile up in the lease heap', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const store = new MemoryStore({ clock });
    for (let i = 0; i < 10_000; i++) {
      store.reserve({ id: `r${i}`, counters: [{ key: 'k', amount: 1n }], leaseMs: 600_000 });
      store.commit({ id: `r${i}`, counters: [{ key: 'k', amount: 1n }] });
    }
    expect(store.size.reservations).toBe(0);
    expect((store as unknown as { leases: { size: number } }).leases.size).toBeLessThan(200);
    expect(store.read(['k'])).toEqual([{ used: 10_000n, held: 0n }]);
  });

  it('keeps at most maxLedgerEntries, dropping the oldest', () => {
    const store = new MemoryStore({ maxLedgerEntries: 3 });
    for (let i = 1; i <= 5; i++) {
      store.appendLedger([{ id: String(i), at: i, kind: 'call', status: 'ok', scope: {}, usage: {}, cost: '0', currency: 'USD' }]);
    }
    expect(store.queryLedger({}).entries.map((e) => e.id)).toEqual(['3', '4', '5']);
    expect(store.size.ledger).toBe(3);
  });
});

describe('MemoryStore reserve after a refusal or a refused input', () => {
  // reserve keeps the counters and windows its checks found for its writes; nothing of a
  // refused or invalid request may reach the next one.
  it('holds on the counters and windows of its own request', () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const w = (key: string, limit: number) => ({ key, windowMs: 1000, limit, weight: 1 });
    expect(
      store.reserve({
        id: 'a',
        counters: [
          { key: 'x', amount: 1n, cap: 10n },
          { key: 'y', amount: 5n, cap: 1n },
        ],
        windows: [w('v', 5)],
        leaseMs: 1000,
      }),
    ).toMatchObject({ ok: false, failure: { type: 'counter', index: 1 } });
    expect(() =>
      store.reserve({
        id: 'b',
        counters: [
          { key: 'x', amount: 1n, cap: 10n },
          { key: 'z', amount: -1n },
        ],
        windows: [w('v', 5)],
        leaseMs: 1000,
      }),
    ).toThrow(/counters\[1\]\.amount/);
    expect(
      store.reserve({
        id: 'c',
        counters: [
          { key: 'y', amount: 1n },
          { key: 'x', amount: 2n, cap: 10n },
        ],
        windows: [w('u', 5), w('v', 5)],
        leaseMs: 1000,
      }),
    ).toEqual({ ok: true, expiresAt: clock.now() + 1000, windowCounts: [1, 1] });
    expect(store.read(['x', 'y', 'z'])).toEqual([
      { used: 0n, held: 2n },
      { used: 0n, held: 1n },
      { used: 0n, held: 0n },
    ]);
    expect(store.readWindows([w('u', 5), w('v', 5)]).map((s) => s.count)).toEqual([1, 1]);
  });
});
