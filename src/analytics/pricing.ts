/**
 * What analytics needs to know about prices, as a small interface of its own so the room
 * depends on no pricing implementation. The governor's `PriceTable` satisfies `cost`
 * as is; a richer catalog adds context windows, batch prices and downgrade candidates.
 */
import type { MoneyInput } from '../core/index.js';

/** Token counts of a call or a mix of calls (`inputTokens` includes cached and cache-write tokens; `outputTokens` includes reasoning). */
export interface AnalyticsTokenUsage {
  readonly inputTokens: bigint;
  readonly outputTokens: bigint;
  readonly cachedInputTokens: bigint;
  readonly cacheWriteTokens: bigint;
  readonly reasoningTokens: bigint;
}

/** Prices as analytics reads them. Only `cost` is required. */
export interface AnalyticsPricing {
  /** The cost of `usage` on `model` in pico-units (1e-12 of the currency), or undefined when the model is unpriced. */
  cost(model: string, usage: AnalyticsTokenUsage): bigint | undefined;
  /** The model's context window in tokens, when known. */
  contextWindow?(model: string): number | undefined;
  /** The cost of `usage` through the provider's batch API in pico-units, or undefined when the model has no batch price. */
  batchCost?(model: string, usage: AnalyticsTokenUsage): bigint | undefined;
  /** Models worth comparing `model` against for a downgrade (default: the other priced models of the ledger). */
  candidates?(model: string): readonly string[];
  /** The price of one unit of a resource meter (`cpuSeconds`, `memoryGbSeconds`, ...), overriding the defaults. */
  resourceRate?(meter: string): MoneyInput | undefined;
}

/**
 * Default resource rates, per unit of each meter, from seed 003's cost allocation view:
 * CPU $0.0000166 per core-second ($0.06/hour), memory $0.0000000046 per MB-second (so
 * $0.0000047104 per GB-second), GPU $0.0001 per second, network $0.00000001 per byte;
 * storage from seed 004, $0.10 per GB as reported on `storageGb`.
 */
export const DEFAULT_RESOURCE_RATES: Readonly<Record<string, string>> = {
  cpuSeconds: '0.0000166',
  memoryGbSeconds: '0.0000047104',
  gpuSeconds: '0.0001',
  storageGb: '0.10',
  networkBytes: '0.00000001',
};
