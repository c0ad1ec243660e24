export type { TrackerAdmission, TrackerCounter } from './admission.js';
export { ResourceLimitError } from './errors.js';
export type { TrackerEventListener, TrackerEvents, TrackerUsageEvent, TrackerViolationEvent, TrackerWarningEvent } from './events.js';
export type { Alternatives, AlternativesContext, HardLimitCheck, ResourceEstimate, SoftLimitWarning } from './limits.js';
export type { AllocateOptions, ResourceTrackerOptions } from './options.js';
export {
  COMPLEXITY_MULTIPLIERS,
  DEFAULT_BASELINE,
  UsagePredictor,
  type OperationFeatures,
  type PredictedResource,
  type PredictionOptions,
  type UsageBaseline,
  type UsagePrediction,
} from './prediction.js';
export { DEFAULT_RESOURCE_QUOTA, type QuotaCap, type ResolvedQuota, type ResourceQuota } from './quota.js';
export { ResourceTracker } from './resource-tracker.js';
export type { ComputeSample, UsageInput } from './usage-input.js';
export type { RemainingBudget, ResourceUsage, SystemUsage } from './usage.js';
