/**
 * The live dashboard: a governor with a small agent team and some traffic, served on
 * 127.0.0.1. Open the printed URL; it stops after N seconds (default 30) or on Ctrl-C.
 *
 *   npx tsx examples/dashboard.ts        # or: npx tsx examples/dashboard.ts 120
 */
import { createGovernor, isGovernorError } from 'agent-governor';
import { serveDashboard } from 'agent-governor/dashboard';

const seconds = Number(process.argv[2] ?? 30);
const gov = createGovernor({
  pricing: {
    models: {
      'big-model': { input: '3', output: '15', cachedInput: '0.3' },
      'small-model': { input: '0.15', output: '0.6', cachedInput: '0.075' },
    },
  },
  budgets: [
    { id: 'team-day', scope: { workspace: 'acme' }, amount: '2', period: 'day' },
    { id: 'coder-month', scope: { workspace: 'acme', agent: 'coder' }, amount: '5', period: 'month' },
  ],
  limits: [{ id: 'calls-per-minute', scope: { agent: '*' }, meter: 'requests', max: 100, window: '1m' }],
  analytics: { downgrades: { 'big-model': ['small-model'] } },
});

// A tiny deterministic generator, so every run looks alike.
let seed = 11;
const rnd = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
const agents = ['planner', 'coder', 'reviewer'];
let n = 0;

/** One agent step: a governed LLM call that now and then fails after it was billed. */
async function step(): Promise<void> {
  const agent = agents[n++ % agents.length] as string;
  const model = agent === 'coder' ? 'big-model' : 'small-model';
  const input = 500 + Math.floor(rnd() * (agent === 'coder' ? 4000 : 9000));
  try {
    await gov.guard(
      {
        scope: { workspace: 'acme', project: 'app', agent },
        provider: 'demo',
        model,
        estimate: { llmCalls: 1 },
        metadata: { fingerprint: `${agent}-${Math.floor(rnd() * 20)}` },
      },
      (ctx) => {
        ctx.report({ inputTokens: input, cachedInputTokens: Math.floor(input * 0.05), outputTokens: 100 + Math.floor(rnd() * 600) });
        if (rnd() < 0.05) throw new Error('provider timeout');
      },
    );
  } catch (e) {
    // Refusals (budget, rate limit) and failures are in the ledger and on the page.
    if (!isGovernorError(e) && !(e instanceof Error && e.message === 'provider timeout')) throw e;
  }
}

// Some history first, then a call a second while the page is open.
for (let i = 0; i < 120; i++) await step();
const dashboard = await serveDashboard(gov, { port: Number(process.env.PORT ?? 0) });
console.log(`dashboard: ${dashboard.url}  (stops in ${seconds} s or on Ctrl-C)`);
const traffic = setInterval(() => void step(), 1000);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  clearInterval(traffic);
  clearTimeout(timer);
  await dashboard.close();
  await gov.close();
  console.log(`stopped after ${n} calls`);
}
const timer = setTimeout(() => void stop(), seconds * 1000);
process.once('SIGINT', () => void stop());
