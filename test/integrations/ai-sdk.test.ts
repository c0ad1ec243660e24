// governorMiddleware with the real `ai` package and its OpenAI and Anthropic providers,
// pointed at the loopback server. The usage shape depends on the installed `ai` major.
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText, wrapLanguageModel } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RateLimitedError, type Governor } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { governorMiddleware } from 'agent-governor/ai';
import { budget, FakeLLM, FIRST_TEXT_MS, HEAD_MS, lastCall, makeGovernor, play, scope, T0 } from './harness.js';

const fake = new FakeLLM();
let clock: ManualClock;
let gov: Governor;

beforeAll(async () => {
  await fake.start();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  clock = new ManualClock(T0);
  gov = makeGovernor(clock);
  fake.received.length = 0;
});

function openaiModel() {
  const provider = createOpenAI({ apiKey: 'test', baseURL: fake.openaiURL });
  return wrapLanguageModel({ model: provider.chat('gpt-test'), middleware: governorMiddleware(gov, { scope }) });
}

function anthropicModel() {
  const provider = createAnthropic({ apiKey: 'test', baseURL: `${fake.anthropicURL}/v1` });
  return wrapLanguageModel({ model: provider('claude-test'), middleware: governorMiddleware(gov, { scope }) });
}

describe('governorMiddleware (Vercel AI SDK)', () => {
  it('generateText through the OpenAI provider: cached and reasoning tokens from the SDK usage', async () => {
    play(fake, clock, { pieces: ['Hello'], usage: { input: 1000, cached: 400, output: 200, reasoning: 50 } });
    const r = await generateText({ model: openaiModel(), prompt: 'Say hello', maxOutputTokens: 300, maxRetries: 0 });
    expect(r.text).toBe('Hello');
    expect(await lastCall(gov)).toMatchObject({
      status: 'ok',
      name: 'ai.generate',
      provider: 'openai',
      model: 'gpt-test',
      cost: '0.003',
      estimated: false,
      usage: { inputTokens: '1000', cachedInputTokens: '400', outputTokens: '200', reasoningTokens: '50' },
      data: { api: 'ai.generate', ttftMs: HEAD_MS },
    });
    expect(await budget(gov)).toEqual({ used: '0.003', held: '0', remaining: '0.997' });
  });

  it('streamText through the OpenAI provider settles from the finish part', async () => {
    play(fake, clock, { pieces: ['Hel', 'lo'], usage: { input: 1000, cached: 400, output: 200, reasoning: 50 } });
    const r = streamText({ model: openaiModel(), prompt: 'Say hello', maxRetries: 0 });
    let text = '';
    for await (const t of r.textStream) text += t;
    expect(text).toBe('Hello');
    expect(await lastCall(gov)).toMatchObject({
      status: 'ok',
      name: 'ai.stream',
      cost: '0.003',
      estimated: false,
      data: { stream: true, ttftMs: HEAD_MS + FIRST_TEXT_MS },
    });
    expect(await budget(gov)).toMatchObject({ used: '0.003', held: '0' });
  });

  it('generateText through the Anthropic provider: cache reads and writes inside the input total', async () => {
    play(fake, clock, { pieces: ['Hello'], usage: { input: 1000, cached: 300, cacheWrite: 200, cacheWrite1h: 50, output: 100 } });
    await generateText({ model: anthropicModel(), prompt: 'Say hello', maxOutputTokens: 300, maxRetries: 0 });
    expect(await lastCall(gov)).toMatchObject({
      provider: 'anthropic',
      model: 'claude-test',
      cost: '0.00384',
      estimated: false,
      usage: { inputTokens: '1000', cachedInputTokens: '300', cacheWriteTokens: '200', outputTokens: '100' },
    });
    expect(await budget(gov)).toMatchObject({ used: '0.00384', held: '0' });
  });

  it('streamText through the Anthropic provider', async () => {
    play(fake, clock, { pieces: ['Hel', 'lo'], usage: { input: 1000, cached: 300, cacheWrite: 200, cacheWrite1h: 50, output: 100 } });
    const r = streamText({ model: anthropicModel(), prompt: 'Say hello', maxOutputTokens: 300, maxRetries: 0 });
    let text = '';
    for await (const t of r.textStream) text += t;
    expect(text).toBe('Hello');
    expect(await lastCall(gov)).toMatchObject({ status: 'ok', cost: '0.00384', estimated: false });
    expect(await budget(gov)).toMatchObject({ used: '0.00384', held: '0' });
  });

  it('a stream cut mid-way is charged its best figure, marked estimated', async () => {
    play(fake, clock, { pieces: ['Hello', ' world'], usage: { input: 1000, output: 200 }, cutAfter: 1 });
    const r = streamText({ model: openaiModel(), prompt: 'Say hello', maxOutputTokens: 50, maxRetries: 0, onError: () => {} });
    let text = '';
    await (async () => {
      for await (const t of r.textStream) text += t;
    })().catch(() => undefined);
    expect(text).toBe('Hello');
    // 'Say hello' → 3 + 4 tokens estimated in; 'Hello' → 2 tokens out: 7 × $2 + 2 × $8 per million.
    const e = await lastCall(gov);
    expect(e).toMatchObject({ cost: '0.00003', estimated: true, usage: { inputTokens: '7', outputTokens: '2' } });
    expect(e.status).toBe('error');
    expect(await budget(gov)).toMatchObject({ used: '0.00003', held: '0' });
  });

  it('a 429: the APICallError reaches the caller, and the next call is refused with RateLimitedError', async () => {
    play(fake, clock, { pieces: [], usage: { input: 0, output: 0 }, status: 429, retryAfter: '5' });
    const err = await generateText({ model: openaiModel(), prompt: 'Say hello', maxRetries: 0 }).catch((e: unknown) => e);
    expect((err as { statusCode?: number }).statusCode).toBe(429);
    const refused = await generateText({ model: openaiModel(), prompt: 'Say hello', maxRetries: 0 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(refused).toMatchObject({ retryAfterMs: 5000 });
    expect(fake.received).toHaveLength(1);
    expect(await budget(gov)).toEqual({ used: '0', held: '0', remaining: '1' });
  });
});
