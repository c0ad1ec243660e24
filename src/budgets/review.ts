/**
 * Scheduled budget reviews (seed 001): agents using under 10 % of their budget, agents
 * with under 10 % left, pools with under 20 % left.
 */
import type { Decimal } from 'decimal.js';

/** One thing a review found. */
export interface ReviewFinding {
  readonly kind: 'underused' | 'nearlyDepleted' | 'poolLow';
  /** The agent or pool id. */
  readonly id: string;
  readonly initial: string;
  readonly remaining: string;
  /** The seed's message ("consider reducing", "consider increasing", "consider rebalancing"). */
  readonly message: string;
}

/** The payload of the `budget.review` event. */
export interface BudgetReviewEvent {
  readonly findings: readonly ReviewFinding[];
  readonly at: number;
}

/** The seed's agent checks: remaining > 90 % of initial (under 10 % used), remaining < 10 % (nearly depleted). */
export function reviewAgent(id: string, initial: Decimal, remaining: Decimal): ReviewFinding | undefined {
  const base = { id, initial: initial.toFixed(), remaining: remaining.toFixed() };
  if (remaining.gt(initial.times('0.9')))
    return { ...base, kind: 'underused', message: `Agent ${id} using less than 10% of budget - consider reducing` };
  if (remaining.lt(initial.times('0.1')))
    return { ...base, kind: 'nearlyDepleted', message: `Agent ${id} budget nearly depleted - consider increasing` };
  return undefined;
}

/** The seed's pool check: remaining < 20 % of initial. */
export function reviewPool(id: string, initial: Decimal, remaining: Decimal): ReviewFinding | undefined {
  if (!remaining.lt(initial.times('0.2'))) return undefined;
  return {
    kind: 'poolLow',
    id,
    initial: initial.toFixed(),
    remaining: remaining.toFixed(),
    message: `Pool ${id} below 20% remaining - consider rebalancing`,
  };
}
