/**
 * One model's prices compiled into integers: every component in pico-units per million
 * tokens (per million requests for the request fee), long-context tiers as levels chosen
 * by the request's whole input. Pricing a call is then a few bigint multiplications and a
 * single rounding up to the pico.
 */
import { ceilDiv, InvalidInputError, pow10, toUnits, type MoneyInput } from '../core/index.js';

/** Prices of one component set, in currency units per million tokens (`perRequest`: per request). */
export interface ComponentPrices {
  /** Uncached input tokens. */
  readonly input?: MoneyInput | undefined;
  /** Output tokens (reasoning included unless `reasoning` is priced apart). */
  readonly output?: MoneyInput | undefined;
  /** Input tokens read from the provider's cache (default: the input price). */
  readonly cachedInput?: MoneyInput | undefined;
  /** Input tokens written to the provider's cache, 5-minute lifetime (default: the input price). */
  readonly cacheWrite?: MoneyInput | undefined;
  /** Input tokens written to the cache with a 1-hour lifetime (default: the `cacheWrite` price). */
  readonly cacheWrite1h?: MoneyInput | undefined;
  /** Reasoning tokens, when priced apart from output (default: billed as output). */
  readonly reasoning?: MoneyInput | undefined;
  /** A fixed fee per request, in currency units (not per million). */
  readonly perRequest?: MoneyInput | undefined;
}

/** A long-context tier: from `aboveInputTokens` on, these prices replace the base ones for the whole request. */
export interface PriceTier extends ComponentPrices {
  /** The tier applies when the request's input (cache reads and writes included) is above this many tokens. */
  readonly aboveInputTokens: number;
}

/** Prices of one model (an override, a custom model, a fallback). Per million tokens unless said otherwise. */
export interface ModelPrice extends ComponentPrices {
  readonly input: MoneyInput;
  readonly output: MoneyInput;
  /** Long-context tiers; each component not given in a tier keeps the price below it. */
  readonly tiers?: readonly PriceTier[] | undefined;
  /** What a batch request pays, as a fraction of the price (`'0.5'` = half); default: no discount. */
  readonly batchMultiplier?: MoneyInput | undefined;
  /** Currency of these prices (default: the calculator's currency). */
  readonly currency?: string | undefined;
  /** A label for the ledger: which price list this is (default `'override'`). */
  readonly version?: string | undefined;
  /** When these prices took effect (ISO date), recorded on every cost. */
  readonly effectiveDate?: string | undefined;
}

/** One price level: integers in pico-units per million tokens (per million requests for `perRequest`). */
export interface PriceLevel {
  readonly input: bigint;
  readonly output: bigint;
  readonly cachedInput: bigint;
  readonly cacheWrite: bigint;
  readonly cacheWrite1h: bigint;
  /** -1n: reasoning is billed as output. */
  readonly reasoning: bigint;
  readonly perRequest: bigint;
}

/** A model's levels: `levels[0]` is the base; `levels[i + 1]` applies when input > `thresholds[i]`. */
export interface PriceSet {
  readonly levels: readonly PriceLevel[];
  readonly thresholds: readonly bigint[];
}

/** Token counts of one call, normalized: `inputTokens` includes cache reads and writes; `outputTokens` includes reasoning. */
export interface TokenUsage {
  readonly inputTokens: bigint;
  readonly outputTokens: bigint;
  readonly cachedInputTokens: bigint;
  readonly cacheWriteTokens: bigint;
  /** The part of `cacheWriteTokens` written with a 1-hour lifetime (default 0). */
  readonly cacheWrite1hTokens?: bigint | undefined;
  readonly reasoningTokens: bigint;
  /** Requests billed (default 1). */
  readonly requests?: bigint | undefined;
}

/** What each component of a call cost, in pico-units × 1e6 (exact: divide by 1e18 for currency units). */
export interface ComponentAmounts {
  input: bigint;
  cachedInput: bigint;
  cacheWrite: bigint;
  cacheWrite1h: bigint;
  output: bigint;
  reasoning: bigint;
  request: bigint;
}

export const MILLION = 1_000_000n;
const COMPONENTS = ['input', 'output', 'cachedInput', 'cacheWrite', 'cacheWrite1h', 'reasoning', 'perRequest'] as const;

function price(v: MoneyInput | undefined, field: string): bigint | undefined {
  return v === undefined ? undefined : toUnits(v, field);
}

function level(p: ComponentPrices, below: PriceLevel | undefined, field: string): PriceLevel {
  const input = price(p.input, `${field}.input`) ?? below?.input;
  const output = price(p.output, `${field}.output`) ?? below?.output;
  if (input === undefined) throw new InvalidInputError(`${field}.input`, 'must be a price per million tokens', p.input);
  if (output === undefined) throw new InvalidInputError(`${field}.output`, 'must be a price per million tokens', p.output);
  // In a tier, a component not given keeps the price of the level below; in the base, cache rates default to input.
  const cacheWrite = price(p.cacheWrite, `${field}.cacheWrite`) ?? below?.cacheWrite ?? input;
  const fee = price(p.perRequest, `${field}.perRequest`);
  return {
    input,
    output,
    cachedInput: price(p.cachedInput, `${field}.cachedInput`) ?? below?.cachedInput ?? input,
    cacheWrite,
    cacheWrite1h: price(p.cacheWrite1h, `${field}.cacheWrite1h`) ?? below?.cacheWrite1h ?? cacheWrite,
    reasoning: price(p.reasoning, `${field}.reasoning`) ?? below?.reasoning ?? -1n,
    perRequest: fee === undefined ? (below?.perRequest ?? 0n) : fee * MILLION,
  };
}

/** The keys of a ModelPrice besides its components. */
const MODEL_KEYS: readonly string[] = ['tiers', 'batchMultiplier', 'currency', 'version', 'effectiveDate'];

/** Compile user prices (validated, naming `field` on error) into a {@link PriceSet}. */
export function compileModelPrice(p: ModelPrice, field: string): PriceSet {
  if (p === null || typeof p !== 'object') throw new InvalidInputError(field, 'must be an object of prices per million tokens', p);
  // A misspelt component would otherwise be priced at its default without a word.
  for (const k of Object.keys(p)) {
    if (!(COMPONENTS as readonly string[]).includes(k) && !MODEL_KEYS.includes(k))
      throw new InvalidInputError(
        `${field}.${k}`,
        `is not a price option (${[...COMPONENTS, ...MODEL_KEYS].join(', ')})`,
        p[k as keyof ModelPrice],
      );
  }
  const base = level(p, undefined, field);
  const levels: PriceLevel[] = [base];
  const thresholds: bigint[] = [];
  if (p.tiers !== undefined) {
    if (!Array.isArray(p.tiers)) throw new InvalidInputError(`${field}.tiers`, 'must be an array of tiers', p.tiers);
    const tiers = [...(p.tiers as readonly PriceTier[])];
    tiers.forEach((t, i) => {
      const n = t?.aboveInputTokens;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
        throw new InvalidInputError(`${field}.tiers[${i}].aboveInputTokens`, 'must be a non-negative whole number', n);
    });
    tiers.sort((a, b) => a.aboveInputTokens - b.aboveInputTokens);
    for (let i = 0; i < tiers.length; i++) {
      const t = tiers[i] as PriceTier;
      if (i > 0 && t.aboveInputTokens === tiers[i - 1]!.aboveInputTokens)
        throw new InvalidInputError(`${field}.tiers`, 'must not repeat a threshold', t.aboveInputTokens);
      for (const k of Object.keys(t)) {
        if (k !== 'aboveInputTokens' && !(COMPONENTS as readonly string[]).includes(k))
          throw new InvalidInputError(
            `${field}.tiers[${i}].${k}`,
            'is not a price component',
            (t as unknown as Record<string, unknown>)[k],
          );
      }
      thresholds.push(BigInt(t.aboveInputTokens));
      levels.push(level(t, levels[levels.length - 1], `${field}.tiers[${i}]`));
    }
  }
  return { levels, thresholds };
}

/** The level a request with `inputTokens` of input is priced at. */
export function levelFor(set: PriceSet, inputTokens: bigint): { level: PriceLevel; tier: number } {
  const t = set.thresholds;
  let i = t.length;
  while (i > 0 && inputTokens <= (t[i - 1] as bigint)) i--;
  return { level: set.levels[i] as PriceLevel, tier: i };
}

/**
 * The exact price of `u` at `p`, in pico-units × 1e6 (not yet rounded). Cached tokens are
 * parts of `inputTokens`, never charged twice; more cache tokens than input tokens (a
 * report that counted input without its cache) charges the cache components and no
 * uncached input.
 */
export function priceTokens(p: PriceLevel, u: TokenUsage): bigint {
  const writes = u.cacheWriteTokens;
  let w1h = u.cacheWrite1hTokens ?? 0n;
  if (w1h > writes) w1h = writes;
  let uncached = u.inputTokens - u.cachedInputTokens - writes;
  if (uncached < 0n) uncached = 0n;
  let total =
    uncached * p.input +
    u.cachedInputTokens * p.cachedInput +
    (writes - w1h) * p.cacheWrite +
    w1h * p.cacheWrite1h +
    (u.requests ?? 1n) * p.perRequest;
  if (p.reasoning < 0n) total += u.outputTokens * p.output;
  else {
    const r = u.reasoningTokens > u.outputTokens ? u.outputTokens : u.reasoningTokens;
    total += (u.outputTokens - r) * p.output + r * p.reasoning;
  }
  return total;
}

/** The same price split by component (pico-units × 1e6 each; their sum is {@link priceTokens}). */
export function priceComponents(p: PriceLevel, u: TokenUsage): ComponentAmounts {
  const writes = u.cacheWriteTokens;
  let w1h = u.cacheWrite1hTokens ?? 0n;
  if (w1h > writes) w1h = writes;
  let uncached = u.inputTokens - u.cachedInputTokens - writes;
  if (uncached < 0n) uncached = 0n;
  const r = p.reasoning < 0n ? 0n : u.reasoningTokens > u.outputTokens ? u.outputTokens : u.reasoningTokens;
  return {
    input: uncached * p.input,
    cachedInput: u.cachedInputTokens * p.cachedInput,
    cacheWrite: (writes - w1h) * p.cacheWrite,
    cacheWrite1h: w1h * p.cacheWrite1h,
    output: (u.outputTokens - r) * p.output,
    reasoning: p.reasoning < 0n ? 0n : r * p.reasoning,
    request: (u.requests ?? 1n) * p.perRequest,
  };
}

/**
 * An upper bound for a call of at most `inputTokens` in and `outputTokens` out, before
 * the call: every input token at the dearest input rate (uncached, cache write 5 min or
 * 1 h), every output token at the dearest of output and reasoning, at the tier the input
 * reaches, plus one request fee. Pico-units × 1e6.
 */
export function boundTokens(set: PriceSet, inputTokens: bigint, outputTokens: bigint): bigint {
  const p = levelFor(set, inputTokens).level;
  let inp = p.input;
  if (p.cacheWrite > inp) inp = p.cacheWrite;
  if (p.cacheWrite1h > inp) inp = p.cacheWrite1h;
  if (p.cachedInput > inp) inp = p.cachedInput;
  const out = p.reasoning > p.output ? p.reasoning : p.output;
  return inputTokens * inp + outputTokens * out + p.perRequest;
}

/** How a raw amount (pico × 1e6) becomes pico-units: `ceil(raw × mul / div)`, with a batch multiplier or exchange rate folded in. */
export interface Scaling {
  readonly mul: bigint;
  readonly div: bigint;
}

/** The plain scaling: pico × 1e6 → pico. */
export const PLAIN: Scaling = { mul: 1n, div: MILLION };

/** Apply a multiplier given in units at `scale` decimal places (a batch discount, an exchange rate). */
export function scaled(s: Scaling, factor: bigint, scale: number): Scaling {
  return { mul: s.mul * factor, div: s.div * pow10(scale) };
}

/** Round a raw amount up to the pico under `s`. */
export function toPico(raw: bigint, s: Scaling): bigint {
  return s.mul === 1n ? ceilDiv(raw, s.div) : ceilDiv(raw * s.mul, s.div);
}
