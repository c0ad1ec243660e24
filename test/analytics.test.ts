// Analytics over the fixture ledger (test/fixtures/analytics-ledger.ts): every report's
// figures are checked against an independent computation straight from the entries, and
// the rollup path against the raw ledger path.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  Analytics,
  Decimal,
  MemoryStore,
  PriceTable,
  type AnalyticsPricing,
  type AnalyticsTokenUsage,
  type LedgerEntry,
} from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { FIXTURE_NOW, FIXTURE_PRICES, generateLedger } from './fixtures/analytics-ledger.js';

const DAY = 86_400_000;
const ENTRIES = generateLedger();
const PRICES = new PriceTable(FIXTURE_PRICES);
const WINDOWS: Record<string, number> = {
  'gpt-4o': 128_000,
  'gpt-4o-mini': 128_000,
  'claude-sonnet-4': 200_000,
  'claude-haiku-3.5': 200_000,
};
/** Fixture pricing: the price table, context windows, and a half-price batch API for OpenAI models. */
const PRICING: AnalyticsPricing = {
  cost: (m, u) => PRICES.cost(m, u),
  contextWindow: (m) => WINDOWS[m],
  batchCost: (m, u) => {
    const c = PRICES.cost(m, u);
    return m.startsWith('gpt') && c !== undefined ? (c + 1n) / 2n : undefined;
  },
};
const MONTH_FROM = Date.UTC(2026, 9, 1);
const TO = FIXTURE_NOW + 1;

interface Setup {
  rollup: Analytics;
  raw: Analytics;
  store: MemoryStore;
  clock: ManualClock;
}

function setup(extra: Partial<ConstructorParameters<typeof Analytics>[0]> = {}): Setup {
  const clock = new ManualClock(FIXTURE_NOW);
  const store = new MemoryStore({ clock, maxLedgerEntries: 50_000 });
  store.appendLedger(ENTRIES);
  const rollup = new Analytics({ store, clock, pricing: PRICING, ...extra });
  const raw = new Analytics({ store, clock, pricing: PRICING, rollups: false, ...extra });
  return { rollup, raw, store, clock };
}

const json = (x: unknown): unknown => JSON.parse(JSON.stringify(x));
const calls = (from: number, to: number, pred: (e: LedgerEntry) => boolean = () => true): LedgerEntry[] =>
  ENTRIES.filter((e) => e.kind === 'call' && e.at >= from && e.at < to && pred(e));
const sum = (es: readonly LedgerEntry[], f: (e: LedgerEntry) => Decimal.Value = (e) => e.cost): Decimal =>
  es.reduce((s, e) => s.plus(f(e)), new Decimal(0));
const tok = (e: LedgerEntry, m: string): number => Number(e.usage[m] ?? 0);
const isLlm = (e: LedgerEntry): boolean => e.usage.inputTokens !== undefined;
const endpoint = (e: LedgerEntry): string => e.model ?? e.name ?? '';
const rank = (sorted: number[], p: number): number => sorted[Math.ceil((p / 100) * sorted.length) - 1] as number;
const r6 = (x: number): number => Math.round(x * 1e6) / 1e6;

let S: Setup;
beforeAll(async () => {
  S = setup();
  expect(await S.rollup.backfill()).toBe(ENTRIES.length);
});

describe('the fixture', () => {
  it('is deterministic and has what the reports need', () => {
    expect(JSON.stringify(generateLedger())).toBe(JSON.stringify(ENTRIES));
    const c = ENTRIES.filter((e) => e.kind === 'call');
    expect(c.length).toBeGreaterThan(9000);
    expect(new Set(c.map((e) => e.scope.agent)).size).toBe(3);
    expect(new Set(c.filter(isLlm).map((e) => e.model)).size).toBe(4);
    expect(Math.round((FIXTURE_NOW - ENTRIES[0]!.at) / DAY)).toBe(60);
    for (const s of ['ok', 'error', 'refused', 'released']) expect(c.some((e) => e.status === s)).toBe(true);
    expect(c.some((e) => e.data?.attempt === 2)).toBe(true);
    expect(c.some((e) => e.code === 'rate_limited')).toBe(true);
    expect(c.some((e) => tok(e, 'cachedInputTokens') > 0)).toBe(true);
  });
});

describe('rollups and the raw ledger agree', () => {
  const reports: [string, (a: Analytics) => Promise<unknown>][] = [
    ['getCosts', (a) => a.getCosts()],
    [
      'getCosts (range with partial hours)',
      (a) => a.getCosts({ period: { from: Date.UTC(2026, 8, 3, 7, 15), to: Date.UTC(2026, 9, 20, 16, 45) } }),
    ],
    ['getCostStats', (a) => a.getCostStats({ scope: { project: 'p1' } })],
    ['getCostAllocation', (a) => a.getCostAllocation()],
    ['getApiCallAnalytics', (a) => a.getApiCallAnalytics()],
    ['getApiCallAnalytics (sketch)', (a) => a.getApiCallAnalytics({ period: 'week' })],
    ['getTokenAnalytics', (a) => a.getTokenAnalytics({ dailyTokenBudget: 1_000_000 })],
    ['getEfficiencyScores', (a) => a.getEfficiencyScores()],
    ['getForecast', (a) => a.getForecast({ scope: { workspace: 'acme' } })],
    ['getWaste', (a) => a.getWaste()],
    ['getRecommendations', (a) => a.getRecommendations()],
  ];
  for (const [name, run] of reports) {
    it(name, async () => {
      expect(json(await run(S.rollup))).toEqual(json(await run(S.raw)));
    });
  }

  it('records entries as they come (flushing in batches) to the same rollups as a backfill', async () => {
    const clock = new ManualClock(FIXTURE_NOW);
    const store = new MemoryStore({ clock, maxLedgerEntries: 50_000 });
    const live = new Analytics({ store, clock, pricing: PRICING, flushEvery: 777 });
    for (const e of ENTRIES) {
      store.appendLedger([e]);
      live.record(e);
    }
    expect(json(await live.getCosts())).toEqual(json(await S.rollup.getCosts()));
    expect(json(await live.getWaste())).toEqual(json(await S.rollup.getWaste()));
  });

  it('empties hourly cells past the retention and reads those hours from the ledger', async () => {
    const { rollup, raw, store } = setup({ hourlyRetention: '2d' });
    await rollup.backfill();
    const old = Date.UTC(2026, 8, 10);
    const [dim] = JSON.parse((await store.getValue(`an:i:${old}`))!.value) as string[];
    const hours = await Promise.all(Array.from({ length: 24 }, (_, h) => store.getValue(`an:h:${old + h * 3_600_000}:${dim}`)));
    expect(hours.filter((v) => v !== undefined).every((v) => v!.value === '')).toBe(true);
    expect(hours.some((v) => v !== undefined)).toBe(true);
    expect((await store.getValue(`an:d:${old}:${dim}`))!.value).not.toBe('');
    const q = { period: { from: Date.UTC(2026, 8, 10, 5, 30), to: Date.UTC(2026, 9, 30, 9, 15) } };
    expect(json(await rollup.getCosts(q))).toEqual(json(await raw.getCosts(q)));
    expect(json(await rollup.getApiCallAnalytics(q))).toEqual(json(await raw.getApiCallAnalytics(q)));
  });

  it('merges the rollups of two processes sharing a store', async () => {
    const clock = new ManualClock(FIXTURE_NOW);
    const store = new MemoryStore({ clock, maxLedgerEntries: 50_000 });
    store.appendLedger(ENTRIES);
    const p1 = new Analytics({ store, clock, pricing: PRICING });
    const p2 = new Analytics({ store, clock, pricing: PRICING });
    ENTRIES.forEach((e, i) => (i % 2 === 0 ? p1 : p2).record(e));
    await Promise.all([p1.flush(), p2.flush()]);
    const c = await p1.getCosts();
    expect(c.totalCost).toBe((await S.rollup.getCosts()).totalCost);
    expect(c.byModel).toEqual((await S.rollup.getCosts()).byModel);
  });
});

describe('cost reports (seed 004)', () => {
  it('getCosts: totals, LLM vs compute, by model, by resource and the daily trend', async () => {
    const r = await S.rollup.getCosts();
    const month = calls(MONTH_FROM, TO);
    const llm = month.filter(isLlm);
    const tools = month.filter((e) => e.name === 'tool:search');
    expect(r.period).toBe('month');
    expect(r.from).toBe('2026-10-01T00:00:00.000Z');
    expect(r.totalCost).toBe(sum(month).toFixed());
    expect(r.llmCost).toBe(sum(llm).toFixed());
    expect(r.computeCost).toBe(sum(tools).toFixed());
    expect(r.breakdown.llm).toEqual({
      total: sum(llm).toFixed(),
      tokens: llm.reduce((s, e) => s + tok(e, 'inputTokens') + tok(e, 'outputTokens'), 0),
      calls: llm.length,
    });
    expect(r.breakdown.compute.records).toBe(tools.length);
    for (const m of Object.keys(FIXTURE_PRICES)) {
      const mine = month.filter((e) => e.model === m);
      expect(r.byModel.find((x) => x.model === m)).toEqual({
        provider: mine[0]!.provider,
        model: m,
        cost: sum(mine).toFixed(),
        tokens: mine.reduce((s, e) => s + tok(e, 'inputTokens') + tok(e, 'outputTokens'), 0),
        inputTokens: mine.reduce((s, e) => s + tok(e, 'inputTokens'), 0),
        outputTokens: mine.reduce((s, e) => s + tok(e, 'outputTokens'), 0),
        cachedInputTokens: mine.reduce((s, e) => s + tok(e, 'cachedInputTokens'), 0),
        calls: mine.length,
      });
    }
    // Resource costs at the default rates, each rounded down to the pico; the rest of a tool call is its API fee.
    const res = (meter: string, rate: string): Decimal =>
      sum(tools, (e) => new Decimal(e.usage[meter]!).times(rate).toDecimalPlaces(12, Decimal.ROUND_DOWN));
    const cpu = res('cpuSeconds', '0.0000166');
    const mem = res('memoryGbSeconds', '0.0000047104');
    const net = res('networkBytes', '0.00000001');
    expect(r.byResource).toEqual([
      {
        resourceType: 'cpu',
        meter: 'cpuSeconds',
        cost: cpu.toFixed(),
        usage: sum(tools, (e) => e.usage.cpuSeconds!).toFixed(),
        count: tools.length,
      },
      {
        resourceType: 'memory',
        meter: 'memoryGbSeconds',
        cost: mem.toFixed(),
        usage: sum(tools, (e) => e.usage.memoryGbSeconds!).toFixed(),
        count: tools.length,
      },
      {
        resourceType: 'network',
        meter: 'networkBytes',
        cost: net.toFixed(),
        usage: sum(tools, (e) => e.usage.networkBytes!).toFixed(),
        count: tools.filter((e) => tok(e, 'networkBytes') > 0).length,
      },
      { resourceType: 'api', meter: null, cost: sum(tools).minus(cpu).minus(mem).minus(net).toFixed(), usage: '0', count: tools.length },
    ]);
    expect(r.trends.daily).toHaveLength(30);
    for (const d of r.trends.daily) {
      const start = Date.parse(`${d.date}T00:00:00Z`);
      const day = calls(start, Math.min(start + DAY, TO));
      expect(d.cost).toBe(sum(day).toFixed());
      expect(d.calls).toBe(day.length);
    }
    expect(r.trends.forecastEom).toBe((await S.rollup.getCostForecast()).forecastEndOfMonth);
    expect(r.toCSV().split('\n')[0]).toBe('provider,model,cost,tokens,inputTokens,outputTokens,cachedInputTokens,calls');
  });

  it('getCosts is scoped and time-filtered', async () => {
    const from = Date.UTC(2026, 8, 10, 5, 30);
    const to = Date.UTC(2026, 8, 12, 0, 10);
    const r = await S.rollup.getCosts({ scope: { agent: 'a2' }, period: { from, to } });
    const mine = calls(from, to, (e) => e.scope.agent === 'a2');
    expect(r.totalCost).toBe(sum(mine).toFixed());
    expect(r.byModel.map((m) => m.model).sort()).toEqual(['claude-haiku-3.5', 'claude-sonnet-4']);
    expect(r.trends.forecastEom).toBeNull();
  });

  it('getExecutionCost: one execution, LLM and compute by type', async () => {
    const exec = ENTRIES.find((e) => e.name === 'tool:search')!.scope.execution!;
    const mine = ENTRIES.filter((e) => e.kind === 'call' && e.scope.execution === exec);
    const r = await S.rollup.getExecutionCost(exec);
    expect(r.totalCost).toBe(sum(mine).toFixed());
    expect(r.llmCost).toBe(sum(mine.filter(isLlm)).toFixed());
    expect(r.breakdown.llm.calls).toBe(mine.filter(isLlm).length);
    expect(Object.keys(r.breakdown.compute.byType)).toEqual(['cpu', 'memory', 'network', 'api']);
    expect(r.calls).toBe(mine.length);
    expect(r.firstAt).toBe(new Date(mine[0]!.at).toISOString());
    // Any report takes an execution scope (read from the ledger: rollups leave the execution out).
    const scoped = await S.rollup.getCosts({ scope: { execution: exec }, period: { from: 0 } });
    expect(scoped.totalCost).toBe(r.totalCost);
    expect(scoped.breakdown.llm.calls).toBe(r.breakdown.llm.calls);
  });

  it('getCostForecast: month to date, pace, confidence and accuracy label', async () => {
    const r = await S.rollup.getCostForecast();
    const spent = sum(calls(MONTH_FROM, TO));
    const elapsed = new Decimal(TO - MONTH_FROM).div(DAY);
    const avg = spent.div(elapsed);
    const fullDays = Array.from({ length: 29 }, (_, i) => sum(calls(MONTH_FROM + i * DAY, MONTH_FROM + (i + 1) * DAY)).toNumber() * 1e12);
    const mean = fullDays.reduce((s, v) => s + v, 0) / 29;
    const sd = Math.sqrt(fullDays.reduce((s, v) => s + (v - mean) ** 2, 0) / 28);
    const confidence = r6(0.5 * (elapsed.toNumber() / 31) + 0.5 / (1 + sd / mean));
    expect(r).toEqual({
      currentMonthSpent: spent.toFixed(),
      llmCost: sum(calls(MONTH_FROM, TO, isLlm)).toFixed(),
      computeCost: sum(calls(MONTH_FROM, TO, (e) => !isLlm(e))).toFixed(),
      daysElapsed: r6(elapsed.toNumber()),
      totalDays: 31,
      dailyAverage: avg.toDecimalPlaces(12).toFixed(),
      forecastEndOfMonth: avg.times(31).toDecimalPlaces(12).toFixed(),
      forecastConfidence: confidence,
      projectionAccuracy: confidence >= 0.75 ? 'high' : confidence >= 0.5 ? 'medium' : 'low',
      currency: 'USD',
    });
  });

  it('getCostStats: statuses, cost per call, daily spread, top models and agents', async () => {
    const r = await S.rollup.getCostStats();
    const month = calls(MONTH_FROM, TO);
    const n = (s: string): number => month.filter((e) => e.status === s).length;
    const days = Array.from({ length: 30 }, (_, i) => sum(calls(MONTH_FROM + i * DAY, Math.min(MONTH_FROM + (i + 1) * DAY, TO)))).sort(
      (a, b) => a.cmp(b),
    );
    expect(r.calls).toEqual({ total: month.length, ok: n('ok'), error: n('error'), refused: n('refused'), released: n('released') });
    expect(r.avgCostPerCall).toBe(
      sum(month)
        .div(n('ok') + n('error'))
        .toDecimalPlaces(12)
        .toFixed(),
    );
    expect(r.failedCost).toBe(sum(month.filter((e) => e.status === 'error')).toFixed());
    expect(r.daily).toEqual({
      days: 30,
      min: days[0]!.toFixed(),
      max: days[29]!.toFixed(),
      mean: sum(month).div(30).toDecimalPlaces(12).toFixed(),
      median: days[14]!.plus(days[15]!).div(2).toDecimalPlaces(12).toFixed(),
    });
    expect(r.topModels[0]).toEqual({
      model: 'gpt-4o',
      cost: sum(month.filter((e) => e.model === 'gpt-4o')).toFixed(),
      share: r6(
        sum(month.filter((e) => e.model === 'gpt-4o'))
          .div(sum(month))
          .toNumber(),
      ),
    });
    expect(r.topAgents.map((a) => a.agent)).toEqual(
      ['a1', 'a2', 'a3'].sort((x, y) => sum(month.filter((e) => e.scope.agent === y)).cmp(sum(month.filter((e) => e.scope.agent === x)))),
    );
  });
});

describe('cost allocation (seed 003 §4.1)', () => {
  it('splits each agent-day into resource, token and API cost with a rolling 30-day total', async () => {
    const r = await S.rollup.getCostAllocation({ period: 'week' });
    const weekFrom = Date.UTC(2026, 9, 26);
    expect(r.rows).toHaveLength(5 * 3);
    for (const row of r.rows) {
      const start = Date.parse(`${row.date}T00:00:00Z`);
      const mine = (from: number, to: number): LedgerEntry[] => calls(from, to, (e) => e.scope.agent === row.agent);
      const day = mine(start, Math.min(start + DAY, TO));
      expect(row.workspace).toBe('acme');
      expect(row.totalDailyCost).toBe(sum(day).toFixed());
      expect(row.tokenCost).toBe(sum(day.filter(isLlm)).toFixed());
      expect(row.cpuCost).toBe(
        sum(
          day.filter((e) => e.name === 'tool:search'),
          (e) => new Decimal(e.usage.cpuSeconds!).times('0.0000166').toDecimalPlaces(12, Decimal.ROUND_DOWN),
        ).toFixed(),
      );
      expect(
        new Decimal(row.cpuCost)
          .plus(row.memoryCost)
          .plus(row.gpuCost)
          .plus(row.storageCost)
          .plus(row.networkCost)
          .plus(row.tokenCost)
          .plus(row.apiCost)
          .toFixed(),
      ).toBe(row.totalDailyCost);
      expect(row.rolling30dCost).toBe(sum(mine(start - 29 * DAY, Math.min(start + DAY, TO))).toFixed());
      expect(start).toBeGreaterThanOrEqual(weekFrom);
    }
    expect(r.toCSV().split('\n')[0]).toBe(
      'workspace,agent,date,cpuCost,memoryCost,gpuCost,storageCost,networkCost,tokenCost,apiCost,totalDailyCost,rolling30dCost',
    );
  });
});

describe('API call analytics (seed 003 §3.1)', () => {
  it('counts, exact latency percentiles, cost per call, waste, throttling, errors and retries per agent and endpoint', async () => {
    const r = await S.rollup.getApiCallAnalytics();
    expect(r.percentileMethod).toBe('exact');
    expect(r.rows).toHaveLength(3 * 2 + 3); // two models and the tool per agent
    for (const row of r.rows) {
      const mine = calls(MONTH_FROM, TO, (e) => e.scope.agent === row.agent && endpoint(e) === row.endpoint);
      const ran = mine.filter((e) => e.status === 'ok' || e.status === 'error');
      const lat = ran.map((e) => e.durationMs!).sort((a, b) => a - b);
      const limited = mine.filter((e) => e.code === 'rate_limited');
      let incidents = 0;
      let last = -Infinity;
      for (const e of limited) {
        if (e.at - last > 60_000) incidents++;
        last = e.at;
      }
      const errors: Record<string, number> = {};
      for (const e of mine) if (e.status === 'error' || e.status === 'refused') errors[e.code!] = (errors[e.code!] ?? 0) + 1;
      const retries = ran.filter((e) => (e.data?.attempt as number) > 1);
      expect(row).toEqual({
        agent: row.agent,
        endpoint: row.endpoint,
        totalCalls: mine.length,
        successfulCalls: mine.filter((e) => e.status === 'ok').length,
        failedCalls: mine.filter((e) => e.status === 'error').length,
        rateLimitedCalls: limited.length,
        otherRefusedCalls: 0,
        releasedCalls: mine.filter((e) => e.status === 'released').length,
        avgLatencyMs: r6(lat.reduce((s, v) => s + v, 0) / lat.length),
        p95LatencyMs: rank(lat, 95),
        p99LatencyMs: rank(lat, 99),
        totalCost: sum(mine).toFixed(),
        costPerCall: sum(mine).div(ran.length).toDecimalPlaces(12).toFixed(),
        wastedCostFailedCalls: sum(mine.filter((e) => e.status === 'error')).toFixed(),
        throttleIncidents: incidents,
        errorTypes: Object.fromEntries(Object.entries(errors).sort()),
        errorRate: r6(mine.filter((e) => e.status === 'error').length / ran.length),
        retrySuccessRate: retries.length === 0 ? null : r6(retries.filter((e) => e.status === 'ok').length / retries.length),
        retries: retries.length,
      });
    }
    const all = calls(MONTH_FROM, TO, (e) => e.status === 'ok' || e.status === 'error')
      .map((e) => e.durationMs!)
      .sort((a, b) => a - b);
    expect(r.totals.p99LatencyMs).toBe(rank(all, 99));
    expect(r.totals.totalCalls).toBe(calls(MONTH_FROM, TO).length);
  });

  it('beyond exactPercentileLimit, percentiles come from the sketch within 1 % of the exact ones', async () => {
    const { rollup } = setup({ exactPercentileLimit: 0 });
    await rollup.backfill();
    const sketch = await rollup.getApiCallAnalytics();
    const exact = await S.rollup.getApiCallAnalytics();
    expect(sketch.percentileMethod).toBe('sketch');
    for (const [i, row] of sketch.rows.entries()) {
      const x = exact.rows[i]!;
      expect(row.totalCalls).toBe(x.totalCalls);
      for (const k of ['p95LatencyMs', 'p99LatencyMs'] as const) {
        expect(Math.abs(row[k]! - x[k]!) / x[k]!).toBeLessThanOrEqual(0.01);
      }
    }
  });

  it('groups by name when asked', async () => {
    const r = await S.rollup.getApiCallAnalytics({ by: 'name', scope: { agent: 'a1' } });
    expect(r.rows.map((x) => x.endpoint)).toEqual(['chat', 'tool:search']);
  });
});

describe('token analytics (seed 003 §2)', () => {
  it('distribution, per call, cache hits, context windows, sizing and daily budget status', async () => {
    const r = await S.rollup.getTokenAnalytics({ period: 'week', dailyTokenBudget: 1_200_000 });
    const from = Date.UTC(2026, 9, 26);
    const llm = calls(from, TO, isLlm);
    const t = (m: string, es = llm): number => es.reduce((s, e) => s + tok(e, m), 0);
    expect(r.distribution).toEqual({
      inputTokens: t('inputTokens'),
      uncachedInputTokens: t('inputTokens') - t('cachedInputTokens') - t('cacheWriteTokens'),
      cachedInputTokens: t('cachedInputTokens'),
      cacheWriteTokens: t('cacheWriteTokens'),
      outputTokens: t('outputTokens'),
      reasoningTokens: t('reasoningTokens'),
    });
    expect(r.perCall).toEqual({
      calls: llm.length,
      inputTokens: r6(t('inputTokens') / llm.length),
      outputTokens: r6(t('outputTokens') / llm.length),
      totalTokens: r6((t('inputTokens') + t('outputTokens')) / llm.length),
    });
    expect(r.cacheHitRatio).toBe(r6(t('cachedInputTokens') / t('inputTokens')));
    const gpt = llm.filter((e) => e.model === 'gpt-4o');
    const small = gpt.filter((e) => e.status === 'ok' && tok(e, 'inputTokens') <= 1000 && tok(e, 'outputTokens') <= 300).length;
    const g = r.byModel.find((m) => m.model === 'gpt-4o')!;
    expect(g.contextWindow).toBe(128_000);
    expect(g.contextWindowUsed).toBe(r6(r6(t('inputTokens', gpt) / gpt.length) / 128_000));
    expect(g.smallCallShare).toBe(r6(small / gpt.filter((e) => e.status === 'ok').length));
    expect(g.sizing).toBe('fits');
    for (const d of r.daily) {
      const start = Date.parse(`${d.date}T00:00:00Z`);
      const dayTokens = (a: number, b: number): number =>
        calls(a, b, isLlm).reduce((s, e) => s + tok(e, 'inputTokens') + tok(e, 'outputTokens'), 0);
      const tokens = dayTokens(start, Math.min(start + DAY, TO));
      expect(d.totalTokens).toBe(tokens);
      expect(d.rolling30dTokens).toBe(dayTokens(start - 29 * DAY, Math.min(start + DAY, TO)));
      expect(d.budgetStatus).toBe(tokens > 1_200_000 ? 'over_budget' : tokens > 960_000 ? 'near_limit' : 'within_budget');
    }
    expect(r.daily.map((d) => d.budgetStatus)).toContain('near_limit');
  });
});

describe('efficiency scores (seed 003 §5.1)', () => {
  it('weights the five normalized components and ranks the agents; an agent without outcomes scores 0 on tasks and quality', async () => {
    const r = await S.rollup.getEfficiencyScores();
    expect(r.weights).toEqual({
      tokensPerDollar: 0.2,
      tasksPerDollar: 0.25,
      successPerDollar: 0.25,
      speedPerDollar: 0.15,
      qualityPerDollar: 0.15,
    });
    expect(r.missingComponents).toEqual([]);
    const comp = ['a1', 'a2', 'a3'].map((agent) => {
      const mine = calls(MONTH_FROM, TO, (e) => e.scope.agent === agent);
      const outcomes = ENTRIES.filter((e) => e.kind === 'outcome' && e.at >= MONTH_FROM && e.at < TO && e.scope.agent === agent);
      const cost = sum(mine).toNumber();
      const ran = mine.filter((e) => e.status === 'ok' || e.status === 'error');
      const lat = ran.reduce((s, e) => s + e.durationMs!, 0) / ran.length / 1000;
      const quality = outcomes.reduce((s, e) => s + (e.data!.quality as number), 0) / outcomes.length;
      return {
        tokensPerDollar: mine.reduce((s, e) => s + tok(e, 'inputTokens') + tok(e, 'outputTokens'), 0) / cost,
        tasksPerDollar: outcomes.length === 0 ? null : outcomes.filter((e) => e.data!.completed === true).length / cost,
        successPerDollar: ran.filter((e) => e.status === 'ok').length / ran.length / cost,
        speedPerDollar: 1 / (lat * cost),
        qualityPerDollar: outcomes.length === 0 ? null : quality / cost,
      };
    });
    const weights = { tokensPerDollar: 0.2, tasksPerDollar: 0.25, successPerDollar: 0.25, speedPerDollar: 0.15, qualityPerDollar: 0.15 };
    const overall = comp.map((c) =>
      (Object.keys(weights) as (keyof typeof weights)[]).reduce((s, k) => {
        const best = Math.max(...comp.map((x) => x[k] ?? 0));
        return s + weights[k] * r6((c[k] ?? 0) / best);
      }, 0),
    );
    expect(r.rows.map((x) => x.id)).toEqual(['a1', 'a2', 'a3']);
    r.rows.forEach((row, i) => {
      expect(row.overallEfficiency).toBeCloseTo(overall[i]!, 6);
      for (const k of Object.keys(weights) as (keyof typeof weights)[]) {
        expect(row.componentScores[k]).toBe(comp[i]![k] === null ? null : r6(comp[i]![k]!));
      }
      const lower = overall.filter((o) => o < overall[i]!).length;
      expect(row.percentileRank).toBe(r6((lower / 2) * 100));
    });
    expect(r.rows[2]!.normalizedScores.tasksPerDollar).toBe(0);
    expect(r.rows[2]!.improvementAreas.slice(0, 2)).toEqual(['tasksPerDollar', 'qualityPerDollar']);
  });

  it('leaves out components no member has data for and rescales the weights', async () => {
    const r = await S.rollup.getEfficiencyScores({ scope: { agent: 'a3' } });
    expect(r.missingComponents).toEqual(['tasksPerDollar', 'qualityPerDollar']);
    expect(r.rows[0]!.overallEfficiency).toBe(1);
  });

  it('recordOutcome stores an outcome entry under the execution and the scores count it', async () => {
    const s = setup();
    await s.rollup.backfill();
    const a3exec = ENTRIES.find((e) => e.kind === 'call' && e.scope.agent === 'a3' && e.at >= MONTH_FROM)!.scope.execution!;
    const entry = await s.rollup.recordOutcome(a3exec, { completed: true, quality: 0.8 });
    expect(entry).toMatchObject({ kind: 'outcome', status: 'ok', cost: '0', data: { completed: true, quality: 0.8 } });
    expect(entry.scope).toEqual({ workspace: 'acme', project: 'p2', agent: 'a3', execution: a3exec });
    const r = await s.rollup.getEfficiencyScores();
    expect(r.rows[2]).toMatchObject({ tasks: 1, completedTasks: 1, avgQuality: 0.8 });
    await expect(s.rollup.recordOutcome(a3exec, { completed: true, quality: 2 })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'outcome.quality',
    });
    await expect(s.rollup.recordOutcome({ agent: 'a3' }, { completed: true })).rejects.toMatchObject({ field: 'execution.execution' });
  });
});

/** Independent least squares: modified Gram–Schmidt QR, then R⁻¹ for the covariance. */
function qrFit(x: number[][], y: number[]): { beta: number[]; rinv: number[][]; sigma: number; df: number } {
  const n = x.length;
  const p = x[0]!.length;
  const q = Array.from({ length: p }, (_, j) => x.map((r) => r[j]!));
  const R = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let j = 0; j < p; j++) {
    for (let i = 0; i < j; i++) {
      R[i]![j] = q[i]!.reduce((s, v, k) => s + v * q[j]![k]!, 0);
      q[j] = q[j]!.map((v, k) => v - R[i]![j]! * q[i]![k]!);
    }
    R[j]![j] = Math.sqrt(q[j]!.reduce((s, v) => s + v * v, 0));
    q[j] = q[j]!.map((v) => v / R[j]![j]!);
  }
  const qty = q.map((col) => col.reduce((s, v, k) => s + v * y[k]!, 0));
  const beta = new Array<number>(p).fill(0);
  for (let i = p - 1; i >= 0; i--) beta[i] = (qty[i]! - R[i]!.slice(i + 1).reduce((s, v, k) => s + v * beta[i + 1 + k]!, 0)) / R[i]![i]!;
  const rinv = Array.from({ length: p }, () => new Array<number>(p).fill(0));
  for (let c = 0; c < p; c++)
    for (let i = p - 1; i >= 0; i--)
      rinv[i]![c] = ((i === c ? 1 : 0) - R[i]!.slice(i + 1).reduce((s, v, k) => s + v * rinv[i + 1 + k]![c]!, 0)) / R[i]![i]!;
  const ssr = y.reduce((s, v, r) => s + (v - x[r]!.reduce((a, b, j) => a + b * beta[j]!, 0)) ** 2, 0);
  return { beta, rinv, sigma: Math.sqrt(ssr / (n - p)), df: n - p };
}

describe('forecasts (seed 003 §6.1)', () => {
  it('fits trend + weekday by least squares with Student-t prediction intervals, checked against a QR fit', async () => {
    const r = await S.rollup.getForecast({ scope: { workspace: 'acme' }, horizonDays: 10, historyDays: 56, confidence: 0.95 });
    const today = Date.UTC(2026, 9, 30);
    const days = Array.from({ length: 56 }, (_, i) => today - (56 - i) * DAY);
    const y = days.map((d) => sum(calls(d, d + DAY)).toNumber());
    const row = (t: number, d: number): number[] => {
      const dow = (new Date(d).getUTCDay() + 6) % 7;
      return [1, t, ...[1, 2, 3, 4, 5, 6].map((k) => (dow === k ? 1 : 0))];
    };
    const fit = qrFit(
      days.map((d, i) => row(i, d)),
      y,
    );
    expect(fit.df).toBe(48);
    const t975 = 2.0106347547; // Student's t, 0.975 quantile, 48 degrees of freedom (tables)
    const cost = r.meters.cost!;
    expect(cost.method).toBe('linear+weekday');
    expect(cost.observations).toBe(56);
    expect(cost.residualStdError).toBeCloseTo(fit.sigma, 6);
    expect(cost.trendPerDay).toBeCloseTo(fit.beta[1]!, 6);
    const u = new Array<number>(8).fill(0);
    let total = 0;
    cost.daily.forEach((p, h) => {
      const d = today + h * DAY;
      const x0 = row(56 + h, d);
      x0.forEach((v, j) => (u[j]! += v));
      const yhat = x0.reduce((s, v, j) => s + v * fit.beta[j]!, 0);
      // x0ᵀ(XᵀX)⁻¹x0 = |R⁻ᵀx0|²
      const z = fit.rinv.map((_, c) => x0.reduce((s, v, i) => s + v * fit.rinv[c]![i]!, 0));
      void z;
      const w = Array.from({ length: 8 }, (_, c) => x0.reduce((s, v, i) => s + v * fit.rinv[i]![c]!, 0));
      const half = t975 * fit.sigma * Math.sqrt(1 + w.reduce((s, v) => s + v * v, 0));
      total += yhat;
      expect(p.date).toBe(new Date(d).toISOString().slice(0, 10));
      expect(p.forecast).toBeCloseTo(yhat, 5);
      expect(p.upper).toBeCloseTo(yhat + half, 5);
      expect(p.lower).toBeCloseTo(Math.max(0, yhat - half), 5);
    });
    const wu = Array.from({ length: 8 }, (_, c) => u.reduce((s, v, i) => s + v * fit.rinv[i]![c]!, 0));
    const halfTotal = t975 * fit.sigma * Math.sqrt(10 + wu.reduce((s, v) => s + v * v, 0));
    expect(cost.total.forecast).toBeCloseTo(total, 5);
    expect(cost.total.upper).toBeCloseTo(total + halfTotal, 5);
    expect(r.projectedCosts).toEqual({
      total: cost.total.forecast.toFixed(6),
      lower: cost.total.lower.toFixed(6),
      upper: cost.total.upper.toFixed(6),
    });
    // Weekends are quieter in the fixture: Saturday and Sunday effects are negative.
    expect(cost.weekdayEffects[5]).toBeLessThan(0);
    expect(cost.weekdayEffects[6]).toBeLessThan(0);
  });

  it('reports the budget thresholds the projection crosses, and when', async () => {
    const { rollup } = setup({
      budgets: () => [
        { id: 'acme-monthly', scope: { workspace: 'acme' }, meter: 'cost', max: '74', period: 'month', thresholds: [50, 80, 90, 100] },
        { id: 'per-agent', scope: { agent: '*' }, meter: 'cost', max: '1', period: 'day' },
      ],
    });
    await rollup.backfill();
    const r = await rollup.getForecast({ scope: { workspace: 'acme' } });
    expect(r.budgetAlerts).toHaveLength(1);
    const a = r.budgetAlerts[0]!;
    const used = sum(calls(MONTH_FROM, TO)).toNumber();
    expect(a).toMatchObject({ budget: 'acme-monthly', period: '2026-10', max: 74, used: r6(used), periodEnd: '2026-11-01T00:00:00.000Z' });
    const cost = r.meters.cost!.daily;
    const rest = cost[0]!.forecast * (1 - (FIXTURE_NOW - Date.UTC(2026, 9, 30)) / DAY) + cost[1]!.forecast;
    expect(a.projectedAtPeriodEnd).toBeCloseTo(used + rest, 5);
    for (const c of a.crossings) {
      const target = (74 * c.threshold) / 100;
      if (used >= target) expect(c.status).toBe('crossed');
      else if (used + rest >= target) expect(c.status).toBe('projected');
      else expect(c).toEqual({ threshold: c.threshold, status: 'not_projected', date: null, earliestDate: c.earliestDate });
    }
    expect(a.crossings.map((c) => c.status)).toEqual(['crossed', 'crossed', 'projected', 'not_projected']);
    expect(a.crossings[2]!.date).toBe('2026-10-31');
  });

  it('falls back to simpler models on short histories', async () => {
    const r = await S.rollup.getForecast({ scope: { agent: 'a1' }, historyDays: 5, horizonDays: 2 });
    expect(r.meters.calls!.method).toBe('linear');
    const r2 = await S.rollup.getForecast({ historyDays: 2, horizonDays: 1 });
    expect(r2.meters.calls!.method).toBe('mean');
    const days = [Date.UTC(2026, 9, 28), Date.UTC(2026, 9, 29)];
    const y = days.map((d) => calls(d, d + DAY, (e) => e.status === 'ok' || e.status === 'error').length);
    expect(r2.meters.calls!.daily[0]!.forecast).toBe(r6((y[0]! + y[1]!) / 2));
  });
});

describe('waste detection (seed 003 §8.1)', () => {
  it('prices failed calls, redundant calls, oversized models and idle reservations, with a plan', async () => {
    const r = await S.rollup.getWaste();
    const month = calls(MONTH_FROM, TO);
    const failed = month.filter((e) => e.status === 'error');
    expect(r.failedExecutionCosts).toEqual({ calls: failed.length, wasteCost: sum(failed).toFixed() });
    // Redundant: a successful call whose fingerprint succeeded for the same agent within the hour before.
    const lastOk = new Map<string, number>();
    const redundant: LedgerEntry[] = [];
    for (const e of ENTRIES) {
      if (e.kind !== 'call' || e.status !== 'ok' || typeof e.data?.fingerprint !== 'string') continue;
      const fp = `${e.scope.agent}|${e.data.fingerprint}`;
      const last = lastOk.get(fp);
      if (last !== undefined && e.at - last <= 3_600_000 && e.at >= MONTH_FROM) redundant.push(e);
      lastOk.set(fp, e.at);
    }
    expect(r.redundantApiCalls).toEqual({ calls: redundant.length, wasteCost: sum(redundant).toFixed() });
    const released = month.filter((e) => e.status === 'released');
    expect(r.idleReservations).toEqual({
      count: released.length,
      heldSeconds: released.reduce((s, e) => s + e.durationMs!, 0) / 1000,
      wasteCost: '0',
    });
    // Oversized: small successful calls, priced down by the cheapest model on the model's whole mix.
    const mix = (es: LedgerEntry[]): AnalyticsTokenUsage => ({
      inputTokens: BigInt(es.reduce((s, e) => s + tok(e, 'inputTokens'), 0)),
      outputTokens: BigInt(es.reduce((s, e) => s + tok(e, 'outputTokens'), 0)),
      cachedInputTokens: BigInt(es.reduce((s, e) => s + tok(e, 'cachedInputTokens'), 0)),
      cacheWriteTokens: BigInt(es.reduce((s, e) => s + tok(e, 'cacheWriteTokens'), 0)),
      reasoningTokens: BigInt(es.reduce((s, e) => s + tok(e, 'reasoningTokens'), 0)),
    });
    for (const o of r.oversizedModels) {
      const mine = month.filter((e) => e.model === o.model && isLlm(e));
      const m = mix(mine);
      const cur = PRICES.cost(o.model, m)!;
      const best = Object.keys(FIXTURE_PRICES)
        .filter((x) => x !== o.model)
        .map((x) => ({ x, c: PRICES.cost(x, m)! }))
        .sort((a, b) => (a.c < b.c ? -1 : 1))[0]!;
      const small = mine.filter((e) => e.status === 'ok' && tok(e, 'inputTokens') <= 1000 && tok(e, 'outputTokens') <= 300);
      const smallPico = BigInt(sum(small).times(1e12).toFixed());
      expect(o).toEqual({
        provider: mine[0]!.provider,
        model: o.model,
        smallCalls: small.length,
        smallCallCost: sum(small).toFixed(),
        recommendedModel: best.x,
        wasteCost: new Decimal(((smallPico * (cur - best.c)) / cur).toString()).div(1e12).toFixed(),
      });
    }
    expect(r.oversizedModels.map((o) => o.model)).toEqual(['claude-haiku-3.5', 'claude-sonnet-4', 'gpt-4o']);
    const total = r.eliminationPlan.length > 0 ? new Decimal(r.totalWaste) : new Decimal(0);
    expect(total.toFixed()).toBe(
      [
        r.failedExecutionCosts.wasteCost,
        r.redundantApiCalls.wasteCost,
        ...r.oversizedModels.map((o) => o.wasteCost),
        ...r.lowCacheHitRates.map((c) => c.wasteCost),
      ]
        .reduce((s, v) => s.plus(v), new Decimal(0))
        .toFixed(),
    );
    const monthly = (BigInt(total.times(1e12).toFixed()) * 30n * BigInt(DAY)) / BigInt(TO - MONTH_FROM);
    expect(r.totalMonthlyWaste).toBe(new Decimal(monthly.toString()).div(1e12).toFixed());
    const savings = r.eliminationPlan.map((p) => new Decimal(p.monthlySavings));
    expect(savings).toEqual([...savings].sort((a, b) => b.cmp(a)));
  });

  it('finds a low cache hit rate where cached input is cheaper', async () => {
    const r = await S.rollup.getWaste({ scope: { agent: 'a3' } });
    expect(r.lowCacheHitRates.map((c) => c.model)).toEqual(['claude-haiku-3.5', 'gpt-4o']);
    const mine = calls(MONTH_FROM, TO, (e) => e.scope.agent === 'a3' && e.model === 'gpt-4o');
    const input = BigInt(mine.reduce((s, e) => s + tok(e, 'inputTokens'), 0));
    const base = {
      inputTokens: input,
      outputTokens: BigInt(mine.reduce((s, e) => s + tok(e, 'outputTokens'), 0)),
      cachedInputTokens: 0n,
      cacheWriteTokens: 0n,
      reasoningTokens: BigInt(mine.reduce((s, e) => s + tok(e, 'reasoningTokens'), 0)),
    };
    const saving = PRICES.cost('gpt-4o', base)! - PRICES.cost('gpt-4o', { ...base, cachedInputTokens: input / 2n })!;
    expect(r.lowCacheHitRates[1]).toEqual({
      provider: 'openai',
      model: 'gpt-4o',
      cacheHitRatio: 0,
      wasteCost: new Decimal(saving.toString()).div(1e12).toFixed(),
    });
  });
});

describe('recommendations (seed 004, seed 003 §3.2 and §4.2)', () => {
  it('model downgrade savings are priced on the user’s own token mix', async () => {
    const { rollup } = setup({ downgrades: { 'gpt-4o': ['gpt-4o-mini'], 'claude-sonnet-4': ['claude-haiku-3.5'] } });
    await rollup.backfill();
    const recs = await rollup.getRecommendations();
    const d = recs.find((x) => x.type === 'model_downgrade' && x.currentModel === 'gpt-4o')!;
    const mine = calls(MONTH_FROM, TO, (e) => e.model === 'gpt-4o');
    const m: AnalyticsTokenUsage = {
      inputTokens: BigInt(mine.reduce((s, e) => s + tok(e, 'inputTokens'), 0)),
      outputTokens: BigInt(mine.reduce((s, e) => s + tok(e, 'outputTokens'), 0)),
      cachedInputTokens: BigInt(mine.reduce((s, e) => s + tok(e, 'cachedInputTokens'), 0)),
      cacheWriteTokens: 0n,
      reasoningTokens: BigInt(mine.reduce((s, e) => s + tok(e, 'reasoningTokens'), 0)),
    };
    const save = ((PRICES.cost('gpt-4o', m)! - PRICES.cost('gpt-4o-mini', m)!) * 30n * BigInt(DAY)) / BigInt(TO - MONTH_FROM);
    const saveText = new Decimal(save.toString()).div(1e12);
    expect(d).toMatchObject({
      type: 'model_downgrade',
      priority: 'high',
      implementationEffort: 'low',
      currentModel: 'gpt-4o',
      recommendedModel: 'gpt-4o-mini',
      estimatedSavings: saveText.toFixed(),
      savingsPercent: 94,
      impact: `${saveText.toFixed(2)} USD/month`,
    });
    expect(recs.find((x) => x.type === 'model_downgrade' && x.currentModel === 'claude-sonnet-4')!.recommendedModel).toBe(
      'claude-haiku-3.5',
    );
    // Highest priority first.
    const order = { high: 0, medium: 1, low: 2 };
    expect(recs.map((x) => order[x.priority])).toEqual([...recs.map((x) => order[x.priority])].sort());
  });

  it('batching uses the batch price on the calls marked batchable; caching and rate limits have their own entries', async () => {
    const recs = await S.rollup.getRecommendations();
    const b = recs.find((x) => x.type === 'batching' && x.currentModel === 'gpt-4o-mini')!;
    const mine = calls(MONTH_FROM, TO, (e) => e.model === 'gpt-4o-mini');
    const llm = mine.filter(isLlm);
    const marked = llm.filter((e) => e.data?.batchable === true).length;
    const m: AnalyticsTokenUsage = {
      inputTokens: BigInt(llm.reduce((s, e) => s + tok(e, 'inputTokens'), 0)),
      outputTokens: BigInt(llm.reduce((s, e) => s + tok(e, 'outputTokens'), 0)),
      cachedInputTokens: BigInt(llm.reduce((s, e) => s + tok(e, 'cachedInputTokens'), 0)),
      cacheWriteTokens: 0n,
      reasoningTokens: 0n,
    };
    const cur = PRICES.cost('gpt-4o-mini', m)!;
    const save = ((((cur - (cur + 1n) / 2n) * BigInt(marked)) / BigInt(llm.length)) * 30n * BigInt(DAY)) / BigInt(TO - MONTH_FROM);
    expect(b).toMatchObject({
      upperBound: false,
      estimatedSavings: new Decimal(save.toString()).div(1e12).toFixed(),
      implementationEffort: 'low',
    });
    expect(recs.some((x) => x.type === 'batching' && x.currentModel?.startsWith('claude'))).toBe(false);
    expect(recs.some((x) => x.type === 'caching' && x.title === 'Cache responses of repeated requests')).toBe(true);
    const rl = recs.filter((x) => x.type === 'rate_limit_optimization');
    for (const x of rl) {
      const mine2 = calls(MONTH_FROM, TO, (e) => e.scope.agent === x.agent && endpoint(e) === x.endpoint);
      expect(x.rateLimitedCalls).toBe(mine2.filter((e) => e.code === 'rate_limited').length);
      expect(x.rateLimitedCalls! / mine2.length).toBeGreaterThanOrEqual(0.01);
    }
    expect(rl.length).toBeGreaterThan(0);
    expect(recs.toCSV().split('\n')[0]).toBe('type,priority,implementationEffort,title,estimatedSavings,impact');
  });
});

describe('bad queries are refused, naming the field', () => {
  const a = (): Analytics =>
    new Analytics({ store: new MemoryStore({ clock: new ManualClock(FIXTURE_NOW) }), clock: new ManualClock(FIXTURE_NOW) });

  it('refuses a misspelt query key instead of reporting the default period', async () => {
    await expect(a().getCosts({ perod: 'day' } as never)).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'query.perod',
      value: 'day',
    });
    await expect(a().getApiCallAnalytics({ period: 'day', dailyTokenBudget: 5 } as never)).rejects.toMatchObject({
      field: 'query.dailyTokenBudget',
    });
    await expect(a().getForecast({ horizon: 7 } as never)).rejects.toMatchObject({ code: 'invalid_input', field: 'query.horizon' });
    await expect(a().getForecast({ meters: 'cost' } as never)).rejects.toMatchObject({ field: 'query.meters' });
    await expect(a().getForecast(null as never)).rejects.toMatchObject({ field: 'query' });
    // The keys a report does have still pass.
    expect((await a().getTokenAnalytics({ period: 'day', dailyTokenBudget: 5 })).perCall.calls).toBe(0);
  });

  it('refuses a malformed backfill range and outcome, writing nothing', async () => {
    const an = a();
    await expect(an.backfill(null as never)).rejects.toMatchObject({ field: 'range' });
    await expect(an.backfill({ from: NaN })).rejects.toMatchObject({ code: 'invalid_input', field: 'range.from' });
    await expect(an.backfill({ from: 10, to: 5 })).rejects.toMatchObject({ field: 'range.to', value: 5 });
    await expect(an.backfill({ form: 10 } as never)).rejects.toMatchObject({ field: 'range.form' });
    await expect(an.recordOutcome('e1', { completed: true, qualty: 0.5 } as never)).rejects.toMatchObject({ field: 'outcome.qualty' });
    expect((await an.store.queryLedger({ scope: {} })).entries).toEqual([]);
  });
});
