// The tracker inside gov.guard(): a tracked pid's quota joins the one atomic reserve.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createGovernor,
  Decimal,
  LimitExceededError,
  RateLimitedError,
  type GovernorOptions,
  type TrackerUsageEvent,
  type TrackerViolationEvent,
  type TrackerWarningEvent,
  type UsageEvent,
  type UsageReport,
  type ViolationEvent,
  type WarningEvent,
} from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

function gov(options: Omit<GovernorOptions, 'clock'> = {}) {
  const clock = new ManualClock();
  const g = createGovernor({ clock, ...options });
  return { gov: g, clock };
}

const A1 = Object.freeze({ project: 'p', agent: 'a1' });
const ok = async (): Promise<string> => 'ok';

describe('gov.tracker in guard()', () => {
  it('counts guarded calls on the pid and refuses past its quota with the seed reason', async () => {
    const { gov: g } = gov();
    const violations: ViolationEvent[] = [];
    g.on('violation', (v) => violations.push(v));
    g.tracker.allocate('a1', { maxLlmCalls: 2, maxToolCalls: 1 });
    await g.guard({ scope: A1, kind: 'llm', estimate: { inputTokens: 100, outputTokens: 20, cost: '0.01' } }, ok);
    await g.guard({ scope: A1, kind: 'llm' }, (ctx) => {
      ctx.report({ inputTokens: 50, outputTokens: 5, cost: '0.002' });
      return 'x';
    });
    await g.guard({ scope: A1, kind: 'tool' }, ok);
    const e = await g.guard({ scope: A1, kind: 'llm' }, ok).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(LimitExceededError);
    expect(e).toMatchObject({
      code: 'max_llm_calls_exceeded',
      limit: 'tracker.maxLlmCalls',
      meter: 'llmCalls',
      scope: 'agent=a1',
      requested: '1',
      available: '0',
      max: '2',
    });
    await expect(g.guard({ scope: A1, kind: 'tool' }, ok)).rejects.toMatchObject({ code: 'max_tool_calls_exceeded' });
    expect(violations.map((v) => [v.type, v.code, v.scope])).toEqual([
      ['refused', 'max_llm_calls_exceeded', { agent: 'a1' }],
      ['refused', 'max_tool_calls_exceeded', { agent: 'a1' }],
    ]);
    const u = await g.tracker.getUsage('a1');
    expect(u).toMatchObject({ llmCalls: 2, toolCalls: 1, tokensIn: 150, tokensOut: 25 });
    expect(u?.money.toFixed()).toBe('0.012');
    expect(await g.tracker.checkQuota('a1')).toBe('max_llm_calls_exceeded');
    // Other agents are not tracked, so not limited by the tracker.
    for (let i = 0; i < 5; i++) await g.guard({ scope: { agent: 'free' }, kind: 'llm' }, ok);
    expect(g.tracker.isTracked('free')).toBe(false);
  });

  it('gov.check() answers a tracker refusal as data', async () => {
    const { gov: g } = gov();
    g.tracker.allocate('a1', { maxIterations: 0 });
    expect(await g.check({ scope: A1, kind: 'iteration' })).toMatchObject({
      allowed: false,
      code: 'max_iterations_exceeded',
      limit: 'tracker.maxIterations',
    });
    expect(await g.check({ scope: A1, kind: 'llm' })).toEqual({ allowed: true });
  });

  it("level 'execution' makes the execution id the pid", async () => {
    const { gov: g } = gov({ tracker: { level: 'execution' } });
    g.tracker.allocate('run-7', { maxAgentHops: 1 });
    await g.guard({ scope: { agent: 'a', execution: 'run-7' }, kind: 'agentHop' }, ok);
    await expect(g.guard({ scope: { agent: 'b', execution: 'run-7' }, kind: 'agentHop' }, ok)).rejects.toMatchObject({
      code: 'max_agent_hops_exceeded',
      scope: 'execution=run-7',
    });
    // The agent id is not a pid at this level.
    g.tracker.allocate('a', { maxAgentHops: 0 });
    await g.guard({ scope: { agent: 'a' }, kind: 'agentHop' }, ok);
  });

  it('500 concurrent guard() calls for one pid with maxLlmCalls 10 admit exactly 10', async () => {
    const { gov: g } = gov();
    g.tracker.allocate('a1', { maxLlmCalls: 10 });
    let ran = 0;
    const results = await Promise.allSettled(
      Array.from({ length: 500 }, () =>
        g.guard({ scope: A1, kind: 'llm' }, async () => {
          ran++;
          await new Promise((r) => setImmediate(r));
          return 1;
        }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    const codes = new Set(results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as LimitExceededError).code] : [])));
    expect([...codes]).toEqual(['max_llm_calls_exceeded']);
    expect(ran).toBe(10);
    expect((await g.tracker.getUsage('a1'))?.llmCalls).toBe(10);
  });

  it('per-call token caps refuse a call asking for more before it runs, and charge nothing', async () => {
    const { gov: g } = gov();
    g.tracker.allocate('a1', { maxInputTokens: 20_000 });
    let ran = 0;
    const run = async (): Promise<number> => ++ran;
    const cases: [UsageReport, string, string, string][] = [
      [{ inputTokens: 20_001 }, 'max_input_tokens_exceeded', 'tracker.maxInputTokens', '20001'],
      [{ outputTokens: 2049 }, 'max_output_tokens_exceeded', 'tracker.maxOutputTokens', '2049'],
      [{ inputTokens: 15_000, outputTokens: 1385 }, 'max_context_tokens_exceeded', 'tracker.maxContextTokens', '16385'],
    ];
    for (const [estimate, code, limit, requested] of cases) {
      await expect(g.guard({ scope: A1, kind: 'llm', estimate }, run)).rejects.toMatchObject({ code, limit, requested });
    }
    expect(ran).toBe(0);
    expect(await g.tracker.getUsage('a1')).toMatchObject({ llmCalls: 0, tokensIn: 0 });
    await g.guard({ scope: A1, kind: 'llm', estimate: { inputTokens: 14_336, outputTokens: 2048 } }, run);
    expect(await g.tracker.getUsage('a1')).toMatchObject({ llmCalls: 1, tokensIn: 14_336, tokensOut: 2048 });
  });

  it('cumulative token caps and money are checked in the same reserve', async () => {
    const { gov: g } = gov();
    g.tracker.allocate('a1', { maxTotalInputTokens: 1000, money: '0.05' });
    await g.guard({ scope: A1, kind: 'llm', estimate: { inputTokens: 900, cost: '0.04' } }, ok);
    await expect(g.guard({ scope: A1, kind: 'llm', estimate: { inputTokens: 101 } }, ok)).rejects.toMatchObject({
      code: 'max_input_tokens_exceeded',
      limit: 'tracker.maxTotalInputTokens',
      available: '100',
    });
    await expect(g.guard({ scope: A1, kind: 'llm', estimate: { cost: '0.02' } }, ok)).rejects.toMatchObject({
      code: 'budget_exceeded',
      limit: 'tracker.money',
      available: '0.01',
      currency: 'USD',
    });
  });

  it('warns at 80 % of a quota field through the pipeline, once', async () => {
    const { gov: g } = gov();
    const warnings: WarningEvent[] = [];
    g.on('warning', (w) => warnings.push(w));
    g.tracker.allocate('a1', { maxLlmCalls: 5 });
    for (let i = 0; i < 5; i++) await g.guard({ scope: A1, kind: 'llm' }, ok);
    expect(warnings.map((w) => [w.limit, w.used, w.max, w.threshold])).toEqual([['tracker.maxLlmCalls', '4', '5', 80]]);
  });

  it('the timeout refuses new calls, aborts the running one through ctx.signal, and the soft timeout warns first', async () => {
    const { gov: g, clock } = gov();
    const warnings: WarningEvent[] = [];
    const violations: ViolationEvent[] = [];
    g.on('warning', (w) => warnings.push(w));
    g.on('violation', (v) => violations.push(v));
    g.tracker.allocate('a1');
    clock.advance(100_000);
    let reason: unknown;
    const running = g.guard({ scope: A1, kind: 'llm' }, (ctx) => {
      return new Promise((_, reject) => {
        ctx.signal?.addEventListener('abort', () => {
          reason = ctx.signal?.reason;
          reject(ctx.signal?.reason);
        });
      });
    });
    const settled = running.catch((e: unknown) => e);
    await Promise.resolve();
    clock.advance(139_999);
    await flush();
    expect(warnings).toEqual([]);
    clock.advance(1);
    await flush();
    expect(warnings.map((w) => [w.limit, w.used, w.enforcement])).toEqual([['tracker.softTimeoutSeconds', '240', 'soft']]);
    expect(reason).toBeUndefined();
    clock.advance(60_000);
    await flush();
    const e = await settled;
    expect(e).toBe(reason);
    expect(e).toMatchObject({ code: 'timeout_exceeded', limit: 'tracker.timeoutSeconds', max: '300' });
    expect(violations.map((v) => [v.type, v.code])).toEqual([['exceeded', 'timeout_exceeded']]);
    await expect(g.guard({ scope: A1, kind: 'tool' }, ok)).rejects.toMatchObject({ code: 'timeout_exceeded', meter: 'elapsedSeconds' });
    expect(warnings).toHaveLength(1);
    // More time brings the pid back.
    g.tracker.adjustQuota('a1', { timeoutSeconds: 600 });
    await expect(g.guard({ scope: A1, kind: 'tool' }, async (ctx) => ctx.signal?.aborted)).resolves.toBe(false);
    await g.close();
  });

  it('release stops the timer; the final usage comes as a usage event with the pid', async () => {
    const { gov: g, clock } = gov();
    const usage: UsageEvent[] = [];
    g.on('usage', (u) => usage.push(u));
    g.tracker.allocate('a1');
    await g.guard({ scope: A1, kind: 'llm', estimate: { cost: '0.5' } }, ok);
    expect(clock.pendingSleeps).toBe(1);
    const final = await g.tracker.release('a1');
    expect(clock.pendingSleeps).toBe(0);
    expect(final?.llmCalls).toBe(1);
    expect(final?.money).toEqual(new Decimal('0.5'));
    expect(usage.map((u) => [u.pid, u.cost, u.entry.kind])).toEqual([
      [undefined, '0.5', 'call'],
      ['a1', '0.5', 'tracker.release'],
    ]);
    // Untracked again: no limit, no charge on its counters.
    g.tracker.allocate('a1', { maxLlmCalls: 1 });
    await g.guard({ scope: A1, kind: 'llm' }, ok);
    await expect(g.guard({ scope: A1, kind: 'llm' }, ok)).rejects.toMatchObject({ code: 'max_llm_calls_exceeded' });
  });

  it("a quota's rateLimit is handed to gov.limiter for the pid", async () => {
    const { gov: g } = gov();
    g.tracker.allocate('a1', { rateLimit: { requestsPerMinute: 2 } });
    expect(g.limiter.getConfig('a1')).toEqual({ requestsPerMinute: 2 });
    await g.guard({ scope: A1 }, ok);
    await g.guard({ scope: A1 }, ok);
    await expect(g.guard({ scope: A1 }, ok)).rejects.toBeInstanceOf(RateLimitedError);
    expect(() => g.tracker.allocate('bad', { rateLimit: { requestsPerMinute: -1 } })).toThrow(/config.requestsPerMinute/);
    expect(g.tracker.isTracked('bad')).toBe(false);
    await g.tracker.release('a1');
    expect(g.limiter.getConfig('a1')).toEqual({ requestsPerMinute: 60, requestsPerHour: 1000, requestsPerDay: 10000 });
  });

  it('tracker options are validated under options.tracker', () => {
    expect(() => createGovernor({ tracker: { warnAt: 2 } })).toThrow(/options\.tracker\.warnAt/);
  });

  it('the tracker payloads have the shape of the bus events', () => {
    // Type-level: these assignments compile only if the shapes agree.
    const w: WarningEvent = {} as TrackerWarningEvent;
    const v: ViolationEvent = {} as TrackerViolationEvent;
    const u: UsageEvent = {} as TrackerUsageEvent;
    expect([w, v, u]).toHaveLength(3);
  });
});

describe('property: guarded usage never passes a hard quota', () => {
  type Op = { t: 'start' } | { t: 'finish'; i: number } | { t: 'fail'; i: number } | { t: 'record'; n: number } | { t: 'release' };
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 5, arbitrary: fc.constant<Op>({ t: 'start' }) },
    { weight: 3, arbitrary: fc.nat(20).map<Op>((i) => ({ t: 'finish', i })) },
    { weight: 1, arbitrary: fc.nat(20).map<Op>((i) => ({ t: 'fail', i })) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }).map<Op>((n) => ({ t: 'record', n })) },
    { weight: 1, arbitrary: fc.constant<Op>({ t: 'release' }) },
  );

  it('admits a call exactly when used + held + 1 <= cap, under any interleaving of guard, record and release (late calls charge the released generation)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 6 }), fc.array(op, { maxLength: 60 }), async (cap, ops) => {
        const { gov: g } = gov();
        g.tracker.allocate('a1', { maxLlmCalls: cap });
        let epoch = 0;
        let used = 0; // model: committed in the current allocation
        let held = 0; // model: admitted and running in the current allocation
        const running: { epoch: number; done: (ok: boolean) => void; settled: Promise<unknown> }[] = [];
        for (const o of ops) {
          if (o.t === 'start') {
            let done!: (ok: boolean) => void;
            const gate = new Promise<boolean>((r) => (done = r));
            const p = g.guard({ scope: A1, kind: 'llm' }, async () => {
              if (!(await gate)) throw new Error('failed');
              return 1;
            });
            const admitted = await Promise.race([
              p.then(
                () => true,
                (e: unknown) => !(e instanceof LimitExceededError),
              ),
              tick(),
            ]);
            const expected = used + held + 1 <= cap;
            expect(admitted !== false).toBe(expected);
            if (expected) {
              held++;
              running.push({ epoch, done, settled: p.catch(() => undefined) });
            }
          } else if ((o.t === 'finish' || o.t === 'fail') && running.length > 0) {
            const [r] = running.splice(o.i % running.length, 1);
            r!.done(o.t === 'finish');
            await r!.settled;
            if (r!.epoch === epoch) held--;
            // A call that outlived its allocation is charged to that allocation's generation, not to the re-allocated pid.
            if (o.t === 'finish' && r!.epoch === epoch) used++;
          } else if (o.t === 'record') {
            await g.tracker.recordUsage('a1', { llmCalls: o.n });
            used += o.n;
          } else if (o.t === 'release') {
            await g.tracker.release('a1');
            g.tracker.allocate('a1', { maxLlmCalls: cap });
            epoch++;
            used = 0;
            held = 0;
          }
          expect((await g.tracker.getUsage('a1'))?.llmCalls).toBe(used);
        }
        for (const r of running) r.done(true);
        await Promise.all(running.map((r) => r.settled));
      }),
      { numRuns: 150 },
    );
  });
});

/** Resolves `'running'` after the pending microtasks and one macrotask: a guard that is still running by then was admitted. */
function tick(): Promise<'running'> {
  return new Promise((r) => setImmediate(() => r('running')));
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
}
