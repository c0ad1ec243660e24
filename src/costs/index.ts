export { PriceTable, type PriceTableEntry } from './price-table.js';
export {
  BATCH_MULTIPLIERS,
  CostCalculator,
  type CostCalculatorOptions,
  type CostEstimate,
  type CostRecorder,
  type LlmCost,
  type LlmUsage,
  type PricedReport,
  type PricingWarning,
} from './cost-calculator.js';
export { compileModelPrice, type ComponentPrices, type ModelPrice, type PriceTier, type TokenUsage } from './model-price.js';
export {
  ALIAS_CORRECTIONS,
  CATALOG_DATE,
  CATALOG_PACKAGE,
  CATALOG_VERSION,
  resolveCatalog,
  type CatalogModel,
  type CatalogVariant,
  type CatalogUpdateOptions,
} from './catalog.js';
export {
  COMPUTE_DEFAULTS,
  VM_TYPE_MULTIPLIERS,
  type ComputeCost,
  type ComputePrices,
  type ResourceCost,
  type ResourceType,
} from './compute.js';
export { CurrencyMismatchError, UnknownModelError } from './errors.js';
export {
  type CostLedgerEntry,
  type ExecutionCost,
  type LedgerSource,
  type ModelSpend,
  type PricingRecord,
  type ResourceSpend,
} from './execution-cost.js';
export {
  DEFAULT_MACHINE_TYPES,
  PRIOR_SUCCESS_RATE,
  PROMPT_MATCH_BOOST,
  type MachineChoice,
  type MachineConstraints,
  type MachineRun,
  type MachineScore,
  type MachineType,
} from './machines.js';
export { SEED_API_COSTS, SEED_PRICING_CONFIG } from './seed-tables.js';
export { MESSAGE_OVERHEAD_TOKENS, REPLY_PRIMING_TOKENS, type EstimateMessage, type TokenCounterName } from './token-count.js';
