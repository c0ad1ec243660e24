export type {
  BreakerEvent,
  BudgetChangedEvent,
  GovernorEvents,
  ListenerErrorEvent,
  PricingWarningEvent,
  StoreErrorEvent,
  UsageEvent,
  ViolationEvent,
  WarningEvent,
} from './events.js';
export { budgetToLimit, compileLimit, DEFAULT_THRESHOLDS, type BudgetSpec, type CompiledLimit, type LimitSpec } from './limit.js';
export { LimitRegistry, type Plan, type PlanCounter, type PlanWindow } from './registry.js';
export {
  KIND_METER,
  memoMatches,
  prepareRequest,
  prepareScope,
  requestMemo,
  usageUnits,
  type CallKind,
  type GuardRequest,
  type PreparedRequest,
  type RequestMemo,
  type UsageReport,
} from './request.js';
export { Reservation, type ReportOptions, type ReservationOwner, type SettleResult } from './reservation.js';
