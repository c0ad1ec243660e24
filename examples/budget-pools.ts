/**
 * Budget pools (seeds 000, 001, 004): a workspace and project budget, a pool with two
 * agents, a priority allocation, an emergency grant, alerts, a soft/hard check, service
 * levels, a review, and a call that waits for a top-up instead of failing.
 *
 *   npx tsx examples/budget-pools.ts
 */
import { allocateByGreediness, BudgetExceededError, createGovernor } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

// A manual clock makes the demo instant and repeatable; leave it out in real code.
const clock = new ManualClock('2026-11-23T09:00:00Z');
const gov = createGovernor({
  clock,
  alertChannels: [(a) => console.log(`  alert: ${a.budget} reached ${a.threshold}% (${a.spent} of ${a.amount} ${a.currency})`)],
});
const b = gov.budgets;

// Seed 004: a monthly workspace budget in its own time zone, and a hard project budget.
b.setBudget({ id: 'acme', scope: { workspace: 'acme' }, amount: '5000', period: 'month', timeZone: 'America/New_York', hardLimit: false });
b.setBudget({ id: 'search', scope: { workspace: 'acme', project: 'search' }, amount: '300', alternatives: [{ model: 'gpt-4o-mini' }] });

// Seed 001: a pool and its agents.
b.createPool({
  name: 'crawl',
  workspace: 'acme',
  project: 'search',
  initialBudget: '250',
  priority: 9,
  policy: 'priority',
  alternatives: [{ model: 'gpt-4o-mini', description: 'cheaper model' }],
});
b.createAgent({ id: 'planner', initialBudget: '100', priority: 8, pool: 'crawl' });
b.createAgent({ id: 'fetcher', initialBudget: '100', priority: 4, pool: 'crawl', onExhausted: 'wait', maxWaitMs: '10m' });
b.setServiceLevels('fetcher');

async function work(agent: string, cost: string): Promise<void> {
  await gov.guard({ scope: b.scopeOf(agent), estimate: { cost } }, (ctx) => {
    const level = ctx.serviceLevel === undefined ? '' : ` at service level ${ctx.serviceLevel.name}`;
    console.log(`  ${agent} spends ${cost}${level}`);
  });
}

console.log('Spending:');
await work('planner', '60');
await work('fetcher', '70');
await b.idle();

console.log('\nEmergency requests:');
for (const [agent, reason] of [
  ['planner', 'traffic spike'],
  ['fetcher', 'critical: index is stale'],
  ['fetcher', 'nice to have'],
] as const) {
  const r = await b.requestEmergencyAllocation(agent, '20', reason, { actor: 'oncall' });
  console.log(`  ${agent} (${reason}): ${r.decision}, granted ${r.granted.toFixed()} (${r.note})`);
}

console.log('\nPriority allocation of what the pool has left (planner, priority 8, gets 50 first):');
const alloc = await b.allocate('crawl', { reason: 'weekly plan', actor: 'ops' });
for (const [id, amount] of Object.entries(alloc.allocations))
  console.log(`  ${id}: ${amount.toFixed()} more, budget now ${b.getBudget(id).toFixed()}`);

console.log('\nChecks:');
console.log('  canExecute(search, 200):', (await b.canExecute({ workspace: 'acme', project: 'search' }, '200')).reason);
const status = await b.getBudgetStatus({ workspace: 'acme' });
console.log(
  `  acme: spent ${status.spent.toFixed()} of ${status.budget.toFixed()} (${status.usagePercent}%), hard limit ${status.hardLimit}`,
);

console.log('\nA call that waits for a top-up instead of failing:');
const m = await b.getAgentMetrics('fetcher');
const waiting = work('fetcher', m.remaining.plus(5).toFixed());
await new Promise((r) => setImmediate(r));
b.topUp({ agent: 'fetcher' }, '5', { reason: 'unblock the fetcher', actor: 'ops' });
await waiting;

try {
  b.updateBudget('planner', '1000', 'big job');
  await work('planner', '200');
} catch (e) {
  if (e instanceof BudgetExceededError)
    console.log(`  refused by ${e.limit}: ${e.available} available; alternatives: ${JSON.stringify(e.alternatives)}`);
}

console.log('\nReview:');
for (const f of await b.review()) console.log(`  ${f.message}`);

console.log('\nAudit log (fetcher):');
for (const r of (await b.getAuditLog({ agent: 'fetcher' })).records) {
  console.log(
    `  ${r.action?.padEnd(9)} ${r.before?.toFixed() ?? '-'} → ${r.after?.toFixed() ?? '-'}  ${r.reason}${r.actor ? ` (${r.actor})` : ''}`,
  );
}

console.log('\nSeed 000 greediness, biweekly 42 CAD:');
const g = allocateByGreediness(
  [
    { id: 'autovibe-core', greediness: 0.42 },
    { id: 'crypto-profit', greediness: 0.1 },
    { id: 'the-rest', greediness: 0.48 },
  ],
  { money: { amount: 42, days: 14 }, computeHours: 24, apiCalls: 1000 },
);
for (const [id, s] of Object.entries(g.shares))
  console.log(`  ${id}: ${s.money.toFixed()}/day, ${s.computeHours.toFixed()} CPU h, ${s.apiCalls.toFixed()} calls`);
await gov.close();
