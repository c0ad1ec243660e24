/**
 * Options of pools, agents and coordinator budgets, validated once with zod. Amounts are
 * checked by `toUnits` under their own field names when they are turned into budgets.
 */
import { z } from 'zod';
import {
  InvalidInputError,
  moneyInput,
  type BudgetAlternative,
  type CalendarPeriod,
  type Duration,
  type MoneyInput,
  type ScopePattern,
} from '../core/index.js';
import type { ServiceLevels } from './service-levels.js';

/** An options object (undefined: none) whose keys are all in `known`; anything else is `invalid_input` naming `field`. */
export function checkOptions(o: unknown, known: readonly string[], field: string): void {
  if (o === undefined) return;
  if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new InvalidInputError(field, 'must be an object', o);
  for (const k of Object.keys(o))
    if (!known.includes(k))
      throw new InvalidInputError(`${field}.${k}`, `is not a known option (${known.join(', ')})`, (o as Record<string, unknown>)[k]);
}

/** What a budget does when it is exhausted: refuse the call (default) or make it wait. */
export type OnExhausted = 'refuse' | 'wait';

/** Allocation policies a pool can run with `allocate(poolId)`. */
export type PoolPolicy = 'fixed' | 'dynamic' | 'priority' | 'greediness' | 'rebalance';

/** What every coordinator budget (pool, agent, workspace or project) may set besides its amount. */
export interface BudgetBehaviour {
  readonly currency?: string | undefined;
  /** A calendar period that resets spending (default `'total'`: never). */
  readonly period?: CalendarPeriod | undefined;
  /** IANA time zone of the period (default `'UTC'`). */
  readonly timeZone?: string | undefined;
  /** Refuse calls past the budget (default true); false admits them and warns. */
  readonly hardLimit?: boolean | undefined;
  /** Alert thresholds in percent, ascending (default 50, 80, 90, 100). */
  readonly thresholds?: readonly number[] | undefined;
  /** Cheaper options named in the refusal (`BudgetExceededError.alternatives`). */
  readonly alternatives?: readonly BudgetAlternative[] | undefined;
  /** `'wait'`: a refused call pauses until a top-up or the period's reset (default `'refuse'`). */
  readonly onExhausted?: OnExhausted | undefined;
  /** The longest a call waits in `'wait'` mode (default: the governor's `maxWaitMs`). */
  readonly maxWaitMs?: Duration | undefined;
}

/** A pool (seed 001). */
export interface PoolOptions extends BudgetBehaviour {
  /** Stable id (default: the name). */
  readonly id?: string | undefined;
  readonly name: string;
  readonly initialBudget: MoneyInput;
  /** 1 (lowest) to 10 (highest). */
  readonly priority: number;
  readonly metadata?: { readonly [key: string]: unknown } | undefined;
  /** The workspace and project the pool belongs to: `scopeOf(agent)` includes them. */
  readonly workspace?: string | undefined;
  readonly project?: string | undefined;
  /** What `allocate(poolId)` does (default `'fixed'`). */
  readonly policy?: PoolPolicy | undefined;
}

/** An agent (seed 001). */
export interface AgentOptions extends BudgetBehaviour {
  readonly id: string;
  readonly name?: string | undefined;
  readonly initialBudget: MoneyInput;
  /** 1 (lowest) to 10 (highest). */
  readonly priority: number;
  /** The pool the agent draws from. */
  readonly pool?: string | undefined;
  /** 0.0–1.0: the agent's weight under the `'greediness'` policy (seed 000). */
  readonly greediness?: number | undefined;
  readonly metadata?: { readonly [key: string]: unknown } | undefined;
  /** Service levels (seed 001) handed to guarded functions as `ctx.serviceLevel`. */
  readonly serviceLevels?: ServiceLevels | undefined;
}

/** A workspace, project or any other budget set through the coordinator. */
export interface CoordinatorBudgetOptions extends BudgetBehaviour {
  readonly id?: string | undefined;
  readonly scope: ScopePattern;
  readonly amount: MoneyInput;
}

const currency = z.string().regex(/^[A-Z]{3,8}$/, 'Expected an upper-case currency code such as USD');
const thresholds = z
  .array(z.number().positive().max(1000))
  .min(1)
  .refine((a) => a.every((v, i) => i === 0 || v > (a[i - 1] as number)), { message: 'Thresholds must be strictly ascending' });
const priority = z
  .number()
  .int('Expected an integer priority from 1 to 10')
  .min(1, 'Expected a priority from 1 to 10')
  .max(10, 'Expected a priority from 1 to 10');
const alternative = z
  .object({ model: z.string().optional(), provider: z.string().optional(), description: z.string().optional() })
  .passthrough();

const behaviour = {
  currency: currency.optional(),
  period: z.enum(['total', 'day', 'week', 'month']).optional(),
  timeZone: z.string().optional(),
  hardLimit: z.boolean().optional(),
  thresholds: thresholds.optional(),
  alternatives: z.array(alternative).optional(),
  onExhausted: z.enum(['refuse', 'wait']).optional(),
  maxWaitMs: z.custom<Duration>((v) => typeof v === 'number' || typeof v === 'string', { message: 'Expected a duration' }).optional(),
};

export const poolSchema = z
  .object({
    id: z.string().optional(),
    name: z.string().min(1, 'Expected a non-empty name').max(256),
    initialBudget: moneyInput,
    priority,
    metadata: z.record(z.string(), z.unknown()).optional(),
    workspace: z.string().optional(),
    project: z.string().optional(),
    policy: z.enum(['fixed', 'dynamic', 'priority', 'greediness', 'rebalance']).optional(),
    ...behaviour,
  })
  .strict();

export const poolPatchSchema = poolSchema.omit({ id: true }).partial().strict();

export const agentSchema = z
  .object({
    id: z.string(),
    name: z.string().min(1).max(256).optional(),
    initialBudget: moneyInput,
    priority,
    pool: z.string().optional(),
    greediness: z.number().min(0, 'Expected a greediness from 0.0 to 1.0').max(1, 'Expected a greediness from 0.0 to 1.0').optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    serviceLevels: z.record(z.string(), z.unknown()).optional(),
    ...behaviour,
  })
  .strict();

export const agentPatchSchema = agentSchema.omit({ id: true, initialBudget: true, serviceLevels: true }).partial().strict();

export const budgetSchema = z
  .object({
    id: z.string().optional(),
    scope: z.record(z.string(), z.unknown()),
    amount: moneyInput,
    ...behaviour,
  })
  .strict();

export const changeSchema = z.object({ reason: z.string().max(1000).optional(), actor: z.string().max(256).optional() }).strict();
