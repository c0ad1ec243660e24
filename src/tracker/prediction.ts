/**
 * Seed 000's usage prediction: a baseline per operation type times a complexity
 * multiplier per resource. The baselines come from the tracker's own history when it has
 * samples of that operation type (each sample divided by its own multiplier, so the
 * baseline is complexity-free), else from the configuration, else from a default.
 */
import { Decimal } from 'decimal.js';
import { z } from 'zod';
import { InvalidInputError, moneyInput, parseInput, toUnits, unitsToDecimal, validateId, type MoneyInput } from '../core/index.js';

/** The resources a prediction covers, as in the seed. */
export type PredictedResource = 'money' | 'timeMinutes' | 'apiCalls' | 'cpuHours';

/** A baseline: usage of an operation at complexity multiplier 1. */
export interface UsageBaseline {
  readonly money?: MoneyInput | undefined;
  readonly timeMinutes?: number | undefined;
  readonly apiCalls?: number | undefined;
  readonly cpuHours?: number | undefined;
}

/** What a prediction is computed from. `complexity` (0 to 1) wins; else it is derived from `promptTokens`. */
export interface OperationFeatures {
  readonly complexity?: number | undefined;
  /** Size of the prompt: complexity is `promptTokens / prediction.tokensForFullComplexity` (capped at 1). */
  readonly promptTokens?: number | undefined;
}

/** Options of the prediction (`tracker.prediction`). */
export interface PredictionOptions {
  /** Baselines by operation type, used until the history has samples. */
  readonly baselines?: Readonly<Record<string, UsageBaseline>> | undefined;
  /** The baseline of operation types with neither history nor a configured baseline (default `DEFAULT_BASELINE`). */
  readonly defaultBaseline?: UsageBaseline | undefined;
  /** Samples kept per operation type (default 100; the oldest go first). */
  readonly historySize?: number | undefined;
  /** Samples needed before the history replaces the configured baseline (default 1). */
  readonly minSamples?: number | undefined;
  /** Prompt tokens at which complexity reaches 1 (default 8,000). */
  readonly tokensForFullComplexity?: number | undefined;
  /** Complexity when the features give none (default 0.5). */
  readonly defaultComplexity?: number | undefined;
}

/** The predicted usage of one operation. */
export interface UsagePrediction {
  readonly operationType: string;
  readonly complexity: number;
  readonly money: Decimal;
  readonly timeMinutes: number;
  readonly apiCalls: number;
  readonly cpuHours: number;
  /** Where the baseline came from. */
  readonly source: 'history' | 'configured' | 'default';
  /** History samples behind the baseline (0 unless `source` is `history`). */
  readonly samples: number;
}

/** The seed's complexity multipliers: money 0.5×–1× (the seed's formula; its comment says 1.5×), 5–35 minutes, 1–11 API calls, 0.1–0.6 CPU hours. */
export const COMPLEXITY_MULTIPLIERS: Readonly<Record<PredictedResource, (c: number) => number>> = Object.freeze({
  money: (c: number) => 0.5 + c * 0.5,
  timeMinutes: (c: number) => 5 + c * 30,
  apiCalls: (c: number) => 1 + c * 10,
  cpuHours: (c: number) => 0.1 + c * 0.5,
});

/** The baseline of an operation type nothing is known about: one cent, and 1 for the rest (the multipliers then give the seed's ranges). */
export const DEFAULT_BASELINE: Required<UsageBaseline> = Object.freeze({ money: '0.01', timeMinutes: 1, apiCalls: 1, cpuHours: 1 });

interface Baseline {
  readonly money: bigint; // pico-units
  readonly timeMinutes: number;
  readonly apiCalls: number;
  readonly cpuHours: number;
}

interface Sample extends Baseline {
  readonly complexity: number;
}

const nonNeg = z.number().nonnegative().finite();
const baselineSchema = z
  .object({ money: moneyInput.optional(), timeMinutes: nonNeg.optional(), apiCalls: nonNeg.optional(), cpuHours: nonNeg.optional() })
  .strict();
const optionsSchema = z
  .object({
    baselines: z.record(z.string(), baselineSchema).optional(),
    defaultBaseline: baselineSchema.optional(),
    historySize: z.number().int().positive().max(100_000).optional(),
    minSamples: z.number().int().positive().optional(),
    tokensForFullComplexity: z.number().positive().finite().optional(),
    defaultComplexity: z.number().min(0).max(1).optional(),
  })
  .strict();

/** Predicts usage per operation type and learns the baselines from recorded operations. */
export class UsagePredictor {
  private readonly baselines = new Map<string, Baseline>();
  private readonly fallback: Baseline;
  private readonly history = new Map<string, Sample[]>();
  private readonly historySize: number;
  private readonly minSamples: number;
  private readonly fullTokens: number;
  private readonly defaultComplexity: number;

  constructor(options: PredictionOptions = {}, field = 'prediction') {
    const o = parseInput(optionsSchema, options, field) as PredictionOptions;
    for (const [op, b] of Object.entries(o.baselines ?? {})) this.baselines.set(op, baseline(b, `${field}.baselines.${op}`));
    this.fallback = baseline({ ...DEFAULT_BASELINE, ...o.defaultBaseline }, `${field}.defaultBaseline`);
    this.historySize = o.historySize ?? 100;
    this.minSamples = o.minSamples ?? 1;
    this.fullTokens = o.tokensForFullComplexity ?? 8000;
    this.defaultComplexity = o.defaultComplexity ?? 0.5;
  }

  /** The complexity (0 to 1) of an operation with these features. */
  complexityOf(features: OperationFeatures | undefined, field = 'features'): number {
    if (features === undefined) return this.defaultComplexity;
    if (features === null || typeof features !== 'object') throw new InvalidInputError(field, 'must be an object', features);
    for (const k in features)
      if (k !== 'complexity' && k !== 'promptTokens')
        throw new InvalidInputError(
          `${field}.${k}`,
          'is not a known feature (complexity, promptTokens)',
          (features as Record<string, unknown>)[k],
        );
    const c = features.complexity;
    if (c !== undefined) {
      if (typeof c !== 'number' || !(c >= 0 && c <= 1))
        throw new InvalidInputError(`${field}.complexity`, 'must be a number from 0 to 1', c);
      return c;
    }
    const t = features.promptTokens;
    if (t !== undefined) {
      if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0)
        throw new InvalidInputError(`${field}.promptTokens`, 'must be a non-negative whole number', t);
      return Math.min(1, t / this.fullTokens);
    }
    return this.defaultComplexity;
  }

  /** Add a finished operation to the history of its type. */
  record(operationType: string, usage: Baseline, complexity: number): void {
    let list = this.history.get(operationType);
    if (list === undefined) {
      list = [];
      this.history.set(operationType, list);
    }
    list.push({ ...usage, complexity });
    if (list.length > this.historySize) list.shift();
  }

  /** Recorded samples of an operation type. */
  samples(operationType: string): number {
    return this.history.get(operationType)?.length ?? 0;
  }

  /** Predict the usage of an operation of `operationType` with `features`. */
  predict(operationType: string, features?: OperationFeatures): UsagePrediction {
    validateId(operationType, 'operationType');
    const c = this.complexityOf(features);
    const list = this.history.get(operationType);
    let source: UsagePrediction['source'];
    let b: Baseline;
    let samples = 0;
    if (list !== undefined && list.length >= this.minSamples) {
      b = learned(list);
      source = 'history';
      samples = list.length;
    } else {
      const configured = this.baselines.get(operationType);
      source = configured === undefined ? 'default' : 'configured';
      b = configured ?? this.fallback;
    }
    const m = COMPLEXITY_MULTIPLIERS;
    const money = unitsToDecimal(b.money)
      .mul(new Decimal(m.money(c)))
      .toDecimalPlaces(12, Decimal.ROUND_HALF_UP);
    return {
      operationType,
      complexity: c,
      money,
      timeMinutes: b.timeMinutes * m.timeMinutes(c),
      apiCalls: b.apiCalls * m.apiCalls(c),
      cpuHours: b.cpuHours * m.cpuHours(c),
      source,
      samples,
    };
  }
}

function baseline(b: UsageBaseline, field: string): Baseline {
  const d = DEFAULT_BASELINE;
  return {
    money: toUnits(b.money ?? d.money, `${field}.money`, { roundUp: true }),
    timeMinutes: b.timeMinutes ?? d.timeMinutes,
    apiCalls: b.apiCalls ?? d.apiCalls,
    cpuHours: b.cpuHours ?? d.cpuHours,
  };
}

/** The mean of each sample divided by its own multiplier: the baseline the samples imply. */
function learned(list: readonly Sample[]): Baseline {
  const m = COMPLEXITY_MULTIPLIERS;
  let money = new Decimal(0);
  let time = 0;
  let api = 0;
  let cpu = 0;
  for (const s of list) {
    money = money.plus(new Decimal(s.money.toString()).div(m.money(s.complexity)));
    time += s.timeMinutes / m.timeMinutes(s.complexity);
    api += s.apiCalls / m.apiCalls(s.complexity);
    cpu += s.cpuHours / m.cpuHours(s.complexity);
  }
  const n = list.length;
  return {
    money: BigInt(money.div(n).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toFixed()),
    timeMinutes: time / n,
    apiCalls: api / n,
    cpuHours: cpu / n,
  };
}
