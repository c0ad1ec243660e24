// Bad options of the integrations are refused when the client is wrapped, naming the field and echoing the value.
import { describe, expect, it } from 'vitest';
import { createGovernor, InvalidInputError, type Governor } from 'agent-governor';
import { governorMiddleware } from 'agent-governor/ai';
import { governAnthropic } from 'agent-governor/anthropic';
import { governOpenAI } from 'agent-governor/openai';

const openai = { chat: { completions: { create: (): unknown => undefined } } };
const anthropic = { messages: { create: (): unknown => undefined } };

function refused(f: () => unknown, field: string, value: unknown): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(InvalidInputError);
  expect(caught).toMatchObject({ code: 'invalid_input', field, value });
}

describe('integration options', () => {
  const gov = createGovernor();

  it('refuse something that is not a Governor', () => {
    refused(() => governOpenAI(openai, null as unknown as Governor), 'governOpenAI gov', null);
    refused(() => governAnthropic(anthropic, {} as Governor), 'governAnthropic gov', {});
    refused(() => governorMiddleware(5 as unknown as Governor), 'governorMiddleware gov', 5);
  });

  it('refuse NaN, negative, infinite and unknown options', () => {
    refused(() => governOpenAI(openai, gov, { defaultMaxOutputTokens: NaN }), 'governOpenAI options.defaultMaxOutputTokens', NaN);
    refused(() => governOpenAI(openai, gov, { maxWaitMs: -1 }), 'governOpenAI options.maxWaitMs', -1);
    refused(() => governAnthropic(anthropic, gov, { leaseMs: Infinity }), 'governAnthropic options.leaseMs', Infinity);
    refused(() => governorMiddleware(gov, { onRateLimit: 'queue' as 'wait' }), 'governorMiddleware options.onRateLimit', 'queue');
    refused(() => governOpenAI(openai, gov, { temperature: 1 } as object), 'governOpenAI options.temperature', 1);
  });

  it('check the scope when wrapping, not on the first call', () => {
    refused(() => governOpenAI(openai, gov, { scope: { team: 'a' } as object }), 'governOpenAI options.scope.team', 'a');
    refused(() => governAnthropic(anthropic, gov, { scope: { agent: '' } }), 'governAnthropic options.scope.agent', '');
    refused(() => governorMiddleware(gov, { scope: { agent: '*' } }), 'governorMiddleware options.scope.agent', '*');
  });

  it('check the provider id', () => {
    refused(() => governOpenAI(openai, gov, { provider: '' }), 'governOpenAI options.provider', '');
    refused(() => governAnthropic(anthropic, gov, { provider: 5 as unknown as string }), 'governAnthropic options.provider', 5);
  });
});
