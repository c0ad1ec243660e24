import { expect } from 'vitest';
import { InvalidInputError } from '../src/core/index.js';

/** Run `fn`, expect it to throw an InvalidInputError, and return it for closer checks. */
export function invalid(fn: () => unknown): InvalidInputError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidInputError);
    return e as InvalidInputError;
  }
  throw new Error('expected an InvalidInputError, nothing was thrown');
}
