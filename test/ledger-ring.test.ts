// The MemoryStore keeps a governed call's ledger entry by field (LedgerRing), not as the
// object the governor built: a query must still hand back exactly that entry, in order,
// through the ring's wrap-around, mixed with entries kept whole (audit records, appendLedger).
import { describe, expect, it } from 'vitest';
import { createGovernor, MemoryStore, type LedgerEntry } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

const SCOPE = Object.freeze({ project: 'p', agent: 'a' });

function governor(maxLedgerEntries: number) {
  const clock = new ManualClock(1_700_000_000_000);
  const store = new MemoryStore({ clock, maxLedgerEntries });
  const gov = createGovernor({
    clock,
    store,
    budgets: [{ id: 'b', scope: { project: 'p' }, amount: '1' }],
    limits: [{ id: 'q', scope: { agent: '*' }, meter: 'llmCalls', max: 100 }],
  });
  const settled: LedgerEntry[] = [];
  gov.on('usage', (e) => settled.push(e.entry));
  return { gov, store, clock, settled };
}

describe('the MemoryStore ledger kept by field', () => {
  it('hands back each settled entry equal, field for field and key for key, to the one the call produced', async () => {
    const { gov, clock, settled } = governor(100);
    await gov.guard({ scope: SCOPE, kind: 'llm', model: 'm1', estimate: { cost: '0.25' } }, () => 1);
    clock.advance(5);
    await gov.guard(
      { scope: SCOPE, kind: 'llm', name: 'n', provider: 'openai', estimate: { cost: '0.1' }, metadata: { run: 7 } },
      (ctx) => {
        clock.advance(3);
        ctx.report({ outputTokens: 12, cost: '0.05' });
      },
    );
    const entries = (await gov.queryLedger({ kinds: ['call'] })).entries;
    expect(entries).toHaveLength(2);
    // toStrictEqual: the same keys (undefined ones too) with the same values, as plain objects.
    expect(entries[0]).toStrictEqual(settled[0]);
    expect(entries[1]).toStrictEqual(settled[1]);
    expect(entries[1]).toMatchObject({
      at: 1_700_000_000_008,
      status: 'ok',
      name: 'n',
      provider: 'openai',
      cost: '0.05',
      durationMs: 3,
      usage: { requests: '1', llmCalls: '1', outputTokens: '12' },
      data: { run: 7 },
    });
    expect(entries[0]!.durationMs).toBe(0);
    // A new object per read: changing one does not change the ledger.
    expect(entries[0]).not.toBe(settled[0]);
  });

  it('keeps refused, failed and released entries too, with no duration where the call never ran', async () => {
    const { gov } = governor(100);
    await expect(gov.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: '2' } }, () => 1)).rejects.toMatchObject({
      code: 'budget_exceeded',
    });
    await expect(
      gov.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: '0.1' } }, () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const r = await gov.reserve({ scope: SCOPE, kind: 'llm', estimate: { cost: '0.1' } });
    await r.release();
    const entries = (await gov.queryLedger({ kinds: ['call'] })).entries;
    expect(entries.map((e) => [e.status, e.code, e.message, e.cost, e.durationMs])).toEqual([
      ['refused', 'budget_exceeded', expect.stringContaining('budget'), '0', undefined],
      ['error', 'Error', 'boom', '0', 0],
      ['released', undefined, undefined, '0', 0],
    ]);
    expect(Object.keys(entries[0]!)).toEqual([
      'id',
      'at',
      'kind',
      'status',
      'scope',
      'name',
      'provider',
      'model',
      'usage',
      'cost',
      'currency',
      'estimated',
      'durationMs',
      'code',
      'message',
      'data',
    ]);
  });

  it('wraps around in order, mixing entries kept by field with entries kept whole, and filters both', async () => {
    const { gov, store, clock } = governor(4);
    const audit = (n: number): LedgerEntry => ({
      id: `audit-${n}`,
      at: clock.now(),
      kind: 'note',
      status: 'ok',
      scope: { project: 'other' },
      usage: {},
      cost: '0',
      currency: 'USD',
      data: { n },
    });
    const kept: LedgerEntry[] = [];
    for (let i = 0; i < 9; i++) {
      clock.advance(10);
      if (i % 3 === 2) {
        const e = audit(i);
        store.appendLedger([e]);
        kept.push(e);
      } else {
        await gov.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: String(i / 100) } }, () => 1);
        kept.push({ at: clock.now(), cost: String(i / 100) } as LedgerEntry);
      }
    }
    // The newest 4 of 9 (i = 5..8): audit at i = 5 and 8, calls at i = 6 and 7.
    const all = (await gov.queryLedger({})).entries;
    expect(all.map((e) => [e.kind, e.at - 1_700_000_000_000, e.cost])).toEqual([
      ['note', 60, '0'],
      ['call', 70, '0.06'],
      ['call', 80, '0.07'],
      ['note', 90, '0'],
    ]);
    // An entry kept whole comes back as itself.
    expect(all[0]).toBe(kept[5]);
    expect(all[3]).toBe(kept[8]);
    expect(store.size.ledger).toBe(4);
    // Each filter reads the columns of a by-field entry and the fields of a whole one.
    expect((await gov.queryLedger({ kinds: ['call'] })).entries.map((e) => e.cost)).toEqual(['0.06', '0.07']);
    expect((await gov.queryLedger({ scope: { project: 'other' } })).entries.map((e) => e.id)).toEqual(['audit-5', 'audit-8']);
    expect((await gov.queryLedger({ from: 1_700_000_000_070, to: 1_700_000_000_090 })).entries.map((e) => e.kind)).toEqual([
      'call',
      'call',
    ]);
    expect((await gov.queryLedger({ statuses: ['refused'] })).entries).toEqual([]);
    // Pages: the cursor runs over both kinds of entry.
    const first = await gov.queryLedger({ limit: 3 });
    expect(first.entries.map((e) => e.at - 1_700_000_000_000)).toEqual([60, 70, 80]);
    expect((await gov.queryLedger({ limit: 3, cursor: first.next })).entries.map((e) => e.id)).toEqual(['audit-8']);
  });

  it('keeps the entry object itself when the MemoryStore commit is not the governor’s to bypass', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore({ clock });
    const commits: unknown[] = [];
    const commit = store.commit.bind(store);
    store.commit = (req) => {
      commits.push(req.ledger);
      return commit(req);
    };
    const gov = createGovernor({ clock, store, budgets: [{ scope: { project: 'p' }, amount: '1' }] });
    let settledEntry: LedgerEntry | undefined;
    gov.on('usage', (e) => (settledEntry = e.entry));
    await gov.guard({ scope: SCOPE, estimate: { cost: '0.5' } }, () => 1);
    expect(commits).toEqual([settledEntry]);
    expect((await gov.queryLedger({ kinds: ['call'] })).entries).toEqual([settledEntry]);
    expect((await gov.queryLedger({ kinds: ['call'] })).entries[0]).toBe(settledEntry);
  });

  it('keeps a reported usage and cost as numbers and gives back the same texts, any scale, past 2^53 as text', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore({ clock });
    const gov = createGovernor({
      clock,
      store,
      meters: { pages: { kind: 'quantity', scale: 3 } },
      budgets: [{ scope: { project: 'p' }, amount: '100000' }],
    });
    const settled: LedgerEntry[] = [];
    gov.on('usage', (e) => settled.push(e.entry));
    const call = (usage: Record<string, string | number>, estimate: Record<string, string | number> = { cost: '0.1' }) =>
      gov.guard({ scope: SCOPE, kind: 'llm', estimate }, (ctx) => ctx.report(usage));
    await call({ inputTokens: 120, outputTokens: 7, cost: '0.000123456789' });
    await call({ inputTokens: 121, outputTokens: 8, pages: '1.5', cost: '0.2' }, { cost: '0.1', pages: '2' });
    // A quantity past 2^53 units (1e16 ms-scale units) and a cost past 2^53 pico-units (~9,007): kept as text.
    await call({ elapsedSeconds: '10000000000', cost: '10000.000000000001' });
    // More meters than the ring keeps as numbers.
    await call({
      inputTokens: 1,
      outputTokens: 2,
      cachedInputTokens: 3,
      cacheWriteTokens: 4,
      reasoningTokens: 5,
      toolCalls: 6,
      agentHops: 7,
      iterations: 8,
      cost: '0.5',
    });
    const entries = (await gov.queryLedger({ kinds: ['call'] })).entries;
    expect(entries).toHaveLength(4);
    for (let i = 0; i < 4; i++) expect(entries[i]).toStrictEqual(settled[i]);
    expect(entries.map((e) => [e.usage, e.cost])).toEqual([
      [{ requests: '1', llmCalls: '1', inputTokens: '120', outputTokens: '7' }, '0.000123456789'],
      [{ requests: '1', llmCalls: '1', pages: '1.5', inputTokens: '121', outputTokens: '8' }, '0.2'],
      [{ requests: '1', llmCalls: '1', elapsedSeconds: '10000000000' }, '10000.000000000001'],
      [
        {
          requests: '1',
          llmCalls: '1',
          inputTokens: '1',
          outputTokens: '2',
          cachedInputTokens: '3',
          cacheWriteTokens: '4',
          reasoningTokens: '5',
          toolCalls: '6',
          agentHops: '7',
          iterations: '8',
        },
        '0.5',
      ],
    ]);
  });

  it('shares one frozen data record between the entries of calls priced alike', async () => {
    const clock = new ManualClock(0);
    const gov = createGovernor({ clock, store: new MemoryStore({ clock }), budgets: [{ scope: { project: 'p' }, amount: '100' }] });
    gov.setPrice('m1', { input: '1', output: '2' });
    // Frozen: metadata that may change between calls is copied for each (see the next test).
    const metadata = Object.freeze({ run: 'r1' });
    for (const tokens of [1000, 2000]) {
      await gov.guard({ scope: SCOPE, kind: 'llm', model: 'm1', estimate: { cost: '0.1' }, metadata }, (ctx) =>
        ctx.report({ inputTokens: tokens, outputTokens: tokens }),
      );
    }
    const [a, b] = (await gov.queryLedger({ kinds: ['call'] })).entries;
    expect([a!.cost, b!.cost]).toEqual(['0.003', '0.006']);
    expect(a!.data).toMatchObject({ run: 'r1', pricing: { model: 'm1' } });
    expect(a!.data).toBe(b!.data);
    expect(Object.isFrozen(a!.data)).toBe(true);
  });

  it('gives a priced call the metadata it was called with, when one object is changed between calls', async () => {
    const clock = new ManualClock(0);
    const gov = createGovernor({ clock, store: new MemoryStore({ clock }), budgets: [{ scope: { project: 'p' }, amount: '100' }] });
    gov.setPrice('m1', { input: '1', output: '2' });
    const metadata: { step: number } = { step: 1 };
    const settled: unknown[] = [];
    gov.on('usage', (e) => settled.push(e.entry.data));
    for (const step of [1, 2]) {
      metadata.step = step;
      await gov.guard({ scope: SCOPE, kind: 'llm', model: 'm1', estimate: { cost: '0.1' }, metadata }, (ctx) =>
        ctx.report({ inputTokens: 1000, outputTokens: 1000 }),
      );
    }
    const [a, b] = (await gov.queryLedger({ kinds: ['call'] })).entries;
    expect(a!.data).toMatchObject({ step: 1, pricing: { model: 'm1' } });
    expect(b!.data).toMatchObject({ step: 2, pricing: { model: 'm1' } });
    expect(settled).toEqual([a!.data, b!.data]);
  });

  it('keeps each call its own numbers as the ring grows past its first block and wraps around', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryStore({ clock, maxLedgerEntries: 2500 });
    const gov = createGovernor({ clock, store });
    for (let i = 0; i < 3000; i++) {
      await gov.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: '0' } }, (ctx) => ctx.report({ inputTokens: i, cost: i / 1000 }));
    }
    const seen: string[] = [];
    let page = await gov.queryLedger({ limit: 1000 });
    for (;;) {
      for (const e of page.entries) if (e.kind === 'call') seen.push(`${e.usage.inputTokens}:${e.cost}`);
      if (page.next === undefined) break;
      page = await gov.queryLedger({ limit: 1000, cursor: page.next });
    }
    expect(seen).toHaveLength(2500);
    expect(seen[0]).toBe('500:0.5');
    expect(seen[2499]).toBe('2999:2.999');
    expect(seen.every((x, j) => x === `${j + 500}:${(j + 500) / 1000}`)).toBe(true);
  });

  it('keeps a call’s id as a number and gives back the very id the call had, past one base-36 digit and around the ring', async () => {
    const { gov, store, clock } = governor(50);
    const ids: string[] = [];
    gov.on('usage', (e) => ids.push(e.reservationId));
    for (let i = 0; i < 80; i++) {
      clock.advance(1);
      await gov.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: '0.001' } }, () => 1);
    }
    // A refused and a released call: their ids are kept as numbers too.
    await expect(gov.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: '5' } }, () => 1)).rejects.toMatchObject({
      code: 'budget_exceeded',
    });
    const r = await gov.reserve({ scope: SCOPE, kind: 'llm', estimate: { cost: '0.001' } });
    await r.release();
    // Appended between them, an entry kept whole keeps its own id.
    await store.appendLedger([
      { id: 'note-1', at: clock.now(), kind: 'note', status: 'ok', scope: {}, usage: {}, cost: '0', currency: 'USD' },
    ]);
    const entries = (await gov.queryLedger({ limit: 100 })).entries;
    expect(entries).toHaveLength(50);
    const calls = entries.filter((e) => e.status === 'ok' && e.kind !== 'note');
    expect(calls.map((e) => e.id)).toEqual(ids.slice(-47));
    // The governor's ids are its prefix and a count in base 36, one per call: 80 calls reach two digits.
    const prefix = ids[0]!.slice(0, ids[0]!.lastIndexOf('-') + 1);
    const counts = ids.map((id) => parseInt(id.slice(prefix.length), 36));
    expect(counts.every((n, i) => n === counts[0]! + i)).toBe(true);
    expect(counts[79]).toBeGreaterThanOrEqual(36 + 36);
    const refused = entries.find((e) => e.status === 'refused')!;
    expect(refused.id).toBe(prefix + (counts[79]! + 1).toString(36));
    const released = entries.find((e) => e.status === 'released')!;
    expect(released.id).toBe(r.id);
    expect(entries.at(-1)!.id).toBe('note-1');
    expect(new Set(entries.map((e) => e.id)).size).toBe(50);
  });
});
