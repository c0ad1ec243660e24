// A provider's 429 `retry-after` lives in the Store (governors sharing a store all wait),
// its refusals are recorded as the pipeline records refusals, and a stream nobody reads is
// settled at its best figure one lease after it was opened (never zero, never left open).
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryStore, RateLimitedError, type Governor } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { governAnthropic } from 'agent-governor/anthropic';
import { governOpenAI } from 'agent-governor/openai';
import { budget, calls, FakeLLM, flush, lastCall, makeGovernor, play, scope, T0 } from './harness.js';

const fake = new FakeLLM();
const messages = [{ role: 'user' as const, content: 'Say hello' }];
let clock: ManualClock;

beforeAll(async () => {
  await fake.start();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  clock = new ManualClock(T0);
  fake.received.length = 0;
});

const client = (gov: Governor, options: Parameters<typeof governOpenAI>[2] = {}) =>
  governOpenAI(new OpenAI({ apiKey: 't', baseURL: fake.openaiURL, maxRetries: 0 }), gov, { scope, ...options });

describe('a provider 429: the cooldown is in the store', () => {
  it('a second governor on the same store (another process) is refused until retry-after passes; its refusal is a refused ledger entry', async () => {
    const store = new MemoryStore({ clock });
    const a = makeGovernor(clock, { store });
    const b = makeGovernor(clock, { store });
    play(fake, clock, { pieces: [], usage: { input: 0, output: 0 }, status: 429, retryAfter: '30' });
    const err = await client(a)
      .chat.completions.create({ model: 'gpt-test', messages })
      .catch((e: unknown) => e);
    expect((err as { status?: number }).status).toBe(429);
    expect(await store.getValue('pc|openai/gpt-test')).toEqual({ version: 1, value: String(T0 + 100 + 30_000) });

    clock.advance(10_000);
    const refused = await client(b)
      .chat.completions.create({ model: 'gpt-test', messages })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitedError);
    // The 429 came at T0 + 100 ms (the head) asking for 30 s; 10 s later, 20 s are left.
    expect(refused).toMatchObject({ code: 'rate_limited', limit: 'provider.retryAfter', scope: 'openai/gpt-test', retryAfterMs: 20_000 });
    expect(fake.received).toHaveLength(1);
    // The store's ledger holds both governors' entries: the 429 (an error) and the refusal, nothing charged.
    const entries = await calls(b);
    expect(entries.map((e) => [e.status, e.code ?? null, e.cost])).toEqual([
      ['error', 'Error', '0'],
      ['refused', 'rate_limited', '0'],
    ]);
    expect(entries[1]).toMatchObject({
      kind: 'call',
      scope,
      provider: 'openai',
      model: 'gpt-test',
      name: 'openai.chat.completions',
      usage: {},
    });
    expect(await budget(b)).toEqual({ used: '0', held: '0', remaining: '1' });

    clock.advance(20_000);
    play(fake, clock, { pieces: ['ok'], usage: { input: 100, output: 10 } });
    await client(b).chat.completions.create({ model: 'gpt-test', messages });
    expect(fake.received).toHaveLength(2);
    expect(await budget(b)).toMatchObject({ used: '0.00028', held: '0' });
  });

  it('a later retry-after never shortens a longer one already in the store', async () => {
    const gov = makeGovernor(clock);
    const openai = client(gov);
    play(fake, clock, { pieces: [], usage: { input: 0, output: 0 }, status: 429, retryAfter: '60' });
    await openai.chat.completions.create({ model: 'gpt-test', messages }).catch(() => undefined);
    // A stream opened before the cooldown, failing with a shorter retry-after, leaves the longer one.
    play(fake, clock, { pieces: [], usage: { input: 0, output: 0 }, status: 429, retryAfter: '5' });
    await client(gov, { breaker: false })
      .chat.completions.create({ model: 'gpt-test', messages }, {})
      .catch(() => undefined);
    expect(await gov.store.getValue('pc|openai/gpt-test')).toMatchObject({ value: String(T0 + 100 + 60_000) });
  });

  it("'wait' mode waits out a cooldown that ends within maxWaitMs, and refuses at once (recorded) one that does not", async () => {
    const gov = makeGovernor(clock);
    play(fake, clock, { pieces: [], usage: { input: 0, output: 0 }, status: 429, retryAfter: '3' });
    await client(gov)
      .chat.completions.create({ model: 'gpt-test', messages })
      .catch(() => undefined);
    play(fake, clock, { pieces: ['ok'], usage: { input: 100, output: 10 } });
    const waiting = client(gov, { onRateLimit: 'wait', maxWaitMs: '5s' }).chat.completions.create({ model: 'gpt-test', messages });
    await flush();
    expect(clock.pendingSleeps).toBe(1);
    expect(fake.received).toHaveLength(1);
    clock.advance(3000);
    await waiting;
    expect(fake.received).toHaveLength(2);
    expect(await budget(gov)).toMatchObject({ used: '0.00028', held: '0' });

    play(fake, clock, { pieces: [], usage: { input: 0, output: 0 }, status: 429, retryAfter: '10' });
    await client(gov)
      .chat.completions.create({ model: 'gpt-test', messages })
      .catch(() => undefined);
    const refused = await client(gov, { onRateLimit: 'wait', maxWaitMs: '5s' })
      .chat.completions.create({ model: 'gpt-test', messages })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'rate_limited', retryAfterMs: 10_000 });
    expect((await lastCall(gov)).status).toBe('refused');
  });

  it("a refusal is not recorded when the governor keeps no ledger ('none')", async () => {
    const gov = makeGovernor(clock, { ledger: 'none' });
    play(fake, clock, { pieces: [], usage: { input: 0, output: 0 }, status: 429, retryAfter: '3' });
    await client(gov)
      .chat.completions.create({ model: 'gpt-test', messages })
      .catch(() => undefined);
    const refused = await client(gov)
      .chat.completions.create({ model: 'gpt-test', messages })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect(await calls(gov)).toEqual([]);
  });
});

describe('a stream nobody reads is abandoned after its lease', () => {
  it('openai: never read → settled one lease after it opened at the input estimate, marked estimated, the request aborted', async () => {
    const gov = makeGovernor(clock);
    // No clock ticks from the server: it writes on while nobody reads.
    fake.scenario = { pieces: ['Hello', ' world'], usage: { input: 1000, output: 200 } };
    const stream = await client(gov, { leaseMs: '1m' }).chat.completions.create({
      model: 'gpt-test',
      messages,
      max_tokens: 50,
      stream: true,
    });
    // 7 input × $2 + 50 output × $8 per million held while it is open.
    expect(await budget(gov)).toMatchObject({ used: '0', held: '0.000414' });
    // Admitted at T0 for a 1-minute lease: the watch looks when the lease ends.
    clock.advance(59_999);
    await flush();
    expect(await calls(gov)).toEqual([]);
    clock.advance(1);
    await flush();
    const e = await lastCall(gov);
    // 7 × $2 per million: the input estimate, never zero.
    expect(e).toMatchObject({
      status: 'ok',
      cost: '0.000014',
      estimated: true,
      usage: { inputTokens: '7', outputTokens: '0' },
      data: { interrupted: 'abandoned' },
    });
    expect(await budget(gov)).toEqual({ used: '0.000014', held: '0', remaining: '0.999986' });
    expect(stream.controller.signal.aborted).toBe(true);
  });

  it('anthropic: read once then left → settled between one and two leases after the last read, with the text received', async () => {
    const gov = makeGovernor(clock);
    fake.scenario = { pieces: ['Hello', ' world', '!'], usage: { input: 1000, output: 200 } };
    const anthropic = governAnthropic(new Anthropic({ apiKey: 't', baseURL: fake.anthropicURL, maxRetries: 0 }), gov, {
      scope,
      leaseMs: '1m',
    });
    const stream = await anthropic.messages.create({ model: 'claude-test', max_tokens: 50, messages, stream: true });
    const it = stream[Symbol.asyncIterator]();
    // message_start (the input: 1000 tokens), content_block_start, the first text delta.
    for (let i = 0; i < 3; i++) await it.next();
    clock.advance(30_000);
    await it.next(); // the second text delta, 30 s in: a read since the opening, so the first look (at the lease's end) keeps it
    clock.advance(30_000);
    await flush();
    expect(await calls(gov)).toEqual([]);
    // The first look came 30 s after that read; the second comes a lease later, and abandons it.
    clock.advance(59_999);
    await flush();
    expect(await calls(gov)).toEqual([]);
    clock.advance(1);
    await flush();
    const e = await lastCall(gov);
    // message_start reported 1000 input tokens (× $3); 'Hello world' counted as 3 output tokens (× $15), per million.
    expect(e).toMatchObject({
      cost: '0.003045',
      estimated: true,
      usage: { inputTokens: '1000', outputTokens: '3' },
      data: { interrupted: 'abandoned' },
    });
    expect(await budget(gov)).toMatchObject({ used: '0.003045', held: '0' });
    // Reading on after that finds the stream ended (the SDK ends an aborted stream quietly), and no second charge.
    expect(await it.next()).toEqual({ done: true, value: undefined });
    expect(await calls(gov)).toHaveLength(1);
  });

  it('a stream read to its end in time is never touched by the watch', async () => {
    const gov = makeGovernor(clock);
    play(fake, clock, { pieces: ['Hi'], usage: { input: 100, output: 10 } });
    const stream = await client(gov, { leaseMs: '1m' }).chat.completions.create({ model: 'gpt-test', messages, stream: true });
    for await (const _ of stream) void _;
    clock.advance(120_000);
    await flush();
    expect((await calls(gov)).map((e) => [e.cost, e.estimated])).toEqual([['0.00028', false]]);
  });
});
