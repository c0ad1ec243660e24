/**
 * Scheduled budget reviews (seed 001): agents using under 10 % of their budget, agents
 * with under 10 % left, pools with under 20 % left.
 */
import type { Decimal } from 'decimal.js';
import { InvalidInputError, parseDuration } from '../core/index.js';
import type { Metrics } from './metrics.js';
import { checkOptions } from './options.js';
import type { Registry } from './registry.js';

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
function reviewAgent(id: string, initial: Decimal, remaining: Decimal): ReviewFinding | undefined {
  const base = { id, initial: initial.toFixed(), remaining: remaining.toFixed() };
  if (remaining.gt(initial.times('0.9')))
    return { ...base, kind: 'underused', message: `Agent ${id} using less than 10% of budget - consider reducing` };
  if (remaining.lt(initial.times('0.1')))
    return { ...base, kind: 'nearlyDepleted', message: `Agent ${id} budget nearly depleted - consider increasing` };
  return undefined;
}

/** The seed's pool check: remaining < 20 % of initial. */
function reviewPool(id: string, initial: Decimal, remaining: Decimal): ReviewFinding | undefined {
  if (!remaining.lt(initial.times('0.2'))) return undefined;
  return {
    kind: 'poolLow',
    id,
    initial: initial.toFixed(),
    remaining: remaining.toFixed(),
    message: `Pool ${id} below 20% remaining - consider rebalancing`,
  };
}

/** Reviews run now or on a schedule over the injected clock. */
export class Reviews {
  private readonly reviews = new Set<AbortController>();

  constructor(
    private readonly reg: Registry,
    private readonly metrics: Metrics,
  ) {}

  /** Run the seed's review now: agents under 10 % used or under 10 % left, pools under 20 % left. Emits `budget.review`. */
  async review(): Promise<ReviewFinding[]> {
    const findings: ReviewFinding[] = [];
    for (const [id, m] of Object.entries(await this.metrics.getAllAgentMetrics())) {
      const f = reviewAgent(id, m.initial, m.remaining);
      if (f !== undefined) findings.push(f);
    }
    for (const [id, m] of Object.entries(await this.metrics.getAllPoolMetrics())) {
      const f = reviewPool(id, m.initial, m.remaining);
      if (f !== undefined) findings.push(f);
    }
    this.reg.host.emit('budget.review', { findings, at: this.reg.host.clock.now() });
    return findings;
  }

  /** Run {@link review} every `every` on the clock (its timer never keeps the process alive). Returns a stopper. */
  scheduleReview(options: { readonly every: number | string }): { stop(): void } {
    if (options === undefined) throw new InvalidInputError('options', 'must be an object', options);
    checkOptions(options, ['every'], 'options');
    const every = parseDuration(options.every, 'options.every');
    const ac = new AbortController();
    this.reviews.add(ac);
    const loop = async (): Promise<void> => {
      while (!ac.signal.aborted) {
        try {
          await this.reg.host.clock.sleep(every, ac.signal);
        } catch {
          return;
        }
        try {
          await this.review();
        } catch (error) {
          this.reg.host.emit('listener.error', { event: 'budget.review', error });
        }
      }
    };
    void loop();
    return {
      stop: () => {
        ac.abort();
        this.reviews.delete(ac);
      },
    };
  }

  /** Stop every scheduled review. */
  stop(): void {
    for (const ac of this.reviews) ac.abort();
    this.reviews.clear();
  }
}
