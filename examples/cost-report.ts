/**
 * Cost report: three weeks of a small agent team through the governor, then every
 * analytics report over the ledger it left (seeds 003 and 004).
 *
 *   npx tsx examples/cost-report.ts
 */
import { createGovernor, type AnalyticsPricing } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

// A manual clock makes the run instant and its output the same every time.
const clock = new ManualClock('2026-11-01T00:00:00Z');
const prices = {
  'big-model': { input: '3', output: '15', cachedInput: '0.3' },
  'small-model': { input: '0.15', output: '0.6', cachedInput: '0.075' },
};
const gov = createGovernor({
  clock,
  pricing: { models: prices },
  budgets: [{ id: 'team-month', scope: { workspace: 'acme' }, amount: '40', period: 'month' }],
  // Analytics options: downgrade candidates we vouch for.
  analytics: { rollups: true, downgrades: { 'big-model': ['small-model'] } },
});

// A tiny deterministic generator so the numbers are the same on every run.
let seed = 7;
const rnd = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;

const agents = ['planner', 'coder', 'reviewer'];
for (let day = 0; day < 21; day++) {
  clock.set(Date.parse('2026-11-01T08:00:00Z') + day * 86_400_000);
  const weekend = [0, 6].includes(new Date(clock.now()).getUTCDay());
  for (let run = 0; run < (weekend ? 3 : 8) + day / 4; run++) {
    const agent = agents[run % 3] as string;
    const execution = `d${day}-r${run}`;
    const scope = { workspace: 'acme', project: 'app', agent, execution };
    for (let step = 0; step < 4; step++) {
      clock.advance(20_000);
      const model = agent === 'coder' ? 'big-model' : 'small-model';
      const input = 300 + Math.floor(rnd() * (agent === 'coder' ? 700 : 4000));
      const fingerprint = `${agent}-${Math.floor(rnd() * 30)}`;
      try {
        await gov.guard({ scope, provider: 'demo', model, name: 'chat', estimate: { llmCalls: 1 }, metadata: { fingerprint } }, (ctx) => {
          clock.advance(400 + Math.floor(rnd() * 2000));
          ctx.report({ inputTokens: input, cachedInputTokens: Math.floor(input * 0.1), outputTokens: 100 + Math.floor(rnd() * 200) });
          // A call that fails after the provider billed it: its cost is waste.
          if (rnd() < 0.04) throw new Error('provider timeout');
        });
      } catch {
        // A failed call is in the ledger with its status and code; the agent moves on.
      }
    }
    // What the run achieved, so efficiency scores have tasks and quality to go on.
    await gov.analytics.recordOutcome(scope, { completed: rnd() < 0.85, quality: Math.round(rnd() * 100) / 100 });
  }
}
clock.set('2026-11-21T18:00:00Z');

const a = gov.analytics;
const show = (title: string, value: unknown): void => console.log(`\n== ${title}\n${JSON.stringify(value, null, 2)}`);

const costs = await a.getCosts({ scope: { workspace: 'acme' }, period: 'month' });
show('getCosts (month, without the daily trend)', { ...costs, trends: { ...costs.trends, daily: `${costs.trends.daily.length} days` } });
console.log('\nby model as CSV:\n' + costs.toCSV());
show('getCostForecast', await a.getCostForecast({ workspace: 'acme' }));
show('getCostStats', await a.getCostStats({ period: 'week' }));
show('getExecutionCost', await a.getExecutionCost('d20-r1'));
const allocation = await a.getCostAllocation({ period: { from: '2026-11-20T00:00:00Z' } });
show('getCostAllocation (last two days)', allocation.rows);
const api = await a.getApiCallAnalytics({ period: 'month' });
show('getApiCallAnalytics (rows)', api.rows);
const tokens = await a.getTokenAnalytics({ period: 'week', dailyTokenBudget: 200_000 });
show('getTokenAnalytics (without byModel)', { ...tokens, byModel: `${tokens.byModel.length} models` });
show('getEfficiencyScores', await a.getEfficiencyScores());
const forecast = await a.getForecast({ scope: { workspace: 'acme' }, horizonDays: 7, meters: ['cost'] });
show('getForecast (cost)', { ...forecast, meters: { cost: { ...forecast.meters.cost, daily: forecast.meters.cost?.daily.slice(0, 3) } } });
show('getWaste', await a.getWaste());
show('getRecommendations', await a.getRecommendations());

// A custom pricing source (e.g. a full catalog) plugs in through the AnalyticsPricing interface.
const pricing: AnalyticsPricing = { cost: (model) => (model === 'my-model' ? 1_000n : undefined), contextWindow: () => 128_000 };
void pricing;
