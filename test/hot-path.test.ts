// The governed call's shortcuts (measured by bench/index.ts) must not change what a
// call does. The governor keeps the last request of the common shape — frozen scope, kind,
// money-only estimate — prepared; every other request, or a change of any value, is
// prepared and checked afresh.
import { describe, expect, it } from 'vitest';
import { createGovernor, MemoryStore, type GuardRequest } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

const SCOPE = Object.freeze({ project: 'p', agent: 'a' });

function governor() {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock });
  const gov = createGovernor({
    clock,
    store,
    budgets: [{ id: 'b', scope: { project: 'p' }, amount: '10' }],
    limits: [
      { id: 'q', scope: { agent: '*' }, meter: 'llmCalls', max: 100 },
      { id: 'r', scope: { agent: '*' }, meter: 'requests', max: 100, window: '1m' },
    ],
  });
  return { gov, store, clock };
}

async function used(gov: ReturnType<typeof createGovernor>, scope: object): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const s of await gov.getStatus(scope)) out[s.limit] = s.used.toFixed();
  return out;
}

describe('the prepared-request memo', () => {
  it('charges each call its own cost when only the cost changes', async () => {
    const { gov } = governor();
    await gov.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: '0.25' } }, () => 1);
    await gov.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: '0.25' } }, () => 1);
    await gov.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: 0.5 } }, () => 1);
    await gov.guard({ scope: SCOPE, kind: 'tool', estimate: { cost: 0.5 } }, () => 1);
    expect(await used(gov, SCOPE)).toEqual({ b: '1.5', q: '3', r: '4' });
  });

  it('still refuses a bad cost, an unknown key or a bad kind after a memoised call', async () => {
    const { gov } = governor();
    await gov.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: '0.25' } }, () => 1);
    const bad: [GuardRequest, string][] = [
      [{ scope: SCOPE, kind: 'llm', estimate: { cost: '-0.25' } }, 'request.estimate.cost'],
      [{ scope: SCOPE, kind: 'llm', estimate: { cost: '0.25', bogus: 1 } }, 'request.estimate.bogus'],
      [{ scope: SCOPE, kind: 'llm', estimate: { cost: '0.25' }, nmae: 'x' } as GuardRequest, 'request.nmae'],
      [{ scope: SCOPE, kind: 'lml', estimate: { cost: '0.25' } } as unknown as GuardRequest, 'request.kind'],
    ];
    for (const [req, field] of bad) {
      await expect(gov.guard(req, () => 1)).rejects.toMatchObject({ code: 'invalid_input', field });
    }
    expect(await used(gov, SCOPE)).toEqual({ b: '0.25', q: '1', r: '1' });
  });

  it('reads the other fields of a request of another shape', async () => {
    const { gov } = governor();
    await gov.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: '0.25' } }, () => 1);
    const r = await gov.reserve({ scope: SCOPE, kind: 'llm', estimate: { cost: '0.25' }, name: 'named', leaseMs: 5000 });
    const settled = await r.settle();
    expect(settled.entry).toMatchObject({ name: 'named', cost: '0.25' });
    expect(r.expiresAt - settled.entry.at).toBe(5000);
  });

  it('validates a scope that is not frozen on every call: it may have changed', async () => {
    const { gov } = governor();
    const scope: { project: string; agent: string } = { project: 'p', agent: 'a' };
    await gov.guard({ scope, kind: 'llm', estimate: { cost: '0.25' } }, () => 1);
    scope.agent = 'b';
    await gov.guard({ scope, kind: 'llm', estimate: { cost: '0.25' } }, () => 1);
    scope.agent = '';
    await expect(gov.guard({ scope, kind: 'llm', estimate: { cost: '0.25' } }, () => 1)).rejects.toMatchObject({
      code: 'invalid_input',
    });
    expect(await used(gov, { project: 'p', agent: 'a' })).toEqual({ b: '0.5', q: '1', r: '1' });
    expect(await used(gov, { project: 'p', agent: 'b' })).toEqual({ b: '0.5', q: '1', r: '1' });
  });
});

describe('the usage text of a settle with nothing reported', () => {
  it('is the estimate’s, one frozen record shared by the entries of that estimate', async () => {
    const { gov } = governor();
    const req = { scope: SCOPE, kind: 'llm', estimate: { cost: '0.25' } } as const;
    await gov.guard(req, () => 1);
    await gov.guard(req, () => 1);
    await gov.guard({ scope: SCOPE, kind: 'tool', estimate: { cost: '0.25', inputTokens: 100 } }, () => 1);
    await gov.guard({ scope: SCOPE }, () => 1);
    await gov.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: '0.25' } }, (ctx) => ctx.report({ outputTokens: 7 }));
    const entries = (await gov.queryLedger({ kinds: ['call'] })).entries;
    expect(entries.map((e) => [e.usage, e.estimated])).toEqual([
      [{ requests: '1', llmCalls: '1' }, true],
      [{ requests: '1', llmCalls: '1' }, true],
      [{ requests: '1', toolCalls: '1', inputTokens: '100' }, true],
      [{ requests: '1' }, false],
      [{ requests: '1', llmCalls: '1', outputTokens: '7' }, true],
    ]);
    // Shared, so frozen: changing one entry's usage must not change another's.
    expect(entries[0]!.usage).toBe(entries[1]!.usage);
    expect(Object.isFrozen(entries[0]!.usage)).toBe(true);
    expect(() => {
      (entries[0]!.usage as Record<string, string>).requests = '2';
    }).toThrow(TypeError);
    expect(entries[1]!.usage).toEqual({ requests: '1', llmCalls: '1' });
    // A reported usage is the call's own record.
    expect(Object.isFrozen(entries[4]!.usage)).toBe(false);
  });
});

describe('reservation ids', () => {
  it('are the governor’s prefix and a base-36 sequence number', async () => {
    const { gov } = governor();
    const ids: string[] = [];
    for (let i = 0; i < 80; i++) ids.push((await gov.reserve({ scope: SCOPE })).id);
    const first = ids[0]!;
    const prefix = first.slice(0, first.lastIndexOf('-') + 1);
    const start = parseInt(first.slice(prefix.length), 36);
    expect(ids).toEqual(ids.map((_, i) => prefix + (start + i).toString(36)));
    expect(ids).toContain(`${prefix}10`);
    expect(ids).toContain(`${prefix}z`);
  });
});

describe('the threshold checks a settle skips below the lowest threshold', () => {
  it('quietBelow is the lowest positive threshold, or one past a hard cap, or never', async () => {
    const { quietBelow, MAX_UNITS } = await import('../src/core/money.js');
    expect(quietBelow([0n, 50n, 80n], 100n, true)).toBe(50n);
    expect(quietBelow([150n], 100n, true)).toBe(101n);
    expect(quietBelow([150n], 100n, false)).toBe(150n);
    expect(quietBelow([0n], 100n, false)).toBe(MAX_UNITS + 1n);
  });

  it('still warns at exactly each threshold, and tells of a hard cap passed at settle, not of a soft one', async () => {
    const clock = new ManualClock();
    const gov = createGovernor({
      clock,
      store: new MemoryStore({ clock }),
      budgets: [{ id: 'b', scope: { project: 'p' }, amount: '1', thresholds: [50, 80] }],
      limits: [{ id: 's', scope: { project: 'p' }, meter: 'llmCalls', max: 3, enforcement: 'soft', thresholds: [100] }],
    });
    const told: string[] = [];
    gov.on('warning', (e) => told.push(`warning ${e.limit} ${e.threshold} at ${e.used}`));
    gov.on('violation', (e) => told.push(`${e.type} ${e.limit} at ${e.used}`));
    const call = (estimate: string, cost?: string) =>
      gov.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: estimate } }, (ctx) => {
        if (cost !== undefined) ctx.report({ cost });
      });
    await call('0.49');
    expect(told).toEqual([]);
    await call('0.01');
    expect(told).toEqual(['warning b 50 at 0.5']);
    await call('0.1', '0.4');
    expect(told.slice(1).sort()).toEqual(['warning b 80 at 0.9', 'warning s 100 at 3']);
    // Past the soft cap: no violation, no second warning; past the hard budget at settle: told once.
    await call('0.05', '0.2');
    expect(told.slice(3)).toEqual(['exceeded b at 1.1']);
  });
});

describe('a warning listener that settles another call at once', () => {
  it('does not change what the commit it listens to goes on to check', async () => {
    const clock = new ManualClock();
    const gov = createGovernor({
      clock,
      store: new MemoryStore({ clock }),
      budgets: [
        { id: 'b', scope: { project: 'p' }, amount: '1', thresholds: [50] },
        { id: 'other', scope: { project: 'o' }, amount: '100', thresholds: [90] },
      ],
      limits: [
        { id: 'q', scope: { project: 'p', agent: '*' }, meter: 'llmCalls', max: 2, thresholds: [50] },
        { id: 'q2', scope: { project: 'o', agent: '*' }, meter: 'llmCalls', max: 100, thresholds: [90] },
      ],
    });
    // The nested call commits as many counters as the outer one, at other values.
    const other = { scope: { project: 'o', agent: 'x' }, kind: 'llm', estimate: { cost: '0.001' } } as const;
    for (let i = 0; i < 4; i++) await gov.guard(other, () => 1);
    const told: string[] = [];
    let nested = 0;
    gov.on('warning', (e) => {
      told.push(`${e.limit} ${e.threshold} at ${e.used}`);
      // A synchronous function: this call is admitted, run and committed before guard() returns.
      if (nested++ === 0) void gov.guard(other, () => 1);
    });
    await gov.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: '0.5' } }, () => 1);
    expect(told.sort()).toEqual(['b 50 at 0.5', 'q 50 at 1']);
    expect(nested).toBe(2);
    expect((await gov.getStatus({ project: 'o', agent: 'x' })).map((s) => `${s.limit} ${s.used.toFixed()}`).sort()).toEqual([
      'other 0.005',
      'q2 5',
    ]);
  });
});
