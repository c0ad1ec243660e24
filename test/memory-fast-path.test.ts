// The governor reserves and commits on its default MemoryStore at the time it already read
// (one clock read less per call). A store whose reserve or commit was replaced — a spy, a
// subclass — must still be called through its own methods.
import { describe, expect, it, vi } from 'vitest';
import { createGovernor, MAX_UNITS, MemoryStore, type CommitRequest, type ReserveRequest } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

const budget = [{ id: 'b', scope: { project: 'p' }, amount: '1' }];
const call = { scope: { project: 'p' }, estimate: { cost: '0.25' } };

const COST = 'c|project=p|cost|total';
const WINDOW = { key: 'w|project=p|requests|w60000/10', windowMs: 60_000, buckets: 10, limit: 10 };

/** A governor with the budget and a 10-a-minute rate limit on project p, on a MemoryStore. */
function budgetAndRate() {
  const clock = new ManualClock(1_700_000_000_000);
  const store = new MemoryStore({ clock });
  const gov = createGovernor({
    clock,
    store,
    budgets: budget,
    limits: [{ id: 'rpm', scope: { project: 'p' }, meter: 'requests', max: 10, window: '1m' }],
  });
  return { clock, store, gov };
}

describe('the MemoryStore fast path', () => {
  it('calls a spied reserve and commit, with the same requests as the fast path would make', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const reserve = vi.spyOn(store, 'reserve');
    const commit = vi.spyOn(store, 'commit');
    const gov = createGovernor({ clock, store, budgets: budget });
    await gov.guard(call, (ctx) => ctx.report({ cost: '0.1' }));
    expect(reserve).toHaveBeenCalledTimes(1);
    expect(commit).toHaveBeenCalledTimes(1);
    expect((reserve.mock.calls[0]![0] as ReserveRequest).counters).toEqual([
      expect.objectContaining({ amount: 250_000_000_000n, cap: 1_000_000_000_000n }),
    ]);
    expect((commit.mock.calls[0]![0] as CommitRequest).counters).toEqual([expect.objectContaining({ amount: 100_000_000_000n })]);
    expect((await gov.getStatus({ project: 'p' }))[0]!.used.toFixed()).toBe('0.1');
  });

  it('calls a subclass’s reserve and commit', async () => {
    const seen: string[] = [];
    class Audited extends MemoryStore {
      override reserve(r: ReserveRequest) {
        seen.push('reserve');
        return super.reserve(r);
      }
      override commit(r: CommitRequest) {
        seen.push('commit');
        return super.commit(r);
      }
    }
    const clock = new ManualClock();
    const gov = createGovernor({ clock, store: new Audited({ clock }), budgets: budget });
    await gov.guard(call, () => 1);
    await gov.guard(call, () => 1);
    expect(seen).toEqual(['reserve', 'commit', 'reserve', 'commit']);
  });

  it('holds a guarded call by handle: counted in size, given back on settle, failure and lease expiry', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const gov = createGovernor({ clock, store, budgets: budget });
    const held = async () => (await gov.getStatus({ project: 'p' }))[0]!.held.toFixed();
    let inside: unknown;
    await gov.guard(call, () => {
      inside = store.size.reservations;
    });
    expect([inside, store.size.reservations, await held()]).toEqual([1, 0, '0']);
    await expect(gov.guard(call, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect([store.size.reservations, await held()]).toEqual([0, '0']);
    const r = await gov.reserve({ ...call, leaseMs: 1000 });
    expect([store.size.reservations, await held()]).toEqual([1, '0.25']);
    clock.advance(1000);
    // size does not expire leases by itself: read the status (which does) first.
    const after = await held();
    expect([store.size.reservations, after]).toEqual([0, '0']);
    const s = await r.settle();
    expect(s.leaseExpired).toBe(true);
    expect((await gov.getStatus({ project: 'p' }))[0]!.used.toFixed()).toBe('0.5');
    const gone = await gov.reserve({ ...call, leaseMs: 1000 });
    clock.advance(1000);
    expect(await gone.release()).toBe(false);
  });

  it('commits and releases by id through a commit or release spied after the reserve', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const gov = createGovernor({ clock, store, budgets: budget });
    const a = await gov.reserve(call);
    const b = await gov.reserve(call);
    const commit = vi.spyOn(store, 'commit');
    const release = vi.spyOn(store, 'release');
    const s = await a.settle();
    expect(s.leaseExpired).toBe(false);
    expect(commit.mock.calls.map((c) => (c[0] as CommitRequest).id)).toEqual([a.id]);
    expect(await b.release()).toBe(true);
    expect(release.mock.calls).toEqual([[b.id]]);
    expect(release.mock.results[0]!.value).toBe(true);
    expect(store.size.reservations).toBe(0);
    const st = (await gov.getStatus({ project: 'p' }))[0]!;
    expect([st.used.toFixed(), st.held.toFixed()]).toEqual(['0.25', '0']);
  });
});

describe('MemoryStore.holdAt', () => {
  const counters = [{ key: 'k', amount: 5n, cap: 10n }];
  it('hands back the hold, which commitHeld, releaseHeld and commit by id settle', () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const r = store.holdAt({ id: 'a', counters, leaseMs: 1000 }, clock.now());
    if (!r.ok || r.held === undefined) throw new Error('not held');
    expect(r).toEqual({ ok: true, expiresAt: clock.now() + 1000, held: r.held });
    expect(store.size.reservations).toBe(1);
    expect(store.read(['k'])).toEqual([{ used: 0n, held: 5n }]);
    expect(store.commitHeld(r.held, { id: 'a', counters: [{ key: 'k', amount: 3n }] }, clock.now())).toEqual({ found: true, used: [3n] });
    expect(store.commitHeld(r.held, { id: 'a', counters: [] }, clock.now())).toEqual({ found: false, used: [] });
    expect(store.read(['k'])).toEqual([{ used: 3n, held: 0n }]);

    const b = store.holdAt({ id: 'b', counters, leaseMs: 1000 }, clock.now());
    if (!b.ok || b.held === undefined) throw new Error('not held');
    expect(store.holdAt({ id: 'c', counters, leaseMs: 1000 }, clock.now())).toMatchObject({ ok: false });
    expect(store.releaseHeld(b.held)).toBe(true);
    expect(store.releaseHeld(b.held)).toBe(false);

    const c = store.holdAt({ id: 'c', counters, leaseMs: 1000 }, clock.now());
    if (!c.ok || c.held === undefined) throw new Error('not held');
    store.indexHeld(c.held);
    expect(store.size.reservations).toBe(1);
    expect(store.commit({ id: 'c', counters: [{ key: 'k', amount: 5n }] })).toEqual({ found: true, used: [8n] });
    expect(store.size.reservations).toBe(0);

    const d = store.holdAt({ id: 'd', counters: [{ key: 'k', amount: 1n, cap: 10n }], leaseMs: 1000 }, clock.now());
    if (!d.ok || d.held === undefined) throw new Error('not held');
    clock.advance(1000);
    expect(store.read(['k'])).toEqual([{ used: 8n, held: 0n }]);
    expect(store.size.reservations).toBe(0);
    expect(store.releaseHeld(d.held)).toBe(false);
    expect(store.holdAt({ id: 'e', counters: [{ key: 'k', amount: 0n }], leaseMs: 1000 }, clock.now())).toMatchObject({
      ok: true,
      held: undefined,
    });
  });
});

describe('a reservation the governor holds by handle is still the store’s by id', () => {
  it('release(id) by someone else finds it and returns its hold', async () => {
    const store = new MemoryStore();
    const gov = createGovernor({ store, budgets: budget });
    const r = await gov.reserve(call);
    expect(store.read(['c|project=p|cost|total'])).toEqual([{ used: 0n, held: 250_000_000_000n }]);
    expect(store.release(r.id)).toBe(true);
    expect(store.read(['c|project=p|cost|total'])).toEqual([{ used: 0n, held: 0n }]);
    // The governor's own settle then finds it gone: the usage still counts, nothing is held twice.
    expect((await r.settle({ cost: '0.1' })).cost.toFixed()).toBe('0.1');
    expect(store.read(['c|project=p|cost|total'])).toEqual([{ used: 100_000_000_000n, held: 0n }]);
  });

  it('commit(id) finds it, and a reserve with its id is refused as a live id', async () => {
    const store = new MemoryStore();
    const gov = createGovernor({ store, budgets: budget });
    const r = await gov.reserve(call);
    expect(() => store.reserve({ id: r.id, counters: [{ key: 'x', amount: 1n }], leaseMs: 1000 })).toThrow(/already a live reservation/);
    expect(store.commit({ id: r.id, counters: [{ key: 'c|project=p|cost|total', amount: 5n }] })).toEqual({ found: true, used: [5n] });
    expect(store.read(['c|project=p|cost|total'])).toEqual([{ used: 5n, held: 0n }]);
  });

  it('finds a counter or window dropped since the last call anew, instead of the one that call found', async () => {
    // The governor sends the same item arrays call after call, and the store keeps the counters and
    // windows it found for them: a delete or a sweep in between must make it look them up again.
    const { clock, store, gov } = budgetAndRate();
    await gov.guard(call, () => 1);
    await gov.guard(call, () => 1);
    expect(store.read([COST])).toEqual([{ used: 500_000_000_000n, held: 0n }]);
    expect(store.delete([COST])).toBe(1);
    await gov.guard(call, () => 1);
    expect(store.read([COST])).toEqual([{ used: 250_000_000_000n, held: 0n }]);
    expect(store.readWindows([WINDOW])[0]!.count).toBe(3);
    // Idle past its window: swept, then hit again from zero.
    clock.advance(61_000);
    expect(store.sweep()).toBe(1);
    await gov.guard(call, () => 1);
    expect(store.readWindows([WINDOW])[0]!.count).toBe(1);
    expect(store.read([COST])).toEqual([{ used: 500_000_000_000n, held: 0n }]);
    // A refusal on the same items is built by the full checks: exact figures, nothing held.
    await gov.guard(call, () => 1);
    await gov.guard(call, () => 1);
    await expect(gov.guard(call, () => 1)).rejects.toMatchObject({ code: 'budget_exceeded', available: '0', requested: '0.25' });
    expect(store.read([COST])).toEqual([{ used: 1_000_000_000_000n, held: 0n }]);
    expect(store.readWindows([WINDOW])[0]!.count).toBe(3);
  });

  it('finds a window the incremental sweep dropped anew', async () => {
    const { clock, store, gov } = budgetAndRate();
    await gov.guard(call, () => 1);
    await gov.guard(call, () => 1);
    clock.advance(61_000);
    // Operations on other keys walk the store, which drops the idle window a few at a time.
    for (let i = 0; i < 300 && store.size.windows > 0; i++) store.add([{ key: `other-${i}`, amount: 1n }]);
    expect(store.size.windows).toBe(0);
    await gov.guard(call, () => 1);
    expect(store.readWindows([WINDOW])[0]!.count).toBe(1);
  });

  it('refuses a hold or commit of the same items as the last one that would take a counter past 2^63 - 1, changing nothing', () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const items = [{ key: 'k', amount: 10n }];
    const commits = [{ key: 'k', amount: 10n }];
    const hold = (id: string) => {
      const h = store.holdAt({ id, counters: items, leaseMs: 1000 }, clock.now());
      if (!h.ok || h.held === undefined) throw new Error('not held');
      return h.held;
    };
    // The first hold and commit of these arrays are remembered; the next ones reuse what they found.
    store.commitHeld(hold('a'), { id: 'a', counters: commits }, clock.now());
    store.add([{ key: 'k', amount: MAX_UNITS - 25n }]);
    store.commitHeld(hold('b'), { id: 'b', counters: commits }, clock.now());
    expect(store.read(['k'])).toEqual([{ used: MAX_UNITS - 5n, held: 0n }]);
    const c = hold('c');
    expect(() => store.commitHeld(c, { id: 'c', counters: commits }, clock.now())).toThrow(
      /counters\[0\]\.amount would take the counter past the signed 64-bit range/,
    );
    expect(store.read(['k'])).toEqual([{ used: MAX_UNITS - 5n, held: 10n }]);
    expect(store.releaseHeld(c)).toBe(true);
    // Holding: another reservation leaves less than 10 below the maximum.
    expect(store.reserve({ id: 'big', counters: [{ key: 'k', amount: MAX_UNITS - 5n }], leaseMs: 1000 }).ok).toBe(true);
    expect(() => hold('d')).toThrow(/counters\[0\]\.amount would take the counter past the signed 64-bit range/);
    expect(store.read(['k'])).toEqual([{ used: MAX_UNITS - 5n, held: MAX_UNITS - 5n }]);
    expect(store.size.reservations).toBe(1);
  });

  it('finds a counter the incremental sweep dropped anew', () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    // A counter that may be dropped 10 ms from now, once idle.
    const items = [{ key: 'k', amount: 2n, cap: 100n, expiresAt: clock.now() + 10 }];
    const hold = (id: string) => {
      const h = store.holdAt({ id, counters: items, leaseMs: 1000 }, clock.now());
      if (!h.ok || h.held === undefined) throw new Error('not held');
      return h.held;
    };
    expect(store.releaseHeld(hold('a'))).toBe(true);
    expect(store.releaseHeld(hold('b'))).toBe(true);
    clock.advance(11);
    // Operations on other keys walk the store, which drops the idle, expired counter.
    for (let i = 0; i < 300 && store.keys('k').length > 0; i++) store.add([{ key: `other-${i}`, amount: 1n }]);
    expect(store.keys('k')).toEqual([]);
    hold('c');
    expect(store.read(['k'])).toEqual([{ used: 0n, held: 2n }]);
    expect(store.keys('k')).toEqual(['k']);
  });
});
