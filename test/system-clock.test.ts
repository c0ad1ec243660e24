// A governor on the system clock must follow the wall clock at once, also when a test moves it
// with fake timers (vi.setSystemTime moves Date, not performance.now()): a daily budget resets
// the moment the day changes.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createGovernor, MemoryStore } from 'agent-governor';

const T0 = Date.UTC(2026, 10, 23, 23, 59, 59, 500);

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date', 'performance'], now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a governor on the system clock', () => {
  it('charges the new day the moment the wall clock is set into it, and times calls on the monotonic clock', async () => {
    const gov = createGovernor({ store: new MemoryStore(), budgets: [{ id: 'd', scope: { project: 'p' }, amount: '1', period: 'day' }] });
    const seen: { at: number; durationMs: number }[] = [];
    gov.on('usage', (e) => seen.push({ at: e.entry.at, durationMs: e.durationMs }));
    await gov.guard({ scope: { project: 'p' }, estimate: { cost: '0.75' } }, () => {
      vi.advanceTimersByTime(200);
    });
    // Half a second later by the wall clock alone: the next day.
    vi.setSystemTime(T0 + 500);
    await gov.guard({ scope: { project: 'p' }, estimate: { cost: '0.75' } }, () => 1);
    expect(seen).toEqual([
      { at: T0 + 200, durationMs: 200 },
      { at: T0 + 500, durationMs: 0 },
    ]);
    const [status] = await gov.getStatus({ project: 'p' });
    expect(status!.used.toFixed()).toBe('0.75');
    expect(status!.period).toMatchObject({ id: '2026-11-24' });
  });
});
