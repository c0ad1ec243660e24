import { describe, expect, it } from 'vitest';
import { BudgetExceededError, createGovernor, RateLimitedError, type GovernorOptions } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

const T0 = Date.parse('2026-11-23T00:00:00Z');

function setup(options: Omit<GovernorOptions, 'clock'> = {}) {
  const clock = new ManualClock(T0);
  return { gov: createGovernor({ clock, ...options }), clock };
}

/** Let queued promise work run (no real time passes: setImmediate only yields to the event loop). */
async function drain(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
}

describe('the rate limiter in the pipeline', () => {
  it('a request naming a user is checked against that user’s limits, atomically with everything else', async () => {
    const { gov } = setup({ limiter: { users: { alice: { requestsPerMinute: 2 } } }, budgets: [{ id: 'b', amount: '1' }] });
    await gov.guard({ user: 'alice', estimate: { cost: '0.1' } }, () => 1);
    await gov.guard({ user: 'alice', estimate: { cost: '0.1' } }, () => 1);
    const err = (await gov.guard({ user: 'alice', estimate: { cost: '0.1' } }, () => 1).catch((e: unknown) => e)) as RateLimitedError;
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err).toMatchObject({
      code: 'rate_limited',
      limit: 'minute',
      meter: 'requests',
      scope: 'user=alice/endpoint=default',
      max: '2',
      retryAfterMs: 60_000,
    });
    expect((await gov.getStatus({}))[0]!.used.toFixed()).toBe('0.2');
    // Bob has the default config (60 a minute); a refused budget takes no slot of alice's minute.
    await expect(gov.guard({ user: 'bob' }, () => 1)).resolves.toBe(1);
    expect(await gov.limiter.getUsage('alice')).toMatchObject({ minute: { current: 2 } });
  });

  it('endpoint limits apply per user and endpoint', async () => {
    const { gov } = setup({ limiter: { endpoints: { '/search': { requestsPerMinute: 1 } } } });
    await gov.guard({ user: 'a', endpoint: '/search' }, () => 1);
    await expect(gov.guard({ user: 'a', endpoint: '/search' }, () => 1)).rejects.toMatchObject({ scope: 'user=a/endpoint=/search' });
    await expect(gov.guard({ user: 'b', endpoint: '/search' }, () => 1)).resolves.toBe(1);
  });

  it('token limits take the estimate at admission and the actual tokens at settle', async () => {
    const { gov } = setup({ limiter: { defaultConfig: { tokensPerMinute: 1000 } } });
    await gov.guard({ user: 'u', estimate: { inputTokens: 500, outputTokens: 300 } }, (ctx) =>
      ctx.report({ inputTokens: 100, outputTokens: 50 }),
    );
    expect(await gov.limiter.getUsage('u')).toMatchObject({ tokensPerMinute: { current: 150 } });
    await gov.guard({ user: 'u', estimate: { inputTokens: 500, outputTokens: 300 } }, () => 1);
    const err = await gov.guard({ user: 'u', estimate: { inputTokens: 100 } }, () => 1).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'rate_limited', limit: 'tokensPerMinute', meter: 'tokens', requested: '100', available: '50' });
  });
});

describe("queue mode: onRateLimit 'wait'", () => {
  it('waits until the window frees and admits waiters in arrival order', async () => {
    const { gov, clock } = setup({ limits: [{ meter: 'requests', max: 2, window: '1m' }] });
    const done: number[] = [];
    const calls = [0, 1, 2, 3, 4].map((i) => gov.guard({ onRateLimit: 'wait', maxWaitMs: '5m' }, () => void done.push(i)));
    await drain();
    expect(done).toEqual([0, 1]);
    expect(clock.pendingSleeps).toBe(1); // only the head of the queue sleeps; the others wait behind it
    clock.advance(59_999);
    await drain();
    expect(done).toEqual([0, 1]);
    clock.advance(1);
    await drain();
    expect(done).toEqual([0, 1, 2, 3]);
    clock.advance(60_000);
    await drain();
    expect(done).toEqual([0, 1, 2, 3, 4]);
    await Promise.all(calls);
    expect((await gov.queryLedger({ statuses: ['refused'] })).entries).toEqual([]);
  });

  it('a newcomer in wait mode queues behind the waiters instead of jumping ahead', async () => {
    const { gov, clock } = setup({ limits: [{ meter: 'requests', max: 1, window: '1m' }] });
    const done: string[] = [];
    await gov.guard({}, () => void done.push('first'));
    const a = gov.guard({ onRateLimit: 'wait' }, () => void done.push('a'));
    await drain();
    clock.advance(60_000); // a's turn: it wakes and takes the slot...
    const b = gov.guard({ onRateLimit: 'wait' }, () => void done.push('b')); // ...b arrived just as a woke
    await drain();
    clock.advance(60_000);
    await drain();
    await Promise.all([a, b]);
    expect(done).toEqual(['first', 'a', 'b']);
  });

  it('many waiters waking at once never pass the limit', async () => {
    const { gov, clock } = setup({ limits: [{ meter: 'requests', max: 10, window: '1m' }] });
    let ran = 0;
    const calls = Array.from({ length: 45 }, () => gov.guard({ onRateLimit: 'wait', maxWaitMs: '10m' }, () => void ran++));
    await drain();
    expect(ran).toBe(10);
    for (const expected of [20, 30, 40, 45]) {
      clock.advance(60_000);
      await drain();
      expect(ran).toBe(expected);
    }
    await Promise.all(calls);
  });

  it('throws the refusal at once when the wait would pass maxWaitMs, and records it', async () => {
    const { gov, clock } = setup({ limits: [{ meter: 'requests', max: 1, window: '1m' }] });
    await gov.guard({}, () => 1);
    clock.advance(10_000);
    const err = await gov.guard({ onRateLimit: 'wait', maxWaitMs: '49s' }, () => 1).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'rate_limited', retryAfterMs: 50_000 });
    expect(clock.pendingSleeps).toBe(0);
    expect((await gov.queryLedger({ statuses: ['refused'] })).entries).toHaveLength(1);
    // A wait of exactly maxWaitMs is allowed.
    const waited = gov.guard({ onRateLimit: 'wait', maxWaitMs: '50s' }, () => 'waited');
    await drain();
    clock.advance(50_000);
    expect(await waited).toBe('waited');
  });

  it('an abort signal ends the wait with its reason; the calls behind it go on', async () => {
    const { gov, clock } = setup({ limits: [{ meter: 'requests', max: 1, window: '1m' }] });
    await gov.guard({}, () => 1);
    const ac = new AbortController();
    const aborted = gov.guard({ onRateLimit: 'wait', signal: ac.signal }, () => 'a').catch((e: unknown) => e);
    const next = gov.guard({ onRateLimit: 'wait' }, () => 'b');
    await drain();
    ac.abort(new Error('user cancelled'));
    expect(((await aborted) as Error).message).toBe('user cancelled');
    clock.advance(60_000);
    await drain();
    expect(await next).toBe('b');
  });

  it('other refusals are thrown at once, not waited on', async () => {
    const { gov } = setup({ budgets: [{ amount: '0.1' }] });
    await expect(gov.guard({ onRateLimit: 'wait', estimate: { cost: '1' } }, () => 1)).rejects.toBeInstanceOf(BudgetExceededError);
  });

  it('is the default when the governor says so, and reserve() waits too', async () => {
    const { gov, clock } = setup({ onRateLimit: 'wait', limits: [{ meter: 'requests', max: 1, window: '1m' }] });
    await gov.guard({}, () => 1);
    let got = false;
    const r = gov.reserve({}).then((res) => {
      got = true;
      return res;
    });
    await drain();
    expect(got).toBe(false);
    clock.advance(60_000);
    await (await r).settle();
    expect(got).toBe(true);
  });

  it('rejects bad queue options', async () => {
    const { gov } = setup();
    await expect(gov.guard({ onRateLimit: 'sleep' as never }, () => 1)).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'request.onRateLimit',
    });
    await expect(gov.guard({ maxWaitMs: -1 }, () => 1)).rejects.toMatchObject({ code: 'invalid_input', field: 'request.maxWaitMs' });
    expect(() => createGovernor({ onRateLimit: 'maybe' as never })).toThrow('options.onRateLimit');
  });
});
