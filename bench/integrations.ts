/**
 * What governing an SDK call adds: the real `openai` and `@anthropic-ai/sdk` clients, plain
 * and governed, against the loopback server (examples/support/fake-llm.ts), non-streaming and
 * streaming, 1,000 calls each, alternating plain and governed rounds. Prints µs per call and
 * the difference. Run: `npm run build && TSX_TSCONFIG_PATH=bench/tsconfig.json npx tsx bench/integrations.ts`.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { createGovernor, MemoryStore } from 'agent-governor';
import { governAnthropic } from 'agent-governor/anthropic';
import { governOpenAI } from 'agent-governor/openai';
import { FakeLLM } from '../examples/support/fake-llm.js';

const CALLS = 1000;
const ROUNDS = 3;
const scope = Object.freeze({ project: 'bench', agent: 'a' });

const fake = await new FakeLLM().start();
fake.scenario = { pieces: ['Hello', ' there', ', how', ' are', ' you', '?'], usage: { input: 50, cached: 10, output: 6 } };

const gov = createGovernor({
  store: new MemoryStore({ maxLedgerEntries: 10_000 }),
  pricing: { models: { 'gpt-test': { input: '2', cachedInput: '0.5', output: '8' }, 'claude-test': { input: '3', output: '15' } } },
  budgets: [{ scope: { project: 'bench' }, amount: '1000000' }],
});
const openai = new OpenAI({ apiKey: 'x', baseURL: fake.openaiURL, maxRetries: 0 });
const anthropic = new Anthropic({ apiKey: 'x', baseURL: fake.anthropicURL, maxRetries: 0 });
const gOpenAI = governOpenAI(openai, gov, { scope });
const gAnthropic = governAnthropic(anthropic, gov, { scope });
const messages = [{ role: 'user' as const, content: 'Say hello to the benchmark' }];

type Call = () => Promise<unknown>;
const drain = async (s: AsyncIterable<unknown>): Promise<void> => {
  for await (const _ of s) void _;
};
const cases: { name: string; plain: Call; governed: Call }[] = [
  {
    name: 'openai chat, non-streaming',
    plain: () => openai.chat.completions.create({ model: 'gpt-test', messages, max_tokens: 100 }),
    governed: () => gOpenAI.chat.completions.create({ model: 'gpt-test', messages, max_tokens: 100 }),
  },
  {
    name: 'openai chat, streaming',
    plain: async () =>
      drain(
        await openai.chat.completions.create({
          model: 'gpt-test',
          messages,
          max_tokens: 100,
          stream: true,
          stream_options: { include_usage: true },
        }),
      ),
    governed: async () => drain(await gOpenAI.chat.completions.create({ model: 'gpt-test', messages, max_tokens: 100, stream: true })),
  },
  {
    name: 'anthropic messages, non-streaming',
    plain: () => anthropic.messages.create({ model: 'claude-test', max_tokens: 100, messages }),
    governed: () => gAnthropic.messages.create({ model: 'claude-test', max_tokens: 100, messages }),
  },
  {
    name: 'anthropic messages, streaming',
    plain: async () => drain(await anthropic.messages.create({ model: 'claude-test', max_tokens: 100, messages, stream: true })),
    governed: async () => drain(await gAnthropic.messages.create({ model: 'claude-test', max_tokens: 100, messages, stream: true })),
  },
];

async function time(call: Call, n: number): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await call();
  return ((performance.now() - t0) * 1000) / n;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

console.log(`SDK integrations: ${CALLS} calls per round, ${ROUNDS} rounds (median), loopback server, Node ${process.version}`);
console.log('case                               plain µs/call   governed µs/call   added µs/call   added %');
for (const c of cases) {
  await time(c.plain, 100);
  await time(c.governed, 100);
  const plain: number[] = [];
  const governed: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    plain.push(await time(c.plain, CALLS));
    governed.push(await time(c.governed, CALLS));
  }
  const p = median(plain);
  const g = median(governed);
  console.log(
    `${c.name.padEnd(34)} ${p.toFixed(0).padStart(13)} ${g.toFixed(0).padStart(18)} ${(g - p).toFixed(0).padStart(15)} ${(((g - p) / p) * 100).toFixed(1).padStart(8)}`,
  );
}
await fake.stop();
