/**
 * Cost per execution (seed 004's ExecutionCost), summed from the ledger in integers: every
 * governed call recorded under `{ execution: id }`, split into LLM, compute and other
 * spending by the pricing record each entry carries.
 */
import type { Decimal } from 'decimal.js';
import { toUnits, unitsToDecimal } from '../core/index.js';
import { CurrencyMismatchError } from './errors.js';
import type { ResourceType } from './compute.js';

/** What a priced ledger entry carries in `data.pricing`. */
export interface PricingRecord {
  /** Where the prices came from: `catalog`, `override`, `seed-000`, `seed-004`, `fallback`, `compute`. */
  readonly source: string;
  /** The price table version (`@pydantic/genai-prices@0.1.8`, an override's label, ...). */
  readonly version: string;
  /** When the prices used took effect (ISO date). */
  readonly effectiveDate: string | undefined;
  /** The model and provider the prices are for, as resolved. */
  readonly provider?: string | undefined;
  readonly model?: string | undefined;
  /** The currency the prices are in, and the exchange rate applied when it is not the cost's. */
  readonly currency: string;
  readonly exchangeRate?: string | undefined;
  /** The LLM tokens' share of the cost (decimal string). */
  readonly llm?: string | undefined;
  /** The long-context tier applied (0: base), when the model has tiers. */
  readonly tier?: number | undefined;
  /** True when batch prices were applied. */
  readonly batch?: boolean | undefined;
  /** Compute resources' shares of the cost. */
  readonly compute?: { readonly [resource: string]: { readonly cost: string; readonly usage: string; readonly unit: string } } | undefined;
  /** Set when the call could not be priced (`unknown_model`): its cost is the estimate. */
  readonly error?: string | undefined;
}

/** The ledger fields this module reads (a structural subset of the store's `LedgerEntry`). */
export interface CostLedgerEntry {
  readonly kind: string;
  readonly status: string;
  readonly provider?: string | undefined;
  readonly model?: string | undefined;
  readonly usage: { readonly [meter: string]: string };
  readonly cost: string;
  readonly currency: string;
  readonly data?: { readonly [key: string]: unknown } | undefined;
}

/** Where ledger entries are read from (a `Store` or a `Governor`). */
export interface LedgerSource {
  queryLedger(query: {
    scope?: { execution?: string };
    kinds?: readonly string[];
    limit?: number;
    cursor?: string;
  }):
    | PromiseLike<{ readonly entries: readonly CostLedgerEntry[]; readonly next?: string | undefined }>
    | { readonly entries: readonly CostLedgerEntry[]; readonly next?: string | undefined };
}

/** Spending on one model. */
export interface ModelSpend {
  readonly provider: string | undefined;
  readonly model: string;
  readonly cost: Decimal;
  readonly tokens: number;
  readonly calls: number;
}

/** Spending on one resource type. `usage` is in `unit`. */
export interface ResourceSpend {
  readonly resource: ResourceType | string;
  readonly cost: Decimal;
  readonly usage: Decimal;
  readonly unit: string;
  readonly count: number;
}

/** Seed 004's ExecutionCost. `total = llm + compute + other`, exactly. */
export interface ExecutionCost {
  readonly executionId: string;
  readonly currency: string;
  readonly total: Decimal;
  readonly llm: Decimal;
  readonly compute: Decimal;
  /** Spending that is neither (a tool call that reported its own cost). */
  readonly other: Decimal;
  readonly llmCallCount: number;
  /** Input plus output tokens of the execution's LLM calls. */
  readonly totalTokens: number;
  /** Ledger entries counted. */
  readonly entries: number;
  readonly byModel: readonly ModelSpend[];
  readonly byResource: readonly ResourceSpend[];
}

interface ModelAcc {
  provider: string | undefined;
  model: string;
  cost: bigint;
  tokens: number;
  calls: number;
}

interface ResourceAcc {
  cost: bigint;
  usage: bigint;
  unit: string;
  count: number;
}

const USAGE_SCALE = 6;

function tokensOf(usage: { readonly [meter: string]: string }): number {
  return Number(usage.inputTokens ?? 0) + Number(usage.outputTokens ?? 0);
}

/** Read every call of `executionId` from `source` and add them up. */
export async function executionCost(source: LedgerSource, executionId: string, currency: string): Promise<ExecutionCost> {
  let total = 0n;
  let llm = 0n;
  let compute = 0n;
  let llmCalls = 0;
  let tokens = 0;
  let count = 0;
  const byModel = new Map<string, ModelAcc>();
  const byResource = new Map<string, ResourceAcc>();
  let cursor: string | undefined;
  do {
    const page = await source.queryLedger({ scope: { execution: executionId }, kinds: ['call'], limit: 1000, cursor });
    for (const e of page.entries) {
      count++;
      if (e.currency !== currency) throw new CurrencyMismatchError(e.currency, currency, `ledger entry of execution ${executionId}`);
      const cost = toUnits(e.cost, 'entry.cost');
      total += cost;
      const pricing = e.data?.pricing as PricingRecord | undefined;
      let llmPart = 0n;
      if (pricing !== undefined && typeof pricing === 'object') {
        if (pricing.llm !== undefined) llmPart = toUnits(pricing.llm, 'pricing.llm');
        for (const [resource, r] of Object.entries(pricing.compute ?? {})) {
          const c = toUnits(r.cost, `pricing.compute.${resource}.cost`);
          compute += c;
          const acc = byResource.get(resource) ?? { cost: 0n, usage: 0n, unit: r.unit, count: 0 };
          acc.cost += c;
          acc.usage += toUnits(r.usage, `pricing.compute.${resource}.usage`, { scale: USAGE_SCALE, roundUp: true });
          acc.count++;
          byResource.set(resource, acc);
        }
        if (pricing.llm === undefined && pricing.compute === undefined && e.model !== undefined) llmPart = cost;
      } else if (e.model !== undefined) llmPart = cost;
      if (e.model !== undefined && (llmPart > 0n || e.usage.inputTokens !== undefined || e.usage.outputTokens !== undefined)) {
        llm += llmPart;
        llmCalls++;
        const t = tokensOf(e.usage);
        tokens += t;
        const key = `${e.provider ?? ''}\u0000${e.model}`;
        const acc = byModel.get(key) ?? { provider: e.provider, model: e.model, cost: 0n, tokens: 0, calls: 0 };
        acc.cost += llmPart;
        acc.tokens += t;
        acc.calls++;
        byModel.set(key, acc);
      }
    }
    cursor = page.next;
  } while (cursor !== undefined);
  return {
    executionId,
    currency,
    total: unitsToDecimal(total),
    llm: unitsToDecimal(llm),
    compute: unitsToDecimal(compute),
    other: unitsToDecimal(total - llm - compute),
    llmCallCount: llmCalls,
    totalTokens: tokens,
    entries: count,
    byModel: [...byModel.values()]
      .sort((a, b) => (b.cost > a.cost ? 1 : b.cost < a.cost ? -1 : a.model.localeCompare(b.model)))
      .map((m) => ({ provider: m.provider, model: m.model, cost: unitsToDecimal(m.cost), tokens: m.tokens, calls: m.calls })),
    byResource: [...byResource]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([resource, r]) => ({
        resource,
        cost: unitsToDecimal(r.cost),
        usage: unitsToDecimal(r.usage, USAGE_SCALE),
        unit: r.unit,
        count: r.count,
      })),
  };
}
