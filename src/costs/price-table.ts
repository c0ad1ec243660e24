/**
 * A table of per-token prices, compiled once into integer pico-units per million tokens
 * so that pricing a call on the settle path is integer arithmetic with a single rounding.
 */
import { ceilDiv, InvalidInputError, toUnits, type MoneyInput } from '../core/index.js';
import type { TokenUsage } from './model-price.js';

/** Prices of one model in a {@link PriceTable}, per million tokens. */
export interface PriceTableEntry {
  /** Uncached input tokens. */
  readonly input: MoneyInput;
  /** Output tokens (reasoning included unless `reasoning` is priced apart). */
  readonly output: MoneyInput;
  /** Input tokens read from the provider's cache (default: the input price). */
  readonly cachedInput?: MoneyInput | undefined;
  /** Input tokens written to the provider's cache (default: the input price). */
  readonly cacheWrite?: MoneyInput | undefined;
  /** Reasoning tokens, when priced apart from output. */
  readonly reasoning?: MoneyInput | undefined;
  /** A fixed fee per request. */
  readonly perRequest?: MoneyInput | undefined;
}

interface CompiledPrice {
  readonly input: bigint;
  readonly output: bigint;
  readonly cachedInput: bigint;
  readonly cacheWrite: bigint;
  readonly reasoning: bigint | undefined;
  readonly perRequest: bigint;
}

const MILLION = 1_000_000n;

/** Compiled per-model prices; `cost` and `estimate` return pico-units. */
export class PriceTable {
  private readonly prices = new Map<string, CompiledPrice>();

  constructor(models: Readonly<Record<string, PriceTableEntry>> = {}, field = 'pricing.models') {
    for (const [model, p] of Object.entries(models)) this.set(model, p, `${field}.${model}`);
  }

  /** Add or replace the prices of `model`. */
  set(model: string, p: PriceTableEntry, field = `pricing.models.${model}`): void {
    if (p === null || typeof p !== 'object') throw new InvalidInputError(field, 'must be an object of prices per million tokens', p);
    const input = toUnits(p.input, `${field}.input`);
    this.prices.set(model, {
      input,
      output: toUnits(p.output, `${field}.output`),
      cachedInput: p.cachedInput === undefined ? input : toUnits(p.cachedInput, `${field}.cachedInput`),
      cacheWrite: p.cacheWrite === undefined ? input : toUnits(p.cacheWrite, `${field}.cacheWrite`),
      reasoning: p.reasoning === undefined ? undefined : toUnits(p.reasoning, `${field}.reasoning`),
      perRequest: p.perRequest === undefined ? 0n : toUnits(p.perRequest, `${field}.perRequest`) * MILLION,
    });
  }

  /** True when `model` has prices. */
  has(model: string): boolean {
    return this.prices.has(model);
  }

  /** The exact cost of `usage` on `model` in pico-units (rounded up once, to the pico), or undefined if unpriced. */
  cost(model: string, u: TokenUsage): bigint | undefined {
    const p = this.prices.get(model);
    if (p === undefined) return undefined;
    let uncached = u.inputTokens - u.cachedInputTokens - u.cacheWriteTokens;
    if (uncached < 0n) uncached = 0n;
    let total = uncached * p.input + u.cachedInputTokens * p.cachedInput + u.cacheWriteTokens * p.cacheWrite + p.perRequest;
    if (p.reasoning === undefined) total += u.outputTokens * p.output;
    else {
      const reasoning = u.reasoningTokens > u.outputTokens ? u.outputTokens : u.reasoningTokens;
      total += (u.outputTokens - reasoning) * p.output + reasoning * p.reasoning;
    }
    return ceilDiv(total, MILLION);
  }

  /** An upper-bound cost for `inputTokens` in and at most `outputTokens` out (no cache discount assumed). */
  estimate(model: string, inputTokens: bigint, outputTokens: bigint): bigint | undefined {
    const p = this.prices.get(model);
    if (p === undefined) return undefined;
    const out = p.reasoning !== undefined && p.reasoning > p.output ? p.reasoning : p.output;
    const inp = p.cacheWrite > p.input ? p.cacheWrite : p.input;
    return ceilDiv(inputTokens * inp + outputTokens * out + p.perRequest, MILLION);
  }
}
