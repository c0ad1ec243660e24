// The SDKs' retries, attempt by attempt: governed OpenAI and Anthropic calls go out with
// `maxRetries: 0` and the integration retries as the SDK would, on the governor's clock, so
// every failed attempt is an `error` ledger entry (nothing charged, `data.attempt`), a failure
// in the breaker and (a 429) the provider's cooldown, while the call keeps one reservation and
// is charged once, for the response the provider bills.
import { createOpenAI } from '@ai-sdk/openai';
import Anthropic from '@anthropic-ai/sdk';
import { generateText, streamText, wrapLanguageModel } from 'ai';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CircuitOpenError, type Governor } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { governorMiddleware } from 'agent-governor/ai';
import { governAnthropic } from 'agent-governor/anthropic';
import { governOpenAI } from 'agent-governor/openai';
import { budget, calls, FakeLLM, HEAD_MS, makeGovernor, scope, T0 } from './harness.js';
import type { Scenario } from '../../examples/support/fake-llm.js';

const fake = new FakeLLM();
const messages = [{ role: 'user' as const, content: 'Say hello' }];
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
  fake.queue.length = 0;
});

const tick = (what: 'head' | 'first-text'): void => clock.advance(what === 'head' ? HEAD_MS : 25);
const fail = (status: number, more: Partial<Scenario> = {}): Scenario => ({
  pieces: [],
  usage: { input: 0, output: 0 },
  status,
  tick,
  ...more,
});
const ok = (more: Partial<Scenario> = {}): Scenario => ({ pieces: ['Hi'], usage: { input: 100, output: 10 }, tick, ...more });
/** Queue the answers of the next requests. */
const answers = (...s: Scenario[]): void => void fake.queue.push(...s);

/** Wait until the call sleeps on the manual clock (its back-off), then return how many sleeps are pending. */
async function sleeping(): Promise<number> {
  // The SDK's request goes over real loopback HTTP: wait for it by the real clock (at most 10 s),
  // not by a count of event-loop turns, which a busy machine (CI) can run through first.
  const deadline = performance.now() + 10_000;
  while (clock.pendingSleeps === 0 && performance.now() < deadline) await new Promise((r) => setImmediate(r));
  return clock.pendingSleeps;
}

const openaiClient = (options: ConstructorParameters<typeof OpenAI>[0] = {}) =>
  governOpenAI(new OpenAI({ apiKey: 't', baseURL: fake.openaiURL, ...options }), gov, { scope });
const anthropicClient = (options: ConstructorParameters<typeof Anthropic>[0] = {}) =>
  governAnthropic(new Anthropic({ apiKey: 't', baseURL: fake.anthropicURL, ...options }), gov, { scope });

const breaker = () => gov.breakers.getState({ provider: 'openai', model: 'gpt-test' });

describe('retries of governed OpenAI calls', () => {
  it('a 500 then a 200: one charge, an error entry for attempt 1, a breaker failure, the ok entry is attempt 2', async () => {
    answers(fail(500), ok());
    const call = openaiClient().chat.completions.create({ model: 'gpt-test', messages });
    expect(await sleeping()).toBe(1);
    // Between the attempts: the failure is counted in the breaker and the estimate is still held, once.
    expect((await breaker()).failures).toBe(1);
    const held = (await budget(gov)).held;
    expect(Number(held)).toBeGreaterThan(0);
    expect(fake.received).toHaveLength(1);
    // The SDK's first back-off: 0.5 s less up to 25 % jitter, so at least 375 ms.
    clock.advance(374);
    await sleeping();
    expect(fake.received).toHaveLength(1);
    clock.advance(126);
    const r = await call;
    expect(r.choices[0]?.message.content).toBe('Hi');
    expect(fake.received).toHaveLength(2);
    const entries = await calls(gov);
    expect(entries.map((e) => [e.status, e.cost, e.data?.attempt])).toEqual([
      ['error', '0', 1],
      ['ok', '0.00028', 2],
    ]);
    expect(entries[0]).toMatchObject({
      kind: 'call',
      scope,
      name: 'openai.chat.completions',
      provider: 'openai',
      model: 'gpt-test',
      usage: {},
      currency: 'USD',
      durationMs: HEAD_MS,
      // The SDK's errors keep the name 'Error' (the pipeline records a final one the same way).
      code: 'Error',
      data: { api: 'openai.chat.completions', stream: false, attempt: 1 },
    });
    expect(entries[0]?.id).toBe(`${entries[1]?.id}.1`);
    // 100 × $2 + 10 × $8 per million, charged once; nothing held.
    expect(await budget(gov)).toEqual({ used: '0.00028', held: '0', remaining: '0.99972' });
    // The success closed the run of consecutive failures.
    expect((await breaker()).failures).toBe(0);
    // Analytics counts the retry that succeeded.
    const report = await gov.analytics.getApiCallAnalytics({ scope });
    expect(report.totals).toMatchObject({ retries: 1, retrySuccessRate: 1 });
  });

  it('a 429 with retry-after: waits exactly that long on the manual clock, and the cooldown is in the store', async () => {
    answers(fail(429, { retryAfter: '2' }), ok());
    const call = openaiClient().chat.completions.create({ model: 'gpt-test', messages });
    expect(await sleeping()).toBe(1);
    expect(await gov.store.getValue('pc|openai/gpt-test')).toEqual({ version: 1, value: String(T0 + HEAD_MS + 2000) });
    clock.advance(1999);
    await sleeping();
    expect(fake.received).toHaveLength(1);
    clock.advance(1);
    await call;
    expect(fake.received).toHaveLength(2);
    expect((await calls(gov)).map((e) => [e.status, e.code ?? null, e.data?.attempt])).toEqual([
      ['error', 'Error', 1],
      ['ok', null, 2],
    ]);
    expect(await budget(gov)).toEqual({ used: '0.00028', held: '0', remaining: '0.99972' });
  });

  it('retry-after-ms wins over retry-after, as in the SDK', async () => {
    answers(fail(503, { retryAfter: '30', retryAfterMs: '1500' }), ok());
    const call = openaiClient().chat.completions.create({ model: 'gpt-test', messages });
    await sleeping();
    clock.advance(1499);
    await sleeping();
    expect(fake.received).toHaveLength(1);
    clock.advance(1);
    await call;
    expect(fake.received).toHaveLength(2);
  });

  it('retries exhausted: the SDK error reaches the caller, maxRetries + 1 error entries, nothing charged, nothing held', async () => {
    answers(fail(500), fail(500), fail(500));
    const call = openaiClient({ maxRetries: 2 })
      .chat.completions.create({ model: 'gpt-test', messages })
      .catch((e: unknown) => e);
    await sleeping();
    clock.advance(500);
    await sleeping();
    // The second back-off: 1 s less up to 25 %.
    clock.advance(1000);
    const err = await call;
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as { status: number }).status).toBe(500);
    expect(fake.received).toHaveLength(3);
    expect((await calls(gov)).map((e) => [e.status, e.cost, e.data?.attempt])).toEqual([
      ['error', '0', 1],
      ['error', '0', 2],
      ['error', '0', 3],
    ]);
    expect(await budget(gov)).toEqual({ used: '0', held: '0', remaining: '1' });
    // Three failures in a row: the breaker (threshold 3) is open.
    expect((await breaker()).state).toBe('open');
  });

  it('the breaker opening on the failed attempts stops the retries: the next attempt is refused with CircuitOpenError', async () => {
    gov = makeGovernor(clock, { breakers: { failureThreshold: 2 } });
    answers(fail(500), fail(500), ok());
    const call = openaiClient({ maxRetries: 5 })
      .chat.completions.create({ model: 'gpt-test', messages })
      .catch((e: unknown) => e);
    await sleeping();
    clock.advance(500);
    const err = await call;
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(fake.received).toHaveLength(2);
    expect((await calls(gov)).map((e) => [e.status, e.code, e.cost, e.data?.attempt])).toEqual([
      ['error', 'Error', '0', 1],
      ['error', 'Error', '0', 2],
      ['error', 'circuit_open', '0', 3],
    ]);
    expect(clock.pendingSleeps).toBe(0);
    expect(await budget(gov)).toEqual({ used: '0', held: '0', remaining: '1' });
  });

  it('maxRetries: 0 on the client, or on the request, is respected: one attempt, one error entry', async () => {
    answers(fail(500), fail(500), ok());
    const err = await openaiClient({ maxRetries: 0 })
      .chat.completions.create({ model: 'gpt-test', messages })
      .catch((e: unknown) => e);
    expect((err as { status: number }).status).toBe(500);
    const err2 = await openaiClient()
      .chat.completions.create({ model: 'gpt-test', messages }, { maxRetries: 0 })
      .catch((e: unknown) => e);
    expect((err2 as { status: number }).status).toBe(500);
    expect(fake.received).toHaveLength(2);
    expect(clock.pendingSleeps).toBe(0);
    const entries = await calls(gov);
    expect(entries.map((e) => [e.status, e.data?.attempt ?? null])).toEqual([
      ['error', null],
      ['error', null],
    ]);
  });

  it("the attempts' error entries follow the governor's ledger option ('failures' keeps them, 'none' writes none)", async () => {
    for (const ledger of ['failures', 'none'] as const) {
      gov = makeGovernor(clock, { ledger });
      answers(fail(500), ok());
      const call = openaiClient().chat.completions.create({ model: 'gpt-test', messages });
      await sleeping();
      clock.advance(500);
      await call;
      expect((await calls(gov)).map((e) => [e.status, e.data?.attempt])).toEqual(ledger === 'none' ? [] : [['error', 1]]);
      expect(await budget(gov)).toEqual({ used: '0.00028', held: '0', remaining: '0.99972' });
    }
  });

  it('a request’s maxRetries overrides the client’s', async () => {
    answers(fail(500), ok());
    const call = openaiClient({ maxRetries: 0 }).chat.completions.create({ model: 'gpt-test', messages }, { maxRetries: 1 });
    await sleeping();
    clock.advance(500);
    await call;
    expect(fake.received).toHaveLength(2);
  });

  it('a 400 is not retried; x-should-retry: false stops a 500 from being retried', async () => {
    answers(fail(400), fail(500, { shouldRetry: 'false' }));
    const a = await openaiClient()
      .chat.completions.create({ model: 'gpt-test', messages })
      .catch((e: unknown) => e);
    const b = await openaiClient()
      .chat.completions.create({ model: 'gpt-test', messages })
      .catch((e: unknown) => e);
    expect([(a as { status: number }).status, (b as { status: number }).status]).toEqual([400, 500]);
    expect(fake.received).toHaveLength(2);
    expect(clock.pendingSleeps).toBe(0);
  });

  it('the caller’s abort during the back-off ends the call: nothing charged, nothing held, no more requests', async () => {
    answers(fail(500), ok());
    const ctl = new AbortController();
    const call = openaiClient()
      .chat.completions.create({ model: 'gpt-test', messages }, { signal: ctl.signal })
      .catch((e: unknown) => e);
    await sleeping();
    ctl.abort();
    await call;
    expect(fake.received).toHaveLength(1);
    expect(await budget(gov)).toEqual({ used: '0', held: '0', remaining: '1' });
  });

  it('a stream is retried before its first chunk: the stream of attempt 2 is charged once from its usage', async () => {
    answers(fail(502), ok({ pieces: ['Hel', 'lo'] }));
    const call = openaiClient().chat.completions.create({ model: 'gpt-test', messages, stream: true });
    await sleeping();
    clock.advance(500);
    let text = '';
    for await (const c of await call) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe('Hello');
    expect(fake.received).toHaveLength(2);
    expect((await calls(gov)).map((e) => [e.status, e.cost, e.data?.attempt])).toEqual([
      ['error', '0', 1],
      ['ok', '0.00028', 2],
    ]);
    expect(await budget(gov)).toEqual({ used: '0.00028', held: '0', remaining: '0.99972' });
  });

  it('a stream cut after its first chunk is not retried (settled at the best figure)', async () => {
    answers(ok({ pieces: ['a', 'b', 'c'], cutAfter: 1 }), ok());
    const stream = await openaiClient().chat.completions.create({ model: 'gpt-test', messages, stream: true });
    const err = await (async () => {
      for await (const _ of stream) void _;
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(fake.received).toHaveLength(1);
    expect((await calls(gov)).map((e) => [e.status, e.estimated, e.data?.attempt ?? null])).toEqual([['error', true, null]]);
  });

  it('responses.create retries too', async () => {
    answers(fail(500), ok());
    const call = openaiClient().responses.create({ model: 'gpt-test', input: 'Say hello' });
    await sleeping();
    clock.advance(500);
    await call;
    expect((await calls(gov)).map((e) => [e.name, e.status, e.data?.attempt])).toEqual([
      ['openai.responses', 'error', 1],
      ['openai.responses', 'ok', 2],
    ]);
  });
});

describe('retries of governed Anthropic calls', () => {
  it('messages.create: a 529 (overloaded) then a 200, charged once', async () => {
    answers(fail(529), ok());
    const call = anthropicClient().messages.create({ model: 'claude-test', max_tokens: 100, messages });
    await sleeping();
    expect((await gov.breakers.getState({ provider: 'anthropic', model: 'claude-test' })).failures).toBe(1);
    clock.advance(500);
    const m = await call;
    expect(m.content[0]).toMatchObject({ type: 'text', text: 'Hi' });
    expect((await calls(gov)).map((e) => [e.status, e.cost, e.data?.attempt])).toEqual([
      ['error', '0', 1],
      // 100 × $3 + 10 × $15 per million.
      ['ok', '0.00045', 2],
    ]);
    expect(await budget(gov)).toEqual({ used: '0.00045', held: '0', remaining: '0.99955' });
  });

  it('messages.stream (the SDK helper) retries a 429 with retry-after before the stream opens', async () => {
    answers(fail(429, { retryAfter: '1' }), ok({ pieces: ['Hel', 'lo'] }));
    const s = anthropicClient().messages.stream({ model: 'claude-test', max_tokens: 100, messages });
    await sleeping();
    expect(await gov.store.getValue('pc|anthropic/claude-test')).toEqual({ version: 1, value: String(T0 + HEAD_MS + 1000) });
    clock.advance(1000);
    const m = await s.finalMessage();
    expect(m.content[0]).toMatchObject({ type: 'text', text: 'Hello' });
    expect((await calls(gov)).map((e) => [e.status, e.cost, e.data?.attempt])).toEqual([
      ['error', '0', 1],
      ['ok', '0.00045', 2],
    ]);
    expect(await budget(gov)).toEqual({ used: '0.00045', held: '0', remaining: '0.99955' });
  });

  it('exhausted with maxRetries: 1 on the client: two error entries, the SDK error to the caller', async () => {
    answers(fail(500), fail(500));
    const call = anthropicClient({ maxRetries: 1 })
      .messages.create({ model: 'claude-test', max_tokens: 100, messages })
      .catch((e: unknown) => e);
    await sleeping();
    clock.advance(500);
    const err = await call;
    expect(err).toBeInstanceOf(Anthropic.InternalServerError);
    expect((await calls(gov)).map((e) => [e.status, e.cost, e.data?.attempt])).toEqual([
      ['error', '0', 1],
      ['error', '0', 2],
    ]);
    expect(await budget(gov)).toEqual({ used: '0', held: '0', remaining: '1' });
  });
});

describe('the AI SDK retries above the middleware: each attempt is a governed call of its own', () => {
  const model = () =>
    wrapLanguageModel({
      model: createOpenAI({ apiKey: 't', baseURL: fake.openaiURL }).chat('gpt-test'),
      middleware: governorMiddleware(gov, { scope }),
    });

  it('generateText with maxRetries: 1, a 500 then a 200: an error entry (attempt 1, nothing charged), the ok entry attempt 2', async () => {
    // retry-after-ms: 0 makes the AI SDK retry at once (its own back-off sleeps in real time, off the governor's clock).
    answers(fail(500, { retryAfterMs: '0' }), ok());
    const r = await generateText({ model: model(), prompt: 'Say hello', maxRetries: 1 });
    expect(r.text).toBe('Hi');
    expect(fake.received).toHaveLength(2);
    expect((await calls(gov)).map((e) => [e.name, e.status, e.cost, e.data?.attempt])).toEqual([
      ['ai.generate', 'error', '0', 1],
      ['ai.generate', 'ok', '0.00028', 2],
    ]);
    expect(await budget(gov)).toEqual({ used: '0.00028', held: '0', remaining: '0.99972' });
    const report = await gov.analytics.getApiCallAnalytics({ scope });
    expect(report.totals).toMatchObject({ retries: 1, retrySuccessRate: 1 });
  });

  it('streamText retries a 503 before the stream opens (numbered under ai 6); a new generateText starts again at no attempt number', async () => {
    answers(fail(503, { retryAfterMs: '0' }), ok({ pieces: ['Hel', 'lo'] }), ok());
    const s = streamText({ model: model(), prompt: 'Say hello', maxRetries: 1 });
    let text = '';
    for await (const t of s.textStream) text += t;
    expect(text).toBe('Hello');
    await generateText({ model: model(), prompt: 'Say hello', maxRetries: 1 });
    expect((await calls(gov)).map((e) => [e.name, e.status, e.data?.attempt ?? null])).toEqual([
      ['ai.stream', 'error', 1],
      // ai 7's streamText builds a new prompt and passes no headers object for each attempt: nothing tells its attempts apart.
      ['ai.stream', 'ok', process.env.AGENT_GOVERNOR_NEXT_MAJORS === undefined ? 2 : null],
      ['ai.generate', 'ok', null],
    ]);
    expect(await budget(gov)).toMatchObject({ held: '0' });
  });
});
