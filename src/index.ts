/**
 * agent-governor: keep AI agents inside their means. Budgets, quotas, rate limits and
 * exact pricing for every LLM and tool call, enforced in-process before the call is made.
 * @packageDocumentation
 */
export { createGovernor, Governor } from './governor.js';
export type { AdmissionCheck, ChangeOptions, GovernorOptions, GuardContext, LimitInfo, LimitStatus } from './governor.js';
export {
  BudgetExceededError,
  CircuitOpenError,
  GovernorError,
  InvalidInputError,
  isGovernorError,
  LimitExceededError,
  RateLimitedError,
  StoreUnavailableError,
  systemClock,
  BUILTIN_METERS,
  MAX_UNITS,
  MONEY_SCALE,
  SCOPE_LEVELS,
  scopeKey,
  parseScopeKey,
  type BuiltinMeter,
  type CalendarPeriod,
  type Clock,
  type Duration,
  type GovernorErrorCode,
  type MoneyInput,
  type RefusalDetails,
  type Scope,
  type ScopeLevel,
  type ScopePattern,
} from './core/index.js';
export {
  Reservation,
  DEFAULT_THRESHOLDS,
  type BreakerEvent,
  type BudgetChangedEvent,
  type BudgetSpec,
  type CallKind,
  type GovernorEvents,
  type GuardRequest,
  type LimitSpec,
  type ListenerErrorEvent,
  type SettleResult,
  type StoreErrorEvent,
  type UsageEvent,
  type UsageReport,
  type ViolationEvent,
  type WarningEvent,
} from './engine/index.js';
export { MemoryStore, BucketWindow, LogWindow, type MemoryStoreOptions, type WindowCounter, type WindowMode } from './storage/index.js';
export {
  DEFAULT_RATE_LIMIT_CONFIG,
  RateLimiter,
  SlidingWindow,
  type LimitType,
  type RateLimitConfig,
  type RateLimiterOptions,
  type RateLimitResult,
  type WindowUsage,
} from './ratelimit/index.js';
export type {
  Awaitable,
  CommitRequest,
  CommitResult,
  CounterItem,
  CounterState,
  LedgerEntry,
  LedgerPage,
  LedgerQuery,
  LedgerStatus,
  ReserveFailure,
  ReserveRequest,
  ReserveResult,
  Store,
  VersionedValue,
  WindowAdjustment,
  WindowItem,
  WindowRead,
  WindowState,
} from './storage/index.js';
export { PriceTable, type ModelPrice, type TokenUsage } from './costs/index.js';
export {
  BREAKER_DEFAULTS,
  BreakerIsolatedError,
  BreakerPermit,
  BreakerRegistry,
  BreakerTimeoutError,
  breakerKey,
  CircuitBreaker,
  defaultIsFailure,
  type BackoffOptions,
  type BreakerEventListener,
  type BreakerEventName,
  type BreakerKey,
  type BreakerOptions,
  type BreakerReason,
  type BreakerRegistryOptions,
  type BreakerState,
  type BreakerStateName,
  type CircuitBreakerOptions,
  type FailureKind,
  type OverrunInput,
  type RatePolicyOptions,
} from './breakers/index.js';
export { Decimal } from 'decimal.js';

// Usage reports whose figures are estimates (integrations settle cut streams with them).
export type { ReportOptions } from './engine/index.js';
