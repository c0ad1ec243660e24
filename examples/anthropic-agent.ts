/**
 * An agent whose Anthropic calls are governed in one line, with prompt caching: cache reads
 * and writes (5-minute and 1-hour) are charged at their own prices, streams settle from the
 * cumulative `message_delta` usage, and `messages.stream()` is governed too.
 *
 *   npx tsx examples/anthropic-agent.ts                        # against the bundled loopback fake
 *   ANTHROPIC_API_KEY=sk-ant-... npx tsx examples/anthropic-agent.ts   # against the real API
 */
import Anthropic from '@anthropic-ai/sdk';
import { createGovernor, isGovernorError } from 'agent-governor';
import { governAnthropic } from 'agent-governor/anthropic';
import { FakeLLM } from './support/fake-llm.js';

const real = process.env.ANTHROPIC_API_KEY !== undefined;
const fake = real ? undefined : await new FakeLLM().start();
if (fake)
  fake.scenario = { pieces: ['Bonjour', ' le monde'], usage: { input: 3000, cached: 2048, cacheWrite: 512, cacheWrite1h: 0, output: 6 } };
const model = 'claude-haiku-4-5';

const gov = createGovernor({
  // USD per million tokens: input, cache read (0.1×), 5-minute cache write (1.25×), output.
  pricing: { models: { [model]: { input: '1', cachedInput: '0.10', cacheWrite: '1.25', output: '5' } } },
  budgets: [{ id: 'daily', scope: { project: 'demo' }, amount: '0.50', period: 'day' }],
});

const anthropic = governAnthropic(new Anthropic(real ? {} : { apiKey: 'fake', baseURL: fake!.anthropicURL }), gov, {
  scope: { project: 'demo', agent: 'translator' },
});

const system = [
  { type: 'text' as const, text: 'You translate English to French. '.repeat(200), cache_control: { type: 'ephemeral' as const } },
];
try {
  const m = await anthropic.messages.create({ model, max_tokens: 100, system, messages: [{ role: 'user', content: 'Hello world' }] });
  console.log('answer:', m.content[0]?.type === 'text' ? m.content[0].text : m.content[0]?.type);

  const stream = anthropic.messages.stream({ model, max_tokens: 100, system, messages: [{ role: 'user', content: 'Good night' }] });
  stream.on('text', (t) => process.stdout.write(t));
  await stream.finalMessage();
  process.stdout.write('\n');
} catch (e) {
  if (isGovernorError(e)) console.log('refused by the governor:', e.code, e.message);
  else throw e;
}

for (const e of (await gov.queryLedger({ kinds: ['call'] })).entries) {
  console.log(
    `${e.name} ${e.status} cost=${e.cost} ${e.currency} usage=${JSON.stringify(e.usage)} ttft=${Number(e.data?.ttftMs).toFixed(1)} ms`,
  );
}
const [daily] = await gov.getStatus({ project: 'demo' });
console.log(`budget: used ${daily?.used.toFixed()} of ${daily?.max.toFixed()}, remaining ${daily?.remaining.toFixed()}`);
await fake?.stop();
