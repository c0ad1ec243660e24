export {
  allocateByGreediness,
  allocateByPriority,
  allocateDynamic,
  allocateFixed,
  distributeUnits,
  readjustGreediness,
  rebalance,
  type AllocationResult,
  type GreedinessAllocation,
  type GreedinessShare,
  type GreedinessTotals,
  type PriorityAllocationOptions,
  type RebalanceAgent,
} from './allocation.js';
export { webhookChannel, WebhookDeliveryError, type AlertChannel, type BudgetAlert, type WebhookChannelOptions } from './alerts.js';
export {
  agentBudgetId,
  BudgetCoordinator,
  poolBudgetId,
  type AgentInfo,
  type AgentMetrics,
  type AuditQuery,
  type AuditRecord,
  type BudgetChange,
  type BudgetCoordinatorOptions,
  type BudgetMetrics,
  type BudgetMonitor,
  type BudgetStatus,
  type CanExecuteResult,
  type EmergencyResult,
  type PoolInfo,
  type PoolMetrics,
} from './coordinator.js';
export type {
  BudgetHost,
  HostBudgetChanged,
  HostBudgetInfo,
  HostBudgetSpec,
  HostChange,
  HostEmitEvents,
  HostLimitStatus,
  HostListenEvents,
  HostUsage,
  HostWarning,
} from './host.js';
export type { AgentOptions, BudgetBehaviour, CoordinatorBudgetOptions, OnExhausted, PoolOptions, PoolPolicy } from './options.js';
export type { BudgetReviewEvent, ReviewFinding } from './review.js';
export {
  DEFAULT_SERVICE_LEVELS,
  determineServiceLevel,
  type ServiceLevel,
  type ServiceLevelConfig,
  type ServiceLevels,
} from './service-levels.js';
export { AlertSeverity, ViolationType, type BudgetViolation, type ViolationReport } from './violations.js';
