/**
 * Per-agent quotas (seed 002) and multi-resource usage (seed 000) with `gov.tracker`:
 * an agent with a call and time quota, guarded calls refused with the seed reason, a
 * long call aborted at the timeout, seed 000's soft and hard limits, and prediction.
 *
 *   npx tsx examples/agent-quotas.ts
 */
import { createGovernor, isGovernorError } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

// A manual clock makes the demo instant and repeatable; leave it out in real code.
const clock = new ManualClock('2026-11-23T09:00:00Z');
const gov = createGovernor({
  clock,
  tracker: {
    alternatives: { money: ['use a smaller model', 'summarize the context first'] },
    prediction: { baselines: { research: { money: '0.20', timeMinutes: 1, apiCalls: 1, cpuHours: 0.1 } } },
  },
});
gov.on('warning', (w) => console.log(`  warning: ${w.limit} at ${w.used} of ${w.max} (${w.threshold} %)`));
gov.on('violation', (v) => console.log(`  violation (${v.type}): ${v.code} on ${v.limit}`));

const researcher = Object.freeze({ project: 'demo', agent: 'researcher' });

async function llm(prompt: string, signal?: AbortSignal): Promise<{ text: string }> {
  signal?.throwIfAborted();
  return { text: `notes on ${prompt}` };
}

console.log('1. allocate a quota: 4 LLM calls, 2 minutes, $0.50');
gov.tracker.allocate('researcher', { maxLlmCalls: 4, timeoutSeconds: 120, money: '0.50' }, { operationType: 'research' });
console.log('  quota:', JSON.stringify(gov.tracker.getQuota('researcher')));

console.log('\n2. guarded calls count on the quota; the fifth is refused before it runs');
for (let i = 1; i <= 5; i++) {
  try {
    await gov.guard({ scope: researcher, kind: 'llm', estimate: { inputTokens: 800, outputTokens: 200, cost: '0.02' } }, async (ctx) =>
      llm(`topic ${i}`, ctx.signal),
    );
    console.log(`  call ${i}: ok`);
  } catch (e) {
    if (isGovernorError(e)) console.log(`  call ${i}: refused with ${e.code}`);
    else throw e;
  }
}
const usage = await gov.tracker.getUsage('researcher');
console.log(`  usage: ${usage?.llmCalls} calls, ${usage?.tokensIn} in / ${usage?.tokensOut} out, $${usage?.money.toFixed()}`);
console.log('  remaining:', JSON.stringify(await gov.tracker.getRemainingBudget('researcher')));

console.log('\n3. a call asking for more tokens than one call may is refused (maxInputTokens 4,096 per call)');
await gov
  .guard({ scope: researcher, kind: 'tool', estimate: { inputTokens: 10_000 } }, async () => 'never')
  .catch((e: unknown) => {
    if (isGovernorError(e)) console.log(`  refused with ${e.code}: ${e.message}`);
  });

console.log('\n4. seed 000 resources: an API call, a minute of compute, soft and hard limits');
await gov.tracker.recordApiCall('researcher', { service: 'search-api', cost: '0.35' });
await gov.tracker.recordComputeUsage('researcher', { cpuPercent: 50, memoryGb: 2 });
console.log('  soft limits:', JSON.stringify(await gov.tracker.checkSoftLimits('researcher')));
console.log('  hard limit for $0.20 more:', JSON.stringify(await gov.tracker.checkHardLimits('researcher', { money: '0.20' })));

console.log('\n5. the timeout: a long call is aborted through ctx.signal when the 2 minutes run out');
gov.tracker.adjustQuota('researcher', { maxLlmCalls: 10 });
const long = gov.guard({ scope: researcher, kind: 'llm' }, (ctx) => {
  return new Promise((_, reject) => ctx.signal?.addEventListener('abort', () => reject(ctx.signal?.reason)));
});
clock.advance(100_000); // past the soft timeout (96 s, 80 % of 120): a warning
await new Promise((r) => setImmediate(r)); // let the timer see it (real time would pass in between)
clock.advance(20_000); // the timeout: the running call's signal aborts
await long.catch((e: unknown) => {
  if (isGovernorError(e)) console.log(`  running call aborted with ${e.code}`);
});
console.log(`  checkQuota: ${await gov.tracker.checkQuota('researcher')}`);

console.log('\n6. release: the final usage is returned (and emitted), and feeds the prediction of "research"');
const before = gov.tracker.predictUsage('research', { complexity: 0.5 });
const final = await gov.tracker.release('researcher');
console.log(`  final: ${final?.llmCalls} calls, ${final?.apiCalls} API call, $${final?.money.toFixed()}, ${final?.timeMinutes} min`);
const after = gov.tracker.predictUsage('research', { complexity: 0.5 });
console.log(`  predicted money for research: $${before.money.toFixed()} (${before.source}) -> $${after.money.toFixed()} (${after.source})`);
console.log('  system:', JSON.stringify(await gov.tracker.getSystemUsage()));
await gov.close();
