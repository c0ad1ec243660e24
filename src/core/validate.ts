/**
 * Validation at the boundary with zod: the first issue becomes an `InvalidInputError`
 * that names the field path and echoes the offending value.
 */
import { z } from 'zod';
import type { Clock } from './clock.js';
import { GovernorError, InvalidInputError } from './errors.js';

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function joinPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else out += out === '' ? String(k) : `.${String(k)}`;
  }
  return out === '' ? 'value' : out;
}

/** Parse `value` with `schema`; on failure throw an `InvalidInputError` for the first issue, under `field`. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, field: string): z.output<S> {
  let r: ReturnType<S['safeParse']>;
  try {
    r = schema.safeParse(value) as ReturnType<S['safeParse']>;
  } catch (e) {
    // Our own refinements throw InvalidInputError with a precise field; let it through.
    if (e instanceof GovernorError) throw e;
    throw e;
  }
  if (r.success) return r.data as z.output<S>;
  const issue = r.error.issues[0] as z.core.$ZodIssue;
  const path = issue.path as PropertyKey[];
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] as string;
    throw new InvalidInputError(joinPath(field, [...path, key]), 'is not a known option', valueAt(value, [...path, key]));
  }
  throw new InvalidInputError(joinPath(field, path), lowerFirst(issue.message), valueAt(value, path));
}

function lowerFirst(s: string): string {
  const m = s.replace(/^Invalid input: /, '');
  return `must be valid: ${m.charAt(0).toLowerCase()}${m.slice(1)}`;
}

/** A zod schema for money inputs: a Decimal, a decimal string or a finite number. */
export const moneyInput = z.custom<import('decimal.js').Decimal | string | number>(
  (v) =>
    typeof v === 'string' ||
    (typeof v === 'number' && Number.isFinite(v)) ||
    (v !== null && typeof v === 'object' && (v as { constructor?: { name?: string } }).constructor?.name === 'Decimal'),
  { message: 'Expected a Decimal, a decimal string or a finite number' },
);

/** True for a promise or any thenable (stores may return another Promise implementation). */
export function isPromiseLike<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof (v as PromiseLike<T>).then === 'function';
}

/**
 * A schema for an object that has these methods, typed as `T` (a Store, a Clock): checked
 * structurally, so a user's own adapter passes. `what` is the expected thing, for the message.
 */
export function objectWith<T>(methods: readonly string[], what: string): z.ZodType<T> {
  return z.custom<T>(
    (v) => v !== null && typeof v === 'object' && methods.every((m) => typeof (v as Record<string, unknown>)[m] === 'function'),
    { message: `Expected ${what}` },
  );
}

/** A Clock option: an object with `now`, `monotonic` and `sleep`. */
export const clockSchema = objectWith<Clock>(['now', 'monotonic', 'sleep'], 'a Clock (an object with now, monotonic and sleep)');
