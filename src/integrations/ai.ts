/**
 * `agent-governor/ai`: a Vercel AI SDK language-model middleware. Use it with
 * `wrapLanguageModel({ model, middleware: governorMiddleware(gov, { scope }) })`; every
 * `generateText` / `streamText` step through the model is then governed. The `ai` package is
 * not imported: the middleware is the plain object of hooks the SDK calls.
 */
import type { Governor } from '../index.js';
import {
  CallRecord,
  cap,
  integration,
  isRetryable,
  n,
  promptTokens,
  runCall,
  startStream,
  StreamSettler,
  type Integration,
  type IntegrationOptions,
  type NormalUsage,
} from './call.js';

/** Options of {@link governorMiddleware}. */
export type AIMiddlewareOptions = IntegrationOptions;

/** The model as the middleware sees it (`LanguageModelV3` / `V4`): provider id (`openai.chat`) and model id. */
export interface ModelLike {
  readonly provider: string;
  readonly modelId: string;
}

/**
 * The middleware: a `LanguageModelMiddleware` for `ai` 6 (spec v3) and `ai` 7 (v4). Its hooks
 * are typed loosely on purpose, so that it fits whichever `ai` major is installed.
 */
export interface GovernorMiddleware {
  readonly specificationVersion: 'v3';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  wrapGenerate(options: { doGenerate: () => PromiseLike<any>; params: any; model: ModelLike }): Promise<any>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  wrapStream(options: { doStream: () => PromiseLike<any>; params: any; model: ModelLike }): Promise<any>;
}

/** The usage the AI SDK reports: nested (spec v3/v4, `ai` 6 and 7) or flat (spec v2, `ai` 5). */
export type AIUsage =
  | {
      inputTokens?: { total?: number; noCache?: number; cacheRead?: number; cacheWrite?: number };
      outputTokens?: { total?: number; text?: number; reasoning?: number };
      raw?: unknown;
    }
  | { inputTokens?: number; outputTokens?: number; reasoningTokens?: number; cachedInputTokens?: number; totalTokens?: number };

/**
 * AI SDK usage, normalized. Nested: `inputTokens.total` includes cache reads and writes
 * (`noCache + cacheRead + cacheWrite` when a provider gives no total); `outputTokens.total`
 * includes reasoning (`text + reasoning` when no total). Flat (v2): `inputTokens` includes
 * `cachedInputTokens`, `outputTokens` includes `reasoningTokens`. Anthropic's 1-hour cache
 * writes are read from the raw usage when the provider passes it on.
 */
export function aiUsage(u: AIUsage | undefined): NormalUsage | undefined {
  if (u === undefined || u === null) return undefined;
  const i = (u as { inputTokens?: unknown }).inputTokens;
  const o = (u as { outputTokens?: unknown }).outputTokens;
  if ((i !== null && typeof i === 'object') || (o !== null && typeof o === 'object')) {
    const inp = (i ?? {}) as { total?: number; noCache?: number; cacheRead?: number; cacheWrite?: number };
    const out = (o ?? {}) as { total?: number; text?: number; reasoning?: number };
    if (inp.total === undefined && inp.noCache === undefined && out.total === undefined && out.text === undefined) return undefined;
    const read = n(inp.cacheRead);
    const write = n(inp.cacheWrite);
    const reasoning = n(out.reasoning);
    const raw = (u as { raw?: { cache_creation?: { ephemeral_5m_input_tokens?: number; ephemeral_1h_input_tokens?: number } } }).raw;
    const split = raw?.cache_creation;
    return {
      inputTokens: inp.total !== undefined ? n(inp.total) : n(inp.noCache) + read + write,
      outputTokens: out.total !== undefined ? n(out.total) : n(out.text) + reasoning,
      cachedInputTokens: read,
      cacheWriteTokens: write,
      reasoningTokens: reasoning,
      cacheWrite5mTokens: split === undefined ? undefined : n(split.ephemeral_5m_input_tokens),
      cacheWrite1hTokens: split === undefined ? undefined : n(split.ephemeral_1h_input_tokens),
    };
  }
  const f = u as { inputTokens?: number; outputTokens?: number; reasoningTokens?: number; cachedInputTokens?: number };
  if (f.inputTokens === undefined && f.outputTokens === undefined) return undefined;
  return {
    inputTokens: n(f.inputTokens),
    outputTokens: n(f.outputTokens),
    cachedInputTokens: n(f.cachedInputTokens),
    cacheWriteTokens: 0,
    reasoningTokens: n(f.reasoningTokens),
  };
}

interface CallParams {
  prompt?: unknown;
  headers?: unknown;
  tools?: unknown;
  maxOutputTokens?: number;
  abortSignal?: AbortSignal;
}

interface StreamPart {
  type: string;
  delta?: unknown;
  textDelta?: unknown;
  usage?: AIUsage;
  error?: unknown;
  modelId?: string;
}

/**
 * The AI SDK retries above the middleware (`generateText`/`streamText` `maxRetries`), so each
 * attempt is a governed call of its own. Its attempt number is read from what the SDK reuses
 * across the attempts of one model call: the prompt array (ai 6) or the headers object (ai 6
 * and 7 build it once per call). A call whose previous call on either failed with a retryable
 * error is that call's next attempt (`data.attempt`); a success forgets the number.
 */
type Attempts = WeakMap<object, number>;

/** The objects the SDK passes unchanged to every attempt of one model call. */
function keysOf(params: CallParams): object[] {
  const out: object[] = [];
  for (const k of [params.prompt, params.headers]) if (k !== null && typeof k === 'object') out.push(k);
  return out;
}

function plan(ig: Integration, model: ModelLike, params: CallParams, stream: boolean, tries: Attempts): CallRecord {
  const rec = newRecord(ig, model, params, stream);
  for (const k of keysOf(params)) {
    const before = tries.get(k);
    if (before !== undefined) {
      rec.data.attempt = before + 1;
      break;
    }
  }
  return rec;
}

/** Run one attempt; a retryable failure is numbered (on the entry the pipeline writes next) for the attempt that may follow. */
function attempt<T>(rec: CallRecord, params: CallParams, tries: Attempts, run: () => PromiseLike<T>): () => Promise<T> {
  return () =>
    Promise.resolve(run()).then(
      (v) => {
        for (const k of keysOf(params)) tries.delete(k);
        return v;
      },
      (e: unknown) => {
        if ((e as { isRetryable?: unknown } | null)?.isRetryable === true || isRetryable(e)) {
          const n = typeof rec.data.attempt === 'number' ? rec.data.attempt : 1;
          rec.data.attempt = n;
          for (const k of keysOf(params)) tries.set(k, n);
        }
        throw e;
      },
    );
}

function newRecord(ig: Integration, model: ModelLike, params: CallParams, stream: boolean): CallRecord {
  return new CallRecord(ig, {
    // `openai.chat`, `anthropic.messages`: the provider is the first segment.
    provider: String(model.provider).split('.')[0] as string,
    model: model.modelId,
    api: stream ? 'ai.stream' : 'ai.generate',
    stream,
    inputTokens: promptTokens(params.prompt, params.tools),
    maxOutputTokens: cap(params.maxOutputTokens),
    signal: params.abortSignal instanceof AbortSignal ? params.abortSignal : undefined,
  });
}

/**
 * A language-model middleware that governs every call through the wrapped model: admitted
 * against `gov`'s limits (estimated from the prompt and `maxOutputTokens`), charged the
 * usage the provider reports, breaker and prices keyed by the provider id and model id.
 *
 * @example
 * const model = wrapLanguageModel({ model: openai('gpt-4o-mini'), middleware: governorMiddleware(gov, { scope }) });
 */
export function governorMiddleware(gov: Governor, options?: AIMiddlewareOptions): GovernorMiddleware {
  const ig = integration(gov, options, 'governorMiddleware');
  const tries: Attempts = new WeakMap();
  return {
    specificationVersion: 'v3',
    wrapGenerate({ doGenerate, params, model }) {
      const rec = plan(ig, model, params as CallParams, false, tries);
      return runCall(
        rec,
        attempt(rec, params as CallParams, tries, () => doGenerate() as PromiseLike<unknown>),
        (result) => {
          const r = result as {
            content?: { type: string; text?: string; input?: string }[];
            text?: string;
            usage?: AIUsage;
            response?: { modelId?: string };
          };
          for (const c of r.content ?? []) {
            rec.text(c.text);
            if (c.type === 'tool-call') rec.text(c.input);
          }
          rec.usage = aiUsage(r.usage);
          rec.served = r.response?.modelId;
        },
      );
    },
    async wrapStream({ doStream, params, model }) {
      const rec = plan(ig, model, params as CallParams, true, tries);
      const { data: out, r } = await startStream(
        rec,
        attempt(rec, params as CallParams, tries, () => doStream() as PromiseLike<{ stream: ReadableStream<StreamPart> }>),
      );
      const reader = out.stream.getReader();
      // Abandoned (unread for a lease): settled, then the provider's stream is cancelled.
      const settler = new StreamSettler(r, rec, undefined, () => void reader.cancel().then(undefined, () => undefined));
      let streamError: unknown;
      const onPart = (p: StreamPart): void => {
        switch (p.type) {
          case 'text-delta':
          case 'reasoning-delta':
          case 'tool-input-delta':
            rec.text(typeof p.delta === 'string' ? p.delta : typeof p.textDelta === 'string' ? p.textDelta : undefined);
            break;
          case 'response-metadata':
            if (typeof p.modelId === 'string') rec.served = p.modelId;
            break;
          case 'finish': {
            const u = aiUsage(p.usage);
            if (u !== undefined) {
              rec.usage = u;
              rec.final = true;
            }
            break;
          }
          case 'error':
            streamError ??= p.error;
            break;
        }
      };
      const stream = new ReadableStream<StreamPart>({
        async pull(controller) {
          let next: Awaited<ReturnType<typeof reader.read>>;
          settler.read(true);
          try {
            next = await reader.read();
            settler.read(false);
          } catch (e) {
            settler.read(false);
            await settler.error(e);
            controller.error(e);
            return;
          }
          if (next.done) {
            // An error part with no usage after it: the provider failed mid-stream.
            if (streamError !== undefined && !rec.final) await settler.error(streamError);
            else await settler.end('complete');
            controller.close();
            return;
          }
          onPart(next.value);
          controller.enqueue(next.value);
        },
        async cancel(reason) {
          settler.stopping = true;
          try {
            await reader.cancel(reason);
          } finally {
            await settler.end('stopped');
          }
        },
      });
      return { ...out, stream };
    },
  };
}

export { DEFAULT_MAX_OUTPUT_TOKENS, MEDIA_PART_TOKENS, type IntegrationOptions, type NormalUsage } from './call.js';
