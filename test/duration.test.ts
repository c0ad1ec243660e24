import { describe, expect, it } from 'vitest';
import { parseDuration } from '../src/core/index.js';
import { invalid } from './helpers.js';

const FORMAT = "must be milliseconds or a duration such as '30s', '5m', '1h', '1d'";
const WHOLE = 'must be a whole number of milliseconds > 0';
const WHOLE_OR_ZERO = 'must be a whole number of milliseconds >= 0';
const MAX_MS = 366 * 86_400_000 * 100; // 3,162,240,000,000

describe('parseDuration', () => {
  it('parses every unit', () => {
    expect(parseDuration('500ms', 'd')).toBe(500);
    expect(parseDuration('30s', 'd')).toBe(30_000);
    expect(parseDuration('5m', 'd')).toBe(300_000);
    expect(parseDuration('1h', 'd')).toBe(3_600_000);
    expect(parseDuration('1d', 'd')).toBe(86_400_000);
    expect(parseDuration('1w', 'd')).toBe(604_800_000);
    expect(parseDuration('1ms', 'd')).toBe(1);
  });

  it('takes numbers as milliseconds', () => {
    expect(parseDuration(1, 'd')).toBe(1);
    expect(parseDuration(250, 'd')).toBe(250);
    expect(parseDuration(60_000, 'd')).toBe(60_000);
  });

  it('accepts fractions that land on whole milliseconds', () => {
    expect(parseDuration('1.5s', 'd')).toBe(1500);
    expect(parseDuration('0.5s', 'd')).toBe(500);
    expect(parseDuration('0.001s', 'd')).toBe(1);
    expect(parseDuration('1.5h', 'd')).toBe(5_400_000);
    expect(parseDuration('0.25d', 'd')).toBe(21_600_000);
    expect(parseDuration('0.1h', 'd')).toBe(360_000);
  });

  it('accepts fractions whose float product is inexact', () => {
    // 1.1h is exactly 3,960,000 ms, but 1.1 * 3_600_000 === 3960000.0000000005 in floating point
    expect(parseDuration('1.1h', 'd')).toBe(3_960_000);
    expect(parseDuration('4.35m', 'd')).toBe(261_000);
    expect(parseDuration('0.7d', 'd')).toBe(60_480_000);
  });

  it('trims and allows spaces before the unit', () => {
    expect(parseDuration(' 30s ', 'd')).toBe(30_000);
    expect(parseDuration('30 s', 'd')).toBe(30_000);
    expect(parseDuration('007m', 'd')).toBe(420_000);
  });

  it("rejects '5 minutes' and other malformed strings, naming the field", () => {
    const e = invalid(() => parseDuration('5 minutes', 'limits[0].window'));
    expect(e.field).toBe('limits[0].window');
    expect(e.code).toBe('invalid_input');
    expect(e.value).toBe('5 minutes');
    expect(e.message).toBe(`invalid_input: limits[0].window ${FORMAT} (got "5 minutes")`);
    for (const s of ['', '5', 'ms', '5sec', '5S', '5M', '-1s', '+5s', '1e3ms', '.5s', '5.s', '5 m s', 'Infinitys', 'NaNms', '1,5s']) {
      const err = invalid(() => parseDuration(s, 'w'));
      expect(err.field).toBe('w');
      expect(err.message).toBe(`invalid_input: w ${FORMAT} (got ${JSON.stringify(s)})`);
    }
  });

  it('rejects values that are neither numbers nor strings', () => {
    const cases: Array<[unknown, string]> = [
      [null, 'null'],
      [undefined, 'undefined'],
      [true, 'true'],
      [{ ms: 5 }, '{"ms":5}'],
      [5n, '5n'],
    ];
    for (const [v, shown] of cases) {
      const e = invalid(() => parseDuration(v, 'timeout'));
      expect(e.field).toBe('timeout');
      expect(e.value).toBe(v);
      expect(e.message).toBe(`invalid_input: timeout ${FORMAT} (got ${shown})`);
    }
  });

  it('rejects -1, NaN and Infinity', () => {
    const neg = invalid(() => parseDuration(-1, 'ttl'));
    expect(neg.field).toBe('ttl');
    expect(neg.value).toBe(-1);
    expect(neg.message).toBe(`invalid_input: ttl ${WHOLE} (got -1)`);
    expect(invalid(() => parseDuration(Number.NaN, 'ttl')).message).toBe(`invalid_input: ttl ${WHOLE} (got NaN)`);
    expect(invalid(() => parseDuration(Number.POSITIVE_INFINITY, 'ttl')).message).toBe(`invalid_input: ttl ${WHOLE} (got Infinity)`);
    expect(invalid(() => parseDuration(-1, 'ttl', true)).message).toBe(`invalid_input: ttl ${WHOLE_OR_ZERO} (got -1)`);
  });

  it('rejects fractions of a millisecond', () => {
    expect(invalid(() => parseDuration(1.5, 'ttl')).message).toBe(`invalid_input: ttl ${WHOLE} (got 1.5)`);
    expect(invalid(() => parseDuration('1.5ms', 'ttl')).message).toBe(`invalid_input: ttl ${WHOLE} (got "1.5ms")`);
    expect(invalid(() => parseDuration('0.0001s', 'ttl')).message).toBe(`invalid_input: ttl ${WHOLE} (got "0.0001s")`);
    expect(invalid(() => parseDuration(0.5, 'ttl', true)).message).toBe(`invalid_input: ttl ${WHOLE_OR_ZERO} (got 0.5)`);
  });

  it('rejects 0 unless allowZero', () => {
    expect(invalid(() => parseDuration(0, 'ttl')).message).toBe(`invalid_input: ttl ${WHOLE} (got 0)`);
    expect(invalid(() => parseDuration('0s', 'ttl')).message).toBe(`invalid_input: ttl ${WHOLE} (got "0s")`);
    expect(invalid(() => parseDuration('0ms', 'ttl', false)).message).toBe(`invalid_input: ttl ${WHOLE} (got "0ms")`);
    expect(parseDuration(0, 'ttl', true)).toBe(0);
    expect(parseDuration('0s', 'ttl', true)).toBe(0);
    expect(parseDuration('0ms', 'ttl', true)).toBe(0);
    expect(parseDuration('5m', 'ttl', true)).toBe(300_000);
  });

  it('caps at 100 years of 366 days', () => {
    expect(parseDuration(MAX_MS, 'd')).toBe(3_162_240_000_000);
    expect(parseDuration('36600d', 'd')).toBe(3_162_240_000_000);
    expect(parseDuration('5228w', 'd')).toBe(3_161_894_400_000);
    const e = invalid(() => parseDuration(MAX_MS + 1, 'window'));
    expect(e.field).toBe('window');
    expect(e.message).toBe('invalid_input: window must be at most 100 years (got 3162240000001)');
    expect(invalid(() => parseDuration('5229w', 'window')).message).toBe('invalid_input: window must be at most 100 years (got "5229w")');
    expect(invalid(() => parseDuration(Number.MAX_SAFE_INTEGER, 'window')).message).toBe(
      'invalid_input: window must be at most 100 years (got 9007199254740991)',
    );
  });
});
