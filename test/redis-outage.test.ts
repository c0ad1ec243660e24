// Redis out of reach: fail closed (the default) refuses with store_unavailable; fail open admits
// against local counters that start from what this process last saw, emits store.error once, and
// replays everything it counted when Redis answers again. Two fail-open processes show the bound.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGovernor, FailOpenStore, MemoryStore, StoreUnavailableError, type Governor } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { RedisStore } from 'agent-governor/redis';
import { connectRedis, dropPrefix, freshPrefix } from './redis-helpers.js';

let admin: Redis;
const prefixes: string[] = [];
const clients: Redis[] = [];
beforeAll(async () => {
  admin = await connectRedis();
});
afterAll(async () => {
  for (const p of prefixes) await dropPrefix(admin, p);
  for (const c of clients) c.disconnect();
  await admin?.quit();
});

/** A client that fails fast while disconnected, as docs/redis.md recommends. */
async function ownClient(port = 6379): Promise<Redis> {
  const c = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  c.on('error', () => undefined);
  clients.push(c);
  if (port === 6379) await c.connect();
  return c;
}

function gov(client: Redis, prefix: string, clock: ManualClock, mode?: 'failOpen' | 'failClosed'): { gov: Governor; errors: string[] } {
  const g = createGovernor({
    clock,
    store: new RedisStore({ client, prefix }),
    onStoreUnavailable: mode,
    budgets: [{ id: 'budget', scope: { project: 'p' }, amount: '1' }],
  });
  const errors: string[] = [];
  g.on('store.error', (e) => errors.push(e.operation));
  return { gov: g, errors };
}

/** Cut a client off Redis and wait until it knows. */
async function cut(c: Redis): Promise<void> {
  const ended = new Promise((resolve) => c.once('end', resolve));
  c.disconnect();
  await ended;
}

const call = (g: Governor) => g.guard({ scope: { project: 'p' }, estimate: { cost: '0.1' } }, () => 'ran');
const settled = (ps: Promise<unknown>[]) =>
  Promise.allSettled(ps).then((rs) => rs.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as { code: string }).code)));
async function budgetUsed(prefix: string): Promise<string> {
  const [s] = await createGovernor({
    store: new RedisStore({ client: admin, prefix }),
    budgets: [{ id: 'budget', scope: { project: 'p' }, amount: '1' }],
  }).getStatus({
    project: 'p',
  });
  return `${s!.used.toFixed()}/${s!.held.toFixed()}`;
}

describe('Redis outage', () => {
  it('fail closed (default): a dead port refuses every call with store_unavailable and emits store.error', async () => {
    const prefix = freshPrefix('dead');
    const { gov: g, errors } = gov(await ownClient(1), prefix, new ManualClock());
    let ran = false;
    const err = await g.guard({ scope: { project: 'p' }, estimate: { cost: '0.1' } }, () => (ran = true)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect([ran, (err as StoreUnavailableError).code, (err as StoreUnavailableError).operation]).toEqual([
      false,
      'store_unavailable',
      'reserve',
    ]);
    expect(errors).toContain('reserve');
  });

  it('fail closed: a disconnected client refuses, and calls are admitted again once it reconnects', async () => {
    const prefix = freshPrefix('closed');
    prefixes.push(prefix);
    const client = await ownClient();
    const { gov: g } = gov(client, prefix, new ManualClock());
    expect(await call(g)).toBe('ran');
    await cut(client);
    await expect(call(g)).rejects.toMatchObject({ code: 'store_unavailable' });
    await client.connect();
    expect(await call(g)).toBe('ran');
    expect(await budgetUsed(prefix)).toBe('0.2/0');
  });

  it('fail open: admits against the last used it saw, emits store.error once, and reconciles when Redis is back', async () => {
    const prefix = freshPrefix('open');
    prefixes.push(prefix);
    const client = await ownClient();
    const clock = new ManualClock();
    const { gov: g, errors } = gov(client, prefix, clock, 'failOpen');
    expect(await settled([call(g), call(g), call(g)])).toEqual(['ran', 'ran', 'ran']);
    await cut(client);
    // $0.30 of $1 was spent before the outage: locally, 7 more calls fit and the 8th is refused.
    const during: unknown[] = [];
    for (let i = 0; i < 8; i++) during.push(...(await settled([call(g)])));
    expect(during).toEqual([...Array(7).fill('ran'), 'budget_exceeded']);
    expect(errors).toEqual(['reserve']);
    const store = g.store as FailOpenStore;
    expect([store.degraded, store.pending]).toEqual([true, 8]);
    expect(await budgetUsed(prefix)).toBe('0.3/0');
    // Redis comes back; a retry is due every second of the governor's clock.
    await client.connect();
    clock.advance(1000);
    await store.reconcile();
    expect([store.degraded, store.pending]).toEqual([false, 0]);
    expect(await budgetUsed(prefix)).toBe('1/0');
    await expect(call(g)).rejects.toMatchObject({ code: 'budget_exceeded' });
    const { entries } = await g.queryLedger({ kinds: ['call'] });
    expect(entries.map((e) => e.status)).toEqual([...Array(10).fill('ok'), 'refused', 'refused']);
  });

  it('fail open: a failed reconciliation is reported and retried later; the journal waits', async () => {
    const prefix = freshPrefix('retry');
    prefixes.push(prefix);
    const client = await ownClient();
    const clock = new ManualClock();
    const { gov: g, errors } = gov(client, prefix, clock, 'failOpen');
    expect(await call(g)).toBe('ran');
    await cut(client);
    expect(await call(g)).toBe('ran');
    const store = g.store as FailOpenStore;
    await expect(store.reconcile()).rejects.toThrow();
    expect(errors).toEqual(['reserve', 'reconcile']);
    await client.connect();
    // Not due yet: the next call is still answered locally, and it starts no retry.
    expect(await call(g)).toBe('ran');
    expect(store.degraded).toBe(true);
    clock.advance(1000);
    expect(await call(g)).toBe('ran'); // answered locally; starts the replay in the background
    await store.reconcile();
    expect(await budgetUsed(prefix)).toBe('0.4/0');
  });

  it('fail open: two processes spend at most what each last saw remaining (the documented bound)', async () => {
    const prefix = freshPrefix('bound');
    prefixes.push(prefix);
    const [ca, cb] = [await ownClient(), await ownClient()];
    const clock = new ManualClock();
    const a = gov(ca, prefix, clock, 'failOpen').gov;
    const b = gov(cb, prefix, clock, 'failOpen').gov;
    for (let i = 0; i < 4; i++) await call(a); // a last saw 0.4 spent
    await call(b); // b last saw 0.5
    await cut(ca);
    await cut(cb);
    const ra = await settled(Array.from({ length: 7 }, () => call(a)));
    const rb = await settled(Array.from({ length: 7 }, () => call(b)));
    expect([ra.filter((x) => x === 'ran').length, rb.filter((x) => x === 'ran').length]).toEqual([6, 5]);
    await Promise.all([ca.connect(), cb.connect()]);
    clock.advance(1000);
    await Promise.all([(a.store as FailOpenStore).reconcile(), (b.store as FailOpenStore).reconcile()]);
    // 0.5 spent at the outage + (1 - 0.4) by a + (1 - 0.5) by b = 1.6 of a $1 budget.
    expect(await budgetUsed(prefix)).toBe('1.6/0');
  });

  it('FailOpenStore refuses options it cannot use, naming the field', () => {
    const clock = new ManualClock();
    const inner = new MemoryStore({ clock });
    const onError = (): void => {};
    expect(() => new FailOpenStore(inner, { clock, onError, retryMs: Number.NaN })).toThrow(
      expect.objectContaining({ code: 'invalid_input', field: 'retryMs' }),
    );
    expect(() => new FailOpenStore(inner, { clock, onError, retryMs: -1 })).toThrow(
      expect.objectContaining({ field: 'retryMs', value: -1 }),
    );
    expect(() => new FailOpenStore(inner, { clock, onError, retry: 5 } as never)).toThrow(
      expect.objectContaining({ field: 'options.retry', value: 5 }),
    );
    expect(() => new FailOpenStore(inner, { clock } as never)).toThrow(expect.objectContaining({ field: 'options.onError' }));
    expect(() => new FailOpenStore(5 as never, { clock, onError })).toThrow(expect.objectContaining({ field: 'inner', value: 5 }));
  });
});
