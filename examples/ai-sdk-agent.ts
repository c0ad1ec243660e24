/**
 * A Vercel AI SDK agent governed by one middleware: `generateText` and `streamText` through
 * `wrapLanguageModel({ model, middleware: governorMiddleware(gov, { scope }) })`.
 *
 *   npx tsx examples/ai-sdk-agent.ts                   # against the bundled loopback fake
 *   OPENAI_API_KEY=sk-... npx tsx examples/ai-sdk-agent.ts   # against the real API
 */
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, streamText, wrapLanguageModel } from 'ai';
import { createGovernor, isGovernorError } from 'agent-governor';
import { governorMiddleware } from 'agent-governor/ai';
import { FakeLLM } from './support/fake-llm.js';

const real = process.env.OPENAI_API_KEY !== undefined;
const fake = real ? undefined : await new FakeLLM().start();
if (fake) fake.scenario = { pieces: ['Tokyo', ' is the capital', ' of Japan.'], usage: { input: 40, output: 9 } };

const gov = createGovernor({
  pricing: { models: { 'gpt-4o-mini': { input: '0.15', cachedInput: '0.075', output: '0.60' } } },
  budgets: [{ id: 'daily', scope: { project: 'demo' }, amount: '0.50', period: 'day' }],
});

const provider = createOpenAI(real ? {} : { apiKey: 'fake', baseURL: fake!.openaiURL });
const model = wrapLanguageModel({
  model: provider.chat('gpt-4o-mini'),
  middleware: governorMiddleware(gov, { scope: { project: 'demo', agent: 'explorer' } }),
});

try {
  const { text } = await generateText({ model, prompt: 'What is the capital of Japan? One sentence.', maxOutputTokens: 50 });
  console.log('answer:', text);
  const r = streamText({ model, prompt: 'And of Korea? One sentence.', maxOutputTokens: 50 });
  for await (const t of r.textStream) process.stdout.write(t);
  process.stdout.write('\n');
} catch (e) {
  if (isGovernorError(e)) console.log('refused by the governor:', e.code, e.message);
  else throw e;
}

for (const e of (await gov.queryLedger({ kinds: ['call'] })).entries) {
  console.log(`${e.name} ${e.provider}/${e.model} ${e.status} cost=${e.cost} ${e.currency} usage=${JSON.stringify(e.usage)}`);
}
await fake?.stop();
