/**
 * Three worker processes, one budget: each has its own Redis connection and its own governor,
 * and all of them share a $1.00 budget, a 30-call quota and a rate limit through RedisStore.
 * However the calls interleave, exactly 20 calls of $0.05 are admitted in total.
 *
 *   redis-server must run on 127.0.0.1:6379, then: npx tsx examples/redis-workers.ts
 */
import { randomUUID } from 'node:crypto';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createGovernor, isGovernorError } from 'agent-governor';
import { RedisStore } from 'agent-governor/redis';

function limits(prefix: string, client: Redis) {
  return createGovernor({
    // One prefix = one set of shared limits. The store uses the Redis server's clock.
    store: new RedisStore({ client, prefix }),
    budgets: [{ id: 'team-budget', scope: { project: 'demo' }, amount: '1.00' }],
    limits: [
      { id: 'llm-calls', scope: { project: 'demo' }, meter: 'llmCalls', max: 30 },
      { id: 'per-minute', scope: { project: 'demo' }, meter: 'requests', max: 100, window: '1m' },
    ],
  });
}

const role = process.argv[2];

if (role === undefined) {
  const prefix = `example-${randomUUID().slice(0, 8)}`;
  const results = await Promise.all(
    [1, 2, 3].map(
      (n) =>
        new Promise<{ worker: number; admitted: number; refused: number }>((resolve, reject) => {
          // This same file, as a worker process (through tsx, as the example runs).
          const w = fork(fileURLToPath(import.meta.url), [JSON.stringify({ prefix, worker: n })], { execArgv: ['--import', 'tsx'] });
          w.once('message', (m) => resolve(m as { worker: number; admitted: number; refused: number }));
          w.once('error', reject);
        }),
    ),
  );
  for (const r of results) console.log(`worker ${r.worker}: ${r.admitted} admitted, ${r.refused} refused`);
  const client = new Redis('redis://127.0.0.1:6379');
  const gov = limits(prefix, client);
  for (const s of await gov.getStatus({ project: 'demo' })) console.log(`${s.limit.padEnd(12)} used ${s.used} of ${s.max}`);
  const { entries } = await gov.queryLedger({ kinds: ['call'], statuses: ['ok'] });
  console.log(`ledger: ${entries.length} charged calls`);
  // Clean up the example's keys (they would expire on their own; lifetime quotas would not).
  const keys = await client.keys(`{${prefix}}:*`);
  if (keys.length > 0) await client.del(...keys);
  await gov.close();
  await client.quit();
} else {
  const { prefix, worker } = JSON.parse(role) as { prefix: string; worker: number };
  const client = new Redis('redis://127.0.0.1:6379');
  const gov = limits(prefix, client);
  let admitted = 0;
  let refused = 0;
  for (let i = 0; i < 15; i++) {
    try {
      await gov.guard({ scope: { project: 'demo', agent: `worker-${worker}` }, kind: 'llm', estimate: { cost: '0.05' } }, async () => {
        admitted++;
      });
    } catch (e) {
      if (!isGovernorError(e)) throw e;
      refused++;
    }
  }
  await gov.close(); // sends what the store still has queued, then the client can go
  await client.quit();
  process.send?.({ worker, admitted, refused }, () => process.disconnect());
}
