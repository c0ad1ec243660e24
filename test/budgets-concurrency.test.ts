// The hierarchy under load and under any interleaving: no hard cap is ever passed, and what
// was spent is exactly the sum of what was settled. The store answers asynchronously (a
// microtask or a macrotask later, at random), so reserves and commits of different calls interleave.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createGovernor, Decimal, MemoryStore, type Governor, type Reservation, type Store } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

/** A MemoryStore whose every primitive answers later, in a random order of turns. */
function asyncStore(inner: MemoryStore, random: () => number): Store {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || prop === 'close') return v;
      return (...args: unknown[]) => {
        const out = (v as (...a: unknown[]) => unknown).apply(target, args);
        return new Promise((resolve) => (random() < 0.5 ? queueMicrotask : setImmediate)(() => resolve(out)));
      };
    },
  }) as Store;
}

function levels(gov: Governor): { workspace: string; project: string; pool: string } {
  gov.budgets.setBudget({ id: 'ws', scope: { workspace: 'w' }, amount: '8' });
  gov.budgets.setBudget({ id: 'proj', scope: { workspace: 'w', project: 'p' }, amount: '7' });
  gov.budgets.createPool({ name: 'shared', workspace: 'w', project: 'p', initialBudget: '6', priority: 5 });
  return { workspace: 'ws', project: 'proj', pool: 'pool:shared' };
}

describe('1,000 concurrent guarded calls across 10 agents sharing a pool, a project and a workspace', () => {
  it('never end a level above its cap, and every level holds exactly what was settled', async () => {
    let seed = 42;
    const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const gov = createGovernor({ store: asyncStore(new MemoryStore(), random), ledger: 'none' });
    levels(gov);
    for (let i = 0; i < 10; i++) gov.budgets.createAgent({ id: `a${i}`, initialBudget: '1', priority: 1 + i, pool: 'shared' });
    let settled = new Decimal(0);
    const calls = Array.from({ length: 1000 }, (_, n) => {
      const agent = `a${n % 10}`;
      // Estimates are upper bounds: the actual is 0–100 % of the 0.01 estimate.
      const actual = new Decimal(Math.floor(random() * 101)).div(10_000);
      return gov
        .guard({ scope: gov.budgets.scopeOf(agent), estimate: { cost: '0.01' } }, async (ctx) => {
          await new Promise((r) => setImmediate(r));
          ctx.report({ cost: actual.toFixed() });
        })
        .then(() => (settled = settled.plus(actual)));
    });
    const results = await Promise.allSettled(calls);
    const refused = results.filter((r) => r.status === 'rejected');
    expect(refused.every((r) => (r.reason as { code: string }).code === 'budget_exceeded')).toBe(true);
    expect(refused.length).toBeGreaterThan(0);
    const byLimit = new Map<string, { used: Decimal; held: Decimal; max: Decimal }>();
    for (let i = 0; i < 10; i++) {
      for (const s of await gov.getStatus(gov.budgets.scopeOf(`a${i}`))) byLimit.set(s.limit, s);
    }
    let agentsTotal = new Decimal(0);
    for (const [id, s] of byLimit) {
      expect(s.held.toFixed()).toBe('0');
      expect(s.used.lte(s.max), `${id} used ${s.used} of ${s.max}`).toBe(true);
      if (id.startsWith('agent:')) agentsTotal = agentsTotal.plus(s.used);
    }
    for (const id of ['pool:shared', 'proj', 'ws']) expect(byLimit.get(id)!.used.toFixed()).toBe(settled.toFixed());
    expect(agentsTotal.toFixed()).toBe(settled.toFixed());
  });
});

type Op =
  | { kind: 'reserve'; agent: number; estimate: number }
  | { kind: 'settle'; pick: number; fraction: number }
  | { kind: 'fail'; pick: number; reported: boolean }
  | { kind: 'advance'; ms: number }
  | { kind: 'topUp'; agent: number; cents: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      agent: fc.integer({ min: 0, max: 3 }),
      estimate: fc.integer({ min: 0, max: 60 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), fraction: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fail' as const), pick: fc.nat(), reported: fc.boolean() }) },
  // Leases (20 min) expire; the agents' daily budgets reset at midnight in Tokyo.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 4 * 3_600_000 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('topUp' as const),
      agent: fc.integer({ min: 0, max: 3 }),
      cents: fc.integer({ min: 1, max: 50 }),
    }),
  },
);

const cents = (n: number): string => new Decimal(n).div(100).toFixed();

describe('property: coordinator budgets under any interleaving of reserve, settle, fail, expire, reset and top-up', () => {
  it('no hard cap is passed (but by settles after an expired lease) and every level spent = the settled charges', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const clock = new ManualClock('2026-11-23T12:00:00Z');
        const gov = createGovernor({ clock, leaseMs: '20m' });
        levels(gov);
        for (let i = 0; i < 4; i++) {
          gov.budgets.createAgent({
            id: `a${i}`,
            initialBudget: '0.8',
            priority: 5,
            pool: 'shared',
            period: 'day',
            timeZone: 'Asia/Tokyo',
          });
        }
        const scopes = [0, 1, 2, 3].map((i) => gov.budgets.scopeOf(`a${i}`));
        const open: { r: Reservation; estimate: number }[] = [];
        let settled = new Decimal(0);
        let late = new Decimal(0);
        for (const o of ops) {
          if (o.kind === 'reserve') {
            try {
              open.push({ r: await gov.reserve({ scope: scopes[o.agent], estimate: { cost: cents(o.estimate) } }), estimate: o.estimate });
            } catch (e) {
              expect((e as { code: string }).code).toBe('budget_exceeded');
            }
          } else if (o.kind === 'advance') clock.advance(o.ms);
          else if (o.kind === 'topUp') gov.budgets.topUp({ agent: `a${o.agent}` }, cents(o.cents));
          else if (open.length > 0) {
            const { r, estimate } = open.splice(o.pick % open.length, 1)[0]!;
            const expired = clock.now() >= r.expiresAt;
            if (o.kind === 'settle' || o.reported) {
              const actual = o.kind === 'settle' ? Math.floor((estimate * o.fraction) / 100) : Math.min(estimate, 3);
              const res = await r.settle({ cost: cents(actual) });
              settled = settled.plus(res.cost);
              if (expired) late = late.plus(res.cost);
            } else await r.release();
          }
          for (const sc of scopes) {
            for (const s of await gov.getStatus(sc)) expect(s.used.plus(s.held).lte(s.max.plus(late)), `${s.limit}`).toBe(true);
          }
        }
        for (const { r } of open) await r.release();
        const st = await gov.getStatus(scopes[0]!);
        for (const id of ['pool:shared', 'proj', 'ws']) {
          const s = st.find((x) => x.limit === id)!;
          expect([s.used.toFixed(), s.held.toFixed()]).toEqual([settled.toFixed(), '0']);
        }
      }),
      { numRuns: 120 },
    );
  });
});
