// Properties of the breaker: against a reference model of seed 000 written the plain way
// (fields in memory, one call at a time), and the overrun comparison against Decimal.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker, CircuitOpenError, Decimal, MemoryStore } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

/** Seed 000's breaker with the 5-minute check made exact: open until `openedAt + resetMs`, then one probe. */
class ReferenceBreaker {
  state: 'closed' | 'open' = 'closed';
  failures = 0;
  openUntil = 0;

  constructor(
    private readonly threshold: number,
    private readonly resetMs: number,
  ) {}

  /** `undefined` when the call runs, else the refusal's retryAfterMs. */
  call(now: number, succeeds: boolean): number | undefined {
    if (this.state === 'open') {
      if (now < this.openUntil) return this.openUntil - now;
      // The probe.
      if (succeeds) {
        this.state = 'closed';
        this.failures = 0;
      } else {
        this.failures++;
        this.openUntil = now + this.resetMs;
      }
      return undefined;
    }
    if (succeeds) {
      this.failures = 0;
      return undefined;
    }
    this.failures++;
    if (this.failures >= this.threshold) {
      this.state = 'open';
      this.openUntil = now + this.resetMs;
    }
    return undefined;
  }
}

type Step = { readonly type: 'call'; readonly succeeds: boolean } | { readonly type: 'advance'; readonly ms: number };

const step = (resetMs: number): fc.Arbitrary<Step> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.boolean().map((succeeds) => ({ type: 'call' as const, succeeds })) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.integer({ min: 0, max: resetMs * 2 }), fc.constantFrom(resetMs - 1, resetMs, 1))
        .map((ms) => ({ type: 'advance' as const, ms: Math.max(0, ms) })),
    },
  );

describe('breaker properties', () => {
  it('for any sequence of successes, failures and waits, admits and refuses exactly as the reference model', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 10_000 }).chain((resetMs) => fc.tuple(fc.constant(resetMs), fc.array(step(resetMs), { maxLength: 60 }))),
        async (threshold, [resetMs, steps]) => {
          const clock = new ManualClock(0);
          const breaker = new CircuitBreaker({
            clock,
            store: new MemoryStore({ clock }),
            failureThreshold: threshold,
            resetTimeout: resetMs,
          });
          const model = new ReferenceBreaker(threshold, resetMs);
          for (const s of steps) {
            if (s.type === 'advance') {
              clock.advance(s.ms);
              continue;
            }
            const expected = model.call(clock.now(), s.succeeds);
            let ran = false;
            const got = await breaker
              .call(() => {
                ran = true;
                if (!s.succeeds) throw new Error('fail');
                return 'ok';
              })
              .then(
                () => undefined,
                (e: unknown) => (e instanceof CircuitOpenError ? e.retryAfterMs : undefined),
              );
            expect(got).toBe(expected);
            expect(ran).toBe(expected === undefined);
            const state = await breaker.getState();
            expect(state.failures).toBe(model.failures);
            expect(state.state === 'closed').toBe(model.state === 'closed');
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('an overrun is exactly actual > estimate × thresholdMultiplier, for any decimals', () => {
    // A Decimal with room for every digit is the independent oracle.
    const Wide = Decimal.clone({ precision: 100 });
    const amount = fc
      .tuple(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.integer({ min: 0, max: 12 }))
      .map(([units, scale]) => new Decimal(units.toString()).div(new Decimal(10).pow(scale)).toFixed());
    const multiplier = fc.tuple(fc.integer({ min: 100, max: 1000 }), fc.integer({ min: 0, max: 3 })).map(([n, s]) =>
      new Decimal(n)
        .div(100)
        .toDecimalPlaces(s === 0 ? 2 : s)
        .toFixed(),
    );
    // Half the cases put actual at the boundary itself, or one unit of its last digit either side of it.
    const pair = fc.oneof(
      fc.tuple(amount, amount, multiplier),
      fc.tuple(amount, multiplier, fc.constantFrom(-1, 0, 1)).map(([estimate, m, nudge]) => {
        const edge = new Wide(estimate).times(m);
        const unit = new Wide(10).pow(-Math.max(edge.decimalPlaces(), 1));
        const actual = Wide.max(0, edge.plus(unit.times(nudge))).toFixed();
        return [estimate, actual, m] as [string, string, string];
      }),
    );
    fc.assert(
      fc.property(pair, ([estimate, actual, m]) => {
        const b = new CircuitBreaker({ thresholdMultiplier: m });
        const expected = new Wide(estimate).gt(0) && new Wide(actual).gt(new Wide(estimate).times(m));
        expect(b.isOverrun({ estimate, actual })).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });
});
