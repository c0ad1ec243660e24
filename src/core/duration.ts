import { Decimal } from 'decimal.js';
import { InvalidInputError } from './errors.js';

/** A duration: milliseconds, or a typed string such as `'500ms'`, `'30s'`, `'5m'`, `'1h'`, `'1d'`, `'1w'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd' | 'w'}`;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;

/** Parse a {@link Duration} into whole milliseconds (> 0 unless `allowZero`), naming `field` on error. */
export function parseDuration(value: unknown, field: string, allowZero = false): number {
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string') {
    const m = DURATION_RE.exec(value.trim());
    if (!m) {
      throw new InvalidInputError(field, "must be milliseconds or a duration such as '30s', '5m', '1h', '1d'", value);
    }
    // Exact decimal product: in floats '1.1h' would be 3960000.0000000005 ms.
    ms = new Decimal(m[1] as string).times(UNIT_MS[m[2] as string] as number).toNumber();
  } else {
    throw new InvalidInputError(field, "must be milliseconds or a duration such as '30s', '5m', '1h', '1d'", value);
  }
  if (!Number.isFinite(ms) || ms < 0 || !Number.isInteger(ms) || (!allowZero && ms === 0)) {
    throw new InvalidInputError(field, `must be a whole number of milliseconds ${allowZero ? '>= 0' : '> 0'}`, value);
  }
  if (ms > 366 * 86_400_000 * 100) throw new InvalidInputError(field, 'must be at most 100 years', value);
  return ms;
}
