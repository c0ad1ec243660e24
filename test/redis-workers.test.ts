// Many processes, one budget, one quota and one rate limit in Redis: 4 worker processes x 500
// guarded calls. The caps hold exactly, the ledger has one entry per call, and nothing stays
// reserved. Then a worker is SIGKILLed while it holds a reservation: its lease expires and the
// budget comes back. Lease expiry is driven by a store whose clock is set past the lease.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGovernor, Decimal, type Governor } from 'agent-governor';
import { RedisStore } from 'agent-governor/redis';
import { connectRedis, dropPrefix, freshPrefix } from './redis-helpers.js';
import { redisLimits, type Caps } from './fixtures/redis-limits.js';

const WORKER = fileURLToPath(new URL('./fixtures/redis-worker.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

let client: Redis;
const prefixes: string[] = [];
beforeAll(async () => {
  client = await connectRedis();
});
afterAll(async () => {
  for (const p of prefixes) await dropPrefix(client, p);
  await client?.quit();
});

interface WorkerRun {
  readonly done: Promise<{ admitted: number; codes: Record<string, number> } | 'killed'>;
  readonly holding: Promise<void>;
  kill(): void;
}

function startWorker(args: { prefix: string; caps: Caps; calls: number; worker: number; holdAt?: number }): WorkerRun {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(args)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let onHolding: () => void = () => undefined;
  const holding = new Promise<void>((resolve) => (onHolding = resolve));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('HOLDING\n')) onHolding();
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ admitted: number; codes: Record<string, number> } | 'killed'>((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve('killed');
      else if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop() as string));
      else reject(new Error(`worker ${args.worker} exited with ${code}: ${err}`));
    });
  });
  return { done, holding, kill: () => child.kill('SIGKILL') };
}

function governor(prefix: string, caps: Caps, store?: RedisStore): Governor {
  return createGovernor({ store: store ?? new RedisStore({ client, prefix }), ...redisLimits(caps) });
}

async function status(gov: Governor): Promise<Record<string, { used: string; held: string }>> {
  const out: Record<string, { used: string; held: string }> = {};
  for (const s of await gov.getStatus({ project: 'p', agent: 'any' })) out[s.limit] = { used: s.used.toFixed(), held: s.held.toFixed() };
  return out;
}

async function ledger(gov: Governor): Promise<{ ok: string[]; refused: number; cost: Decimal }> {
  const ok: string[] = [];
  let refused = 0;
  let cost = new Decimal(0);
  let cursor: string | undefined;
  do {
    const page = await gov.queryLedger({ cursor, limit: 500, kinds: ['call'] });
    for (const e of page.entries) {
      if (e.status === 'ok') {
        ok.push(e.id);
        cost = cost.plus(e.cost);
      } else if (e.status === 'refused') refused++;
    }
    cursor = page.next;
  } while (cursor !== undefined);
  return { ok, refused, cost };
}

describe('RedisStore shared by 4 processes', () => {
  const cases: { tight: string; caps: Caps; admitted: number; code: string }[] = [
    { tight: 'the budget', caps: { budget: '7', quota: 900, rate: 1000 }, admitted: 700, code: 'budget_exceeded' },
    { tight: 'the quota', caps: { budget: '100', quota: 600, rate: 1000 }, admitted: 600, code: 'max_llm_calls_exceeded' },
    { tight: 'the rate limit', caps: { budget: '100', quota: 900, rate: 500 }, admitted: 500, code: 'rate_limited' },
  ];
  for (const c of cases) {
    it(`admit exactly what ${c.tight} allows out of 2,000 calls, one ledger entry each, nothing left reserved`, async () => {
      const prefix = freshPrefix('mp');
      prefixes.push(prefix);
      const runs = [0, 1, 2, 3].map((worker) => startWorker({ prefix, caps: c.caps, calls: 500, worker }));
      const results = await Promise.all(runs.map((r) => r.done));
      let admitted = 0;
      let refused = 0;
      for (const r of results) {
        if (r === 'killed') throw new Error('no worker is killed here');
        admitted += r.admitted;
        expect(Object.keys(r.codes)).toEqual(r.admitted === 500 ? [] : [c.code]);
        refused += r.codes[c.code] ?? 0;
      }
      expect([admitted, refused]).toEqual([c.admitted, 2000 - c.admitted]);
      const gov = governor(prefix, c.caps);
      const spent = new Decimal('0.01').times(c.admitted).toFixed();
      expect(await status(gov)).toEqual({
        budget: { used: spent, held: '0' },
        quota: { used: String(c.admitted), held: '0' },
        rate: { used: String(c.admitted), held: '0' },
      });
      const l = await ledger(gov);
      expect([l.ok.length, new Set(l.ok).size, l.refused, l.cost.toFixed()]).toEqual([c.admitted, c.admitted, 2000 - c.admitted, spent]);
      expect(await client.zcard(`{${prefix}}:leases`)).toBe(0);
      expect(await client.hlen(`{${prefix}}:res`)).toBe(0);
    });
  }

  it('a worker SIGKILLed while holding a reservation loses it when its lease ends, and the budget comes back', async () => {
    const prefix = freshPrefix('kill');
    prefixes.push(prefix);
    const caps: Caps = { budget: '5', quota: 5000, rate: 5000 };
    const victim = startWorker({ prefix, caps, calls: 500, worker: 0, holdAt: 100 });
    await victim.holding;
    victim.kill();
    expect(await victim.done).toBe('killed');
    const others = await Promise.all([1, 2, 3].map((worker) => startWorker({ prefix, caps, calls: 500, worker }).done));
    const admitted = others.reduce((n, r) => n + (r === 'killed' ? 0 : r.admitted), 0);
    const gov = governor(prefix, caps);
    const st = await status(gov);
    // The dead worker holds its call #100 and whatever its other three lanes had in flight:
    // the survivors spent the rest of the $5, down to the last cent.
    const held = new Decimal(st.budget!.held);
    expect(held.gte('0.01') && held.lte('0.04')).toBe(true);
    expect(new Decimal(st.budget!.used).plus(held).toFixed()).toBe('5');
    const call = () => gov.guard({ scope: { project: 'p', agent: 'x' }, estimate: { cost: '0.01' } }, () => 'admitted');
    await expect(call()).rejects.toMatchObject({ code: 'budget_exceeded' });
    // The workers' lease is 1 minute of the Redis server's time: read with a clock one lease later.
    const [sec] = (await client.time()) as [number, number];
    const later = new RedisStore({ client, prefix, clock: { now: () => sec * 1000 + 61_000, monotonic: () => 0, sleep: async () => {} } });
    expect((await status(governor(prefix, caps, later))).budget).toEqual({ used: st.budget!.used, held: '0' });
    expect(await client.zcard(`{${prefix}}:leases`)).toBe(0);
    expect(await client.hlen(`{${prefix}}:res`)).toBe(0);
    // Exactly the held amount comes back: that many more calls of $0.01, then the budget refuses again.
    for (let i = 0; i < held.times(100).toNumber(); i++) expect(await call()).toBe('admitted');
    await expect(call()).rejects.toMatchObject({ code: 'budget_exceeded' });
    expect((await status(gov)).budget).toEqual({ used: '5', held: '0' });
    expect(admitted).toBeLessThan(500);
  });
});
