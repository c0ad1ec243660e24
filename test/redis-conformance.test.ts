// The exported conformance suite against RedisStore on the real server: a fresh prefix per test,
// every key removed afterwards.
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Redis } from 'ioredis';
import { storeConformance } from 'agent-governor/testing';
import { RedisStore } from 'agent-governor/redis';
import { connectRedis, dropPrefix, freshPrefix } from './redis-helpers.js';

let client: Redis;
const prefixes = new Map<RedisStore, string>();

beforeAll(async () => {
  client = await connectRedis();
});
afterAll(async () => {
  await client?.quit();
});

storeConformance(
  { describe, it },
  {
    name: 'RedisStore (ioredis, injected clock)',
    create: ({ clock }) => {
      const prefix = freshPrefix('conf');
      const store = new RedisStore({ client, prefix, clock });
      prefixes.set(store, prefix);
      return store;
    },
    destroy: async (store) => {
      store.close();
      await dropPrefix(client, prefixes.get(store as RedisStore)!);
    },
  },
);
