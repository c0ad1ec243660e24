/**
 * Helpers that keep the tracker synchronous over a synchronous store (the in-memory one
 * answers at once, so a read costs no microtask) and promise-based over a network store.
 */
import { isPromiseLike } from '../core/index.js';

/** Run `f`; its value, promise or throw as a promise. */
export function attempt<T>(f: () => T | PromiseLike<T>): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Apply `f` to a value (not named `then`: a module exporting `then` is a thenable namespace) or a promise of one, staying synchronous for a synchronous store. */
export function andThen<T, U>(v: T | PromiseLike<T>, f: (t: T) => U | PromiseLike<U>): U | PromiseLike<U> {
  return isPromiseLike(v) ? Promise.resolve(v).then(f) : f(v);
}
