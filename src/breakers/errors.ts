/**
 * The breakers' own errors. Both are `GovernorError`s with stable codes, so a caller
 * branches on `code` or `instanceof` and never parses a message.
 */
import { CircuitOpenError, GovernorError } from '../core/index.js';

/** A call guarded by a breaker ran past the breaker's `timeout` (`timeout_exceeded`); it counts as a failure. */
export class BreakerTimeoutError extends GovernorError {
  override readonly name: string = 'BreakerTimeoutError';
  /** The breaker's key. */
  readonly breaker: string;
  /** The timeout that was passed, in ms. */
  readonly timeoutMs: number;

  constructor(breaker: string, timeoutMs: number) {
    super('timeout_exceeded', `timeout_exceeded: a call through breaker ${breaker} took longer than ${timeoutMs} ms`);
    this.breaker = breaker;
    this.timeoutMs = timeoutMs;
  }
}

/** A breaker isolated by `isolate()` refused a call (`circuit_open`); it stays open until `reset()`, so `retryAfterMs` is `Infinity`. */
export class BreakerIsolatedError extends CircuitOpenError {
  override readonly name: string = 'BreakerIsolatedError';
  /** Always true: no timer will let a call through, only `reset()`. */
  readonly isolated = true;

  constructor(breaker: string) {
    super(breaker, Number.POSITIVE_INFINITY);
    this.message = `circuit_open: breaker ${breaker} is isolated; it stays open until reset()`;
  }
}
