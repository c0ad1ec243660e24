// gov.budgets across governors sharing one store: pools, agents and service levels are one
// versioned registry in the Store, so a second governor sees (and enforces) them. And wait
// mode wakes a waiting call as soon as a hold on its budget comes back.
import { describe, expect, it } from 'vitest';
import { createGovernor, MemoryStore, type Governor } from 'agent-governor';
import { RedisStore } from 'agent-governor/redis';
import { ManualClock } from 'agent-governor/testing';
import { connectRedis, dropPrefix, freshPrefix } from './redis-helpers.js';

const T0 = Date.parse('2026-11-23T10:00:00Z');

function pair(): { a: Governor; b: Governor; clock: ManualClock; store: MemoryStore } {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock });
  return { a: createGovernor({ clock, store }), b: createGovernor({ clock, store }), clock, store };
}

const spend = (gov: Governor, agent: string, cost: string): Promise<unknown> =>
  gov.guard({ scope: gov.budgets.scopeOf(agent), estimate: { cost } }, () => 'ok');

describe('pools and agents shared through the store', () => {
  it('close() waits for the registry write on its way; a store that refuses it is reported, and still closed', async () => {
    const clock = new ManualClock(T0);
    let closed = 0;
    class Failing extends MemoryStore {
      override compareAndSet(): never {
        throw new Error('store down');
      }
      override close(): void {
        closed++;
      }
    }
    const gov = createGovernor({ clock, store: new Failing({ clock }) });
    const errors: string[] = [];
    gov.on('store.error', (e) => errors.push(`${e.operation}: ${(e.error as Error).message}`));
    gov.budgets.createPool({ name: 'p', initialBudget: '10', priority: 5 });
    await gov.close();
    expect(closed).toBe(1);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(new Set(errors)).toEqual(new Set(['budgets.registry: store down']));
  });

  it('a second governor sees pools, agents and service levels on first use of an id, and enforces them', async () => {
    const { a, b } = pair();
    a.budgets.createPool({ name: 'research', initialBudget: '10', priority: 7, metadata: { team: 'ml' }, workspace: 'acme' });
    a.budgets.createAgent({ id: 'r1', initialBudget: '4', priority: 8, pool: 'research', onExhausted: 'refuse' });
    a.budgets.setServiceLevels('r1');
    await a.budgets.idle();

    // Lazily loaded: b never created them.
    expect(b.budgets.getAgentPriority('r1')).toBe(8);
    expect(b.budgets.scopeOf('r1')).toEqual({ workspace: 'acme', pool: 'research', agent: 'r1' });
    expect(b.budgets.getPool('research')).toMatchObject({ priority: 7, metadata: { team: 'ml' }, agents: ['r1'] });
    expect(b.budgets.getPool('research')?.budget.toFixed()).toBe('10');
    expect((await b.budgets.getServiceLevel('r1')).name).toBe('full');

    // Spending through either governor counts on the same counters.
    await spend(a, 'r1', '3');
    await expect(spend(b, 'r1', '2')).rejects.toMatchObject({ code: 'budget_exceeded', limit: 'agent:r1', available: '1' });
    expect((await b.budgets.getAgentMetrics('r1')).used.toFixed()).toBe('3');

    // Loading is not a change: only the governor that made it audited it.
    const audit = (await b.queryLedger({ kinds: ['budget.changed'] })).entries.map((e) => (e.data as { limit: string }).limit);
    expect(audit).toEqual(['pool:research', 'agent:r1']);
  });

  it('sync() brings over top-ups, updates and deletions; a governed call reloads every refreshMs', async () => {
    const { a, b, clock } = pair();
    a.budgets.createAgent({ id: 'x', initialBudget: '1', priority: 5 });
    a.budgets.createAgent({ id: 'gone', initialBudget: '1', priority: 5 });
    await b.budgets.sync();
    expect(b.budgets.getAllAgentIds()).toEqual(['x', 'gone']);

    a.budgets.topUp({ agent: 'x' }, '2');
    a.budgets.updateAgent('x', { priority: 9 });
    a.budgets.deleteAgent('gone');
    await a.budgets.idle();
    // b's calls still run on what it loaded until refreshMs (1 s) has passed ...
    await spend(b, 'x', '1');
    await expect(spend(b, 'x', '1')).rejects.toMatchObject({ limit: 'agent:x' });
    // ... then the next call loads the top-up.
    clock.advance(1000);
    await spend(b, 'x', '1');
    expect(b.budgets.getAgentPriority('x')).toBe(9);
    expect(b.budgets.getAgent('gone')).toBeUndefined();
    expect(b.budgets.getBudget('x').toFixed()).toBe('3');
  });

  it('changes to different agents from two governors never overwrite each other', async () => {
    const { a, b } = pair();
    a.budgets.createAgent({ id: 'p', initialBudget: '1', priority: 5 });
    b.budgets.createAgent({ id: 'q', initialBudget: '2', priority: 6 });
    a.budgets.updateBudget('p', '5', 'more');
    b.budgets.updateBudget('q', '7', 'more');
    await Promise.all([a.budgets.idle(), b.budgets.idle()]);
    await Promise.all([a.budgets.sync(), b.budgets.sync()]);
    for (const g of [a, b]) {
      expect(g.budgets.listAgents().map((x) => [x.id, x.budget.toFixed()])).toEqual(
        g === a
          ? [
              ['p', '5'],
              ['q', '7'],
            ]
          : [
              ['q', '7'],
              ['p', '5'],
            ],
      );
    }
  });

  it('a governed call naming an agent this governor does not know loads it first, so it never runs unbudgeted', async () => {
    const { a, b } = pair();
    await b.guard({ scope: { agent: 'nobody-yet' } }, () => 'ok');
    a.budgets.createAgent({ id: 'late', initialBudget: '1', priority: 5 });
    await a.budgets.idle();
    // b loaded the registry a moment ago (refreshMs has not passed), but 'late' is new to it.
    await expect(b.guard({ scope: { agent: 'late' }, estimate: { cost: '2' } }, () => 'ok')).rejects.toMatchObject({
      code: 'budget_exceeded',
      limit: 'agent:late',
    });
  });

  it('persist: false keeps pools and agents to the process', async () => {
    const clock = new ManualClock(T0);
    const store = new MemoryStore({ clock });
    const a = createGovernor({ clock, store, coordinator: { persist: false } });
    const b = createGovernor({ clock, store });
    a.budgets.createAgent({ id: 'solo', initialBudget: '1', priority: 5 });
    await a.budgets.idle();
    await b.budgets.sync();
    expect(b.budgets.getAgent('solo')).toBeUndefined();
  });
});

describe('wait mode wakes on a release', () => {
  it('admits a waiting call right after a hold on its budget is released, without the clock moving', async () => {
    const clock = new ManualClock(T0);
    const gov = createGovernor({ clock });
    gov.budgets.createAgent({ id: 'w', initialBudget: '1', priority: 5, onExhausted: 'wait' });
    const hold = await gov.reserve({ scope: { agent: 'w' }, estimate: { cost: '1' } });
    let admitted = false;
    const waiting = spend(gov, 'w', '0.5').then(() => (admitted = true));
    await new Promise((r) => setImmediate(r));
    expect(admitted).toBe(false);
    await hold.release();
    await new Promise((r) => setImmediate(r));
    expect(admitted).toBe(true);
    expect(clock.now()).toBe(T0);
    await waiting;
    expect((await gov.budgets.getAgentMetrics('w')).used.toFixed()).toBe('0.5');
  });

  it('admits a waiting call right after a settle that spent less than its hold', async () => {
    const clock = new ManualClock(T0);
    const gov = createGovernor({ clock });
    gov.budgets.createAgent({ id: 'w', initialBudget: '1', priority: 5, onExhausted: 'wait' });
    const hold = await gov.reserve({ scope: { agent: 'w' }, estimate: { cost: '1' } });
    let admitted = false;
    const waiting = spend(gov, 'w', '0.5').then(() => (admitted = true));
    await new Promise((r) => setImmediate(r));
    expect(admitted).toBe(false);
    await hold.settle({ cost: '0.25' });
    await new Promise((r) => setImmediate(r));
    expect(admitted).toBe(true);
    expect(clock.now()).toBe(T0);
    await waiting;
    expect((await gov.budgets.getAgentMetrics('w')).used.toFixed()).toBe('0.75');
  });

  it('a top-up made by another governor over the same store admits the waiter at its next poll', async () => {
    const { a, b, clock } = pair();
    a.budgets.createAgent({ id: 'w', initialBudget: '1', priority: 5, onExhausted: 'wait' });
    await spend(a, 'w', '1');
    await b.budgets.sync();
    let admitted = false;
    const waiting = spend(b, 'w', '0.5').then(() => (admitted = true));
    await new Promise((r) => setImmediate(r));
    a.budgets.topUp({ agent: 'w' }, '1');
    await a.budgets.idle();
    await new Promise((r) => setImmediate(r));
    expect(admitted).toBe(false);
    clock.advance(1000);
    await waiting;
    expect((await a.budgets.getAgentMetrics('w')).used.toFixed()).toBe('1.5');
  });
});

describe('the shared registry over Redis (an asynchronous store)', () => {
  it('a second process loads pools and agents with sync(), and its governed calls load later changes', async () => {
    const client = await connectRedis();
    const prefix = freshPrefix('budgets');
    try {
      const clock = new ManualClock(T0);
      const a = createGovernor({ clock, store: new RedisStore({ client, prefix, clock }) });
      const b = createGovernor({ clock, store: new RedisStore({ client, prefix, clock }) });
      a.budgets.createPool({ name: 'shared', initialBudget: '5', priority: 5 });
      a.budgets.createAgent({ id: 'r', initialBudget: '2', priority: 6, pool: 'shared' });
      await a.budgets.idle();
      await b.budgets.sync();
      expect(b.budgets.scopeOf('r')).toEqual({ pool: 'shared', agent: 'r' });
      await spend(b, 'r', '2');
      await expect(spend(a, 'r', '1')).rejects.toMatchObject({ code: 'budget_exceeded', limit: 'agent:r' });
      a.budgets.topUp({ agent: 'r' }, '1');
      await a.budgets.idle();
      clock.advance(1000);
      await spend(b, 'r', '1');
      expect(b.budgets.getBudget('r').toFixed()).toBe('3');
      expect((await a.budgets.getPoolMetrics('shared')).used.toFixed()).toBe('3');
    } finally {
      await dropPrefix(client, prefix);
      client.disconnect();
    }
  });
});
