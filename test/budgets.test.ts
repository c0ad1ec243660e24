// gov.budgets: pools, agents, hierarchy, emergency, allocation policies, alerts, checks, audit,
// reviews, service levels, monitors and wait mode, on a ManualClock.
import { describe, expect, it } from 'vitest';
import {
  AlertSeverity,
  BudgetExceededError,
  createGovernor,
  Decimal,
  ViolationType,
  type BudgetAlert,
  type Governor,
  type GovernorOptions,
  type ViolationEvent,
} from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { invalid } from './helpers.js';

const T0 = Date.parse('2026-11-23T10:00:00Z');

function setup(options: Omit<GovernorOptions, 'clock'> = {}, start: number = T0): { gov: Governor; clock: ManualClock } {
  const clock = new ManualClock(start);
  return { gov: createGovernor({ clock, ...options }), clock };
}

const spend = (gov: Governor, agent: string, cost: string): Promise<unknown> =>
  gov.guard({ scope: gov.budgets.scopeOf(agent), estimate: { cost } }, () => 'ok');

const str = (d: Decimal): string => d.toFixed();

/** A pool of 1000 with a critical (200, p8) and a standard (300, p5) agent, as in seed 001. */
function seedPools(gov: Governor): void {
  gov.budgets.createPool({ name: 'critical_services', initialBudget: new Decimal('1000.0'), priority: 9 });
  gov.budgets.createPool({ name: 'standard_services', initialBudget: '2000.0', priority: 5 });
  gov.budgets.createPool({ name: 'background_tasks', initialBudget: 500, priority: 2, metadata: { team: 'ops' } });
  gov.budgets.createAgent({ id: 'critical_agent', initialBudget: '200.0', priority: 8, pool: 'critical_services' });
  gov.budgets.createAgent({ id: 'standard_agent', initialBudget: '300.0', priority: 5, pool: 'critical_services' });
}

describe('pools and agents (seed 001)', () => {
  it('creates, reads, lists, updates and deletes pools; agents draw from them', () => {
    const { gov } = setup();
    seedPools(gov);
    const b = gov.budgets;
    expect(b.listPools().map((p) => [p.id, p.priority, str(p.budget)])).toEqual([
      ['critical_services', 9, '1000'],
      ['standard_services', 5, '2000'],
      ['background_tasks', 2, '500'],
    ]);
    expect(b.getPool('background_tasks')).toMatchObject({
      name: 'background_tasks',
      currency: 'USD',
      metadata: { team: 'ops' },
      hardLimit: true,
      agents: [],
    });
    expect(b.getPool('critical_services')?.agents).toEqual(['critical_agent', 'standard_agent']);
    expect([str(b.getBudget('critical_agent')), str(b.getBudget('standard_agent'))]).toEqual(['200', '300']);
    expect(b.getAgentPriority('critical_agent')).toBe(8);
    expect(b.scopeOf('critical_agent')).toEqual({ pool: 'critical_services', agent: 'critical_agent' });
    // The engine sees them as budgets.
    expect(gov.getLimit('pool:critical_services')?.max).toBe('1000');
    expect(gov.getLimit('agent:standard_agent')?.scope).toEqual({ agent: 'standard_agent' });

    b.updatePool('background_tasks', { priority: 10, initialBudget: '750' }, { reason: 'quarter plan' });
    expect(b.listPools()[0]).toMatchObject({ id: 'background_tasks', priority: 10 });
    expect(str(b.getPool('background_tasks')!.budget)).toBe('750');
    expect(str(b.getPool('background_tasks')!.initialBudget)).toBe('500');
    expect(b.deletePool('background_tasks')).toBe(true);
    expect(b.deletePool('background_tasks')).toBe(false);
    expect(gov.getLimit('pool:background_tasks')).toBeUndefined();
    expect(invalid(() => b.deletePool('critical_services')).field).toBe('id');

    b.updateBudget('standard_agent', '250', 'less background work');
    expect(str(b.getBudget('standard_agent'))).toBe('250');
    expect(b.deleteAgent('standard_agent')).toBe(true);
    expect(b.getAllAgentIds()).toEqual(['critical_agent']);
  });

  it.each([
    ['priority 0', (g: Governor) => g.budgets.createPool({ name: 'p', initialBudget: 1, priority: 0 }), 'pool.priority'],
    ['priority 11', (g: Governor) => g.budgets.createPool({ name: 'p', initialBudget: 1, priority: 11 }), 'pool.priority'],
    ['a negative amount', (g: Governor) => g.budgets.createPool({ name: 'p', initialBudget: '-5', priority: 1 }), 'pool.initialBudget'],
    ['a NaN amount', (g: Governor) => g.budgets.createAgent({ id: 'x', initialBudget: Number.NaN, priority: 1 }), 'agent.initialBudget'],
    ['an unknown pool', (g: Governor) => g.budgets.createAgent({ id: 'x', initialBudget: 1, priority: 1, pool: 'nope' }), 'agent.pool'],
    [
      'a mixed currency',
      (g: Governor) => g.budgets.createPool({ name: 'p', initialBudget: 1, priority: 1, currency: 'EUR' }),
      'pool.currency',
    ],
    [
      'thresholds out of order',
      (g: Governor) => g.budgets.createPool({ name: 'p', initialBudget: 1, priority: 1, thresholds: [80, 50] }),
      'pool.thresholds',
    ],
    ['a duplicate agent', (g: Governor) => g.budgets.createAgent({ id: 'critical_agent', initialBudget: 1, priority: 1 }), 'agent.id'],
    ['an unknown agent', (g: Governor) => g.budgets.updateBudget('ghost', 1), 'agentId'],
    ['an update to a negative amount', (g: Governor) => g.budgets.updateBudget('critical_agent', '-1'), 'amount'],
    [
      'a time zone on a lifetime budget',
      (g: Governor) => g.budgets.createAgent({ id: 'y', initialBudget: 1, priority: 1, timeZone: 'UTC' }),
      'agent.timeZone',
    ],
    [
      'an unknown option',
      (g: Governor) => g.budgets.createPool({ name: 'p', initialBudget: 1, priority: 1, colour: 'red' } as never),
      'pool.colour',
    ],
  ])('refuses %s with invalid_input naming the field, and changes nothing', async (_what, act, field) => {
    const { gov } = setup();
    seedPools(gov);
    const before = [gov.listLimits(), gov.budgets.listPools(), gov.budgets.listAgents()];
    const audits = (await gov.queryLedger({ kinds: ['budget.changed'] })).entries.length;
    const e = invalid(() => act(gov));
    expect([e.code, e.field]).toEqual(['invalid_input', field]);
    expect([gov.listLimits(), gov.budgets.listPools(), gov.budgets.listAgents()]).toEqual(before);
    expect((await gov.queryLedger({ kinds: ['budget.changed'] })).entries.length).toBe(audits);
  });

  it('metrics: initial, used, remaining, usage percent and rate of consumption', async () => {
    const { gov, clock } = setup();
    seedPools(gov);
    await spend(gov, 'critical_agent', '20');
    clock.advance(2 * 3_600_000);
    await spend(gov, 'critical_agent', '30');
    const m = await gov.budgets.getAgentMetrics('critical_agent');
    expect([str(m.initial), str(m.used), str(m.remaining), m.usagePercent, str(m.consumptionPerHour)]).toEqual([
      '200',
      '50',
      '150',
      25,
      '25',
    ]);
    const p = await gov.budgets.getPoolMetrics('critical_services');
    // The pool counts every agent's spending; 150 + 300 is promised to its agents.
    expect([str(p.used), str(p.remaining), str(p.allocated), str(p.unallocated), p.agents]).toEqual(['50', '950', '450', '500', 2]);
  });
});

describe('the hierarchy: workspace > project > pool > agent', () => {
  it('holds a charge on every level at once and refuses at the tightest, naming it', async () => {
    const { gov } = setup();
    const b = gov.budgets;
    b.setBudget({ id: 'ws', scope: { workspace: 'acme' }, amount: '100' });
    b.setBudget({
      id: 'proj',
      scope: { workspace: 'acme', project: 'search' },
      amount: '10',
      alternatives: [{ model: 'gpt-4o-mini', description: 'cheaper model' }],
    });
    b.createPool({ name: 'crawl', workspace: 'acme', project: 'search', initialBudget: '8', priority: 5 });
    b.createAgent({ id: 'a1', initialBudget: '5', priority: 5, pool: 'crawl' });
    b.createAgent({ id: 'a2', initialBudget: '5', priority: 5, pool: 'crawl' });
    expect(b.scopeOf('a1')).toEqual({ workspace: 'acme', project: 'search', pool: 'crawl', agent: 'a1' });
    await spend(gov, 'a1', '4');
    await expect(spend(gov, 'a1', '2')).rejects.toMatchObject({ code: 'budget_exceeded', limit: 'agent:a1', available: '1' });
    await spend(gov, 'a2', '4');
    // a2 has 1 left, but the pool only 0: the pool refuses.
    await expect(spend(gov, 'a2', '0.5')).rejects.toMatchObject({ limit: 'pool:crawl', available: '0' });
    b.topUp({ pool: 'crawl' }, '10');
    await spend(gov, 'a2', '1');
    b.updateBudget('a1', '20');
    // 9 spent in the project: the project refuses with its alternatives.
    const err = (await spend(gov, 'a1', '2').catch((e: unknown) => e)) as BudgetExceededError;
    expect(err).toBeInstanceOf(BudgetExceededError);
    expect([err.limit, err.available, err.alternatives]).toEqual(['proj', '1', [{ model: 'gpt-4o-mini', description: 'cheaper model' }]]);
    const status = await gov.getStatus(b.scopeOf('a1'));
    expect(status.map((s) => [s.limit, str(s.used), str(s.held)])).toEqual([
      ['agent:a1', '4', '0'],
      ['pool:crawl', '9', '0'],
      ['proj', '9', '0'],
      ['ws', '9', '0'],
    ]);
  });

  it('a monthly pool in a non-UTC zone resets exactly at local month end, and its thresholds fire again in the new month', async () => {
    // 2026-01-31 23:30 in New York is 2026-02-01 04:30 UTC.
    const { gov, clock } = setup({}, Date.parse('2026-02-01T04:30:00Z'));
    const alerts: [string, number, string | undefined][] = [];
    gov.budgets.addAlertChannel((a) => void alerts.push([a.budget, a.threshold, a.period]));
    gov.budgets.createPool({ name: 'ny', initialBudget: '100', priority: 5, period: 'month', timeZone: 'America/New_York' });
    gov.budgets.createAgent({ id: 'a', initialBudget: '1000', priority: 5, pool: 'ny' });
    await spend(gov, 'a', '60');
    await spend(gov, 'a', '25');
    await expect(spend(gov, 'a', '20')).rejects.toMatchObject({ limit: 'pool:ny', retryAfterMs: 30 * 60_000 });
    clock.set('2026-02-01T04:59:59.999Z');
    await expect(spend(gov, 'a', '20')).rejects.toMatchObject({ limit: 'pool:ny', retryAfterMs: 1 });
    clock.advance(1);
    await spend(gov, 'a', '55');
    await gov.budgets.idle();
    expect(alerts).toEqual([
      ['pool:ny', 50, '2026-01'],
      ['pool:ny', 80, '2026-01'],
      ['pool:ny', 50, '2026-02'],
    ]);
    const m = await gov.budgets.getPoolMetrics('ny');
    expect([str(m.used), m.period]).toEqual(['55', '2026-02']);
  });
});

describe('execution budgets, the fifth level', () => {
  it('caps each run of an agent on its own, and a charge counts on workspace, project, pool, agent and run', async () => {
    const { gov } = setup();
    const b = gov.budgets;
    b.setBudget({ id: 'ws', scope: { workspace: 'acme' }, amount: '100' });
    b.setBudget({ id: 'proj', scope: { workspace: 'acme', project: 'search' }, amount: '50' });
    b.createPool({ name: 'crawl', workspace: 'acme', project: 'search', initialBudget: '20', priority: 5 });
    b.createAgent({ id: 'f', initialBudget: '10', priority: 5, pool: 'crawl' });
    b.setBudget({ id: 'per-run', scope: { agent: 'f', execution: '*' }, amount: '3' });
    const run = (execution: string, cost: string): Promise<unknown> =>
      gov.guard({ scope: { ...b.scopeOf('f'), execution }, estimate: { cost } }, () => 'ok');
    await run('r1', '2');
    await expect(run('r1', '2')).rejects.toMatchObject({ code: 'budget_exceeded', limit: 'per-run', available: '1' });
    await run('r2', '3');
    const used = Object.fromEntries((await gov.getStatus({ ...b.scopeOf('f'), execution: 'r1' })).map((s) => [s.limit, s.used.toFixed()]));
    expect(used).toEqual({ ws: '5', proj: '5', 'pool:crawl': '5', 'agent:f': '5', 'per-run': '2' });
  });
});

describe('emergency allocation (seed 001)', () => {
  async function team(): Promise<Governor> {
    const { gov } = setup();
    gov.budgets.createPool({ name: 'p', initialBudget: '100', priority: 5 });
    gov.budgets.createAgent({ id: 'vip', initialBudget: '40', priority: 7, pool: 'p' });
    gov.budgets.createAgent({ id: 'std', initialBudget: '40', priority: 5, pool: 'p' });
    return gov;
  }

  it('approves priority >= 7 in full, a "critical" reason at half, denies the rest; grants come out of the pool', async () => {
    const gov = await team();
    const b = gov.budgets;
    const full = await b.requestEmergencyAllocation('vip', '10', 'traffic spike', { actor: 'oncall' });
    expect([full.decision, str(full.approved), str(full.granted)]).toEqual(['full', '10', '10']);
    const half = await b.requestEmergencyAllocation('std', '5', 'CRITICAL: customer outage');
    expect([half.decision, str(half.approved), str(half.granted)]).toEqual(['half', '2.5', '2.5']);
    const no = await b.requestEmergencyAllocation('std', '5', 'would be nice');
    expect([no.decision, str(no.granted)]).toEqual(['denied', '0']);
    expect([str(b.getBudget('vip')), str(b.getBudget('std'))]).toEqual(['50', '42.5']);
    // The pool had 100 - 80 = 20 unallocated; 12.5 went out, 7.5 is left: a bigger grant is cut to it.
    const cut = await b.requestEmergencyAllocation('vip', '30', 'spike');
    expect([str(cut.approved), str(cut.granted), cut.note]).toEqual(['30', '7.5', 'cut to the 7.5 pool p had unallocated']);
    expect(str(b.getPool('p')!.budget)).toBe('100');
    const audit = (await b.getAuditLog({ agent: 'vip' })).records.filter((r) => r.action === 'emergency');
    expect(audit.map((r) => [str(r.before!), str(r.after!), str(r.delta), r.reason, r.actor])).toEqual([
      ['40', '50', '10', 'traffic spike', 'oncall'],
      ['50', '57.5', '7.5', 'spike', undefined],
    ]);
  });

  it('creates money only when configured to: the pool then grows by the shortfall', async () => {
    const gov = await team();
    const r = await gov.budgets.requestEmergencyAllocation('vip', '30', 'spike', { createMoney: true });
    expect([str(r.granted), str(gov.budgets.getPool('p')!.budget), str(gov.budgets.getBudget('vip'))]).toEqual(['30', '110', '70']);
    gov.budgets.createAgent({ id: 'solo', initialBudget: '1', priority: 9 });
    const solo = await gov.budgets.requestEmergencyAllocation('solo', '3', 'spike');
    expect([str(solo.granted), solo.note]).toEqual(['0', 'the agent has no pool to draw from and money creation is off']);
    await expect(gov.budgets.requestEmergencyAllocation('solo', '0', 'x')).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'amount',
    });
    await expect(gov.budgets.requestEmergencyAllocation('solo', '1', ' ')).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'reason',
    });
  });
});

describe('pool policies', () => {
  it('priority shares the pool remaining as the agents’ remaining budgets; rebalance weighs priority 70 % and usage 30 %', async () => {
    const { gov } = setup();
    const b = gov.budgets;
    b.createPool({ name: 'p', initialBudget: '200', priority: 5, policy: 'priority' });
    b.createAgent({ id: 'hi', initialBudget: '10', priority: 8, pool: 'p' });
    b.createAgent({ id: 'lo', initialBudget: '10', priority: 2, pool: 'p' });
    await spend(gov, 'hi', '4');
    await spend(gov, 'hi', '6');
    // 190 left: hi gets 50 first, then 140 shared 8:2 → hi 50 + 112, lo 28.
    const r = await b.allocate('p', { reason: 'weekly', actor: 'planner' });
    expect(Object.fromEntries(Object.entries(r.allocations).map(([k, v]) => [k, str(v)]))).toEqual({ hi: '162', lo: '28' });
    expect([str(b.getBudget('hi')), str(b.getBudget('lo'))]).toEqual(['172', '28']);
    // Rebalance: 190 left; hi's average usage today 5 → 0.7 × 8 + 1.5 = 7.1; lo none → 0.7 × 2 + 0.3 = 1.7.
    const rb = await b.rebalance('p');
    expect([str(rb.allocations.hi!), str(rb.allocations.lo!), str(rb.distributed)]).toEqual(['153.295454545455', '36.704545454545', '190']);
    expect([str(b.getBudget('hi')), str(b.getBudget('lo'))]).toEqual(['163.295454545455', '36.704545454545']);
    const audit = (await b.getAuditLog({ agent: 'hi' })).records.map((r) => [r.action, r.reason, r.actor]);
    expect(audit).toEqual([
      ['set', 'agent created', undefined],
      ['allocate', 'weekly', 'planner'],
      ['rebalance', 'rebalance allocation', undefined],
    ]);
  });

  it('fixed puts agents back to their initial budgets; dynamic uses 7 days of spending × 1.2, never below it', async () => {
    const { gov, clock } = setup();
    const b = gov.budgets;
    b.createPool({ name: 'p', initialBudget: '1000', priority: 5, policy: 'dynamic' });
    b.createAgent({ id: 'busy', initialBudget: '10', priority: 5, pool: 'p' });
    b.createAgent({ id: 'idle', initialBudget: '10', priority: 5, pool: 'p' });
    b.updateBudget('busy', '500');
    for (let d = 0; d < 7; d++) {
      await spend(gov, 'busy', '35');
      clock.advance(86_400_000);
    }
    const r = await b.allocate('p');
    // 7 × 35 over 7 days = 35 a day × 1.2 = 42; idle stays at its 10.
    expect([str(r.allocations.busy!), str(r.allocations.idle!)]).toEqual(['42', '10']);
    expect(str(b.getBudget('busy'))).toBe('42');
    await b.allocate('p', { strategy: 'fixed' });
    expect(str(b.getBudget('busy'))).toBe('10');
    b.resetBudget('idle', { reason: 'new quarter' });
    b.topUp({ agent: 'idle' }, '5', { reason: 'extra' });
    const actions = (await b.getAuditLog({ agent: 'idle' })).records.map((r) => r.action);
    expect(actions).toEqual(['set', 'allocate', 'allocate', 'reset', 'top-up']);
  });

  it('applyGreediness sets daily project budgets from the seed 000 split', () => {
    const { gov } = setup();
    const split = gov.budgets.applyGreediness(
      [
        { id: 'autovibe-core', greediness: 0.42 },
        { id: 'crypto-profit', greediness: 0.1 },
        { id: 'others', greediness: 0.48 },
      ],
      { money: { amount: 42, days: 14 } },
    );
    expect(str(split.shares['autovibe-core']!.money)).toBe('1.26');
    expect(gov.getLimit('project:autovibe-core')).toMatchObject({ max: '1.26', period: 'day', scope: { project: 'autovibe-core' } });
    expect(gov.getLimit('project:crypto-profit')?.max).toBe('0.3');
  });
});

describe('checks and alerts (seed 004)', () => {
  it('getBudgetStatus and canExecute with the seed’s figures; soft budgets admit and warn, hard ones refuse', async () => {
    const { gov } = setup();
    const b = gov.budgets;
    b.setBudget({ id: 'ws', scope: { workspace: 'ws_123' }, amount: '5000', period: 'month', hardLimit: false });
    await gov.guard({ scope: { workspace: 'ws_123' }, estimate: { cost: '3500' } }, () => 'ok');
    await b.idle();
    expect(await b.getBudgetStatus({ workspace: 'ws_123' })).toEqual({
      hasBudget: true,
      id: 'ws',
      budget: new Decimal(5000),
      spent: new Decimal(3500),
      remaining: new Decimal(1500),
      usagePercent: 70,
      alertNeeded: false,
      isOverBudget: false,
      hardLimit: false,
    });
    expect(await b.canExecute({ workspace: 'ws_123' }, 10)).toMatchObject({ canExecute: true, reason: 'within budget', warnings: [] });
    const soft = await b.canExecute({ workspace: 'ws_123' }, '2000');
    expect([soft.canExecute, soft.warnings.length, soft.reason.startsWith('admitted over a soft budget')]).toEqual([true, 1, true]);
    b.setBudget({ id: 'proj', scope: { workspace: 'ws_123', project: 'p' }, amount: '5', alternatives: [{ model: 'claude-3-haiku' }] });
    expect(await b.canExecute({ workspace: 'ws_123', project: 'p' }, '6')).toEqual({
      canExecute: false,
      reason: 'budget proj on workspace=ws_123/project=p has 5 of 5 USD left; the call needs 6',
      budget: 'proj',
      alternatives: [{ model: 'claude-3-haiku' }],
      warnings: [],
    });
    expect((await b.getBudgetStatus({ workspace: 'nobody' })).hasBudget).toBe(false);
    await expect(b.canExecute({ workspace: 'ws_123' }, -1)).rejects.toMatchObject({ code: 'invalid_input', field: 'estimatedCost' });
    await expect(b.getBudgetStatus({ team: 'x' } as never)).rejects.toMatchObject({ code: 'invalid_input', field: 'scope.team' });
  });

  it('alerts each threshold once per period per budget, whether crossed by a call or found by checkAndAlert', async () => {
    const { gov } = setup();
    const b = gov.budgets;
    const seen: BudgetAlert[] = [];
    b.addAlertChannel((a) => void seen.push(a));
    b.createAgent({ id: 'a', initialBudget: '100', priority: 5, thresholds: [50, 75, 100] });
    await spend(gov, 'a', '60');
    await spend(gov, 'a', '5');
    await b.idle();
    expect(seen.map((a) => [a.budget, a.threshold, a.spent, a.remaining, a.usagePercent])).toEqual([['agent:a', 50, '60', '40', 60]]);
    // Lowering the budget reaches 75 and 100 with no call crossing them: the status says so, checkAndAlert sends them once.
    b.updateBudget('a', '65');
    expect((await b.getBudgetStatus({ agent: 'a' })).alertNeeded).toBe(true);
    const sent = await b.checkAndAlert({ agent: 'a' });
    expect(sent.map((a) => a.threshold)).toEqual([75, 100]);
    expect(await b.checkAndAlert({ agent: 'a' })).toEqual([]);
    expect((await b.getBudgetStatus({ agent: 'a' })).alertNeeded).toBe(false);
    expect(seen.map((a) => a.threshold)).toEqual([50, 75, 100]);
  });

  it('close() waits for the alerts a settle started, their record in the store and their channels', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const delivered: number[] = [];
    const { gov } = setup({
      alertChannels: [
        async (a) => {
          await gate;
          delivered.push(a.threshold);
        },
      ],
    });
    gov.budgets.createAgent({ id: 'a', initialBudget: '10', priority: 5 });
    await spend(gov, 'a', '6'); // past 50 %: the alert is recorded and delivered in the background
    let closed = false;
    const closing = gov.close().then(() => {
      closed = true;
    });
    // Many turns of the event loop: a close that does not wait for the channel is done by then.
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    open();
    await closing;
    // Delivered (after its record was written) before close() resolved.
    expect(delivered).toEqual([50]);
  });

  it('a failing channel is reported as listener.error and does not stop the others', async () => {
    const { gov } = setup({
      alertChannels: [
        () => {
          throw new Error('smtp down');
        },
      ],
    });
    const errors: string[] = [];
    gov.on('listener.error', (e) => void errors.push(`${e.event}: ${(e.error as Error).message}`));
    const got: number[] = [];
    gov.budgets.addAlertChannel((a) => void got.push(a.threshold));
    gov.budgets.createAgent({ id: 'a', initialBudget: '10', priority: 5 });
    await spend(gov, 'a', '5');
    await gov.budgets.idle();
    expect([errors, got]).toEqual([['budget.alert: smtp down'], [50]]);
  });
});

describe('monitors and violations (seed 001)', () => {
  it('spending limits report BUDGET_LIMIT_EXCEEDED and low budgets LOW_BUDGET at 15 %, through the violation event', async () => {
    const { gov } = setup();
    const b = gov.budgets;
    b.createAgent({ id: 'a', initialBudget: '100', priority: 5 });
    const v: ViolationEvent[] = [];
    gov.on('violation', (e) => void v.push(e));
    b.setSpendingLimit('a', '50');
    b.setupLowBudgetAlerts();
    const custom: string[] = [];
    const dispose = b.registerBudgetMonitor('a', (id, spent) => void custom.push(`${id}:${spent.toFixed()}`));
    await spend(gov, 'a', '40');
    await b.idle();
    await spend(gov, 'a', '20');
    await b.idle();
    await spend(gov, 'a', '26');
    await b.idle();
    dispose();
    await spend(gov, 'a', '1');
    await b.idle();
    expect(custom).toEqual(['a:40', 'a:60', 'a:86']);
    expect(v.map((e) => [e.type, e.code, e.violationType, e.severity, e.used, e.available, e.details])).toEqual([
      [
        'reported',
        'budget_limit_exceeded',
        ViolationType.BUDGET_LIMIT_EXCEEDED,
        AlertSeverity.MEDIUM,
        '60',
        '40',
        { limit: '50', spent: '60', overage: '10' },
      ],
      [
        'reported',
        'low_budget',
        ViolationType.LOW_BUDGET,
        AlertSeverity.MEDIUM,
        '86',
        '14',
        { current_budget: '14', initial_budget: '100', percentage_remaining: 14 },
      ],
    ]);
  });
});

describe('audit log, reviews and service levels', () => {
  it('scheduled reviews run the seed’s three checks on the clock until stopped', async () => {
    const { gov, clock } = setup();
    const b = gov.budgets;
    b.createPool({ name: 'p', initialBudget: '100', priority: 5 });
    b.createAgent({ id: 'lazy', initialBudget: '10', priority: 5, pool: 'p' });
    b.createAgent({ id: 'hungry', initialBudget: '85', priority: 5, pool: 'p' });
    b.createAgent({ id: 'fine', initialBudget: '5', priority: 5 });
    await spend(gov, 'hungry', '81');
    await spend(gov, 'fine', '2');
    const runs: string[][] = [];
    gov.on('budget.review', (r) => void runs.push(r.findings.map((f) => `${f.kind}:${f.id}`)));
    const review = b.scheduleReview({ every: '24h' });
    clock.advance(23 * 3_600_000);
    await new Promise((r) => setImmediate(r));
    expect(runs).toEqual([]);
    clock.advance(3_600_000);
    await new Promise((r) => setImmediate(r));
    expect(runs).toEqual([['underused:lazy', 'nearlyDepleted:hungry', 'poolLow:p']]);
    review.stop();
    clock.advance(48 * 3_600_000);
    await new Promise((r) => setImmediate(r));
    expect(runs.length).toBe(1);
    expect((await b.review())[1]?.message).toBe('Agent hungry budget nearly depleted - consider increasing');
  });

  it('hands the agent’s service level to the guarded function and degrades as the budget runs down', async () => {
    const { gov } = setup();
    const b = gov.budgets;
    b.createAgent({ id: 'a', initialBudget: '100', priority: 5 });
    b.setServiceLevels('a');
    const levels: string[] = [];
    const run = (cost: string): Promise<unknown> =>
      gov.guard(
        { scope: { agent: 'a' }, estimate: { cost } },
        (ctx) => void levels.push(`${ctx.serviceLevel?.name}:${ctx.serviceLevel?.features[0]}`),
      );
    await run('55');
    await run('30');
    await run('11');
    await run('1');
    expect(levels).toEqual(['full:high_quality', 'standard:medium_quality', 'minimal:low_quality', 'emergency:text_only']);
    expect(await b.getServiceLevel('a')).toEqual({
      name: 'emergency',
      features: ['text_only', 'critical_only'],
      minPercentage: 0,
      remainingPercent: 3,
    });
    // Agents without service levels get none.
    b.createAgent({ id: 'plain', initialBudget: '1', priority: 5 });
    expect(await gov.guard({ scope: { agent: 'plain' } }, (ctx) => ctx.serviceLevel)).toBeUndefined();
  });
});

describe('coordinator arguments', () => {
  it('refuse unknown option keys and ambiguous targets with invalid_input, changing nothing', async () => {
    const { gov } = setup();
    const b = gov.budgets;
    b.createPool({ name: 'p', initialBudget: '100', priority: 5 });
    b.createAgent({ id: 'a', initialBudget: '10', priority: 5, pool: 'p' });
    expect(invalid(() => b.topUp({ agent: 'a', pool: 'p' } as unknown as { agent: string }, '1')).field).toBe('target');
    expect(invalid(() => b.topUp({ agent: 'a', note: 'x' } as unknown as { agent: string }, '1')).field).toBe('target.note');
    expect(invalid(() => b.scheduleReview({ every: '1h', evry: '2h' } as unknown as { every: string })).field).toBe('options.evry');
    await expect(b.getAuditLog({ agnt: 'a' } as unknown as {})).rejects.toMatchObject({ code: 'invalid_input', field: 'query.agnt' });
    await expect(b.getAuditLog({ agent: 'a', pool: 'p' })).rejects.toMatchObject({ code: 'invalid_input', field: 'query.pool' });
    await expect(b.allocate('p', { stratgy: 'fixed' } as unknown as {})).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'options.stratgy',
    });
    expect(str(b.getBudget('a'))).toBe('10');
    expect(str((await b.getPoolMetrics('p')).initial)).toBe('100');
  });
});

describe('wait mode: onExhausted "wait"', () => {
  it('pauses a refused call until a top-up, then admits it', async () => {
    const { gov } = setup();
    gov.budgets.createAgent({ id: 'a', initialBudget: '1', priority: 5, onExhausted: 'wait' });
    await spend(gov, 'a', '1');
    let done = false;
    const waiting = spend(gov, 'a', '0.5').then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    gov.budgets.topUp({ agent: 'a' }, '1', { reason: 'unblock' });
    await waiting;
    expect(str((await gov.budgets.getAgentMetrics('a')).used)).toBe('1.5');
  });

  it('pauses until the period resets, gives up at maxWaitMs with the refusal, and aborts with the signal', async () => {
    const { gov, clock } = setup({}, Date.parse('2026-11-23T23:59:00Z'));
    gov.budgets.createAgent({ id: 'a', initialBudget: '1', priority: 5, period: 'day', onExhausted: 'wait', maxWaitMs: '5m' });
    await spend(gov, 'a', '1');
    const next = spend(gov, 'a', '1');
    await new Promise((r) => setImmediate(r));
    clock.advance(60_000);
    await next;
    expect((await gov.budgets.getAgentMetrics('a')).period).toBe('2026-11-24');

    const late = gov.guard({ scope: { agent: 'a' }, estimate: { cost: '1' }, maxWaitMs: 2000 }, () => 'ok').catch((e: unknown) => e);
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(1000);
    }
    expect(await late).toMatchObject({ code: 'budget_exceeded', limit: 'agent:a' });

    const ac = new AbortController();
    const aborted = gov.guard({ scope: { agent: 'a' }, estimate: { cost: '1' }, signal: ac.signal }, () => 'ok').catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    ac.abort(new Error('user cancelled'));
    expect(((await aborted) as Error).message).toBe('user cancelled');
  });
});
