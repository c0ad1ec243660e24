import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidInputError, MemoryStore, RateLimiter, SlidingWindow, type RateLimiterOptions } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

// Midnight UTC, so the buckets of every window (6 s, 6 min, 2.4 h) start here.
const T0 = Date.parse('2026-11-23T00:00:00Z');

function limiter(options: Omit<RateLimiterOptions, 'clock'> = {}): { rl: RateLimiter; clock: ManualClock; store: MemoryStore } {
  const clock = new ManualClock(T0);
  const store = new MemoryStore({ clock });
  return { rl: new RateLimiter({ clock, store, ...options }), clock, store };
}

describe('RateLimiter (seed 002)', () => {
  it("the seed's example: 60 a minute, 1,000 an hour, 10,000 a day", async () => {
    const { rl } = limiter();
    rl.setUserLimits('user-123', { requestsPerMinute: 60, requestsPerHour: 1000, requestsPerDay: 10000 });
    const first = await rl.checkRateLimit('user-123', '/api/analyze');
    expect(first).toEqual({ exceeded: false, remaining: 59, limitType: 'minute', current: 1, limit: 60, retryAfter: 0, retryAfterMs: 0 });
    for (let i = 2; i <= 60; i++) await rl.checkRateLimit('user-123', '/api/analyze');
    const refused = await rl.checkRateLimit('user-123', '/api/analyze');
    expect(refused).toEqual({
      exceeded: true,
      remaining: 0,
      limitType: 'minute',
      current: 60,
      limit: 60,
      retryAfter: 60,
      retryAfterMs: 60_000,
    });
    expect(await rl.getUsage('user-123', '/api/analyze')).toEqual({
      day: { current: 60, limit: 10000, remaining: 9940, resetInSeconds: 86_400, retryAfterMs: 0 },
      hour: { current: 60, limit: 1000, remaining: 940, resetInSeconds: 3_600, retryAfterMs: 0 },
      minute: { current: 60, limit: 60, remaining: 0, resetInSeconds: 60, retryAfterMs: 60_000 },
    });
  });

  it('each window trips with its own limitType and an exact retryAfter', async () => {
    const { rl, clock } = limiter();
    rl.setUserLimits('u', { requestsPerMinute: 5, requestsPerHour: 8, requestsPerDay: 10 });
    for (let i = 0; i < 5; i++) expect((await rl.checkRateLimit('u')).exceeded).toBe(false);
    expect(await rl.checkRateLimit('u')).toMatchObject({ exceeded: true, limitType: 'minute', current: 5, limit: 5, retryAfterMs: 60_000 });
    clock.advance(60_000);
    for (let i = 0; i < 3; i++) expect((await rl.checkRateLimit('u')).exceeded).toBe(false);
    // All 8 hits sit in the first 6-minute bucket of the hour, which leaves at 60 min; now is 1 min.
    expect(await rl.checkRateLimit('u')).toMatchObject({
      exceeded: true,
      limitType: 'hour',
      current: 8,
      limit: 8,
      retryAfter: 3540,
      retryAfterMs: 3_540_000,
    });
    clock.advance(3_540_000);
    for (let i = 0; i < 2; i++) expect((await rl.checkRateLimit('u')).exceeded).toBe(false);
    // The day's 10 hits sit in its first 2.4-hour bucket, which leaves at 24 h; now is 1 h.
    expect(await rl.checkRateLimit('u')).toMatchObject({
      exceeded: true,
      limitType: 'day',
      current: 10,
      limit: 10,
      retryAfterMs: 23 * 3_600_000,
    });
  });

  it('never answers retryAfter 0 while exceeded, at any time inside a bucket', async () => {
    const { rl, clock } = limiter();
    rl.setUserLimits('u', { requestsPerMinute: 1 });
    clock.advance(5_999);
    await rl.checkRateLimit('u');
    for (const step of [0, 1, 1, 2_000, 3_997, 48_001]) {
      clock.advance(step);
      const r = await rl.checkRateLimit('u');
      expect(r.exceeded).toBe(true);
      expect(r.retryAfterMs).toBe(T0 + 60_000 - clock.now());
      expect(r.retryAfterMs).toBeGreaterThan(0);
    }
    clock.advance(1);
    expect((await rl.checkRateLimit('u')).exceeded).toBe(false);
  });

  it('endpoint limits override user limits; windows are kept per user and endpoint', async () => {
    const { rl } = limiter();
    rl.setUserLimits('u', { requestsPerMinute: 2 });
    rl.setEndpointLimits('/api/analyze', { requestsPerMinute: 1 });
    expect(rl.getConfig('u', '/api/analyze')).toEqual({ requestsPerMinute: 1 });
    expect(rl.getConfig('u')).toEqual({ requestsPerMinute: 2 });
    expect(rl.getConfig('someone-else')).toEqual({ requestsPerMinute: 60, requestsPerHour: 1000, requestsPerDay: 10000 });
    expect((await rl.checkRateLimit('u', '/api/analyze')).exceeded).toBe(false);
    expect(await rl.checkRateLimit('u', '/api/analyze')).toMatchObject({ exceeded: true, limit: 1 });
    expect((await rl.checkRateLimit('u')).remaining).toBe(1);
    expect((await rl.checkRateLimit('u')).remaining).toBe(0);
    expect(await rl.checkRateLimit('u')).toMatchObject({ exceeded: true, limit: 2 });
    // Another user has their own window on the same endpoint.
    expect((await rl.checkRateLimit('v', '/api/analyze')).exceeded).toBe(false);
    expect(rl.removeEndpointLimits('/api/analyze')).toBe(true);
    expect(rl.getConfig('u', '/api/analyze')).toEqual({ requestsPerMinute: 2 });
  });

  it('a config change applies to the very next check', async () => {
    const { rl } = limiter();
    expect((await rl.checkRateLimit('u')).limit).toBe(60);
    rl.setUserLimits('u', { requestsPerMinute: 1 });
    expect(await rl.checkRateLimit('u')).toMatchObject({ exceeded: true, limit: 1, current: 1 });
    rl.removeUserLimits('u');
    expect(await rl.checkRateLimit('u')).toMatchObject({ exceeded: false, limit: 60, current: 2 });
    rl.setDefaultConfig({ requestsPerMinute: 2 });
    expect(await rl.checkRateLimit('u')).toMatchObject({ exceeded: true, limit: 2 });
  });

  it('record = false checks without counting', async () => {
    const { rl } = limiter();
    rl.setUserLimits('u', { requestsPerMinute: 3 });
    for (let i = 0; i < 5; i++) expect(await rl.checkRateLimit('u', 'default', false)).toMatchObject({ exceeded: false, remaining: 2 });
    expect((await rl.getUsage('u')).minute?.current).toBe(0);
  });

  it('burst: at most burstSize requests in any burst window, under the per-minute rate', async () => {
    const { rl, clock } = limiter();
    rl.setUserLimits('u', { requestsPerMinute: 25, burstSize: 10 });
    let admitted = 0;
    for (let i = 0; i < 12; i++) if (!(await rl.checkRateLimit('u')).exceeded) admitted++;
    expect(admitted).toBe(10);
    expect(await rl.checkRateLimit('u')).toMatchObject({ exceeded: true, limitType: 'burst', current: 10, limit: 10, retryAfterMs: 1_000 });
    clock.advance(1_000);
    for (let i = 0; i < 10; i++) expect((await rl.checkRateLimit('u')).exceeded).toBe(false);
    clock.advance(1_000);
    for (let i = 0; i < 5; i++) expect((await rl.checkRateLimit('u')).exceeded).toBe(false);
    // 25 in the minute: now the minute refuses, though the burst window has room.
    expect(await rl.checkRateLimit('u')).toMatchObject({ exceeded: true, limitType: 'minute', current: 25 });
  });

  it('weighted hits: token limits count the tokens of each request', async () => {
    const { rl } = limiter();
    rl.setUserLimits('u', { requestsPerMinute: 100, tokensPerMinute: 1000 });
    expect(await rl.checkRateLimit('u', 'default', true, { tokens: 600 })).toMatchObject({ exceeded: false, remaining: 99 });
    expect(await rl.checkRateLimit('u', 'default', true, { tokens: 500 })).toMatchObject({
      exceeded: true,
      limitType: 'tokensPerMinute',
      current: 600,
      limit: 1000,
      retryAfterMs: 60_000,
    });
    expect((await rl.checkRateLimit('u', 'default', true, { tokens: 400 })).exceeded).toBe(false);
    // A request heavier than the whole limit can never fit.
    expect(await rl.checkRateLimit('u', 'default', true, { tokens: 1001 })).toMatchObject({ exceeded: true, retryAfter: Infinity });
  });

  it('1,000 concurrent checks on a 100-a-minute limit admit exactly 100', async () => {
    const { rl } = limiter();
    rl.setUserLimits('u', { requestsPerMinute: 100 });
    const results = await Promise.all(Array.from({ length: 1000 }, () => rl.checkRateLimit('u')));
    expect(results.filter((r) => !r.exceeded)).toHaveLength(100);
  });

  it('resetUser clears every window of the user on every endpoint and says how many', async () => {
    const { rl } = limiter();
    await rl.checkRateLimit('u', 'a');
    await rl.checkRateLimit('u', 'b');
    await rl.checkRateLimit('v', 'a');
    expect(await rl.resetUser('u')).toBe(6);
    expect(await rl.resetUser('u')).toBe(0);
    expect((await rl.getUsage('u', 'a')).minute?.current).toBe(0);
    expect((await rl.getUsage('v', 'a')).minute?.current).toBe(1);
  });

  it('cleanupExpired drops the windows that have emptied and says how many', async () => {
    const { rl, clock } = limiter();
    rl.setDefaultConfig({ requestsPerMinute: 10, requestsPerHour: 100 });
    await rl.checkRateLimit('u');
    await rl.checkRateLimit('v');
    clock.advance(60_000);
    expect(await rl.cleanupExpired()).toBe(2); // the two minute windows; the hour windows still count
    clock.advance(3_600_000);
    expect(await rl.cleanupExpired()).toBe(2);
    expect(await rl.cleanupExpired()).toBe(0);
  });

  it('exact mode counts the true sliding window', async () => {
    const { rl, clock } = limiter();
    rl.setUserLimits('u', { requestsPerMinute: 2, mode: 'exact' });
    clock.advance(5_000);
    await rl.checkRateLimit('u');
    clock.advance(2_000);
    await rl.checkRateLimit('u');
    clock.advance(53_000); // 60 s after the start: the bucketed window would have dropped the first hit
    expect(await rl.checkRateLimit('u')).toMatchObject({ exceeded: true, retryAfterMs: 5_000 });
    clock.advance(5_000);
    expect((await rl.checkRateLimit('u')).exceeded).toBe(false);
  });

  describe('bad input is refused and changes nothing', () => {
    it('configs', () => {
      const { rl } = limiter();
      rl.setUserLimits('u', { requestsPerMinute: 5 });
      const cases: [unknown, string][] = [
        [{ requestsPerMinute: -5 }, 'config.requestsPerMinute'],
        [{ requestsPerMinute: 1.5 }, 'config.requestsPerMinute'],
        [{ requestsPerMinute: Number.NaN }, 'config.requestsPerMinute'],
        [{ requestsPerWeek: 5 }, 'config.requestsPerWeek'],
        [{ burstWindow: '2s' }, 'config.burstWindow'],
        [{ burstSize: 3, burstWindow: 'soon' }, 'config.burstWindow'],
        [{ mode: 'fuzzy' }, 'config.mode'],
      ];
      for (const [config, field] of cases) {
        let err: unknown;
        try {
          rl.setUserLimits('u', config as never);
        } catch (e) {
          err = e;
        }
        expect(err, JSON.stringify(config)).toBeInstanceOf(InvalidInputError);
        expect((err as InvalidInputError).field).toBe(field);
      }
      expect(rl.getConfig('u')).toEqual({ requestsPerMinute: 5 });
    });

    it('ids and weights', async () => {
      const { rl } = limiter();
      expect(() => rl.setUserLimits('', { requestsPerMinute: 1 })).toThrow(InvalidInputError);
      await expect(rl.checkRateLimit('')).rejects.toMatchObject({ code: 'invalid_input', field: 'userId' });
      await expect(rl.checkRateLimit('u', '')).rejects.toMatchObject({ code: 'invalid_input', field: 'endpoint' });
      await expect(rl.checkRateLimit('u', 'default', true, { tokens: -1 })).rejects.toMatchObject({
        code: 'invalid_input',
        field: 'tokens',
      });
      await expect(rl.checkRateLimit('u', 'default', true, { tokens: 1.5 })).rejects.toMatchObject({ field: 'tokens' });
      await expect(rl.checkRateLimit('u', 'default', 'no' as never)).rejects.toMatchObject({ field: 'record', value: 'no' });
      await expect(rl.checkRateLimit('u', 'default', true, { tokenz: 5 } as never)).rejects.toMatchObject({
        field: 'options.tokenz',
        value: 5,
      });
      expect((await rl.getUsage('u')).minute?.current).toBe(0);
    });

    it('constructor options', () => {
      expect(() => new RateLimiter({ foo: 1 } as never)).toThrow(expect.objectContaining({ field: 'options.foo', value: 1 }));
      expect(() => new RateLimiter({ store: 5 } as never)).toThrow(expect.objectContaining({ field: 'options.store', value: 5 }));
      expect(() => new RateLimiter({ clock: {} } as never)).toThrow(expect.objectContaining({ field: 'options.clock' }));
    });
  });
});

describe('SlidingWindow (the seed class, on its own)', () => {
  it('records, counts and tells the seconds until a slot frees', () => {
    const w = new SlidingWindow(60);
    expect([w.windowSeconds, w.bucketCount]).toEqual([60, 10]);
    expect(w.record(100)).toBe(1);
    expect(w.record(101.5)).toBe(2);
    expect(w.record(107)).toBe(3);
    expect(w.getCount(110)).toBe(3);
    // Buckets of 6 s: the hits at 100 s and 101.5 s sit in [96 s, 102 s), which leaves at 156 s.
    expect(w.timeUntilSlotAvailable(110, 3)).toBe(46);
    expect(w.timeUntilSlotAvailable(110, 2)).toBe(46);
    expect(w.timeUntilSlotAvailable(110, 1)).toBe(52);
    expect(w.timeUntilSlotAvailable(110, 4)).toBe(0);
    expect(w.getCount(156)).toBe(1);
    expect(w.getCount(168)).toBe(0);
    expect(w.totalCount).toBe(0);
  });

  it('exact mode', () => {
    const w = new SlidingWindow(60, 10, { mode: 'exact' });
    w.record(100);
    w.record(101.5);
    expect(w.getCount(160)).toBe(1);
    expect(w.timeUntilSlotAvailable(160, 1)).toBe(1.5);
  });

  it('refuses bad input', () => {
    expect(() => new SlidingWindow(-1)).toThrow(InvalidInputError);
    expect(() => new SlidingWindow(60, 7)).toThrow(InvalidInputError); // 60,000 ms is not divisible into 7 buckets
    expect(() => new SlidingWindow(60).record(Number.NaN)).toThrow(InvalidInputError);
    expect(() => new SlidingWindow(60).timeUntilSlotAvailable(1, -1)).toThrow(InvalidInputError);
    expect(() => new SlidingWindow(60, 10, { mode: 'fuzzy' } as never)).toThrow(
      expect.objectContaining({ field: 'options.mode', value: 'fuzzy' }),
    );
  });
});

describe('property: the exact mode never admits more than the limit in any window', () => {
  it('for any sequence of hits and clock moves', async () => {
    const step = fc.oneof(
      fc.record({ hit: fc.constant(true), tokens: fc.integer({ min: 1, max: 4 }) }),
      fc.record({
        hit: fc.constant(false),
        // Moves that land hits right at the edges of the window, where an off-by-one would show.
        ms: fc.oneof(fc.integer({ min: 0, max: 20_000 }), fc.constantFrom(1, 999, 1_000, 30_000, 59_000, 59_999, 60_000)),
      }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 12 }), fc.array(step, { maxLength: 120 }), async (limit, steps) => {
        const { rl, clock } = limiter();
        rl.setUserLimits('u', { tokensPerMinute: limit, mode: 'exact' });
        const admitted: { at: number; tokens: number }[] = [];
        for (const s of steps) {
          if (!s.hit) {
            clock.advance(s.ms);
            continue;
          }
          const r = await rl.checkRateLimit('u', 'default', true, { tokens: s.tokens });
          if (!r.exceeded) admitted.push({ at: clock.now(), tokens: s.tokens });
          else if (s.tokens <= limit) expect(r.retryAfterMs).toBeGreaterThan(0);
        }
        // Every window of 60 s ending at an admitted hit holds at most `limit` tokens.
        for (const a of admitted) {
          const inWindow = admitted.filter((b) => b.at > a.at - 60_000 && b.at <= a.at).reduce((n, b) => n + b.tokens, 0);
          expect(inWindow).toBeLessThanOrEqual(limit);
        }
      }),
      { numRuns: 200 },
    );
  });
});
