/**
 * Seed 001's monitors and violations: user monitors run after each settled call of an
 * agent, spending limits that report `BUDGET_LIMIT_EXCEEDED`, and low-budget alerts that
 * report `LOW_BUDGET`, each delivered as a `violation` event.
 */
import { Decimal } from 'decimal.js';
import { InvalidInputError, toUnits, unitsToDecimal, type MoneyInput } from '../core/index.js';
import type { Metrics } from './metrics.js';
import { agentBudgetId, type Registry } from './registry.js';
import type { AgentMetrics, BudgetMonitor } from './types.js';
import { AlertSeverity, ViolationType, type BudgetViolation, type ViolationReport } from './violations.js';

/** Budget monitors per agent. */
export class Monitors {
  private readonly monitors = new Map<string, Set<BudgetMonitor>>();
  /** Whether each agent (per period) is below the low-budget line: a dip reports once. */
  private readonly lowState = new Map<string, boolean>();
  private lowBudgetPercent: number | undefined;

  constructor(
    private readonly reg: Registry,
    private readonly metrics: Metrics,
  ) {}

  /** True when a settled call of this agent has anything to check. */
  watches(agentId: string): boolean {
    return this.reg.agents.has(agentId) && (this.monitors.has(agentId) || this.lowBudgetPercent !== undefined);
  }

  /** Drop a deleted agent's monitors. */
  forget(agentId: string): void {
    this.monitors.delete(agentId);
  }

  /** Run `monitor` after each settled call of the agent; a returned report becomes a `violation` event. Returns a disposer. */
  registerBudgetMonitor(agentId: string, monitor: BudgetMonitor): () => void {
    this.reg.agent(agentId, 'agentId');
    if (typeof monitor !== 'function') throw new InvalidInputError('monitor', 'must be a function', monitor);
    let set = this.monitors.get(agentId);
    if (set === undefined) this.monitors.set(agentId, (set = new Set()));
    set.add(monitor);
    return () => {
      set.delete(monitor);
      if (set.size === 0 && this.monitors.get(agentId) === set) this.monitors.delete(agentId);
    };
  }

  /**
   * Seed 001's spending limit: a monitor that reports `BUDGET_LIMIT_EXCEEDED` (severity
   * MEDIUM) when the agent's spending passes `limit`, once each time it goes past.
   */
  setSpendingLimit(agentId: string, limit: MoneyInput): () => void {
    const cap = unitsToDecimal(toUnits(limit, 'limit'));
    let over = false;
    return this.registerBudgetMonitor(agentId, (_id, spent) => {
      const now = spent.gt(cap);
      const report = now && !over;
      over = now;
      if (!report) return true;
      return {
        violationType: ViolationType.BUDGET_LIMIT_EXCEEDED,
        severity: AlertSeverity.MEDIUM,
        message: `Agent exceeded spending limit of ${cap.toFixed()}`,
        details: { limit: cap.toFixed(), spent: spent.toFixed(), overage: spent.minus(cap).toFixed() },
      };
    });
  }

  /** Seed 001's low-budget alerts: every agent reports `LOW_BUDGET` when at most `thresholdPercent` (15) of its budget is left, once per dip. */
  setupLowBudgetAlerts(thresholdPercent = 15): void {
    if (typeof thresholdPercent !== 'number' || !(thresholdPercent >= 0 && thresholdPercent <= 100)) {
      throw new InvalidInputError('thresholdPercent', 'must be a number from 0 to 100', thresholdPercent);
    }
    this.lowBudgetPercent = thresholdPercent;
  }

  /** Deliver a violation for an agent as a `violation` event; returns the payload. */
  async reportViolation(agentId: string, report: ViolationReport, metrics?: AgentMetrics): Promise<BudgetViolation> {
    const m = metrics ?? (await this.metrics.getAgentMetrics(agentId));
    if (!Object.values(ViolationType).includes(report.violationType))
      throw new InvalidInputError('report.violationType', 'must be a ViolationType', report.violationType);
    if (!Object.values(AlertSeverity).includes(report.severity))
      throw new InvalidInputError('report.severity', 'must be an AlertSeverity', report.severity);
    const v: BudgetViolation = {
      type: 'reported',
      code: report.violationType.toLowerCase(),
      violationType: report.violationType,
      severity: report.severity,
      agentId,
      message: report.message,
      details: { ...report.details },
      limit: agentBudgetId(agentId),
      meter: 'cost',
      scope: { agent: agentId },
      requested: '0',
      available: m.remaining.toFixed(),
      used: m.used.toFixed(),
      max: m.initial.toFixed(),
      retryAfterMs: undefined,
      period: m.period,
      at: this.reg.host.clock.now(),
    };
    this.reg.host.emit('violation', v);
    return v;
  }

  /** Run the agent's monitors (and the low-budget check) now; returns the violations reported. */
  async checkMonitors(agentId: string): Promise<BudgetViolation[]> {
    const m = await this.metrics.getAgentMetrics(agentId);
    const out: BudgetViolation[] = [];
    for (const monitor of [...(this.monitors.get(agentId) ?? [])]) {
      let r: Awaited<ReturnType<BudgetMonitor>>;
      try {
        r = await monitor(agentId, m.used, m);
      } catch (error) {
        this.reg.host.emit('listener.error', { event: 'budget.monitor', error });
        continue;
      }
      if (r !== null && typeof r === 'object') out.push(await this.reportViolation(agentId, r, m));
    }
    const pct = this.lowBudgetPercent;
    if (pct !== undefined) {
      const left = m.initial.lte(0) ? new Decimal(0) : m.remaining.times(100).div(m.initial);
      const low = left.lte(pct);
      const key = `${agentId}|${m.period ?? ''}`;
      const was = this.lowState.get(key) === true;
      this.lowState.set(key, low);
      if (low && !was) {
        out.push(
          await this.reportViolation(
            agentId,
            {
              violationType: ViolationType.LOW_BUDGET,
              severity: AlertSeverity.MEDIUM,
              message: `Agent budget below ${pct}% threshold`,
              details: {
                current_budget: m.remaining.toFixed(),
                initial_budget: m.initial.toFixed(),
                percentage_remaining: Number(left.toDecimalPlaces(2).toFixed()),
              },
            },
            m,
          ),
        );
      }
    }
    return out;
  }
}
