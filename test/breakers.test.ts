import { describe, expect, it } from 'vitest';
import {
  BreakerIsolatedError,
  BreakerRegistry,
  BreakerTimeoutError,
  CircuitBreaker,
  CircuitOpenError,
  Decimal,
  defaultIsFailure,
  InvalidInputError,
  LimitExceededError,
  MemoryStore,
  type BreakerEvent,
  type BreakerEventName,
  type CircuitBreakerOptions,
  type Store,
} from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

const T0 = Date.parse('2026-11-23T10:00:00Z');
const FIVE_MINUTES = 300_000;

interface Setup {
  readonly breaker: CircuitBreaker;
  readonly clock: ManualClock;
  readonly store: MemoryStore;
  readonly events: [BreakerEventName, BreakerEvent][];
}

function setup(options: Omit<CircuitBreakerOptions, 'clock' | 'store' | 'onEvent'> = {}): Setup {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock });
  const events: [BreakerEventName, BreakerEvent][] = [];
  const breaker = new CircuitBreaker({ clock, store, onEvent: (name, e) => void events.push([name, e]), ...options });
  return { breaker, clock, store, events };
}

class HttpError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

const boom = (): never => {
  throw new Error('provider down');
};
const ok = (): string => 'ok';

async function fail(b: CircuitBreaker, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await expect(b.call(boom)).rejects.toThrow('provider down');
}

async function refusal(p: Promise<unknown>): Promise<CircuitOpenError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof CircuitOpenError)) throw new Error(`expected a CircuitOpenError, got ${String(e)}`);
  return e;
}

/** Let pending promise callbacks run (no real time passes for the breaker: it reads the manual clock). */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A store whose every primitive answers a few microtasks late, in a seeded order: concurrent callers interleave. */
function laggyStore(inner: MemoryStore, seed = 7): Store {
  let s = seed;
  const ticks = (): number => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % 5;
  };
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return async (...args: unknown[]) => {
        for (let i = ticks(); i > 0; i--) await Promise.resolve();
        const r = (v as (...a: unknown[]) => unknown).apply(target, args);
        for (let i = ticks(); i > 0; i--) await Promise.resolve();
        return r;
      };
    },
  });
}

describe("the seed's breaker", () => {
  it('trips after 3 consecutive failures and refuses with CircuitOpenError (circuit_open) and retryAfterMs', async () => {
    const { breaker } = setup();
    await fail(breaker, 2);
    expect((await breaker.getState()).state).toBe('closed');
    await expect(breaker.call(ok)).resolves.toBe('ok');
    // A success resets the count: two more failures do not trip it, the third does.
    await fail(breaker, 2);
    expect((await breaker.getState()).failures).toBe(2);
    await fail(breaker);
    let ran = false;
    const e = await refusal(breaker.call(() => (ran = true)));
    expect(ran).toBe(false);
    expect(e).toMatchObject({ name: 'CircuitOpenError', code: 'circuit_open', breaker: 'default', retryAfterMs: FIVE_MINUTES });
    expect(e.message).toBe('circuit_open: breaker default is open; retry after 300000 ms');
  });

  it('stays open for exactly 5 minutes: at 299,999 ms retryAfterMs is 1, at 300,000 ms the next call is a probe', async () => {
    const { breaker, clock } = setup();
    await fail(breaker, 3);
    clock.advance(FIVE_MINUTES - 1);
    expect((await refusal(breaker.call(ok))).retryAfterMs).toBe(1);
    expect(await breaker.getState()).toMatchObject({ state: 'open', halfOpenAt: T0 + FIVE_MINUTES });
    clock.advance(1);
    // The state is computed from timestamps: no timer ran, yet it reads half-open.
    expect(await breaker.getState()).toMatchObject({ state: 'half_open', probes: 0 });
    await expect(breaker.call(ok)).resolves.toBe('ok');
    expect(await breaker.getState()).toMatchObject({ state: 'closed', failures: 0, trips: 0, reason: 'probe_succeeded' });
  });

  it('a successful probe closes it and the count starts again from zero', async () => {
    const { breaker, clock, events } = setup();
    await fail(breaker, 3);
    clock.advance(FIVE_MINUTES);
    await breaker.call(ok);
    await fail(breaker, 2);
    expect((await breaker.getState()).state).toBe('closed');
    expect(events).toEqual([
      [
        'breaker.open',
        {
          breaker: 'default',
          state: 'open',
          reason: 'consecutive_failures',
          failures: 3,
          cause: 'error',
          halfOpenAt: T0 + FIVE_MINUTES,
          at: T0,
        },
      ],
      [
        'breaker.halfOpen',
        {
          breaker: 'default',
          state: 'half_open',
          reason: 'reset_timeout',
          failures: 3,
          cause: undefined,
          halfOpenAt: undefined,
          at: T0 + FIVE_MINUTES,
        },
      ],
      [
        'breaker.close',
        {
          breaker: 'default',
          state: 'closed',
          reason: 'probe_succeeded',
          failures: 0,
          cause: undefined,
          halfOpenAt: undefined,
          at: T0 + FIVE_MINUTES,
        },
      ],
    ]);
  });

  it('a failed probe re-opens it with a fresh 5-minute timer from the failure', async () => {
    const { breaker, clock, events } = setup();
    await fail(breaker, 3);
    clock.advance(FIVE_MINUTES);
    // The probe takes 2 s to fail.
    const probe = breaker.call(async () => {
      clock.advance(2_000);
      throw new HttpError(503);
    });
    await expect(probe).rejects.toThrow('HTTP 503');
    const failedAt = T0 + FIVE_MINUTES + 2_000;
    expect(await breaker.getState()).toMatchObject({ state: 'open', failures: 4, trips: 2, halfOpenAt: failedAt + FIVE_MINUTES });
    expect((await refusal(breaker.call(ok))).retryAfterMs).toBe(FIVE_MINUTES);
    clock.advance(FIVE_MINUTES - 1);
    expect((await refusal(breaker.call(ok))).retryAfterMs).toBe(1);
    clock.advance(1);
    await expect(breaker.call(ok)).resolves.toBe('ok');
    expect(events.map(([name, e]) => [name, e.reason, e.failures, e.halfOpenAt, e.at])).toEqual([
      ['breaker.open', 'consecutive_failures', 3, T0 + FIVE_MINUTES, T0],
      ['breaker.halfOpen', 'reset_timeout', 3, undefined, T0 + FIVE_MINUTES],
      ['breaker.open', 'probe_failed', 4, failedAt + FIVE_MINUTES, failedAt],
      ['breaker.halfOpen', 'reset_timeout', 4, undefined, failedAt + FIVE_MINUTES],
      ['breaker.close', 'probe_succeeded', 0, undefined, failedAt + FIVE_MINUTES],
    ]);
  });

  it('the operation may be sync or async, and receives an AbortSignal', async () => {
    const { breaker } = setup();
    await expect(breaker.call(() => 41 + 1)).resolves.toBe(42);
    await expect(breaker.call(async (signal) => signal.aborted)).resolves.toBe(false);
    await expect(breaker.call('nope' as never)).rejects.toThrow('invalid_input: operation must be a function (got "nope")');
  });

  it('keeps its state in the store under b|<key>, and a closed breaker on the success path writes nothing', async () => {
    const { breaker, store } = setup({ key: 'openai/gpt-4o' });
    for (let i = 0; i < 1000; i++) await breaker.call(ok);
    expect(store.getValue('b|openai/gpt-4o')).toBeUndefined();
    await fail(breaker);
    await breaker.call(ok);
    await breaker.call(ok);
    const v = store.getValue('b|openai/gpt-4o')!;
    // One write to count the failure, one to forget it; the second success writes nothing.
    expect(v.version).toBe(2);
    expect(JSON.parse(v.value)).toEqual({
      state: 'closed',
      isolated: false,
      gen: 0,
      failures: 0,
      trips: 0,
      halfOpenAt: null,
      probes: 0,
      probeUntil: null,
      reason: null,
      cause: 'error',
      since: null,
    });
  });
});

describe('half-open probes', () => {
  it('admits exactly one probe when 100 calls arrive at once; the 99 others are refused', async () => {
    const { clock, store } = setup();
    const shared = laggyStore(store);
    const breaker = new CircuitBreaker({ clock, store: shared });
    await fail(breaker, 3);
    clock.advance(FIVE_MINUTES);
    let started = 0;
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const calls = Array.from({ length: 100 }, () =>
      breaker.call(async () => {
        started++;
        await gate;
        return 'probe';
      }),
    );
    const settled = Promise.allSettled(calls);
    await flush();
    expect(started).toBe(1);
    finish();
    const results = await settled;
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(refused).toHaveLength(99);
    // Refused while the probe holds the slot: retry once the slot's lease (resetTimeout, no timeout set) is over.
    expect(refused.every((r) => r.reason instanceof CircuitOpenError && r.reason.retryAfterMs === FIVE_MINUTES)).toBe(true);
    expect((await breaker.getState()).state).toBe('closed');
  });

  it('halfOpenMaxProbes admits that many probes at once, and the first success closes the breaker', async () => {
    const { breaker, clock } = setup({ halfOpenMaxProbes: 3 });
    await fail(breaker, 3);
    clock.advance(FIVE_MINUTES);
    let finish!: () => void;
    const gate = new Promise<void>((resolve) => (finish = resolve));
    const settled = Promise.allSettled(Array.from({ length: 10 }, () => breaker.call(() => gate.then(() => 'probe'))));
    expect((await breaker.getState()).probes).toBe(3);
    finish();
    const results = await settled;
    expect(results.map((r) => r.status)).toEqual([...Array(3).fill('fulfilled'), ...Array(7).fill('rejected')]);
    expect((await breaker.getState()).state).toBe('closed');
  });

  it('a probe slot whose holder never reports is taken again once its lease (the timeout, else resetTimeout) is over', async () => {
    const { breaker, clock } = setup();
    await fail(breaker, 3);
    clock.advance(FIVE_MINUTES);
    // A process takes the probe slot and dies: its permit is never resolved.
    const lost = await breaker.acquire();
    expect(lost.probe).toBe(true);
    clock.advance(FIVE_MINUTES - 1);
    expect((await refusal(breaker.call(ok))).retryAfterMs).toBe(1);
    clock.advance(1);
    await expect(breaker.call(ok)).resolves.toBe('ok');
    expect((await breaker.getState()).state).toBe('closed');
  });

  it('a probe that ends with a refusal of its own gives its slot back and counts nothing', async () => {
    const { breaker, clock } = setup();
    await fail(breaker, 3);
    clock.advance(FIVE_MINUTES);
    const refusedInside = new LimitExceededError('max_llm_calls_exceeded', {
      limit: 'q',
      meter: 'llmCalls',
      scope: '',
      requested: '1',
      available: '0',
      max: '3',
      retryAfterMs: undefined,
    });
    await expect(
      breaker.call(() => {
        throw refusedInside;
      }),
    ).rejects.toBe(refusedInside);
    expect(await breaker.getState()).toMatchObject({ state: 'half_open', probes: 0, failures: 3 });
    await expect(breaker.call(ok)).resolves.toBe('ok');
  });
});

describe('permits', () => {
  it('tryAcquire returns the refusal as a value, peek takes no probe slot, acquire throws', async () => {
    const { breaker, clock } = setup();
    const closed = await breaker.tryAcquire();
    expect(closed).toMatchObject({ probe: false, gen: 0 });
    await breaker.recordFailure();
    await breaker.recordFailure('timeout');
    await breaker.recordFailure();
    const refused = await breaker.tryAcquire();
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect((refused as CircuitOpenError).retryAfterMs).toBe(FIVE_MINUTES);
    await expect(breaker.acquire()).rejects.toBeInstanceOf(CircuitOpenError);
    clock.advance(FIVE_MINUTES);
    expect(await breaker.peek()).toBeUndefined();
    expect(await breaker.peek()).toBeUndefined();
    const probe = await breaker.acquire();
    expect(probe.probe).toBe(true);
    expect(((await breaker.peek()) as CircuitOpenError).retryAfterMs).toBe(FIVE_MINUTES);
    // A permit is resolved once: the second outcome of a probe is ignored.
    await probe.failure();
    await probe.success();
    expect(await breaker.getState()).toMatchObject({ state: 'open', failures: 4, cause: 'error' });
  });

  it('an outcome of a call admitted before a trip or a reset counts nothing', async () => {
    const { breaker } = setup({ failureThreshold: 2 });
    const early = await breaker.acquire();
    await fail(breaker, 2);
    await breaker.reset();
    await early.failure();
    expect(await breaker.getState()).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('keys with the store-key separator cannot collide with another breaker', async () => {
    const { store, clock } = setup();
    const odd = new CircuitBreaker({ key: 'a|calls', store, clock, failureThreshold: 1 });
    await fail(odd);
    expect(store.getValue('b|a%7Ccalls')?.version).toBe(1);
    expect((await new CircuitBreaker({ key: 'a', store, clock }).getState()).state).toBe('closed');
  });
});

describe('shared state across processes', () => {
  it('two breakers of one key on one store are one breaker: one trips, both refuse; only one probes', async () => {
    const clock = new ManualClock(T0);
    const store = laggyStore(new MemoryStore({ clock }), 11);
    const seenA: string[] = [];
    const seenB: string[] = [];
    const a = new CircuitBreaker({ key: 'anthropic', clock, store, onEvent: (n) => void seenA.push(n) });
    const b = new CircuitBreaker({ key: 'anthropic', clock, store, onEvent: (n) => void seenB.push(n) });
    await fail(a, 2);
    await fail(b, 1);
    // The third consecutive failure happened in "process" b: a refuses too.
    expect((await refusal(a.call(ok))).retryAfterMs).toBe(FIVE_MINUTES);
    expect(seenA).toEqual([]);
    expect(seenB).toEqual(['breaker.open']);
    clock.advance(FIVE_MINUTES);
    let probes = 0;
    const calls = Array.from({ length: 50 }, (_, i) =>
      (i % 2 === 0 ? a : b).call(async () => {
        probes++;
        await flush();
      }),
    );
    const results = await Promise.allSettled(calls);
    expect(probes).toBe(1);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((await a.getState()).state).toBe('closed');
    expect((await b.getState()).state).toBe('closed');
    // Each transition is announced once, by the process that made it.
    expect([...seenA, ...seenB].sort()).toEqual(['breaker.close', 'breaker.halfOpen', 'breaker.open']);
  });

  it('breakers of different keys on one store are independent', async () => {
    const { store, clock } = setup();
    const a = new CircuitBreaker({ key: 'a', store, clock });
    const b = new CircuitBreaker({ key: 'b', store, clock });
    await fail(a, 3);
    await expect(b.call(ok)).resolves.toBe('ok');
    expect((await a.getState()).state).toBe('open');
  });
});

describe('the rolling failure-rate policy', () => {
  const rate = { failureRate: 0.5, minimumCalls: 10, window: '1m' } as const;

  it('trips when failures reach the rate once the window holds minimumCalls calls', async () => {
    const { breaker, events } = setup({ rate });
    for (let i = 0; i < 5; i++) await breaker.call(ok);
    await fail(breaker, 4);
    expect(await breaker.getState()).toMatchObject({ state: 'closed', window: { calls: 9, failures: 4 } });
    // The 10th call fails: 5 of 10 is 50 %.
    await fail(breaker);
    expect(await breaker.getState()).toMatchObject({
      state: 'open',
      failures: 5,
      reason: 'failure_rate',
      window: { calls: 0, failures: 0 },
    });
    expect(events[0]).toEqual([
      'breaker.open',
      { breaker: 'default', state: 'open', reason: 'failure_rate', failures: 5, cause: 'error', halfOpenAt: T0 + FIVE_MINUTES, at: T0 },
    ]);
  });

  it('does not trip below minimumCalls even at 100 % failures, nor below the rate', async () => {
    const { breaker } = setup({ rate });
    await fail(breaker, 9);
    expect(await breaker.getState()).toMatchObject({ state: 'closed', window: { calls: 9, failures: 9 } });
    for (let i = 0; i < 9; i++) await breaker.call(ok);
    // 10 failures of 19 calls, 11 of 20 ... each is above 50 %: the 10th failure trips.
    await fail(breaker);
    expect((await breaker.getState()).state).toBe('open');
    const low = setup({ rate });
    for (let i = 0; i < 6; i++) await low.breaker.call(ok);
    await fail(low.breaker, 5);
    // 5 of 11 is 45 %: closed.
    expect(await low.breaker.getState()).toMatchObject({ state: 'closed', window: { calls: 11, failures: 5 } });
    await fail(low.breaker);
    // 6 of 12 is 50 %: open.
    expect(await low.breaker.getState()).toMatchObject({ state: 'open', failures: 6 });
  });

  it('forgets calls that left the window, and starts from an empty window after it closes again', async () => {
    const { breaker, clock } = setup({ rate });
    for (let i = 0; i < 4; i++) await breaker.call(ok);
    await fail(breaker, 5);
    // The window is 60 s in 10 buckets of 6 s: at +60 s the bucket of T0 has left it.
    clock.advance(59_999);
    expect((await breaker.getState()).window).toEqual({ calls: 9, failures: 5 });
    clock.advance(1);
    expect((await breaker.getState()).window).toEqual({ calls: 0, failures: 0 });
    await fail(breaker);
    expect(await breaker.getState()).toMatchObject({ state: 'closed', window: { calls: 1, failures: 1 } });
    for (let i = 0; i < 4; i++) await breaker.call(ok);
    await fail(breaker, 4);
    expect((await breaker.getState()).state).toBe('closed');
    await fail(breaker);
    expect((await breaker.getState()).state).toBe('open');
    clock.advance(FIVE_MINUTES);
    await breaker.call(ok);
    expect(await breaker.getState()).toMatchObject({ state: 'closed', window: { calls: 0, failures: 0 } });
  });
});

describe('resource overrun (the seed’s second kind of failure)', () => {
  it('counts actual > estimate × 1.5 as a failure, exactly: 0.16 against 0.10 is one, 0.15 is not', async () => {
    const { breaker } = setup();
    expect(breaker.isOverrun({ estimate: '0.10', actual: '0.16' })).toBe(true);
    expect(breaker.isOverrun({ estimate: '0.10', actual: '0.15' })).toBe(false);
    expect(breaker.isOverrun({ estimate: 0.1, actual: new Decimal('0.150000000000000001') })).toBe(true);
    expect(breaker.isOverrun({ estimate: 100n, actual: 151n })).toBe(true);
    expect(breaker.isOverrun({ estimate: 100n, actual: 150n })).toBe(false);
    // No estimate, no overrun.
    expect(breaker.isOverrun({ estimate: '0', actual: '5' })).toBe(false);
    expect(await breaker.recordOverrun({ estimate: '0.10', actual: '0.15' })).toBe(false);
    expect((await breaker.getState()).failures).toBe(0);
    expect(await breaker.recordOverrun({ estimate: '0.10', actual: '0.16' })).toBe(true);
    expect(await breaker.getState()).toMatchObject({ failures: 1, cause: 'overrun' });
  });

  it('three overruns in a row trip it, with cause overrun', async () => {
    const { breaker, events } = setup({ key: 'agent:researcher' });
    for (let i = 0; i < 3; i++) await breaker.recordOverrun({ estimate: '0.10', actual: '0.16' });
    expect((await refusal(breaker.call(ok))).breaker).toBe('agent:researcher');
    expect(events.map(([n, e]) => [n, e.reason, e.cause, e.failures])).toEqual([['breaker.open', 'consecutive_failures', 'overrun', 3]]);
  });

  it('a permit settles with usage: success within the multiplier, overrun past it', async () => {
    const { breaker } = setup({ thresholdMultiplier: '2' });
    let permit = await breaker.acquire();
    await permit.settleUsage({ estimate: '0.10', actual: '0.20' });
    expect((await breaker.getState()).failures).toBe(0);
    permit = await breaker.acquire();
    await permit.settleUsage({ estimate: '0.10', actual: '0.21' });
    expect(await breaker.getState()).toMatchObject({ failures: 1, cause: 'overrun' });
  });

  it('refuses amounts that are not amounts', () => {
    const { breaker } = setup();
    expect(() => breaker.isOverrun({ estimate: '-1', actual: '1' })).toThrow(
      'invalid_input: overrun.estimate must be a finite amount >= 0 (got "-1")',
    );
    expect(() => breaker.isOverrun({ estimate: '1', actual: 'lots' })).toThrow(
      'invalid_input: overrun.actual must be a decimal amount (got "lots")',
    );
    expect(() => breaker.isOverrun({ estimate: 1n, actual: -2n })).toThrow(
      'invalid_input: overrun.actual must be a finite amount >= 0 (got -2n)',
    );
  });
});

describe('which errors count', () => {
  it('by default: 4xx do not count (the provider answered), 408, 429 and 5xx do', async () => {
    const { breaker } = setup();
    const throwing = (e: unknown) => () => {
      throw e;
    };
    await expect(breaker.call(throwing(new HttpError(500)))).rejects.toThrow();
    await expect(breaker.call(throwing(new HttpError(429)))).rejects.toThrow();
    expect((await breaker.getState()).failures).toBe(2);
    // A 400 is an answer: it counts as a success and the consecutive count starts again.
    await expect(breaker.call(throwing(new HttpError(400)))).rejects.toThrow('HTTP 400');
    expect((await breaker.getState()).failures).toBe(0);
    await expect(breaker.call(throwing({ statusCode: 408 }))).rejects.toEqual({ statusCode: 408 });
    await expect(breaker.call(throwing(new HttpError(503)))).rejects.toThrow();
    await expect(breaker.call(throwing(new HttpError(404)))).rejects.toThrow();
    expect((await breaker.getState()).failures).toBe(0);
    expect([400, 401, 403, 404, 422, 499].map((status) => defaultIsFailure({ status }))).toEqual(Array(6).fill(false));
    expect([408, 429, 500, 502, 503, 529].map((status) => defaultIsFailure({ status }))).toEqual(Array(6).fill(true));
    expect(defaultIsFailure({ statusCode: 404 })).toBe(false);
    expect(defaultIsFailure(new TypeError('fetch failed'))).toBe(true);
    expect(defaultIsFailure('a string')).toBe(true);
    expect(defaultIsFailure(new CircuitOpenError('other', 5))).toBe(false);
  });

  it('a refusal thrown inside the operation (a GovernorError) changes nothing', async () => {
    const { breaker } = setup();
    await fail(breaker, 2);
    await expect(
      breaker.call(() => {
        throw new CircuitOpenError('nested', 10);
      }),
    ).rejects.toBeInstanceOf(CircuitOpenError);
    expect((await breaker.getState()).failures).toBe(2);
    await fail(breaker);
    expect((await breaker.getState()).state).toBe('open');
  });

  it('a custom isFailure decides; a predicate that throws counts the error', async () => {
    const { breaker } = setup({
      failureThreshold: 2,
      isFailure: (e) => {
        if (e instanceof Error && e.message === 'weird') throw new Error('predicate bug');
        return e instanceof HttpError && e.status >= 500;
      },
    });
    await expect(breaker.call(boom)).rejects.toThrow();
    expect((await breaker.getState()).failures).toBe(0);
    await expect(breaker.call(() => Promise.reject(new HttpError(502)))).rejects.toThrow();
    expect((await breaker.getState()).failures).toBe(1);
    await expect(
      breaker.call(() => {
        throw new Error('weird');
      }),
    ).rejects.toThrow('weird');
    expect((await breaker.getState()).state).toBe('open');
  });

  it('a call the caller aborts counts nothing', async () => {
    const { breaker } = setup();
    const controller = new AbortController();
    const p = breaker.call(
      (signal) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason));
        }),
      controller.signal,
    );
    controller.abort(new Error('user cancelled'));
    await expect(p).rejects.toThrow('user cancelled');
    expect((await breaker.getState()).failures).toBe(0);
    await expect(breaker.call(ok, controller.signal)).rejects.toThrow('user cancelled');
  });
});

describe('isolate, reset and back-off', () => {
  it('isolate() opens it until reset(), whatever the time; reset() closes it', async () => {
    const { breaker, clock, events } = setup();
    await breaker.isolate();
    const e = await refusal(breaker.call(ok));
    expect(e).toBeInstanceOf(BreakerIsolatedError);
    expect(e).toMatchObject({ code: 'circuit_open', isolated: true, retryAfterMs: Number.POSITIVE_INFINITY });
    expect(e.message).toBe('circuit_open: breaker default is isolated; it stays open until reset()');
    clock.advance(86_400_000);
    await expect(breaker.call(ok)).rejects.toBeInstanceOf(BreakerIsolatedError);
    expect(await breaker.getState()).toMatchObject({ state: 'open', isolated: true, halfOpenAt: null, reason: 'isolated' });
    await breaker.reset();
    await expect(breaker.call(ok)).resolves.toBe('ok');
    expect(events).toEqual([
      [
        'breaker.open',
        { breaker: 'default', state: 'open', reason: 'isolated', failures: 0, cause: undefined, halfOpenAt: undefined, at: T0 },
      ],
      [
        'breaker.close',
        { breaker: 'default', state: 'closed', reason: 'reset', failures: 0, cause: undefined, halfOpenAt: undefined, at: T0 + 86_400_000 },
      ],
    ]);
  });

  it('reset() closes a tripped breaker at once and forgets failures; isolating twice announces once', async () => {
    const { breaker, events } = setup();
    await fail(breaker, 3);
    await breaker.reset();
    expect(await breaker.getState()).toMatchObject({ state: 'closed', failures: 0, trips: 0 });
    await breaker.isolate();
    await breaker.isolate();
    expect(events.map(([n, e]) => `${n}:${e.reason}`)).toEqual([
      'breaker.open:consecutive_failures',
      'breaker.close:reset',
      'breaker.open:isolated',
    ]);
  });

  it('with back-off each failed probe doubles the open period, up to maxResetTimeout; a close starts over', async () => {
    const { breaker, clock } = setup({ backoff: { multiplier: 2, maxResetTimeout: '20m' } });
    await fail(breaker, 3);
    const periods: number[] = [];
    for (let i = 0; i < 4; i++) {
      const s = await breaker.getState();
      periods.push((s.halfOpenAt as number) - (s.since as number));
      clock.set(s.halfOpenAt as number);
      await fail(breaker);
    }
    expect(periods).toEqual([300_000, 600_000, 1_200_000, 1_200_000]);
    clock.advance(1_200_000);
    await breaker.call(ok);
    await fail(breaker, 3);
    const s = await breaker.getState();
    expect((s.halfOpenAt as number) - (s.since as number)).toBe(300_000);
  });

  it('a fractional multiplier grows the period exactly, rounding up to the ms', async () => {
    const { breaker, clock } = setup({ resetTimeout: 1_000, failureThreshold: 1, backoff: { multiplier: 1.1 } });
    await fail(breaker);
    const periods: number[] = [];
    for (let i = 0; i < 4; i++) {
      const s = await breaker.getState();
      periods.push((s.halfOpenAt as number) - (s.since as number));
      clock.set(s.halfOpenAt as number);
      await fail(breaker);
    }
    // 1000, 1100, 1210, 1331 (1.1^3 × 1000 = 1331.0000000000002 in floats).
    expect(periods).toEqual([1000, 1100, 1210, 1331]);
  });
});

describe('per-call timeout', () => {
  const hang = (signal: AbortSignal): Promise<never> =>
    new Promise((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason));
    });

  it('aborts the operation’s signal, rejects with BreakerTimeoutError and counts a failure', async () => {
    const { breaker, clock } = setup({ timeout: '1s', failureThreshold: 2 });
    let seen: AbortSignal | undefined;
    let outcome: unknown = 'pending';
    const p = breaker.call((signal) => {
      seen = signal;
      return hang(signal);
    });
    p.catch((e: unknown) => (outcome = e));
    clock.advance(999);
    await flush();
    expect(outcome).toBe('pending');
    expect(seen?.aborted).toBe(false);
    clock.advance(1);
    await flush();
    expect(outcome).toBeInstanceOf(BreakerTimeoutError);
    expect(outcome).toMatchObject({ code: 'timeout_exceeded', breaker: 'default', timeoutMs: 1000 });
    expect((outcome as Error).message).toBe('timeout_exceeded: a call through breaker default took longer than 1000 ms');
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBe(outcome);
    expect(await breaker.getState()).toMatchObject({ failures: 1, cause: 'timeout' });
    const second = breaker.call(hang);
    clock.advance(1000);
    await expect(second).rejects.toBeInstanceOf(BreakerTimeoutError);
    expect(await breaker.getState()).toMatchObject({ state: 'open', cause: 'timeout' });
  });

  it('an operation that finishes in time leaves no timer behind', async () => {
    const { breaker, clock } = setup({ timeout: '1s' });
    await expect(breaker.call(async () => 'fast')).resolves.toBe('fast');
    await expect(breaker.call(boom)).rejects.toThrow('provider down');
    await flush();
    expect(clock.pendingSleeps).toBe(0);
    expect((await breaker.getState()).failures).toBe(1);
  });
});

describe('BreakerRegistry', () => {
  it('keys breakers by what fails together; { provider, model } is provider/model', async () => {
    const clock = new ManualClock(T0);
    const reg = new BreakerRegistry({ clock, defaults: { failureThreshold: 2 } });
    const b = reg.for({ provider: 'openai', model: 'gpt-4o' });
    expect(b.key).toBe('openai/gpt-4o');
    expect(reg.for('openai/gpt-4o')).toBe(b);
    expect(reg.for({ provider: 'openai' }).key).toBe('openai');
    await fail(b, 2);
    expect((await reg.getState('openai/gpt-4o')).state).toBe('open');
    expect((await reg.getState({ provider: 'openai' })).state).toBe('closed');
    expect(reg.keys()).toEqual(['openai/gpt-4o', 'openai']);
  });

  it('configure(key) overrides the defaults for one key; other fields keep the defaults', async () => {
    const clock = new ManualClock(T0);
    const reg = new BreakerRegistry({ clock, defaults: { failureThreshold: 2, resetTimeout: '1m' } });
    reg.configure('flaky-tool', { failureThreshold: 1 });
    await fail(reg.for('flaky-tool'));
    await fail(reg.for('other'));
    expect((await reg.getState('flaky-tool')).halfOpenAt).toBe(T0 + 60_000);
    expect((await reg.getState('other')).state).toBe('closed');
    // A key switches policy: the rate policy replaces the default consecutive one.
    const rated = reg.configure('rated', { rate: { failureRate: 1, minimumCalls: 2 } });
    await fail(rated);
    expect((await rated.getState()).state).toBe('closed');
    await fail(rated);
    expect((await rated.getState()).state).toBe('open');
  });

  it('false turns an inherited timeout or back-off off for one key', async () => {
    const clock = new ManualClock(T0);
    const reg = new BreakerRegistry({ clock, defaults: { timeout: '1s', backoff: { multiplier: 2 } } });
    let finish!: () => void;
    const slow = reg.for('slow').call(() => new Promise<void>((resolve) => (finish = resolve)));
    expect(clock.pendingSleeps).toBe(1);
    finish();
    await slow;
    await flush();
    expect(clock.pendingSleeps).toBe(0);
    const patient = reg.configure('patient', { timeout: false, backoff: false, failureThreshold: 1 });
    const long = patient.call(() => new Promise<void>((resolve) => (finish = resolve)));
    expect(clock.pendingSleeps).toBe(0);
    clock.advance(60_000);
    finish();
    await expect(long).resolves.toBeUndefined();
    await fail(patient);
    clock.advance(FIVE_MINUTES);
    await fail(patient);
    // No back-off: the second open period is resetTimeout again.
    const s = await patient.getState();
    expect((s.halfOpenAt as number) - (s.since as number)).toBe(FIVE_MINUTES);
  });

  it('snapshot() is plain JSON of every known breaker', async () => {
    const clock = new ManualClock(T0);
    const reg = new BreakerRegistry({ clock });
    await fail(reg.for('a'), 3);
    reg.for('b');
    const snap = await reg.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    expect(snap).toEqual([
      {
        key: 'a',
        state: 'open',
        isolated: false,
        failures: 3,
        trips: 1,
        halfOpenAt: T0 + FIVE_MINUTES,
        probes: 0,
        reason: 'consecutive_failures',
        cause: 'error',
        since: T0,
        window: null,
        version: 3,
      },
      {
        key: 'b',
        state: 'closed',
        isolated: false,
        failures: 0,
        trips: 0,
        halfOpenAt: null,
        probes: 0,
        reason: null,
        cause: null,
        since: null,
        window: null,
        version: 0,
      },
    ]);
  });
});

describe('options are validated once, naming the field', () => {
  const bad: [unknown, string][] = [
    [{ failureThreshold: 0 }, 'options.failureThreshold must be valid: expected a failure count, a whole number >= 1 (got 0)'],
    [{ failureThreshold: 2.5 }, 'options.failureThreshold must be valid: expected a failure count, a whole number >= 1 (got 2.5)'],
    [{ rate: { failureRate: 1.5 } }, 'options.rate.failureRate must be valid: expected a fraction of calls in (0, 1] (got 1.5)'],
    [
      { rate: { failureRate: 0.5 }, failureThreshold: 3 },
      'options.rate cannot be combined with failureThreshold: choose one policy (got {"failureRate":0.5})',
    ],
    [{ rate: { failureRate: 0.5, window: '15ms' } }, 'options.rate.window must be a whole number of ms divisible by 10 (got "15ms")'],
    [
      { rate: { failureRate: 0.5, minimumCalls: 0 } },
      'options.rate.minimumCalls must be valid: expected a number of calls, a whole number >= 1 (got 0)',
    ],
    [{ resetTimeout: 'soon' }, "options.resetTimeout must be milliseconds or a duration such as '30s', '5m', '1h', '1d' (got \"soon\")"],
    [{ timeout: -1 }, 'options.timeout must be a whole number of milliseconds > 0 (got -1)'],
    [{ backoff: { maxResetTimeout: '1m' } }, 'options.backoff.maxResetTimeout must be at least resetTimeout (300000 ms) (got "1m")'],
    [{ backoff: { multiplier: 0.5 } }, 'options.backoff.multiplier must be valid: expected a multiplier >= 1 (got 0.5)'],
    [{ thresholdMultiplier: 0.9 }, 'options.thresholdMultiplier must be at least 1 (got 0.9)'],
    [{ halfOpenMaxProbes: 0 }, 'options.halfOpenMaxProbes must be valid: expected a number of probes, a whole number >= 1 (got 0)'],
    [{ isFailure: 3 }, 'options.isFailure must be valid: expected a function (error) => boolean (got 3)'],
    [{ threshold: 3 }, 'options.threshold is not a known option (got 3)'],
    [{ key: '' }, 'options.key must be a non-empty string of at most 256 characters without control characters (got "")'],
  ];
  for (const [options, message] of bad) {
    it(`refuses ${JSON.stringify(options)}`, () => {
      let error: unknown;
      try {
        new CircuitBreaker(options as CircuitBreakerOptions);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as Error).message).toBe(`invalid_input: ${message}`);
    });
  }

  it('registry defaults and per-key options name their own field', () => {
    expect(() => new BreakerRegistry({ defaults: { halfOpenMaxProbes: -1 } })).toThrow(
      'invalid_input: breakers.halfOpenMaxProbes must be valid: expected a number of probes, a whole number >= 1 (got -1)',
    );
    expect(() => new BreakerRegistry().configure('openai', { resetTimeout: 0 })).toThrow(
      'invalid_input: breakers["openai"].resetTimeout must be a whole number of milliseconds > 0 (got 0)',
    );
    expect(() => new BreakerRegistry().for({ provider: 'openai', modle: 'x' } as never)).toThrow(
      'invalid_input: key.modle is not a known option (got "x")',
    );
    expect(() => new BreakerRegistry({ defualts: {} } as never)).toThrow('invalid_input: options.defualts is not a known option (got {})');
    expect(() => new BreakerRegistry({ clock: 5 } as never)).toThrow(
      expect.objectContaining({ code: 'invalid_input', field: 'options.clock' }),
    );
  });

  it('a failure cause that is not a FailureKind is refused and counts nothing', async () => {
    const { breaker } = setup();
    await expect(breaker.recordFailure('bogus' as never)).rejects.toThrow(
      "invalid_input: cause must be 'error', 'timeout', 'overrun' or 'limit_exceeded' (got \"bogus\")",
    );
    const permit = await breaker.acquire();
    expect(() => permit.failure('oops' as never)).toThrow(
      expect.objectContaining({ code: 'invalid_input', field: 'cause', value: 'oops' }),
    );
    expect((await breaker.getState()).failures).toBe(0);
  });
});
