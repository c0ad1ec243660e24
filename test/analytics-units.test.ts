// Analytics pieces on their own: wiring into the governor, validation, CSV, the statistics,
// and the invariant that rollups and a raw ledger scan give the same report for any window.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Analytics, createGovernor, InvalidInputError, MemoryStore, toCSV, type LedgerEntry } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { nearestRank, sketchIndex, sketchPercentile, sketchValue, studentTQuantile } from '../src/analytics/stats.js';
import { decompose } from '../src/analytics/rollup.js';
import { generateLedger } from './fixtures/analytics-ledger.js';

const T0 = Date.parse('2026-11-23T10:00:00Z');
const json = (x: unknown): unknown => JSON.parse(JSON.stringify(x));

describe('gov.analytics', () => {
  it('sees every governed call, refusal and outcome through the pipeline', async () => {
    const clock = new ManualClock(T0);
    const gov = createGovernor({
      clock,
      pricing: { models: { m: { input: '1', output: '2' } } },
      limits: [{ id: 'calls', scope: { agent: '*' }, meter: 'llmCalls', max: 3 }],
      analytics: { rollups: true },
    });
    const scope = { workspace: 'w', agent: 'a', execution: 'x1' };
    for (let i = 0; i < 3; i++) {
      await gov.guard({ scope, model: 'm', provider: 'p', estimate: { llmCalls: 1 }, metadata: { fingerprint: 'same' } }, (ctx) => {
        clock.advance(100);
        ctx.report({ inputTokens: 1000, outputTokens: 500 });
        return 'ok';
      });
    }
    await expect(gov.guard({ scope, model: 'm', provider: 'p', estimate: { llmCalls: 1 } }, async () => 'no')).rejects.toMatchObject({
      code: 'max_llm_calls_exceeded',
    });
    await gov.analytics.recordOutcome('x1', { completed: true, quality: 0.5 });
    const costs = await gov.analytics.getCosts({ period: 'day' });
    // 1000 in at $1/M + 500 out at $2/M = $0.002 a call.
    expect(costs.totalCost).toBe('0.006');
    expect(costs.byModel).toEqual([
      { provider: 'p', model: 'm', cost: '0.006', tokens: 4500, inputTokens: 3000, outputTokens: 1500, cachedInputTokens: 0, calls: 4 },
    ]);
    // From the epoch: the rollups start at the first day they hold.
    expect((await gov.analytics.getCosts({ period: { from: 0 } })).totalCost).toBe('0.006');
    const api = await gov.analytics.getApiCallAnalytics({ period: 'day' });
    expect(api.rows[0]).toMatchObject({
      agent: 'a',
      endpoint: 'm',
      totalCalls: 4,
      successfulCalls: 3,
      otherRefusedCalls: 1,
      avgLatencyMs: 100,
    });
    expect(api.rows[0]!.errorTypes).toEqual({ max_llm_calls_exceeded: 1 });
    const waste = await gov.analytics.getWaste({ period: 'day' });
    expect(waste.redundantApiCalls).toEqual({ calls: 2, wasteCost: '0.004' });
    const eff = await gov.analytics.getEfficiencyScores({ period: 'day' });
    expect(eff.rows[0]).toMatchObject({ id: 'a', tasks: 1, completedTasks: 1, avgQuality: 0.5, overallEfficiency: 1 });
    // The rollups live in the store as versioned values the analytics room owns.
    const day = Math.floor(T0 / 86_400_000) * 86_400_000;
    expect(JSON.parse((await gov.store.getValue(`an:i:${day}`))!.value)).toEqual([
      JSON.stringify(['workspace=w/agent=a', 'p', 'm', '']),
      JSON.stringify(['workspace=w/agent=a', '', '', '']), // the outcome
    ]);
  });

  it('forecasts against the governor’s own budgets', async () => {
    const clock = new ManualClock(Date.parse('2026-11-20T12:00:00Z'));
    const gov = createGovernor({ clock, budgets: [{ id: 'w-month', scope: { workspace: 'w' }, amount: '10', period: 'month' }] });
    for (let d = 0; d < 20; d++) {
      clock.set(Date.parse('2026-11-01T12:00:00Z') + d * 86_400_000);
      await gov.guard({ scope: { workspace: 'w' }, estimate: { cost: '0.5' } }, (ctx) => ctx.report({ cost: '0.4' }));
    }
    clock.set(Date.parse('2026-11-21T00:00:00Z'));
    const f = await gov.analytics.getForecast({ scope: { workspace: 'w' }, horizonDays: 10 });
    expect(f.meters.cost!.method).toBe('linear+weekday');
    expect(f.meters.cost!.daily[0]!.forecast).toBeCloseTo(0.4, 9);
    expect(f.meters.cost!.residualStdError).toBeCloseTo(0, 9);
    const alert = f.budgetAlerts[0]!;
    expect(alert).toMatchObject({ budget: 'w-month', used: 8, max: 10 });
    // 8 spent, 0.4 a day: 90 % (9) after the third day, 100 % (10) after the fifth.
    expect(alert.crossings.map((c) => [c.threshold, c.status, c.date])).toEqual([
      [50, 'crossed', null],
      [80, 'crossed', null],
      [90, 'projected', '2026-11-23'],
      [100, 'projected', '2026-11-25'],
    ]);
    // A horizon shorter than the budget's period still walks to the period's end.
    const short = await gov.analytics.getForecast({ scope: { workspace: 'w' }, horizonDays: 2 });
    expect(short.meters.cost!.daily).toHaveLength(2);
    expect(short.budgetAlerts[0]!.crossings[3]!.date).toBe('2026-11-25');
    expect(short.budgetAlerts[0]!.projectedAtPeriodEnd).toBeCloseTo(8 + 0.4 * 10, 9);
  });
});

describe('validation', () => {
  const store = new MemoryStore();
  it('rejects bad options and queries naming the field', async () => {
    expect(() => new Analytics({ store, flushEvery: 0 })).toThrow(InvalidInputError);
    expect(() => new Analytics({ store, currency: 'usd' })).toThrow(/options.currency/);
    expect(() => new Analytics({ store, resourceRates: { cpuSeconds: '-1' } })).toThrow(
      /options.resourceRates.cpuSeconds must not be negative/,
    );
    expect(() => new Analytics({ store, nope: 1 } as never)).toThrow(/options.nope is not a known option/);
    const a = new Analytics({ store });
    await expect(a.getCosts({ period: 'year' as never })).rejects.toMatchObject({ field: 'query.period' });
    await expect(a.getCosts({ period: { from: 10, to: 5 } })).rejects.toMatchObject({ field: 'query.period.to' });
    await expect(a.getCosts({ scope: { agent: '*' } })).rejects.toMatchObject({ field: 'query.scope.agent' });
    await expect(a.getForecast({ confidence: 1 })).rejects.toMatchObject({ field: 'query.confidence' });
    await expect(a.getForecast({ horizonDays: 0 })).rejects.toMatchObject({ field: 'query.horizonDays' });
    await expect(a.getApiCallAnalytics({ by: 'x' as never })).rejects.toMatchObject({ field: 'query.by' });
    await expect(a.getEfficiencyScores({ by: 'execution' })).rejects.toMatchObject({ field: 'query.by' });
    await expect(a.getTokenAnalytics({ dailyTokenBudget: -1 })).rejects.toMatchObject({ field: 'query.dailyTokenBudget' });
    await expect(a.getExecutionCost('')).rejects.toMatchObject({ field: 'executionId' });
  });

  it('reports on an empty ledger without dividing by zero', async () => {
    const a = new Analytics({ store: new MemoryStore(), clock: new ManualClock(T0) });
    const c = await a.getCosts();
    expect(c.totalCost).toBe('0');
    expect(c.byModel).toEqual([]);
    expect((await a.getCostStats()).avgCostPerCall).toBe('0');
    expect((await a.getApiCallAnalytics()).totals).toMatchObject({ totalCalls: 0, p95LatencyMs: null, avgLatencyMs: null });
    expect((await a.getForecast()).meters.cost!.method).toBe('none');
    expect((await a.getWaste()).totalWaste).toBe('0');
    expect(await a.getRecommendations()).toEqual([]);
  });

  it('an hour into the month, the forecast counts a whole day elapsed', async () => {
    const clock = new ManualClock(Date.parse('2026-12-01T01:00:00Z'));
    const store = new MemoryStore();
    store.appendLedger([{ id: 'x', at: clock.now() - 1000, kind: 'call', status: 'ok', scope: {}, usage: {}, cost: '2', currency: 'USD' }]);
    const f = await new Analytics({ store, clock, rollups: false }).getCostForecast();
    expect(f).toMatchObject({ daysElapsed: 1, dailyAverage: '2', forecastEndOfMonth: '62', totalDays: 31, projectionAccuracy: 'low' });
  });

  it('leaves entries in another currency out of every amount and counts them', async () => {
    const store = new MemoryStore();
    const a = new Analytics({ store, clock: new ManualClock(T0), rollups: false });
    const e = (currency: string): LedgerEntry => ({
      id: currency,
      at: T0 - 1000,
      kind: 'call',
      status: 'ok',
      scope: {},
      usage: {},
      cost: '1.5',
      currency,
    });
    store.appendLedger([e('USD'), e('EUR')]);
    const c = await a.getCosts({ period: 'day' });
    expect(c.totalCost).toBe('1.5');
    expect(c.otherCurrencyCalls).toBe(1);
  });
});

describe('toCSV', () => {
  it('writes a header and quotes what needs quoting', () => {
    expect(
      toCSV([
        { a: 1, b: 'x,y' },
        { a: 'say "hi"', c: null },
      ]),
    ).toBe('a,b,c\n1,"x,y",\n"say ""hi""",,\n');
    expect(toCSV([])).toBe('');
  });
});

describe('statistics', () => {
  it('Student t quantiles match the tables', () => {
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(12.7062047, 5);
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.2281389, 6);
    expect(studentTQuantile(0.975, 48)).toBeCloseTo(2.0106348, 6);
    expect(studentTQuantile(0.95, 5)).toBeCloseTo(2.0150484, 6);
    expect(studentTQuantile(0.995, 1000)).toBeCloseTo(2.5807546, 5);
  });

  it('nearest-rank percentiles', () => {
    const xs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(nearestRank(xs, 95)).toBe(10);
    expect(nearestRank(xs, 50)).toBe(5);
    expect(nearestRank(xs, 0)).toBe(1);
    expect(nearestRank([], 50)).toBeNull();
  });

  it('the sketch answers within 1 % of the exact percentile for any data', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.01, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.integer({ min: 1, max: 100 }),
        (xs, p) => {
          const counts = new Map<string, number>();
          for (const x of xs) counts.set(sketchIndex(x), (counts.get(sketchIndex(x)) ?? 0) + 1);
          const exact = nearestRank(
            [...xs].sort((a, b) => a - b),
            p,
          )!;
          const approx = sketchPercentile(counts, p)!;
          expect(Math.abs(approx - exact) / exact).toBeLessThanOrEqual(0.0100001);
        },
      ),
    );
    expect(sketchValue(sketchIndex(0))).toBe(0);
  });

  it('decompose covers a range exactly once with days, hours and raw edges', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 * 86_400_000 }), fc.integer({ min: 1, max: 20 * 86_400_000 }), (from, len) => {
        const p = decompose(from, from + len);
        const pieces: [number, number][] = [
          ...p.raw,
          ...p.hours.map((h): [number, number] => [h, h + 3_600_000]),
          ...p.days.map((d): [number, number] => [d, d + 86_400_000]),
        ].sort((a, b) => a[0] - b[0]);
        expect(pieces[0]![0]).toBe(from);
        expect(pieces[pieces.length - 1]![1]).toBe(from + len);
        for (let i = 1; i < pieces.length; i++) expect(pieces[i]![0]).toBe(pieces[i - 1]![1]);
        expect(p.raw.every(([a, b]) => b - a < 3_600_000 || p.hours.length + p.days.length === 0)).toBe(true);
      }),
    );
  });
});

describe('rollups and the ledger agree for any slice of the fixture and any window (property)', () => {
  const all = generateLedger(7).slice(0, 3000);
  const start = all[0]!.at;
  const end = all[all.length - 1]!.at;
  it('getCosts, getApiCallAnalytics and getWaste', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 2999 }),
        fc.integer({ min: start - 3_600_000, max: end }),
        fc.integer({ min: 1, max: 20 * 86_400_000 }),
        fc.constantFrom(undefined, { agent: 'a1' }, { project: 'p2' }),
        async (cut, from, len, scope) => {
          const clock = new ManualClock(end + 1);
          const store = new MemoryStore({ clock, maxLedgerEntries: 10_000 });
          const entries = all.slice(cut);
          store.appendLedger(entries);
          const rolled = new Analytics({ store, clock, flushEvery: 500 });
          for (const e of entries) rolled.record(e);
          const raw = new Analytics({ store, clock, rollups: false });
          const q = { scope, period: { from, to: from + len } };
          expect(json(await rolled.getCosts(q))).toEqual(json(await raw.getCosts(q)));
          expect(json(await rolled.getApiCallAnalytics(q))).toEqual(json(await raw.getApiCallAnalytics(q)));
          expect(json(await rolled.getWaste(q))).toEqual(json(await raw.getWaste(q)));
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('gov.analytics prices with gov.costs', () => {
  it('splits a call’s cost into the catalog’s token price and the rest', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 2, 12));
    const gov = createGovernor({ clock });
    // gpt-4o-mini in the catalog: $0.15 input and $0.60 output per million tokens.
    await gov.guard({ scope: { workspace: 'w', agent: 'a' }, kind: 'llm', model: 'gpt-4o-mini' }, (ctx) => {
      ctx.report({ inputTokens: 1000, outputTokens: 1000, cost: '0.01' });
      return 1;
    });
    await gov.analytics.flush();
    const r = await gov.analytics.getCostAllocation({ scope: { workspace: 'w' }, period: 'day' });
    expect(r.rows).toEqual([
      expect.objectContaining({ workspace: 'w', agent: 'a', tokenCost: '0.00075', apiCost: '0.00925', totalDailyCost: '0.01' }),
    ]);
    await gov.close();
  });
});
