/**
 * Quickstart: a governed agent loop against an in-process fake LLM.
 * One budget, one quota and one rate limit; every call is admitted or refused before
 * it runs, and charged at the exact price of the tokens it used.
 *
 *   npm install && npm run quickstart
 */
import { createGovernor, Decimal, isGovernorError, scopeKey } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

// A manual clock makes the demo instant and its output the same on every run.
// In your code, leave `clock` out: the governor uses the system clock.
const clock = new ManualClock('2026-11-23T09:00:00Z');

const gov = createGovernor({
  clock,
  // Prices in USD per million tokens.
  pricing: { models: { 'fake-mini': { input: '0.15', output: '0.60' } } },
  // A budget: $0.008 for the whole project; warn at 50 % and 80 %.
  budgets: [{ id: 'project-budget', scope: { project: 'demo' }, amount: '0.008', thresholds: [50, 80] }],
  limits: [
    // A quota: at most 5 LLM calls per agent, ever ('*': each agent has its own count).
    { id: 'llm-calls', scope: { agent: '*' }, meter: 'llmCalls', max: 5, thresholds: [100] },
    // A rate limit: at most 3 requests per agent in any minute.
    { id: 'per-minute', scope: { agent: '*' }, meter: 'requests', max: 3, window: '1m' },
  ],
});

gov.on('warning', (w) => {
  console.log(`        ! warning: ${w.limit} of ${scopeKey(w.scope)} reached ${w.threshold}% (${w.used} of ${w.max})`);
});

/** The fake LLM: answers instantly and reports usage the way providers do. */
async function fakeLlm(prompt: string): Promise<{ text: string; usage: { input_tokens: number; output_tokens: number } }> {
  return { text: `thoughts on ${prompt}`, usage: { input_tokens: 800 + prompt.length * 10, output_tokens: 1200 } };
}

const agents = ['researcher', 'writer'];
const t = (): string => `t+${(clock.now() - Date.parse('2026-11-23T09:00:00Z')) / 1000}s`.padEnd(7);
for (let step = 1; step <= 9; step++) {
  for (const agent of agents) {
    const prompt = `step ${step} of ${agent}`;
    try {
      const reply = await gov.guard(
        {
          scope: { project: 'demo', agent },
          kind: 'llm',
          model: 'fake-mini',
          // Reserved before the call: an upper bound of what it may cost.
          estimate: { inputTokens: 1000, outputTokens: 1500 },
          usageOf: (r) => ({ inputTokens: r.usage.input_tokens, outputTokens: r.usage.output_tokens }),
        },
        () => fakeLlm(prompt),
      );
      console.log(`${t()} ${agent.padEnd(10)} admitted: "${reply.text}"`);
    } catch (e) {
      if (!isGovernorError(e)) throw e;
      const retry = 'retryAfterMs' in e && e.retryAfterMs !== undefined ? `, retry in ${Math.ceil(Number(e.retryAfterMs) / 1000)}s` : '';
      console.log(`${t()} ${agent.padEnd(10)} refused: ${e.code}${retry}`);
    }
  }
  clock.advance(15_000); // the agents think for 15 seconds between steps
}

console.log('\nWhere the limits stand:');
for (const agent of agents) {
  for (const s of await gov.getStatus({ project: 'demo', agent })) {
    const unit = s.meter === 'cost' ? ` ${s.currency}` : '';
    console.log(`  ${agent.padEnd(10)} ${s.limit.padEnd(14)} ${s.meter.padEnd(9)} used ${s.used}${unit} of ${s.max}${unit}`);
  }
}

const { entries } = await gov.queryLedger({ scope: { project: 'demo' }, kinds: ['call'] });
const admitted = entries.filter((e) => e.status === 'ok');
const refused = entries.filter((e) => e.status === 'refused');
const charged = admitted.reduce((sum, e) => sum.plus(e.cost), new Decimal(0));
console.log(`\nLedger: ${admitted.length} calls admitted and charged ${charged} USD; ${refused.length} refused, charged nothing.`);
