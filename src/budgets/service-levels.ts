/**
 * Graceful degradation (seed 001): an agent's service level follows the share of its
 * budget it has left, so agent code can switch to a cheaper model before it runs dry.
 */
import { Decimal } from 'decimal.js';
import { InvalidInputError, type Scope } from '../core/index.js';
import type { Metrics } from './metrics.js';
import type { Registry } from './registry.js';

/** One service level: in force while at least `minPercentage` % of the budget is left. */
export interface ServiceLevelConfig {
  readonly minPercentage: number;
  readonly features: readonly string[];
}

/** Service levels by name. */
export type ServiceLevels = Readonly<Record<string, ServiceLevelConfig>>;

/** The seed's example levels: full from 50 % left, standard from 20 %, minimal from 5 %, else emergency. */
export const DEFAULT_SERVICE_LEVELS: ServiceLevels = Object.freeze({
  full: Object.freeze({ minPercentage: 50, features: Object.freeze(['high_quality', 'all_capabilities']) }),
  standard: Object.freeze({ minPercentage: 20, features: Object.freeze(['medium_quality', 'core_capabilities']) }),
  minimal: Object.freeze({ minPercentage: 5, features: Object.freeze(['low_quality', 'basic_capabilities']) }),
  emergency: Object.freeze({ minPercentage: 0, features: Object.freeze(['text_only', 'critical_only']) }),
});

/** The level an agent is at, as handed to a guarded function (`ctx.serviceLevel`). */
export interface ServiceLevel {
  readonly name: string;
  readonly features: readonly string[];
  readonly minPercentage: number;
  /** Percent of the budget left, two decimals. */
  readonly remainingPercent: number;
}

/** Validate service levels (names non-empty, percentages 0–100, features strings). */
export function validateServiceLevels(levels: unknown, field: string): ServiceLevels {
  if (levels === null || typeof levels !== 'object' || Array.isArray(levels))
    throw new InvalidInputError(field, 'must be an object of levels', levels);
  const out: Record<string, ServiceLevelConfig> = {};
  const entries = Object.entries(levels as Record<string, unknown>);
  if (entries.length === 0) throw new InvalidInputError(field, 'must name at least one level', levels);
  for (const [name, cfg] of entries) {
    const f = `${field}.${name}`;
    if (cfg === null || typeof cfg !== 'object') throw new InvalidInputError(f, 'must be { minPercentage, features }', cfg);
    const { minPercentage, features } = cfg as ServiceLevelConfig;
    if (typeof minPercentage !== 'number' || !(minPercentage >= 0 && minPercentage <= 100))
      throw new InvalidInputError(`${f}.minPercentage`, 'must be a number from 0 to 100', minPercentage);
    if (!Array.isArray(features) || features.some((x) => typeof x !== 'string'))
      throw new InvalidInputError(`${f}.features`, 'must be an array of strings', features);
    out[name] = Object.freeze({ minPercentage, features: Object.freeze([...features]) });
  }
  return Object.freeze(out);
}

/**
 * The seed's `determine_service_level`: the level with the highest `minPercentage` that
 * the remaining percentage reaches; `emergency` (features none unless configured) when
 * no level is reached or the budget is zero.
 */
export function determineServiceLevel(levels: ServiceLevels, remaining: Decimal, budget: Decimal): ServiceLevel {
  const pct = budget.lte(0) ? new Decimal(0) : Decimal.max(remaining, 0).times(100).div(budget);
  const remainingPercent = Number(pct.toDecimalPlaces(2, Decimal.ROUND_DOWN).toFixed());
  if (budget.gt(0)) {
    const sorted = Object.entries(levels).sort((a, b) => b[1].minPercentage - a[1].minPercentage);
    for (const [name, cfg] of sorted) {
      if (pct.gte(cfg.minPercentage)) return { name, features: cfg.features, minPercentage: cfg.minPercentage, remainingPercent };
    }
  }
  const e = levels.emergency;
  return { name: 'emergency', features: e?.features ?? [], minPercentage: e?.minPercentage ?? 0, remainingPercent };
}

/** Agents' service levels and the pipeline hook that hands the current one to a guarded call. */
export class AgentServiceLevels {
  /** Calls already given their level (a retried admission keeps it). */
  private readonly attached = new WeakSet<object>();

  constructor(
    private readonly reg: Registry,
    private readonly metrics: Metrics,
  ) {}

  /** Configure an agent's service levels (default: the seed's full / standard / minimal / emergency). */
  setServiceLevels(agentId: string, levels: ServiceLevels = DEFAULT_SERVICE_LEVELS): void {
    this.reg.agent(agentId, 'agentId');
    this.reg.levels.set(agentId, validateServiceLevels(levels, 'levels'));
    this.reg.touch(`agent:${agentId}`);
  }

  /** The agent's current service level, from the share of its budget left. */
  async getServiceLevel(agentId: string): Promise<ServiceLevel> {
    const m = await this.metrics.getAgentMetrics(agentId);
    return determineServiceLevel(this.reg.levels.get(agentId) ?? DEFAULT_SERVICE_LEVELS, m.remaining, m.initial);
  }

  /** Internal (pipeline hook): set `ctx.serviceLevel` on an admitted call of an agent with service levels. */
  attachServiceLevel(r: { readonly scope: Scope; serviceLevel: ServiceLevel | undefined }): Promise<void> | undefined {
    if (this.reg.levels.size === 0) return undefined;
    const agent = r.scope.agent;
    if (agent === undefined || !this.reg.levels.has(agent) || this.attached.has(r)) return undefined;
    this.attached.add(r);
    return this.getServiceLevel(agent).then(
      (level) => {
        r.serviceLevel = level;
      },
      (error: unknown) => this.reg.host.emit('listener.error', { event: 'serviceLevel', error }),
    );
  }
}
