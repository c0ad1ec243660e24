/**
 * The Redis benchmark: `npm run bench:redis` (needs Redis at 127.0.0.1:6379).
 *
 * 1. Throughput and latency of one guarded call (budget + quota + rate limit: one reserve
 *    and one commit script, two round trips) against rate-limiter-flexible's
 *    `RateLimiterRedis.consume` (one limit, one round trip) on the same server, in the same
 *    run, with 1 and 50 concurrent callers. Each subject has its own ioredis client. Also the
 *    Redis server's CPU per call (INFO cpu; other clients of the server count too).
 * 2. Memory in Redis per idle scope (MEMORY USAGE of its keys) and per ledger entry.
 *
 * Runs against the built package (dist/), like bench/index.ts. Takes ~30 s.
 */
import { Redis } from 'ioredis';
import { createGovernor, type Governor } from 'agent-governor';
import { RedisStore } from 'agent-governor/redis';
import { RateLimiterRedis } from 'rate-limiter-flexible';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const ROUNDS = 2;
const PREFIX = `agbench-${process.pid}`;

const admin = new Redis('redis://127.0.0.1:6379');

async function drop(pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await admin.del(...keys);
  } while (cursor !== '0');
}

interface Result {
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** Redis server CPU (user + sys) per call, µs: the whole server's, so other clients on it count too. */
  readonly redisUs: number;
}

async function redisCpu(): Promise<number> {
  const info = await admin.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]);
}

/** `concurrency` callers, each calling `op` back to back for SECONDS; latency of every call. */
async function measure(op: () => Promise<unknown>, concurrency: number): Promise<Result> {
  const lat: number[] = [];
  const cpu0 = await redisCpu();
  const end = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const s = performance.now();
        await op();
        lat.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const redisUs = (((await redisCpu()) - cpu0) * 1e6) / lat.length;
  lat.sort((a, b) => a - b);
  const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))]!;
  return { perSecond: lat.length / elapsed, p50: q(0.5), p99: q(0.99), redisUs };
}

function governorOn(client: Redis, settle: 'await' | 'background'): Governor {
  return createGovernor({
    store: new RedisStore({ client, prefix: PREFIX }),
    ledger: 'none',
    settle,
    budgets: [{ scope: { project: 'p' }, amount: '9000000' }],
    limits: [
      { scope: { agent: '*' }, meter: 'llmCalls', max: 1e15 },
      { scope: { agent: '*' }, meter: 'requests', max: 1e12, window: '1m' },
    ],
  });
}

function subjects(): { ops: [string, () => Promise<unknown>][]; governors: Governor[]; clients: Redis[] } {
  const rc = new Redis('redis://127.0.0.1:6379');
  const gc = new Redis('redis://127.0.0.1:6379');
  const bc = new Redis('redis://127.0.0.1:6379');
  const limiter = new RateLimiterRedis({ storeClient: rc, keyPrefix: `${PREFIX}-rlf`, points: 1e9, duration: 60 });
  const awaited = governorOn(gc, 'await');
  const background = governorOn(bc, 'background');
  const scope = Object.freeze({ project: 'p', agent: 'a1' });
  const request = { scope, kind: 'llm' as const, estimate: { cost: '0.001' } };
  const fn = async (): Promise<number> => 1;
  return {
    ops: [
      ['rlf', () => limiter.consume('user-1')],
      ['gov', () => awaited.guard(request, fn)],
      ['bg', () => background.guard(request, fn)],
    ],
    governors: [awaited, background],
    clients: [rc, gc, bc],
  };
}

const fmt = (r: Result): string =>
  `${Math.round(r.perSecond).toLocaleString('en-US').padStart(8)}/s  p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  Redis CPU ${r.redisUs.toFixed(1)} µs/call`;

console.log(
  `agent-governor Redis benchmark — Node ${process.version}, Redis ${(await admin.info('server')).match(/redis_version:(\S+)/)?.[1]}`,
);
console.log(`${SECONDS} s per task, ${ROUNDS} rounds alternating subjects; the better round of each is kept\n`);

const s = subjects();
for (const [, op] of s.ops) for (let i = 0; i < 200; i++) await op(); // warm up scripts and JIT
const best: Record<string, Result> = {};
for (let round = 0; round < ROUNDS; round++) {
  for (const concurrency of [1, 50]) {
    for (const [name, op] of s.ops) {
      const r = await measure(op, concurrency);
      const key = `${name}-${concurrency}`;
      if (best[key] === undefined || r.perSecond > best[key].perSecond) best[key] = r;
    }
  }
}
for (const c of [1, 50]) {
  const rlf = best[`rlf-${c}`]!;
  const gov = best[`gov-${c}`]!;
  const bg = best[`bg-${c}`]!;
  console.log(`${c} concurrent caller${c === 1 ? ' ' : 's'}`);
  console.log(`  RateLimiterRedis.consume (1 limit)               ${fmt(rlf)}`);
  console.log(`  guarded call (budget + quota + rate limit)       ${fmt(gov)}`);
  console.log(`  the same, settle: 'background'                   ${fmt(bg)}`);
  console.log(
    `  throughput ratio governed / RLF = ${(gov.perSecond / rlf.perSecond).toFixed(2)}x, background settle ${(bg.perSecond / rlf.perSecond).toFixed(2)}x\n`,
  );
}
for (const g of s.governors) await g.close();
for (const c of s.clients) await c.quit();
await drop(`{${PREFIX}}:*`);
await drop(`${PREFIX}-rlf*`);

// ---- memory per scope ------------------------------------------------------------------

const SCOPES = 1000;
const mc = new Redis('redis://127.0.0.1:6379');
const mem = createGovernor({
  store: new RedisStore({ client: mc, prefix: `${PREFIX}-m`, ledgerMaxLen: 1_000_000 }),
  budgets: [{ scope: { agent: '*' }, amount: '10', period: 'month' }],
  limits: [
    { scope: { agent: '*' }, meter: 'llmCalls', max: 1000 },
    { scope: { agent: '*' }, meter: 'requests', max: 60, window: '1m' },
  ],
});
for (let i = 0; i < SCOPES; i++) {
  await mem.guard({ scope: { project: 'p', agent: `agent-${i}` }, kind: 'llm', estimate: { cost: '0.001' } }, async () => 1);
}
const byType: Record<string, number> = {};
let cursor = '0';
let ledgerBytes = 0;
do {
  const [next, keys] = await admin.scan(cursor, 'MATCH', `{${PREFIX}-m}:*`, 'COUNT', 1000);
  cursor = next;
  for (const k of keys) {
    const bytes = (await admin.call('MEMORY', 'USAGE', k, 'SAMPLES', '0')) as number;
    if (k.endsWith(':ledger')) ledgerBytes = bytes;
    else {
      const kind = /\}:(\w)/.exec(k)?.[1] === 'w' ? 'window' : k.includes('|cost|') ? 'budget counter' : 'quota counter';
      byType[kind] = (byType[kind] ?? 0) + bytes;
    }
  }
} while (cursor !== '0');
const entries = await admin.xlen(`{${PREFIX}-m}:ledger`);
console.log(`Redis memory per idle scope (${SCOPES} agents, each with a monthly budget, a call quota and a 1-minute rate window):`);
let total = 0;
for (const [k, v] of Object.entries(byType)) {
  console.log(`  ${k.padEnd(16)} ${Math.round(v / SCOPES)} bytes`);
  total += v;
}
console.log(`  ${'total'.padEnd(16)} ${Math.round(total / SCOPES)} bytes per scope`);
console.log(`  ledger           ${Math.round(ledgerBytes / entries)} bytes per entry (${entries} entries)`);
await mem.close();
await mc.quit();
await drop(`{${PREFIX}-m}:*`);
await admin.quit();
