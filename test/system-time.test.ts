// With the system clock, the governor reads performance.now() once at each end of a call and
// derives the wall time from it (SystemTime): the wall time it records must still be
// Date.now()'s, follow a wall clock that was set within a second, and durations stay exact.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createGovernor, MemoryStore } from 'agent-governor';
import { SystemTime } from '../src/core/clock.js';

const T0 = 1_700_000_000_000;

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date', 'performance'], now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('SystemTime', () => {
  it('is Date.now() as the monotonic clock moves, and follows a wall clock that was set within a second', () => {
    const t = new SystemTime();
    expect(t.wallAt(performance.now())).toBe(T0);
    vi.advanceTimersByTime(250);
    expect(t.wallAt(performance.now())).toBe(T0 + 250);
    // The wall clock is set 60 s ahead; the monotonic clock does not move with it.
    vi.setSystemTime(T0 + 60_250);
    expect(Date.now()).toBe(T0 + 60_250);
    vi.advanceTimersByTime(700);
    // 950 ms since the offset was taken: still the old offset.
    expect(t.wallAt(performance.now())).toBe(T0 + 950);
    vi.advanceTimersByTime(50);
    // A second since: the offset is taken again.
    expect(t.wallAt(performance.now())).toBe(Date.now());
    expect(t.wallAt(performance.now())).toBe(T0 + 61_000);
    // And a step back of the wall clock is followed the same way.
    vi.setSystemTime(T0);
    vi.advanceTimersByTime(1000);
    expect(t.wallAt(performance.now())).toBe(T0 + 1000);
  });

  it('rounds a fractional monotonic reading down, as Date.now() truncates', () => {
    const t = new SystemTime();
    const m = performance.now();
    expect(t.wallAt(m)).toBe(T0);
    expect(t.wallAt(m + 0.4)).toBe(T0);
    expect(t.wallAt(m + 0.6)).toBe(T0 + 1);
    expect(t.wallAt(m + 999.9)).toBe(T0 + 1000);
  });
});

describe('a governed call on the system clock', () => {
  it('records the wall time at settle and the exact duration, and charges the period it was admitted in', async () => {
    const gov = createGovernor({
      store: new MemoryStore(),
      budgets: [{ scope: { project: 'p' }, amount: '1', period: 'day' }],
    });
    const seen: { at: number; durationMs: number }[] = [];
    gov.on('usage', (e) => seen.push({ at: e.entry.at, durationMs: e.durationMs }));
    await gov.guard({ scope: { project: 'p' }, estimate: { cost: '0.25' } }, () => {
      vi.advanceTimersByTime(300);
    });
    vi.advanceTimersByTime(5000);
    await gov.guard({ scope: { project: 'p' }, estimate: { cost: '0.25' } }, () => {
      vi.advanceTimersByTime(40);
    });
    expect(seen).toEqual([
      { at: T0 + 300, durationMs: 300 },
      { at: T0 + 5340, durationMs: 40 },
    ]);
    const entries = (await gov.queryLedger({ kinds: ['call'] })).entries;
    expect(entries.map((e) => e.at)).toEqual([T0 + 300, T0 + 5340]);
    expect((await gov.getStatus({ project: 'p' }))[0]!.used.toFixed()).toBe('0.5');
  });
});
