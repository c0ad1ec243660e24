// governOpenAI against the real `openai` SDK, pointed at a loopback server that speaks
// OpenAI's documented JSON and SSE. Every case checks the exact charge, the ledger entry,
// the budget left and that nothing stays held.
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CircuitOpenError, GovernorError, RateLimitedError, BudgetExceededError, type Governor } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { governOpenAI } from 'agent-governor/openai';
import { budget, calls, FakeLLM, FIRST_TEXT_MS, flush, HEAD_MS, lastCall, makeGovernor, play, scope, T0 } from './harness.js';

const fake = new FakeLLM();
let clock: ManualClock;
let gov: Governor;
let openai: OpenAI;
const messages = [{ role: 'user' as const, content: 'Say hello' }];
// 'Say hello': 9 characters → 3 tokens, plus 4 of message framing.
const INPUT_ESTIMATE = 7;

beforeAll(async () => {
  await fake.start();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  clock = new ManualClock(T0);
  gov = makeGovernor(clock);
  openai = governOpenAI(new OpenAI({ apiKey: 'test', baseURL: fake.openaiURL, maxRetries: 0 }), gov, { scope });
  fake.received.length = 0;
});

describe('governOpenAI: chat.completions.create', () => {
  it('charges the reported usage: cached input at its price, reasoning inside the output', async () => {
    play(fake, clock, { pieces: ['Hello', ' world'], usage: { input: 1000, cached: 400, output: 200, reasoning: 50 } });
    const r = await openai.chat.completions.create({ model: 'gpt-test', messages, max_tokens: 300 });
    expect(r.choices[0]?.message.content).toBe('Hello world');
    // 600 uncached × $2 + 400 cached × $0.50 + 200 output × $8, per million.
    const e = await lastCall(gov);
    expect(e).toMatchObject({
      status: 'ok',
      kind: 'call',
      name: 'openai.chat.completions',
      provider: 'openai',
      model: 'gpt-test',
      cost: '0.003',
      estimated: false,
      durationMs: HEAD_MS,
      usage: {
        requests: '1',
        llmCalls: '1',
        inputTokens: '1000',
        outputTokens: '200',
        cachedInputTokens: '400',
        cacheWriteTokens: '0',
        reasoningTokens: '50',
      },
      data: { api: 'openai.chat.completions', stream: false, ttftMs: HEAD_MS },
    });
    expect(await budget(gov)).toEqual({ used: '0.003', held: '0', remaining: '0.997' });
  });

  it('streams: turns include_usage on, hides the usage chunk and field the caller did not ask for, settles from it', async () => {
    play(fake, clock, { pieces: ['Hel', 'lo'], usage: { input: 1000, cached: 400, output: 200, reasoning: 50 } });
    const stream = await openai.chat.completions.create({ model: 'gpt-test', messages, max_tokens: 300, stream: true });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(fake.received[0]?.body.stream_options).toEqual({ include_usage: true });
    expect(chunks.map((c) => c.choices[0]?.delta.content)).toEqual(['', 'Hel', 'lo', undefined]);
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
    const e = await lastCall(gov);
    expect(e).toMatchObject({ status: 'ok', cost: '0.003', estimated: false, data: { stream: true, ttftMs: HEAD_MS + FIRST_TEXT_MS } });
    expect(e.durationMs).toBe(HEAD_MS + FIRST_TEXT_MS);
    expect(await budget(gov)).toEqual({ used: '0.003', held: '0', remaining: '0.997' });
  });

  it('streams: hands the usage chunk on when the caller asked for it', async () => {
    play(fake, clock, { pieces: ['Hi'], usage: { input: 100, output: 10 } });
    const stream = await openai.chat.completions.create({
      model: 'gpt-test',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    const last = chunks[chunks.length - 1];
    expect(last?.choices).toEqual([]);
    expect(last?.usage?.prompt_tokens).toBe(100);
    // 100 × $2 + 10 × $8 per million.
    expect((await lastCall(gov)).cost).toBe('0.00028');
    expect(await budget(gov)).toMatchObject({ used: '0.00028', held: '0' });
  });

  it('a stream that ends without usage is charged the input estimate plus the output counted from its text, marked estimated', async () => {
    play(fake, clock, { pieces: ['Hello', ' world'], usage: { input: 1000, output: 200 }, noUsage: true });
    const stream = await openai.chat.completions.create({ model: 'gpt-test', messages, max_tokens: 50, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello world');
    // 7 input tokens estimated; 'Hello world' is 11 characters → 3 tokens: 7 × $2 + 3 × $8 per million.
    const e = await lastCall(gov);
    expect(e).toMatchObject({
      status: 'ok',
      cost: '0.000038',
      estimated: true,
      usage: { inputTokens: String(INPUT_ESTIMATE), outputTokens: '3' },
      data: { interrupted: 'no-usage' },
    });
    expect(await budget(gov)).toMatchObject({ used: '0.000038', held: '0' });
  });

  it('a stream cut mid-way: the caller gets the network error; the call is charged its best figure, marked estimated, and counts in the breaker', async () => {
    play(fake, clock, { pieces: ['Hello', ' world', '!'], usage: { input: 1000, output: 200 }, cutAfter: 1 });
    const stream = await openai.chat.completions.create({ model: 'gpt-test', messages, max_tokens: 50, stream: true });
    let text = '';
    const read = async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    };
    const err = await read().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(GovernorError);
    expect(text).toBe('Hello');
    // 7 × $2 + 2 × $8 ('Hello': 5 characters → 2 tokens) per million.
    const e = await lastCall(gov);
    expect(e).toMatchObject({
      status: 'error',
      cost: '0.00003',
      estimated: true,
      usage: { inputTokens: '7', outputTokens: '2' },
      data: { interrupted: 'error' },
    });
    expect(await budget(gov)).toMatchObject({ used: '0.00003', held: '0' });
    expect((await gov.breakers.for({ provider: 'openai', model: 'gpt-test' }).getState()).failures).toBe(1);
  });

  it('a consumer that stops reading settles at once on what it received', async () => {
    play(fake, clock, { pieces: ['Hello', ' world', '!'], usage: { input: 1000, output: 200 } });
    const stream = await openai.chat.completions.create({ model: 'gpt-test', messages, max_tokens: 50, stream: true });
    for await (const c of stream) if (c.choices[0]?.delta.content === 'Hello') break;
    const e = await lastCall(gov);
    expect(e).toMatchObject({ status: 'ok', cost: '0.00003', estimated: true, data: { interrupted: 'stopped' } });
    expect(await budget(gov)).toMatchObject({ used: '0.00003', held: '0' });
  });

  it('an abort before reading is charged the input estimate, never zero', async () => {
    play(fake, clock, { pieces: ['Hello'], usage: { input: 1000, output: 200 } });
    const stream = await openai.chat.completions.create({ model: 'gpt-test', messages, max_tokens: 50, stream: true });
    stream.controller.abort();
    await flush();
    // 7 × $2 per million.
    const e = await lastCall(gov);
    expect(e).toMatchObject({
      status: 'ok',
      cost: '0.000014',
      estimated: true,
      usage: { outputTokens: '0' },
      data: { interrupted: 'aborted' },
    });
    expect(await budget(gov)).toMatchObject({ used: '0.000014', held: '0' });
  });

  it("a 429's retry-after is fed back: the next call is refused with a typed RateLimitedError until it passes", async () => {
    play(fake, clock, { pieces: [], usage: { input: 0, output: 0 }, status: 429, retryAfter: '2' });
    const err = await openai.chat.completions.create({ model: 'gpt-test', messages }).catch((e: unknown) => e);
    expect((err as { status?: number }).status).toBe(429);
    expect(err).not.toBeInstanceOf(GovernorError);
    expect(await lastCall(gov)).toMatchObject({ status: 'error', cost: '0', message: expect.stringContaining('429') });
    expect(await budget(gov)).toEqual({ used: '0', held: '0', remaining: '1' });
    const refused = await openai.chat.completions.create({ model: 'gpt-test', messages }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(refused).toMatchObject({ code: 'rate_limited', limit: 'provider.retryAfter', scope: 'openai/gpt-test', retryAfterMs: 2000 });
    expect(fake.received).toHaveLength(1);
    clock.advance(2000);
    play(fake, clock, { pieces: ['ok'], usage: { input: 100, output: 10 } });
    await openai.chat.completions.create({ model: 'gpt-test', messages });
    expect(fake.received).toHaveLength(2);
    expect(await budget(gov)).toMatchObject({ used: '0.00028', held: '0' });
  });

  it('500s count in the breaker of { provider, model }; once open it refuses with CircuitOpenError before any request', async () => {
    play(fake, clock, { pieces: [], usage: { input: 0, output: 0 }, status: 500 });
    for (let i = 0; i < 3; i++) {
      const err = await openai.chat.completions.create({ model: 'gpt-test', messages }).catch((e: unknown) => e);
      expect((err as { status?: number }).status).toBe(500);
    }
    const refused = await openai.chat.completions.create({ model: 'gpt-test', messages }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(fake.received).toHaveLength(3);
    expect((await calls(gov)).map((e) => e.status)).toEqual(['error', 'error', 'error', 'refused']);
    expect(await budget(gov)).toEqual({ used: '0', held: '0', remaining: '1' });
  });

  it('a call the budget cannot hold is refused with BudgetExceededError and never sent', async () => {
    // 7 × $2 + 100,000 × $8 per million = $0.800014 held; $1 minus $0.3 already spent leaves less.
    await gov.guard({ scope, estimate: { cost: '0.3' } }, () => 'spent');
    const err = await openai.chat.completions.create({ model: 'gpt-test', messages, max_tokens: 100_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BudgetExceededError);
    expect(fake.received).toHaveLength(0);
    expect(await budget(gov)).toEqual({ used: '0.3', held: '0', remaining: '0.7' });
  });

  it('withResponse() still gives the raw response, and other methods are the client’s own', async () => {
    play(fake, clock, { pieces: ['Hi'], usage: { input: 100, output: 10 } });
    const { data, response } = await openai.chat.completions.create({ model: 'gpt-test', messages }).withResponse();
    expect(data.choices[0]?.message.content).toBe('Hi');
    expect(response.status).toBe(200);
    expect(openai).toBeInstanceOf(OpenAI);
    expect(typeof openai.models.list).toBe('function');
    expect(await budget(gov)).toMatchObject({ used: '0.00028', held: '0' });
  });
});

describe('governOpenAI: responses.create', () => {
  it('charges input_tokens_details.cached_tokens and output_tokens_details.reasoning_tokens', async () => {
    play(fake, clock, { pieces: ['Hello'], usage: { input: 1000, cached: 400, output: 200, reasoning: 50 } });
    const r = await openai.responses.create({ model: 'gpt-test', input: 'Say hello', max_output_tokens: 300 });
    expect(r.output_text).toBe('Hello');
    expect(await lastCall(gov)).toMatchObject({
      name: 'openai.responses',
      cost: '0.003',
      estimated: false,
      usage: { inputTokens: '1000', cachedInputTokens: '400', outputTokens: '200', reasoningTokens: '50' },
      data: { api: 'openai.responses', ttftMs: HEAD_MS },
    });
    expect(await budget(gov)).toEqual({ used: '0.003', held: '0', remaining: '0.997' });
  });

  it('streams: settles from response.completed', async () => {
    play(fake, clock, { pieces: ['Hel', 'lo'], usage: { input: 1000, cached: 400, output: 200, reasoning: 50 } });
    const stream = await openai.responses.create({ model: 'gpt-test', input: 'Say hello', stream: true });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    expect(types.filter((t) => t === 'response.output_text.delta')).toHaveLength(2);
    expect(types[types.length - 1]).toBe('response.completed');
    expect(await lastCall(gov)).toMatchObject({ status: 'ok', cost: '0.003', estimated: false, data: { ttftMs: HEAD_MS + FIRST_TEXT_MS } });
    expect(await budget(gov)).toMatchObject({ used: '0.003', held: '0' });
  });
});

describe('governOpenAI: aborts while reading', () => {
  it("the caller's abort mid-stream settles on what arrived, without counting in the breaker", async () => {
    play(fake, clock, { pieces: ['Hello', ' world', '!'], usage: { input: 1000, output: 200 } });
    const stream = await openai.chat.completions.create({ model: 'gpt-test', messages, max_tokens: 50, stream: true });
    let text = '';
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      if (text === 'Hello') stream.controller.abort();
    }
    // The SDK ends an aborted stream quietly.
    expect(text).toBe('Hello');
    expect(await lastCall(gov)).toMatchObject({ status: 'ok', cost: '0.00003', estimated: true, data: { interrupted: 'aborted' } });
    expect(await budget(gov)).toMatchObject({ used: '0.00003', held: '0' });
    expect((await gov.breakers.for({ provider: 'openai', model: 'gpt-test' }).getState()).failures).toBe(0);
  });
});
