export { Analytics, type Outcome, type ReportContext } from './analytics.js';
export { resolveWindow, type AnalyticsBudget, type AnalyticsOptions, type PeriodInput, type ReportQuery, type Window } from './options.js';
export { DEFAULT_RESOURCE_RATES, type AnalyticsPricing, type AnalyticsTokenUsage } from './pricing.js';
export type { ApiCallQuery, ApiCallReport, ApiCallRow, ModelTokens, TokenDay, TokenQuery, TokenReport } from './reports-calls.js';
export type {
  AllocationRow,
  CostAllocationReport,
  CostForecast,
  CostReport,
  CostStats,
  DailyCost,
  ExecutionCostReport,
  ModelCost,
  ResourceCostShare,
} from './reports-costs.js';
export {
  EFFICIENCY_WEIGHTS,
  type EfficiencyComponent,
  type EfficiencyQuery,
  type EfficiencyReport,
  type EfficiencyRow,
} from './reports-efficiency.js';
export {
  type BudgetForecast,
  type ForecastMeter,
  type ForecastPoint,
  type ForecastQuery,
  type ForecastReport,
  type MeterForecast,
  type ThresholdCrossing,
} from './reports-forecast.js';
export {
  LOW_CACHE_HIT_RATIO,
  TARGET_CACHE_HIT_RATIO,
  type Effort,
  type Priority,
  type Recommendation,
  type RecommendationList,
  type WasteItem,
  type WasteReport,
} from './reports-waste.js';
export { SKETCH_ACCURACY } from './stats.js';
export { toCSV } from './view.js';
