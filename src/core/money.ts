/**
 * Money and other fixed-scale quantities.
 *
 * The API speaks `Decimal` (decimal.js) and decimal strings; stores keep `bigint`
 * integers at a fixed scale. Money uses pico-units (1e-12): every published per-token
 * price ($0.0375 per million tokens is 37,500 pico-dollars a token) is then an integer,
 * so charges are exact. A store counter is a signed 64-bit integer (Redis INCRBY), so
 * the largest amount one counter holds is 9,223,372.036854775807 currency units; larger
 * budgets are refused at configuration with `invalid_input`.
 */
import { Decimal } from 'decimal.js';
import { InvalidInputError } from './errors.js';

/** Decimal places of the money scale (pico-units). */
export const MONEY_SCALE = 12;
/** Largest value one store counter holds (signed 64-bit). */
export const MAX_UNITS = 2n ** 63n - 1n;
/** Smallest value one store counter holds (signed 64-bit); internal. */
export const MIN_UNITS = -(2n ** 63n);

/** What the API accepts as an amount of money: a Decimal, a decimal string or a finite number. */
export type MoneyInput = Decimal | string | number;

const POW10: bigint[] = [];
for (let i = 0; i <= 40; i++) POW10.push(10n ** BigInt(i));

/** 10^n as a bigint (n ≤ 40). */
export function pow10(n: number): bigint {
  const p = POW10[n];
  if (p === undefined) throw new RangeError(`pow10(${n}) out of range`);
  return p;
}

const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/**
 * Parse a decimal string into an integer at `scale` decimal places.
 * Returns `undefined` for a malformed string; `rounding` decides what happens to digits
 * finer than the scale: `'exact'` returns `null`, `'ceil'` rounds toward +infinity.
 */
export function parseScaled(text: string, scale: number, rounding: 'exact' | 'ceil' = 'exact'): bigint | null | undefined {
  const m = DECIMAL_RE.exec(text.trim());
  if (!m) return undefined;
  const sign = m[1] === '-' ? -1n : 1n;
  const intPart = m[2] ?? '';
  const fracPart = m[3] ?? '';
  if (intPart === '' && fracPart === '') return undefined;
  const exp = m[4] === undefined ? 0 : Number(m[4]);
  if (!Number.isSafeInteger(exp) || Math.abs(exp) > 400) return undefined;
  const digits = (intPart + fracPart).replace(/^0+(?=\d)/, '');
  // value = digits * 10^(exp - fracPart.length); we want value * 10^scale
  const shift = exp - fracPart.length + scale;
  let result: bigint;
  if (shift >= 0) {
    result = BigInt(digits) * (shift <= 40 ? pow10(shift) : 10n ** BigInt(shift));
  } else {
    const cut = -shift;
    if (cut >= digits.length) {
      const rest = digits;
      if (/^0*$/.test(rest)) result = 0n;
      else if (rounding === 'exact') return null;
      else result = sign > 0n ? 1n : 0n;
      return result * sign;
    }
    const keep = digits.slice(0, digits.length - cut);
    const rest = digits.slice(digits.length - cut);
    result = BigInt(keep === '' ? '0' : keep);
    if (!/^0*$/.test(rest)) {
      if (rounding === 'exact') return null;
      if (sign > 0n) result += 1n;
    }
  }
  return result * sign;
}

/** Options for {@link toUnits}. */
export interface ToUnitsOptions {
  /** Decimal places of the integer representation (default: money, 12). */
  scale?: number;
  /** Accept 0 (default true). */
  allowZero?: boolean;
  /** Accept amounts finer than the scale by rounding them up (default false: refuse). */
  roundUp?: boolean;
}

/**
 * Convert a money (or other decimal) input into scaled integer units, validating it.
 * Rejects NaN, Infinity, negatives, non-numeric strings, amounts finer than the scale
 * (unless `roundUp`) and amounts above {@link MAX_UNITS}, with an `InvalidInputError`
 * naming `field`.
 */
export function toUnits(value: unknown, field: string, options: ToUnitsOptions = {}): bigint {
  const scale = options.scale ?? MONEY_SCALE;
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new InvalidInputError(field, 'must be a finite, non-negative amount', value);
    text = String(value);
  } else if (typeof value === 'string') {
    text = value;
  } else if (Decimal.isDecimal(value)) {
    const d = value as Decimal;
    if (!d.isFinite()) throw new InvalidInputError(field, 'must be a finite, non-negative amount', d.toString());
    text = d.toFixed();
  } else {
    throw new InvalidInputError(field, 'must be a Decimal, a decimal string or a finite number', value);
  }
  // Refuse negatives before rounding: rounding up would turn -1e-13 into 0.
  const trimmed = text.trim();
  if (trimmed.startsWith('-') && /[1-9]/.test(trimmed.replace(/[eE].*$/, ''))) {
    throw new InvalidInputError(field, 'must not be negative', value);
  }
  const units = parseScaled(text, scale, options.roundUp ? 'ceil' : 'exact');
  if (units === undefined) throw new InvalidInputError(field, 'must be a decimal number', value);
  if (units === null) {
    throw new InvalidInputError(field, `must have at most ${scale} decimal places`, value);
  }
  if (units < 0n) throw new InvalidInputError(field, 'must not be negative', value);
  if (units === 0n && options.allowZero === false) throw new InvalidInputError(field, 'must be greater than 0', value);
  if (units > MAX_UNITS) {
    throw new InvalidInputError(field, `must be at most ${formatUnits(MAX_UNITS, scale)}`, value);
  }
  return units;
}

/** Format scaled integer units as a plain decimal string without trailing zeros. */
export function formatUnits(units: bigint, scale: number = MONEY_SCALE): string {
  if (scale === 0) {
    // Call counts are mostly small: their text is kept rather than built on every settle.
    if (units >= 0n && units < 256n) {
      const i = Number(units);
      return (smallText[i] ??= units.toString());
    }
    return units.toString();
  }
  // Amounts repeat (estimates, prices of identical calls): a small memo skips the string work.
  const memo = scale === MONEY_SCALE ? moneyText : undefined;
  // The last money amount first: a run of identical calls skips hashing the BigInt.
  if (memo !== undefined && units === lastMoney) return lastMoneyText;
  const hit = memo?.get(units);
  if (hit !== undefined) {
    lastMoney = units;
    lastMoneyText = hit;
    return hit;
  }
  const neg = units < 0n;
  const abs = neg ? -units : units;
  const s = abs.toString().padStart(scale + 1, '0');
  let end = s.length;
  const cut = s.length - scale;
  while (end > cut && s.charCodeAt(end - 1) === 48) end--;
  const text = (neg ? '-' : '') + s.slice(0, cut) + (end === cut ? '' : `.${s.slice(cut, end)}`);
  if (memo !== undefined) {
    if (memo.size >= 4096) memo.clear();
    memo.set(units, text);
    lastMoney = units;
    lastMoneyText = text;
  }
  return text;
}

const moneyText = new Map<bigint, string>();
let lastMoney: bigint | undefined;
let lastMoneyText = '';
const smallText: (string | undefined)[] = new Array<string | undefined>(256).fill(undefined);

/** Scaled integer units back to a `Decimal`. */
export function unitsToDecimal(units: bigint, scale: number = MONEY_SCALE): Decimal {
  return new Decimal(formatUnits(units, scale));
}

/** Ceiling division of non-negative bigints. */
export function ceilDiv(a: bigint, b: bigint): bigint {
  return a === 0n ? 0n : (a + b - 1n) / b;
}

/** More than any counter holds (MAX_UNITS, a signed 64-bit integer): "never". */
const NEVER = MAX_UNITS + 1n;

/**
 * The fewest units used at which a commit has anything to tell: the lowest positive warning
 * threshold, or one past the cap of a hard limit. Below it the settle skips the limit's
 * threshold checks: each is a BigInt compare, a runtime call, and most commits reach none.
 */
export function quietBelow(thresholdUnits: readonly bigint[], max: bigint, hard: boolean): bigint {
  let q = hard ? max + 1n : NEVER;
  for (const t of thresholdUnits) if (t > 0n && t < q) q = t;
  return q;
}
