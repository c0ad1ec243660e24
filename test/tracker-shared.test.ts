// Trackers sharing one store: one allocation (start, quota, generation) per pid, and the release race.
import { describe, expect, it } from 'vitest';
import { createGovernor, MemoryStore, ResourceTracker, type Store } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

function pair(store?: (s: MemoryStore) => Store) {
  const clock = new ManualClock();
  const mem = new MemoryStore({ clock });
  const s = store === undefined ? mem : store(mem);
  return { clock, mem, a: new ResourceTracker({ clock, store: s }), b: new ResourceTracker({ clock, store: s }) };
}

/** The same store answering every primitive with a promise, as a network store does. */
function asyncStore(m: MemoryStore): Store {
  return new Proxy(m, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function'
        ? (...args: unknown[]) => Promise.resolve().then(() => (v as (...a: unknown[]) => unknown).apply(target, args))
        : v;
    },
  }) as Store;
}

describe.each([
  ['a synchronous store', undefined],
  ['an asynchronous store', asyncStore],
] as const)('two trackers on %s', (_, wrap) => {
  it('a second tracker joins the allocation: same elapsed time, same quota, one usage', async () => {
    const { clock, a, b } = pair(wrap);
    a.allocate('p', { maxLlmCalls: 4, timeoutSeconds: 60 });
    await a.getUsage('p');
    clock.advance(10_000);
    expect(b.allocate('p', { maxLlmCalls: 99 })).toBe(true);
    await b.recordUsage('p', { llmCalls: 4 });
    expect(b.getQuota('p')).toMatchObject({ maxLlmCalls: 4, timeoutSeconds: 60, softTimeoutSeconds: 48 });
    expect((await b.getUsage('p'))?.elapsedSeconds).toBe(10);
    expect(b.updateElapsedTime('p')).toBe(10);
    clock.advance(50_000);
    expect(await a.checkQuota('p')).toBe('max_llm_calls_exceeded');
    expect(await b.getRemainingBudget('p')).toMatchObject({ llmCalls: 0, timeSeconds: 0 });
    expect((await a.getUsage('p'))?.elapsedSeconds).toBe(60);
    expect((await b.getUsage('p'))?.elapsedSeconds).toBe(60);
  });

  it('recordUsage on a pid another tracker allocated joins it instead of starting a default allocation', async () => {
    const { clock, a, b } = pair(wrap);
    a.allocate('p', { maxToolCalls: 2 });
    await a.getUsage('p');
    clock.advance(3_000);
    const u = await b.recordUsage('p', { toolCalls: 2 });
    expect(u).toMatchObject({ toolCalls: 2, elapsedSeconds: 3 });
    expect(await b.checkQuota('p')).toBe('max_tool_calls_exceeded');
  });

  it('adjustQuota reaches trackers that join afterwards', async () => {
    const { a, b } = pair(wrap);
    a.allocate('p');
    await a.getUsage('p');
    a.adjustQuota('p', { maxLlmCalls: 20, timeoutSeconds: 600 });
    await a.getUsage('p');
    b.allocate('p');
    await b.getUsage('p');
    expect(b.getQuota('p')).toMatchObject({ maxLlmCalls: 20, timeoutSeconds: 600 });
  });

  it('a release ends the generation: the next allocate starts clean, its time from its own start', async () => {
    const { clock, a, b } = pair(wrap);
    a.allocate('p', { maxLlmCalls: 3 });
    await a.recordUsage('p', { llmCalls: 3 });
    clock.advance(5_000);
    expect((await a.release('p'))?.llmCalls).toBe(3);
    clock.advance(1_000);
    b.allocate('p');
    expect(await b.getUsage('p')).toMatchObject({ llmCalls: 0, elapsedSeconds: 0 });
    expect(b.getQuota('p')?.maxLlmCalls).toBe(10);
    expect(await b.checkQuota('p')).toBeNull();
  });
});

describe('the release race in guard()', () => {
  it('a call still running at release charges the released generation, not the re-allocated pid', async () => {
    const clock = new ManualClock();
    const g = createGovernor({ clock });
    g.tracker.allocate('a1', { maxLlmCalls: 1 });
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const late = g.guard({ scope: { agent: 'a1' }, kind: 'llm', estimate: { inputTokens: 10 } }, async () => {
      await gate;
      return 'late';
    });
    await new Promise((r) => setImmediate(r));
    expect(await g.tracker.release('a1')).toMatchObject({ llmCalls: 0 });
    g.tracker.allocate('a1', { maxLlmCalls: 1 });
    finish();
    expect(await late).toBe('late');
    expect(await g.tracker.getUsage('a1')).toMatchObject({ llmCalls: 0, tokensIn: 0, apiCalls: 0 });
    // The re-allocated pid has its whole quota: one call fits, the second does not.
    await g.guard({ scope: { agent: 'a1' }, kind: 'llm' }, async () => 1);
    await expect(g.guard({ scope: { agent: 'a1' }, kind: 'llm' }, async () => 1)).rejects.toMatchObject({ code: 'max_llm_calls_exceeded' });
  });
});

describe('apiCalls in guard()', () => {
  it('an LLM or tool call on a tracked pid is one API call (seed 000); agent hops and iterations are not', async () => {
    const g = createGovernor({ clock: new ManualClock() });
    g.tracker.allocate('a1', { apiCalls: 3 });
    const A1 = { agent: 'a1' };
    await g.guard({ scope: A1, kind: 'llm' }, async () => 1);
    await g.guard({ scope: A1, kind: 'tool' }, async () => 1);
    await g.guard({ scope: A1, kind: 'agentHop' }, async () => 1);
    await g.guard({ scope: A1, kind: 'iteration' }, async () => 1);
    expect(await g.tracker.getUsage('a1')).toMatchObject({ llmCalls: 1, toolCalls: 1, agentHops: 1, iterations: 1, apiCalls: 2 });
    await g.tracker.recordApiCall('a1', { service: 'search' });
    await expect(g.guard({ scope: A1, kind: 'tool' }, async () => 1)).rejects.toMatchObject({
      code: 'limit_exceeded',
      limit: 'tracker.apiCalls',
    });
    expect(await g.tracker.checkQuota('a1')).toBe('limit_exceeded');
  });
});
