/**
 * Resource overrun, the seed's second kind of failure: a call that used more than its
 * estimate × `thresholdMultiplier`. Compared exactly, in integers: 0.16 > 0.10 × 1.5
 * and 0.15 is not, with no float in between.
 */
import { Decimal } from 'decimal.js';
import { InvalidInputError, parseScaled, type MoneyInput } from '../core/index.js';
import { exceedsRatio, type Ratio } from './options.js';

/** What a call was expected to use and what it used: both amounts (Decimal, decimal string, number) or both integer units (bigint). */
export interface OverrunInput {
  readonly estimate: MoneyInput | bigint;
  readonly actual: MoneyInput | bigint;
}

function amount(v: unknown, field: string): Decimal {
  let d: Decimal;
  if (typeof v === 'bigint') d = new Decimal(v.toString());
  else if (typeof v === 'number' && Number.isFinite(v)) d = new Decimal(String(v));
  else if (typeof v === 'string' || Decimal.isDecimal(v)) {
    try {
      d = new Decimal(v as string | Decimal);
    } catch {
      throw new InvalidInputError(field, 'must be a decimal amount', v);
    }
  } else {
    throw new InvalidInputError(field, 'must be a Decimal, a decimal string, a finite number or bigint units', v);
  }
  if (!d.isFinite() || d.isNegative()) throw new InvalidInputError(field, 'must be a finite amount >= 0', v);
  return d;
}

/** True when `actual > estimate × ratio`; an estimate of 0 (no estimate) never overruns. */
export function isOverrun(input: OverrunInput, ratio: Ratio, field = 'overrun'): boolean {
  if (input === null || typeof input !== 'object') throw new InvalidInputError(field, 'must be an object { estimate, actual }', input);
  const { estimate, actual } = input;
  if (typeof estimate === 'bigint' && typeof actual === 'bigint') {
    if (estimate < 0n) throw new InvalidInputError(`${field}.estimate`, 'must be a finite amount >= 0', estimate);
    if (actual < 0n) throw new InvalidInputError(`${field}.actual`, 'must be a finite amount >= 0', actual);
    return exceedsRatio(estimate, actual, ratio);
  }
  const e = amount(estimate, `${field}.estimate`);
  const a = amount(actual, `${field}.actual`);
  // Scale both to integers at the finer of their two precisions: exact, whatever the digits.
  const scale = Math.max(e.decimalPlaces(), a.decimalPlaces());
  return exceedsRatio(parseScaled(e.toFixed(), scale) as bigint, parseScaled(a.toFixed(), scale) as bigint, ratio);
}
