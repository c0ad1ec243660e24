/**
 * `agent-governor/openai`: govern an `openai` client's `chat.completions.create` and
 * `responses.create`, streamed or not. The SDK is not imported: the client is used
 * through its own methods, and the wire shapes read here are OpenAI's documented ones.
 */
import type { Governor } from '../index.js';
import {
  CallRecord,
  cap,
  sdkIntegration,
  n,
  promptTokens,
  sdkCall,
  type SdkRequest,
  type NormalUsage,
  type SdkGovernOptions,
} from './call.js';
import { governClient } from './govern-client.js';

/** Options of {@link governOpenAI} (`provider` defaults to `'openai'`). */
export type OpenAIGovernOptions = SdkGovernOptions;

/** The part of an `openai` client this integration uses. */
export interface OpenAILike {
  readonly chat: { readonly completions: { create(body: never, options?: never): unknown } };
  readonly responses?: { create(body: never, options?: never): unknown } | undefined;
}

/** The `usage` of a Chat Completions response or stream chunk, as {@link chatUsage} reads it. */
export interface ChatUsage {
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  prompt_tokens_details?: { cached_tokens?: number | null; cache_write_tokens?: number | null } | null;
  completion_tokens_details?: { reasoning_tokens?: number | null } | null;
}

/** The `usage` of a Responses API response, as {@link responsesUsage} reads it. */
export interface ResponsesUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  input_tokens_details?: { cached_tokens?: number | null; cache_write_tokens?: number | null } | null;
  output_tokens_details?: { reasoning_tokens?: number | null } | null;
}

/** Chat Completions usage, normalized: `prompt_tokens` already includes cached tokens, `completion_tokens` reasoning. */
export function chatUsage(u: ChatUsage): NormalUsage {
  return {
    inputTokens: n(u.prompt_tokens),
    outputTokens: n(u.completion_tokens),
    cachedInputTokens: n(u.prompt_tokens_details?.cached_tokens),
    cacheWriteTokens: n(u.prompt_tokens_details?.cache_write_tokens),
    reasoningTokens: n(u.completion_tokens_details?.reasoning_tokens),
  };
}

/** Responses API usage, normalized the same way. */
export function responsesUsage(u: ResponsesUsage): NormalUsage {
  return {
    inputTokens: n(u.input_tokens),
    outputTokens: n(u.output_tokens),
    cachedInputTokens: n(u.input_tokens_details?.cached_tokens),
    cacheWriteTokens: n(u.input_tokens_details?.cache_write_tokens),
    reasoningTokens: n(u.output_tokens_details?.reasoning_tokens),
  };
}

/**
 * A governed view of an `openai` client, of the same type. `chat.completions.create` and
 * `responses.create` are admitted against `gov`'s limits (estimated from the request),
 * charged the usage OpenAI reports (streams included: `stream_options.include_usage` is
 * turned on, and its extra chunk hidden unless you asked for it), and recorded with their
 * time to first token. Every other method is the client's own, ungoverned.
 *
 * @example
 * const openai = governOpenAI(new OpenAI(), gov, { scope: { agent: 'researcher' } });
 * const r = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages });
 */
export function governOpenAI<C extends OpenAILike>(client: C, gov: Governor, options?: OpenAIGovernOptions): C {
  const { ig, provider } = sdkIntegration(gov, options, 'governOpenAI', 'openai');
  return governClient(client, {
    'chat.completions': { create: (t) => (body: unknown, opts?: unknown) => chatCreate({ ig, provider, client, t, body, opts }) },
    responses: { create: (t) => (body: unknown, opts?: unknown) => responsesCreate({ ig, provider, client, t, body, opts }) },
  });
}

interface ChatBody {
  model: string;
  messages?: unknown;
  tools?: unknown;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean | null } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
}

interface ChatChunk {
  model?: string;
  choices?: {
    delta?: {
      content?: string | null;
      refusal?: string | null;
      reasoning_content?: string | null;
      tool_calls?: { function?: { arguments?: string } }[];
    };
  }[];
  usage?: ChatUsage | null;
}

interface ChatCompletion {
  model?: string;
  choices?: { message?: { content?: string | null; refusal?: string | null; tool_calls?: { function?: { arguments?: string } }[] } }[];
  usage?: ChatUsage | null;
}

function chatCreate(req: SdkRequest) {
  const body = req.body;
  const b = body as ChatBody;
  const stream = b.stream === true;
  const asked = b.stream_options?.include_usage === true;
  const sent = !stream || asked ? body : { ...b, stream_options: { ...b.stream_options, include_usage: true } };
  const plan = {
    model: b.model,
    api: 'openai.chat.completions',
    stream,
    inputTokens: promptTokens(b.messages, b.tools),
    maxOutputTokens: cap(b.max_completion_tokens) ?? cap(b.max_tokens),
  };
  return sdkCall<ChatChunk>(
    req,
    plan,
    (data, rec) => {
      const c = data as ChatCompletion;
      for (const ch of c.choices ?? []) {
        rec.text(ch.message?.content);
        rec.text(ch.message?.refusal);
        for (const tc of ch.message?.tool_calls ?? []) rec.text(tc.function?.arguments);
      }
      if (c.usage) rec.usage = chatUsage(c.usage);
      rec.served = c.model;
    },
    (chunk, rec) => {
      for (const ch of chunk.choices ?? []) {
        const d = ch.delta;
        if (d === undefined) continue;
        rec.text(d.content);
        rec.text(d.refusal);
        rec.text(d.reasoning_content);
        for (const tc of d.tool_calls ?? []) rec.text(tc.function?.arguments);
      }
      if (chunk.model !== undefined) rec.served = chunk.model;
      if (chunk.usage) {
        rec.usage = chatUsage(chunk.usage);
        rec.final = true;
      }
      if (asked) return chunk;
      // Hide what include_usage changed: the usage-only last chunk, and the usage field of the others.
      if ((chunk.choices?.length ?? 0) === 0 && chunk.usage) return undefined;
      if ('usage' in chunk) delete chunk.usage;
      return chunk;
    },
    sent,
  );
}

interface ResponsesBody {
  model: string;
  input?: unknown;
  instructions?: unknown;
  tools?: unknown;
  stream?: boolean | null;
  max_output_tokens?: number | null;
}

interface ResponseObject {
  model?: string;
  usage?: ResponsesUsage | null;
  output?: { content?: { text?: string }[]; arguments?: string; summary?: { text?: string }[] }[];
}

interface ResponseEvent {
  type: string;
  delta?: unknown;
  response?: ResponseObject;
}

/** The usage and served model of a finished response. */
function readResponse(rec: CallRecord, resp: ResponseObject): void {
  if (resp.usage) {
    rec.usage = responsesUsage(resp.usage);
    rec.final = true;
  }
  if (resp.model !== undefined) rec.served = resp.model;
}

function responsesCreate(req: SdkRequest) {
  const b = req.body as ResponsesBody;
  const plan = {
    model: b.model,
    api: 'openai.responses',
    stream: b.stream === true,
    inputTokens: promptTokens(b.input, b.instructions, b.tools),
    maxOutputTokens: cap(b.max_output_tokens),
  };
  return sdkCall<ResponseEvent>(
    req,
    plan,
    (data, rec) => {
      const resp = data as ResponseObject;
      for (const item of resp.output ?? []) {
        for (const c of item.content ?? []) rec.text(c.text);
        for (const s of item.summary ?? []) rec.text(s.text);
        rec.text(item.arguments);
      }
      readResponse(rec, resp);
    },
    (ev, rec) => {
      // Every `*.delta` event carries output: text, reasoning summaries, tool-call arguments.
      if (ev.type.endsWith('.delta') && typeof ev.delta === 'string') rec.text(ev.delta);
      if (
        ev.response !== undefined &&
        (ev.type === 'response.completed' || ev.type === 'response.incomplete' || ev.type === 'response.failed')
      ) {
        readResponse(rec, ev.response);
      } else if (ev.response?.model !== undefined) rec.served = ev.response.model;
      return ev;
    },
  );
}

export { DEFAULT_MAX_OUTPUT_TOKENS, MEDIA_PART_TOKENS, type IntegrationOptions, type NormalUsage } from './call.js';
