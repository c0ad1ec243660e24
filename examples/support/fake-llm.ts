/**
 * A loopback LLM server that speaks OpenAI's (Chat Completions, Responses) and Anthropic's
 * (Messages) documented JSON and SSE formats, for the examples and the tests: real SDKs
 * point their `baseURL` at it. It listens on 127.0.0.1 only and answers what `scenario` says.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the next calls get. Token counts are the normalized truth (input includes cache). */
export interface Scenario {
  /** The output text, one stream delta per piece. */
  pieces: string[];
  usage: { input: number; output: number; cached?: number; cacheWrite?: number; cacheWrite1h?: number; reasoning?: number };
  /** Answer with this HTTP status and an error body instead (429, 500, ...). */
  status?: number;
  /** `retry-after` header (seconds) of an error answer. */
  retryAfter?: string;
  /** `retry-after-ms` header of an error answer. */
  retryAfterMs?: string;
  /** `x-should-retry` header of an error answer (the SDKs obey it over the status). */
  shouldRetry?: 'true' | 'false';
  /** Streams: drop the connection after this many text deltas (before any final usage). */
  cutAfter?: number;
  /** Streams: never send usage (like a server that ignores `stream_options.include_usage`). */
  noUsage?: boolean;
  /** The model named in the answer (default: the request's). */
  servedModel?: string;
  /** Called before the answer starts and before a stream's first text event: the tests move a manual clock here. */
  tick?: (what: 'head' | 'first-text') => void;
}

/** A request the server received. */
export interface Received {
  readonly path: string;
  readonly body: Record<string, unknown>;
}

export class FakeLLM {
  scenario: Scenario = { pieces: ['Hello', ' world'], usage: { input: 20, output: 2 } };
  /** Scenarios for the next requests, one each: a request first makes the next of them the `scenario`. */
  readonly queue: Scenario[] = [];
  readonly received: Received[] = [];
  private server: Server | undefined;
  private url = '';

  /** Start listening on a free loopback port. */
  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Base URL for the OpenAI SDK (`/v1` included) and the AI SDK's OpenAI provider. */
  get openaiURL(): string {
    return `${this.url}/v1`;
  }

  /** Base URL for the Anthropic SDK (it adds `/v1`). */
  get anthropicURL(): string {
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    const path = (req.url ?? '').replace(/\?.*$/, '');
    this.received.push({ path, body });
    const queued = this.queue.shift();
    if (queued !== undefined) this.scenario = queued;
    const s = this.scenario;
    s.tick?.('head');
    const model = s.servedModel ?? String(body.model);
    if (s.status !== undefined) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (s.retryAfter !== undefined) headers['retry-after'] = s.retryAfter;
      if (s.retryAfterMs !== undefined) headers['retry-after-ms'] = s.retryAfterMs;
      if (s.shouldRetry !== undefined) headers['x-should-retry'] = s.shouldRetry;
      res.writeHead(s.status, headers);
      const anthropic = path.endsWith('/messages');
      res.end(
        JSON.stringify(
          anthropic
            ? { type: 'error', error: { type: s.status === 429 ? 'rate_limit_error' : 'api_error', message: `status ${s.status}` } }
            : { error: { message: `status ${s.status}`, type: s.status === 429 ? 'rate_limit_error' : 'server_error', code: null } },
        ),
      );
      return;
    }
    const stream = body.stream === true;
    if (path.endsWith('/chat/completions')) return stream ? this.chatStream(res, body, model) : json(res, chatCompletion(s, model));
    if (path.endsWith('/responses')) return stream ? this.responsesStream(res, model) : json(res, responseObject(s, model, 'completed'));
    if (path.endsWith('/messages')) return stream ? this.messagesStream(res, model) : json(res, anthropicMessage(s, model));
    res.writeHead(404).end();
  }

  /** Write SSE events, cutting the connection after `cutAfter` text events. */
  private async sse(res: ServerResponse, events: { event?: string; data: unknown; text?: boolean }[]): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    let texts = 0;
    for (const e of events) {
      if (e.text === true && this.scenario.cutAfter !== undefined && texts >= this.scenario.cutAfter) {
        // Let what was written reach the client, then drop the connection mid-stream.
        await new Promise<void>((r) => res.write('', () => r()));
        res.destroy();
        return;
      }
      if (e.text === true && texts === 0) this.scenario.tick?.('first-text');
      const data = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
      res.write(`${e.event === undefined ? '' : `event: ${e.event}\n`}data: ${data}\n\n`);
      if (e.text === true) texts++;
      // One event per write, as a server streams them.
      await new Promise<void>((r) => setImmediate(r));
    }
    res.end();
  }

  private chatStream(res: ServerResponse, body: Record<string, unknown>, model: string): Promise<void> {
    const s = this.scenario;
    const withUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true && s.noUsage !== true;
    const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1_700_000_000, model, system_fingerprint: 'fp_1' };
    const extra = withUsage ? { usage: null } : {};
    const events: { data: unknown; text?: boolean }[] = [
      {
        data: {
          ...base,
          choices: [{ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }],
          ...extra,
        },
      },
      ...s.pieces.map((p) => ({
        data: { ...base, choices: [{ index: 0, delta: { content: p }, logprobs: null, finish_reason: null }], ...extra },
        text: true,
      })),
      { data: { ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], ...extra } },
    ];
    if (withUsage) events.push({ data: { ...base, choices: [], usage: chatUsage(s) } });
    events.push({ data: '[DONE]' });
    return this.sse(res, events);
  }

  private responsesStream(res: ServerResponse, model: string): Promise<void> {
    const s = this.scenario;
    const created = responseObject(s, model, 'in_progress');
    const item = { id: 'msg_1', type: 'message', status: 'in_progress', role: 'assistant', content: [] };
    let seq = 0;
    const ev = (type: string, rest: Record<string, unknown>) => ({ event: type, data: { type, sequence_number: seq++, ...rest } });
    const events: { event?: string; data: unknown; text?: boolean }[] = [
      ev('response.created', { response: { ...created, usage: null } }),
      ev('response.output_item.added', { output_index: 0, item }),
      ev('response.content_part.added', {
        item_id: 'msg_1',
        output_index: 0,
        content_index: 0,
        part: { type: 'output_text', text: '', annotations: [] },
      }),
      ...s.pieces.map((p) => ({
        ...ev('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: p, logprobs: [] }),
        text: true,
      })),
      ev('response.output_text.done', { item_id: 'msg_1', output_index: 0, content_index: 0, text: s.pieces.join(''), logprobs: [] }),
      ev('response.output_item.done', { output_index: 0, item: (responseObject(s, model, 'completed').output as unknown[])[0] }),
    ];
    const done = responseObject(s, model, 'completed');
    if (s.noUsage === true) done.usage = null;
    events.push(ev('response.completed', { response: done }));
    return this.sse(res, events);
  }

  private messagesStream(res: ServerResponse, model: string): Promise<void> {
    const s = this.scenario;
    const u = anthropicUsage(s);
    const events: { event?: string; data: unknown; text?: boolean }[] = [
      {
        event: 'message_start',
        data: {
          type: 'message_start',
          message: {
            id: 'msg_1',
            type: 'message',
            role: 'assistant',
            model,
            content: [],
            stop_reason: null,
            stop_sequence: null,
            usage: { ...u, output_tokens: 1 },
          },
        },
      },
      { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
      { event: 'ping', data: { type: 'ping' } },
      ...s.pieces.map((p) => ({
        event: 'content_block_delta',
        data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: p } },
        text: true,
      })),
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    ];
    if (s.noUsage !== true) {
      // Cumulative counts, without the 5m/1h split (that came with message_start only).
      const { cache_creation: _split, ...cumulative } = u;
      events.push({
        event: 'message_delta',
        data: {
          type: 'message_delta',
          delta: { stop_reason: 'end_turn', stop_sequence: null },
          usage: { ...cumulative, output_tokens: s.usage.output },
        },
      });
    }
    events.push({ event: 'message_stop', data: { type: 'message_stop' } });
    return this.sse(res, events);
  }
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function chatUsage(s: Scenario) {
  const u = s.usage;
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: u.cached ?? 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: u.reasoning ?? 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

function chatCompletion(s: Scenario, model: string) {
  return {
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    system_fingerprint: 'fp_1',
    choices: [
      { index: 0, message: { role: 'assistant', content: s.pieces.join(''), refusal: null }, logprobs: null, finish_reason: 'stop' },
    ],
    usage: s.noUsage === true ? undefined : chatUsage(s),
  };
}

function responseObject(s: Scenario, model: string, status: string): Record<string, unknown> {
  const u = s.usage;
  return {
    id: 'resp_1',
    object: 'response',
    created_at: 1_700_000_000,
    status,
    model,
    output:
      status === 'completed'
        ? [
            {
              id: 'msg_1',
              type: 'message',
              status: 'completed',
              role: 'assistant',
              content: [{ type: 'output_text', text: s.pieces.join(''), annotations: [], logprobs: [] }],
            },
          ]
        : [],
    usage:
      s.noUsage === true || status !== 'completed'
        ? null
        : {
            input_tokens: u.input,
            input_tokens_details: { cached_tokens: u.cached ?? 0 },
            output_tokens: u.output,
            output_tokens_details: { reasoning_tokens: u.reasoning ?? 0 },
            total_tokens: u.input + u.output,
          },
  };
}

/** Anthropic's usage: `input_tokens` excludes cache reads and writes; the writes are split by lifetime. */
function anthropicUsage(s: Scenario) {
  const u = s.usage;
  const write = u.cacheWrite ?? 0;
  const oneHour = u.cacheWrite1h ?? 0;
  return {
    input_tokens: u.input - (u.cached ?? 0) - write,
    cache_creation_input_tokens: write,
    cache_read_input_tokens: u.cached ?? 0,
    cache_creation: { ephemeral_5m_input_tokens: write - oneHour, ephemeral_1h_input_tokens: oneHour },
    output_tokens: u.output,
    service_tier: 'standard',
  };
}

function anthropicMessage(s: Scenario, model: string) {
  return {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model,
    content: [{ type: 'text', text: s.pieces.join('') }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: s.noUsage === true ? undefined : anthropicUsage(s),
  };
}
