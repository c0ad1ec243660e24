export { ResourceLimitError } from './errors.js';
export type { TrackerEventListener, TrackerEvents, TrackerUsageEvent, TrackerViolationEvent, TrackerWarningEvent } from './events.js';
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
export {
  ResourceTracker,
  type AllocateOptions,
  type AlternativesContext,
  type ComputeSample,
  type HardLimitCheck,
  type RemainingBudget,
  type ResourceEstimate,
  type ResourceTrackerOptions,
  type ResourceUsage,
  type SoftLimitWarning,
  type SystemUsage,
  type TrackerAdmission,
  type TrackerCounter,
  type UsageInput,
} from './resource-tracker.js';
