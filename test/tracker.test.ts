import { describe, expect, it } from 'vitest';
import {
  createGovernor,
  Decimal,
  DEFAULT_RESOURCE_QUOTA,
  InvalidInputError,
  MemoryStore,
  ResourceLimitError,
  ResourceTracker,
  type ResourceTrackerOptions,
  type TrackerEvents,
} from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { invalid } from './helpers.js';

type Ev = { [K in keyof TrackerEvents]: { event: K; payload: TrackerEvents[K] } }[keyof TrackerEvents];

function setup(options: Omit<ResourceTrackerOptions, 'clock' | 'store' | 'onEvent'> = {}) {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock });
  const events: Ev[] = [];
  const tracker = new ResourceTracker({ clock, store, onEvent: (event, payload) => events.push({ event, payload } as Ev), ...options });
  const of = <K extends keyof TrackerEvents>(k: K): TrackerEvents[K][] =>
    events.filter((e) => e.event === k).map((e) => e.payload as TrackerEvents[K]);
  return { clock, store, tracker, events, of };
}

const ZERO = {
  llmCalls: 0,
  toolCalls: 0,
  agentHops: 0,
  iterations: 0,
  tokensIn: 0,
  tokensOut: 0,
  elapsedSeconds: 0,
  money: new Decimal(0),
  apiCalls: 0,
  timeMinutes: 0,
  cpuHours: 0,
  memoryGbHours: 0,
  storageGb: 0,
  meters: {},
};

describe('ResourceQuota defaults (seed 002)', () => {
  it('are exactly the seed values', () => {
    expect(DEFAULT_RESOURCE_QUOTA).toEqual({
      maxInputTokens: 4096,
      maxOutputTokens: 2048,
      maxContextTokens: 16384,
      maxLlmCalls: 10,
      maxToolCalls: 50,
      maxAgentHops: 21,
      maxIterations: 3,
      timeoutSeconds: 300,
      softTimeoutSeconds: 240,
    });
    const { tracker } = setup();
    tracker.allocate('p1');
    expect(tracker.getQuota('p1')).toEqual(DEFAULT_RESOURCE_QUOTA);
  });

  it('a soft timeout at or above the timeout is refused; one not given follows a shorter timeout', () => {
    const { tracker } = setup();
    const e = invalid(() => tracker.allocate('p', { timeoutSeconds: 100, softTimeoutSeconds: 100 }));
    expect(e.field).toBe('quota.softTimeoutSeconds');
    expect(e.message).toBe(
      'invalid_input: quota.softTimeoutSeconds must keep softTimeoutSeconds (100) below timeoutSeconds (100) (got 100)',
    );
    expect(tracker.isTracked('p')).toBe(false);
    tracker.allocate('p', { timeoutSeconds: 100 });
    expect(tracker.getQuota('p')).toMatchObject({ timeoutSeconds: 100, softTimeoutSeconds: 80 });
  });

  it('a tracker-wide default quota is merged over the seed defaults', () => {
    const { tracker } = setup({ defaultQuota: { maxLlmCalls: 3 } });
    tracker.allocate('p');
    expect(tracker.getQuota('p')).toEqual({ ...DEFAULT_RESOURCE_QUOTA, maxLlmCalls: 3 });
    tracker.allocate('q', { maxToolCalls: 7 });
    expect(tracker.getQuota('q')).toEqual({ ...DEFAULT_RESOURCE_QUOTA, maxLlmCalls: 3, maxToolCalls: 7 });
  });
});

describe('quota management', () => {
  it('allocate is false when already allocated and keeps the first quota', () => {
    const { tracker } = setup();
    expect(tracker.allocate('p', { maxLlmCalls: 5 })).toBe(true);
    expect(tracker.allocate('p', { maxLlmCalls: 50 })).toBe(false);
    expect(tracker.getQuota('p')?.maxLlmCalls).toBe(5);
    expect(tracker.getQuota('nobody')).toBeNull();
    expect(tracker.isTracked('p')).toBe(true);
    expect(tracker.isTracked('nobody')).toBe(false);
  });

  it("adjustQuota changes the named fields (the seed's example) and validates first", async () => {
    const { tracker } = setup();
    tracker.allocate('p');
    expect(tracker.adjustQuota('p', { maxLlmCalls: 20, timeoutSeconds: 600 })).toBe(true);
    expect(tracker.getQuota('p')).toEqual({ ...DEFAULT_RESOURCE_QUOTA, maxLlmCalls: 20, timeoutSeconds: 600 });
    const before = tracker.getQuota('p');
    expect(invalid(() => tracker.adjustQuota('p', { maxLlmCalls: 5, bogus: 1 } as never)).field).toBe('adjustments.bogus');
    expect(invalid(() => tracker.adjustQuota('p', { maxLlmCalls: -1 })).field).toBe('adjustments.maxLlmCalls');
    expect(invalid(() => tracker.adjustQuota('p', { maxLlmCalls: 2.5 })).field).toBe('adjustments.maxLlmCalls');
    expect(invalid(() => tracker.adjustQuota('p', { maxToolCalls: Number.NaN })).field).toBe('adjustments.maxToolCalls');
    expect(invalid(() => tracker.adjustQuota('p', { softTimeoutSeconds: 600 })).field).toBe('adjustments.softTimeoutSeconds');
    expect(tracker.getQuota('p')).toBe(before);
    expect(tracker.adjustQuota('nobody', { maxLlmCalls: 1 })).toBe(false);
    // Lowering the timeout below the soft one moves the soft one to 80 % of it.
    tracker.adjustQuota('p', { timeoutSeconds: 200 });
    expect(tracker.getQuota('p')).toMatchObject({ timeoutSeconds: 200, softTimeoutSeconds: 160 });
    // A lowered cap applies to the next check at once.
    await tracker.recordUsage('p', { llmCalls: 4 });
    expect(await tracker.checkQuota('p')).toBeNull();
    tracker.adjustQuota('p', { maxLlmCalls: 4 });
    expect(await tracker.checkQuota('p')).toBe('max_llm_calls_exceeded');
  });
});

describe('usage', () => {
  it("the seed's example: allocate, record, check, remaining", async () => {
    const { tracker, clock } = setup();
    tracker.allocate('env-123', { maxLlmCalls: 10 });
    const u = await tracker.recordUsage('env-123', { llmCalls: 1, tokensIn: 500, tokensOut: 200 });
    expect(u).toEqual({ ...ZERO, llmCalls: 1, tokensIn: 500, tokensOut: 200 });
    await tracker.recordUsage('env-123', { llmCalls: 2, toolCalls: 5, agentHops: 3, iterations: 1 });
    clock.advance(46_000);
    expect(await tracker.checkQuota('env-123')).toBeNull();
    expect(await tracker.getRemainingBudget('env-123')).toEqual({
      llmCalls: 7,
      toolCalls: 45,
      agentHops: 18,
      iterations: 2,
      timeSeconds: 254,
    });
    expect(await tracker.getUsage('env-123')).toEqual({
      ...ZERO,
      llmCalls: 3,
      toolCalls: 5,
      agentHops: 3,
      iterations: 1,
      tokensIn: 500,
      tokensOut: 200,
      elapsedSeconds: 46,
      timeMinutes: 46 / 60,
    });
    expect(tracker.updateElapsedTime('env-123')).toBe(46);
  });

  it('recordUsage auto-creates tracking with the default quota', async () => {
    const { tracker } = setup();
    expect(tracker.isTracked('auto')).toBe(false);
    expect(await tracker.getUsage('auto')).toBeNull();
    await tracker.recordUsage('auto', { toolCalls: 2 });
    expect(tracker.isTracked('auto')).toBe(true);
    expect(tracker.getQuota('auto')).toEqual(DEFAULT_RESOURCE_QUOTA);
    expect((await tracker.getUsage('auto'))?.toolCalls).toBe(2);
  });

  it('warns once per field at 80 %, and a hard cap passed by recorded usage is a violation, once', async () => {
    const { tracker, of } = setup();
    tracker.allocate('p', { maxLlmCalls: 10, maxToolCalls: 5 });
    await tracker.recordUsage('p', { llmCalls: 7 });
    expect(of('warning')).toEqual([]);
    await tracker.recordUsage('p', { llmCalls: 1, toolCalls: 4 });
    await tracker.recordUsage('p', { llmCalls: 1 });
    await tracker.recordUsage('p', { llmCalls: 1 });
    expect(of('warning')).toEqual([
      {
        limit: 'tracker.maxLlmCalls',
        meter: 'llmCalls',
        scope: { agent: 'p' },
        used: '8',
        max: '10',
        threshold: 80,
        enforcement: 'hard',
        period: undefined,
        currency: undefined,
        at: Date.UTC(2026, 0, 1),
        pid: 'p',
      },
      expect.objectContaining({ limit: 'tracker.maxToolCalls', used: '4', max: '5', threshold: 80 }),
    ]);
    expect(of('violation')).toEqual([]);
    await tracker.recordUsage('p', { llmCalls: 2 });
    await tracker.recordUsage('p', { llmCalls: 1 });
    expect(of('violation')).toEqual([
      {
        type: 'exceeded',
        code: 'max_llm_calls_exceeded',
        limit: 'tracker.maxLlmCalls',
        meter: 'llmCalls',
        scope: { agent: 'p' },
        requested: '2',
        available: '0',
        used: '12',
        max: '10',
        retryAfterMs: undefined,
        period: undefined,
        at: Date.UTC(2026, 0, 1),
        pid: 'p',
      },
    ]);
    expect(of('warning')).toHaveLength(2);
  });

  it('the warning share is configurable', async () => {
    const { tracker, of } = setup({ warnAt: 0.5 });
    tracker.allocate('p', { maxLlmCalls: 10 });
    await tracker.recordUsage('p', { llmCalls: 4 });
    expect(of('warning')).toHaveLength(0);
    await tracker.recordUsage('p', { llmCalls: 1 });
    expect(of('warning').map((w) => [w.used, w.threshold])).toEqual([['5', 50]]);
  });

  it('two trackers sharing a store count one usage against one quota', async () => {
    const clock = new ManualClock();
    const store = new MemoryStore({ clock });
    const a = new ResourceTracker({ clock, store });
    const b = new ResourceTracker({ clock, store });
    a.allocate('shared', { maxLlmCalls: 4 });
    b.allocate('shared', { maxLlmCalls: 4 });
    await a.recordUsage('shared', { llmCalls: 3 });
    expect(await b.checkQuota('shared')).toBeNull();
    await b.recordUsage('shared', { llmCalls: 1 });
    expect(await a.checkQuota('shared')).toBe('max_llm_calls_exceeded');
    expect((await a.getUsage('shared'))?.llmCalls).toBe(4);
  });

  it('user meters are recorded, capped and reported', async () => {
    const { tracker, of } = setup({ meters: { screenshots: { kind: 'count' } } });
    tracker.allocate('p', { meters: { screenshots: 5 } });
    const u = await tracker.recordUsage('p', { meters: { screenshots: 4 } });
    expect(u.meters).toEqual({ screenshots: 4 });
    expect(of('warning').map((w) => w.limit)).toEqual(['tracker.meters.screenshots']);
    expect(await tracker.getRemainingBudget('p')).toMatchObject({ meters: { screenshots: 1 } });
    await tracker.recordUsage('p', { meters: { screenshots: 1 } });
    expect(await tracker.checkQuota('p')).toBe('limit_exceeded');
    expect(invalid(() => tracker.allocate('q', { meters: { nope: 1 } })).field).toBe('quota.meters.nope');
  });
});

describe('checkQuota reasons, in the seed order', () => {
  it('each reason, and the first one when several apply', async () => {
    const { tracker, clock } = setup();
    const q = { maxLlmCalls: 1, maxToolCalls: 1, maxAgentHops: 1, maxIterations: 1, maxTotalInputTokens: 10, maxTotalOutputTokens: 10 };
    const cases: [Record<string, number>, string][] = [
      [{ llmCalls: 1 }, 'max_llm_calls_exceeded'],
      [{ toolCalls: 1 }, 'max_tool_calls_exceeded'],
      [{ agentHops: 1 }, 'max_agent_hops_exceeded'],
      [{ iterations: 1 }, 'max_iterations_exceeded'],
      [{ tokensIn: 10 }, 'max_input_tokens_exceeded'],
      [{ tokensOut: 10 }, 'max_output_tokens_exceeded'],
      [{ iterations: 1, toolCalls: 1, tokensIn: 10 }, 'max_tool_calls_exceeded'],
      [{ tokensIn: 9, tokensOut: 9, llmCalls: 0 }, 'null'],
    ];
    for (const [i, [usage, reason]] of cases.entries()) {
      tracker.allocate(`p${i}`, q);
      await tracker.recordUsage(`p${i}`, usage);
      expect([i, String(await tracker.checkQuota(`p${i}`))]).toEqual([i, reason]);
    }
    tracker.allocate('money', { money: '1.50', apiCalls: 2, cpuHours: '0.5' });
    await tracker.recordUsage('money', { money: '1.5' });
    expect(await tracker.checkQuota('money')).toBe('budget_exceeded');
    tracker.allocate('api', { apiCalls: 2 });
    await tracker.recordUsage('api', { apiCalls: 2 });
    expect(await tracker.checkQuota('api')).toBe('limit_exceeded');
    // Time comes after the four call counts and before the token caps.
    tracker.allocate('late', q);
    await tracker.recordUsage('late', { tokensIn: 10 });
    clock.advance(300_000);
    expect(await tracker.checkQuota('late')).toBe('timeout_exceeded');
    await tracker.recordUsage('late', { iterations: 1 });
    expect(await tracker.checkQuota('late')).toBe('max_iterations_exceeded');
    expect(await tracker.checkQuota('untracked')).toBeNull();
  });
});

describe('elapsed time', () => {
  it('soft timeout warns once, the timeout is a violation once and a checkQuota reason', async () => {
    const { tracker, clock, of } = setup();
    tracker.allocate('p');
    clock.advance(239_999);
    expect(tracker.updateElapsedTime('p')).toBe(239.999);
    expect(of('warning')).toEqual([]);
    clock.advance(1);
    expect(tracker.updateElapsedTime('p')).toBe(240);
    expect(tracker.updateElapsedTime('p')).toBe(240);
    expect(of('warning')).toEqual([
      {
        limit: 'tracker.softTimeoutSeconds',
        meter: 'elapsedSeconds',
        scope: { agent: 'p' },
        used: '240',
        max: '300',
        threshold: 80,
        enforcement: 'soft',
        period: undefined,
        currency: undefined,
        at: Date.UTC(2026, 0, 1) + 240_000,
        pid: 'p',
      },
    ]);
    expect(await tracker.checkQuota('p')).toBeNull();
    expect((await tracker.getRemainingBudget('p'))?.timeSeconds).toBe(60);
    clock.advance(60_000);
    expect(await tracker.checkQuota('p')).toBe('timeout_exceeded');
    expect(tracker.updateElapsedTime('p')).toBe(300);
    expect(of('violation').map((v) => [v.code, v.limit, v.used, v.max])).toEqual([
      ['timeout_exceeded', 'tracker.timeoutSeconds', '300', '300'],
    ]);
    expect((await tracker.getRemainingBudget('p'))?.timeSeconds).toBe(0);
    expect(tracker.updateElapsedTime('nobody')).toBeNull();
  });

  it('timeMinutes is a second time cap; the earlier one wins', async () => {
    const { tracker, clock } = setup();
    tracker.allocate('p', { timeMinutes: 2 });
    clock.advance(120_000);
    expect(await tracker.checkQuota('p')).toBe('timeout_exceeded');
    expect(await tracker.getRemainingBudget('p')).toMatchObject({ timeSeconds: 180, timeMinutes: 0 });
  });
});

describe('release', () => {
  it('returns and emits the final usage, appends it to the ledger, and a reallocation starts from zero', async () => {
    const { tracker, clock, store, of } = setup();
    tracker.allocate('p', { maxLlmCalls: 3 });
    await tracker.recordUsage('p', { llmCalls: 3, tokensIn: 10, money: '0.25' });
    clock.advance(5_000);
    const final = await tracker.release('p');
    expect(final).toEqual({ ...ZERO, llmCalls: 3, tokensIn: 10, money: new Decimal('0.25'), elapsedSeconds: 5, timeMinutes: 5 / 60 });
    const [ev] = of('usage');
    expect(ev).toMatchObject({ status: 'ok', cost: '0.25', currency: 'USD', durationMs: 5000, pid: 'p', scope: { agent: 'p' } });
    expect(ev?.usage).toMatchObject({ llmCalls: '3', tokensIn: '10', money: '0.25', elapsedSeconds: '5' });
    const page = await store.queryLedger({ kinds: ['tracker.release'] });
    expect(page.entries).toEqual([ev?.entry]);
    expect(store.size.counters).toBe(0);
    expect(tracker.isTracked('p')).toBe(false);
    expect(await tracker.release('p')).toBeNull();
    expect(await tracker.getUsage('p')).toBeNull();
    expect(tracker.allocate('p', { maxLlmCalls: 3 })).toBe(true);
    expect(await tracker.getUsage('p')).toEqual(ZERO);
    expect(await tracker.checkQuota('p')).toBeNull();
  });
});

describe('system usage', () => {
  it('getAllUsage and getSystemUsage count tracked and released pids', async () => {
    const { tracker } = setup();
    tracker.allocate('a', { maxLlmCalls: 2 });
    tracker.allocate('b');
    tracker.allocate('c');
    await tracker.recordUsage('a', { llmCalls: 2, tokensIn: 100, tokensOut: 40 });
    await tracker.recordUsage('b', { llmCalls: 1, toolCalls: 3, money: '0.5' });
    await tracker.recordUsage('c', { iterations: 3 });
    const all = await tracker.getAllUsage();
    expect(Object.keys(all)).toEqual(['a', 'b', 'c']);
    expect(all.a?.llmCalls).toBe(2);
    await tracker.release('b');
    expect(await tracker.getSystemUsage()).toEqual({
      totalProcesses: 2,
      activeProcesses: 0,
      releasedProcesses: 1,
      systemLlmCalls: 3,
      systemToolCalls: 3,
      systemAgentHops: 0,
      systemIterations: 3,
      systemTokensIn: 100,
      systemTokensOut: 40,
      systemMoney: new Decimal('0.5'),
      exceeded: { max_llm_calls_exceeded: 1, max_iterations_exceeded: 1 },
    });
  });
});

describe('seed 000 resources', () => {
  it('recordApiCall adds money, one API call and tokens, and logs the service', async () => {
    const { tracker, store } = setup();
    tracker.allocate('m', { money: '1', apiCalls: 10 });
    const u = await tracker.recordApiCall('m', { service: 'claude-3-haiku', cost: '0.000375', tokens: { input: 1000, output: 100 } });
    expect([u.money.toFixed(), u.apiCalls, u.tokensIn, u.tokensOut]).toEqual(['0.000375', 1, 1000, 100]);
    await tracker.recordApiCall('m', { service: 'claude-3-haiku', cost: 0.000001 });
    expect((await tracker.getUsage('m'))?.money.toFixed()).toBe('0.000376');
    const log = await store.queryLedger({ kinds: ['tracker.apiCall'] });
    expect(log.entries.map((e) => [e.provider, e.cost])).toEqual([
      ['claude-3-haiku', '0.000375'],
      ['claude-3-haiku', '0.000001'],
    ]);
  });

  it('recordComputeUsage adds CPU hours and GB-hours exactly, priced through priceCompute', async () => {
    const seen: string[] = [];
    const { tracker } = setup({
      // seed 000's VM prices: $0.05 per core-hour, $0.01 per GB-hour
      priceCompute: (s) => {
        seen.push(`${s.cpuPercent}% ${s.memoryGb}GB ${s.intervalMs}ms ${s.cpuHours.toFixed()} ${s.memoryGbHours.toFixed()}`);
        return s.cpuHours.mul('0.05').plus(s.memoryGbHours.mul('0.01'));
      },
    });
    const u = await tracker.recordComputeUsage('vm', { cpuPercent: 50, memoryGb: 2 });
    // 0.5 × 1/60 h = 0.0083333…, 2 GB × 1/60 h = 0.0333333…, rounded up at 9 decimals.
    expect([u.cpuHours, u.memoryGbHours]).toEqual([0.008333334, 0.033333334]);
    expect(seen).toEqual(['50% 2GB 60000ms 0.008333334 0.033333334']);
    expect(u.money.toFixed()).toBe('0.00075000004');
    const u2 = await tracker.recordComputeUsage('vm', { cpuPercent: 100, memoryGb: 1, intervalMs: 3_600_000 });
    expect([u2.cpuHours, u2.memoryGbHours]).toEqual([1.008333334, 1.033333334]);
  });

  it('gov.tracker prices compute samples with the catalog compute prices when no priceCompute is given', async () => {
    const gov = createGovernor({ clock: new ManualClock() });
    // One core at 100 % and 2 GB for an hour: 1 core-hour × $0.05 + 2 GB-hours × $0.01 (seed 000's defaults).
    const u = await gov.tracker.recordComputeUsage('vm', { cpuPercent: 100, memoryGb: 2, intervalMs: 3_600_000 });
    expect([u.cpuHours, u.memoryGbHours]).toEqual([1, 2]);
    expect(u.money.toFixed()).toBe('0.07');
    await gov.close();
  });

  it('checkSoftLimits returns the seed warning list', async () => {
    const { tracker } = setup();
    tracker.allocate('s', { money: '1.00', maxLlmCalls: 10, cpuHours: 2 });
    await tracker.recordUsage('s', { money: '0.85', llmCalls: 8, cpuHours: '1' });
    expect(await tracker.checkSoftLimits('s')).toEqual([{ resource: 'money', utilization: 0.85, remaining: new Decimal('0.15') }]);
    expect(await tracker.checkSoftLimits('s', 0.5)).toEqual([
      { resource: 'llmCalls', utilization: 0.8, remaining: 2 },
      { resource: 'money', utilization: 0.85, remaining: new Decimal('0.15') },
    ]);
    expect(await tracker.checkSoftLimits('untracked')).toEqual([]);
  });

  it('checkHardLimits refuses used + estimate > allocated with required, available and alternatives', async () => {
    const { tracker } = setup({ alternatives: { money: ['use claude-3-haiku instead of claude-3-5-sonnet', 'send a shorter prompt'] } });
    tracker.allocate('h', { money: '1.00', apiCalls: 5 });
    await tracker.recordUsage('h', { money: '0.90', apiCalls: 2 });
    expect(await tracker.checkHardLimits('h', { money: '0.10', apiCalls: 3 })).toEqual({ allowed: true });
    expect(await tracker.checkHardLimits('h', { money: '0.11' })).toEqual({
      allowed: false,
      code: 'budget_exceeded',
      resource: 'money',
      required: new Decimal('0.11'),
      available: new Decimal('0.1'),
      allocated: new Decimal('1'),
      alternatives: ['use claude-3-haiku instead of claude-3-5-sonnet', 'send a shorter prompt'],
    });
    expect(await tracker.checkHardLimits('h', { apiCalls: 4 })).toMatchObject({
      allowed: false,
      resource: 'apiCalls',
      required: 4,
      available: 3,
    });
    const err = await tracker.enforceHardLimits('h', { money: '0.2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ResourceLimitError);
    expect(err).toMatchObject({
      code: 'budget_exceeded',
      resource: 'money',
      requested: '0.2',
      available: '0.1',
      max: '1',
      scope: 'agent=h',
      alternatives: ['use claude-3-haiku instead of claude-3-5-sonnet', 'send a shorter prompt'],
    });
    // By operation type: the predicted usage (default baseline: 1 cent × 1.0 at complexity 1) must fit.
    expect(await tracker.checkHardLimits('h', 'summarize', { complexity: 1 })).toMatchObject({ allowed: false, resource: 'apiCalls' });
  });

  it('alternatives may be computed from the refusal', async () => {
    const { tracker } = setup({ alternatives: (c) => [`${c.resource}: ask for at most ${c.available}`] });
    tracker.allocate('h', { maxLlmCalls: 3 });
    expect(await tracker.checkHardLimits('h', { llmCalls: 4 })).toMatchObject({ alternatives: ['llmCalls: ask for at most 3'] });
  });
});

describe('predictUsage', () => {
  // Money as a string, so matchers compare the amount.
  const plain = (p: { money: Decimal }): object => ({ ...p, money: p.money.toFixed() });

  it('seed baselines × complexity multipliers, configured baselines, then learned history', async () => {
    const { tracker, clock } = setup({
      prediction: { baselines: { review: { money: '0.10', timeMinutes: 2, apiCalls: 1, cpuHours: 1 } } },
    });
    expect(plain(tracker.predictUsage('anything', { complexity: 0 }))).toEqual({
      operationType: 'anything',
      complexity: 0,
      money: '0.005',
      timeMinutes: 5,
      apiCalls: 1,
      cpuHours: 0.1,
      source: 'default',
      samples: 0,
    });
    // The seed's money multiplier is 0.5 + c × 0.5 (its comment says 0.5x-1.5x; the formula, followed here, gives 0.5x-1x).
    expect(plain(tracker.predictUsage('review', { complexity: 1 }))).toMatchObject({
      money: '0.1',
      timeMinutes: 70,
      apiCalls: 11,
      cpuHours: 0.6,
      source: 'configured',
    });
    // promptTokens / 8,000 is the complexity when none is given.
    expect(tracker.predictUsage('review', { promptTokens: 4000 }).complexity).toBe(0.5);
    // History: a pid allocated with an operation type becomes a sample when released.
    tracker.allocate('r1', { timeoutSeconds: 3600 }, { operationType: 'review', features: { complexity: 0 } });
    await tracker.recordUsage('r1', { money: '0.02', apiCalls: 3 });
    clock.advance(300_000); // 5 minutes
    await tracker.release('r1');
    // Baseline learned at complexity 0: money 0.02 / 0.5 = 0.04, time 5 / 5 = 1, api 3 / 1 = 3, cpu 0 / 0.1 = 0.
    expect(plain(tracker.predictUsage('review', { complexity: 1 }))).toMatchObject({
      money: '0.04',
      timeMinutes: 35,
      apiCalls: 33,
      cpuHours: 0,
      source: 'history',
      samples: 1,
    });
    tracker.recordOperation('review', { money: '0.12', timeMinutes: 35, apiCalls: 11, cpuHours: 0.6 }, { complexity: 1 });
    // The second sample implies money 0.12, time 1, api 1, cpu 1: the means are 0.08, 1, 2, 0.5.
    expect(plain(tracker.predictUsage('review', { complexity: 1 }))).toMatchObject({
      money: '0.08',
      timeMinutes: 35,
      apiCalls: 22,
      cpuHours: 0.3,
      samples: 2,
    });
  });
});

describe('bad input', () => {
  it('every method refuses an empty or non-string pid, naming it', async () => {
    const { tracker } = setup();
    tracker.allocate('ok');
    const sync = [
      () => tracker.allocate(''),
      () => tracker.getQuota(''),
      () => tracker.adjustQuota('', {}),
      () => tracker.isTracked(''),
      () => tracker.updateElapsedTime(''),
    ];
    for (const f of sync) expect(invalid(f).field).toBe('pid');
    const async = [
      tracker.release(''),
      tracker.recordUsage('', { llmCalls: 1 }),
      tracker.recordApiCall('', { service: 's' }),
      tracker.recordComputeUsage('', { cpuPercent: 1, memoryGb: 1 }),
      tracker.getUsage(''),
      tracker.checkQuota(''),
      tracker.getRemainingBudget(''),
      tracker.checkSoftLimits(''),
      tracker.checkHardLimits('', {}),
      tracker.recordUsage(42 as never, {}),
    ];
    for (const p of async) await expect(p).rejects.toMatchObject({ code: 'invalid_input', field: 'pid' });
  });

  it('negative, fractional, NaN and unknown counts are refused naming the field, and nothing is recorded', async () => {
    const { tracker, store } = setup();
    tracker.allocate('p');
    await tracker.recordUsage('p', { llmCalls: 1 });
    const bad: [object, string][] = [
      [{ llmCalls: -1 }, 'usage.llmCalls'],
      [{ toolCalls: 1.5 }, 'usage.toolCalls'],
      [{ agentHops: Number.NaN }, 'usage.agentHops'],
      [{ iterations: Infinity }, 'usage.iterations'],
      [{ tokensIn: '5' }, 'usage.tokensIn'],
      [{ llmCalls: 1, tokensOut: -3 }, 'usage.tokensOut'],
      [{ money: '-0.01' }, 'usage.money'],
      [{ cpuHours: Number.NaN }, 'usage.cpuHours'],
      [{ llmCalls: 1, elapsedSeconds: 5 }, 'usage.elapsedSeconds'],
      [{ meters: { nope: 1 } }, 'usage.meters.nope'],
    ];
    for (const [usage, field] of bad) {
      await expect(tracker.recordUsage('p', usage as never)).rejects.toMatchObject({ code: 'invalid_input', field });
    }
    await expect(tracker.recordUsage('fresh', { llmCalls: -1 })).rejects.toBeInstanceOf(InvalidInputError);
    expect(tracker.isTracked('fresh')).toBe(false);
    await expect(tracker.recordApiCall('p', { service: '', cost: 1 })).rejects.toMatchObject({ field: 'call.service' });
    await expect(tracker.recordApiCall('p', { service: 's', cost: Number.NaN })).rejects.toMatchObject({ field: 'call.cost' });
    await expect(tracker.recordApiCall('p', { service: 's', tokens: { input: -1 } })).rejects.toMatchObject({
      field: 'call.tokens.input',
    });
    await expect(tracker.recordComputeUsage('p', { cpuPercent: -5, memoryGb: 1 })).rejects.toMatchObject({ field: 'sample.cpuPercent' });
    await expect(tracker.recordComputeUsage('p', { cpuPercent: 5, memoryGb: 1, intervalMs: 0 })).rejects.toMatchObject({
      field: 'sample.intervalMs',
    });
    await expect(tracker.checkHardLimits('p', { llmCalls: -1 })).rejects.toMatchObject({ field: 'estimate.llmCalls' });
    await expect(tracker.checkSoftLimits('p', Number.NaN)).rejects.toMatchObject({ field: 'threshold' });
    expect(invalid(() => tracker.allocate('q', { maxLlmCalls: -1 })).field).toBe('quota.maxLlmCalls');
    expect(invalid(() => tracker.allocate('q', { maxIterations: 0.5 })).field).toBe('quota.maxIterations');
    expect(invalid(() => tracker.allocate('q', { unknown: 1 } as never)).field).toBe('quota.unknown');
    expect(invalid(() => tracker.predictUsage('x', { complexity: 2 })).field).toBe('features.complexity');
    expect(invalid(() => tracker.predictUsage('x', { complexty: 0.9 } as never)).field).toBe('features.complexty');
    await expect(tracker.checkHardLimits('p', 'llm_call', { tokens: 10 } as never)).rejects.toMatchObject({ field: 'features.tokens' });
    expect(invalid(() => tracker.recordOperation('x', { money: 'abc' })).field).toBe('usage.money');
    expect(tracker.isTracked('q')).toBe(false);
    expect(await tracker.getUsage('p')).toEqual({ ...ZERO, llmCalls: 1 });
    expect(store.size.counters).toBe(1);
  });

  it('bad options name the field', () => {
    expect(invalid(() => new ResourceTracker({ warnAt: 0 })).field).toBe('options.warnAt');
    expect(invalid(() => new ResourceTracker({ level: 'pool' as never })).field).toBe('options.level');
    expect(invalid(() => new ResourceTracker({ defaultQuota: { maxLlmCalls: -2 } })).field).toBe('options.defaultQuota.maxLlmCalls');
    expect(invalid(() => new ResourceTracker({ prediction: { historySize: 0 } })).field).toBe('options.prediction.historySize');
  });
});
