/**
 * What governing an SDK call adds: the real `openai` and `@anthropic-ai/sdk` clients, plain
 * and governed, non-streaming and streaming, over two transports:
 * - `loopback`: HTTP to the loopback server (examples/support/fake-llm.ts), as the tests do;
 * - `in-process`: the same answers replayed through the SDK's `fetch` option (no socket), which
 *   leaves the SDK's whole request and parsing path in place but removes the server's noise.
 * Plain and governed calls alternate in blocks of 50; each round is 1,000 calls of each; the
 * figure is the median over the rounds of (governed − plain) CPU µs per call. CPU time, not
 * wall time: the governed part does no I/O, so what it adds to a call's latency is its CPU
 * time, and CPU time is far less disturbed by other processes on a shared machine.
 *
 * Run: `npm run build && TSX_TSCONFIG_PATH=bench/tsconfig.json npx tsx bench/integrations.ts`.
 * `AG_BASELINE=/path/to/other/checkout` also measures that checkout's built `dist/` in the same
 * run (same server, same SDKs), for before/after figures.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import * as current from 'agent-governor';
import { governAnthropic } from 'agent-governor/anthropic';
import { governOpenAI } from 'agent-governor/openai';
import { FakeLLM } from '../examples/support/fake-llm.js';

const CALLS = 1000;
const BLOCK = 50;
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const scope = Object.freeze({ project: 'bench', agent: 'a' });

const fake = await new FakeLLM().start();
fake.scenario = { pieces: ['Hello', ' there', ', how', ' are', ' you', '?'], usage: { input: 50, cached: 10, output: 6 } };

/** Answers recorded once from the loopback server, then replayed without a socket. */
const recorded = new Map<string, { body: string; headers: [string, string][]; status: number }>();
const replay: typeof fetch = async (input, init) => {
  const url = String(input instanceof Request ? input.url : input);
  const b = String(init?.body ?? '');
  const key = `${url} ${b.includes('"stream":true')} ${b.includes('include_usage')}`;
  let c = recorded.get(key);
  if (c === undefined) {
    let res: Response;
    try {
      res = await fetch(input, init);
    } catch {
      res = await fetch(input, init); // a keep-alive socket the server had closed
    }
    c = { body: await res.text(), headers: [...res.headers.entries()], status: res.status };
    recorded.set(key, c);
  }
  return new Response(c.body, { status: c.status, headers: c.headers });
};

interface Build {
  readonly label: string;
  readonly core: typeof current;
  readonly governOpenAI: typeof governOpenAI;
  readonly governAnthropic: typeof governAnthropic;
}
const builds: Build[] = [{ label: 'this build', core: current, governOpenAI, governAnthropic }];
if (process.env.AG_BASELINE) {
  const dist = `${process.env.AG_BASELINE.replace(/\/$/, '')}/dist`;
  builds.unshift({
    label: 'baseline',
    core: (await import(`${dist}/index.js`)) as typeof current,
    governOpenAI: ((await import(`${dist}/openai.js`)) as { governOpenAI: typeof governOpenAI }).governOpenAI,
    governAnthropic: ((await import(`${dist}/anthropic.js`)) as { governAnthropic: typeof governAnthropic }).governAnthropic,
  });
}

const messages = [{ role: 'user' as const, content: 'Say hello to the benchmark' }];
type Call = () => Promise<unknown>;
const drain = async (s: AsyncIterable<unknown>): Promise<void> => {
  for await (const _ of s) void _;
};

function clients(transport: 'loopback' | 'in-process') {
  const f = transport === 'in-process' ? { fetch: replay } : {};
  return {
    openai: new OpenAI({ apiKey: 'x', baseURL: fake.openaiURL, maxRetries: 0, ...f }),
    anthropic: new Anthropic({ apiKey: 'x', baseURL: fake.anthropicURL, maxRetries: 0, ...f }),
  };
}

function casesFor(openai: OpenAI, anthropic: Anthropic): { name: string; call: Call }[] {
  return [
    { name: 'openai chat', call: () => openai.chat.completions.create({ model: 'gpt-test', messages, max_tokens: 100 }) },
    {
      name: 'openai chat, stream',
      call: async () =>
        drain(
          await openai.chat.completions.create({
            model: 'gpt-test',
            messages,
            max_tokens: 100,
            stream: true,
            // The plain call asks for the usage chunk too, so both read the same bytes.
            stream_options: { include_usage: true },
          }),
        ),
    },
    { name: 'anthropic messages', call: () => anthropic.messages.create({ model: 'claude-test', max_tokens: 100, messages }) },
    {
      name: 'anthropic messages, stream',
      call: async () => drain(await anthropic.messages.create({ model: 'claude-test', max_tokens: 100, messages, stream: true })),
    },
  ];
}

function governed(b: Build, openai: OpenAI, anthropic: Anthropic) {
  const gov = b.core.createGovernor({
    store: new b.core.MemoryStore({ maxLedgerEntries: 10_000 }),
    pricing: { models: { 'gpt-test': { input: '2', cachedInput: '0.5', output: '8' }, 'claude-test': { input: '3', output: '15' } } },
    budgets: [{ scope: { project: 'bench' }, amount: '1000000' }],
  });
  return casesFor(b.governOpenAI(openai, gov, { scope }), b.governAnthropic(anthropic, gov, { scope }));
}

/** CPU µs (user + system) of `n` calls: on a shared machine, wall time measures the neighbours' load more than the calls. */
async function time(call: Call, n: number): Promise<number> {
  const t0 = process.cpuUsage();
  for (let i = 0; i < n; i++) await call();
  const d = process.cpuUsage(t0);
  return d.user + d.system;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

console.log(`SDK integrations: ${ROUNDS} rounds of ${CALLS} calls each way, blocks of ${BLOCK}, Node ${process.version}`);
console.log('transport    case                         build         plain CPU µs/call   added CPU µs/call (median, min–max)');
for (const transport of ['loopback', 'in-process'] as const) {
  const { openai, anthropic } = clients(transport);
  const plain = casesFor(openai, anthropic);
  const gov = builds.map((b) => governed(b, openai, anthropic));
  for (let i = 0; i < plain.length; i++) {
    const p = plain[i]!;
    const gs = gov.map((g) => g[i]!);
    // Warm up every path.
    await time(p.call, 200);
    for (const g of gs) await time(g.call, 200);
    const plainUs: number[] = [];
    const added: number[][] = gs.map(() => []);
    for (let r = 0; r < ROUNDS; r++) {
      let pt = 0;
      const gt = gs.map(() => 0);
      for (let k = 0; k < CALLS / BLOCK; k++) {
        pt += await time(p.call, BLOCK);
        for (let j = 0; j < gs.length; j++) gt[j]! += await time(gs[j]!.call, BLOCK);
      }
      plainUs.push(pt / CALLS);
      gt.forEach((t, j) => added[j]!.push((t - pt) / CALLS));
    }
    builds.forEach((b, j) => {
      const a = added[j]!;
      console.log(
        `${transport.padEnd(12)} ${p.name.padEnd(28)} ${b.label.padEnd(12)} ${median(plainUs).toFixed(0).padStart(18)} ${median(a).toFixed(1).padStart(19)} (${Math.min(...a).toFixed(1)}–${Math.max(...a).toFixed(1)})`,
      );
    });
  }
}
await fake.stop();
