/**
 * CircuitBreaker against opossum and cockatiel, closed state, the same async function,
 * in one run: ns per call and the overhead each adds over a plain `await fn()`.
 * Runs inside `npm run bench`, or alone: `npx tsx bench/breakers.ts`.
 */
import { fileURLToPath } from 'node:url';
import { CircuitBreaker, MemoryStore } from 'agent-governor';
import { circuitBreaker, ConsecutiveBreaker, handleAll } from 'cockatiel';
import Opossum from 'opossum';
import { Bench, type Task } from 'tinybench';
import { batchSample } from './support.js';

// One sample is BATCH back-to-back awaited calls: a call costs a few hundred ns, the
// order of performance.now() itself, so per-call timing would mostly time the timer.
const BATCH = 100;
/** The target: our overhead over a plain await is below both anchors'. */
const NAMES = {
  plain: 'plain await fn()',
  opossum: 'opossum fire()',
  cockatiel: 'cockatiel execute()',
  ours: 'agent-governor call()',
} as const;

const fn = async (): Promise<number> => 1;

/** One row of the breaker bench. */
export interface BreakerBenchRow {
  readonly name: string;
  readonly meanNs: number;
  readonly p50Ns: number;
  /** Mean minus the plain await's mean. */
  readonly overheadNs: number;
}

/** Measure plain await, opossum, cockatiel and ours in one tinybench run and print the table and ratios. */
export async function benchBreakers(): Promise<BreakerBenchRow[]> {
  // opossum's defaults put a 10 s timer on every call (timeout) and keep rolling stats;
  // left as is, since that is what a user of `new CircuitBreaker(fn)` gets.
  const opossum = new Opossum(fn);
  const cockatiel = circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) });
  const ours = new CircuitBreaker({ key: 'bench', store: new MemoryStore(), failureThreshold: 5, resetTimeout: 10_000 });

  const bench = new Bench({ time: 1000, warmupTime: 300, throws: true });
  // Each task spells out its own loop: a shared helper would make its call site polymorphic.
  bench
    .add(NAMES.plain, async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await fn();
      return batchSample(t0);
    })
    .add(NAMES.opossum, async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await opossum.fire();
      return batchSample(t0);
    })
    .add(NAMES.cockatiel, async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await cockatiel.execute(fn);
      return batchSample(t0);
    })
    .add(NAMES.ours, async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await ours.call(fn);
      return batchSample(t0);
    });

  await bench.run();
  opossum.shutdown();

  const raw = bench.tasks.map((t: Task) => {
    const r = t.result;
    if (r.state === 'errored') throw r.error;
    if (r.state !== 'completed' && r.state !== 'aborted-with-statistics') throw new Error(`${t.name}: no result (${r.state})`);
    return { name: t.name, meanNs: r.latency.mean * 1e6, p50Ns: r.latency.p50 * 1e6 };
  });
  const plainNs = (raw.find((r) => r.name === NAMES.plain) as (typeof raw)[number]).meanNs;
  const rows: BreakerBenchRow[] = raw.map((r) => ({ ...r, overheadNs: r.meanNs - plainNs }));
  const by = (n: string): BreakerBenchRow => rows.find((r) => r.name === n) as BreakerBenchRow;

  console.log('\nCircuit breakers, closed state, same async fn (one sample = 100 sequential awaited calls)');
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    console.log(
      `  ${r.name.padEnd(width)}  ${r.meanNs.toFixed(1).padStart(8)} ns/op  (p50 ${r.p50Ns.toFixed(1).padStart(7)})` +
        (r.name === NAMES.plain ? '' : `   overhead ${r.overheadNs.toFixed(1).padStart(7)} ns`),
    );
  }
  const o = by(NAMES.ours);
  const c = by(NAMES.cockatiel);
  const p = by(NAMES.opossum);
  const ratio = (a: number, b: number): string => (b <= 0 ? 'n/a' : `${(a / b).toFixed(2)}x`);
  const met = o.overheadNs < c.overheadNs && o.overheadNs < p.overheadNs;
  console.log(
    `  overhead ours/cockatiel = ${ratio(o.overheadNs, c.overheadNs)}, ours/opossum = ${ratio(o.overheadNs, p.overheadNs)}` +
      `   (target: less overhead than both: ${met ? 'met' : 'MISSED'})`,
  );
  const plainP50 = by(NAMES.plain).p50Ns;
  // The median of batch means shrugs off GC pauses and a busy machine better than the mean.
  console.log(
    `  overhead (p50) ours/cockatiel = ${ratio(o.p50Ns - plainP50, c.p50Ns - plainP50)}, ours/opossum = ${ratio(o.p50Ns - plainP50, p.p50Ns - plainP50)}`,
  );
  console.log(`  per call      ours/cockatiel = ${ratio(o.meanNs, c.meanNs)}, ours/opossum = ${ratio(o.meanNs, p.meanNs)}`);
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchBreakers();
}
