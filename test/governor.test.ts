import { describe, expect, it } from 'vitest';
import {
  BudgetExceededError,
  createGovernor,
  Decimal,
  GovernorError,
  InvalidInputError,
  LimitExceededError,
  MemoryStore,
  RateLimitedError,
  type CommitRequest,
  type Governor,
  type GovernorOptions,
  type LedgerEntry,
  type WarningEvent,
} from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

const T0 = Date.parse('2026-11-23T10:00:00Z');

function setup(options: Omit<GovernorOptions, 'clock'> = {}): { gov: Governor; clock: ManualClock } {
  const clock = new ManualClock(T0);
  return { gov: createGovernor({ clock, ...options }), clock };
}

const ok = async (): Promise<string> => 'done';

async function spent(gov: Governor, scope: Parameters<Governor['getStatus']>[0], limit: string): Promise<string> {
  const s = (await gov.getStatus(scope)).find((x) => x.limit === limit);
  if (s === undefined) throw new Error(`no limit ${limit}`);
  return s.used.toFixed();
}

async function calls(gov: Governor): Promise<LedgerEntry[]> {
  return [...(await gov.queryLedger({ kinds: ['call'] })).entries];
}

describe('money budgets', () => {
  it('admits calls while the estimate fits and refuses the one that would pass the cap, charging nothing', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', scope: { project: 'p' }, amount: '1.00' }] });
    const scope = { project: 'p', agent: 'a' };
    for (let i = 0; i < 3; i++) {
      await gov.guard({ scope, estimate: { cost: '0.30' } }, (ctx) => {
        ctx.report({ cost: '0.25' });
        return 'x';
      });
    }
    expect(await spent(gov, scope, 'b')).toBe('0.75');
    const err = await gov.guard({ scope, estimate: { cost: '0.30' } }, ok).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BudgetExceededError);
    expect(err).toMatchObject({
      code: 'budget_exceeded',
      limit: 'b',
      meter: 'cost',
      scope: 'project=p',
      requested: '0.3',
      available: '0.25',
      max: '1',
      currency: 'USD',
      retryAfterMs: undefined,
    });
    expect(await spent(gov, scope, 'b')).toBe('0.75');
    const status = (await gov.getStatus(scope))[0]!;
    expect(status.held.toFixed()).toBe('0');
    expect(status.remaining.toFixed()).toBe('0.25');
    const ledger = await calls(gov);
    expect(ledger.map((e) => [e.status, e.cost])).toEqual([
      ['ok', '0.25'],
      ['ok', '0.25'],
      ['ok', '0.25'],
      ['refused', '0'],
    ]);
    expect(ledger[3]!.code).toBe('budget_exceeded');
  });

  it('1,000 concurrent guarded calls estimating 0.01 against 1.00 admit exactly 100, and spent is what was settled', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', scope: { project: 'p' }, amount: '1.00' }] });
    const scope = Object.freeze({ project: 'p', agent: 'a' });
    let admitted = 0;
    const results = await Promise.allSettled(
      Array.from({ length: 1000 }, (_, i) =>
        gov.guard({ scope, estimate: { cost: '0.01' } }, async (ctx) => {
          admitted++;
          await Promise.resolve();
          ctx.report({ cost: i % 2 === 0 ? '0.007' : '0.0035' });
        }),
      ),
    );
    expect(admitted).toBe(100);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(100);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused).toHaveLength(900);
    expect(refused.every((r) => r.reason instanceof BudgetExceededError)).toBe(true);
    const settled = (await calls(gov)).filter((e) => e.status === 'ok').reduce((s, e) => s.plus(e.cost), new Decimal(0));
    expect(await spent(gov, scope, 'b')).toBe(settled.toFixed());
    // Which 100 were admitted depends only on order: all reserves run before any settle.
    expect(settled.toFixed()).toBe('0.525');
  });

  it('ten thousand charges of 0.000001 sum to exactly 0.01', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', amount: '1' }] });
    for (let i = 0; i < 10_000; i++) await gov.guard({ estimate: { cost: 0.000001 } }, ok);
    expect(await spent(gov, {}, 'b')).toBe('0.01');
  });

  it('counts a charge on every ancestor and reserves all levels or none', async () => {
    const { gov } = setup({
      budgets: [
        { id: 'ws', scope: { workspace: 'w' }, amount: '1.00' },
        { id: 'proj', scope: { workspace: 'w', project: 'p' }, amount: '0.50' },
        { id: 'agent', scope: { agent: 'a1' }, amount: '10' },
      ],
    });
    const a1 = { workspace: 'w', project: 'p', agent: 'a1' };
    await gov.guard({ scope: a1, estimate: { cost: '0.40' } }, ok);
    expect([await spent(gov, a1, 'ws'), await spent(gov, a1, 'proj'), await spent(gov, a1, 'agent')]).toEqual(['0.4', '0.4', '0.4']);
    // The project level refuses: neither the workspace nor the agent budget holds anything.
    const err = (await gov.guard({ scope: a1, estimate: { cost: '0.20' } }, ok).catch((e: unknown) => e)) as BudgetExceededError;
    expect(err.limit).toBe('proj');
    expect(err.scope).toBe('workspace=w/project=p');
    const st = await gov.getStatus(a1);
    expect(st.map((s) => [s.limit, s.used.toFixed(), s.held.toFixed()])).toEqual([
      ['agent', '0.4', '0'],
      ['proj', '0.4', '0'],
      ['ws', '0.4', '0'],
    ]);
    // A call in another project of the same workspace still counts on the workspace only.
    await gov.guard({ scope: { workspace: 'w', project: 'q' }, estimate: { cost: '0.55' } }, ok);
    expect(await spent(gov, a1, 'ws')).toBe('0.95');
    expect(await spent(gov, a1, 'proj')).toBe('0.4');
  });

  it('refuses a zero-estimate call once a hard budget is spent', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', amount: '0.10' }] });
    await gov.guard({ estimate: { cost: '0.10' } }, ok);
    await expect(gov.guard({ kind: 'tool' }, ok)).rejects.toMatchObject({ code: 'budget_exceeded', available: '0', requested: '0' });
  });

  it('a soft budget admits past its amount and warns at each threshold', async () => {
    const { gov } = setup({ budgets: [{ id: 'soft', amount: '1', hardLimit: false, thresholds: [50, 100, 150] }] });
    const warnings: WarningEvent[] = [];
    gov.on('warning', (w) => void warnings.push(w));
    for (let i = 0; i < 4; i++) await gov.guard({ estimate: { cost: '0.40' } }, ok);
    expect(await spent(gov, {}, 'soft')).toBe('1.6');
    expect(warnings.map((w) => [w.threshold, w.used, w.enforcement])).toEqual([
      [50, '0.8', 'soft'],
      [100, '1.2', 'soft'],
      [150, '1.6', 'soft'],
    ]);
  });
});

describe('quotas and rate limits', () => {
  it('a per-agent call quota refuses the call past it with the seed reason, per agent', async () => {
    const { gov } = setup({ limits: [{ id: 'q', scope: { agent: '*' }, meter: 'llmCalls', max: 3 }] });
    for (let i = 0; i < 3; i++) await gov.guard({ scope: { agent: 'a' }, kind: 'llm' }, ok);
    const err = (await gov.guard({ scope: { agent: 'a' }, kind: 'llm' }, ok).catch((e: unknown) => e)) as LimitExceededError;
    expect(err).toBeInstanceOf(LimitExceededError);
    expect(err).toMatchObject({ code: 'max_llm_calls_exceeded', limit: 'q', scope: 'agent=a', requested: '1', available: '0', max: '3' });
    // Another agent has its own count; a tool call does not count on the LLM quota.
    await gov.guard({ scope: { agent: 'b' }, kind: 'llm' }, ok);
    await gov.guard({ scope: { agent: 'a' }, kind: 'tool' }, ok);
    expect(await spent(gov, { agent: 'b' }, 'q')).toBe('1');
  });

  it('500 concurrent calls against maxLlmCalls 10 admit exactly 10', async () => {
    const { gov } = setup({ limits: [{ scope: { agent: '*' }, meter: 'llmCalls', max: 10 }] });
    const r = await Promise.allSettled(Array.from({ length: 500 }, () => gov.guard({ scope: { agent: 'pid-1' }, kind: 'llm' }, ok)));
    expect(r.filter((x) => x.status === 'fulfilled')).toHaveLength(10);
  });

  it('a requests-per-minute limit refuses with retryAfterMs exact to the bucket and admits again after it', async () => {
    const { gov, clock } = setup({ limits: [{ id: 'rpm', meter: 'requests', max: 2, window: '1m' }] });
    await gov.guard({}, ok);
    clock.advance(7_000);
    await gov.guard({}, ok);
    const err = (await gov.guard({}, ok).catch((e: unknown) => e)) as RateLimitedError;
    expect(err).toBeInstanceOf(RateLimitedError);
    // The first hit sits in the bucket [0 s, 6 s) of a 60 s window in 10 buckets: it leaves at 60 s; now is 7 s.
    expect(err).toMatchObject({
      code: 'rate_limited',
      limit: 'rpm',
      meter: 'requests',
      requested: '1',
      available: '0',
      max: '2',
      retryAfterMs: 53_000,
    });
    clock.advance(52_999);
    await expect(gov.guard({}, ok)).rejects.toBeInstanceOf(RateLimitedError);
    clock.advance(1);
    await expect(gov.guard({}, ok)).resolves.toBe('done');
  });

  it('a refused budget does not consume a rate-limit slot (all or none)', async () => {
    const { gov } = setup({
      budgets: [{ id: 'b', amount: '0.05' }],
      limits: [{ id: 'rpm', meter: 'requests', max: 2, window: '1m' }],
    });
    await expect(gov.guard({ estimate: { cost: '0.10' } }, ok)).rejects.toBeInstanceOf(BudgetExceededError);
    await gov.guard({ estimate: { cost: '0.01' } }, ok);
    await gov.guard({ estimate: { cost: '0.01' } }, ok);
    await expect(gov.guard({ estimate: { cost: '0.01' } }, ok)).rejects.toBeInstanceOf(RateLimitedError);
  });

  it('token-per-minute limits count the estimate at admission and correct to the actual tokens at settle', async () => {
    const { gov } = setup({ limits: [{ id: 'tpm', meter: 'inputTokens', max: 1000, window: '1m' }] });
    await gov.guard({ estimate: { inputTokens: 600 } }, (ctx) => ctx.report({ inputTokens: 150 }));
    // 150 counted, so 800 more fit; without the correction 600 + 800 would not.
    await gov.guard({ estimate: { inputTokens: 800 } }, ok);
    const err = (await gov.guard({ estimate: { inputTokens: 100 } }, ok).catch((e: unknown) => e)) as RateLimitedError;
    expect(err).toMatchObject({ code: 'rate_limited', requested: '100', available: '50' });
  });

  it('daily budgets reset at midnight in their time zone; a call admitted before midnight is charged to that day', async () => {
    const clock = new ManualClock('2026-11-23T22:30:00Z'); // 23:30 in Paris (UTC+1)
    const gov = createGovernor({ clock, budgets: [{ id: 'day', amount: '1', period: 'day', timeZone: 'Europe/Paris' }] });
    await gov.guard({ estimate: { cost: '0.9' } }, ok);
    const late = await gov.reserve({ estimate: { cost: '0.1' } });
    const err = (await gov.guard({ estimate: { cost: '0.1' } }, ok).catch((e: unknown) => e)) as BudgetExceededError;
    // Midnight in Paris is 23:00 UTC: 30 minutes away.
    expect(err.retryAfterMs).toBe(30 * 60_000);
    clock.set('2026-11-23T23:00:00Z');
    await late.settle({ cost: '0.1' });
    const [today] = await gov.getStatus({});
    expect(today!.period).toEqual({
      id: '2026-11-24',
      startMs: Date.parse('2026-11-23T23:00:00Z'),
      endMs: Date.parse('2026-11-24T23:00:00Z'),
    });
    expect(today!.used.toFixed()).toBe('0');
    await gov.guard({ estimate: { cost: '1' } }, ok);
    const yesterday = await gov.store.read(['c||cost|day:Europe/Paris@2026-11-23']);
    expect(yesterday).toEqual([{ used: 1_000_000_000_000n, held: 0n }]);
  });
});

describe('usage, pricing and settling', () => {
  const pricing = { models: { m1: { input: '2.50', output: '10.00', cachedInput: '1.25' } } };

  it('prices token estimates for the reservation and actual tokens at settle, exactly', async () => {
    const { gov } = setup({ pricing, budgets: [{ id: 'b', amount: '1' }] });
    const r = await gov.reserve({ model: 'm1', estimate: { inputTokens: 10_000, outputTokens: 2_000 } });
    // 10,000 × 2.50/M + 2,000 × 10.00/M = 0.025 + 0.02
    expect((await gov.getStatus({}))[0]!.held.toFixed()).toBe('0.045');
    const res = await r.settle({ inputTokens: 8_000, cachedInputTokens: 6_000, outputTokens: 1_234 });
    // 2,000 × 2.50/M + 6,000 × 1.25/M + 1,234 × 10.00/M = 0.005 + 0.0075 + 0.01234
    expect(res.cost.toFixed()).toBe('0.02484');
    expect(res.estimated).toBe(false);
    expect(res.usage).toEqual({ requests: '1', inputTokens: '8000', outputTokens: '1234', cachedInputTokens: '6000' });
    expect(await spent(gov, {}, 'b')).toBe('0.02484');
  });

  it('reads usage from the result with usageOf', async () => {
    const { gov } = setup({ pricing, budgets: [{ id: 'b', amount: '1' }] });
    const out = await gov.guard(
      {
        model: 'm1',
        kind: 'llm',
        estimate: { inputTokens: 100, outputTokens: 100 },
        usageOf: (r: { tokens: number }) => ({ inputTokens: r.tokens, outputTokens: 0 }),
      },
      async () => ({ tokens: 400 }),
    );
    expect(out).toEqual({ tokens: 400 });
    expect(await spent(gov, {}, 'b')).toBe('0.001');
  });

  it('charges unreported meters at their estimate and flags the entry as estimated', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', amount: '1' }] });
    const events: unknown[] = [];
    gov.on('usage', (u) => void events.push([u.cost, u.estimated, u.status]));
    await gov.guard({ estimate: { cost: '0.2' } }, ok);
    expect(events).toEqual([['0.2', true, 'ok']]);
    expect((await calls(gov))[0]).toMatchObject({ status: 'ok', cost: '0.2', estimated: true });
  });

  it('on a throw releases the hold, records the failure and rethrows', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', amount: '1' }] });
    const boom = new TypeError('provider down');
    await expect(gov.guard({ scope: { agent: 'a' }, estimate: { cost: '0.5' } }, () => Promise.reject(boom))).rejects.toBe(boom);
    const st = (await gov.getStatus({ agent: 'a' }))[0]!;
    expect([st.used.toFixed(), st.held.toFixed()]).toEqual(['0', '0']);
    expect((await calls(gov))[0]).toMatchObject({ status: 'error', cost: '0', code: 'TypeError', message: 'provider down' });
  });

  it('charges what a failing call reported before it threw', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', amount: '1' }] });
    const err = await gov
      .guard({ estimate: { cost: '0.5' } }, (ctx) => {
        ctx.report({ cost: '0.12' });
        throw new Error('stream cut');
      })
      .catch((e: unknown) => e);
    expect((err as Error).message).toBe('stream cut');
    expect(await spent(gov, {}, 'b')).toBe('0.12');
    expect((await calls(gov))[0]).toMatchObject({ status: 'error', cost: '0.12', message: 'stream cut' });
  });

  it('a reservation settles once; a second settle or release is refused or a no-op', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', amount: '1' }] });
    const r = await gov.reserve({ estimate: { cost: '0.1' } });
    await r.settle();
    await expect(r.settle()).rejects.toMatchObject({ code: 'reservation_closed' });
    expect(() => r.report({ cost: 1 })).toThrow(GovernorError);
    expect(await r.release()).toBe(false);
    expect(await spent(gov, {}, 'b')).toBe('0.1');
  });

  it('release gives the hold back; an unsettled reservation expires after its lease and a late settle still charges', async () => {
    const { gov, clock } = setup({ leaseMs: '30s', budgets: [{ id: 'b', amount: '1' }] });
    const r1 = await gov.reserve({ estimate: { cost: '0.6' } });
    expect(await r1.release()).toBe(true);
    const r2 = await gov.reserve({ estimate: { cost: '0.6' } });
    await expect(gov.reserve({ estimate: { cost: '0.6' } })).rejects.toBeInstanceOf(BudgetExceededError);
    clock.advance(30_000);
    const r3 = await gov.reserve({ estimate: { cost: '0.6' } });
    const late = await r2.settle({ cost: '0.3' });
    expect(late.leaseExpired).toBe(true);
    expect(await spent(gov, {}, 'b')).toBe('0.3');
    await r3.release();
    expect(r1.expiresAt).toBe(T0 + 30_000);
  });

  it('a per-request lease overrides the default', async () => {
    const { gov, clock } = setup({ budgets: [{ id: 'b', amount: '1' }] });
    await gov.reserve({ estimate: { cost: '1' }, leaseMs: 1000 });
    clock.advance(1000);
    await expect(gov.reserve({ estimate: { cost: '1' } })).resolves.toBeDefined();
  });

  it('check() answers as data and holds nothing', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', amount: '1' }], limits: [{ id: 'rpm', meter: 'requests', max: 1, window: '1m' }] });
    expect(await gov.check({ estimate: { cost: '1' } })).toEqual({ allowed: true });
    const no = await gov.check({ estimate: { cost: '1.5' } });
    expect(no).toMatchObject({ allowed: false, code: 'budget_exceeded', retryAfterMs: undefined });
    await gov.guard({}, ok);
    expect(await gov.check({})).toMatchObject({ allowed: false, code: 'rate_limited' });
    expect((await calls(gov)).map((e) => e.status)).toEqual(['ok']);
  });

  it('wrap() governs every call of a function', async () => {
    const { gov } = setup({ limits: [{ id: 'q', meter: 'toolCalls', max: 2 }] });
    const search = gov.wrap(
      async (q: string) => `results for ${q}`,
      (q) => ({ kind: 'tool', name: 'search', metadata: { q } }),
    );
    expect(await search('a')).toBe('results for a');
    expect(await search('b')).toBe('results for b');
    await expect(search('c')).rejects.toMatchObject({ code: 'max_tool_calls_exceeded' });
    expect((await calls(gov)).map((e) => [e.name, e.status, e.data])).toEqual([
      ['search', 'ok', { q: 'a' }],
      ['search', 'ok', { q: 'b' }],
      ['search', 'refused', { q: 'c' }],
    ]);
  });

  it('hands the abort signal to the guarded function', async () => {
    const { gov } = setup();
    const ac = new AbortController();
    const seen = await gov.guard({ signal: ac.signal }, (ctx) => ctx.signal);
    expect(seen).toBe(ac.signal);
  });
});

describe('events', () => {
  it('warns once per threshold per scope and again in the next period', async () => {
    const { gov, clock } = setup({ budgets: [{ id: 'd', scope: { agent: '*' }, amount: '10', period: 'day' }] });
    const seen: [string, number, string | undefined][] = [];
    gov.on('warning', (w) => void seen.push([w.scope.agent as string, w.threshold, w.period]));
    for (let i = 0; i < 5; i++) await gov.guard({ scope: { agent: 'a' }, estimate: { cost: '2.5' } }, ok).catch(() => undefined);
    await gov.guard({ scope: { agent: 'b' }, estimate: { cost: '6' } }, ok);
    clock.advance(86_400_000);
    await gov.guard({ scope: { agent: 'a' }, estimate: { cost: '5' } }, ok);
    expect(seen).toEqual([
      ['a', 50, '2026-11-23'],
      ['a', 80, '2026-11-23'],
      ['a', 90, '2026-11-23'],
      ['a', 100, '2026-11-23'],
      ['b', 50, '2026-11-23'],
      ['a', 50, '2026-11-24'],
    ]);
  });

  it('emits violations for refusals and for settled usage past a hard cap', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', amount: '1' }] });
    const v: unknown[] = [];
    gov.on('violation', (e) => void v.push([e.type, e.code, e.requested, e.available, e.used, e.max]));
    await gov.guard({ estimate: { cost: '0.5' } }, (ctx) => ctx.report({ cost: '1.2' }));
    await gov.guard({ estimate: { cost: '0.5' } }, ok).catch(() => undefined);
    expect(v).toEqual([
      ['exceeded', 'budget_exceeded', '1.2', '0', '1.2', '1'],
      ['refused', 'budget_exceeded', '0.5', '0', '1.2', '1'],
    ]);
  });

  it('audits every budget change as an event and a ledger record', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', scope: { project: 'p' }, amount: '100' }] });
    const changes: unknown[] = [];
    gov.on('budget.changed', (c) => void changes.push([c.limit, c.before, c.after, c.delta, c.reason, c.actor]));
    gov.setBudget({ id: 'b', scope: { project: 'p' }, amount: '150' }, { reason: 'top-up', actor: 'ops' });
    expect(gov.removeLimit('b', { reason: 'project closed' })).toBe(true);
    expect(gov.removeLimit('b')).toBe(false);
    expect(changes).toEqual([
      ['b', '100', '150', '50', 'top-up', 'ops'],
      ['b', '150', null, '-150', 'project closed', undefined],
    ]);
    const audit = (await gov.queryLedger({ kinds: ['budget.changed'] })).entries.map((e) => [
      e.data?.before,
      e.data?.after,
      e.data?.reason,
    ]);
    expect(audit).toEqual([
      [null, '100', 'initial configuration'],
      ['100', '150', 'top-up'],
      ['150', null, 'project closed'],
    ]);
  });

  it('a throwing listener never breaks the call and is reported as listener.error; disposers unsubscribe', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', amount: '1', thresholds: [10] }] });
    const faults: string[] = [];
    gov.on('listener.error', (f) => void faults.push(`${f.event}: ${(f.error as Error).message}`));
    const dispose = gov.on('warning', () => {
      throw new Error('listener bug');
    });
    gov.on('usage', async () => {
      throw new Error('async listener bug');
    });
    await expect(gov.guard({ estimate: { cost: '0.5' } }, ok)).resolves.toBe('done');
    await Promise.resolve();
    expect(faults).toEqual(['warning: listener bug', 'usage: async listener bug']);
    dispose();
    expect(gov.getLimit('b')).toBeDefined();
  });

  it('next() resolves with the next event', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', amount: '1' }] });
    const next = gov.next('usage');
    await gov.guard({ estimate: { cost: '0.25' } }, ok);
    expect((await next).cost).toBe('0.25');
  });
});

describe('bad input is refused with invalid_input naming the field, and changes nothing', () => {
  const cases: [string, unknown, string][] = [
    ['NaN estimate', { estimate: { cost: Number.NaN } }, 'request.estimate.cost'],
    ['Infinity estimate', { estimate: { cost: Number.POSITIVE_INFINITY } }, 'request.estimate.cost'],
    ['negative estimate', { estimate: { cost: '-1' } }, 'request.estimate.cost'],
    ['fractional count', { estimate: { llmCalls: 1.5 } }, 'request.estimate.llmCalls'],
    ['unknown meter', { estimate: { widgets: 1 } }, 'request.estimate.widgets'],
    ['unknown scope level', { scope: { team: 'x' } }, 'request.scope.team'],
    ['wildcard scope', { scope: { agent: '*' } }, 'request.scope.agent'],
    ['empty id', { scope: { agent: '' } }, 'request.scope.agent'],
    ['unknown option', { budget: 1 }, 'request.budget'],
    ['bad kind', { kind: 'gpu' }, 'request.kind'],
    ['bad lease', { leaseMs: -5 }, 'request.leaseMs'],
  ];
  for (const [what, request, field] of cases) {
    it(`guard: ${what}`, async () => {
      const { gov } = setup({ budgets: [{ id: 'b', amount: '1' }] });
      let ran = false;
      const err = (await gov.guard(request as never, () => (ran = true)).catch((e: unknown) => e)) as InvalidInputError;
      expect(err).toBeInstanceOf(InvalidInputError);
      expect(err.code).toBe('invalid_input');
      expect(err.field).toBe(field);
      expect(err.message.startsWith(`invalid_input: ${field} `)).toBe(true);
      expect(ran).toBe(false);
      expect(await calls(gov)).toEqual([]);
      expect(await spent(gov, {}, 'b')).toBe('0');
    });
  }

  it('echoes the value in the message', async () => {
    const { gov } = setup();
    await expect(gov.guard({ estimate: { llmCalls: -5 } }, ok)).rejects.toThrow(
      'invalid_input: request.estimate.llmCalls must be a non-negative whole number (got -5)',
    );
  });

  const optionCases: [string, GovernorOptions, string][] = [
    ['unknown option', { budget: 1 } as never, 'options.budget'],
    ['unknown meter in a limit', { limits: [{ meter: 'widgets', max: 1 }] }, 'options.limits[0].meter'],
    ['negative max', { limits: [{ meter: 'llmCalls', max: -5 }] }, 'options.limits[0].max'],
    ['thresholds out of order', { budgets: [{ amount: 1, thresholds: [80, 50] }] }, 'options.budgets[0].thresholds'],
    ['window and period together', { limits: [{ meter: 'requests', max: 1, window: '1m', period: 'day' }] }, 'options.limits[0].window'],
    ['mixed currencies', { budgets: [{ amount: 1, currency: 'EUR' }] }, 'options.budgets[0].currency'],
    ['budget beyond a 64-bit counter', { budgets: [{ amount: '9223372.036854775808' }] }, 'options.budgets[0].amount'],
    ['unknown time zone', { budgets: [{ amount: 1, period: 'month', timeZone: 'Mars/Olympus' }] }, 'options.budgets[0].timeZone'],
    ['bad duration', { limits: [{ meter: 'requests', max: 1, window: '5 minutes' as never }] }, 'options.limits[0].window'],
    ['unknown level in a budget scope', { budgets: [{ amount: 1, scope: { team: 'x' } as never }] }, 'options.budgets[0].scope.team'],
    ['duplicate ids', { budgets: [{ id: 'x', amount: 1 }], limits: [{ id: 'x', meter: 'llmCalls', max: 1 }] }, 'options.limits'],
  ];
  for (const [what, options, field] of optionCases) {
    it(`createGovernor: ${what}`, () => {
      let err: unknown;
      try {
        createGovernor(options);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).field).toBe(field);
    });
  }

  it('a rejected setBudget leaves the limit as it was', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', amount: '1' }] });
    expect(() => gov.setBudget({ id: 'b', amount: 'lots' })).toThrow(InvalidInputError);
    expect(() => gov.setBudget({ id: 'b', amount: 2, currency: 'EUR' })).toThrow(InvalidInputError);
    expect(gov.getLimit('b')?.max).toBe('1');
  });

  it('a bad usage report throws at report(), and nothing is charged', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', amount: '1' }] });
    const err = await gov.guard({ estimate: { cost: '0.5' } }, (ctx) => ctx.report({ cost: 'NaN' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'invalid_input', field: 'usage.cost' });
    expect(await spent(gov, {}, 'b')).toBe('0');
    expect((await gov.getStatus({}))[0]!.held.toFixed()).toBe('0');
  });

  it('an invalid usage report merges nothing (all or nothing)', async () => {
    const { gov } = setup({ budgets: [{ id: 'b', amount: '1' }] });
    const r = await gov.reserve({ estimate: { cost: '0.5' } });
    expect(() => r.report({ cost: '0.2', outputTokens: -1 })).toThrow(InvalidInputError);
    const res = await r.settle();
    expect(res.cost.toFixed()).toBe('0.5');
  });
});

describe('store faults', () => {
  it('a failing store surfaces as store_unavailable and a store.error event', async () => {
    const store = new MemoryStore();
    const broken = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'reserve') return () => Promise.reject(new Error('connection reset'));
        return Reflect.get(target, prop, receiver) as unknown;
      },
    });
    const gov = createGovernor({ store: broken });
    const faults: string[] = [];
    gov.on('store.error', (e) => void faults.push(`${e.operation}: ${(e.error as Error).message}`));
    await expect(gov.guard({}, ok)).rejects.toMatchObject({ code: 'store_unavailable' });
    expect(faults).toEqual(['reserve: connection reset']);
  });
});

describe("settle: 'background'", () => {
  /** A MemoryStore whose commits wait until the test lets them through (an async store, like Redis). */
  function gatedStore(): { store: MemoryStore; open: () => void; commits: CommitRequest[] } {
    const store = new MemoryStore();
    const commits: CommitRequest[] = [];
    let gate!: () => void;
    const opened = new Promise<void>((resolve) => (gate = resolve));
    const commit = store.commit.bind(store);
    // An async commit where MemoryStore's is synchronous: the governor takes either (Awaitable).
    store.commit = (async (req: CommitRequest) => {
      commits.push(req);
      await opened;
      return commit(req);
    }) as unknown as MemoryStore['commit'];
    return { store, open: gate, commits };
  }

  it('returns the result before the store has the charge; flush() waits for it', async () => {
    const { store, open, commits } = gatedStore();
    const gov = createGovernor({ store, settle: 'background', budgets: [{ id: 'b', amount: '1' }] });
    expect(await gov.guard({ estimate: { cost: '0.2' } }, ok)).toBe('done');
    expect(commits.map((c) => [c.id.length > 0, c.deferrable])).toEqual([[true, true]]);
    expect(await spent(gov, {}, 'b')).toBe('0');
    let flushed = false;
    const f = gov.flush().then(() => (flushed = true));
    await Promise.resolve();
    expect(flushed).toBe(false);
    open();
    await f;
    expect(await spent(gov, {}, 'b')).toBe('0.2');
  });

  it('by default guard() waits for the commit, which is not deferrable', async () => {
    const { store, open, commits } = gatedStore();
    const gov = createGovernor({ store, budgets: [{ id: 'b', amount: '1' }] });
    let done = false;
    const call = gov.guard({ estimate: { cost: '0.2' } }, ok).then(() => (done = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect([done, commits.map((c) => c.deferrable)]).toEqual([false, [undefined]]);
    open();
    await call;
    expect(await spent(gov, {}, 'b')).toBe('0.2');
  });

  it('a commit that fails later is a store.error event; close() waits for it first', async () => {
    const store = new MemoryStore();
    store.commit = (() => Promise.reject(new Error('connection reset'))) as unknown as MemoryStore['commit'];
    const gov = createGovernor({ store, settle: 'background' });
    const faults: string[] = [];
    gov.on('store.error', (e) => void faults.push(`${e.operation}: ${(e.error as Error).message}`));
    expect(await gov.guard({ estimate: { cost: '0.2' } }, ok)).toBe('done');
    await gov.close();
    expect(faults).toEqual(['commit: connection reset']);
  });

  it('refuses a settle mode it does not know, naming options.settle', () => {
    expect(() => createGovernor({ settle: 'later' as never })).toThrow(/options\.settle/);
  });
});

describe('reading', () => {
  it('queryLedger validates its query', async () => {
    const { gov } = setup();
    await expect(gov.queryLedger({ from: Number.NaN })).rejects.toMatchObject({ code: 'invalid_input', field: 'query.from' });
    await expect(gov.queryLedger({ statuses: ['lost' as never] })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'query.statuses[0]',
    });
    await expect(gov.queryLedger({ scope: { team: 'x' } as never })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'query.scope.team',
    });
    await expect(gov.queryLedger({ limit: 0 })).rejects.toMatchObject({ code: 'invalid_input', field: 'query.limit' });
  });

  it('getStatus reports used, held, remaining, percent, thresholds and the period', async () => {
    const { gov } = setup({ budgets: [{ id: 'm', scope: { project: 'p' }, amount: '10', period: 'month' }] });
    await gov.guard({ scope: { project: 'p' }, estimate: { cost: '8.5' } }, ok);
    await gov.reserve({ scope: { project: 'p' }, estimate: { cost: '1' } });
    const [s] = await gov.getStatus({ project: 'p', agent: 'any' });
    expect(s).toMatchObject({
      limit: 'm',
      meter: 'cost',
      scope: { project: 'p' },
      enforcement: 'hard',
      usagePercent: 85,
      thresholdReached: 80,
      isOver: false,
      currency: 'USD',
    });
    expect([s!.max.toFixed(), s!.used.toFixed(), s!.held.toFixed(), s!.remaining.toFixed()]).toEqual(['10', '8.5', '1', '0.5']);
    expect(s!.period).toEqual({ id: '2026-11', startMs: Date.parse('2026-11-01T00:00:00Z'), endMs: Date.parse('2026-12-01T00:00:00Z') });
  });

  it('ManualClock refuses bad times with invalid_input', () => {
    expect(() => new ManualClock('not a date')).toThrow(InvalidInputError);
    expect(() => new ManualClock(0).advance(-1)).toThrow('invalid_input: ms must be a finite number of ms >= 0 (got -1)');
  });
});
