/**
 * Pricing one call, the work every settle does: the cached catalog lookup plus the integer
 * math, against two anchors measured in the same run: the catalog package's own
 * `calcPrice` (float math, model matching on every call) and one decimal.js
 * `new Decimal(t).mul(p).plus(acc)` (DESIGN.md's ~1,000 ns).
 * Runs inside `npm run bench`, or alone: `npx tsx bench/costs.ts`.
 */
import { fileURLToPath } from 'node:url';
import { calcPrice } from '@pydantic/genai-prices';
import { CostCalculator, Decimal } from 'agent-governor';
import { Bench, type Task } from 'tinybench';
import { batchSample } from './support.js';

const BATCH = 1000;
const NAMES = {
  ours: 'costUnits(gpt-4o) cached',
  oursTiered: 'costUnits(claude-sonnet-4-5) tiered, cache',
  report: 'priceReport (settle path) gpt-4o',
  decimalApi: 'cost() with Decimal components',
  catalog: 'genai-prices calcPrice(gpt-4o)',
  decimal: 'one Decimal mul+plus',
} as const;

/** Measure pricing one call and print ns/op and the ratios against the anchors. */
export async function benchCosts(): Promise<void> {
  const costs = new CostCalculator();
  const usage = { inputTokens: 1200n, outputTokens: 300n, cachedInputTokens: 200n, cacheWriteTokens: 0n, reasoningTokens: 0n };
  const tiered = { inputTokens: 250_000n, outputTokens: 900n, cachedInputTokens: 100_000n, cacheWriteTokens: 2000n, reasoningTokens: 0n };
  const reported = new Map<string, bigint>([
    ['inputTokens', 1200n],
    ['outputTokens', 300n],
    ['cachedInputTokens', 200n],
  ]);
  const raw = { input_tokens: 1200, output_tokens: 300, cache_read_tokens: 200 };
  // Resolve once, as the first call of a model does; what follows is the cached path.
  const first = performance.now();
  costs.costUnits('gpt-4o', undefined, usage);
  const firstMs = performance.now() - first;
  costs.costUnits('claude-sonnet-4-5', 'anthropic', tiered);
  let sink = 0n;
  let acc = new Decimal(0);
  const bench = new Bench({ time: 800, warmupTime: 200, throws: true });
  bench
    .add(NAMES.ours, () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) sink += costs.costUnits('gpt-4o', undefined, usage);
      return batchSample(t0, BATCH);
    })
    .add(NAMES.oursTiered, () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) sink += costs.costUnits('claude-sonnet-4-5', 'anthropic', tiered);
      return batchSample(t0, BATCH);
    })
    .add(NAMES.report, () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) sink += costs.priceReport('gpt-4o', 'openai', reported)?.units ?? 0n;
      return batchSample(t0, BATCH);
    })
    .add(NAMES.decimalApi, () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) acc = costs.cost({ model: 'gpt-4o', usage }).total;
      return batchSample(t0, BATCH);
    })
    .add(NAMES.catalog, () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) sink += BigInt(calcPrice(raw, 'gpt-4o', { providerId: 'openai' }) === null ? 0 : 1);
      return batchSample(t0, BATCH);
    })
    .add(NAMES.decimal, () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) acc = new Decimal(1200).mul('0.0000025').plus(acc);
      return batchSample(t0, BATCH);
    });
  await bench.run();
  if (sink < 0n || acc.isNaN()) console.log('unreachable');
  const mean = (t: Task): number => {
    const r = t.result;
    if (r.state !== 'completed' && r.state !== 'aborted-with-statistics') throw new Error(`${t.name}: ${r.state}`);
    return r.latency.mean * 1e6;
  };
  const rows = bench.tasks.map((t) => ({ name: t.name, ns: mean(t) }));
  const by = (n: string): number => rows.find((r) => r.name === n)?.ns as number;
  console.log('\nPricing one call (ns/op, one sample = 1,000 calls)');
  const w = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) console.log(`  ${r.name.padEnd(w)}  ${r.ns.toFixed(1).padStart(9)}`);
  const ours = by(NAMES.ours);
  console.log(`  first lookup of a model (resolve + compile, once): ${(firstMs * 1e3).toFixed(0)} µs`);
  console.log(
    `  cached pricing vs genai-prices calcPrice = ${(ours / by(NAMES.catalog)).toFixed(3)}x; vs one Decimal mul+plus = ${(ours / by(NAMES.decimal)).toFixed(3)}x`,
  );
  console.log(`  target: well under 1,000 ns after the first lookup: ${ours < 1000 && by(NAMES.report) < 1000 ? 'met' : 'MISSED'}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchCosts();
