/**
 * What every SDK integration shares: the options, the request a governed LLM call makes,
 * the record of one call (time to first token, text received, the provider's usage), and
 * how that record is settled — from the provider's usage when it came, else from the best
 * figure (input estimate + output counted from the text received), marked estimated.
 */
import { z } from 'zod';
import {
  GovernorError,
  InvalidInputError,
  parseDuration,
  parseInput,
  RateLimitedError,
  validateId,
  validateScope,
  type Clock,
  type Duration,
  type Scope,
} from '../core/index.js';
import type { Governor, GuardRequest, LedgerEntry, Reservation, UsageReport, VersionedValue } from '../index.js';

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
  /** The longest to wait out a provider's `retry-after` in `'wait'` mode, in ms. */
  readonly maxWaitMs: number;
  /** Whether the governor has the meters `cacheWrite5mTokens` / `cacheWrite1hTokens` (the latter is built in). */
  readonly meters5m: boolean;
  readonly meters1h: boolean;
}

/** Validate integration options once, naming the field on a bad one (`fn`: the public function, e.g. `governOpenAI`). */
export function integration(gov: Governor, options: IntegrationOptions | undefined, fn: string): Integration {
  if (gov === null || typeof gov !== 'object' || typeof (gov as Governor).reserve !== 'function') {
    throw new InvalidInputError(`${fn} gov`, 'must be a Governor (from createGovernor())', gov);
  }
  const field = `${fn} options`;
  const parsed = parseInput(optionsSchema, options ?? {}, field) as IntegrationOptions;
  const o = parsed.scope === undefined ? parsed : { ...parsed, scope: validateScope(parsed.scope, `${field}.scope`, false) };
  const maxWaitMs = o.maxWaitMs === undefined ? gov.maxWaitMs : parseDuration(o.maxWaitMs, `${field}.maxWaitMs`, true);
  if (o.leaseMs !== undefined) parseDuration(o.leaseMs, `${field}.leaseMs`);
  return { gov, o, maxWaitMs, meters5m: gov.meters.has('cacheWrite5mTokens'), meters1h: gov.meters.has('cacheWrite1hTokens') };
}

/** {@link integration} for `governOpenAI` / `governAnthropic`: also the provider id (default `defaultProvider`), validated. */
export function sdkIntegration(
  gov: Governor,
  options: SdkGovernOptions | undefined,
  fn: string,
  defaultProvider: string,
): { ig: Integration; provider: string } {
  const { provider = defaultProvider, ...rest } = options ?? {};
  const ig = integration(gov, rest, fn);
  return { ig, provider: validateId(provider, `${fn} options.provider`) };
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
  /** Retries the integration runs itself, as the SDK would (the SDK is told `maxRetries: 0`); 0 or absent: none. */
  readonly maxRetries?: number | undefined;
}

/** How a call ended without the provider's final usage (`abandoned`: nobody read the stream for a whole lease). */
export type Interruption = 'aborted' | 'stopped' | 'error' | 'no-usage' | 'abandoned';

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
    const usage: Record<string, number | string> = {
      inputTokens: u.inputTokens,
      outputTokens: u.outputTokens,
      cachedInputTokens: u.cachedInputTokens,
      cacheWriteTokens: u.cacheWriteTokens,
      reasoningTokens: u.reasoningTokens,
    };
    // The 5-minute / 1-hour split is kept on the entry; charged on its own meters when the governor has them.
    if (u.cacheWrite5mTokens !== undefined) {
      this.data.cacheWrite5mTokens = u.cacheWrite5mTokens;
      if (this.ig.meters5m) usage.cacheWrite5mTokens = u.cacheWrite5mTokens;
    }
    if (u.cacheWrite1hTokens !== undefined) {
      this.data.cacheWrite1hTokens = u.cacheWrite1hTokens;
      if (this.ig.meters1h) usage.cacheWrite1hTokens = u.cacheWrite1hTokens;
    }
    if (this.served !== undefined && this.served !== this.plan.model) {
      this.data.servedModel = this.served;
      // A dated snapshot can cost differently from its alias: price the model that served the call when it has a price.
      if (this.ig.gov.costs.has(this.served, this.plan.provider)) usage.model = this.served;
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
 * consumer stopping, an abort, an error, or the stream being abandoned (nobody reads it for
 * a whole lease). Never leaves the reservation open and never throws into the stream (a
 * store fault is reported by the governor as `store.error`).
 */
export class StreamSettler {
  private closed = false;
  /** Set when the consumer stops reading (so the abort the SDK then raises is not taken for the caller's). */
  stopping = false;
  /** True while a read of the provider's stream is pending: an abort then surfaces through that read. */
  reading = false;
  /** Reads started and finished: the watch compares it with what it saw a lease ago. */
  reads = 0;
  /** `reads` when the watch last looked. */
  seen = -1;
  /** How long the stream may go unread before it is abandoned: the reservation's lease. */
  readonly idleMs: number;
  private readonly watch: StreamWatch;

  constructor(
    private readonly r: Reservation,
    private readonly rec: CallRecord,
    /** The stream's own abort signal (the SDK's controller), if it has one. */
    streamSignal: AbortSignal | undefined,
    /** Stop the provider's stream (abort its request) once the call is settled as abandoned. */
    private readonly cancel: () => void,
  ) {
    this.idleMs = Math.max(1, r.expiresAt - rec.ig.gov.clock.now());
    // An abort while nobody reads would never surface: settle on it. (The SDK also aborts its controller when a read fails.)
    streamSignal?.addEventListener('abort', () => void (this.reading ? undefined : this.end(this.stopping ? 'stopped' : 'aborted')), {
      once: true,
    });
    this.watch = watchOf(rec.ig.gov);
    this.watch.add(this);
  }

  get done(): boolean {
    return this.closed;
  }

  /** A read of the provider's stream starts (true) or ends (false). */
  read(pending: boolean): void {
    this.reading = pending;
    this.reads++;
  }

  /** True once the stream was settled as abandoned. */
  abandoned = false;

  /** Nobody has read the stream for a whole lease: settle at the best figure and stop the provider's stream. */
  abandon(): void {
    if (this.closed) return;
    this.abandoned = true;
    void this.end('abandoned');
    try {
      this.cancel();
    } catch {
      // The stream is settled; a provider stream that cannot be stopped is the SDK's to close.
    }
  }

  /** Settle: at the final usage when it came, else at the best figure with `how` on the entry. */
  end(how: Interruption | 'complete'): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.close();
    const { usage, estimated } = this.rec.report();
    if (estimated) this.rec.data.interrupted = how === 'complete' ? 'no-usage' : how;
    return this.r.settle(usage, { estimated }).then(noop, noop);
  }

  /** The stream failed: a caller's abort settles like `end`; a provider or network error is charged and counted in the breaker. */
  error(e: unknown): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.stopping || isAbort(e, this.rec.plan.signal)) return this.end(this.stopping ? 'stopped' : 'aborted');
    this.close();
    const noted = noteProviderError(this.rec.ig, this.rec.plan, e);
    const { usage, estimated } = this.rec.report();
    if (estimated) this.rec.data.interrupted = 'error';
    try {
      this.r.report(usage, { estimated });
    } catch {
      // A figure the governor refuses cannot happen for counts we built; release rather than leave the hold.
    }
    return Promise.all([noted, this.r.fail(e)]).then(noop, noop);
  }

  private close(): void {
    this.closed = true;
    this.watch.delete(this);
  }
}

/**
 * Watches a governor's open streams with one timer: a stream found with no read pending and
 * no read started or finished since the previous look, a lease earlier, is abandoned. So a
 * stream never read is settled one lease after it was opened, and one read then left alone
 * between one and two leases after its last read. The timer is the clock's (unref'd in real
 * time): it never keeps a process alive.
 */
class StreamWatch {
  /** Open streams and the monotonic ms at which each is looked at next. */
  private readonly open = new Map<StreamSettler, number>();
  /** Monotonic ms of the earliest wake-up armed, Infinity when none. */
  private wakeAt = Infinity;

  constructor(private readonly clock: Clock) {}

  add(s: StreamSettler): void {
    const at = this.clock.monotonic() + s.idleMs;
    s.seen = s.reads;
    this.open.set(s, at);
    this.arm(at);
  }

  delete(s: StreamSettler): void {
    this.open.delete(s);
  }

  private arm(at: number): void {
    if (at >= this.wakeAt) return;
    this.wakeAt = at;
    this.clock.sleep(at - this.clock.monotonic()).then(
      () => this.wake(at),
      () => undefined,
    );
  }

  private wake(at: number): void {
    if (this.wakeAt === at) this.wakeAt = Infinity;
    if (this.open.size === 0) return;
    const now = this.clock.monotonic();
    let next = Infinity;
    for (const [s, due] of this.open) {
      let d = due;
      if (d <= now) {
        if (!s.reading && s.reads === s.seen) {
          s.abandon();
          continue;
        }
        // Read since the last look, or a read still pending (the provider's slowness): look again a lease later.
        s.seen = s.reads;
        d = now + s.idleMs;
        this.open.set(s, d);
      }
      if (d < next) next = d;
    }
    if (next !== Infinity) this.arm(next);
  }
}

const watches = new WeakMap<Governor, StreamWatch>();

function watchOf(gov: Governor): StreamWatch {
  let w = watches.get(gov);
  if (w === undefined) watches.set(gov, (w = new StreamWatch(gov.clock)));
  return w;
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

/**
 * The store key of a provider/model's cooldown: a versioned value holding the epoch ms until
 * which the provider asked to wait, shared by every process on the store.
 */
function cooldownKey(plan: CallPlan): string {
  return `pc|${`${plan.provider}/${plan.model}`.replace(/[%|]/g, (c) => (c === '%' ? '%25' : '%7C'))}`;
}

/** The status of an SDK error (`status` in openai and @anthropic-ai/sdk, `statusCode` in the AI SDK). */
export function errorStatus(e: unknown): number | undefined {
  if (e === null || typeof e !== 'object') return undefined;
  const x = e as { status?: unknown; statusCode?: unknown };
  return typeof x.status === 'number' ? x.status : typeof x.statusCode === 'number' ? x.statusCode : undefined;
}

/** Milliseconds a 429's headers ask to wait: `retry-after-ms`, else `retry-after` in seconds or as an HTTP date. */
export function retryAfterMs(e: unknown, nowMs: number): number | undefined {
  const ms = Number(headerOf(e, 'retry-after-ms'));
  if (Number.isFinite(ms) && ms > 0) return Math.ceil(ms);
  const ra = headerOf(e, 'retry-after');
  if (ra === undefined) return undefined;
  const s = Number(ra);
  if (Number.isFinite(s) && s >= 0) return Math.ceil(s * 1000);
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** The epoch ms a cooldown value holds (0 when absent or unreadable). */
function untilOf(v: VersionedValue | undefined): number {
  const t = v === undefined ? 0 : Number(v.value);
  return Number.isFinite(t) ? t : 0;
}

/**
 * A provider error: a 429 with retry-after puts the provider/model's cooldown in the store
 * (the later of the one there and this one), so that every process sharing the store waits.
 * Resolves when written; a store fault is swallowed (the 429 itself still reaches the caller).
 */
export function noteProviderError(ig: Integration, plan: CallPlan, e: unknown): void | Promise<void> {
  if (errorStatus(e) !== 429) return;
  const gov = ig.gov;
  const now = gov.clock.now();
  const ms = retryAfterMs(e, now);
  if (ms === undefined || ms <= 0) return;
  const until = now + ms;
  const key = cooldownKey(plan);
  const store = gov.store;
  const attempt = async (): Promise<void> => {
    let v = await store.getValue(key);
    // Compare-and-set until ours is written or a later one is there (another process's 429).
    for (let i = 0; i < 8 && untilOf(v) < until; i++) {
      const r = await store.compareAndSet(key, v?.version ?? 0, String(until));
      if (r.ok) return;
      v = r.current;
    }
  };
  return attempt().then(noop, noop);
}

/**
 * Before a call: if its provider/model answered 429 with a `retry-after` that has not passed
 * (in this process or any other on the store), refuse with `RateLimitedError` (limit
 * `provider.retryAfter`, recorded as a `refused` ledger entry, code `rate_limited`), or in
 * `'wait'` mode wait it out when it ends within `maxWaitMs`. Nothing is reserved or charged.
 * Synchronous (no microtask) when the store answers synchronously and there is no cooldown.
 */
export function providerCooldown(rec: CallRecord): void | Promise<void> {
  const key = cooldownKey(rec.plan);
  let v: VersionedValue | undefined | Promise<VersionedValue | undefined>;
  try {
    v = rec.ig.gov.store.getValue(key);
  } catch {
    return; // A store that cannot answer: the pipeline's admission reports it.
  }
  if (v instanceof Promise)
    return v.then(
      (x) => cooled(rec, key, x, 0),
      () => undefined,
    );
  return cooled(rec, key, v, 0);
}

function cooled(rec: CallRecord, key: string, v: VersionedValue | undefined, waited: number): void | Promise<void> {
  const { ig, plan } = rec;
  const left = untilOf(v) - ig.gov.clock.now();
  if (left <= 0) return;
  if (ig.o.onRateLimit === 'wait' && waited + left <= ig.maxWaitMs) {
    // The caller's abort ends the wait with its reason, unrecorded (as the pipeline's queue mode does).
    return ig.gov.clock.sleep(left, plan.signal).then(async () => cooled(rec, key, await ig.gov.store.getValue(key), waited + left));
  }
  throw ig.gov.recordOutsideRefusal(
    rec.request(),
    new RateLimitedError({
      limit: 'provider.retryAfter',
      meter: 'requests',
      scope: `${plan.provider}/${plan.model}`,
      requested: '1',
      available: '0',
      max: '0',
      retryAfterMs: left,
    }),
  );
}

// ---- running a call -------------------------------------------------------------------------

/** What the SDK's `withResponse()` resolves to. */
export interface WithResponse<T> {
  readonly data: T;
  readonly response: unknown;
  readonly request_id?: string | null | undefined;
}

/** A non-streamed call: admit, call, read the usage from the result, settle (the guard() pipeline). */
export function runCall<T>(rec: CallRecord, call: () => PromiseLike<T>, read: (data: T, rec: CallRecord) => void): Promise<T> {
  const run = (): Promise<T> =>
    rec.ig.gov.guard(rec.request(), (r) => {
      rec.start();
      return attempts(rec, r, call).then((data) => {
        rec.firstToken();
        read(data, rec);
        if (rec.usage !== undefined) rec.final = true;
        rec.reportTo(r);
        return data;
      });
    });
  let cooldown: void | Promise<void>;
  try {
    cooldown = providerCooldown(rec);
  } catch (e) {
    return Promise.reject(e);
  }
  return cooldown === undefined ? run() : cooldown.then(run);
}

/** A streamed call: admit and hold the estimate, call; the caller wraps the stream and settles through a {@link StreamSettler}. */
export async function startStream<T>(rec: CallRecord, call: () => PromiseLike<T>): Promise<{ data: T; r: Reservation }> {
  const cooldown = providerCooldown(rec);
  if (cooldown !== undefined) await cooldown;
  const r = await rec.ig.gov.reserve(rec.request());
  rec.start();
  try {
    // A stream is retried only until its response head arrives: once the SDK hands back the stream, a failure is final.
    return { data: await attempts(rec, r, call), r };
  } catch (e) {
    await Promise.resolve(r.fail(e)).then(noop, noop);
    throw e;
  }
}

// ---- retries, attempt by attempt --------------------------------------------------------------

/** The SDK's own default of `maxRetries` (openai and @anthropic-ai/sdk). */
export const DEFAULT_MAX_RETRIES = 2;

/**
 * The retries a governed call runs: the request's `maxRetries` option, else the client's
 * (`client.maxRetries`), else the SDKs' default of 2. Anything but a whole number ≥ 0 falls through.
 */
export function maxRetriesOf(client: unknown, opts: unknown): number {
  const ok = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
  const own = (opts as { maxRetries?: unknown } | null | undefined)?.maxRetries;
  if (ok(own)) return own;
  const c = (client as { maxRetries?: unknown } | null | undefined)?.maxRetries;
  return ok(c) ? c : DEFAULT_MAX_RETRIES;
}

/** The request options each attempt is sent with: the caller's, with the SDK's own retries off. */
export function singleAttempt(opts: unknown): Record<string, unknown> {
  return { ...(opts as Record<string, unknown> | undefined), maxRetries: 0 };
}

/** The names of an error's classes, most derived first. */
function classNames(e: object): string[] {
  const out: string[] = [];
  for (
    let p = Object.getPrototypeOf(e) as { constructor?: { name?: unknown } } | null;
    p !== null && out.length < 8;
    p = Object.getPrototypeOf(p)
  ) {
    const name = p.constructor?.name;
    if (typeof name === 'string') out.push(name);
  }
  return out;
}

/** A header of an SDK error: `headers` (a `Headers` object in openai and @anthropic-ai/sdk), else the AI SDK's `responseHeaders` (a record). */
function headerOf(e: unknown, name: string): string | undefined {
  if (e === null || typeof e !== 'object') return undefined;
  const x = e as { headers?: unknown; responseHeaders?: unknown };
  const h = x.headers ?? x.responseHeaders;
  if (h === null || typeof h !== 'object') return undefined;
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined;
  const v = (h as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * Whether the SDK would retry this error: the server's `x-should-retry` when it says, else
 * 408, 409, 429 and 5xx, and connection errors (`APIConnectionError`, its timeout subclass).
 * Never a caller's abort or a governor refusal.
 */
export function isRetryable(e: unknown): boolean {
  if (e === null || typeof e !== 'object' || e instanceof GovernorError) return false;
  const names = classNames(e);
  if (names.includes('APIUserAbortError')) return false;
  if (names.includes('APIConnectionError')) return true;
  const status = errorStatus(e);
  if (status === undefined) return false;
  const should = headerOf(e, 'x-should-retry');
  if (should === 'true') return true;
  if (should === 'false') return false;
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * How long to wait before retry `retry` (1 = the first) of `maxRetries`, as the SDKs do:
 * `retry-after-ms`, else `retry-after` (seconds or an HTTP date) when it is a positive delay a
 * timer can hold, else 0.5 s × 2^(retry − 1), at most 8 s, less up to 25 % jitter.
 */
export function retryDelayMs(e: unknown, retry: number, nowMs: number, random: () => number = Math.random): number {
  let ms: number | undefined;
  const rams = headerOf(e, 'retry-after-ms');
  if (rams !== undefined) {
    const v = parseFloat(rams);
    if (!Number.isNaN(v)) ms = v;
  }
  const ra = headerOf(e, 'retry-after');
  if (ra !== undefined && !ms) {
    const v = parseFloat(ra);
    ms = Number.isNaN(v) ? Date.parse(ra) - nowMs : v * 1000;
  }
  if (ms !== undefined && ms > 0 && ms <= 2 ** 31 - 1) return Math.ceil(ms);
  const base = Math.min(500 * 2 ** (retry - 1), 8000);
  return Math.ceil(base * (1 - random() * 0.25));
}

/**
 * Run `call` with the SDK's retry rules, attempt by attempt, inside the call's one
 * reservation: each failed attempt that will be retried is recorded as an `error` ledger
 * entry (nothing charged, `data.attempt` = its number), counted in the breaker
 * `{ provider, model }` by the breaker's own rules, and a 429's `retry-after` becomes the
 * provider's cooldown; then the back-off is slept on the governor's clock. The last error is
 * thrown (the caller's pipeline records it); a retry stops early when the caller aborts or
 * the breaker opened meanwhile.
 */
export function attempts<T>(rec: CallRecord, r: Reservation, call: () => PromiseLike<T>): Promise<T> {
  const { ig, plan } = rec;
  const max = plan.maxRetries ?? 0;
  const clock = ig.gov.clock;
  let attempt = 1;
  const one = (): Promise<T> => {
    const t0 = clock.monotonic();
    let p: PromiseLike<T>;
    try {
      p = call();
    } catch (e) {
      return failed(e, t0);
    }
    // The SDK's own promise, one hop: `then` of a PromiseLike is a Promise in both SDKs.
    return p.then(undefined, (e: unknown) => failed(e, t0)) as Promise<T>;
  };
  const failed = async (e: unknown, t0: number): Promise<T> => {
    await noteProviderError(ig, plan, e);
    if (attempt > max || !isRetryable(e) || isAbort(e, plan.signal)) throw e;
    const durationMs = clock.monotonic() - t0;
    await failedAttempt(rec, r, e, attempt, durationMs);
    attempt++;
    rec.data.attempt = attempt;
    // The failures (this call's or others') opened the breaker: the next attempt is refused as any call would be.
    const open = await breakerRefusal(rec);
    if (open !== undefined) throw open;
    await clock.sleep(retryDelayMs(e, attempt - 1, clock.now()), plan.signal);
    return one();
  };
  return one();
}

/** The breaker's refusal when the call's breaker is open now (the failed attempts may have tripped it), else undefined. */
async function breakerRefusal(rec: CallRecord): Promise<GovernorError | undefined> {
  if (rec.ig.o.breaker === false) return undefined;
  try {
    return await rec.ig.gov.breakers.for({ provider: rec.plan.provider, model: rec.plan.model }).peek();
  } catch {
    return undefined;
  }
}

/**
 * One failed attempt of a call that goes on: an `error` ledger entry charging nothing (id
 * `<reservation id>.<attempt>`, `data.attempt`), fed to analytics, and a failure in the breaker
 * when its `isFailure` counts the error. Store faults are swallowed: the call goes on.
 */
async function failedAttempt(rec: CallRecord, r: Reservation, e: unknown, attempt: number, durationMs: number): Promise<void> {
  const { ig, plan } = rec;
  const gov = ig.gov;
  const req = rec.request();
  const entry: LedgerEntry = {
    id: `${r.id}.${attempt}`,
    at: gov.clock.now(),
    kind: 'call',
    status: 'error',
    scope: r.scope,
    name: req.name,
    provider: plan.provider,
    model: plan.model,
    usage: {},
    cost: '0',
    currency: gov.currency,
    durationMs,
    code: e instanceof Error ? e.name : typeof e,
    message: e instanceof Error ? e.message : String(e),
    data: { ...rec.data, attempt },
  };
  // Kept when the ledger keeps errors; a store fault there is a `store.error` event, never the call's.
  gov.recordEntry(entry);
  if (ig.o.breaker !== false) {
    try {
      const b = gov.breakers.for({ provider: plan.provider, model: plan.model });
      const outcome = b.outcomeOf(e, plan.signal);
      if (outcome.type === 'failure') await b.recordFailure(outcome.cause);
    } catch {
      // As the pipeline does: a breaker that cannot record is not the call's failure.
    }
  }
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * Iterates `source` for the consumer, passing each item through `onItem` (which returns the
 * item to hand on, or undefined to hide it), and settles once however the iteration ends.
 * A plain iterator rather than an async generator: one promise per item, not several.
 * Overlapping `next()` calls (a `tee()`) are served in order, as a generator would.
 */
export class Accounted<C> implements AsyncIterableIterator<C> {
  private it: AsyncIterator<C> | undefined;
  private finished = false;
  /** `next()` calls not yet answered, and the promise of the last one. */
  private inflight = 0;
  private tail: Promise<IteratorResult<C>> | undefined;

  constructor(
    private readonly source: AsyncIterable<C>,
    private readonly settler: StreamSettler,
    private readonly onItem: (c: C) => C | undefined,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<C>> {
    const p = this.inflight === 0 ? this.step() : (this.tail as Promise<IteratorResult<C>>).then(this.stepFn, this.stepFn);
    this.inflight++;
    this.tail = p;
    return p;
  }

  private readonly stepFn = (): Promise<IteratorResult<C>> => this.step();

  private step(): Promise<IteratorResult<C>> {
    if (this.finished || this.settler.abandoned) {
      // An abandoned stream was settled and its request aborted: it ends here, as the SDK ends an aborted stream.
      if (!this.finished) {
        this.finished = true;
        void Promise.resolve()
          .then(() => this.it?.return?.())
          .then(noop, noop);
      }
      this.inflight--;
      return Promise.resolve(DONE);
    }
    const it = (this.it ??= this.source[Symbol.asyncIterator]());
    this.settler.read(true);
    let n: Promise<IteratorResult<C>>;
    try {
      n = it.next();
    } catch (e) {
      return this.failed(e);
    }
    return n.then(
      (x) => this.item(x),
      (e: unknown) => this.failed(e),
    );
  }

  private item(n: IteratorResult<C>): IteratorResult<C> | Promise<IteratorResult<C>> {
    this.settler.read(false);
    if (n.done === true) {
      this.finished = true;
      this.inflight--;
      return this.settler.end('complete').then(() => DONE);
    }
    const out = this.onItem(n.value);
    if (out === undefined) return this.step();
    this.inflight--;
    return { done: false, value: out };
  }

  private failed(e: unknown): Promise<never> {
    this.settler.read(false);
    this.finished = true;
    this.inflight--;
    return this.settler.error(e).then(() => {
      throw e;
    });
  }

  /** The consumer stopped reading (break, return): stop the provider's stream and settle on what arrived. */
  return(value?: unknown): Promise<IteratorResult<C>> {
    const done = { done: true, value } as IteratorReturnResult<C>;
    if (this.finished) return Promise.resolve(done);
    this.finished = true;
    this.settler.stopping = true;
    const end = (): Promise<IteratorResult<C>> => this.settler.end('stopped').then(() => done);
    let r: unknown;
    try {
      r = this.it?.return?.();
    } catch {
      return end();
    }
    return Promise.resolve(r).then(end, end);
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
 * Govern an SDK stream (`openai`'s and `@anthropic-ai/sdk`'s `Stream`): the same class over
 * an {@link Accounted} iteration, settled once however it ends, abandoned after a lease unread.
 */
export function governStream<C>(
  rec: CallRecord,
  r: Reservation,
  source: AsyncIterable<C> & { controller?: AbortController },
  onItem: (c: C) => C | undefined,
): AsyncIterable<C> {
  const controller = source.controller;
  const settler = new StreamSettler(r, rec, controller?.signal, () => controller?.abort());
  return rewrap(source, () => new Accounted(source, settler, onItem));
}

/** The promise an `openai` or `@anthropic-ai/sdk` method returns: the data, with `withResponse()` and `asResponse()`. */
export interface ApiPromise<T> extends PromiseLike<T> {
  withResponse(): Promise<WithResponse<T>>;
  asResponse(): Promise<unknown>;
}

/**
 * The governed call in the SDK's promise shape: a promise of the data with `withResponse()`
 * and `asResponse()`, which answer from the SDK's own promise (`api()`, it caches what it
 * parsed) once the governed call is done, with `data` the governed one (a stream's wrapper).
 * The stream helpers of both SDKs call `withResponse()`.
 */
export function sdkPromise<T>(
  p: Promise<T>,
  api: () => ApiPromise<unknown> | undefined,
): Promise<T> & { withResponse(): Promise<WithResponse<T>>; asResponse(): Promise<unknown> } {
  const out = p as Promise<T> & { withResponse(): Promise<WithResponse<T>>; asResponse(): Promise<unknown> };
  out.withResponse = () =>
    p.then((data) =>
      (api() as ApiPromise<unknown>).withResponse().then((w) => (w.data === data ? (w as WithResponse<T>) : { ...w, data })),
    );
  out.asResponse = () => p.then(() => (api() as ApiPromise<unknown>).asResponse());
  return out;
}

/** Options of `governOpenAI` and `governAnthropic`: the shared ones and the provider id. */
export type SdkGovernOptions = IntegrationOptions & {
  /** The provider id for prices, breakers and the ledger (default `'openai'` / `'anthropic'`; set it for compatible servers). */
  readonly provider?: string | undefined;
};

/** A call of a wrapped SDK method: the integration, the client, the method's owner `t`, the request body and options. */
export interface SdkRequest {
  readonly ig: Integration;
  readonly provider: string;
  readonly client: object;
  readonly t: Record<string, unknown>;
  readonly body: unknown;
  readonly opts: unknown;
}

/**
 * One governed call of an `openai` or `@anthropic-ai/sdk` method (`t.create`): the plan gets
 * the provider, the caller's abort signal and retries from the request, each attempt goes out
 * with the SDK's retries off (the integration retries, and sees every attempt), and the result
 * is in the SDK's promise shape. Non-streamed: `read` reads the result into the record.
 * Streamed (`plan.stream`): `sent` goes out (default `body`) and each item passes through `onItem`.
 */
export function sdkCall<I>(
  req: SdkRequest,
  plan: Omit<CallPlan, 'provider' | 'signal' | 'maxRetries'>,
  read: (data: unknown, rec: CallRecord) => void,
  onItem: (item: I, rec: CallRecord) => I | undefined,
  sent: unknown = req.body,
): Promise<unknown> {
  const { ig, client, t, body, opts } = req;
  const method = t.create as (body: unknown, options?: unknown) => ApiPromise<unknown>;
  let api: ApiPromise<unknown> | undefined;
  const create = (b: unknown): ApiPromise<unknown> => (api = method.call(t, b, singleAttempt(opts)));
  const s = (opts as { signal?: unknown } | null | undefined)?.signal;
  const rec = new CallRecord(ig, {
    ...plan,
    provider: req.provider,
    signal: s instanceof AbortSignal ? s : undefined,
    maxRetries: maxRetriesOf(client, opts),
  });
  if (!plan.stream)
    return sdkPromise(
      runCall(rec, () => create(body), read),
      () => api,
    );
  return sdkPromise(
    startStream(rec, () => create(sent)).then(({ data, r }) =>
      governStream(rec, r, data as AsyncIterable<I> & { controller?: AbortController }, (item) => onItem(item, rec)),
    ),
    () => api,
  );
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
