// What docs/integrations.md promises for a model with no price: the governed SDK call is
// refused with `unknown_model` before any request is sent (its token estimate needs a
// price), nothing is held; with `pricing.fallback` it is priced at the fallback instead.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnknownModelError, type PricingWarningEvent } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { governOpenAI } from 'agent-governor/openai';
import { budget, FakeLLM, lastCall, makeGovernor, play, scope, T0 } from './harness.js';

const fake = new FakeLLM();
const messages = [{ role: 'user' as const, content: 'Say hello' }];

beforeAll(async () => {
  await fake.start();
});
afterAll(async () => {
  await fake.stop();
});

describe('an unpriced model through an SDK integration', () => {
  it('is refused with unknown_model before the request is sent, holding nothing', async () => {
    const clock = new ManualClock(T0);
    const gov = makeGovernor(clock);
    const openai = governOpenAI(new OpenAI({ apiKey: 'test', baseURL: fake.openaiURL, maxRetries: 0 }), gov, { scope });
    fake.received.length = 0;
    const e = await openai.chat.completions.create({ model: 'no-such-model-xyz', messages, max_tokens: 10 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnknownModelError);
    expect([(e as UnknownModelError).code, (e as UnknownModelError).model]).toEqual(['unknown_model', 'no-such-model-xyz']);
    expect(fake.received).toHaveLength(0);
    expect(await budget(gov)).toEqual({ used: '0', held: '0', remaining: '1' });
  });

  it('is priced at pricing.fallback, with a pricing.warning, when one is set', async () => {
    const clock = new ManualClock(T0);
    const gov = makeGovernor(clock, { pricing: { fallback: { input: '1', output: '4' } } });
    const warnings: PricingWarningEvent[] = [];
    gov.on('pricing.warning', (w) => warnings.push(w));
    const openai = governOpenAI(new OpenAI({ apiKey: 'test', baseURL: fake.openaiURL, maxRetries: 0 }), gov, { scope });
    play(fake, clock, { pieces: ['Hi'], usage: { input: 1000, cached: 0, output: 500, reasoning: 0 } });
    await openai.chat.completions.create({ model: 'no-such-model-xyz', messages, max_tokens: 600 });
    // 1,000 input × $1 + 500 output × $4, per million.
    expect((await lastCall(gov)).cost).toBe('0.003');
    expect(warnings.map((w) => [w.code, w.model, w.fallback])).toEqual([['unknown_model', 'no-such-model-xyz', true]]);
  });
});
