/**
 * Budgets: a reservation across a 4-level hierarchy (workspace > project > pool > agent)
 * built with gov.budgets, on MemoryStore, in the same tinybench run as the governed-call
 * anchor (the same configuration as bench/index.ts) and rate-limiter-flexible's consume.
 * Runs inside `npm run bench`, or alone: `npx tsx bench/budgets.ts` (after `npm run build`).
 */
import { fileURLToPath } from 'node:url';
import { createGovernor, MemoryStore } from 'agent-governor';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { Bench, type Task } from 'tinybench';
import { batchSample } from './support.js';

const BATCH = 100;
const fn = async (): Promise<number> => 1;

const NAMES = {
  rlf: 'RLF consume (1 key)',
  governed: 'governed guard() [budget+quota+rate]',
  store: 'MemoryStore reserve+commit, 4 counters',
  reserve: 'gov.reserve()+settle(), 4-level gov.budgets',
  guard: 'guard(), 4-level gov.budgets',
  wait: "guard(), 4-level, a budget in 'wait' mode",
} as const;

/** One row of the budgets bench. */
export interface BudgetBenchRow {
  readonly name: string;
  readonly meanNs: number;
  readonly p50Ns: number;
}

// Close to the largest amount a counter holds: never exhausted at 0.001 a call.
const HUGE = '9000000';

function hierarchy(wait: boolean) {
  const gov = createGovernor({ store: new MemoryStore({ maxLedgerEntries: 10_000 }) });
  gov.budgets.setBudget({ id: 'ws', scope: { workspace: 'w' }, amount: HUGE, period: 'month', timeZone: 'Europe/Paris' });
  gov.budgets.setBudget({ id: 'proj', scope: { workspace: 'w', project: 'p' }, amount: HUGE });
  gov.budgets.createPool({
    name: 'q',
    workspace: 'w',
    project: 'p',
    initialBudget: HUGE,
    priority: 5,
    onExhausted: wait ? 'wait' : 'refuse',
  });
  gov.budgets.createAgent({ id: 'a1', pool: 'q', initialBudget: HUGE, priority: 5, period: 'day' });
  return { gov, scope: gov.budgets.scopeOf('a1') };
}

/** Measure the budget hierarchy against the anchors in one run and print the table and ratios. */
export async function benchBudgets(): Promise<BudgetBenchRow[]> {
  const limiter = new RateLimiterMemory({ points: 1e9, duration: 60 });
  const SCOPE = Object.freeze({ project: 'p', agent: 'a1' });
  const governed = createGovernor({
    store: new MemoryStore({ maxLedgerEntries: 10_000 }),
    budgets: [{ scope: { project: 'p' }, amount: '1000000' }],
    limits: [
      { scope: { agent: '*' }, meter: 'llmCalls', max: 1e12 },
      { scope: { agent: '*' }, meter: 'requests', max: 1e12, window: '1m' },
    ],
  });
  const store = new MemoryStore();
  const keys = ['c|workspace=w|cost', 'c|workspace=w/project=p|cost', 'c|pool=q|cost', 'c|agent=a1|cost'];
  const cap = 9_000_000n * 10n ** 12n;
  const amount = 10n ** 9n;
  const items = keys.map((key) => ({ key, amount, cap }));
  const charges = keys.map((key) => ({ key, amount }));
  let seq = 0;
  const plain = hierarchy(false);
  const waiting = hierarchy(true);
  const est = { cost: '0.001' };

  const bench = new Bench({ time: 1000, warmupTime: 300, throws: true });
  bench
    .add(NAMES.rlf, async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await limiter.consume('k');
      return batchSample(t0);
    })
    .add(NAMES.governed, async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await governed.guard({ scope: SCOPE, kind: 'llm', estimate: est }, fn);
      return batchSample(t0);
    })
    .add(NAMES.store, async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) {
        const id = `r${++seq}`;
        store.reserve({ id, counters: items, leaseMs: 60_000 });
        await store.commit({ id, counters: charges });
      }
      return batchSample(t0);
    })
    .add(NAMES.reserve, async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) {
        const r = await plain.gov.reserve({ scope: plain.scope, estimate: est });
        await r.settle();
      }
      return batchSample(t0);
    })
    .add(NAMES.guard, async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await plain.gov.guard({ scope: plain.scope, kind: 'llm', estimate: est }, fn);
      return batchSample(t0);
    })
    .add(NAMES.wait, async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await waiting.gov.guard({ scope: waiting.scope, kind: 'llm', estimate: est }, fn);
      return batchSample(t0);
    });
  await bench.run();

  const rows: BudgetBenchRow[] = bench.tasks.map((t: Task) => {
    const r = t.result;
    if (r.state === 'errored') throw r.error;
    if (r.state !== 'completed' && r.state !== 'aborted-with-statistics') throw new Error(`${t.name}: no result (${r.state})`);
    return { name: t.name, meanNs: r.latency.mean * 1e6, p50Ns: r.latency.p50 * 1e6 };
  });
  const by = (n: string): BudgetBenchRow => rows.find((r) => r.name === n) as BudgetBenchRow;
  console.log('\nBudgets: 4-level hierarchy (workspace > project > pool > agent) on MemoryStore (one sample = 100 sequential calls)');
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows)
    console.log(`  ${r.name.padEnd(width)}  ${r.meanNs.toFixed(1).padStart(8)} ns/op  (p50 ${r.p50Ns.toFixed(1).padStart(7)})`);
  const x = (a: BudgetBenchRow, b: BudgetBenchRow): string =>
    `${(a.meanNs / b.meanNs).toFixed(2)}x (p50 ${(a.p50Ns / b.p50Ns).toFixed(2)}x)`;
  const g = by(NAMES.governed);
  console.log(`  4-level reserve+settle / governed call = ${x(by(NAMES.reserve), g)}`);
  console.log(`  4-level guard()        / governed call = ${x(by(NAMES.guard), g)}`);
  console.log(`  4-level guard(), wait mode / without  = ${x(by(NAMES.wait), by(NAMES.guard))}`);
  console.log(`  4-level guard()        / RLF consume  = ${x(by(NAMES.guard), by(NAMES.rlf))}`);
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchBudgets();
}
