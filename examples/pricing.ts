/**
 * Pricing: exact LLM costs from the pinned catalog, overrides, estimates before a call,
 * compute and sandbox prices, machine selection and the cost of one execution.
 *
 *   npx tsx examples/pricing.ts
 */
import { createGovernor, UnknownModelError } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

const gov = createGovernor({
  clock: new ManualClock('2026-11-23T09:00:00Z'),
  budgets: [{ id: 'exec-budget', scope: { execution: 'exec_456' }, amount: '1.00' }],
  pricing: {
    // A fine-tune the catalog cannot know, with every component it bills.
    models: {
      'ft:gpt-4o-mini:acme': { input: '0.30', output: '1.20', cachedInput: '0.15', version: 'acme-contract', effectiveDate: '2026-10-01' },
    },
  },
});

// Prices straight from the catalog (@pydantic/genai-prices 0.1.8, offline), in integers.
const sonnet = gov.costs.cost({
  model: 'anthropic/claude-sonnet-4-5',
  // Normalized usage: inputTokens counts cache reads and writes too (Anthropic: input + cache_read + cache_creation).
  usage: { inputTokens: 12_000, cachedInputTokens: 8_000, cacheWriteTokens: 2_000, outputTokens: 800 },
});
console.log(`claude-sonnet-4-5: ${sonnet.total} ${sonnet.currency} (${sonnet.pricing.version}, effective ${sonnet.pricing.effectiveDate})`);
console.log('  components:', Object.fromEntries(Object.entries(sonnet.components).map(([k, v]) => [k, v.toFixed()])));

// The seeds' own calculators give the seeds' figures.
console.log(`seed 000 calculate_api_cost(claude-3-5-sonnet, 1000, 500) = ${gov.costs.calculateApiCost('claude-3-5-sonnet', 1000, 500)}`);
console.log(
  `seed 004 gpt-4 1000 + 500 tokens = ${gov.costs.calculateLlmCost({ provider: 'openai', model: 'gpt-4', promptTokens: 1000, completionTokens: 500 })}`,
);

// Unknown models are refused, never priced at zero.
try {
  gov.costs.cost({ model: 'my-local-llm', usage: { inputTokens: 10 } });
} catch (e) {
  if (e instanceof UnknownModelError) console.log(`refused: ${e.code} (${e.model})`);
}

// An upper-bound estimate before the call, reserved on the budget.
const messages = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Summarize the quarterly report in three bullet points.' },
];
const est = await gov.costs.estimateCost({ model: 'gpt-4o', messages, maxOutputTokens: 300 });
console.log(`estimate for gpt-4o: ${est.inputTokens} input tokens (${est.counter}) + 300 out <= ${est.cost}`);

const scope = { execution: 'exec_456' };
const reply = await gov.guard({ kind: 'llm', scope, provider: 'openai', model: 'gpt-4o', estimate: est.estimate }, (ctx) => {
  // A fake response; the SDK integrations report this from the provider's usage.
  ctx.report({ inputTokens: est.inputTokens, cachedInputTokens: 0, outputTokens: 120 });
  return 'three bullets';
});
await gov.guard({ kind: 'llm', scope, model: 'ft:gpt-4o-mini:acme' }, (ctx) =>
  ctx.report({ inputTokens: 2000, cachedInputTokens: 1000, outputTokens: 400 }),
);

// Compute: seed 000's VM hourly cost and seed 004's sandbox execution, charged to the execution.
console.log(
  `hub VM (4 cores, 16 GB, 100 GB disk): ${gov.costs.calculateVmHourlyCost({ cpuCores: 4, memoryGb: 16, storageGb: 100, vmType: 'hub' })} per hour`,
);
const sandbox = await gov.costs.trackSandboxExecution({ scope, cpuCores: 2, memoryMb: 1024, durationSeconds: 120 });
console.log(`sandbox 2 cores, 1 GB, 120 s: ${sandbox.total}`, sandbox.byResource.map((r) => `${r.resource} ${r.cost}`).join(', '));

// Which machine for the next job?
gov.costs.recordMachineRun({ machineType: 'standard-4', success: false, cost: '0.30' });
gov.costs.recordMachineRun({ machineType: 'high-memory-4', success: true, cost: '0.40' });
const choice = gov.costs.selectMachine({ constraints: { minMemoryGb: 8 }, prompt: 'load the dataset' });
console.log(`machine: ${choice.machineType} (${choice.basis})`);

// Seed 004's ExecutionCost, from the ledger.
const cost = await gov.costs.getExecutionCost('exec_456');
console.log(`execution exec_456 (${reply}): total ${cost.total} = llm ${cost.llm} + compute ${cost.compute} + other ${cost.other}`);
for (const m of cost.byModel) console.log(`  ${m.provider ?? '-'}/${m.model}: ${m.cost} for ${m.tokens} tokens in ${m.calls} call(s)`);
for (const r of cost.byResource) console.log(`  ${r.resource}: ${r.cost} for ${r.usage} ${r.unit}s`);
await gov.close();
