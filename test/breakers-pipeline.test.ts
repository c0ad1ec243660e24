import { describe, expect, it } from 'vitest';
import {
  BreakerTimeoutError,
  BudgetExceededError,
  CircuitOpenError,
  createGovernor,
  InvalidInputError,
  MemoryStore,
  RateLimitedError,
  type BreakerEvent,
  type Governor,
  type GovernorOptions,
  type LedgerEntry,
  type ViolationEvent,
} from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

const T0 = Date.parse('2026-11-23T10:00:00Z');
const FIVE_MINUTES = 300_000;

function setup(options: Omit<GovernorOptions, 'clock'> = {}): { gov: Governor; clock: ManualClock } {
  const clock = new ManualClock(T0);
  return { gov: createGovernor({ clock, ...options }), clock };
}

class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

const down = (): never => {
  throw new HttpError(503);
};
const ok = async (): Promise<string> => 'done';

async function calls(gov: Governor): Promise<LedgerEntry[]> {
  return [...(await gov.queryLedger({ kinds: ['call'] })).entries];
}

const scope = Object.freeze({ project: 'p', agent: 'a' });

async function status(gov: Governor, limit: string): Promise<{ used: string; held: string }> {
  const s = (await gov.getStatus(scope)).find((x) => x.limit === limit);
  if (s === undefined) throw new Error(`no limit ${limit}`);
  return { used: s.used.toFixed(), held: s.held.toFixed() };
}

describe('the breaker in the admission pipeline', () => {
  it('an open breaker refuses first: no rate-limit slot, no budget held, a refused ledger entry with circuit_open', async () => {
    const { gov } = setup({
      budgets: [{ id: 'budget', scope: { project: 'p' }, amount: '1.00' }],
      limits: [{ id: 'rpm', scope: { agent: '*' }, meter: 'requests', max: 100, window: '1m' }],
    });
    for (let i = 0; i < 3; i++) {
      await expect(gov.guard({ scope, breaker: 'openai', estimate: { cost: '0.05' } }, down)).rejects.toThrow('HTTP 503');
    }
    expect(await status(gov, 'rpm')).toEqual({ used: '3', held: '0' });
    expect(await status(gov, 'budget')).toEqual({ used: '0', held: '0' });
    let ran = false;
    const err = await gov
      .guard({ scope, breaker: 'openai', estimate: { cost: '0.05' }, name: 'summarize' }, () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err).toMatchObject({ code: 'circuit_open', breaker: 'openai', retryAfterMs: FIVE_MINUTES });
    // Nothing was taken: the window still counts 3 and nothing is held.
    expect(await status(gov, 'rpm')).toEqual({ used: '3', held: '0' });
    expect(await status(gov, 'budget')).toEqual({ used: '0', held: '0' });
    const ledger = await calls(gov);
    expect(ledger.map((e) => [e.status, e.code])).toEqual([
      ['error', 'HttpError'],
      ['error', 'HttpError'],
      ['error', 'HttpError'],
      ['refused', 'circuit_open'],
    ]);
    expect(ledger[3]).toMatchObject({
      name: 'summarize',
      cost: '0',
      usage: {},
      message: 'circuit_open: breaker openai is open; retry after 300000 ms',
    });
  });

  it('gov.breakers is the registry; a request names its breaker by key or { provider, model }', async () => {
    const { gov, clock } = setup({ breakers: { failureThreshold: 2, resetTimeout: '1m' } });
    const key = { provider: 'anthropic', model: 'claude-sonnet-4' };
    await expect(gov.guard({ breaker: key }, down)).rejects.toThrow();
    await expect(gov.guard({ breaker: 'anthropic/claude-sonnet-4' }, down)).rejects.toThrow();
    expect(await gov.breakers.getState(key)).toMatchObject({ key: 'anthropic/claude-sonnet-4', state: 'open', halfOpenAt: T0 + 60_000 });
    await expect(gov.guard({ breaker: 'anthropic' }, ok)).resolves.toBe('done');
    expect(await gov.check({ breaker: key })).toMatchObject({ allowed: false, code: 'circuit_open', retryAfterMs: 60_000 });
    clock.advance(60_000);
    // check() takes no probe slot: the guarded call after it is the probe.
    expect(await gov.check({ breaker: key })).toEqual({ allowed: true });
    await expect(gov.guard({ breaker: key }, ok)).resolves.toBe('done');
    expect((await gov.breakers.getState(key)).state).toBe('closed');
  });

  it('emits breaker.open, breaker.halfOpen and breaker.close on the governor', async () => {
    const { gov, clock } = setup();
    const seen: [string, BreakerEvent][] = [];
    gov.on('breaker.open', (e) => void seen.push(['open', e]));
    gov.on('breaker.halfOpen', (e) => void seen.push(['halfOpen', e]));
    gov.on('breaker.close', (e) => void seen.push(['close', e]));
    // A throwing listener is reported, and never breaks the call.
    const faults: unknown[] = [];
    gov.on('listener.error', (e) => void faults.push(e.error));
    gov.on('breaker.open', () => {
      throw new Error('listener bug');
    });
    for (let i = 0; i < 3; i++) await expect(gov.guard({ breaker: 'search' }, down)).rejects.toThrow('HTTP 503');
    clock.advance(FIVE_MINUTES);
    await gov.guard({ breaker: 'search' }, ok);
    expect(seen).toEqual([
      [
        'open',
        {
          breaker: 'search',
          state: 'open',
          reason: 'consecutive_failures',
          failures: 3,
          cause: 'error',
          halfOpenAt: T0 + FIVE_MINUTES,
          at: T0,
        },
      ],
      [
        'halfOpen',
        {
          breaker: 'search',
          state: 'half_open',
          reason: 'reset_timeout',
          failures: 3,
          cause: undefined,
          halfOpenAt: undefined,
          at: T0 + FIVE_MINUTES,
        },
      ],
      [
        'close',
        {
          breaker: 'search',
          state: 'closed',
          reason: 'probe_succeeded',
          failures: 0,
          cause: undefined,
          halfOpenAt: undefined,
          at: T0 + FIVE_MINUTES,
        },
      ],
    ]);
    expect(faults.map((e) => (e as Error).message)).toEqual(['listener bug']);
  });

  it('a half-open probe slot taken at admission is given back when a limit then refuses the call', async () => {
    const { gov, clock } = setup({ limits: [{ id: 'rp10m', scope: { agent: '*' }, meter: 'requests', max: 3, window: '10m' }] });
    for (let i = 0; i < 3; i++) await expect(gov.guard({ scope, breaker: 'b' }, down)).rejects.toThrow();
    clock.advance(FIVE_MINUTES);
    // The probe slot is taken, then the rate limit (3 per 10 minutes, all spent) refuses.
    await expect(gov.guard({ scope, breaker: 'b' }, ok)).rejects.toBeInstanceOf(RateLimitedError);
    expect(await gov.breakers.getState('b')).toMatchObject({ state: 'half_open', probes: 0 });
    // The window frees its first bucket at 10 minutes; the next call gets the slot and closes the breaker.
    clock.advance(FIVE_MINUTES);
    await expect(gov.guard({ scope, breaker: 'b' }, ok)).resolves.toBe('done');
    expect((await gov.breakers.getState('b')).state).toBe('closed');
  });

  it('counts errors through the predicate: a 4xx from fn does not count, a 5xx does', async () => {
    const { gov } = setup({ breakers: { failureThreshold: 2 } });
    await expect(gov.guard({ breaker: 'x' }, down)).rejects.toThrow();
    await expect(
      gov.guard({ breaker: 'x' }, () => {
        throw new HttpError(422);
      }),
    ).rejects.toThrow('HTTP 422');
    expect((await gov.breakers.getState('x')).failures).toBe(0);
    // A budget refusal inside fn (a nested guard) changes nothing either.
    await expect(
      gov.guard({ breaker: 'x' }, () => {
        throw new BudgetExceededError({
          limit: 'b',
          meter: 'cost',
          scope: '',
          requested: '1',
          available: '0',
          max: '1',
          retryAfterMs: undefined,
          currency: 'USD',
        });
      }),
    ).rejects.toBeInstanceOf(BudgetExceededError);
    expect((await gov.breakers.getState('x')).failures).toBe(0);
  });
});

describe('resource overrun at settle', () => {
  it('a settled cost above estimate × 1.5 is a failure (0.16 against 0.10), 0.15 is a success', async () => {
    const { gov } = setup();
    const call = (cost: string) => gov.guard({ breaker: 'agent', estimate: { cost: '0.10' } }, (ctx) => ctx.report({ cost }));
    await call('0.16');
    expect(await gov.breakers.getState('agent')).toMatchObject({ failures: 1, cause: 'overrun' });
    await call('0.15');
    expect((await gov.breakers.getState('agent')).failures).toBe(0);
    const opened: BreakerEvent[] = [];
    gov.on('breaker.open', (e) => void opened.push(e));
    for (let i = 0; i < 3; i++) await call('0.16');
    expect(opened).toEqual([
      {
        breaker: 'agent',
        state: 'open',
        reason: 'consecutive_failures',
        failures: 3,
        cause: 'overrun',
        halfOpenAt: T0 + FIVE_MINUTES,
        at: T0,
      },
    ]);
    // The overrunning calls were charged in full: they were spent.
    const ledger = await calls(gov);
    expect(ledger.map((e) => e.cost)).toEqual(['0.16', '0.15', '0.16', '0.16', '0.16']);
    await expect(call('0.01')).rejects.toBeInstanceOf(CircuitOpenError);
  });

  it('a call without a cost estimate never overruns', async () => {
    const { gov } = setup();
    for (let i = 0; i < 5; i++) await gov.guard({ breaker: 'tool' }, (ctx) => ctx.report({ cost: '3' }));
    expect((await gov.breakers.getState('tool')).failures).toBe(0);
  });

  it('settled usage that takes a hard cap past its limit (a violation of type exceeded) counts as a failure', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', scope: { project: 'p' }, amount: '1.00' }] });
    gov.breakers.configure('agent', { thresholdMultiplier: 100 });
    const violations: ViolationEvent[] = [];
    gov.on('violation', (v) => void violations.push(v));
    await gov.guard({ scope, breaker: 'agent', estimate: { cost: '0.50' } }, (ctx) => ctx.report({ cost: '0.60' }));
    expect((await gov.breakers.getState('agent')).failures).toBe(0);
    await gov.guard({ scope, breaker: 'agent', estimate: { cost: '0.30' } }, (ctx) => ctx.report({ cost: '0.50' }));
    expect(violations.map((v) => [v.type, v.limit, v.used])).toEqual([['exceeded', 'b', '1.1']]);
    expect(await gov.breakers.getState('agent')).toMatchObject({ failures: 1, cause: 'limit_exceeded' });
  });

  it('reserve() + settle() counts the same outcome; release() gives a probe slot back', async () => {
    const { gov, clock } = setup({ breakers: { failureThreshold: 1 } });
    const r = await gov.reserve({ breaker: 'stream', estimate: { cost: '0.10' } });
    await r.settle({ cost: '0.20' });
    expect((await gov.breakers.getState('stream')).state).toBe('open');
    clock.advance(FIVE_MINUTES);
    const probe = await gov.reserve({ breaker: 'stream' });
    await expect(gov.reserve({ breaker: 'stream' })).rejects.toBeInstanceOf(CircuitOpenError);
    await probe.release();
    const again = await gov.reserve({ breaker: 'stream', estimate: { cost: '0.10' } });
    await again.settle({ cost: '0.10' });
    expect((await gov.breakers.getState('stream')).state).toBe('closed');
  });
});

describe('timeouts and shared state in the pipeline', () => {
  it("the breaker's timeout aborts ctx.signal, fails the call with BreakerTimeoutError, releases the hold and counts a failure", async () => {
    const { gov, clock } = setup({ breakers: { timeout: '2s' }, budgets: [{ id: 'budget', scope: { project: 'p' }, amount: '1' }] });
    let signal: AbortSignal | undefined;
    const p = gov.guard({ scope, breaker: 'slow', estimate: { cost: '0.25' } }, (ctx) => {
      signal = ctx.signal;
      return new Promise((_, reject) => ctx.signal?.addEventListener('abort', () => reject(ctx.signal?.reason)));
    });
    const settled = p.then(
      () => 'resolved',
      (e: unknown) => e,
    );
    expect(await status(gov, 'budget')).toEqual({ used: '0', held: '0.25' });
    clock.advance(2_000);
    const err = await settled;
    expect(err).toBeInstanceOf(BreakerTimeoutError);
    expect(err).toMatchObject({ code: 'timeout_exceeded', breaker: 'slow', timeoutMs: 2000 });
    expect(signal?.aborted).toBe(true);
    expect(await status(gov, 'budget')).toEqual({ used: '0', held: '0' });
    expect(await gov.breakers.getState('slow')).toMatchObject({ failures: 1, cause: 'timeout' });
    expect((await calls(gov)).map((e) => [e.status, e.code])).toEqual([['error', 'timeout_exceeded']]);
  });

  it('two governors on one store share a breaker: one trips, the other refuses before reserving anything', async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore({ clock });
    const limits: GovernorOptions['limits'] = [{ id: 'rpm', meter: 'requests', max: 100, window: '1m' }];
    const a = createGovernor({ clock, store, limits });
    const b = createGovernor({ clock, store, limits });
    for (let i = 0; i < 3; i++) await expect(a.guard({ breaker: 'openai' }, down)).rejects.toThrow();
    await expect(b.guard({ breaker: 'openai' }, ok)).rejects.toBeInstanceOf(CircuitOpenError);
    expect((await b.getStatus({})).map((s) => [s.limit, s.used.toFixed()])).toEqual([['rpm', '3']]);
  });

  it('validates the breaker field of a request and the breakers options of the governor', async () => {
    const { gov } = setup();
    await expect(gov.guard({ breaker: '' }, ok)).rejects.toThrow(
      'invalid_input: request.breaker must be a non-empty string of at most 256 characters without control characters (got "")',
    );
    await expect(gov.guard({ breaker: { provider: 'x', foo: 1 } as never }, ok)).rejects.toThrow(
      'invalid_input: request.breaker.foo is not a known option (got 1)',
    );
    await expect(gov.guard({ breaker: 5 as never }, ok)).rejects.toThrow(
      'invalid_input: request.breaker must be a breaker key string or { provider, model } (got 5)',
    );
    expect(() => createGovernor({ breakers: { failureThreshold: 0 } })).toThrow(InvalidInputError);
    expect(() => createGovernor({ breakers: { failureThreshold: 0 } })).toThrow(
      'invalid_input: options.breakers.failureThreshold must be valid: expected a failure count, a whole number >= 1 (got 0)',
    );
    expect(() => createGovernor({ breakers: { rate: { failureRate: 0.5, window: '1m', minimumCalls: 10, buckets: 5 } } as never })).toThrow(
      'invalid_input: options.breakers.rate.buckets is not a known option (got 5)',
    );
  });
});
