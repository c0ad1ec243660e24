// governAnthropic against the real `@anthropic-ai/sdk`, pointed at a loopback server that
// speaks Anthropic's documented JSON and SSE (every SSE message with its `event:` line).
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GovernorError, RateLimitedError, type Governor } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { governAnthropic } from 'agent-governor/anthropic';
import { budget, FakeLLM, FIRST_TEXT_MS, flush, HEAD_MS, lastCall, makeGovernor, play, PRICES, scope, T0 } from './harness.js';

const fake = new FakeLLM();
let clock: ManualClock;
let gov: Governor;
let anthropic: Anthropic;
const messages = [{ role: 'user' as const, content: 'Say hello' }];
// 1,000 input tokens in all: 300 read from the cache, 200 written to it (50 of them for 1 hour), 500 uncached.
const CACHED = { input: 1000, cached: 300, cacheWrite: 200, cacheWrite1h: 50, output: 100 };
// 500 × $3 + 300 × $0.30 + 200 × $3.75 + 100 × $15, per million.
const CACHED_COST = '0.00384';

beforeAll(async () => {
  await fake.start();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  clock = new ManualClock(T0);
  gov = makeGovernor(clock);
  anthropic = governAnthropic(new Anthropic({ apiKey: 'test', baseURL: fake.anthropicURL, maxRetries: 0 }), gov, { scope });
  fake.received.length = 0;
});

describe('governAnthropic: messages.create', () => {
  it('normalizes input_tokens (which excludes the cache): reads and writes are part of the input, each at its price', async () => {
    play(fake, clock, { pieces: ['Hello'], usage: CACHED });
    const m = await anthropic.messages.create({ model: 'claude-test', max_tokens: 300, messages });
    expect(m.usage.input_tokens).toBe(500);
    expect(await lastCall(gov)).toMatchObject({
      status: 'ok',
      name: 'anthropic.messages',
      provider: 'anthropic',
      model: 'claude-test',
      cost: CACHED_COST,
      estimated: false,
      durationMs: HEAD_MS,
      usage: { inputTokens: '1000', cachedInputTokens: '300', cacheWriteTokens: '200', outputTokens: '100', reasoningTokens: '0' },
      data: { api: 'anthropic.messages', stream: false, ttftMs: HEAD_MS, cacheWrite5mTokens: 150, cacheWrite1hTokens: 50 },
    });
    expect(await budget(gov)).toEqual({ used: CACHED_COST, held: '0', remaining: '0.99616' });
  });

  it('charges the 1-hour writes on the cacheWrite1hTokens meter, at the 1-hour price', async () => {
    gov = makeGovernor(clock, { pricing: { models: { ...PRICES, 'claude-test': { ...PRICES['claude-test'], cacheWrite1h: '6' } } } });
    anthropic = governAnthropic(new Anthropic({ apiKey: 'test', baseURL: fake.anthropicURL, maxRetries: 0 }), gov, { scope });
    play(fake, clock, { pieces: ['Hello'], usage: CACHED });
    await anthropic.messages.create({ model: 'claude-test', max_tokens: 300, messages });
    // 500 × $3 + 300 × $0.30 + 150 × $3.75 (5 min) + 50 × $6 (1 h) + 100 × $15, per million.
    expect(await lastCall(gov)).toMatchObject({
      cost: '0.0039525',
      usage: { cacheWriteTokens: '200', cacheWrite1hTokens: '50' },
    });
  });

  it('stream: true settles from the cumulative message_delta, keeping message_start’s 5m/1h split', async () => {
    play(fake, clock, { pieces: ['Hel', 'lo'], usage: CACHED });
    const stream = await anthropic.messages.create({ model: 'claude-test', max_tokens: 300, messages, stream: true });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    expect(types).toContain('message_delta');
    expect(await lastCall(gov)).toMatchObject({
      status: 'ok',
      cost: CACHED_COST,
      estimated: false,
      durationMs: HEAD_MS + FIRST_TEXT_MS,
      data: { stream: true, ttftMs: HEAD_MS + FIRST_TEXT_MS, cacheWrite5mTokens: 150, cacheWrite1hTokens: 50 },
    });
    expect(await budget(gov)).toMatchObject({ used: CACHED_COST, held: '0' });
  });

  it('messages.stream (the MessageStream helper) is governed through create', async () => {
    play(fake, clock, { pieces: ['Hel', 'lo'], usage: CACHED });
    const stream = anthropic.messages.stream({ model: 'claude-test', max_tokens: 300, messages });
    const final = await stream.finalMessage();
    expect(final.content[0]).toMatchObject({ type: 'text', text: 'Hello' });
    expect(final.usage.output_tokens).toBe(100);
    expect(await lastCall(gov)).toMatchObject({
      status: 'ok',
      cost: CACHED_COST,
      estimated: false,
      data: { ttftMs: HEAD_MS + FIRST_TEXT_MS },
    });
    expect(await budget(gov)).toMatchObject({ used: CACHED_COST, held: '0' });
  });

  it('a stream cut after message_start is charged the input it reported plus the output counted from its text', async () => {
    play(fake, clock, { pieces: ['Hello', ' world'], usage: CACHED, cutAfter: 1 });
    const stream = await anthropic.messages.create({ model: 'claude-test', max_tokens: 300, messages, stream: true });
    const err = await (async () => {
      for await (const _ of stream) void _;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(GovernorError);
    // Input 500 × $3 + 300 × $0.30 + 200 × $3.75 as message_start said; 'Hello' → 2 output tokens × $15.
    expect(await lastCall(gov)).toMatchObject({
      status: 'error',
      cost: '0.00237',
      estimated: true,
      usage: { inputTokens: '1000', outputTokens: '2', cachedInputTokens: '300', cacheWriteTokens: '200' },
      data: { interrupted: 'error' },
    });
    expect(await budget(gov)).toMatchObject({ used: '0.00237', held: '0' });
  });

  it('MessageStream.abort() settles on what arrived (the input message_start reported), never zero', async () => {
    play(fake, clock, { pieces: ['Hello', ' world', '!'], usage: CACHED });
    const stream = anthropic.messages.stream({ model: 'claude-test', max_tokens: 300, messages });
    stream.on('text', (t) => {
      if (t === 'Hello') stream.abort();
    });
    await stream.done().catch(() => undefined);
    await flush();
    expect(await lastCall(gov)).toMatchObject({ status: 'ok', cost: '0.00237', estimated: true, data: { interrupted: 'aborted' } });
    expect(await budget(gov)).toMatchObject({ used: '0.00237', held: '0' });
  });

  it('a 429 with retry-after: the SDK error reaches the caller, then calls are refused with RateLimitedError until it passes', async () => {
    play(fake, clock, { pieces: [], usage: { input: 0, output: 0 }, status: 429, retryAfter: '30' });
    const err = await anthropic.messages.create({ model: 'claude-test', max_tokens: 10, messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect(await budget(gov)).toEqual({ used: '0', held: '0', remaining: '1' });
    clock.advance(10_000);
    const refused = await anthropic.messages.create({ model: 'claude-test', max_tokens: 10, messages }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(refused).toMatchObject({ scope: 'anthropic/claude-test', retryAfterMs: 20_000 });
    expect(fake.received).toHaveLength(1);
  });

  it('a 500 is the SDK’s error, recorded as a failed call with nothing charged', async () => {
    play(fake, clock, { pieces: [], usage: { input: 0, output: 0 }, status: 500 });
    const err = await anthropic.messages.create({ model: 'claude-test', max_tokens: 10, messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.InternalServerError);
    expect(await lastCall(gov)).toMatchObject({ status: 'error', cost: '0' });
    expect((await gov.breakers.for({ provider: 'anthropic', model: 'claude-test' }).getState()).failures).toBe(1);
    expect(await budget(gov)).toEqual({ used: '0', held: '0', remaining: '1' });
  });
});
