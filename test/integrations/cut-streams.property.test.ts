// For random streams cut at random points, through the real SDKs and the loopback server:
// the charge is never zero, and never above the reservation by more than the documented
// bound (docs/integrations.md): the input the provider itself reported beyond the estimate
// (Anthropic's message_start), at the input price. Output is counted within max_tokens.
import Anthropic from '@anthropic-ai/sdk';
import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from 'agent-governor/testing';
import { governAnthropic } from 'agent-governor/anthropic';
import { governOpenAI } from 'agent-governor/openai';
import { budget, FakeLLM, lastCall, makeGovernor, scope, T0 } from './harness.js';

const fake = new FakeLLM();
beforeAll(async () => {
  await fake.start();
});
afterAll(async () => {
  await fake.stop();
});

const messages = [{ role: 'user' as const, content: 'Say hello' }];
// 'Say hello' → 3 tokens + 4 of framing.
const EST_IN = 7;
const M = new Decimal(1_000_000);

describe('cut streams (property)', () => {
  it('charge > 0 and charge ≤ reservation + the input the provider reported beyond the estimate', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('openai' as const, 'anthropic' as const),
        fc.array(fc.string({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 12 }),
        fc.nat(),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 5000 }),
        async (provider, pieces, cutSeed, maxTokens, reportedInput) => {
          const clock = new ManualClock(T0);
          const gov = makeGovernor(clock);
          fake.scenario = { pieces, usage: { input: reportedInput, output: 999 }, cutAfter: cutSeed % pieces.length };
          let reservation: Decimal;
          let excess = new Decimal(0);
          const drain = async (s: AsyncIterable<unknown>): Promise<void> => {
            for await (const _ of s) void _;
          };
          if (provider === 'openai') {
            const client = governOpenAI(new OpenAI({ apiKey: 't', baseURL: fake.openaiURL, maxRetries: 0 }), gov, { scope });
            const stream = await client.chat.completions.create({ model: 'gpt-test', messages, max_tokens: maxTokens, stream: true });
            await drain(stream).catch(() => undefined);
            // Estimate: 7 input at $2, max_tokens output at $8.
            reservation = new Decimal(EST_IN * 2 + maxTokens * 8).div(M);
          } else {
            const client = governAnthropic(new Anthropic({ apiKey: 't', baseURL: fake.anthropicURL, maxRetries: 0 }), gov, { scope });
            const stream = await client.messages.create({ model: 'claude-test', max_tokens: maxTokens, messages, stream: true });
            await drain(stream).catch(() => undefined);
            // Estimate: input at the dearest input rate (cache write, $3.75), max_tokens at $15.
            reservation = new Decimal(EST_IN * 3.75 + maxTokens * 15).div(M);
            excess = Decimal.max(0, new Decimal(reportedInput * 3 - EST_IN * 3.75).div(M));
          }
          const e = await lastCall(gov);
          const charged = new Decimal(e.cost);
          expect(e.estimated).toBe(true);
          expect(charged.gt(0)).toBe(true);
          expect(charged.lte(reservation.plus(excess))).toBe(true);
          expect(Number(e.usage.outputTokens)).toBeLessThanOrEqual(maxTokens);
          expect((await budget(gov)).held).toBe('0');
        },
      ),
      { numRuns: 60 },
    );
  });
});
