/**
 * Seed 001's emergency allocation: priority >= 7 approved in full, a reason containing
 * "critical" at half, anything else denied. The grant comes out of the pool, audited.
 */
import { InvalidInputError, toUnits, unitsToDecimal, type MoneyInput } from '../core/index.js';
import type { Metrics } from './metrics.js';
import { agentBudgetId, poolBudgetId, type Registry } from './registry.js';
import type { EmergencyResult } from './types.js';

/** Grants emergency money to agents. */
export class Emergency {
  constructor(
    private readonly reg: Registry,
    private readonly metrics: Metrics,
    /** Whether a grant may grow the pool when it has too little left (the coordinator's default). */
    private readonly createsMoney: boolean,
  ) {}

  /**
   * Seed 001's emergency allocation: priority >= 7 is approved in full, a reason containing
   * "critical" at half, anything else denied. The grant comes out of what the agent's pool
   * has unallocated and is cut to it, unless money creation is allowed (then the pool's
   * budget grows by the shortfall). An agent without a pool gets nothing unless allowed.
   */
  async requestEmergencyAllocation(
    agentId: string,
    amount: MoneyInput,
    reason: string,
    options: { readonly actor?: string | undefined; readonly createMoney?: boolean | undefined } = {},
  ): Promise<EmergencyResult> {
    const a = this.reg.agent(agentId, 'agentId');
    const requested = toUnits(amount, 'amount', { allowZero: false });
    if (typeof reason !== 'string' || reason.trim() === '') throw new InvalidInputError('reason', 'must be a non-empty string', reason);
    const createMoney = options.createMoney ?? this.createsMoney;
    const decision = a.priority >= 7 ? 'full' : reason.toLowerCase().includes('critical') ? 'half' : 'denied';
    const approved = decision === 'full' ? requested : decision === 'half' ? requested / 2n : 0n;
    let granted = approved;
    let note: string;
    const change = { reason, actor: options.actor, action: 'emergency' };
    if (decision === 'denied') note = `denied: priority ${a.priority} is below 7 and the reason does not say "critical"`;
    else if (a.pool === undefined) {
      if (!createMoney) granted = 0n;
      note = createMoney
        ? 'granted without a pool (money creation allowed)'
        : 'the agent has no pool to draw from and money creation is off';
    } else {
      const pm = await this.metrics.getPoolMetrics(a.pool);
      const free = toUnits(pm.unallocated, 'unallocated');
      if (approved <= free) note = `granted from pool ${a.pool}`;
      else if (createMoney) {
        this.reg.resize(poolBudgetId(a.pool), toUnits(pm.initial, 'initial') + approved - free, change);
        note = `pool ${a.pool} had ${pm.unallocated.toFixed()} unallocated; its budget grew by the shortfall`;
      } else {
        granted = free;
        note = `cut to the ${pm.unallocated.toFixed()} pool ${a.pool} had unallocated`;
      }
    }
    if (granted > 0n) {
      const cap = toUnits(this.reg.budget(agentBudgetId(agentId)).max, 'max');
      this.reg.resize(agentBudgetId(agentId), cap + granted, change);
    }
    return { requested: unitsToDecimal(requested), approved: unitsToDecimal(approved), granted: unitsToDecimal(granted), decision, note };
  }
}
