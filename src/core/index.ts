export { systemClock, ManualClock, type Clock } from './clock.js';
export { parseDuration, type Duration } from './duration.js';
export {
  BudgetExceededError,
  CircuitOpenError,
  GovernorError,
  InvalidInputError,
  isGovernorError,
  LimitExceededError,
  RateLimitedError,
  StoreUnavailableError,
  type BudgetAlternative,
  type GovernorErrorCode,
  type RefusalDetails,
} from './errors.js';
export { TypedEvents } from './events.js';
export { BUILTIN_METERS, MeterRegistry, type BuiltinMeter, type MeterDefinition, type MeterValues } from './meters.js';
export {
  ceilDiv,
  formatUnits,
  MAX_UNITS,
  MIN_UNITS,
  MONEY_SCALE,
  parseScaled,
  pow10,
  quietBelow,
  toUnits,
  unitsToDecimal,
  type MoneyInput,
} from './money.js';
export { periodAt, PeriodTracker, validateTimeZone, type CalendarPeriod, type PeriodInstance } from './period.js';
export {
  instantiatePattern,
  parseScopeKey,
  SCOPE_LEVELS,
  scopeKey,
  scopeMatches,
  scopeWithin,
  validateId,
  validateScope,
  WILDCARD,
  type Scope,
  type ScopeLevel,
  type ScopePattern,
} from './scope.js';
export { clockSchema, isPromiseLike, moneyInput, objectWith, parseInput } from './validate.js';
