// A Redis restart loses no charge the server acknowledged, with the settings docs/redis.md gives:
// appendonly yes + appendfsync always. A private redis-server (its own port and directory) is
// SIGKILLed right after the commits and started again on the same files.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisStore } from 'agent-governor/redis';

const dir = mkdtempSync(join(tmpdir(), 'ag-redis-aof-'));
const port = 20_000 + (process.pid % 20_000);
let server: ChildProcess | undefined;

async function start(): Promise<Redis> {
  server = spawn('redis-server', ['--port', String(port), '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', ''], {
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    const c = new Redis({ port, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    c.on('error', () => undefined);
    try {
      await c.connect();
      await c.ping();
      return c;
    } catch {
      c.disconnect();
      await new Promise((r) => setTimeout(r, 50)); // waiting for a child process to listen, not timing anything
    }
  }
  throw new Error(`redis-server did not start on port ${port}`);
}

async function kill(): Promise<void> {
  const s = server!;
  const exited = new Promise((r) => s.once('exit', r));
  s.kill('SIGKILL');
  await exited;
}

afterAll(async () => {
  if (server !== undefined && server.exitCode === null) await kill();
  rmSync(dir, { recursive: true, force: true });
});

describe('RedisStore durability', () => {
  it('keeps every acknowledged commit and ledger entry across a SIGKILL of redis-server (appendfsync always)', async () => {
    let client = await start();
    let store = new RedisStore({ client, prefix: 'dur' });
    for (let i = 0; i < 50; i++) {
      await store.reserve({ id: `r${i}`, counters: [{ key: 'budget', amount: 10n, cap: 1000n }], leaseMs: 60_000 });
      await store.commit({
        id: `r${i}`,
        counters: [{ key: 'budget', amount: 7n }],
        ledger: { id: `r${i}`, at: i, kind: 'call', status: 'ok', scope: {}, usage: {}, cost: '7', currency: 'USD' },
      });
    }
    client.disconnect();
    await kill();
    client = await start();
    store = new RedisStore({ client, prefix: 'dur' });
    expect(await store.read(['budget'])).toEqual([{ used: 350n, held: 0n }]);
    expect((await store.queryLedger({})).entries.length).toBe(50);
    client.disconnect();
  });
});
