export {
  compileConfig,
  DEFAULT_RATE_LIMIT_CONFIG,
  type CompiledConfig,
  type LimitType,
  type RateLimitConfig,
  type WindowSpec,
} from './config.js';
export { RateLimiter, type LimiterWindows, type RateLimiterOptions, type RateLimitResult, type WindowUsage } from './rate-limiter.js';
export { SlidingWindow } from './sliding-window.js';
export { WaitQueues, type Attempt } from './wait-queue.js';
