/**
 * What a governed call asks for, and what it reports afterwards. Per-call input is
 * checked by hand (zod per call would cost microseconds on the hot path); the checks
 * are the same ones, with the same `invalid_input` errors naming the field.
 */
import type { Decimal } from 'decimal.js';
import {
  InvalidInputError,
  parseDuration,
  scopeKey,
  toUnits,
  validateScope,
  type Duration,
  type MeterRegistry,
  type Scope,
} from '../core/index.js';
import { breakerKey, type BreakerKey } from '../breakers/index.js';

/** What kind of operation a call is; it decides the call-count meter it counts on. */
export type CallKind = 'call' | 'llm' | 'tool' | 'agentHop' | 'iteration';

/** Meter that each kind counts one of, besides `requests`. */
export const KIND_METER: Readonly<Record<CallKind, string | undefined>> = {
  call: undefined,
  llm: 'llmCalls',
  tool: 'toolCalls',
  agentHop: 'agentHops',
  iteration: 'iterations',
};

/** Usage figures per meter plus, optionally, the money cost. */
export interface UsageReport {
  /** Money spent, in the governor's currency. When absent it is priced from the tokens (if the model is priced) or taken from the estimate. */
  readonly cost?: Decimal | string | number | undefined;
  /** The model that actually served the call, when it differs from the request's. */
  readonly model?: string | undefined;
  /** Any meter: `inputTokens`, `outputTokens`, `cachedInputTokens`, `toolCalls`, ... */
  readonly [meter: string]: Decimal | string | number | undefined;
}

/** A governed call. Every field is optional. */
export interface GuardRequest<R = unknown> {
  /** The scope chain the call runs in, e.g. `{ workspace: 'acme', agent: 'researcher' }`. */
  readonly scope?: Scope | undefined;
  /** `'llm'` counts an `llmCalls`, `'tool'` a `toolCalls`, ... (default `'call'`: only `requests`). */
  readonly kind?: CallKind | undefined;
  /** A name for the ledger (`'search'`, `'summarize'`). */
  readonly name?: string | undefined;
  readonly provider?: string | undefined;
  /** The model, used to price token estimates and actual usage. */
  readonly model?: string | undefined;
  /** What the call may use: reserved before it runs. `cost` directly, or tokens priced with `model`. */
  readonly estimate?: UsageReport | undefined;
  /** How long the reservation holds before it expires on its own (default: the governor's `leaseMs`). */
  readonly leaseMs?: Duration | undefined;
  /** Aborts the call (passed on to the guarded function as `ctx.signal`). */
  readonly signal?: AbortSignal | undefined;
  /** Read the usage from the function's result (used when the function did not `report` it). */
  readonly usageOf?: ((result: R) => UsageReport | undefined) | undefined;
  /** Extra data recorded on the ledger entry. */
  readonly metadata?: { readonly [key: string]: unknown } | undefined;
  /** The user the call is made for: checked against `gov.limiter`'s limits for this user and `endpoint`. */
  readonly user?: string | undefined;
  /** The endpoint of the call for the rate limiter (default `'default'`). */
  readonly endpoint?: string | undefined;
  /** `'wait'` queues a rate-limited call (FIFO per limit) until it fits, instead of throwing. */
  readonly onRateLimit?: 'throw' | 'wait' | undefined;
  /** The longest to wait in `'wait'` mode (default: the governor's `maxWaitMs`). */
  readonly maxWaitMs?: Duration | undefined;
  /** The circuit breaker the call goes through (`gov.breakers`): a key, or `{ provider, model }`. Checked before any limit. */
  readonly breaker?: BreakerKey | undefined;
  /** The call goes through the provider's batch API: priced at its batch discount (docs/costs.md). */
  readonly batch?: boolean | undefined;
}

/** A validated request. */
export interface PreparedRequest {
  readonly scope: Scope;
  readonly scopeKey: string;
  readonly kind: CallKind;
  readonly name: string | undefined;
  readonly provider: string | undefined;
  readonly model: string | undefined;
  /**
   * Estimated units per meter (cost in pico-units). Filled while the request is prepared,
   * never changed after: a memoised request (see {@link requestMemo}) shares it between calls.
   */
  readonly estimate: Map<string, bigint>;
  readonly leaseMs: number;
  readonly signal: AbortSignal | undefined;
  readonly usageOf: ((result: never) => UsageReport | undefined) | undefined;
  readonly metadata: { readonly [key: string]: unknown } | undefined;
  readonly user: string | undefined;
  readonly endpoint: string | undefined;
  readonly onRateLimit: 'throw' | 'wait' | undefined;
  readonly maxWaitMs: number | undefined;
  /** The breaker key, if the call goes through one. */
  readonly breaker: string | undefined;
  readonly batch: boolean;
}

const KINDS: ReadonlySet<string> = new Set(Object.keys(KIND_METER));
const REQUEST_KEYS: ReadonlySet<string> = new Set([
  'scope',
  'kind',
  'name',
  'provider',
  'model',
  'estimate',
  'leaseMs',
  'signal',
  'usageOf',
  'metadata',
  'user',
  'endpoint',
  'onRateLimit',
  'maxWaitMs',
  'breaker',
  'batch',
]);

const scopeCache = new WeakMap<object, { scope: Scope; key: string }>();
const moneyMemo = new Map<unknown, bigint>();

/** Validate a scope object once per object identity (agents reuse their scope objects). */
export function prepareScope(value: unknown, field: string): { scope: Scope; key: string } {
  if (value !== null && typeof value === 'object') {
    const hit = scopeCache.get(value);
    if (hit !== undefined) return hit;
    const scope = validateScope(value, field, false);
    const r = { scope, key: scopeKey(scope) };
    if (Object.isFrozen(value)) scopeCache.set(value, r);
    return r;
  }
  const scope = validateScope(value, field, false);
  return { scope, key: scopeKey(scope) };
}

/** Money input → pico-units, rounding finer amounts up (a computed cost may carry more digits). */
export function moneyUnits(v: unknown, field: string): bigint {
  if (typeof v === 'number' || typeof v === 'string') {
    const hit = moneyMemo.get(v);
    if (hit !== undefined) return hit;
    const u = toUnits(v, field, { roundUp: true });
    if (moneyMemo.size > 4096) moneyMemo.clear();
    moneyMemo.set(v, u);
    return u;
  }
  return toUnits(v, field, { roundUp: true });
}

/**
 * Convert a usage report into units per meter, added to `out`. Unknown meters, negative,
 * fractional counts, NaN and Infinity are refused with the field named.
 */
export function usageUnits(report: unknown, field: string, meters: MeterRegistry, out: Map<string, bigint>): string | undefined {
  if (report === null || typeof report !== 'object' || Array.isArray(report)) {
    throw new InvalidInputError(field, 'must be an object of meter values', report);
  }
  let model: string | undefined;
  for (const k in report) {
    const v = (report as Record<string, unknown>)[k];
    if (v === undefined) continue;
    if (k === 'model') {
      if (typeof v !== 'string' || v === '') throw new InvalidInputError(`${field}.model`, 'must be a non-empty string', v);
      model = v;
    } else if (k === 'cost') {
      out.set('cost', moneyUnits(v, `${field}.cost`));
    } else {
      out.set(k, meters.toUnits(k, v, `${field}.${k}`));
    }
  }
  return model;
}

function optionalString(v: unknown, field: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '' || v.length > 256)
    throw new InvalidInputError(field, 'must be a non-empty string of at most 256 characters', v);
  return v;
}

/** Validate a guard request. */
export function prepareRequest(req: unknown, meters: MeterRegistry, defaultLeaseMs: number, field = 'request'): PreparedRequest {
  if (req === null || typeof req !== 'object' || Array.isArray(req)) throw new InvalidInputError(field, 'must be an object', req);
  const r = req as GuardRequest;
  for (const k in r)
    if (!REQUEST_KEYS.has(k)) throw new InvalidInputError(`${field}.${k}`, 'is not a known option', (r as Record<string, unknown>)[k]);
  const { scope, key } = prepareScope(r.scope, `${field}.scope`);
  const kind = r.kind ?? 'call';
  if (!KINDS.has(kind)) throw new InvalidInputError(`${field}.kind`, `must be one of ${[...KINDS].join(', ')}`, kind);
  const estimate = new Map<string, bigint>();
  estimate.set('requests', 1n);
  const kindMeter = KIND_METER[kind];
  if (kindMeter !== undefined) estimate.set(kindMeter, 1n);
  if (r.estimate !== undefined) usageUnits(r.estimate, `${field}.estimate`, meters, estimate);
  if (r.signal !== undefined && !(r.signal instanceof AbortSignal))
    throw new InvalidInputError(`${field}.signal`, 'must be an AbortSignal', r.signal);
  if (r.usageOf !== undefined && typeof r.usageOf !== 'function')
    throw new InvalidInputError(`${field}.usageOf`, 'must be a function', r.usageOf);
  if (r.metadata !== undefined && (r.metadata === null || typeof r.metadata !== 'object')) {
    throw new InvalidInputError(`${field}.metadata`, 'must be an object', r.metadata);
  }
  return {
    scope,
    scopeKey: key,
    kind,
    name: optionalString(r.name, `${field}.name`),
    provider: optionalString(r.provider, `${field}.provider`),
    model: optionalString(r.model, `${field}.model`),
    estimate,
    leaseMs: r.leaseMs === undefined ? defaultLeaseMs : parseDuration(r.leaseMs, `${field}.leaseMs`),
    signal: r.signal,
    usageOf: r.usageOf as PreparedRequest['usageOf'],
    metadata: r.metadata,
    user: optionalString(r.user, `${field}.user`),
    endpoint: optionalString(r.endpoint, `${field}.endpoint`),
    onRateLimit: onRateLimit(r.onRateLimit, `${field}.onRateLimit`),
    maxWaitMs: r.maxWaitMs === undefined ? undefined : parseDuration(r.maxWaitMs, `${field}.maxWaitMs`, true),
    breaker: r.breaker === undefined ? undefined : breakerKey(r.breaker, `${field}.breaker`),
    batch: batchFlag(r.batch, `${field}.batch`),
  };
}

/**
 * The last request a governor prepared, kept when it has the common shape: a frozen
 * scope, a kind and a money-only estimate (`{ scope, kind: 'llm', estimate: { cost: '0.001' } }`).
 * Preparing it again would build a new estimate Map and request object per call (about
 * a tenth of a governed call's overhead); the same input prepares to the same result.
 */
export interface RequestMemo {
  readonly scope: object;
  readonly kind: unknown;
  readonly cost: unknown;
  readonly prepared: PreparedRequest;
}

/**
 * The memo for `req` prepared as `prepared`, or undefined when `req` is not of the memo's
 * shape: only `scope` (frozen, so its identity stands for its content), `kind` and an
 * `estimate` whose only key is a string or number `cost`.
 */
export function requestMemo(req: unknown, prepared: PreparedRequest): RequestMemo | undefined {
  const r = req as GuardRequest;
  const scope = r.scope;
  if (scope === null || typeof scope !== 'object' || !Object.isFrozen(scope)) return undefined;
  const e = r.estimate;
  if (!simpleShape(r, e)) return undefined;
  const cost = (e as UsageReport).cost;
  if (typeof cost !== 'string' && typeof cost !== 'number') return undefined;
  return { scope, kind: r.kind, cost, prepared };
}

/** True when `req` prepares to `memo.prepared`: the same frozen scope, kind and cost, and no other key. */
export function memoMatches(req: unknown, memo: RequestMemo): boolean {
  if (req === null || typeof req !== 'object') return false;
  const r = req as GuardRequest;
  const e = r.estimate;
  return (
    r.scope === memo.scope &&
    r.kind === memo.kind &&
    e !== null &&
    typeof e === 'object' &&
    (e as UsageReport).cost === memo.cost &&
    simpleShape(r, e)
  );
}

function simpleShape(r: GuardRequest, e: unknown): boolean {
  if (Array.isArray(r) || e === null || typeof e !== 'object' || Array.isArray(e)) return false;
  for (const k in r) if (k !== 'scope' && k !== 'kind' && k !== 'estimate') return false;
  for (const k in e) if (k !== 'cost') return false;
  return true;
}

function onRateLimit(v: unknown, field: string): 'throw' | 'wait' | undefined {
  if (v === undefined || v === 'throw' || v === 'wait') return v;
  throw new InvalidInputError(field, "must be 'throw' or 'wait'", v);
}

function batchFlag(v: unknown, field: string): boolean {
  if (v === undefined || v === false) return false;
  if (v === true) return true;
  throw new InvalidInputError(field, 'must be a boolean', v);
}
