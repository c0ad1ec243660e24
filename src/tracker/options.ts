/** The options of `ResourceTracker` and of `allocate`, with their schema. */
import { z } from 'zod';
import { clockSchema } from '../core/index.js';
import type { Clock, MeterRegistry, MoneyInput } from '../core/index.js';
import { storeSchema } from '../storage/index.js';
import type { Store } from '../storage/index.js';
import type { TrackerEventListener } from './events.js';
import type { Alternatives } from './limits.js';
import type { OperationFeatures, PredictionOptions } from './prediction.js';
import type { ResourceQuota } from './quota.js';
import type { ComputeSample } from './usage-input.js';

/** Options of allocate. */
export interface AllocateOptions {
  /** The kind of operation the pid runs: its final usage becomes a sample of that type's history at release. */
  readonly operationType?: string | undefined;
  /** Its features (complexity), recorded with the sample. */
  readonly features?: OperationFeatures | undefined;
}

/** Options of {@link ResourceTracker}. Every field is optional. */
export interface ResourceTrackerOptions {
  /** Where usage counters live (default: a new MemoryStore on `clock`). */
  readonly store?: Store | undefined;
  readonly clock?: Clock | undefined;
  /** Which scope level names the pid in `gov.guard()`: `'agent'` (default) or `'execution'`. */
  readonly level?: 'agent' | 'execution' | undefined;
  /** The quota of pids allocated without one and of auto-created pids (default: seed 002's). */
  readonly defaultQuota?: ResourceQuota | undefined;
  /** Share of a quota field at which `warning` fires, once per field (default 0.8). */
  readonly warnAt?: number | undefined;
  /** Currency of `money` (default `'USD'`). */
  readonly currency?: string | undefined;
  /** User meters: the governor's registry, or definitions as in the governor's `meters` option. */
  readonly meters?: MeterRegistry | Readonly<Record<string, { kind?: 'count' | 'quantity'; scale?: number }>> | undefined;
  /** Prices a compute sample (seed 000's VM cost); without it `recordComputeUsage` charges no money. */
  readonly priceCompute?: ((sample: ComputeSample) => MoneyInput) | undefined;
  /** Baselines and history of `predictUsage`. */
  readonly prediction?: PredictionOptions | undefined;
  /** Suggestions a hard-limit refusal carries: by resource, or computed. */
  readonly alternatives?: Alternatives | undefined;
  /** Told of every `warning`, `violation` and `usage` event. */
  readonly onEvent?: TrackerEventListener | undefined;
  /** Where a quota's `rateLimit` goes (the governor hands it to `gov.limiter`). */
  readonly rateLimits?: { set(pid: string, config: Readonly<Record<string, unknown>>): void; remove(pid: string): void } | undefined;
  /** The name `invalid_input` errors give these options (default `'options'`). */
  readonly field?: string | undefined;
}

export const optionsSchema = z
  .object({
    store: storeSchema.optional(),
    clock: clockSchema.optional(),
    level: z.enum(['agent', 'execution']).optional(),
    defaultQuota: z.unknown().optional(),
    warnAt: z.number().gt(0).max(1).optional(),
    currency: z
      .string()
      .regex(/^[A-Z]{3,8}$/, 'Expected an upper-case currency code such as USD')
      .optional(),
    meters: z.unknown().optional(),
    priceCompute: z.function().optional(),
    prediction: z.unknown().optional(),
    alternatives: z.union([z.function(), z.record(z.string(), z.array(z.string()))]).optional(),
    onEvent: z.function().optional(),
    rateLimits: z
      .custom<{ set: unknown; remove: unknown }>(
        (v) =>
          v !== null &&
          typeof v === 'object' &&
          typeof (v as { set: unknown }).set === 'function' &&
          typeof (v as { remove: unknown }).remove === 'function',
        { message: 'Expected { set(pid, config), remove(pid) }' },
      )
      .optional(),
    field: z.string().optional(),
  })
  .strict();
