/**
 * `CostCalculator` (`gov.costs`): exact LLM prices from a pinned catalog with overrides,
 * compute and sandbox prices, estimates before a call, machine selection and the cost of
 * an execution. Each model name is resolved and compiled once, on first use, and cached
 * under the name as written: pricing a call on the settle path is a Map hit and a few
 * bigint operations.
 */
import { Decimal } from 'decimal.js';
import {
  GovernorError,
  InvalidInputError,
  systemClock,
  validateId,
  toUnits,
  unitsToDecimal,
  formatUnits,
  type Clock,
  type MoneyInput,
  type Scope,
} from '../core/index.js';
import {
  CATALOG_DATE,
  CATALOG_PACKAGE,
  CATALOG_VERSION,
  resolveCatalog,
  updateCatalog,
  variantAt,
  type CatalogUpdateOptions,
} from './catalog.js';
import {
  computeCost,
  ComputePricing,
  durationMicros,
  quantity,
  VM_TYPE_MULTIPLIERS,
  vmMultiplier,
  type ComputeCost,
  type ComputePrices,
  type ResourceUnits,
} from './compute.js';
import { CurrencyMismatchError, UnknownModelError } from './errors.js';
import { executionCost, type ExecutionCost, type LedgerSource, type PricingRecord } from './execution-cost.js';
import {
  DEFAULT_MACHINE_TYPES,
  MachineSelector,
  type MachineChoice,
  type MachineConstraints,
  type MachineRun,
  type MachineType,
} from './machines.js';
import {
  boundTokens,
  compileModelPrice,
  levelFor,
  PLAIN,
  priceComponents,
  priceTokens,
  scaled,
  toPico,
  type ModelPrice,
  type PriceSet,
  type Scaling,
  type TokenUsage,
} from './model-price.js';
import { SEED_API_COSTS, seedApiCostPrices, seedPricingConfigPrices } from './seed-tables.js';
import { countInputTokens, type EstimateMessage, type TokenCounterName } from './token-count.js';

/** What a batch request pays per provider, as a fraction of the price (each provider's batch API: half price). */
export const BATCH_MULTIPLIERS: Readonly<Record<string, string>> = {
  openai: '0.5',
  anthropic: '0.5',
  google: '0.5',
  mistral: '0.5',
};

/** A pricing problem worth telling (a fallback price used, a call that could not be priced). */
export interface PricingWarning {
  readonly code: 'unknown_model';
  readonly model: string;
  readonly provider: string | undefined;
  /** True when the fallback price was used; false when the call was charged its estimate. */
  readonly fallback: boolean;
  readonly message: string;
  readonly at: number;
}

/** Records a priced piece of work as a governed call (set by the governor). */
export type CostRecorder = (call: {
  readonly scope: Scope;
  readonly name: string;
  readonly cost: bigint;
  readonly usage: { readonly [meter: string]: string };
  readonly pricing: PricingRecord;
}) => Promise<void>;

/** Options of {@link CostCalculator}. Every field is optional. */
export interface CostCalculatorOptions {
  /** The currency costs are given in (default `'USD'`, the catalog's). */
  currency?: string;
  /** Units of `to` per unit of `from`, needed when the catalog (USD) or a price's currency is not `currency`. Called once per model. */
  exchangeRate?: (from: string, to: string) => MoneyInput;
  /** Time source, for prices that change on a date or by time of day (default: the system clock). */
  clock?: Clock;
  /** Prices by model name, ahead of the catalog (custom models, fine-tunes, corrections). */
  models?: Record<string, ModelPrice>;
  /** Price unknown models at this, with a `pricing.warning`, instead of refusing them with `unknown_model`. */
  fallback?: ModelPrice;
  /** Use the `@pydantic/genai-prices` catalog (default true). */
  catalog?: boolean;
  /** Use seed 000's and seed 004's tables for names the catalog lacks (default true). */
  seedTables?: boolean;
  /** Batch price multipliers by provider (default {@link BATCH_MULTIPLIERS}). */
  batchMultipliers?: Record<string, MoneyInput>;
  /** Compute prices (default: seeds 000 and 004's, in USD). */
  compute?: ComputePrices;
  /** VM type multipliers (default seed 000's). */
  vmTypeMultipliers?: Record<string, MoneyInput>;
  /** Machine types `selectMachine` chooses among (default {@link DEFAULT_MACHINE_TYPES}). */
  machineTypes?: Record<string, MachineType>;
  /** Where `getExecutionCost` reads calls (a Store; set by the governor). */
  ledger?: LedgerSource;
  /** Told about fallback prices and unpriceable calls (the governor emits `pricing.warning`). */
  onWarning?: (warning: PricingWarning) => void;
  /** Records sandbox executions as governed calls (set by the governor). */
  record?: CostRecorder;
}

/** A model resolved and compiled for pricing. */
interface Resolved {
  readonly name: string;
  readonly provider: string | undefined;
  readonly model: string;
  readonly source: string;
  readonly version: string;
  readonly variants: readonly { kind: string; fromMs: number; startSec: number; endSec: number; set: PriceSet; effectiveDate: string }[];
  /** The only variant's prices, when there is one (the common case: no clock read). */
  readonly single: PriceSet | undefined;
  readonly scaling: Scaling;
  readonly batch: Scaling;
  readonly currency: string;
  readonly rate: string | undefined;
  /** Pricing records by variant × tier × batch, built on first use and shared by every call. */
  readonly records: (PricingRecord | undefined)[];
}

/** Token usage as a user gives it: numbers or bigints. `inputTokens` includes cache reads and writes. */
export interface LlmUsage {
  readonly inputTokens?: number | bigint;
  readonly outputTokens?: number | bigint;
  readonly cachedInputTokens?: number | bigint;
  readonly cacheWriteTokens?: number | bigint;
  readonly cacheWrite1hTokens?: number | bigint;
  readonly reasoningTokens?: number | bigint;
  /** Requests billed (default 1). */
  readonly requests?: number | bigint;
}

/** What one LLM call cost, component by component. */
export interface LlmCost {
  /** Rounded up once, to the pico-unit. */
  readonly total: Decimal;
  readonly currency: string;
  /** Exact shares before the rounding (in the cost's currency, batch discount applied). */
  readonly components: {
    readonly input: Decimal;
    readonly cachedInput: Decimal;
    readonly cacheWrite: Decimal;
    readonly cacheWrite1h: Decimal;
    readonly output: Decimal;
    readonly reasoning: Decimal;
    readonly request: Decimal;
  };
  readonly pricing: PricingRecord;
}

/** The answer of `estimateCost`: an upper bound, and an `estimate` to pass to `guard()`. */
export interface CostEstimate {
  readonly cost: Decimal;
  readonly currency: string;
  readonly inputTokens: number;
  readonly maxOutputTokens: number;
  /** How the input was counted: a real tokenizer, the UTF-8 byte bound, or `given`. */
  readonly counter: TokenCounterName | 'given';
  readonly pricing: PricingRecord;
  /** `{ inputTokens, outputTokens, cost }`, ready for a request's `estimate`. */
  readonly estimate: { readonly inputTokens: number; readonly outputTokens: number; readonly cost: string };
}

/** The result of pricing a call's reported usage on the settle path. */
export interface PricedReport {
  /** Undefined when the model could not be priced (the governor charges the estimate). */
  readonly units: bigint | undefined;
  readonly pricing: PricingRecord;
}

const COMPUTE_METERS = ['cpuSeconds', 'memoryGbSeconds', 'gpuSeconds', 'networkBytes'] as const;

/** The options and their types (`unknown` ones are checked where they are used); any other key is refused. */
const OPTION_TYPES: Readonly<Record<string, 'string' | 'function' | 'boolean' | 'object' | 'unknown'>> = {
  currency: 'string',
  exchangeRate: 'function',
  clock: 'object',
  models: 'object',
  fallback: 'unknown',
  catalog: 'boolean',
  seedTables: 'boolean',
  batchMultipliers: 'object',
  compute: 'unknown',
  vmTypeMultipliers: 'object',
  machineTypes: 'object',
  ledger: 'unknown',
  onWarning: 'function',
  record: 'function',
};

function checkOptions(o: unknown, field: string): void {
  if (o === null || typeof o !== 'object') throw new InvalidInputError(field, 'must be an object', o);
  for (const [k, v] of Object.entries(o)) {
    const type = OPTION_TYPES[k];
    if (type === undefined) throw new InvalidInputError(`${field}.${k}`, 'is not a known option', v);
    if (v === undefined || type === 'unknown') continue;
    if (typeof v !== type || v === null) throw new InvalidInputError(`${field}.${k}`, `must be a ${type}`, v);
    if (k === 'clock' && typeof (v as Clock).now !== 'function') throw new InvalidInputError(`${field}.clock`, 'must be a Clock', v);
  }
}

function count(v: unknown, field: string): bigint {
  if (v === undefined) return 0n;
  if (typeof v === 'bigint' && v >= 0n) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new InvalidInputError(field, 'must be a non-negative whole number', v);
}

function providerName(v: unknown, field: string): string | undefined {
  return v === undefined ? undefined : modelName(v, field);
}

function flag(v: unknown, field: string): boolean {
  if (v === undefined || typeof v === 'boolean') return v === true;
  throw new InvalidInputError(field, 'must be a boolean', v);
}

/** Refuse keys outside `known` (a misspelt count would otherwise price as zero). */
function knownKeys(v: object, known: ReadonlySet<string>, field: string): void {
  for (const k in v)
    if (!known.has(k)) throw new InvalidInputError(`${field}.${k}`, 'is not a known field', (v as Record<string, unknown>)[k]);
}

const USAGE_KEYS = new Set([
  'inputTokens',
  'outputTokens',
  'cachedInputTokens',
  'cacheWriteTokens',
  'cacheWrite1hTokens',
  'reasoningTokens',
  'requests',
]);
const UPDATE_KEYS = new Set(['fetch']);
const COMPUTE_KEYS = new Set(['cpuSeconds', 'memoryGbSeconds', 'gpuSeconds', 'storageGbMonths', 'networkBytes', 'sandboxSeconds']);

function modelName(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.trim() === '' || v.length > 256)
    throw new InvalidInputError(field, 'must be a non-empty string of at most 256 characters', v);
  return v;
}

/** Exact LLM and compute pricing. Construct on its own, or use `gov.costs`. */
export class CostCalculator {
  /** The currency of every cost this calculator gives. */
  readonly currency: string;
  private readonly clock: Clock;
  private readonly rateOf: ((from: string, to: string) => MoneyInput) | undefined;
  private readonly overrides = new Map<string, ModelPrice>();
  private readonly seeds = new Map<string, ModelPrice>();
  private fallback: ModelPrice | undefined;
  private readonly useCatalog: boolean;
  private catalogVersion = `${CATALOG_PACKAGE}@${CATALOG_VERSION}`;
  private readonly batchMultipliers = new Map<string, bigint>();
  private readonly cache = new Map<string, Map<string, Resolved | null>>();
  private readonly computeOptions: ComputePrices | undefined;
  private computeCompiled: ComputePricing | undefined;
  private readonly vmTypes: Record<string, bigint> = {};
  private readonly machines: MachineSelector;
  private readonly ledger: LedgerSource | undefined;
  private readonly onWarning: ((w: PricingWarning) => void) | undefined;
  private readonly recorder: CostRecorder | undefined;

  constructor(options: CostCalculatorOptions = {}, field = 'options') {
    checkOptions(options, field);
    const o = options;
    this.currency = o.currency ?? 'USD';
    if (!/^[A-Z]{3,8}$/.test(this.currency))
      throw new InvalidInputError(`${field}.currency`, 'must be an upper-case currency code', o.currency);
    this.rateOf = o.exchangeRate;
    this.clock = o.clock ?? systemClock;
    this.useCatalog = o.catalog ?? true;
    if (o.seedTables ?? true) {
      for (const [k, v] of seedApiCostPrices()) this.seeds.set(k, v);
      for (const [k, v] of seedPricingConfigPrices()) this.seeds.set(k, v);
    }
    for (const [p, m] of Object.entries({ ...BATCH_MULTIPLIERS, ...(o.batchMultipliers ?? {}) })) {
      this.batchMultipliers.set(p, toUnits(m, `${field}.batchMultipliers.${p}`, { scale: 6 }));
    }
    for (const [model, price] of Object.entries(o.models ?? {})) this.setOverride(model, price, `${field}.models.${model}`);
    if (o.fallback !== undefined) this.setFallback(o.fallback, `${field}.fallback`);
    // Validated now; converted on first use, so a governor in another currency starts without a rate.
    new ComputePricing(o.compute, PLAIN, `${field}.compute`);
    this.computeOptions = o.compute;
    for (const [t, m] of Object.entries({ ...VM_TYPE_MULTIPLIERS, ...(o.vmTypeMultipliers ?? {}) })) {
      this.vmTypes[t] = toUnits(m, `${field}.vmTypeMultipliers.${t}`, { scale: 6 });
    }
    const types = o.machineTypes ?? DEFAULT_MACHINE_TYPES;
    for (const [name, m] of Object.entries(types)) {
      vmMultiplier(this.vmTypes, m?.vmType, `${field}.machineTypes.${name}.vmType`);
    }
    this.machines = new MachineSelector(types, (m) => this.vmHourlyUnits(m.cpuCores, m.memoryGb, m.storageGb, m.vmType, 'machineType'));
    this.ledger = o.ledger;
    this.onWarning = o.onWarning;
    this.recorder = o.record;
  }

  /** Compute prices in our currency, compiled on first use (a missing exchange rate is refused then). */
  private get computePricing(): ComputePricing {
    return (this.computeCompiled ??= new ComputePricing(
      this.computeOptions,
      this.scalingFor(this.computeOptions?.currency ?? 'USD', 'compute prices'),
    ));
  }

  // ---- prices ------------------------------------------------------------------------

  /** Set or replace the prices of `model` (per million tokens), ahead of the catalog. */
  override(model: string, prices: ModelPrice): void {
    this.setOverride(modelName(model, 'model'), prices, 'prices');
  }

  /** Price unknown models at `prices` (with a `pricing.warning`), or refuse them again with `undefined`. */
  setFallback(prices: ModelPrice | undefined, field = 'fallback'): void {
    if (prices !== undefined) compileModelPrice(prices, field);
    this.fallback = prices;
    this.cache.clear();
  }

  private setOverride(model: string, prices: ModelPrice, field: string): void {
    compileModelPrice(prices, field);
    if (prices.currency !== undefined) this.scalingFor(prices.currency, `${field}.currency`);
    this.overrides.set(model, prices);
    this.cache.clear();
  }

  /** True when `model` (as written, with an optional provider) has a price, fallback excluded. */
  has(model: string, provider?: string): boolean {
    const r = this.lookup(modelName(model, 'model'), providerName(provider, 'provider'));
    return r !== undefined && r.source !== 'fallback';
  }

  /** How `model` resolves: provider, catalog model id, source and version, or undefined. */
  describe(model: string, provider?: string): { provider: string | undefined; model: string; source: string; version: string } | undefined {
    const r = this.lookup(modelName(model, 'model'), providerName(provider, 'provider'));
    return r === undefined ? undefined : { provider: r.provider, model: r.model, source: r.source, version: r.version };
  }

  /**
   * Opt in to the catalog's remote price data (off unless called). Replaces the catalog
   * data of the whole process; compiled prices are dropped and recompiled on next use.
   */
  async updateCatalog(options: CatalogUpdateOptions = {}): Promise<void> {
    if (options === null || typeof options !== 'object') throw new InvalidInputError('options', 'must be { fetch? }', options);
    knownKeys(options, UPDATE_KEYS, 'options');
    if (options.fetch !== undefined && typeof options.fetch !== 'function')
      throw new InvalidInputError('options.fetch', 'must be a function (url) => Promise<Response>', options.fetch);
    await updateCatalog(options);
    this.catalogVersion = `${CATALOG_PACKAGE}@${CATALOG_VERSION}+remote@${new Date(this.clock.now()).toISOString().slice(0, 10)}`;
    this.cache.clear();
  }

  /** The resolved, compiled model, cached by the name as written (and the provider hint). */
  private lookup(model: string, provider: string | undefined): Resolved | undefined {
    const key = provider ?? '';
    let byName = this.cache.get(key);
    if (byName === undefined) {
      byName = new Map();
      this.cache.set(key, byName);
    }
    const hit = byName.get(model);
    if (hit !== undefined) return hit ?? undefined;
    const r = this.resolve(model, provider);
    byName.set(model, r ?? null);
    return r;
  }

  private resolve(name: string, hint: string | undefined): Resolved | undefined {
    const own =
      this.overrides.get(name) ??
      (hint === undefined ? undefined : this.overrides.get(`${hint}/${name}`)) ??
      stripped(this.overrides, name);
    if (own !== undefined) return this.compileOwn(name, hint, own, 'override');
    if (this.useCatalog) {
      const c = resolveCatalog(name, hint);
      if (c !== undefined) {
        return this.build(name, c.provider, c.model, 'catalog', this.catalogVersion, c.variants, 'USD', this.batchOf(c.provider));
      }
    }
    const seed =
      (hint === undefined ? undefined : this.seeds.get(`${hint.toLowerCase()}/${name}`)) ??
      this.seeds.get(name) ??
      stripped(this.seeds, name);
    if (seed !== undefined) return this.compileOwn(name, hint, seed, seed.version ?? 'seed');
    if (this.fallback !== undefined) {
      const r = this.compileOwn(name, hint, this.fallback, 'fallback');
      this.warn(name, hint, true, `no price for model ${JSON.stringify(name)}: priced at the configured fallback`);
      return r;
    }
    return undefined;
  }

  private compileOwn(name: string, hint: string | undefined, p: ModelPrice, source: string): Resolved {
    const set = compileModelPrice(p, `pricing.${name}`);
    const provider = hint;
    const seed = source.startsWith('seed');
    const variant = {
      kind: 'always',
      fromMs: 0,
      startSec: 0,
      endSec: 0,
      set,
      effectiveDate: p.effectiveDate ?? (seed ? CATALOG_DATE : ''),
    };
    const batch =
      p.batchMultiplier !== undefined
        ? toUnits(p.batchMultiplier, `pricing.${name}.batchMultiplier`, { scale: 6 })
        : provider === undefined
          ? 1_000_000n
          : this.batchOf(provider);
    return this.build(name, provider, name, source, p.version ?? source, [variant], p.currency ?? (seed ? 'USD' : this.currency), batch);
  }

  private batchOf(provider: string): bigint {
    return this.batchMultipliers.get(provider.toLowerCase()) ?? 1_000_000n;
  }

  private build(
    name: string,
    provider: string | undefined,
    model: string,
    source: string,
    version: string,
    variants: Resolved['variants'],
    currency: string,
    batch: bigint,
  ): Resolved {
    const scaling = this.scalingFor(currency, `prices of ${name}`);
    return {
      name,
      provider,
      model,
      source,
      version,
      variants,
      single: variants.length === 1 ? variants[0]!.set : undefined,
      scaling,
      batch: batch === 1_000_000n ? scaling : scaled(scaling, batch, 6),
      currency,
      rate: currency === this.currency ? undefined : unitsToDecimal(scaling.mul, 12).toFixed(),
      records: [],
    };
  }

  /** The scaling from `currency` to ours: plain, or through the exchange rate; never a silent mix. */
  private scalingFor(currency: string, what: string): Scaling {
    if (currency === this.currency) return PLAIN;
    if (this.rateOf === undefined) throw new CurrencyMismatchError(currency, this.currency, what);
    const rate = toUnits(this.rateOf(currency, this.currency), `exchangeRate(${currency}, ${this.currency})`, { allowZero: false });
    return scaled(PLAIN, rate, 12);
  }

  private warn(model: string, provider: string | undefined, fallback: boolean, message: string): void {
    this.onWarning?.({ code: 'unknown_model', model, provider, fallback, message, at: this.clock.now() });
  }

  /** The price set in force now (a clock read only for models whose prices change by date or time of day). */
  private at(r: Resolved): { set: PriceSet; variant: number } {
    if (r.single !== undefined) return { set: r.single, variant: 0 };
    const v = variantAt(r.variants as Parameters<typeof variantAt>[0], this.clock.now());
    return { set: v.set, variant: r.variants.indexOf(v) };
  }

  private record(r: Resolved, variant: number, tier: number, batch: boolean, hasTiers: boolean): PricingRecord {
    const i = variant * 64 + tier * 2 + (batch ? 1 : 0);
    let rec = r.records[i];
    if (rec === undefined) {
      rec = Object.freeze({
        source: r.source,
        version: r.version,
        effectiveDate: r.variants[variant]!.effectiveDate || undefined,
        provider: r.provider,
        model: r.model,
        currency: r.currency,
        exchangeRate: r.rate,
        tier: hasTiers ? tier : undefined,
        batch: batch ? true : undefined,
      });
      r.records[i] = rec;
    }
    return rec;
  }

  private required(model: string, provider: string | undefined): Resolved {
    const r = this.lookup(model, provider);
    if (r === undefined) throw new UnknownModelError(model, provider);
    return r;
  }

  /**
   * The exact cost of one call in pico-units, rounded up once: the hot-path form of
   * {@link cost}. Throws `unknown_model` when the model has no price and no fallback.
   */
  costUnits(model: string, provider: string | undefined, usage: TokenUsage, batch = false): bigint {
    const r = this.required(model, provider);
    const { set } = this.at(r);
    return toPico(priceTokens(levelFor(set, usage.inputTokens).level, usage), batch ? r.batch : r.scaling);
  }

  /** An upper bound, in pico-units, for at most `inputTokens` in and `outputTokens` out (see `boundTokens`). */
  estimateUnits(model: string, provider: string | undefined, inputTokens: bigint, outputTokens: bigint, batch = false): bigint {
    const r = this.required(model, provider);
    const { set } = this.at(r);
    return toPico(boundTokens(set, inputTokens, outputTokens), batch ? r.batch : r.scaling);
  }

  /**
   * Price what a governed call reported (tokens on `model`, compute meters), for the
   * settle path. Undefined when nothing in the report has a price. An unknown model
   * without a fallback is not thrown here (the call has happened): it is reported with a
   * `pricing.warning` and `units: undefined`.
   */
  priceReport(
    model: string | undefined,
    provider: string | undefined,
    reported: ReadonlyMap<string, bigint>,
    batch = false,
  ): PricedReport | undefined {
    const input = reported.get('inputTokens');
    const output = reported.get('outputTokens');
    let units: bigint | undefined;
    let pricing: PricingRecord | undefined;
    if (model !== undefined && (input !== undefined || output !== undefined)) {
      const r = this.lookup(model, provider);
      if (r === undefined) {
        this.warn(model, provider, false, `no price for model ${JSON.stringify(model)}: the call was charged its estimate`);
        return {
          units: undefined,
          pricing: {
            source: 'none',
            version: '',
            effectiveDate: undefined,
            model,
            provider,
            currency: this.currency,
            error: 'unknown_model',
          },
        };
      }
      const inT = input ?? 0n;
      const { set, variant } = this.at(r);
      const { level, tier } = levelFor(set, inT);
      units = toPico(
        priceTokens(level, {
          inputTokens: inT,
          outputTokens: output ?? 0n,
          cachedInputTokens: reported.get('cachedInputTokens') ?? 0n,
          cacheWriteTokens: reported.get('cacheWriteTokens') ?? 0n,
          cacheWrite1hTokens: reported.get('cacheWrite1hTokens'),
          reasoningTokens: reported.get('reasoningTokens') ?? 0n,
        }),
        batch ? r.batch : r.scaling,
      );
      pricing = this.record(r, variant, tier, batch, set.thresholds.length > 0);
    }
    let compute: ResourceUnits[] | undefined;
    for (const m of COMPUTE_METERS) {
      if (reported.has(m)) {
        compute = this.computePricing.units({
          cpuSeconds: reported.get('cpuSeconds'),
          memoryGbSeconds: reported.get('memoryGbSeconds'),
          gpuSeconds: reported.get('gpuSeconds'),
          networkBytes: reported.get('networkBytes'),
        });
        break;
      }
    }
    if (compute === undefined || compute.length === 0)
      return units === undefined ? undefined : { units, pricing: pricing as PricingRecord };
    let total = units ?? 0n;
    for (const c of compute) total += c.units;
    return { units: total, pricing: this.computeRecord(compute, pricing, units) };
  }

  private computeRecord(parts: readonly ResourceUnits[], llm: PricingRecord | undefined, llmUnits: bigint | undefined): PricingRecord {
    const compute: Record<string, { cost: string; usage: string; unit: string }> = {};
    for (const c of parts) compute[c.resource] = { cost: formatUnits(c.units), usage: c.usage, unit: c.unit };
    if (llm !== undefined) return { ...llm, llm: formatUnits(llmUnits ?? 0n), compute };
    return {
      source: 'compute',
      version: 'compute',
      effectiveDate: undefined,
      currency: this.computePricing.currency,
      compute,
    };
  }

  /** The cost of one LLM call, component by component. Throws `unknown_model` for a model without a price. */
  cost(call: { model: string; provider?: string | undefined; usage: LlmUsage; batch?: boolean | undefined }): LlmCost {
    if (call === null || typeof call !== 'object') throw new InvalidInputError('call', 'must be an object', call);
    const model = modelName(call.model, 'call.model');
    const u = this.usage(call.usage, 'call.usage');
    const batch = flag(call.batch, 'call.batch');
    const r = this.required(model, providerName(call.provider, 'call.provider'));
    const { set, variant } = this.at(r);
    const { level, tier } = levelFor(set, u.inputTokens);
    const s = batch ? r.batch : r.scaling;
    const parts = priceComponents(level, u);
    const exact = (raw: bigint): Decimal => new Decimal(unitsToDecimal(raw * s.mul, 0)).div(unitsToDecimal(s.div, 0)).div('1e12');
    return {
      total: unitsToDecimal(toPico(priceTokens(level, u), s)),
      currency: this.currency,
      components: {
        input: exact(parts.input),
        cachedInput: exact(parts.cachedInput),
        cacheWrite: exact(parts.cacheWrite),
        cacheWrite1h: exact(parts.cacheWrite1h),
        output: exact(parts.output),
        reasoning: exact(parts.reasoning),
        request: exact(parts.request),
      },
      pricing: this.record(r, variant, tier, batch, set.thresholds.length > 0),
    };
  }

  private usage(v: LlmUsage, field: string): TokenUsage {
    if (v === null || typeof v !== 'object') throw new InvalidInputError(field, 'must be an object of token counts', v);
    knownKeys(v, USAGE_KEYS, field);
    const u = {
      inputTokens: count(v.inputTokens, `${field}.inputTokens`),
      outputTokens: count(v.outputTokens, `${field}.outputTokens`),
      cachedInputTokens: count(v.cachedInputTokens, `${field}.cachedInputTokens`),
      cacheWriteTokens: count(v.cacheWriteTokens, `${field}.cacheWriteTokens`),
      cacheWrite1hTokens: count(v.cacheWrite1hTokens, `${field}.cacheWrite1hTokens`),
      reasoningTokens: count(v.reasoningTokens, `${field}.reasoningTokens`),
      requests: v.requests === undefined ? 1n : count(v.requests, `${field}.requests`),
    };
    if (u.cachedInputTokens + u.cacheWriteTokens > u.inputTokens)
      throw new InvalidInputError(
        `${field}.inputTokens`,
        'must include cachedInputTokens and cacheWriteTokens (normalize Anthropic usage: input + cache reads + cache writes)',
        v.inputTokens,
      );
    if (u.cacheWrite1hTokens > u.cacheWriteTokens)
      throw new InvalidInputError(`${field}.cacheWrite1hTokens`, 'must be a part of cacheWriteTokens', v.cacheWrite1hTokens);
    if (u.reasoningTokens > u.outputTokens)
      throw new InvalidInputError(
        `${field}.reasoningTokens`,
        'must be a part of outputTokens (normalize Gemini: candidates + thoughts)',
        v.reasoningTokens,
      );
    return u;
  }

  /**
   * An upper-bound estimate before a call, for reservations: input counted with the model
   * family's real tokenizer when one is known and installed (`gpt-tokenizer` for OpenAI),
   * else bounded by UTF-8 bytes; every input token at the dearest input rate, every output
   * token at the dearest output rate, at the tier the input reaches.
   */
  async estimateCost(req: {
    model: string;
    provider?: string | undefined;
    inputTokens?: number | undefined;
    messages?: readonly EstimateMessage[] | string | undefined;
    maxOutputTokens: number;
    batch?: boolean | undefined;
  }): Promise<CostEstimate> {
    if (req === null || typeof req !== 'object') throw new InvalidInputError('request', 'must be an object', req);
    const model = modelName(req.model, 'request.model');
    const out = count(req.maxOutputTokens, 'request.maxOutputTokens');
    if ((req.inputTokens === undefined) === (req.messages === undefined))
      throw new InvalidInputError('request.inputTokens', 'or request.messages must be given, not both', req.inputTokens);
    let input: bigint;
    let counter: TokenCounterName | 'given';
    if (req.inputTokens !== undefined) {
      input = count(req.inputTokens, 'request.inputTokens');
      counter = 'given';
    } else {
      const c = await countInputTokens(model, req.messages as readonly EstimateMessage[] | string, 'request.messages');
      input = BigInt(c.tokens);
      counter = c.counter;
    }
    const batch = flag(req.batch, 'request.batch');
    const r = this.required(model, providerName(req.provider, 'request.provider'));
    const { set, variant } = this.at(r);
    const units = toPico(boundTokens(set, input, out), batch ? r.batch : r.scaling);
    const cost = unitsToDecimal(units);
    return {
      cost,
      currency: this.currency,
      inputTokens: Number(input),
      maxOutputTokens: Number(out),
      counter,
      pricing: this.record(r, variant, levelFor(set, input).tier, batch, set.thresholds.length > 0),
      estimate: { inputTokens: Number(input), outputTokens: Number(out), cost: cost.toFixed() },
    };
  }

  // ---- the seeds' calculators ---------------------------------------------------------

  /** Seed 000's `calculate_api_cost(service, input_tokens, output_tokens)`: input and output only. Unknown service: `unknown_model`. */
  calculateApiCost(service: string, inputTokens: number, outputTokens: number): Decimal {
    const name = modelName(service, 'service');
    const u = { inputTokens: count(inputTokens, 'inputTokens'), outputTokens: count(outputTokens, 'outputTokens') };
    // Seed 000's own table answers for its services unless the user overrode them.
    const seed = this.overrides.has(name) || SEED_API_COSTS[name] === undefined ? undefined : this.seeds.get(name);
    const r = seed === undefined ? this.required(name, undefined) : this.compileOwn(name, undefined, seed, 'seed-000');
    const { set } = this.at(r);
    const usage = { ...u, cachedInputTokens: 0n, cacheWriteTokens: 0n, reasoningTokens: 0n };
    return unitsToDecimal(toPico(priceTokens(levelFor(set, u.inputTokens).level, usage), r.scaling));
  }

  /** Seed 004's `log_llm_call` pricing: prompt and completion tokens of `model` at `provider`. */
  calculateLlmCost(call: { provider: string; model: string; promptTokens: number; completionTokens: number }): Decimal {
    if (call === null || typeof call !== 'object') throw new InvalidInputError('call', 'must be an object', call);
    const model = modelName(call.model, 'call.model');
    const provider = modelName(call.provider, 'call.provider');
    return this.cost({ model, provider, usage: { inputTokens: call.promptTokens, outputTokens: call.completionTokens } }).total;
  }

  // ---- compute ------------------------------------------------------------------------

  private vmHourlyUnits(cpuCores: unknown, memoryGb: unknown, storageGb: unknown, vmType: unknown, field: string): bigint {
    return this.computePricing.vmHourly(
      quantity(cpuCores, `${field}.cpuCores`),
      quantity(memoryGb, `${field}.memoryGb`),
      quantity(storageGb ?? 0, `${field}.storageGb`),
      vmMultiplier(this.vmTypes, vmType ?? 'standard', `${field}.vmType`),
    );
  }

  /** Seed 000's `calculate_vm_hourly_cost`: (cores × core-hour + GB × GB-hour + disk GB × disk GB-hour) × VM type multiplier. */
  calculateVmHourlyCost(vm: { cpuCores: number; memoryGb: number; storageGb?: number; vmType?: string }): Decimal {
    if (vm === null || typeof vm !== 'object') throw new InvalidInputError('vm', 'must be an object', vm);
    return unitsToDecimal(this.vmHourlyUnits(vm.cpuCores, vm.memoryGb, vm.storageGb, vm.vmType, 'vm'));
  }

  /** Price compute usage: core-seconds, GB-seconds, gpu-seconds, GB-months of storage, bytes transferred, sandbox seconds. */
  priceCompute(u: {
    cpuSeconds?: number | string;
    memoryGbSeconds?: number | string;
    gpuSeconds?: number | string;
    storageGbMonths?: number | string;
    networkBytes?: number;
    sandboxSeconds?: number | string;
  }): ComputeCost {
    if (u === null || typeof u !== 'object') throw new InvalidInputError('usage', 'must be an object', u);
    knownKeys(u, COMPUTE_KEYS, 'usage');
    const q = (v: unknown, f: string): bigint | undefined => (v === undefined ? undefined : quantity(v, `usage.${f}`));
    return computeCost(
      this.computePricing.units({
        cpuSeconds: q(u.cpuSeconds, 'cpuSeconds'),
        memoryGbSeconds: q(u.memoryGbSeconds, 'memoryGbSeconds'),
        gpuSeconds: q(u.gpuSeconds, 'gpuSeconds'),
        storageGbMonths: q(u.storageGbMonths, 'storageGbMonths'),
        networkBytes: u.networkBytes === undefined ? undefined : count(u.networkBytes, 'usage.networkBytes'),
        sandboxSeconds: q(u.sandboxSeconds, 'sandboxSeconds'),
      }),
      this.currency,
    );
  }

  private sandboxParts(run: { cpuCores: number; memoryMb: number; durationSeconds: number }): ResourceUnits[] {
    if (run === null || typeof run !== 'object') throw new InvalidInputError('run', 'must be an object', run);
    return this.computePricing.sandbox(
      quantity(run.cpuCores, 'run.cpuCores'),
      quantity(run.memoryMb, 'run.memoryMb'),
      durationMicros(run.durationSeconds, 'run.durationSeconds'),
    );
  }

  /** Seed 004's sandbox pricing: cpu core-time, memory GB-time and execution minutes, exact to the millisecond. */
  priceSandboxExecution(run: { cpuCores: number; memoryMb: number; durationSeconds: number }): ComputeCost {
    return computeCost(this.sandboxParts(run), this.currency);
  }

  /**
   * Seed 004's `track_sandbox_execution`: price a sandbox run and, with a `scope` on
   * `gov.costs`, charge it as a governed call (budgets, ledger with the breakdown).
   */
  async trackSandboxExecution(run: { cpuCores: number; memoryMb: number; durationSeconds: number; scope?: Scope }): Promise<ComputeCost> {
    const parts = this.sandboxParts(run);
    const cost = computeCost(parts, this.currency);
    if (run.scope !== undefined) {
      if (this.recorder === undefined)
        throw new GovernorError('unsupported', 'unsupported: trackSandboxExecution with a scope needs a governor (use gov.costs)');
      let units = 0n;
      for (const p of parts) units += p.units;
      const usage: Record<string, string> = {};
      for (const p of parts) {
        if (p.resource === 'cpu') usage.cpuSeconds = p.usage;
        if (p.resource === 'memory') usage.memoryGbSeconds = p.usage;
      }
      await this.recorder({
        scope: run.scope,
        name: 'sandbox',
        cost: units,
        usage,
        pricing: this.computeRecord(parts, undefined, undefined),
      });
    }
    return cost;
  }

  // ---- machines and executions --------------------------------------------------------

  /** Record a finished run for `selectMachine`'s history. */
  recordMachineRun(run: MachineRun): void {
    this.machines.record(run);
  }

  /** Seed 000's machine selection: the type with the best success per cost within `constraints`. */
  selectMachine(req: { constraints?: MachineConstraints; prompt?: string } = {}): MachineChoice {
    if (req === null || typeof req !== 'object') throw new InvalidInputError('request', 'must be an object', req);
    return this.machines.select(req.constraints, req.prompt);
  }

  /** Seed 004's ExecutionCost, summed exactly from the ledger entries of `{ execution: executionId }`. */
  async getExecutionCost(executionId: string): Promise<ExecutionCost> {
    const id = validateId(executionId, 'executionId');
    if (this.ledger === undefined)
      throw new GovernorError('unsupported', 'unsupported: getExecutionCost needs a ledger (options.ledger or gov.costs)');
    return executionCost(this.ledger, id, this.currency);
  }
}

function stripped<T>(map: ReadonlyMap<string, T>, name: string): T | undefined {
  const i = name.search(/[/:]/);
  return i <= 0 ? undefined : map.get(name.slice(i + 1));
}
