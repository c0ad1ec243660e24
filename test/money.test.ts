import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ceilDiv, formatUnits, MAX_UNITS, MONEY_SCALE, parseScaled, pow10, toUnits, unitsToDecimal } from '../src/core/index.js';
import { invalid } from './helpers.js';

/** Run `fn`, expect it to throw an InvalidInputError, and return that error. */

describe('constants', () => {
  it('money is kept in pico-units and one counter holds a signed 64-bit integer', () => {
    expect(MONEY_SCALE).toBe(12);
    expect(MAX_UNITS).toBe(9_223_372_036_854_775_807n);
  });

  it('pow10 covers 0..40 and refuses anything else', () => {
    expect(pow10(0)).toBe(1n);
    expect(pow10(1)).toBe(10n);
    expect(pow10(12)).toBe(1_000_000_000_000n);
    expect(pow10(40)).toBe(10_000_000_000_000_000_000_000_000_000_000_000_000_000n);
    expect(() => pow10(41)).toThrow(new RangeError('pow10(41) out of range'));
    expect(() => pow10(-1)).toThrow(new RangeError('pow10(-1) out of range'));
  });

  it('ceilDiv rounds up and keeps 0 at 0', () => {
    expect(ceilDiv(0n, 5n)).toBe(0n);
    expect(ceilDiv(1n, 5n)).toBe(1n);
    expect(ceilDiv(5n, 5n)).toBe(1n);
    expect(ceilDiv(6n, 5n)).toBe(2n);
    expect(ceilDiv(10n, 5n)).toBe(2n);
    expect(ceilDiv(11n, 5n)).toBe(3n);
    expect(ceilDiv(MAX_UNITS, 1_000_000n)).toBe(9_223_372_036_855n);
  });
});

describe('parseScaled', () => {
  it('parses plain decimals at the money scale', () => {
    expect(parseScaled('1', 12)).toBe(1_000_000_000_000n);
    expect(parseScaled('0', 12)).toBe(0n);
    expect(parseScaled('0.5', 12)).toBe(500_000_000_000n);
    expect(parseScaled('12.345', 12)).toBe(12_345_000_000_000n);
    expect(parseScaled('0.000000000001', 12)).toBe(1n);
    expect(parseScaled('+2', 12)).toBe(2_000_000_000_000n);
    expect(parseScaled('.5', 12)).toBe(500_000_000_000n);
    expect(parseScaled('5.', 12)).toBe(5_000_000_000_000n);
    expect(parseScaled('  7.25  ', 12)).toBe(7_250_000_000_000n);
  });

  it('parses exponent forms', () => {
    expect(parseScaled('1e-7', 12)).toBe(100_000n);
    expect(parseScaled('1.5e+3', 12)).toBe(1_500_000_000_000_000n);
    expect(parseScaled('1.5E3', 12)).toBe(1_500_000_000_000_000n);
    expect(parseScaled('2.5e-1', 12)).toBe(250_000_000_000n);
    expect(parseScaled('1e-12', 12)).toBe(1n);
    expect(parseScaled('1e0', 12)).toBe(1_000_000_000_000n);
    expect(parseScaled('125e-14', 12)).toBe(null);
    expect(parseScaled('125e-14', 12, 'ceil')).toBe(2n);
    expect(parseScaled('1200e-14', 12)).toBe(12n);
    expect(parseScaled('0e-50', 12)).toBe(0n);
    expect(parseScaled('0e100', 12)).toBe(0n);
    expect(parseScaled('1e28', 12)).toBe(10n ** 40n);
  });

  it('ignores leading zeros and trailing fractional zeros', () => {
    expect(parseScaled('000123.4500', 12)).toBe(123_450_000_000_000n);
    expect(parseScaled('0000', 12)).toBe(0n);
    expect(parseScaled('007', 0)).toBe(7n);
    expect(parseScaled('1.50000000000000000000', 12)).toBe(1_500_000_000_000n);
    expect(parseScaled('0.0000000000010', 12)).toBe(1n);
  });

  it('keeps the sign', () => {
    expect(parseScaled('-0.5', 12)).toBe(-500_000_000_000n);
    expect(parseScaled('-1e-7', 12)).toBe(-100_000n);
    expect(parseScaled('-3', 0)).toBe(-3n);
    expect(parseScaled('-0', 12)).toBe(0n);
  });

  it('works at other scales', () => {
    expect(parseScaled('1.23', 2)).toBe(123n);
    expect(parseScaled('1.50', 1)).toBe(15n);
    expect(parseScaled('1.0', 0)).toBe(1n);
    expect(parseScaled('42', 0)).toBe(42n);
    expect(parseScaled('4.2e1', 0)).toBe(42n);
  });

  it('returns undefined for malformed strings', () => {
    for (const s of [
      '',
      ' ',
      '.',
      '-',
      '+',
      '-.',
      'e5',
      '.e5',
      '1e',
      '1e+',
      '1e1.5',
      'abc',
      '1a',
      '1.2.3',
      '1,5',
      '1 000',
      '0x10',
      '1_000',
      'NaN',
      'Infinity',
      '-Infinity',
      '--1',
      '+-1',
      '١',
    ]) {
      expect(parseScaled(s, 12), s).toBe(undefined);
    }
  });

  it("'exact' refuses digits finer than the scale with null", () => {
    expect(parseScaled('0.0000000000001', 12)).toBe(null);
    expect(parseScaled('0.0000000000001', 12, 'exact')).toBe(null);
    expect(parseScaled('1.0000000000001', 12, 'exact')).toBe(null);
    expect(parseScaled('1e-13', 12, 'exact')).toBe(null);
    expect(parseScaled('0.00000000000010', 12, 'exact')).toBe(null);
    expect(parseScaled('-0.0000000000001', 12, 'exact')).toBe(null);
    expect(parseScaled('1.234', 2, 'exact')).toBe(null);
    expect(parseScaled('1.5', 0, 'exact')).toBe(null);
  });

  it("'exact' accepts finer digits that are all zero", () => {
    expect(parseScaled('0.0000000000000', 12, 'exact')).toBe(0n);
    expect(parseScaled('2.000000000000000', 12, 'exact')).toBe(2_000_000_000_000n);
    expect(parseScaled('1.230', 2, 'exact')).toBe(123n);
  });

  it("'ceil' rounds toward +infinity", () => {
    expect(parseScaled('0.0000000000001', 12, 'ceil')).toBe(1n);
    expect(parseScaled('0.0000000000009', 12, 'ceil')).toBe(1n);
    expect(parseScaled('1.0000000000001', 12, 'ceil')).toBe(1_000_000_000_001n);
    expect(parseScaled('1e-13', 12, 'ceil')).toBe(1n);
    expect(parseScaled('1e-300', 12, 'ceil')).toBe(1n);
    expect(parseScaled('1.234', 2, 'ceil')).toBe(124n);
    expect(parseScaled('1.230', 2, 'ceil')).toBe(123n);
    expect(parseScaled('1.2', 0, 'ceil')).toBe(2n);
    // toward +infinity: negative values are truncated toward zero
    expect(parseScaled('-1.234', 2, 'ceil')).toBe(-123n);
    expect(parseScaled('-1.0000000000001', 12, 'ceil')).toBe(-1_000_000_000_000n);
    expect(parseScaled('-0.0000000000001', 12, 'ceil')).toBe(0n);
  });

  it('a well-formed number with a large exponent is not reported as malformed', () => {
    // '1e29' is the same number as '100000000000000000000000000000', which parses fine.
    expect(parseScaled('100000000000000000000000000000', 12)).toBe(10n ** 41n);
    expect(parseScaled('1e29', 12)).toBe(10n ** 41n);
  });
});

describe('toUnits', () => {
  it('converts numbers', () => {
    expect(toUnits(0, 'f')).toBe(0n);
    expect(toUnits(1, 'f')).toBe(1_000_000_000_000n);
    expect(toUnits(0.1, 'f')).toBe(100_000_000_000n);
    expect(toUnits(2.5, 'f')).toBe(2_500_000_000_000n);
    expect(toUnits(1e-7, 'f')).toBe(100_000n);
    expect(toUnits(1e-12, 'f')).toBe(1n);
    expect(toUnits(1500, 'f')).toBe(1_500_000_000_000_000n);
    expect(toUnits(-0, 'f')).toBe(0n);
  });

  it('converts decimal strings', () => {
    expect(toUnits('0', 'f')).toBe(0n);
    expect(toUnits('0.0375', 'f')).toBe(37_500_000_000n);
    expect(toUnits('000012.500', 'f')).toBe(12_500_000_000_000n);
    expect(toUnits('1e-7', 'f')).toBe(100_000n);
    expect(toUnits('0.000000000001', 'f')).toBe(1n);
    expect(toUnits(' 3 ', 'f')).toBe(3_000_000_000_000n);
    expect(toUnits('9223372.036854775807', 'f')).toBe(MAX_UNITS);
  });

  it('converts Decimal instances', () => {
    expect(toUnits(new Decimal('0.1'), 'f')).toBe(100_000_000_000n);
    expect(toUnits(new Decimal('1e-12'), 'f')).toBe(1n);
    expect(toUnits(new Decimal('1.5e3'), 'f')).toBe(1_500_000_000_000_000n);
    expect(toUnits(new Decimal(0), 'f')).toBe(0n);
    expect(toUnits(new Decimal('9223372.036854775807'), 'f')).toBe(MAX_UNITS);
    expect(toUnits(new Decimal('0.1').plus('0.2'), 'f')).toBe(300_000_000_000n);
  });

  it('honours the scale option', () => {
    expect(toUnits('12', 'f', { scale: 0 })).toBe(12n);
    expect(toUnits(12, 'f', { scale: 0 })).toBe(12n);
    expect(toUnits('1.25', 'f', { scale: 2 })).toBe(125n);
    expect(toUnits('9223372036854775807', 'f', { scale: 0 })).toBe(MAX_UNITS);
  });

  it('rounds finer amounts up only with roundUp', () => {
    expect(toUnits('0.0000000000001', 'f', { roundUp: true })).toBe(1n);
    expect(toUnits(1e-13, 'f', { roundUp: true })).toBe(1n);
    expect(toUnits(new Decimal('1.0000000000001'), 'f', { roundUp: true })).toBe(1_000_000_000_001n);
    expect(toUnits('1.2', 'f', { scale: 0, roundUp: true })).toBe(2n);
    expect(toUnits('1.5', 'f', { roundUp: true })).toBe(1_500_000_000_000n);
  });

  it('allowZero: false refuses zero', () => {
    expect(toUnits('0.000000000001', 'f', { allowZero: false })).toBe(1n);
    const e = invalid(() => toUnits(0, 'limit.max', { allowZero: false }));
    expect(e.field).toBe('limit.max');
    expect(e.code).toBe('invalid_input');
    expect(e.value).toBe(0);
    expect(e.message).toBe('invalid_input: limit.max must be greater than 0 (got 0)');
    expect(invalid(() => toUnits('0.000', 'f', { allowZero: false })).message).toBe(
      'invalid_input: f must be greater than 0 (got "0.000")',
    );
    expect(invalid(() => toUnits(new Decimal(0), 'f', { allowZero: false })).message).toBe(
      'invalid_input: f must be greater than 0 (got "0")',
    );
  });

  it('refuses NaN and infinities', () => {
    const nan = invalid(() => toUnits(Number.NaN, 'budget.max'));
    expect(nan.field).toBe('budget.max');
    expect(nan.value).toBe(Number.NaN);
    expect(nan.message).toBe('invalid_input: budget.max must be a finite, non-negative amount (got NaN)');

    const inf = invalid(() => toUnits(Number.POSITIVE_INFINITY, 'budget.max'));
    expect(inf.field).toBe('budget.max');
    expect(inf.message).toBe('invalid_input: budget.max must be a finite, non-negative amount (got Infinity)');

    const ninf = invalid(() => toUnits(Number.NEGATIVE_INFINITY, 'x'));
    expect(ninf.message).toBe('invalid_input: x must be a finite, non-negative amount (got -Infinity)');

    const dnan = invalid(() => toUnits(new Decimal(Number.NaN), 'price.input'));
    expect(dnan.field).toBe('price.input');
    expect(dnan.value).toBe('NaN');
    expect(dnan.message).toBe('invalid_input: price.input must be a finite, non-negative amount (got "NaN")');

    const dinf = invalid(() => toUnits(new Decimal(Number.POSITIVE_INFINITY), 'p'));
    expect(dinf.message).toBe('invalid_input: p must be a finite, non-negative amount (got "Infinity")');

    expect(invalid(() => toUnits('NaN', 's')).message).toBe('invalid_input: s must be a decimal number (got "NaN")');
    expect(invalid(() => toUnits('Infinity', 's')).message).toBe('invalid_input: s must be a decimal number (got "Infinity")');
  });

  it('refuses negative amounts', () => {
    const e = invalid(() => toUnits(-1, 'cost'));
    expect(e.field).toBe('cost');
    expect(e.value).toBe(-1);
    expect(e.message).toBe('invalid_input: cost must not be negative (got -1)');
    expect(invalid(() => toUnits('-0.5', 'cost')).message).toBe('invalid_input: cost must not be negative (got "-0.5")');
    expect(invalid(() => toUnits(new Decimal('-1'), 'cost')).message).toBe('invalid_input: cost must not be negative (got "-1")');
    expect(invalid(() => toUnits('-0.000000000001', 'cost', { roundUp: true })).message).toBe(
      'invalid_input: cost must not be negative (got "-0.000000000001")',
    );
  });

  it('zero written with a minus sign is zero, not a negative amount', () => {
    expect(toUnits('-0', 'f')).toBe(0n);
    expect(toUnits('-0.000', 'f')).toBe(0n);
    expect(toUnits(new Decimal('-0'), 'f')).toBe(0n);
  });

  it('refuses a negative amount that rounds up to zero', () => {
    // roundUp ceils -0.0000000000001 to 0n and the negative check never sees it.
    const e = invalid(() => toUnits('-0.0000000000001', 'cost', { roundUp: true }));
    expect(e.field).toBe('cost');
    expect(e.message).toBe('invalid_input: cost must not be negative (got "-0.0000000000001")');
  });

  it('refuses non-numeric values and strings', () => {
    const s = invalid(() => toUnits('abc', 'price.output'));
    expect(s.field).toBe('price.output');
    expect(s.value).toBe('abc');
    expect(s.message).toBe('invalid_input: price.output must be a decimal number (got "abc")');
    expect(invalid(() => toUnits('', 'f')).message).toBe('invalid_input: f must be a decimal number (got "")');
    expect(invalid(() => toUnits('1,5', 'f')).message).toBe('invalid_input: f must be a decimal number (got "1,5")');
    expect(invalid(() => toUnits('$5', 'f')).message).toBe('invalid_input: f must be a decimal number (got "$5")');

    const kinds: Array<[unknown, string]> = [
      [true, 'true'],
      [null, 'null'],
      [undefined, 'undefined'],
      [5n, '5n'],
      [{}, '{}'],
      [[1], '[1]'],
      [{ amount: 1 }, '{"amount":1}'],
    ];
    for (const [v, shown] of kinds) {
      const e = invalid(() => toUnits(v, 'money'));
      expect(e.field).toBe('money');
      expect(e.value).toBe(v);
      expect(e.message).toBe(`invalid_input: money must be a Decimal, a decimal string or a finite number (got ${shown})`);
    }
  });

  it('refuses more decimals than the scale', () => {
    const e = invalid(() => toUnits('0.0000000000001', 'price.input'));
    expect(e.field).toBe('price.input');
    expect(e.value).toBe('0.0000000000001');
    expect(e.message).toBe('invalid_input: price.input must have at most 12 decimal places (got "0.0000000000001")');
    expect(invalid(() => toUnits(0.1 + 0.2, 'f')).message).toBe(
      'invalid_input: f must have at most 12 decimal places (got 0.30000000000000004)',
    );
    expect(invalid(() => toUnits(1e-13, 'f')).message).toBe('invalid_input: f must have at most 12 decimal places (got 1e-13)');
    expect(invalid(() => toUnits(new Decimal('1e-13'), 'f')).message).toBe(
      'invalid_input: f must have at most 12 decimal places (got "1e-13")',
    );
    expect(invalid(() => toUnits('1.5', 'n', { scale: 0 })).message).toBe(
      'invalid_input: n must have at most 0 decimal places (got "1.5")',
    );
    expect(invalid(() => toUnits('1.234', 'n', { scale: 2 })).message).toBe(
      'invalid_input: n must have at most 2 decimal places (got "1.234")',
    );
  });

  it('refuses amounts above MAX_UNITS', () => {
    const e = invalid(() => toUnits('9223372.036854775808', 'budget.max'));
    expect(e.field).toBe('budget.max');
    expect(e.value).toBe('9223372.036854775808');
    expect(e.message).toBe('invalid_input: budget.max must be at most 9223372.036854775807 (got "9223372.036854775808")');
    expect(invalid(() => toUnits(1e7, 'b')).message).toBe('invalid_input: b must be at most 9223372.036854775807 (got 10000000)');
    expect(invalid(() => toUnits(1e21, 'b')).message).toBe('invalid_input: b must be at most 9223372.036854775807 (got 1e+21)');
    expect(invalid(() => toUnits(new Decimal('1e10'), 'b')).message).toBe(
      'invalid_input: b must be at most 9223372.036854775807 (got "10000000000")',
    );
    expect(invalid(() => toUnits('9223372036854775808', 'n', { scale: 0 })).message).toBe(
      'invalid_input: n must be at most 9223372036854775807 (got "9223372036854775808")',
    );
  });

  it('a huge but well-formed amount is refused as too large, not as malformed', () => {
    const e = invalid(() => toUnits('1e30', 'budget.max'));
    expect(e.field).toBe('budget.max');
    expect(e.message).toBe('invalid_input: budget.max must be at most 9223372.036854775807 (got "1e30")');
    expect(invalid(() => toUnits(1e30, 'b')).message).toBe('invalid_input: b must be at most 9223372.036854775807 (got 1e+30)');
  });

  it('truncates a very long echoed string', () => {
    const long = 'x'.repeat(100);
    expect(invalid(() => toUnits(long, 'f')).message).toBe(`invalid_input: f must be a decimal number (got "${'x'.repeat(77)}...")`);
  });
});

describe('formatUnits', () => {
  it('prints plain decimals without trailing zeros', () => {
    expect(formatUnits(0n)).toBe('0');
    expect(formatUnits(1n)).toBe('0.000000000001');
    expect(formatUnits(10n)).toBe('0.00000000001');
    expect(formatUnits(37_500_000_000n)).toBe('0.0375');
    expect(formatUnits(1_000_000_000_000n)).toBe('1');
    expect(formatUnits(1_500_000_000_000n)).toBe('1.5');
    expect(formatUnits(123_450_000_000_000n)).toBe('123.45');
    expect(formatUnits(10_000_000_000_000n)).toBe('10');
    expect(formatUnits(MAX_UNITS)).toBe('9223372.036854775807');
  });

  it('prints negative values', () => {
    expect(formatUnits(-1n)).toBe('-0.000000000001');
    expect(formatUnits(-500_000_000_000n)).toBe('-0.5');
    expect(formatUnits(-2_000_000_000_000n)).toBe('-2');
    expect(formatUnits(-MAX_UNITS - 1n)).toBe('-9223372.036854775808');
  });

  it('works at other scales, including 0', () => {
    expect(formatUnits(0n, 0)).toBe('0');
    expect(formatUnits(42n, 0)).toBe('42');
    expect(formatUnits(-42n, 0)).toBe('-42');
    expect(formatUnits(1000n, 0)).toBe('1000');
    expect(formatUnits(5n, 1)).toBe('0.5');
    expect(formatUnits(100n, 2)).toBe('1');
    expect(formatUnits(101n, 2)).toBe('1.01');
    expect(formatUnits(-7n, 3)).toBe('-0.007');
  });
});

describe('unitsToDecimal', () => {
  it('gives the exact Decimal', () => {
    const d = unitsToDecimal(1_500_000_000_000n);
    expect(d).toBeInstanceOf(Decimal);
    expect(d.toFixed()).toBe('1.5');
    expect(d.equals(new Decimal('1.5'))).toBe(true);
    expect(unitsToDecimal(0n).toFixed()).toBe('0');
    expect(unitsToDecimal(1n).toFixed()).toBe('0.000000000001');
    expect(unitsToDecimal(-500_000_000_000n).toFixed()).toBe('-0.5');
    expect(unitsToDecimal(MAX_UNITS).toFixed()).toBe('9223372.036854775807');
    expect(unitsToDecimal(125n, 2).toFixed()).toBe('1.25');
    expect(unitsToDecimal(125n, 0).toFixed()).toBe('125');
  });
});

describe('exactness', () => {
  it('10,000 charges of 0.000001 sum to exactly 0.01', () => {
    const charge = toUnits('0.000001', 'charge');
    expect(charge).toBe(1_000_000n);
    let total = 0n;
    for (let i = 0; i < 10_000; i++) total += charge;
    expect(total).toBe(10_000_000_000n);
    expect(formatUnits(total)).toBe('0.01');
    expect(unitsToDecimal(total).equals(new Decimal('0.01'))).toBe(true);
    // what the same sum looks like in binary floating point
    let float = 0;
    for (let i = 0; i < 10_000; i++) float += 0.000001;
    expect(float).toBe(0.009999999999999105);
  });

  it('toUnits(formatUnits(u)) === u for every u in [0, MAX_UNITS]', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX_UNITS }), (u) => {
        expect(toUnits(formatUnits(u), 'u')).toBe(u);
      }),
      { numRuns: 2000 },
    );
    for (const u of [0n, 1n, 10n ** 12n, MAX_UNITS]) expect(toUnits(formatUnits(u), 'u')).toBe(u);
  });

  it('formatUnits(toUnits(s)) is the normalized decimal for any string with at most 12 decimals', () => {
    const digits = (min: number, max: number) =>
      fc.string({ unit: fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '8', '9'), minLength: min, maxLength: max });
    const decimalString = fc
      .tuple(fc.nat({ max: 3 }), fc.integer({ min: 0, max: 9_223_371 }), fc.option(digits(1, 12), { nil: undefined }))
      .map(([zeros, int, frac]) => '0'.repeat(zeros) + String(int) + (frac === undefined ? '' : `.${frac}`));
    fc.assert(
      fc.property(decimalString, (s) => {
        expect(formatUnits(toUnits(s, 's'))).toBe(new Decimal(s).toFixed());
      }),
      { numRuns: 2000 },
    );
    expect(formatUnits(toUnits('0012.340000', 's'))).toBe('12.34');
    expect(formatUnits(toUnits('9223372.000000000000', 's'))).toBe('9223372');
  });
});
