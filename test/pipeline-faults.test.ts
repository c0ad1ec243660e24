// Faults and edge cases of the pipeline: each test pins down a behaviour a user relies on
// when something around the call goes wrong.
import { describe, expect, it } from 'vitest';
import { createGovernor, MemoryStore, type Governor, type GovernorOptions, type Store } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

const T0 = Date.parse('2026-11-23T10:00:00Z');

function setup(options: Omit<GovernorOptions, 'clock'> = {}): { gov: Governor; clock: ManualClock } {
  const clock = new ManualClock(T0);
  return { gov: createGovernor({ clock, ...options }), clock };
}

/** A MemoryStore whose named operations fail (or answer through a non-native thenable). */
function faulty(clock: ManualClock, fail: Partial<Record<keyof Store, 'throw' | 'reject'>>, thenable = false): Store {
  const inner = new MemoryStore({ clock });
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      const mode = fail[prop as keyof Store];
      return (...args: unknown[]) => {
        if (mode === 'throw') throw new Error(`${String(prop)} down`);
        if (mode === 'reject') return Promise.reject(new Error(`${String(prop)} down`));
        const out = (v as (...a: unknown[]) => unknown).apply(target, args);
        // A minimal thenable, not a native Promise: adapters may return one.
        return thenable ? { then: (ok: (x: unknown) => unknown) => ok(out) } : out;
      };
    },
  }) as Store;
}

describe('usage on meters the call did not estimate', () => {
  it('is charged to their limits at settle, and warns', async () => {
    const { gov } = setup({ limits: [{ id: 'out', meter: 'outputTokens', max: 1000, thresholds: [50, 100] }] });
    const warnings: number[] = [];
    gov.on('warning', (w) => void warnings.push(w.threshold));
    await gov.guard({ kind: 'llm' }, (ctx) => ctx.report({ outputTokens: 600 }));
    await gov.guard({ kind: 'llm' }, (ctx) => ctx.report({ outputTokens: 500 }));
    expect((await gov.getStatus({}))[0]!.used.toFixed()).toBe('1100');
    expect(warnings).toEqual([50, 100]);
    // Not estimated, so not checked at admission: the limit is counted, and refuses estimated calls.
    await expect(gov.guard({ estimate: { outputTokens: 1 } }, () => 1)).rejects.toMatchObject({ code: 'max_output_tokens_exceeded' });
  });
});

describe('store faults never crash the process or hide the call’s own outcome', () => {
  it('a failing ledger append is reported as store.error, not an unhandled rejection', async () => {
    const clock = new ManualClock(T0);
    const gov = createGovernor({ clock, store: faulty(clock, { appendLedger: 'reject' }), budgets: [{ amount: '1' }] });
    const faults: string[] = [];
    gov.on('store.error', (e) => void faults.push(`${e.operation}: ${(e.error as Error).message}`));
    await expect(gov.guard({ estimate: { cost: '2' } }, () => 1)).rejects.toMatchObject({ code: 'budget_exceeded' });
    await new Promise((r) => setImmediate(r));
    // The audit record of the initial budget and the refused call's record.
    expect(faults).toEqual(['appendLedger: appendLedger down', 'appendLedger: appendLedger down']);
  });

  it('guard() rejects, never throws synchronously, when a synchronous store throws', async () => {
    const clock = new ManualClock(T0);
    const gov = createGovernor({ clock, store: faulty(clock, { reserve: 'throw' }) });
    let p: Promise<unknown> | undefined;
    expect(() => {
      p = gov.guard({}, () => 1);
    }).not.toThrow();
    await expect(p).rejects.toMatchObject({ code: 'store_unavailable', operation: 'reserve' });
  });

  it('a store answering with non-native thenables works end to end', async () => {
    const clock = new ManualClock(T0);
    const gov = createGovernor({ clock, store: faulty(clock, {}, true), budgets: [{ id: 'b', amount: '1' }] });
    await expect(gov.guard({ estimate: { cost: '0.4' } }, () => 'ok')).resolves.toBe('ok');
    expect((await gov.getStatus({}))[0]!.used.toFixed()).toBe('0.4');
  });

  it('the rate limiter and breakers work over non-native thenables too', async () => {
    const clock = new ManualClock(T0);
    const gov = createGovernor({
      clock,
      store: faulty(clock, {}, true),
      limiter: { defaultConfig: { requestsPerMinute: 1 } },
      breakers: { rate: { failureRate: 0.5, minimumCalls: 1, window: '1m' } },
    });
    expect(await gov.limiter.checkRateLimit('u')).toMatchObject({ exceeded: false, remaining: 0 });
    expect(await gov.limiter.checkRateLimit('u')).toMatchObject({ exceeded: true, limitType: 'minute' });
    await expect(gov.guard({ breaker: 'p/m' }, () => 'fine')).resolves.toBe('fine');
    await expect(gov.guard({ breaker: 'p/m' }, () => Promise.reject(new Error('5xx')))).rejects.toThrow('5xx');
    await expect(gov.guard({ breaker: 'p/m' }, () => 'again')).rejects.toMatchObject({ code: 'circuit_open' });
  });

  it('the function’s result survives a commit failure (reported as store.error)', async () => {
    const clock = new ManualClock(T0);
    const gov = createGovernor({ clock, store: faulty(clock, { commit: 'reject' }) });
    const faults: string[] = [];
    gov.on('store.error', (e) => void faults.push(e.operation));
    await expect(gov.guard({}, () => 'the answer')).resolves.toBe('the answer');
    expect(faults).toEqual(['commit']);
  });

  it('a store that throws (rather than rejects) in commit is store_unavailable for settle(), reported once', async () => {
    const clock = new ManualClock(T0);
    const gov = createGovernor({ clock, store: faulty(clock, { commit: 'throw' }), budgets: [{ amount: '1' }] });
    const faults: string[] = [];
    gov.on('store.error', (e) => void faults.push(e.operation));
    const r = await gov.reserve({ estimate: { cost: '0.1' } });
    await expect(r.settle()).rejects.toMatchObject({ code: 'store_unavailable', operation: 'commit' });
    await expect(gov.guard({}, () => 'kept')).resolves.toBe('kept');
    expect(faults).toEqual(['commit', 'commit']);
  });

  it('the function’s own error survives a release failure', async () => {
    const clock = new ManualClock(T0);
    const gov = createGovernor({ clock, store: faulty(clock, { release: 'reject' }), budgets: [{ amount: '1' }] });
    const faults: string[] = [];
    gov.on('store.error', (e) => void faults.push(e.operation));
    const boom = new Error('model overloaded');
    await expect(gov.guard({ estimate: { cost: '0.1' } }, () => Promise.reject(boom))).rejects.toBe(boom);
    expect(faults).toEqual(['release']);
  });
});

describe('refusal details', () => {
  it('a call asking more than a whole calendar budget gets no retry time (it can never fit)', async () => {
    const { gov } = setup({ budgets: [{ amount: '1', period: 'day' }] });
    await expect(gov.guard({ estimate: { cost: '5' } }, () => 1)).rejects.toMatchObject({
      code: 'budget_exceeded',
      retryAfterMs: undefined,
    });
    await gov.guard({ estimate: { cost: '1' } }, () => 1);
    await expect(gov.guard({ estimate: { cost: '0.5' } }, () => 1)).rejects.toMatchObject({ retryAfterMs: 14 * 3_600_000 });
  });

  it('check() answers with the refusal as plain data', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', amount: '1' }] });
    const c = await gov.check({ estimate: { cost: '2' } });
    expect(c).toEqual({
      allowed: false,
      code: 'budget_exceeded',
      limit: 'b',
      meter: 'cost',
      scope: '',
      requested: '2',
      available: '1',
      max: '1',
      retryAfterMs: undefined,
    });
    expect(c).not.toHaveProperty('error');
  });

  it('a lifetime cap on requests is a plain limit, not a rate limit', async () => {
    const { gov } = setup({ limits: [{ meter: 'requests', max: 1 }] });
    await gov.guard({}, () => 1);
    await expect(gov.guard({}, () => 1)).rejects.toMatchObject({ name: 'LimitExceededError', code: 'limit_exceeded' });
  });

  it('moving a limit id to another meter audits each cap in its own unit', async () => {
    const { gov } = setup({ limits: [{ id: 'x', meter: 'llmCalls', max: 1 }] });
    const seen: unknown[] = [];
    gov.on('budget.changed', (c) => void seen.push([c.meter, c.before, c.after, c.delta]));
    gov.setBudget({ id: 'x', amount: '2.5' });
    expect(seen).toEqual([['cost', '1', '2.5', '2.5']]);
  });
});

describe("ledger: 'all' | 'failures' | 'none'", () => {
  async function run(ledger: 'all' | 'failures' | 'none'): Promise<string[]> {
    const { gov } = setup({ ledger, budgets: [{ amount: '1' }] });
    await gov.guard({ estimate: { cost: '0.1' } }, () => 1);
    await gov.guard({ estimate: { cost: '5' } }, () => 1).catch(() => undefined);
    await gov.guard({ estimate: { cost: '0.1' } }, () => Promise.reject(new Error('down'))).catch(() => undefined);
    await (await gov.reserve({ estimate: { cost: '0.1' } })).release();
    return (await gov.queryLedger({})).entries.map((e) => `${e.kind}:${e.status}`);
  }

  it('keeps every call by default, only refusals and failures, or none; budget audits always', async () => {
    expect(await run('all')).toEqual(['budget.changed:ok', 'call:ok', 'call:refused', 'call:error', 'call:released']);
    expect(await run('failures')).toEqual(['budget.changed:ok', 'call:refused', 'call:error']);
    expect(await run('none')).toEqual(['budget.changed:ok']);
  });

  it('charges and events are the same whatever the ledger keeps', async () => {
    const { gov } = setup({ ledger: 'none', budgets: [{ id: 'b', amount: '1' }] });
    const costs: string[] = [];
    gov.on('usage', (u) => void costs.push(u.cost));
    await gov.guard({ estimate: { cost: '0.25' } }, () => 1);
    expect(costs).toEqual(['0.25']);
    expect((await gov.getStatus({}))[0]!.used.toFixed()).toBe('0.25');
  });

  it('refuses an unknown mode', () => {
    expect(() => createGovernor({ ledger: 'some' as never })).toThrow('options.ledger');
  });
});
