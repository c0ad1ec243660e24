/**
 * Floors: what the primitives every rate-limit check must use cost on this machine, in the
 * same run as rate-limiter-flexible's `consume`, so a target ratio can be checked against
 * what is physically possible. A check that is awaited and sliding in time must at least
 * await, read the clock once and find its key; over many users the key is built per call
 * (`prefix + user`) and hashed afresh. Runs inside `npm run bench`, or alone:
 * `npx tsx bench/floors.ts`.
 */
import { fileURLToPath } from 'node:url';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { Bench, type Task } from 'tinybench';
import { batchSample } from './support.js';

const BATCH = 100;
const KEYS = 100_000;
const users = Array.from({ length: KEYS }, (_, i) => `user-${i}`);

export interface Floors {
  readonly awaitNs: number;
  readonly clockNs: number;
  readonly hotLookupNs: number;
  readonly freshLookupNs: number;
  readonly rlfHotNs: number;
  readonly rlfManyNs: number;
}

/** Measure the floors and print each target against the least a check can cost. */
export async function benchFloors(): Promise<Floors> {
  const hot = new Map<string, number>([['rl|hot|default|m', 1]]);
  const many = new Map<string, number>(users.map((u) => [`rl|${u}|default|m`, 1]));
  const rlf = new RateLimiterMemory({ points: 1e9, duration: 60 });
  let sink = 0;
  let k = 0;
  let j = 0;
  const value = (): number => sink;
  const bench = new Bench({ time: 500, warmupTime: 200, throws: true });
  bench
    .add('await of a value', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) sink += await value();
      return batchSample(t0);
    })
    .add('Date.now()', () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) sink += Date.now();
      return batchSample(t0);
    })
    .add('Map.get, hot key', () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) sink += hot.get('rl|hot|default|m') as number;
      return batchSample(t0);
    })
    .add('Map.get, key built per call, 100k keys', () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) sink += many.get(`rl|${users[k++ % KEYS] as string}|default|m`) as number;
      return batchSample(t0);
    })
    .add('RLF consume, hot key', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await rlf.consume('hot');
      return batchSample(t0);
    })
    .add('RLF consume, 100k keys', async () => {
      const t0 = performance.now();
      for (let i = 0; i < BATCH; i++) await rlf.consume(users[j++ % KEYS] as string);
      return batchSample(t0);
    });
  await bench.run();
  if (sink === -1) console.log(sink); // keep the loops' results alive
  const mean = (name: string): number => {
    const t = bench.tasks.find((x: Task) => x.name === name) as Task;
    if (t.result.state !== 'completed') throw new Error(`${name}: ${t.result.state}`);
    return t.result.latency.mean * 1e6;
  };
  const f: Floors = {
    awaitNs: mean('await of a value'),
    clockNs: mean('Date.now()'),
    hotLookupNs: mean('Map.get, hot key'),
    freshLookupNs: mean('Map.get, key built per call, 100k keys'),
    rlfHotNs: mean('RLF consume, hot key'),
    rlfManyNs: mean('RLF consume, 100k keys'),
  };
  const hotFloor = f.awaitNs + f.clockNs + f.hotLookupNs;
  const manyFloor = f.awaitNs + f.clockNs + f.freshLookupNs;
  console.log('\nFloors: the least an awaited sliding-window check can cost (one await + one clock read + one key lookup)');
  for (const [name, v] of Object.entries({
    'await of a value': f.awaitNs,
    'Date.now()': f.clockNs,
    'Map.get, hot key': f.hotLookupNs,
    'Map.get, key built per call, 100k keys': f.freshLookupNs,
  })) {
    console.log(`  ${name.padEnd(40)} ${v.toFixed(1).padStart(7)} ns`);
  }
  const line = (label: string, floor: number, rlfNs: number): void =>
    console.log(
      `  ${label.padEnd(10)} floor ${floor.toFixed(0).padStart(4)} ns; RLF ${rlfNs.toFixed(0).padStart(4)} ns; ` +
        `a 2x-RLF target needs <= ${(rlfNs / 2).toFixed(0)} ns: ${floor <= rlfNs / 2 ? 'possible' : 'below the floor'}`,
    );
  line('hot key', hotFloor, f.rlfHotNs);
  line('100k keys', manyFloor, f.rlfManyNs);
  return f;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchFloors();
