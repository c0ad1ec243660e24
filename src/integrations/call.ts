/**
 * What every SDK integration shares: the options, the request a governed LLM call makes,
 * the record of one call (time to first token, text received, the provider's usage), and
 * how that record is settled — from the provider's usage when it came, else from the best
 * figure (input estimate + output counted from the text received), marked estimated.
 */
import { z } from 'zod';
import { parseInput, RateLimitedError, type Duration, type Scope } from '../core/index.js';
import type { Governor, GuardRequest, Reservation, UsageReport } from '../index.js';

/** Options shared by `governOpenAI`, `governAnthropic` and `governorMiddleware`. Every field is optional. */
export interface IntegrationOptions {
  /** The scope every call is charged to, e.g. `{ project: 'support', agent: 'triage' }`. */
  readonly scope?: Scope | undefined;
  /** The user the calls are made for (checked against `gov.limiter`). */
  readonly user?: string | undefined;
  /** The rate limiter's endpoint (default `'default'`). */
  readonly endpoint?: string | undefined;
  /** The ledger name of each call (default: the API, e.g. `'openai.chat.completions'`). */
  readonly name?: string | undefined;
  /** Extra data on every ledger entry (next to `api`, `stream` and `ttftMs`). */
  readonly metadata?: { readonly [key: string]: unknown } | undefined;
  /** Output tokens reserved when a request sets no maximum (default 4,096). */
  readonly defaultMaxOutputTokens?: number | undefined;
  /** Send each call through the circuit breaker `{ provider, model }` (default true). */
  readonly breaker?: boolean | undefined;
  /** `'wait'` waits out rate limits (the governor's and a provider's `retry-after`) instead of throwing. */
  readonly onRateLimit?: 'throw' | 'wait' | undefined;
  /** The longest to wait in `'wait'` mode (default: the governor's `maxWaitMs`). */
  readonly maxWaitMs?: Duration | undefined;
  /** How long a reservation holds (default: the governor's `leaseMs`). A stream is settled when it ends, however long. */
  readonly leaseMs?: Duration | undefined;
}

const optionsSchema = z
  .object({
    scope: z.record(z.string(), z.unknown()).optional(),
    user: z.string().min(1).max(256).optional(),
    endpoint: z.string().min(1).max(256).optional(),
    name: z.string().min(1).max(256).optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    defaultMaxOutputTokens: z.number().int().positive().max(10_000_000).optional(),
    breaker: z.boolean().optional(),
    onRateLimit: z.enum(['throw', 'wait']).optional(),
    maxWaitMs: z.union([z.number(), z.string()]).optional(),
    leaseMs: z.union([z.number(), z.string()]).optional(),
  })
  .strict();

/** Output tokens reserved for a request that sets no maximum. */
export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

/** Tokens per character of text, the usual rule of thumb (about 4 characters a token in English). */
const CHARS_PER_TOKEN = 4;
/** Tokens counted for an image, audio or file part of a prompt (its bytes are not text). */
export const MEDIA_PART_TOKENS = 1000;
/** Tokens of framing per message (role, separators), as OpenAI documents for chat. */
const MESSAGE_OVERHEAD_TOKENS = 4;

/** Validated options plus the governor they work with. */
export interface Integration {
  readonly gov: Governor;
  readonly o: IntegrationOptions;
}

/** Validate integration options once, naming the field on a bad one. */
export function integration(gov: Governor, options: IntegrationOptions | undefined, field: string): Integration {
  if (gov === null || typeof gov !== 'object' || typeof (gov as Governor).reserve !== 'function') {
    throw new TypeError(`${field}: gov must be a Governor (from createGovernor())`);
  }
  const o = parseInput(optionsSchema, options ?? {}, field) as IntegrationOptions;
  return { gov, o };
}

/** Token counts as a provider reports them, normalized: `inputTokens` includes cache reads and writes; `outputTokens` includes reasoning. */
export interface NormalUsage {
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  /** Anthropic's cache writes by lifetime (parts of `cacheWriteTokens`), when the provider split them. */
  cacheWrite5mTokens?: number | undefined;
  cacheWrite1hTokens?: number | undefined;
}

/** What a governed call is, as read from its request. */
export interface CallPlan {
  /** Provider id: `openai`, `anthropic`, or the AI SDK provider's first segment. */
  readonly provider: string;
  readonly model: string;
  /** The API called: `openai.chat.completions`, `openai.responses`, `anthropic.messages`, `ai.generate`, `ai.stream`. */
  readonly api: string;
  readonly stream: boolean;
  /** Estimated input tokens (from the prompt's text). */
  readonly inputTokens: number;
  /** The request's output cap, if it set one. */
  readonly maxOutputTokens: number | undefined;
  /** The caller's abort signal, if any. */
  readonly signal: AbortSignal | undefined;
}

/** How a call ended without the provider's final usage. */
export type Interruption = 'aborted' | 'stopped' | 'error' | 'no-usage';

/** One governed call in flight: timing, text received, usage reported, and its ledger data. */
export class CallRecord {
  /** Monotonic ms when the provider was called. */
  private t0 = 0;
  /** Characters of output text received (content, reasoning, tool arguments). */
  chars = 0;
  /** Output pieces received (stream deltas carrying text). */
  pieces = 0;
  /** The provider's usage, when it reported it. */
  usage: NormalUsage | undefined;
  /** True when `usage` is complete (the final usage), false when it is a stream's early partial report. */
  final = false;
  /** The model that served the call, as the provider named it. */
  served: string | undefined;
  /** The ledger entry's `data`: filled in as the call runs (the entry is written when it settles). */
  readonly data: Record<string, unknown>;

  constructor(
    readonly ig: Integration,
    readonly plan: CallPlan,
  ) {
    this.data = { ...ig.o.metadata, api: plan.api, stream: plan.stream };
  }

  /** The provider is being called now. */
  start(): void {
    this.t0 = this.ig.gov.clock.monotonic();
  }

  /** Output arrived: the first call fixes the time to first token. */
  firstToken(): void {
    if (this.data.ttftMs === undefined) this.data.ttftMs = this.ig.gov.clock.monotonic() - this.t0;
  }

  /** Count output text received. */
  text(s: string | undefined | null): void {
    if (typeof s !== 'string' || s.length === 0) return;
    this.firstToken();
    this.chars += s.length;
    this.pieces++;
  }

  /** The guard request of this call. */
  request(): GuardRequest {
    const { o } = this.ig;
    const p = this.plan;
    return {
      scope: o.scope,
      kind: 'llm',
      name: o.name ?? p.api,
      provider: p.provider,
      model: p.model,
      estimate: { inputTokens: p.inputTokens, outputTokens: p.maxOutputTokens ?? o.defaultMaxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS },
      breaker: o.breaker === false ? undefined : { provider: p.provider, model: p.model },
      user: o.user,
      endpoint: o.endpoint,
      signal: p.signal,
      metadata: this.data,
      onRateLimit: o.onRateLimit,
      maxWaitMs: o.maxWaitMs,
      leaseMs: o.leaseMs,
    };
  }

  /** Output tokens counted from the text received: one per piece at least, one per 4 characters at least, within the request's cap. */
  countedOutput(): number {
    const counted = Math.max(this.pieces, Math.ceil(this.chars / CHARS_PER_TOKEN));
    const cap = this.plan.maxOutputTokens;
    return cap === undefined ? counted : Math.min(counted, cap);
  }

  /** The best figure when the final usage is missing: what the provider said so far, else the input estimate, plus output counted from the text. */
  bestFigure(): NormalUsage {
    const u = this.usage;
    return {
      inputTokens: u?.inputTokens ?? this.plan.inputTokens,
      outputTokens: Math.max(u?.outputTokens ?? 0, this.countedOutput()),
      cachedInputTokens: u?.cachedInputTokens ?? 0,
      cacheWriteTokens: u?.cacheWriteTokens ?? 0,
      reasoningTokens: u?.reasoningTokens ?? 0,
      cacheWrite5mTokens: u?.cacheWrite5mTokens,
      cacheWrite1hTokens: u?.cacheWrite1hTokens,
    };
  }

  /** The usage report to charge: the provider's final usage, else the best figure (and whether it is an estimate). */
  report(): { usage: UsageReport; estimated: boolean } {
    const estimated = this.usage === undefined || !this.final;
    const u = estimated ? this.bestFigure() : (this.usage as NormalUsage);
    const gov = this.ig.gov;
    const usage: Record<string, number | string> = {
      inputTokens: u.inputTokens,
      outputTokens: u.outputTokens,
      cachedInputTokens: u.cachedInputTokens,
      cacheWriteTokens: u.cacheWriteTokens,
      reasoningTokens: u.reasoningTokens,
    };
    // The 5-minute / 1-hour split is kept on the entry; charged on its own meters when the governor has them.
    for (const k of ['cacheWrite5mTokens', 'cacheWrite1hTokens'] as const) {
      const v = u[k];
      if (v === undefined) continue;
      this.data[k] = v;
      if (gov.meters.has(k)) usage[k] = v;
    }
    if (this.served !== undefined && this.served !== this.plan.model) {
      this.data.servedModel = this.served;
      // A dated snapshot can cost differently from its alias: price the model that served the call when it has a price.
      if (gov.costs.has(this.served, this.plan.provider)) usage.model = this.served;
    }
    return { usage, estimated };
  }

  /** Put the call's usage on its reservation (the guard() path settles it). */
  reportTo(r: Reservation): void {
    const { usage, estimated } = this.report();
    if (estimated && this.data.interrupted === undefined) this.data.interrupted = 'no-usage';
    r.report(usage, { estimated });
  }
}

/**
 * Settles a streamed call exactly once, whichever comes first: the stream's end, the
 * consumer stopping, an abort, or an error. Never leaves the reservation open and never
 * throws into the stream (a store fault is reported by the governor as `store.error`).
 */
export class StreamSettler {
  private closed = false;
  /** Set when the consumer stops reading (so the abort the SDK then raises is not taken for the caller's). */
  stopping = false;
  /** True while a read of the provider's stream is pending: an abort then surfaces through that read. */
  reading = false;

  constructor(
    private readonly r: Reservation,
    private readonly rec: CallRecord,
    /** The stream's own abort signal (the SDK's controller), if it has one. */
    streamSignal: AbortSignal | undefined,
  ) {
    // An abort while nobody reads would never surface: settle on it. (The SDK also aborts its controller when a read fails.)
    streamSignal?.addEventListener('abort', () => void (this.reading ? undefined : this.end(this.stopping ? 'stopped' : 'aborted')), {
      once: true,
    });
  }

  get done(): boolean {
    return this.closed;
  }

  /** Settle: at the final usage when it came, else at the best figure with `how` on the entry. */
  end(how: Interruption | 'complete'): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    const { usage, estimated } = this.rec.report();
    if (estimated) this.rec.data.interrupted = how === 'complete' ? 'no-usage' : how;
    return this.r.settle(usage, { estimated }).then(noop, noop);
  }

  /** The stream failed: a caller's abort settles like `end`; a provider or network error is charged and counted in the breaker. */
  error(e: unknown): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.stopping || isAbort(e, this.rec.plan.signal)) return this.end(this.stopping ? 'stopped' : 'aborted');
    this.closed = true;
    noteProviderError(this.rec.ig.gov, this.rec.plan, e);
    const { usage, estimated } = this.rec.report();
    if (estimated) this.rec.data.interrupted = 'error';
    try {
      this.r.report(usage, { estimated });
    } catch {
      // A figure the governor refuses cannot happen for counts we built; release rather than leave the hold.
    }
    return Promise.resolve(this.r.fail(e)).then(noop, noop);
  }
}

function noop(): void {}

/** An abort by the caller (not a provider fault): their signal or the stream's was aborted, or the error says so. */
export function isAbort(e: unknown, ...signals: (AbortSignal | undefined)[]): boolean {
  if (signals.some((s) => s?.aborted === true)) return true;
  if (!(e instanceof Error)) return false;
  // openai's APIUserAbortError keeps the name 'Error': its class name tells.
  const names = [e.name, e.constructor.name];
  return names.includes('AbortError') || names.includes('APIUserAbortError');
}

// ---- a provider's 429 and its retry-after ---------------------------------------------------

/** Per governor: provider/model → epoch ms until which the provider asked us to wait. */
const cooldowns = new WeakMap<Governor, Map<string, number>>();

function cooldownKey(plan: CallPlan): string {
  return `${plan.provider}/${plan.model}`;
}

/** The status of an SDK error (`status` in openai and @anthropic-ai/sdk, `statusCode` in the AI SDK). */
export function errorStatus(e: unknown): number | undefined {
  if (e === null || typeof e !== 'object') return undefined;
  const x = e as { status?: unknown; statusCode?: unknown };
  return typeof x.status === 'number' ? x.status : typeof x.statusCode === 'number' ? x.statusCode : undefined;
}

/** Milliseconds a 429's headers ask to wait: `retry-after-ms`, else `retry-after` in seconds or as an HTTP date. */
export function retryAfterMs(e: unknown, nowMs: number): number | undefined {
  if (e === null || typeof e !== 'object') return undefined;
  const x = e as { headers?: unknown; responseHeaders?: unknown };
  const h = x.headers ?? x.responseHeaders;
  const get = (name: string): string | undefined => {
    if (h === null || typeof h !== 'object') return undefined;
    if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined;
    const v = (h as Record<string, unknown>)[name];
    return typeof v === 'string' ? v : undefined;
  };
  const ms = Number(get('retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return Math.ceil(ms);
  const ra = get('retry-after');
  if (ra === undefined) return undefined;
  const s = Number(ra);
  if (Number.isFinite(s) && s >= 0) return Math.ceil(s * 1000);
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** A provider error: a 429 with retry-after makes further calls to that provider/model wait (or be refused) until then. */
export function noteProviderError(gov: Governor, plan: CallPlan, e: unknown): void {
  if (errorStatus(e) !== 429) return;
  const now = gov.clock.now();
  const ms = retryAfterMs(e, now);
  if (ms === undefined || ms <= 0) return;
  let m = cooldowns.get(gov);
  if (m === undefined) cooldowns.set(gov, (m = new Map()));
  const until = now + ms;
  const key = cooldownKey(plan);
  if ((m.get(key) ?? 0) < until) m.set(key, until);
}

/**
 * Before a call: if its provider/model answered 429 with a `retry-after` that has not
 * passed, refuse with `RateLimitedError` (limit `provider.retryAfter`), or wait it out in
 * `'wait'` mode. Nothing is reserved or charged for a refused call.
 */
export function providerCooldown(ig: Integration, plan: CallPlan): void | Promise<void> {
  const m = cooldowns.get(ig.gov);
  if (m === undefined) return;
  const key = cooldownKey(plan);
  const until = m.get(key);
  if (until === undefined) return;
  const left = until - ig.gov.clock.now();
  if (left <= 0) {
    m.delete(key);
    return;
  }
  if (ig.o.onRateLimit === 'wait') return ig.gov.clock.sleep(left, plan.signal);
  throw new RateLimitedError({
    limit: 'provider.retryAfter',
    meter: 'requests',
    scope: key,
    requested: '1',
    available: '0',
    max: '0',
    retryAfterMs: left,
  });
}

// ---- running a call -------------------------------------------------------------------------

/** What the SDK's `withResponse()` resolves to. */
export interface WithResponse<T> {
  readonly data: T;
  readonly response: unknown;
  readonly request_id?: string | null | undefined;
}

/** A non-streamed call: admit, call, read the usage from the result, settle (the guard() pipeline). */
export async function runCall<T>(
  rec: CallRecord,
  call: () => Promise<WithResponse<T>>,
  read: (data: T, rec: CallRecord) => void,
): Promise<WithResponse<T>> {
  await providerCooldown(rec.ig, rec.plan);
  return rec.ig.gov.guard(rec.request(), async (r) => {
    rec.start();
    let out: WithResponse<T>;
    try {
      out = await call();
    } catch (e) {
      noteProviderError(rec.ig.gov, rec.plan, e);
      throw e;
    }
    rec.firstToken();
    read(out.data, rec);
    if (rec.usage !== undefined) rec.final = true;
    rec.reportTo(r);
    return out;
  });
}

/** A streamed call: admit and hold the estimate, call; the caller wraps the stream and settles through the returned settler. */
export async function startStream<T>(
  rec: CallRecord,
  call: () => Promise<WithResponse<T>>,
): Promise<{ out: WithResponse<T>; r: Reservation }> {
  await providerCooldown(rec.ig, rec.plan);
  const r = await rec.ig.gov.reserve(rec.request());
  rec.start();
  try {
    return { out: await call(), r };
  } catch (e) {
    noteProviderError(rec.ig.gov, rec.plan, e);
    await Promise.resolve(r.fail(e)).then(noop, noop);
    throw e;
  }
}

/**
 * Iterate `source` for the consumer, passing each item through `onItem` (which returns the
 * item to hand on, or undefined to hide it), and settle once however the iteration ends.
 */
export async function* accounted<C>(source: AsyncIterable<C>, settler: StreamSettler, onItem: (c: C) => C | undefined): AsyncGenerator<C> {
  const it = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      let n: IteratorResult<C>;
      settler.reading = true;
      try {
        n = await it.next();
      } catch (e) {
        finished = true;
        await settler.error(e);
        throw e;
      } finally {
        settler.reading = false;
      }
      if (n.done === true) break;
      const out = onItem(n.value);
      if (out !== undefined) yield out;
    }
    finished = true;
    await settler.end('complete');
  } finally {
    if (!finished) {
      // The consumer stopped reading (break, return): stop the provider's stream and settle on what arrived.
      settler.stopping = true;
      try {
        await it.return?.();
      } finally {
        await settler.end('stopped');
      }
    }
  }
}

/**
 * A new stream object of the SDK's own class over `iterate` (so `tee()`, `toReadableStream()`
 * and `controller` behave as the SDK's); a plain async iterable if the class is not the SDK's.
 */
export function rewrap<C>(source: AsyncIterable<C> & { controller?: AbortController }, iterate: () => AsyncIterator<C>): AsyncIterable<C> {
  const Ctor = (source as { constructor?: unknown }).constructor as
    (new (iterator: () => AsyncIterator<C>, controller: AbortController | undefined) => AsyncIterable<C>) | undefined;
  if (typeof Ctor === 'function' && (Ctor as unknown) !== Object && typeof (source as { tee?: unknown }).tee === 'function') {
    return new Ctor(iterate, source.controller);
  }
  return { [Symbol.asyncIterator]: iterate };
}

/**
 * The SDK's promise shape: a promise of the data with `withResponse()` and `asResponse()`,
 * as `openai` and `@anthropic-ai/sdk` return (their stream helpers call `withResponse()`).
 */
export function sdkPromise<T>(inner: Promise<WithResponse<T>>): Promise<T> & {
  withResponse(): Promise<WithResponse<T>>;
  asResponse(): Promise<unknown>;
} {
  const p = inner.then((x) => x.data) as Promise<T> & { withResponse(): Promise<WithResponse<T>>; asResponse(): Promise<unknown> };
  // Whoever uses withResponse() never awaits p: its rejection is theirs through inner, not an unhandled one.
  p.catch(noop);
  p.withResponse = () => inner;
  p.asResponse = () => inner.then((x) => x.response);
  return p;
}

// ---- estimating a prompt ----------------------------------------------------------------------

/**
 * Estimated tokens of a prompt: its text at 4 characters a token, 4 tokens of framing per
 * message, and {@link MEDIA_PART_TOKENS} for each image, audio or file part (base64 data
 * and URLs of media are not counted as text).
 */
export function promptTokens(messages: unknown, ...extra: unknown[]): number {
  const acc = { chars: 0, media: 0 };
  const count = Array.isArray(messages) ? messages.length : messages === undefined ? 0 : 1;
  walk(messages, acc, 0);
  for (const x of extra) walk(x, acc, 0);
  return Math.ceil(acc.chars / CHARS_PER_TOKEN) + count * MESSAGE_OVERHEAD_TOKENS + acc.media * MEDIA_PART_TOKENS;
}

const MEDIA_TYPES: ReadonlySet<string> = new Set(['image', 'image_url', 'input_image', 'input_audio', 'file', 'input_file', 'document']);

function walk(v: unknown, acc: { chars: number; media: number }, depth: number): void {
  if (depth > 32) return;
  if (typeof v === 'string') {
    acc.chars += v.length;
    return;
  }
  if (v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    for (const x of v) walk(x, acc, depth + 1);
    return;
  }
  if (v instanceof Uint8Array || v instanceof ArrayBuffer || v instanceof URL) return;
  const o = v as Record<string, unknown>;
  if (typeof o.type === 'string' && MEDIA_TYPES.has(o.type)) {
    acc.media++;
    return;
  }
  // The AI SDK's file parts carry a media type; text files count as text, the rest as media.
  if (o.type === 'file' || (typeof o.mediaType === 'string' && !o.mediaType.startsWith('text/'))) {
    acc.media++;
    return;
  }
  for (const k in o) {
    if (k === 'role' || k === 'type' || k === 'id' || k === 'tool_call_id' || k === 'toolCallId') continue;
    walk(o[k], acc, depth + 1);
  }
}

/** A whole non-negative number or 0 (provider usage fields may be null or missing). */
export function n(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
}

/** A positive whole number, or undefined. */
export function cap(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined;
}
