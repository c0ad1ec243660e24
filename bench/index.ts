/**
 * The benchmark suite: `npm run bench`.
 *
 * 1. Throughput (tinybench): the governed hot path against two anchors, a plain
 *    `await fn()` and rate-limiter-flexible's in-memory `consume()`, plus a 4-level
 *    budget hierarchy. Prints ns/op and the ratios we track.
 * 2. Memory (bench/heap.ts): bytes kept per idle scope, measured in child processes
 *    started with `--expose-gc` so `npm run bench` needs no extra flags.
 *
 * The whole run takes 15-30 s on 2 cores, depending on what else the machine runs.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createGovernor, MemoryStore } from 'agent-governor';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { Bench, type Task } from 'tinybench';
import type { HeapReport } from './heap.js';
import { batchSample } from './support.js';

// One tinybench sample is BATCH back-to-back awaited calls. A single call takes from
// ~50 ns to a few µs, the same order as performance.now() itself, so timing calls one
// by one would mostly measure the timer; per batch its cost is negligible per call.
const BATCH = 100;
const TIME_MS = 1000;
const WARMUP_MS = 300;
/** The governed-overhead target (× RLF consume) printed next to the measured ratio. */
const OVERHEAD_TARGET = 3;

const fn = async (): Promise<number> => 1;
let floorSink = 0;

// ---- subjects ----------------------------------------------------------------------

const limiter = new RateLimiterMemory({ points: 1e9, duration: 60 });

// Callers reuse their scope objects; a frozen one is validated once and then cached.
const SCOPE = Object.freeze({ project: 'p', agent: 'a1' });
// The ledger is a ring buffer: a small cap keeps memory flat over millions of calls,
// so the numbers do not include a growing heap and the GC work it brings.
const governed = createGovernor({
  store: new MemoryStore({ maxLedgerEntries: 10_000 }),
  budgets: [{ scope: { project: 'p' }, amount: '1000000' }],
  limits: [
    { scope: { agent: '*' }, meter: 'llmCalls', max: 1e12 },
    { scope: { agent: '*' }, meter: 'requests', max: 1e12, window: '1m' },
  ],
});

const SCOPE4 = Object.freeze({ workspace: 'w', project: 'p', pool: 'q', agent: 'a1' });
// Close to the largest amount a counter holds (~9.2M units): never exhausted at 0.001 a call.
const HUGE = '9000000';
const hierarchy = createGovernor({
  store: new MemoryStore({ maxLedgerEntries: 10_000 }),
  budgets: [
    { scope: { workspace: 'w' }, amount: HUGE },
    { scope: { workspace: 'w', project: 'p' }, amount: HUGE },
    { scope: { workspace: 'w', project: 'p', pool: 'q' }, amount: HUGE },
    { scope: { workspace: 'w', project: 'p', pool: 'q', agent: 'a1' }, amount: HUGE },
  ],
});

// ---- throughput ----------------------------------------------------------------------

const NAMES = {
  plain: 'plain await fn()',
  floor: 'floor: then + 2 wall + 2 mono reads',
  rlf: 'RLF consume (1 key)',
  governed: 'governed guard() [budget+quota+rate]',
  hierarchy: 'governed guard() [4-level budgets]',
} as const;

// `throws`: a refusal (or any error) must abort the run, not quietly skew a mean.
const bench = new Bench({ time: TIME_MS, warmupTime: WARMUP_MS, throws: true });

// Each task spells out its own loop rather than sharing a helper taking the operation:
// V8 shares type feedback between closures of one helper, which would make its call
// site polymorphic and slow the cheap anchors down more than the governed calls.
bench
  .add(NAMES.plain, async () => {
    const t0 = performance.now();
    for (let i = 0; i < BATCH; i++) await fn();
    return batchSample(t0);
  })
  // What any governed call must do whatever its bookkeeping: settle after the function (a then on
  // its promise, the caller awaiting the result), read the wall clock at admission and at settle
  // (periods, windows, leases, the entry's time) and the monotonic clock at both ends (durationMs).
  .add(NAMES.floor, async () => {
    const t0 = performance.now();
    for (let i = 0; i < BATCH; i++) {
      const now = Date.now();
      const started = performance.now();
      await fn().then((v) => {
        floorSink += Date.now() - now + (performance.now() - started) + v;
      });
    }
    return batchSample(t0);
  })
  .add(NAMES.rlf, async () => {
    const t0 = performance.now();
    for (let i = 0; i < BATCH; i++) await limiter.consume('k');
    return batchSample(t0);
  })
  .add(NAMES.governed, async () => {
    const t0 = performance.now();
    for (let i = 0; i < BATCH; i++) await governed.guard({ scope: SCOPE, kind: 'llm', estimate: { cost: '0.001' } }, fn);
    return batchSample(t0);
  })
  .add(NAMES.hierarchy, async () => {
    const t0 = performance.now();
    for (let i = 0; i < BATCH; i++) await hierarchy.guard({ scope: SCOPE4, kind: 'llm', estimate: { cost: '0.001' } }, fn);
    return batchSample(t0);
  });

interface Row {
  readonly name: string;
  readonly meanNs: number;
  readonly p50Ns: number;
  readonly opsPerSec: number;
  readonly rme: number;
  readonly calls: number;
}

function row(task: Task): Row {
  const r = task.result;
  if (r.state === 'errored') throw r.error;
  if (r.state !== 'completed' && r.state !== 'aborted-with-statistics') throw new Error(`${task.name}: no result (${r.state})`);
  const meanNs = r.latency.mean * 1e6;
  return {
    name: task.name,
    meanNs,
    p50Ns: r.latency.p50 * 1e6,
    opsPerSec: 1e9 / meanNs,
    rme: r.latency.rme,
    calls: task.runs * BATCH,
  };
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const count = (n: number, what: string): string => `${int(n)} ${n === 1 ? what : what.replace(/y$/, 'ie') + 's'}`;
const ns = (n: number): string => n.toFixed(n < 1000 ? 1 : 0);

function printTable(rows: readonly Row[]): void {
  const head = ['task', 'mean ns/op', 'p50 ns/op', 'ops/s', '± rme', 'calls'];
  const cells = rows.map((r) => [r.name, ns(r.meanNs), ns(r.p50Ns), int(r.opsPerSec), `${r.rme.toFixed(2)}%`, int(r.calls)]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: readonly string[]): string => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}

console.log(`agent-governor benchmark — Node ${process.version}, ${process.platform}/${process.arch}`);
console.log(`tinybench: time ${TIME_MS} ms + warmup ${WARMUP_MS} ms per task; one sample = ${BATCH} sequential awaited calls\n`);

await bench.run();
const rows = bench.tasks.map(row);
const by = (name: string): Row => rows.find((r) => r.name === name) as Row;
const plain = by(NAMES.plain);
const rlf = by(NAMES.rlf);
const gov = by(NAMES.governed);
const four = by(NAMES.hierarchy);

printTable(rows);
console.log('(p50 is the median of per-batch means, so it mostly trims GC pauses and scheduling noise.)\n');

// Ratios on the means, with the same ratio on the p50s alongside: on a noisy machine the
// two disagreeing says more about the noise than about the code.
const x = (v: number): string => `${v.toFixed(2)}x`;
const ratio = (label: string, mean: number, p50: number, note = ''): void =>
  console.log(`${label.padEnd(26)} = ${x(mean)}${note}   (on p50: ${x(p50)})`);
const overhead = (gov.meanNs - plain.meanNs) / rlf.meanNs;
ratio('governed call', gov.meanNs / rlf.meanNs, gov.p50Ns / rlf.p50Ns, ' RLF consume');
ratio(
  'governed call overhead',
  overhead,
  (gov.p50Ns - plain.p50Ns) / rlf.p50Ns,
  ` RLF consume, target <= ${OVERHEAD_TARGET}x: ${overhead <= OVERHEAD_TARGET ? 'met' : 'MISSED'}`,
);
ratio('4-level hierarchy call', four.meanNs / gov.meanNs, four.p50Ns / gov.p50Ns, ' governed call');
console.log(`(overhead = (governed - plain) / RLF consume = (${ns(gov.meanNs)} - ${ns(plain.meanNs)}) / ${ns(rlf.meanNs)} ns)`);
const floor = by(NAMES.floor);
const budget = plain.meanNs + OVERHEAD_TARGET * rlf.meanNs;
console.log(
  `floor of a governed call (settle after fn, 2 wall + 2 monotonic clock reads): ${ns(floor.meanNs)} ns, ` +
    `overhead ${x((floor.meanNs - plain.meanNs) / rlf.meanNs)} RLF consume`,
);
console.log(
  `  the ${OVERHEAD_TARGET}x target allows ${ns(budget)} ns a call: ${ns(budget - floor.meanNs)} ns above the floor for admission, ` +
    `holds, settle, ledger and events; the governed call spends ${ns(gov.meanNs - floor.meanNs)} ns there`,
);
if (floorSink === -1) console.log(floorSink); // keep the floor's reads alive

// ---- the ledger's share, measured in separate processes ----------------------------------

const { benchLedger } = await import('./ledger.js');
benchLedger(rlf.meanNs, plain.meanNs);

// ---- memory --------------------------------------------------------------------------

const heapScript = fileURLToPath(new URL('./heap.ts', import.meta.url));
const root = fileURLToPath(new URL('..', import.meta.url));

/** Run one heap measurement in a fresh process, so neither subject sees the other's garbage. */
function heap(subject: HeapReport['subject']): HeapReport {
  const out = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', heapScript, subject], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out.trim().split('\n').at(-1) as string) as HeapReport;
}

function printHeap(title: string, unit: string, report: HeapReport): void {
  console.log(title);
  const width = Math.max(...report.figures.map((f) => f.label.length));
  for (const f of report.figures) {
    const s = f.store;
    const store =
      s === undefined ? '' : `   store: ${count(s.counters, 'counter')}, ${count(s.windows, 'window')}, ${count(s.ledger, 'ledger entry')}`;
    console.log(
      `  ${f.label.padEnd(width)}  ${int(f.bytes).padStart(5)} B/${unit}  (heapUsed alone ${int(f.heapOnly).padStart(5)} B)${store}`,
    );
  }
}

console.log('\nMemory kept per scope: 100,000 distinct agents, one settled call each; heapUsed + arrayBuffers after forced GC');
try {
  const g = heap('governor');
  printHeap('agent-governor: per-agent quota + per-agent 1m rate limit + project budget', 'scope', g);
  const [, swept, steady] = g.figures;
  if (swept !== undefined && steady !== undefined && swept.bytes > steady.bytes * 1.1) {
    console.log('  note: memory freed by store.sweep() was only released once more store operations ran');
  }
  printHeap('rate-limiter-flexible RateLimiterMemory: one consume per key', 'key', heap('rlf'));
} catch (e) {
  console.error(`memory benchmark failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}

// ---- rate limiter ---------------------------------------------------------------------

const { benchRateLimit, heapRateLimit } = await import('./ratelimit.js');
await benchRateLimit();
heapRateLimit();

// ---- circuit breakers -----------------------------------------------------------------

const { benchBreakers } = await import('./breakers.js');
await benchBreakers();

// ---- floors ------------------------------------------------------------------------------

const { benchFloors } = await import('./floors.js');
await benchFloors();

// ---- pricing --------------------------------------------------------------------------

const { benchCosts } = await import('./costs.js');
await benchCosts();

// ---- budgets --------------------------------------------------------------------------

const { benchBudgets } = await import('./budgets.js');
await benchBudgets();

// ---- resource tracker -----------------------------------------------------------------

const { benchTracker } = await import('./tracker.js');
await benchTracker();

// ---- analytics (its own process: 1,000,000 ledger entries and --expose-gc for the heap figures) ----

try {
  execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', fileURLToPath(new URL('./analytics.ts', import.meta.url))], {
    cwd: root,
    stdio: 'inherit',
  });
} catch (e) {
  console.error(`analytics benchmark failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}

// ---- dashboard (its own process: a month's ledger, snapshots, and the hot path with a page open) ----

try {
  execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./dashboard.ts', import.meta.url))], {
    cwd: root,
    stdio: 'inherit',
  });
} catch (e) {
  console.error(`dashboard benchmark failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
