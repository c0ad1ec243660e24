/**
 * An agent whose OpenAI calls are governed in one line: a budget, exact charges from the
 * reported usage (cached and reasoning tokens included), streaming with time to first token.
 *
 *   npx tsx examples/openai-agent.ts                 # against the bundled loopback fake
 *   OPENAI_API_KEY=sk-... npx tsx examples/openai-agent.ts   # against the real API
 */
import OpenAI from 'openai';
import { createGovernor, isGovernorError } from 'agent-governor';
import { governOpenAI } from 'agent-governor/openai';
import { FakeLLM } from './support/fake-llm.js';

const real = process.env.OPENAI_API_KEY !== undefined;
const fake = real ? undefined : await new FakeLLM().start();
if (fake) fake.scenario = { pieces: ['Paris', ' is the capital', ' of France.'], usage: { input: 1200, cached: 1024, output: 9 } };
const model = 'gpt-4o-mini';

const gov = createGovernor({
  // USD per million tokens (gpt-4o-mini's published prices).
  pricing: { models: { 'gpt-4o-mini': { input: '0.15', cachedInput: '0.075', output: '0.60' } } },
  budgets: [{ id: 'daily', scope: { project: 'demo' }, amount: '0.50', period: 'day' }],
});

const openai = governOpenAI(new OpenAI(real ? {} : { apiKey: 'fake', baseURL: fake!.openaiURL }), gov, {
  scope: { project: 'demo', agent: 'geographer' },
});

try {
  const answer = await openai.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'What is the capital of France? One sentence.' }],
    max_tokens: 50,
  });
  console.log('answer:', answer.choices[0]?.message.content);

  const stream = await openai.chat.completions.create({
    model,
    messages: [{ role: 'user', content: 'And of Italy? One sentence.' }],
    max_tokens: 50,
    stream: true,
  });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
  console.log('streamed:', text);
} catch (e) {
  if (isGovernorError(e)) console.log('refused by the governor:', e.code, e.message);
  else throw e;
}

for (const e of (await gov.queryLedger({ kinds: ['call'] })).entries) {
  console.log(
    `${e.name} ${e.status} cost=${e.cost} ${e.currency} usage=${JSON.stringify(e.usage)} ttft=${Number(e.data?.ttftMs).toFixed(1)} ms total=${e.durationMs?.toFixed(1)} ms`,
  );
}
const [daily] = await gov.getStatus({ project: 'demo' });
console.log(`budget: used ${daily?.used.toFixed()} of ${daily?.max.toFixed()}, remaining ${daily?.remaining.toFixed()}`);
await fake?.stop();
