/**
 * ResourceTracker: recordUsage and checkQuota with 1 and 100,000 tracked pids, against
 * rate-limiter-flexible's in-memory consume on 1 and 100,000 keys measured in the same
 * run (the anchor of DESIGN.md), and the heap kept per tracked pid. Runs inside
 * `npm run bench`, or alone: `npx tsx bench/tracker.ts`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MemoryStore, ResourceTracker } from 'agent-governor';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { Bench, type Task } from 'tinybench';
import { batchSample } from './support.js';

const BATCH = 100;
const PIDS = 100_000;
const pids = Array.from({ length: PIDS }, (_, i) => `agent-${i}`);

/** A tracker whose pids never run out (the bench measures admission work, not refusals). */
function tracker(): ResourceTracker {
  return new ResourceTracker({ store: new MemoryStore(), defaultQuota: { maxLlmCalls: 1e15, maxToolCalls: 1e15, timeoutSeconds: 1e9 } });
}

export async function benchTracker(): Promise<void> {
  const one = tracker();
  one.allocate('solo');
  const many = tracker();
  for (const pid of pids) many.allocate(pid);
  const rlf = new RateLimiterMemory({ points: 1e12, duration: 60 });
  const USAGE = { llmCalls: 1, tokensIn: 500, tokensOut: 200 };
  let a = 0;
  let b = 0;
  let c = 0;
  const bench = new Bench({ time: 1000, warmupTime: 300, throws: true });
  bench
    .add('RLF consume: 1 key', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await rlf.consume('solo');
      return batchSample(t0);
    })
    .add('RLF consume: 100k keys', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await rlf.consume(pids[c++ % PIDS] as string);
      return batchSample(t0);
    })
    .add('recordUsage: 1 pid', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await one.recordUsage('solo', USAGE);
      return batchSample(t0);
    })
    .add('recordUsage: 100k pids', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await many.recordUsage(pids[a++ % PIDS] as string, USAGE);
      return batchSample(t0);
    })
    .add('checkQuota: 1 pid', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await one.checkQuota('solo');
      return batchSample(t0);
    })
    .add('checkQuota: 100k pids', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await many.checkQuota(pids[b++ % PIDS] as string);
      return batchSample(t0);
    });
  await bench.run();
  const rows = bench.tasks.map((t: Task) => {
    const r = t.result;
    if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state}`);
    const meanNs = r.latency.mean * 1e6;
    return { name: t.name, meanNs, opsPerSec: 1e9 / meanNs };
  });
  const by = (n: string): { meanNs: number; opsPerSec: number } => rows.find((r) => r.name === n) as { meanNs: number; opsPerSec: number };
  console.log('\nResourceTracker (MemoryStore): ops/s, and the mean against RLF consume on as many keys (same run)');
  for (const op of ['recordUsage', 'checkQuota']) {
    for (const [n, anchor] of [
      ['1 pid', 'RLF consume: 1 key'],
      ['100k pids', 'RLF consume: 100k keys'],
    ] as const) {
      const r = by(`${op}: ${n}`);
      const x = by(anchor);
      console.log(
        `  ${`${op}, ${n}`.padEnd(24)} ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(10)} ops/s (${r.meanNs.toFixed(0)} ns)` +
          `   = ${(r.meanNs / x.meanNs).toFixed(2)}x RLF consume (${x.meanNs.toFixed(0)} ns)`,
      );
    }
  }
  heapTracker();
}

/** Bytes kept per tracked pid (allocated, one recordUsage of calls and tokens), in a fresh process with --expose-gc. */
export function heapTracker(): void {
  const script = fileURLToPath(import.meta.url);
  const root = fileURLToPath(new URL('..', import.meta.url));
  const run = (subject: string): number =>
    Number(
      execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, '--heap', subject], { cwd: root, encoding: 'utf8' })
        .trim()
        .split('\n')
        .at(-1),
    );
  const allocated = run('allocated');
  const used = run('used');
  console.log(
    `  bytes per tracked pid (${PIDS.toLocaleString('en-US')} pids): allocated only ${Math.round(allocated)} B;` +
      ` after one recordUsage of llmCalls + tokensIn + tokensOut (3 store counters) ${Math.round(used)} B`,
  );
}

async function measureHeap(subject: string): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  const mem = (): number => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const t = tracker();
  for (let i = 0; i < 100; i++) {
    t.allocate(`warm-${i}`);
    await t.recordUsage(`warm-${i}`, { llmCalls: 1, tokensIn: 5, tokensOut: 5 });
  }
  // The pid strings exist before the baseline: an application already holds its agent ids.
  const before = mem();
  for (const pid of pids) {
    t.allocate(pid);
    if (subject === 'used') await t.recordUsage(pid, { llmCalls: 1, tokensIn: 500, tokensOut: 200 });
  }
  const after = mem();
  if ((t as unknown) === null) console.log('');
  return (after - before) / PIDS;
}

if (process.argv[2] === '--heap') {
  console.log(await measureHeap(process.argv[3] as string));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchTracker();
}
