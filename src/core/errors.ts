/**
 * The error family of agent-governor. Every thrown error is a `GovernorError` with a
 * stable `code`; refusals carry the data a caller needs (limit, scope, requested,
 * available, retryAfterMs) so nobody has to parse a message.
 */

/** Stable codes. Refusal codes for quota meters follow the seeds' reasons. */
export type GovernorErrorCode =
  | 'invalid_input'
  | 'budget_exceeded'
  | 'rate_limited'
  | 'circuit_open'
  | 'store_unavailable'
  | 'reservation_closed'
  | 'unsupported'
  | 'limit_exceeded'
  | 'max_llm_calls_exceeded'
  | 'max_tool_calls_exceeded'
  | 'max_agent_hops_exceeded'
  | 'max_iterations_exceeded'
  | 'max_input_tokens_exceeded'
  | 'max_output_tokens_exceeded'
  | 'max_context_tokens_exceeded'
  | 'timeout_exceeded'
  | 'unknown_model'
  | 'currency_mismatch';

/** Base class of every error this library throws. */
export class GovernorError extends Error {
  override readonly name: string = 'GovernorError';
  readonly code: GovernorErrorCode;

  constructor(code: GovernorErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}

/** True when `e` is any error thrown by agent-governor. */
export function isGovernorError(e: unknown): e is GovernorError {
  return e instanceof GovernorError;
}

/** A value failed validation. `field` is the path of the offending value; `value` echoes it. */
export class InvalidInputError extends GovernorError {
  override readonly name: string = 'InvalidInputError';
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, requirement: string, value: unknown) {
    super('invalid_input', `invalid_input: ${field} ${requirement} (got ${describeValue(value)})`);
    this.field = field;
    this.value = value;
  }
}

/** Where a refusal came from: which limit, on which scope, and how it is counted. */
export interface RefusalDetails {
  /** The id of the refusing limit. */
  readonly limit: string;
  /** The meter the limit caps (`cost`, `llmCalls`, `requests`, ...). */
  readonly meter: string;
  /** The scope the limit is set on, as a key (`workspace=acme/agent=a1`). */
  readonly scope: string;
  /** What the refused call asked for, in the meter's unit (a decimal string for money). */
  readonly requested: string;
  /** What the limit had left when the call was refused (never negative). */
  readonly available: string;
  /** The cap itself. */
  readonly max: string;
  /** When a retry can succeed, if the governor knows (rate limits, calendar periods). */
  readonly retryAfterMs: number | undefined;
}

/** A hard limit refused a call; nothing was charged. */
export class LimitExceededError extends GovernorError implements RefusalDetails {
  override readonly name: string = 'LimitExceededError';
  readonly limit: string;
  readonly meter: string;
  readonly scope: string;
  readonly requested: string;
  readonly available: string;
  readonly max: string;
  readonly retryAfterMs: number | undefined;

  constructor(code: GovernorErrorCode, d: RefusalDetails) {
    super(
      code,
      `${code}: ${d.meter} limit ${d.limit} on ${d.scope || '(global)'} refused ${d.requested}; ` +
        `${d.available} of ${d.max} available` +
        (d.retryAfterMs === undefined ? '' : `; retry after ${d.retryAfterMs} ms`),
    );
    this.limit = d.limit;
    this.meter = d.meter;
    this.scope = d.scope;
    this.requested = d.requested;
    this.available = d.available;
    this.max = d.max;
    this.retryAfterMs = d.retryAfterMs;
  }
}

/** A cheaper way to do the refused work, configured on a budget (seed 000's `alternatives`). */
export interface BudgetAlternative {
  /** A model to use instead (e.g. a cheaper one). */
  readonly model?: string | undefined;
  readonly provider?: string | undefined;
  /** What to do, in words. */
  readonly description?: string | undefined;
  readonly [key: string]: unknown;
}

/** A hard money budget refused a call (`budget_exceeded`). */
export class BudgetExceededError extends LimitExceededError {
  override readonly name: string = 'BudgetExceededError';
  /** The budget's currency. */
  readonly currency: string;
  /** Cheaper options configured on the refusing budget (empty when none). */
  readonly alternatives: readonly BudgetAlternative[];
  constructor(d: RefusalDetails & { currency: string; alternatives?: readonly BudgetAlternative[] | undefined }) {
    super('budget_exceeded', d);
    this.currency = d.currency;
    this.alternatives = d.alternatives ?? [];
  }
}

/** A sliding-window rate limit refused a call (`rate_limited`); `retryAfterMs` is always set. */
export class RateLimitedError extends LimitExceededError {
  override readonly name: string = 'RateLimitedError';
  declare readonly retryAfterMs: number;
  constructor(d: RefusalDetails & { retryAfterMs: number }) {
    super('rate_limited', d);
  }
}

/** A circuit breaker is open (`circuit_open`). */
export class CircuitOpenError extends GovernorError {
  override readonly name: string = 'CircuitOpenError';
  readonly breaker: string;
  readonly retryAfterMs: number;
  constructor(breaker: string, retryAfterMs: number) {
    super('circuit_open', `circuit_open: breaker ${breaker} is open; retry after ${retryAfterMs} ms`);
    this.breaker = breaker;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The store could not be reached or failed (`store_unavailable`). */
export class StoreUnavailableError extends GovernorError {
  override readonly name: string = 'StoreUnavailableError';
  /** The store operation that failed (`reserve`, `commit`, `appendLedger`, ...). */
  readonly operation: string;
  constructor(operation: string, cause?: unknown) {
    super('store_unavailable', `store_unavailable: ${operation} failed`, { cause });
    this.operation = operation;
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') {
    try {
      const s = JSON.stringify(value);
      return s.length > 80 ? `${s.slice(0, 77)}...` : s;
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
  return String(value);
}
