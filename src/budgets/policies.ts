/**
 * Allocation strategies run as a pool's policy (seeds 000 and 001). Each policy is one
 * function from the pool's agents to new agent budgets; `allocate` applies the result,
 * audited. The arithmetic lives in `allocation.ts`, where a user can call it directly.
 */
import { Decimal } from 'decimal.js';
import { InvalidInputError, toUnits, unitsToDecimal, validateId, type ScopePattern } from '../core/index.js';
import {
  allocateByGreediness,
  allocateByPriority,
  allocateDynamic,
  averageOf,
  distributeUnits,
  rebalance as rebalanceShares,
  type AllocationResult,
  type GreedinessAllocation,
  type GreedinessTotals,
} from './allocation.js';
import { DAY_MS, type Metrics } from './metrics.js';
import { checkOptions, type PoolPolicy } from './options.js';
import { agentBudgetId, type AgentRecord, type Registry } from './registry.js';
import type { AgentMetrics, BudgetChange } from './types.js';

/** What a policy sees: the pool's agents (creation order) with their metrics, and the time. */
interface PolicyInput {
  readonly poolId: string;
  readonly agents: readonly AgentRecord[];
  readonly metrics: readonly AgentMetrics[];
  readonly now: number;
}

/** What a policy decides: the allocation and each agent's new budget in units (same order as the agents). */
interface PolicyOutput {
  readonly result: AllocationResult;
  readonly caps: readonly bigint[];
}

type Policy = (input: PolicyInput, metrics: Metrics) => Promise<PolicyOutput>;

/** Budgets as amounts: the allocation is the new budget of each agent. */
function absolute(agents: readonly AgentRecord[], amounts: readonly Decimal[]): PolicyOutput {
  const allocations: Record<string, Decimal> = {};
  agents.forEach((a, i) => (allocations[a.id] = amounts[i] as Decimal));
  const sum = amounts.reduce((s, x) => s.plus(x), new Decimal(0));
  return {
    result: { allocations, distributed: sum, undistributed: new Decimal(0), notes: [] },
    caps: amounts.map((x) => toUnits(x, 'amount')),
  };
}

/** Shares of the pool's remaining budget: each agent's budget becomes what it spent plus its share. */
function shares(input: PolicyInput, result: AllocationResult): PolicyOutput {
  return {
    result,
    caps: input.agents.map((a, i) => toUnits((input.metrics[i] as AgentMetrics).used.plus(result.allocations[a.id] as Decimal), 'amount')),
  };
}

const poolRemaining = async (input: PolicyInput, m: Metrics): Promise<Decimal> => (await m.getPoolMetrics(input.poolId)).remaining;

/** The policies a pool can run, by name. */
const POLICIES: Record<PoolPolicy, Policy> = {
  /** Each agent back to its initial budget. */
  fixed: async (input) =>
    absolute(
      input.agents,
      input.agents.map((a) => a.initialBudget),
    ),
  /** Seed 001: average daily spend over the last 7 days × 1.2, never below the initial budget. */
  dynamic: async (input, m) => {
    const amounts: Decimal[] = [];
    for (const a of input.agents) amounts.push(allocateDynamic(await m.dailyTotals(a.id, input.now, 7), a.initialBudget, '1.2'));
    return absolute(input.agents, amounts);
  },
  /** Seed 001: priority >= 8 first get a minimum, the rest in proportion to priority. */
  priority: async (input, m) =>
    shares(
      input,
      allocateByPriority(
        input.agents.map((a) => ({ id: a.id, priority: a.priority })),
        await poolRemaining(input, m),
      ),
    ),
  /** Seed 001: 70 % priority weight, 30 % weight of the last day's average usage. */
  rebalance: async (input, m) => {
    const agents = [];
    for (const a of input.agents) {
      const history = await m.getUsageHistory(a.id, { from: input.now - DAY_MS, to: input.now + 1 });
      agents.push({ id: a.id, priority: a.priority, averageUsage: averageOf(history.map((h) => h.amount)) });
    }
    return shares(input, rebalanceShares(agents, await poolRemaining(input, m)));
  },
  /** Seed 000: the pool's remaining budget in proportion to each agent's greediness. */
  greediness: async (input, m) => {
    const units = toUnits(await poolRemaining(input, m), 'available');
    const split = distributeUnits(
      units,
      input.agents.map((a) => [BigInt(Math.round((a.greediness ?? 0) * 1e6)), 1_000_000n] as const),
    );
    const allocations: Record<string, Decimal> = {};
    input.agents.forEach((a, i) => (allocations[a.id] = unitsToDecimal(split[i] as bigint)));
    const sum = split.reduce((s, x) => s + x, 0n);
    return shares(input, { allocations, distributed: unitsToDecimal(sum), undistributed: unitsToDecimal(units - sum), notes: [] });
  },
};

/** Runs pools' allocation policies and seed 000's project split. */
export class Policies {
  constructor(
    private readonly reg: Registry,
    private readonly metrics: Metrics,
  ) {}

  /** Run a pool's policy (or `strategy`) over its agents and apply the new budgets, audited. */
  async allocate(poolId: string, options: BudgetChange & { readonly strategy?: PoolPolicy | undefined } = {}): Promise<AllocationResult> {
    const p = this.reg.pool(poolId, 'poolId');
    checkOptions(options, ['reason', 'actor', 'strategy'], 'options');
    const strategy = options.strategy ?? p.policy;
    const policy = Object.hasOwn(POLICIES, strategy) ? POLICIES[strategy] : undefined;
    if (policy === undefined) {
      throw new InvalidInputError('options.strategy', 'must be fixed, dynamic, priority, greediness or rebalance', strategy);
    }
    const change = this.reg.change(
      { reason: options.reason, actor: options.actor },
      strategy === 'rebalance' ? 'rebalance' : 'allocate',
      `${strategy} allocation`,
    );
    const agents = this.reg.poolAgents(poolId).map((id) => this.reg.agents.get(id) as AgentRecord);
    const metrics = await Promise.all(agents.map((a) => this.metrics.getAgentMetrics(a.id)));
    const { result, caps } = await policy({ poolId, agents, metrics, now: this.reg.host.clock.now() }, this.metrics);
    agents.forEach((a, i) => this.reg.resize(agentBudgetId(a.id), caps[i] as bigint, change));
    return result;
  }

  /** Seed 000's greediness split for projects: a daily budget per project of its share of the money. */
  applyGreediness(
    projects: readonly { readonly id: string; readonly greediness: number | string | Decimal; readonly workspace?: string | undefined }[],
    totals: GreedinessTotals,
    options: BudgetChange & { readonly timeZone?: string | undefined; readonly hardLimit?: boolean | undefined } = {},
  ): GreedinessAllocation {
    const split = allocateByGreediness(projects, totals);
    const specs = projects.map((p, i) => {
      if (p.workspace !== undefined) validateId(p.workspace, `projects[${i}].workspace`);
      const scope: ScopePattern = p.workspace === undefined ? { project: p.id } : { workspace: p.workspace, project: p.id };
      return { id: `project:${p.id}`, scope, amount: (split.shares[p.id] as { money: Decimal }).money };
    });
    const change = this.reg.change(options, 'allocate', 'greediness allocation');
    for (const s of specs) {
      this.reg.host.setBudget({ ...s, period: 'day', timeZone: options.timeZone, hardLimit: options.hardLimit }, change);
    }
    return split;
  }
}
