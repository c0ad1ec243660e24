/**
 * Seed 001's metrics of agents and pools (initial, used, remaining, usage percent, rate
 * of consumption) and the spending history they and the allocation policies read.
 */
import { Decimal } from 'decimal.js';
import { InvalidInputError, toUnits, unitsToDecimal, type Scope } from '../core/index.js';
import type { LedgerQuery } from '../storage/index.js';
import { agentBudgetId, poolBudgetId, type Registry } from './registry.js';
import type { AgentMetrics, BudgetMetrics, PoolMetrics } from './types.js';

const HOUR_MS = 3_600_000n;
/** A day in ms: the span of the policies' daily totals. */
export const DAY_MS = 86_400_000;

/** Where budgets stand, read from the engine and the ledger. */
export class Metrics {
  constructor(private readonly reg: Registry) {}
  /** Seed 001's agent metrics: initial, used, remaining, usage percent, consumption rate. */
  async getAgentMetrics(agentId: string): Promise<AgentMetrics> {
    const a = this.reg.agent(agentId, 'agentId');
    const m = await this.metrics(agentBudgetId(agentId), { agent: agentId }, a.createdAt);
    return { ...m, agentId, pool: a.pool, priority: a.priority };
  }

  /** Seed 001's pool metrics, with what is promised to agents and what is left unallocated. */
  async getPoolMetrics(poolId: string): Promise<PoolMetrics> {
    const p = this.reg.pool(poolId, 'poolId');
    const m = await this.metrics(poolBudgetId(poolId), { pool: poolId }, p.createdAt);
    const agents = this.reg.poolAgents(poolId);
    let allocated = new Decimal(0);
    for (const id of agents) allocated = allocated.plus((await this.getAgentMetrics(id)).remaining);
    const unallocated = Decimal.max(m.remaining.minus(allocated), 0);
    return { ...m, poolId, allocated, unallocated, agents: agents.length };
  }

  /** Metrics of every agent, by id. */
  async getAllAgentMetrics(): Promise<Record<string, AgentMetrics>> {
    const out: Record<string, AgentMetrics> = {};
    for (const id of this.reg.agents.keys()) out[id] = await this.getAgentMetrics(id);
    return out;
  }

  /** Metrics of every pool, by id. */
  async getAllPoolMetrics(): Promise<Record<string, PoolMetrics>> {
    const out: Record<string, PoolMetrics> = {};
    for (const id of this.reg.pools.keys()) out[id] = await this.getPoolMetrics(id);
    return out;
  }

  /** The agent's settled calls (cost charged) from `from` to `to` (epoch ms), oldest first, from the ledger. */
  async getUsageHistory(
    agentId: string,
    range: { readonly from?: number; readonly to?: number } = {},
  ): Promise<{ at: number; amount: Decimal }[]> {
    this.reg.agent(agentId, 'agentId');
    const out: { at: number; amount: Decimal }[] = [];
    let cursor: string | undefined;
    do {
      const q: LedgerQuery = {
        scope: { agent: agentId },
        kinds: ['call'],
        statuses: ['ok', 'error'],
        from: range.from,
        to: range.to,
        cursor,
      };
      const page = await this.reg.host.queryLedger(q);
      for (const e of page.entries) out.push({ at: e.at, amount: new Decimal(e.cost) });
      cursor = page.next;
    } while (cursor !== undefined);
    return out;
  }

  private async metrics(id: string, scope: Scope, createdAt: number): Promise<BudgetMetrics> {
    const st = (await this.reg.host.status(scope)).find((s) => s.limit === id);
    if (st === undefined) throw new InvalidInputError('id', 'has no budget', id);
    const now = this.reg.host.clock.now();
    const since = Math.max(createdAt, st.period?.startMs ?? createdAt);
    const elapsed = BigInt(Math.max(0, now - since));
    const usedUnits = toUnits(st.used, 'used');
    const rate = elapsed === 0n ? 0n : (2n * usedUnits * HOUR_MS + elapsed) / (2n * elapsed);
    return {
      initial: st.max,
      used: st.used,
      held: st.held,
      remaining: Decimal.max(st.max.minus(st.used), 0),
      usagePercent: st.usagePercent,
      consumptionPerHour: unitsToDecimal(rate),
      currency: st.currency ?? this.reg.host.currency,
      period: st.period?.id,
    };
  }

  /** The agent's spend per day over the last `days` 24-hour spans ending now (idle days count as 0). */
  async dailyTotals(agentId: string, now: number, days: number): Promise<Decimal[]> {
    const from = now - days * DAY_MS;
    const totals = Array.from({ length: days }, () => new Decimal(0));
    for (const h of await this.getUsageHistory(agentId, { from, to: now + 1 })) {
      const i = Math.min(days - 1, Math.floor((h.at - from) / DAY_MS));
      totals[i] = (totals[i] as Decimal).plus(h.amount);
    }
    return totals;
  }
}
