/**
 * `agent-governor/redis`: the Store contract over Redis, so that one budget, quota, rate
 * limit and breaker are shared by many processes. See docs/redis.md.
 * @packageDocumentation
 */
export { RedisStore, type RedisStoreOptions } from './redis-store.js';
export { RedisTimeoutError, type IORedisLike, type NodeRedisLike, type RedisClient } from './connection.js';
