/**
 * `ResourceQuota` (seed 002, with seed 000's resources): what one tracked process may
 * use. Validated once with zod and compiled into integer caps, shared by every pid that
 * has the same quota object (the default quota is compiled once for all of them).
 */
import type { Decimal } from 'decimal.js';
import { z } from 'zod';
import {
  BUILTIN_METERS,
  formatUnits,
  InvalidInputError,
  moneyInput,
  parseInput,
  quietBelow,
  toUnits,
  type MeterDefinition,
  type MeterRegistry,
  type MoneyInput,
} from '../core/index.js';
import { FIELDS, FIELD_INDEX, type CounterField } from './fields.js';

/**
 * A process's quota. Every field is optional; an absent seed 002 field takes its seed
 * default, an absent seed 000 resource (`money`, `apiCalls`, ...) is not limited.
 *
 * Token fields: `maxInputTokens`, `maxOutputTokens` and `maxContextTokens` limit ONE call,
 * as in the seed ("token limits, like memory limits": the size of a request, not a
 * lifetime total). `maxTotalInputTokens` / `maxTotalOutputTokens` (not in the seed,
 * default unlimited) cap the cumulative tokens of the process.
 */
export interface ResourceQuota {
  /** Input (prompt) tokens one call may ask for (default 4,096). */
  readonly maxInputTokens?: number | undefined;
  /** Output tokens one call may ask for (default 2,048). */
  readonly maxOutputTokens?: number | undefined;
  /** Input + output tokens of one call: its context window (default 16,384). */
  readonly maxContextTokens?: number | undefined;
  /** LLM calls over the life of the process (default 10). */
  readonly maxLlmCalls?: number | undefined;
  /** Tool calls (default 50). */
  readonly maxToolCalls?: number | undefined;
  /** Hand-offs to other agents (default 21). */
  readonly maxAgentHops?: number | undefined;
  /** Iterations of the agent loop (default 3). */
  readonly maxIterations?: number | undefined;
  /** Seconds from allocation after which calls are refused and running ones aborted (default 300). */
  readonly timeoutSeconds?: number | undefined;
  /** Seconds after which a `warning` fires (default 240, or 80 % of a `timeoutSeconds` at or below 240); must be below `timeoutSeconds`. */
  readonly softTimeoutSeconds?: number | undefined;
  /** Rate limits for this pid, handed to `gov.limiter` (as the limits of user `pid`). */
  readonly rateLimit?: Readonly<Record<string, unknown>> | undefined;
  /** Cumulative input tokens over the life of the process (default: unlimited). */
  readonly maxTotalInputTokens?: number | undefined;
  /** Cumulative output tokens (default: unlimited). */
  readonly maxTotalOutputTokens?: number | undefined;
  /** Seed 000: money the process may spend, in the tracker's currency. */
  readonly money?: MoneyInput | undefined;
  /** Seed 000: minutes of elapsed time (a second time cap next to `timeoutSeconds`; the earlier one wins). */
  readonly timeMinutes?: number | undefined;
  /** Seed 000: API calls recorded with `recordApiCall`. */
  readonly apiCalls?: number | undefined;
  /** Seed 000: CPU hours recorded with `recordComputeUsage` (decimal). */
  readonly cpuHours?: number | string | undefined;
  /** Seed 000: memory GB-hours (decimal). */
  readonly memoryGbHours?: number | string | undefined;
  /** Seed 000: storage GB (decimal). */
  readonly storageGb?: number | string | undefined;
  /** Caps on user meters (declared in the governor's `meters` option), in the meter's unit. */
  readonly meters?: Readonly<Record<string, number | string>> | undefined;
}

/** The seed 002 defaults, exactly. */
export const DEFAULT_RESOURCE_QUOTA = Object.freeze({
  maxInputTokens: 4096,
  maxOutputTokens: 2048,
  maxContextTokens: 16384,
  maxLlmCalls: 10,
  maxToolCalls: 50,
  maxAgentHops: 21,
  maxIterations: 3,
  timeoutSeconds: 300,
  softTimeoutSeconds: 240,
});

/** A quota as it stands, every seed 002 field filled in (what `getQuota` returns). */
export interface ResolvedQuota extends ResourceQuota {
  readonly maxInputTokens: number;
  readonly maxOutputTokens: number;
  readonly maxContextTokens: number;
  readonly maxLlmCalls: number;
  readonly maxToolCalls: number;
  readonly maxAgentHops: number;
  readonly maxIterations: number;
  readonly timeoutSeconds: number;
  readonly softTimeoutSeconds: number;
  readonly money?: Decimal | string | number | undefined;
}

/**
 * A cap of the quota in the shape of a pipeline limit (the governor's admission treats
 * it like any other hard limit: refusal code, violation and warning events). One per
 * quota field, shared by every pid with the same quota.
 */
export interface QuotaCap {
  /** `tracker.<quota field>`, e.g. `tracker.maxLlmCalls`. */
  readonly id: string;
  readonly pattern: Readonly<Record<string, string>>;
  readonly patternKey: string;
  /** The governor meter the cap counts (`llmCalls`, `inputTokens`, `cost`, ...). */
  readonly meter: string;
  readonly def: MeterDefinition;
  readonly max: bigint;
  readonly hard: true;
  readonly thresholds: readonly number[];
  readonly thresholdUnits: readonly bigint[];
  readonly quietBelow: bigint;
  readonly period: 'total';
  readonly timeZone: 'UTC';
  readonly tracker: undefined;
  readonly windowMs: undefined;
  readonly buckets: undefined;
  readonly mode: 'bucketed';
  readonly currency: string | undefined;
  readonly counterBase: string;
  readonly spec: { readonly meter: string; readonly max: string };
}

/** A quota compiled to integers. */
export interface CompiledQuota {
  readonly quota: ResolvedQuota;
  /** Cap per counter field (index of FIELDS), undefined when unlimited. */
  readonly caps: readonly (QuotaCap | undefined)[];
  /** Caps of user meters, by meter name. */
  readonly meterCaps: ReadonlyMap<string, QuotaCap>;
  readonly perCall: { readonly input: QuotaCap; readonly output: QuotaCap; readonly context: QuotaCap };
  /** The time cap: `elapsedSeconds` units (µs) at which calls stop (the earlier of timeoutSeconds and timeMinutes). */
  readonly deadline: QuotaCap;
  readonly deadlineMs: number;
  readonly softMs: number;
  readonly rateLimit: Readonly<Record<string, unknown>> | undefined;
}

const MAX = Number.MAX_SAFE_INTEGER;
const count = z.number().int().nonnegative().max(MAX);
const decimalInput = z.union([z.number(), z.string()]);

const quotaSchema = z
  .object({
    maxInputTokens: count.optional(),
    maxOutputTokens: count.optional(),
    maxContextTokens: count.optional(),
    maxLlmCalls: count.optional(),
    maxToolCalls: count.optional(),
    maxAgentHops: count.optional(),
    maxIterations: count.optional(),
    timeoutSeconds: z.number().int().positive().max(MAX).optional(),
    softTimeoutSeconds: count.optional(),
    rateLimit: z.record(z.string(), z.unknown()).optional(),
    maxTotalInputTokens: count.optional(),
    maxTotalOutputTokens: count.optional(),
    money: moneyInput.optional(),
    timeMinutes: z.number().positive().finite().optional(),
    apiCalls: count.optional(),
    cpuHours: decimalInput.optional(),
    memoryGbHours: decimalInput.optional(),
    storageGb: decimalInput.optional(),
    meters: z.record(z.string(), decimalInput).optional(),
  })
  .strict();

/** The soft timeout a quota gets when it names none: 240 s, or 80 % of a shorter timeout. */
function defaultSoft(timeoutSeconds: number, previous: number): number {
  return previous < timeoutSeconds ? previous : Math.floor((timeoutSeconds * 4) / 5);
}

/**
 * Validate `value` (merged over `base`, the quota it adjusts) and compile it. A soft
 * timeout given at or above the timeout is refused; one not given follows the timeout.
 */
export function compileQuota(
  value: unknown,
  field: string,
  base: ResolvedQuota,
  ctx: { readonly meters: MeterRegistry; readonly currency: string; readonly warnAt: number },
): CompiledQuota {
  const q = parseInput(quotaSchema, value ?? {}, field) as ResourceQuota;
  const timeoutSeconds = q.timeoutSeconds ?? base.timeoutSeconds;
  const softTimeoutSeconds = q.softTimeoutSeconds ?? defaultSoft(timeoutSeconds, base.softTimeoutSeconds);
  if (softTimeoutSeconds >= timeoutSeconds) {
    const f = q.softTimeoutSeconds !== undefined ? 'softTimeoutSeconds' : 'timeoutSeconds';
    throw new InvalidInputError(
      `${field}.${f}`,
      `must keep softTimeoutSeconds (${softTimeoutSeconds}) below timeoutSeconds (${timeoutSeconds})`,
      q[f],
    );
  }
  const merged: ResolvedQuota = Object.freeze(
    stripUndefined({
      ...base,
      ...stripUndefined(q as Record<string, unknown>),
      timeoutSeconds,
      softTimeoutSeconds,
    }) as unknown as ResolvedQuota,
  );
  const warnPct = ctx.warnAt * 100;
  const cap = (id: string, meter: string, def: MeterDefinition, max: bigint, currency?: string): QuotaCap => ({
    id: `tracker.${id}`,
    pattern: {},
    patternKey: '',
    meter,
    def,
    max,
    hard: true,
    thresholds: [warnPct],
    thresholdUnits: [ceilShare(max, ctx.warnAt)],
    quietBelow: quietBelow([ceilShare(max, ctx.warnAt)], max, true),
    period: 'total',
    timeZone: 'UTC',
    tracker: undefined,
    windowMs: undefined,
    buckets: undefined,
    mode: 'bucketed',
    currency,
    counterBase: `tracker|${id}`,
    spec: { meter, max: formatUnits(max, def.scale) },
  });
  const caps: (QuotaCap | undefined)[] = FIELDS.map(() => undefined);
  const setCap = (f: CounterField, quotaField: keyof ResourceQuota, units: bigint | undefined): void => {
    if (units === undefined) return;
    const spec = FIELDS[FIELD_INDEX[f]]!;
    caps[FIELD_INDEX[f]] = cap(quotaField, spec.meter, spec.def, units, spec.def.kind === 'money' ? ctx.currency : undefined);
  };
  setCap('llmCalls', 'maxLlmCalls', BigInt(merged.maxLlmCalls));
  setCap('toolCalls', 'maxToolCalls', BigInt(merged.maxToolCalls));
  setCap('agentHops', 'maxAgentHops', BigInt(merged.maxAgentHops));
  setCap('iterations', 'maxIterations', BigInt(merged.maxIterations));
  setCap('tokensIn', 'maxTotalInputTokens', big(merged.maxTotalInputTokens));
  setCap('tokensOut', 'maxTotalOutputTokens', big(merged.maxTotalOutputTokens));
  setCap('money', 'money', merged.money === undefined ? undefined : toUnits(merged.money, `${field}.money`));
  setCap('apiCalls', 'apiCalls', big(merged.apiCalls));
  for (const f of ['cpuHours', 'memoryGbHours', 'storageGb'] as const) {
    const v = merged[f];
    setCap(f, f, v === undefined ? undefined : toUnits(v, `${field}.${f}`, { scale: FIELDS[FIELD_INDEX[f]]!.def.scale }));
  }
  const meterCaps = new Map<string, QuotaCap>();
  for (const [name, v] of Object.entries(merged.meters ?? {})) {
    const mf = `${field}.meters.${name}`;
    const def = ctx.meters.get(name, mf);
    if (name in BUILTIN_METERS)
      throw new InvalidInputError(mf, 'must name a user meter (built-in meters have their own quota fields)', name);
    const units =
      def.kind === 'count'
        ? typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
          ? BigInt(v)
          : fail(mf, 'must be a non-negative whole number', v)
        : toUnits(v, mf, { scale: def.scale });
    meterCaps.set(name, cap(`meters.${name}`, name, def, units));
  }
  const timeoutMs = timeoutSeconds * 1000;
  const deadlineMs = merged.timeMinutes === undefined ? timeoutMs : Math.min(timeoutMs, Math.round(merged.timeMinutes * 60_000));
  const tokens = BUILTIN_METERS.inputTokens;
  return {
    quota: merged,
    caps,
    meterCaps,
    perCall: {
      input: cap('maxInputTokens', 'inputTokens', tokens, BigInt(merged.maxInputTokens)),
      output: cap('maxOutputTokens', 'outputTokens', BUILTIN_METERS.outputTokens, BigInt(merged.maxOutputTokens)),
      context: cap('maxContextTokens', 'contextTokens', CONTEXT_TOKENS, BigInt(merged.maxContextTokens)),
    },
    deadline: cap(
      deadlineMs === timeoutMs ? 'timeoutSeconds' : 'timeMinutes',
      'elapsedSeconds',
      BUILTIN_METERS.elapsedSeconds,
      BigInt(deadlineMs) * 1000n,
    ),
    deadlineMs,
    softMs: softTimeoutSeconds * 1000,
    rateLimit: merged.rateLimit,
  };
}

/** Input + output tokens of one call, as the context-window cap counts them. */
const CONTEXT_TOKENS: MeterDefinition = { scale: 0, kind: 'count', refusalCode: 'max_context_tokens_exceeded' };

/** The seed defaults as a resolved quota (the base every quota is merged over). */
export const DEFAULT_RESOLVED: ResolvedQuota = DEFAULT_RESOURCE_QUOTA;

function big(v: number | undefined): bigint | undefined {
  return v === undefined ? undefined : BigInt(v);
}

/** ceil(max × share) for a share with up to 6 decimals: the smallest used amount at or past the threshold. */
function ceilShare(max: bigint, share: number): bigint {
  const micro = BigInt(Math.round(share * 1e6));
  const num = max * micro;
  return num === 0n ? 0n : (num + 999_999n) / 1_000_000n;
}

function fail(field: string, requirement: string, value: unknown): never {
  throw new InvalidInputError(field, requirement, value);
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
