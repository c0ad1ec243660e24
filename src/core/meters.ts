/**
 * Meters: what is counted. Each meter has a fixed integer scale so stores add integers:
 * money in pico-units, counts as whole numbers, seconds in microseconds.
 */
import { InvalidInputError } from './errors.js';
import { MONEY_SCALE, toUnits } from './money.js';

/** How a meter's values are read and written. */
export interface MeterDefinition {
  /** Decimal places of the stored integer (0 for counts, 12 for money). */
  readonly scale: number;
  /** `money` meters carry a currency; `count` meters take whole numbers; `quantity` meters take decimals. */
  readonly kind: 'money' | 'count' | 'quantity';
  /** The refusal code used when a hard limit on this meter refuses a call. */
  readonly refusalCode: string;
}

const count = (refusalCode = 'limit_exceeded'): MeterDefinition => ({ scale: 0, kind: 'count', refusalCode });
const quantity = (scale: number): MeterDefinition => ({ scale, kind: 'quantity', refusalCode: 'limit_exceeded' });

/** The built-in meters. */
export const BUILTIN_METERS = {
  cost: { scale: MONEY_SCALE, kind: 'money', refusalCode: 'budget_exceeded' },
  // A sliding window on requests refuses with rate_limited; a lifetime or calendar cap is a plain limit.
  requests: count(),
  llmCalls: count('max_llm_calls_exceeded'),
  toolCalls: count('max_tool_calls_exceeded'),
  agentHops: count('max_agent_hops_exceeded'),
  iterations: count('max_iterations_exceeded'),
  inputTokens: count('max_input_tokens_exceeded'),
  outputTokens: count('max_output_tokens_exceeded'),
  cachedInputTokens: count(),
  cacheWriteTokens: count(),
  // The part of cacheWriteTokens written with a 1-hour lifetime (Anthropic); priced at the 1 h write rate.
  cacheWrite1hTokens: count(),
  reasoningTokens: count(),
  cpuSeconds: quantity(6),
  memoryGbSeconds: quantity(6),
  gpuSeconds: quantity(6),
  storageGb: quantity(6),
  networkBytes: count(),
  elapsedSeconds: { scale: 6, kind: 'quantity', refusalCode: 'timeout_exceeded' },
} as const satisfies Record<string, MeterDefinition>;

/** The name of a built-in meter. */
export type BuiltinMeter = keyof typeof BUILTIN_METERS;

/** Usage figures per meter, as a user reports them (numbers or decimal strings). */
export type MeterValues = { readonly [meter: string]: number | string | undefined };

const METER_NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** The meters a governor knows: the built-ins plus the user's own. */
export class MeterRegistry {
  private readonly defs = new Map<string, MeterDefinition>(Object.entries(BUILTIN_METERS));

  /** Add user meters (`{ screenshots: { kind: 'count' } }`); names must not clash with built-ins. */
  constructor(custom: Readonly<Record<string, { kind?: 'count' | 'quantity'; scale?: number }>> = {}) {
    for (const [name, def] of Object.entries(custom)) {
      const field = `meters.${name}`;
      if (!METER_NAME_RE.test(name))
        throw new InvalidInputError(field, 'must be a name of letters, digits, _ . - starting with a letter', name);
      if (this.defs.has(name)) throw new InvalidInputError(field, 'is a built-in meter and cannot be redefined', name);
      const kind = def.kind ?? 'count';
      if (kind !== 'count' && kind !== 'quantity') throw new InvalidInputError(`${field}.kind`, "must be 'count' or 'quantity'", kind);
      const scale = def.scale ?? (kind === 'count' ? 0 : 6);
      if (!Number.isInteger(scale) || scale < 0 || scale > 12 || (kind === 'count' && scale !== 0)) {
        throw new InvalidInputError(`${field}.scale`, 'must be an integer from 0 to 12 (0 for counts)', def.scale);
      }
      this.defs.set(name, { scale, kind, refusalCode: 'limit_exceeded' });
    }
  }

  /** The definition of `meter`, or an `invalid_input` error naming `field`. */
  get(meter: unknown, field: string): MeterDefinition {
    const def = typeof meter === 'string' ? this.defs.get(meter) : undefined;
    if (def === undefined) throw new InvalidInputError(field, `must be a known meter (${[...this.defs.keys()].join(', ')})`, meter);
    return def;
  }

  /** True when `meter` is known. */
  has(meter: string): boolean {
    return this.defs.has(meter);
  }

  /** Every meter name. */
  names(): string[] {
    return [...this.defs.keys()];
  }

  /**
   * Convert a reported value of `meter` to its integer units. Counts must be
   * non-negative safe integers; quantities non-negative decimals (rounded up to the scale).
   */
  toUnits(meter: string, value: unknown, field: string): bigint {
    const def = this.get(meter, field);
    if (def.kind === 'count') {
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
      throw new InvalidInputError(field, 'must be a non-negative whole number', value);
    }
    if (def.kind === 'quantity') return toUnits(value, field, { scale: def.scale, roundUp: true });
    return toUnits(value, field, { scale: def.scale });
  }
}
