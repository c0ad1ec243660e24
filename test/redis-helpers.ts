// Shared by the Redis tests: a client on 127.0.0.1:6379 that fails loudly (never skips) when
// Redis is not there, a fresh prefix per test, and a check that a test left no keys behind.
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';

export const REDIS_URL = 'redis://127.0.0.1:6379';

/** A connected ioredis client; throws a clear error naming 127.0.0.1:6379 when Redis is unreachable. */
export async function connectRedis(): Promise<Redis> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    client.disconnect();
    throw new Error(
      `These tests need Redis at 127.0.0.1:6379 and could not reach it (${(e as Error).message}). Start it (redis-server --daemonize yes) and run again.`,
    );
  }
  return client;
}

/** A prefix no other test (or process) uses. */
export function freshPrefix(name = 't'): string {
  return `agt-${name}-${randomUUID().slice(0, 8)}`;
}

/** Delete every key of a prefix; returns how many there were. */
export async function dropPrefix(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `{${prefix}}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) n += await client.del(...keys);
  } while (cursor !== '0');
  return n;
}
