import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createGovernor, Decimal, type Reservation } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

// Amounts in cents keep the generated figures readable; everything is exact Decimal anyway.
const cents = (n: number): string => new Decimal(n).div(100).toFixed();

type Op =
  | { kind: 'reserve'; agent: number; estimate: number }
  | { kind: 'settle'; pick: number; fraction: number }
  | { kind: 'fail'; pick: number; reported: boolean }
  | { kind: 'release'; pick: number }
  | { kind: 'advance'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('reserve' as const),
      agent: fc.integer({ min: 0, max: 2 }),
      estimate: fc.integer({ min: 0, max: 40 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), fraction: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fail' as const), pick: fc.nat(), reported: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
  // Up to 3 h at a time: leases (30 min) expire and the agents' daily budgets reset at midnight.
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 3 * 3_600_000 }) }) },
);

describe('property: a budget hierarchy under any interleaving', () => {
  it('never ends a level above its hard cap (estimates are upper bounds) and spent equals the settled charges exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 80 }), async (ops) => {
        const clock = new ManualClock('2026-11-23T20:00:00Z');
        const gov = createGovernor({
          clock,
          leaseMs: '30m',
          budgets: [
            { id: 'ws', scope: { workspace: 'w' }, amount: '3.00' },
            { id: 'proj', scope: { workspace: 'w', project: 'p' }, amount: '2.00' },
            { id: 'pool', scope: { pool: 'shared' }, amount: '1.50' },
            { id: 'agent', scope: { agent: '*' }, amount: '0.60', period: 'day' },
          ],
        });
        const scopes = [0, 1, 2].map((i) => ({ workspace: 'w', project: 'p', pool: 'shared', agent: `a${i}` }));
        const open: { r: Reservation; estimate: number }[] = [];
        let settled = new Decimal(0);
        // A settle after its lease expired still charges (it was spent) but held nothing: the only
        // way past a cap, and by exactly that much.
        let late = new Decimal(0);
        for (const o of ops) {
          if (o.kind === 'reserve') {
            try {
              const r = await gov.reserve({ scope: scopes[o.agent], estimate: { cost: cents(o.estimate) } });
              open.push({ r, estimate: o.estimate });
            } catch (e) {
              expect((e as { code: string }).code).toBe('budget_exceeded');
            }
          } else if (o.kind === 'advance') {
            clock.advance(o.ms);
          } else if (open.length > 0) {
            const { r, estimate } = open.splice(o.pick % open.length, 1)[0]!;
            const expired = clock.now() >= r.expiresAt;
            if (o.kind === 'settle') {
              const actual = new Decimal(cents(Math.floor((estimate * o.fraction) / 100)));
              const res = await r.settle({ cost: actual.toFixed() });
              expect(res.leaseExpired).toBe(expired);
              settled = settled.plus(res.cost);
              if (expired) late = late.plus(res.cost);
            } else if (o.kind === 'release') {
              expect(await r.release()).toBe(!expired);
            } else {
              // A guarded call that fails: it may have reported usage first (charged) or not (released).
              if (o.reported) {
                const res = await r.settle({ cost: cents(Math.min(estimate, 3)) });
                settled = settled.plus(res.cost);
                if (expired) late = late.plus(res.cost);
              } else await r.release();
            }
          }
          for (const s of await gov.getStatus(scopes[0]!)) {
            if (s.limit === 'agent') continue; // a0's daily budget: checked per agent below
            expect(s.used.plus(s.held).lte(s.max.plus(late))).toBe(true);
          }
          for (const sc of scopes) {
            const a = (await gov.getStatus(sc)).find((s) => s.limit === 'agent')!;
            expect(a.used.plus(a.held).lte(a.max.plus(late))).toBe(true);
          }
        }
        for (const { r } of open) await r.release();
        const ws = (await gov.getStatus(scopes[0]!)).find((s) => s.limit === 'ws')!;
        expect(ws.used.toFixed()).toBe(settled.toFixed());
        expect(ws.held.toFixed()).toBe('0');
        const ledgerTotal = (await gov.queryLedger({ kinds: ['call'], statuses: ['ok'] })).entries.reduce(
          (s, e) => s.plus(e.cost),
          new Decimal(0),
        );
        expect(ledgerTotal.toFixed()).toBe(settled.toFixed());
      }),
      { numRuns: 150 },
    );
  });
});
