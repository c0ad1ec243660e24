/**
 * `agent-governor/anthropic`: govern an `@anthropic-ai/sdk` client's `messages.create`
 * (streamed or not) and `messages.stream` (the MessageStream helper, which calls the
 * governed `create`). The SDK is not imported; the wire shapes are Anthropic's documented ones.
 */
import type { Governor } from '../index.js';
import { cap, sdkIntegration, n, promptTokens, sdkCall, type NormalUsage, type SdkRequest, type SdkGovernOptions } from './call.js';
import { governClient } from './govern-client.js';

/** Options of {@link governAnthropic} (`provider` defaults to `'anthropic'`). */
export type AnthropicGovernOptions = SdkGovernOptions;

/** The part of an `@anthropic-ai/sdk` client this integration uses. */
export interface AnthropicLike {
  readonly messages: { create(body: never, options?: never): unknown; stream?(body: never, options?: never): unknown };
}

/** Anthropic's usage object (messages, `message_start`, `message_delta`). */
export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation?: { ephemeral_5m_input_tokens?: number | null; ephemeral_1h_input_tokens?: number | null } | null;
}

/**
 * Anthropic usage, normalized. `input_tokens` excludes the cache, so the normalized input is
 * `input_tokens + cache_creation_input_tokens + cache_read_input_tokens`. The 5-minute /
 * 1-hour split is part of `cache_creation_input_tokens`, never added to it. A `message_delta`
 * carries cumulative counts but not the split: `prev` (from `message_start`) supplies what it lacks.
 */
export function anthropicUsage(u: AnthropicUsage, prev?: NormalUsage): NormalUsage {
  const has = (v: unknown): boolean => typeof v === 'number';
  const split = u.cache_creation ?? undefined;
  const w5 = split?.ephemeral_5m_input_tokens;
  const w1 = split?.ephemeral_1h_input_tokens;
  const read = has(u.cache_read_input_tokens) ? n(u.cache_read_input_tokens) : (prev?.cachedInputTokens ?? 0);
  const write = has(u.cache_creation_input_tokens)
    ? n(u.cache_creation_input_tokens)
    : split !== undefined
      ? n(w5) + n(w1)
      : (prev?.cacheWriteTokens ?? 0);
  const uncached = has(u.input_tokens)
    ? n(u.input_tokens)
    : prev === undefined
      ? 0
      : prev.inputTokens - prev.cachedInputTokens - prev.cacheWriteTokens;
  return {
    inputTokens: uncached + read + write,
    outputTokens: has(u.output_tokens) ? n(u.output_tokens) : (prev?.outputTokens ?? 0),
    cachedInputTokens: read,
    cacheWriteTokens: write,
    reasoningTokens: 0,
    cacheWrite5mTokens: split !== undefined ? n(w5) : prev?.cacheWrite5mTokens,
    cacheWrite1hTokens: split !== undefined ? n(w1) : prev?.cacheWrite1hTokens,
  };
}

/**
 * A governed view of an `@anthropic-ai/sdk` client, of the same type: `messages.create`
 * (with `stream: true` or not) and `messages.stream` are admitted against `gov`'s limits
 * (estimated from the request and its `max_tokens`), charged the usage Anthropic reports
 * (cache reads and writes included, streams from the cumulative `message_delta`), and
 * recorded with their time to first token. Every other method is the client's own.
 *
 * @example
 * const anthropic = governAnthropic(new Anthropic(), gov, { scope: { agent: 'writer' } });
 */
export function governAnthropic<C extends AnthropicLike>(client: C, gov: Governor, options?: AnthropicGovernOptions): C {
  const { ig, provider } = sdkIntegration(gov, options, 'governAnthropic', 'anthropic');
  return governClient(client, {
    messages: {
      create: (t) => (body: unknown, opts?: unknown) => messagesCreate({ ig, provider, client, t, body, opts }),
      // The SDK's MessageStream calls `this.create(...).withResponse()`: run it on the governed view.
      stream: (t, self) => (body: unknown, opts?: unknown) => (t.stream as (b: unknown, o: unknown) => unknown).call(self, body, opts),
    },
  });
}

interface MessagesBody {
  model: string;
  max_tokens?: number;
  messages?: unknown;
  system?: unknown;
  tools?: unknown;
  stream?: boolean | null;
}

interface Message {
  model?: string;
  content?: { type: string; text?: string; thinking?: string; input?: unknown }[];
  usage?: AnthropicUsage | null;
}

interface StreamEvent {
  type: string;
  message?: Message;
  delta?: { type?: string; text?: string; partial_json?: string; thinking?: string };
  usage?: AnthropicUsage | null;
}

function messagesCreate(req: SdkRequest) {
  const b = req.body as MessagesBody;
  const plan = {
    model: b.model,
    api: 'anthropic.messages',
    stream: b.stream === true,
    inputTokens: promptTokens(b.messages, b.system, b.tools),
    maxOutputTokens: cap(b.max_tokens),
  };
  return sdkCall<StreamEvent>(
    req,
    plan,
    (data, rec) => {
      const m = data as Message;
      for (const c of m.content ?? []) {
        rec.text(c.text);
        rec.text(c.thinking);
        if (c.type === 'tool_use' && c.input !== undefined) rec.text(JSON.stringify(c.input));
      }
      if (m.usage) rec.usage = anthropicUsage(m.usage);
      rec.served = m.model;
    },
    (ev, rec) => {
      if (ev.type === 'content_block_delta') {
        rec.text(ev.delta?.text);
        rec.text(ev.delta?.partial_json);
        rec.text(ev.delta?.thinking);
      } else if (ev.type === 'message_start' && ev.message !== undefined) {
        // Input and cache counts (with the 5m/1h split) are known from here on; the output is not.
        if (ev.message.usage) rec.usage = anthropicUsage(ev.message.usage);
        rec.served = ev.message.model;
      } else if (ev.type === 'message_delta' && ev.usage) {
        rec.usage = anthropicUsage(ev.usage, rec.usage);
        rec.final = true;
      }
      return ev;
    },
  );
}

export { DEFAULT_MAX_OUTPUT_TOKENS, MEDIA_PART_TOKENS, type IntegrationOptions, type NormalUsage } from './call.js';
