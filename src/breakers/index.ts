export { linkedController } from './timeout.js';
export { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.js';
export { BreakerIsolatedError, BreakerTimeoutError } from './errors.js';
export type { BreakerEvent, BreakerEventListener, BreakerEventName, BreakerReason, BreakerStateName, FailureKind } from './events.js';
export { BREAKER_DEFAULTS, defaultIsFailure, type BackoffOptions, type BreakerOptions, type RatePolicyOptions } from './options.js';
export type { OverrunInput } from './overrun.js';
export { BreakerPermit } from './permit.js';
export { breakerKey, BreakerRegistry, type BreakerKey, type BreakerRegistryOptions } from './registry.js';
export type { BreakerState } from './state.js';
