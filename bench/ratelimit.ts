/**
 * RateLimiter against rate-limiter-flexible's RateLimiterMemory, same limit (one sliding
 * minute) and same keys, in one run: a hot key, 100,000 keys round-robin, refused calls,
 * and the memory kept per idle key. Runs inside `npm run bench`, or alone:
 * `npx tsx bench/ratelimit.ts`.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MemoryStore, RateLimiter } from 'agent-governor';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { Bench, type Task } from 'tinybench';
import { batchSample } from './support.js';

const BATCH = 100;
const KEYS = 100_000;
const keys = Array.from({ length: KEYS }, (_, i) => `user-${i}`);

/** Limiter pairs with the same limit: effectively unlimited (admits) and 1 a minute (refuses after one). */
function subjects() {
  const ours = new RateLimiter({ store: new MemoryStore(), defaultConfig: { requestsPerMinute: 1e9 } });
  const rlf = new RateLimiterMemory({ points: 1e9, duration: 60 });
  const oursTight = new RateLimiter({ store: new MemoryStore(), defaultConfig: { requestsPerMinute: 1 } });
  const rlfTight = new RateLimiterMemory({ points: 1, duration: 60 });
  return { ours, rlf, oursTight, rlfTight };
}

export interface RateLimitBenchRow {
  readonly name: string;
  readonly meanNs: number;
  readonly opsPerSec: number;
}

/** Run the throughput part and print it; returns the rows. */
export async function benchRateLimit(): Promise<RateLimitBenchRow[]> {
  const { ours, rlf, oursTight, rlfTight } = subjects();
  await oursTight.checkRateLimit('hot');
  await rlfTight.consume('hot');
  let k = 0;
  let j = 0;
  const bench = new Bench({ time: 1000, warmupTime: 300, throws: true });
  bench
    .add('ours: hot key', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await ours.checkRateLimit('hot');
      return batchSample(t0);
    })
    .add('RLF: hot key', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await rlf.consume('hot');
      return batchSample(t0);
    })
    .add('ours: 100k keys round-robin', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await ours.checkRateLimit(keys[k++ % KEYS] as string);
      return batchSample(t0);
    })
    .add('RLF: 100k keys round-robin', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await rlf.consume(keys[j++ % KEYS] as string);
      return batchSample(t0);
    })
    .add('ours: refused', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) {
        // Refusals are data: no promise rejection, no throw.
        if (!(await oursTight.checkRateLimit('hot')).exceeded) throw new Error('expected a refusal');
      }
      return batchSample(t0);
    })
    .add('RLF: refused', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) {
        try {
          await rlfTight.consume('hot');
          throw new Error('expected a refusal');
        } catch (e) {
          if (e instanceof Error) throw e; // RLF rejects with a RateLimiterRes, not an Error
        }
      }
      return batchSample(t0);
    });
  await bench.run();
  const rows = bench.tasks.map((t: Task) => {
    const r = t.result;
    if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state}`);
    const meanNs = r.latency.mean * 1e6;
    return { name: t.name, meanNs, opsPerSec: 1e9 / meanNs };
  });
  const by = (n: string): RateLimitBenchRow => rows.find((r) => r.name === n) as RateLimitBenchRow;
  console.log('\nRateLimiter vs rate-limiter-flexible RateLimiterMemory (same 1-minute limit, same keys)');
  for (const pair of ['hot key', '100k keys round-robin', 'refused']) {
    const o = by(`ours: ${pair}`);
    const r = by(`RLF: ${pair}`);
    const ratio = o.opsPerSec / r.opsPerSec;
    console.log(
      `  ${pair.padEnd(22)} ours ${Math.round(o.opsPerSec).toLocaleString('en-US').padStart(10)} ops/s (${o.meanNs.toFixed(0)} ns)` +
        `   RLF ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(10)} ops/s (${r.meanNs.toFixed(0)} ns)` +
        `   = ${ratio.toFixed(2)}x RLF (target >= 2x: ${ratio >= 2 ? 'met' : 'MISSED'})`,
    );
  }
  return rows;
}

/** Bytes kept per idle key (hit once, still inside its window), in a fresh process with --expose-gc. */
export function heapRateLimit(): void {
  const script = fileURLToPath(import.meta.url);
  const root = fileURLToPath(new URL('..', import.meta.url));
  const run = (subject: string): number =>
    Number(
      execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', script, '--heap', subject], { cwd: root, encoding: 'utf8' })
        .trim()
        .split('\n')
        .at(-1),
    );
  const ours = run('ours');
  const rlf = run('rlf');
  console.log(
    `  bytes per idle key (${KEYS.toLocaleString('en-US')} keys, hit once, inside their window): ours ${Math.round(ours)} B, RLF ${Math.round(rlf)} B` +
      ` (${ours < rlf ? 'fewer: met' : 'MISSED'})`,
  );
}

async function measureHeap(subject: string): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  const used = (): number => {
    gc();
    gc();
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const { ours, rlf } = subjects();
  // Warm both code paths so compiled code is not counted as per-key memory.
  for (let i = 0; i < 100; i++) subject === 'ours' ? await ours.checkRateLimit(`warm-${i}`) : await rlf.consume(`warm-${i}`);
  const before = used();
  for (const key of keys) subject === 'ours' ? await ours.checkRateLimit(key) : await rlf.consume(key);
  const after = used();
  // Keep the subjects alive until after the measurement.
  if ((ours as unknown) === null || (rlf as unknown) === null) console.log('');
  return (after - before) / KEYS;
}

if (process.argv[2] === '--heap') {
  console.log(await measureHeap(process.argv[3] as string));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await benchRateLimit();
  heapRateLimit();
}
