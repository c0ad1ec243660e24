/**
 * Seed 004's checks: `canExecute(scope, estimatedCost)` and `getBudgetStatus(scope)`,
 * read from the engine's budgets without holding anything.
 */
import { Decimal } from 'decimal.js';
import { scopeKey, toUnits, unitsToDecimal, validateScope, type BudgetAlternative, type MoneyInput, type Scope } from '../core/index.js';
import type { Registry } from './registry.js';
import type { Thresholds } from './thresholds.js';
import type { BudgetStatus, CanExecuteResult } from './types.js';

/** Would a call fit, and where does a budget stand. */
export class Checks {
  constructor(
    private readonly reg: Registry,
    private readonly thresholds: Thresholds,
  ) {}

  /** Cheaper options configured on a budget (for its refusal). */
  alternativesFor(budgetId: string): readonly BudgetAlternative[] {
    return this.reg.extras.get(budgetId)?.alternatives ?? [];
  }

  /**
   * Seed 004's `can_execute`: would a call costing `estimatedCost` fit every budget on
   * `scope`'s chain now? Soft budgets admit and warn; a hard one refuses, naming itself
   * and its alternatives. Nothing is held: the guarded call itself reserves atomically.
   */
  async canExecute(scope: Scope, estimatedCost: MoneyInput): Promise<CanExecuteResult> {
    const s = validateScope(scope, 'scope', false);
    const est = unitsToDecimal(toUnits(estimatedCost, 'estimatedCost'));
    const statuses = await this.reg.host.status(s);
    const warnings: string[] = [];
    for (const st of statuses) {
      const free = st.max.minus(st.used).minus(st.held);
      if (st.used.plus(st.held).plus(est).lte(st.max)) continue;
      const text = `budget ${st.limit} on ${scopeKey(st.scope) || '(global)'} has ${Decimal.max(free, 0).toFixed()} of ${st.max.toFixed()} ${st.currency ?? this.reg.host.currency} left; the call needs ${est.toFixed()}`;
      if (st.enforcement === 'hard') {
        return { canExecute: false, reason: text, budget: st.limit, alternatives: this.alternativesFor(st.limit), warnings };
      }
      warnings.push(`soft ${text}`);
    }
    return {
      canExecute: true,
      reason:
        statuses.length === 0
          ? 'no budget applies'
          : warnings.length > 0
            ? `admitted over a soft budget: ${warnings[0] as string}`
            : 'within budget',
      budget: undefined,
      alternatives: [],
      warnings,
    };
  }

  /** Seed 004's budget status of the budget set on exactly this scope (the tightest, if several). */
  async getBudgetStatus(scope: Scope): Promise<BudgetStatus> {
    const s = validateScope(scope, 'scope', false);
    const key = scopeKey(s);
    const own = (await this.reg.host.status(s)).filter((st) => scopeKey(st.scope) === key);
    if (own.length === 0) {
      const zero = new Decimal(0);
      return {
        hasBudget: false,
        id: undefined,
        budget: zero,
        spent: zero,
        remaining: zero,
        usagePercent: 0,
        alertNeeded: false,
        isOverBudget: false,
        hardLimit: false,
      };
    }
    const st = own.reduce((a, b) => (b.max.minus(b.used).lt(a.max.minus(a.used)) ? b : a));
    const info = this.reg.host.getBudget(st.limit);
    const sent = await this.thresholds.sentThresholds(st.limit, key, st.period?.id);
    const alertNeeded = (info?.thresholds ?? []).some((t) => !st.used.times(100).lt(st.max.times(t)) && !sent.includes(t));
    return {
      hasBudget: true,
      id: st.limit,
      budget: st.max,
      spent: st.used,
      remaining: Decimal.max(st.max.minus(st.used), 0),
      usagePercent: st.usagePercent,
      alertNeeded,
      isOverBudget: st.used.gte(st.max),
      hardLimit: st.enforcement === 'hard',
    };
  }
}
