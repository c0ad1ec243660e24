// The package's public constants and small helpers, as a user imports them.
import { describe, expect, it } from 'vitest';
import {
  BREAKER_DEFAULTS,
  breakerKey,
  BucketWindow,
  BUILTIN_METERS,
  DEFAULT_RATE_LIMIT_CONFIG,
  DEFAULT_THRESHOLDS,
  GovernorError,
  InvalidInputError,
  isGovernorError,
  LogWindow,
  MAX_UNITS,
  PriceTable,
  StoreUnavailableError,
  systemClock,
} from 'agent-governor';

describe('public constants', () => {
  it('have the documented defaults', () => {
    expect(DEFAULT_THRESHOLDS).toEqual([50, 80, 90, 100]);
    expect(DEFAULT_RATE_LIMIT_CONFIG).toEqual({ requestsPerMinute: 60, requestsPerHour: 1000, requestsPerDay: 10000 });
    expect(BREAKER_DEFAULTS).toEqual({
      failureThreshold: 3,
      resetTimeout: '5m',
      halfOpenMaxProbes: 1,
      thresholdMultiplier: '1.5',
      rate: { minimumCalls: 10, window: '1m' },
      backoff: { multiplier: 2, maxResetTimeout: '1h' },
    });
    expect(BUILTIN_METERS.cost).toEqual({ scale: 12, kind: 'money', refusalCode: 'budget_exceeded' });
    expect(BUILTIN_METERS.llmCalls.refusalCode).toBe('max_llm_calls_exceeded');
    expect(BUILTIN_METERS.elapsedSeconds).toEqual({ scale: 6, kind: 'quantity', refusalCode: 'timeout_exceeded' });
    expect(Object.isFrozen(DEFAULT_THRESHOLDS)).toBe(true);
  });
});

describe('isGovernorError and StoreUnavailableError', () => {
  it('tell the library’s errors from others and carry their data', () => {
    const e = new StoreUnavailableError('commit', new Error('reset'));
    expect(isGovernorError(e)).toBe(true);
    expect(e).toBeInstanceOf(GovernorError);
    expect([e.code, e.operation, e.message, (e.cause as Error).message]).toEqual([
      'store_unavailable',
      'commit',
      'store_unavailable: commit failed',
      'reset',
    ]);
    expect(isGovernorError(new Error('x'))).toBe(false);
    expect(isGovernorError({ code: 'budget_exceeded' })).toBe(false);
  });
});

describe('systemClock', () => {
  it('reads wall and monotonic time, and sleeps can be aborted', async () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(systemClock.monotonic()).toBeLessThanOrEqual(systemClock.monotonic());
    await expect(systemClock.sleep(0)).resolves.toBeUndefined();
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(systemClock.sleep(60_000, ac.signal)).rejects.toThrow('stop');
  });
});

describe('breakerKey', () => {
  it('names a breaker by a key or by provider and model', () => {
    expect(breakerKey('search-api')).toBe('search-api');
    expect(breakerKey({ provider: 'openai', model: 'gpt-4o' })).toBe('openai/gpt-4o');
    expect(breakerKey({ provider: 'anthropic' })).toBe('anthropic');
    expect(() => breakerKey({ provider: 'openai', region: 'eu' })).toThrow(InvalidInputError);
    expect(() => breakerKey('')).toThrow('invalid_input: key');
  });
});

describe('BucketWindow and LogWindow on their own', () => {
  it('count the same hits their way', () => {
    const b = new BucketWindow(60_000, 10);
    const l = new LogWindow(60_000, undefined);
    for (const w of [b, l]) {
      w.add(5_000, 1);
      w.add(7_000, 2);
    }
    // At 60 s the bucket [0, 6 s) has left whole; the log still holds the 5 s hit until 65 s.
    expect([b.count(60_000), l.count(60_000)]).toEqual([2, 3]);
    expect([b.timeUntilFits(60_000, 3, 2), l.timeUntilFits(60_000, 3, 2)]).toEqual([6_000, 7_000]);
    expect([b.mode, l.mode, b.windowMs, l.windowMs]).toEqual(['bucketed', 'exact', 60_000, 60_000]);
    expect(() => new BucketWindow(60_001, 10)).toThrow(InvalidInputError);
  });
});

describe('PriceTable', () => {
  it('prices usage in pico-units with one rounding, never charging cached tokens twice', () => {
    const t = new PriceTable({ m: { input: '3', output: '15', cachedInput: '0.30', cacheWrite: '3.75', perRequest: '0.001' } });
    // 1,000 uncached × $3/M + 4,000 cached × $0.30/M + 1,000 written × $3.75/M + 500 × $15/M + $0.001
    const cost = t.cost('m', {
      inputTokens: 6_000n,
      cachedInputTokens: 4_000n,
      cacheWriteTokens: 1_000n,
      outputTokens: 500n,
      reasoningTokens: 0n,
    });
    expect(cost).toBe(3_000_000_000n + 1_200_000_000n + 3_750_000_000n + 7_500_000_000n + 1_000_000_000n);
    expect(t.estimate('m', 1_000n, 1_000n)).toBe(3_750_000_000n + 15_000_000_000n + 1_000_000_000n);
    expect(
      t.cost('unknown', { inputTokens: 1n, cachedInputTokens: 0n, cacheWriteTokens: 0n, outputTokens: 0n, reasoningTokens: 0n }),
    ).toBeUndefined();
    expect(() => new PriceTable({ m: { input: '-1', output: '1' } })).toThrow('pricing.models.m.input');
    expect(MAX_UNITS).toBe(9_223_372_036_854_775_807n);
  });
});
