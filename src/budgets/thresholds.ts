/**
 * Seed 004's thresholds and alerts: each threshold of a budget is sent once per period
 * per budget (recorded in the store by compare-and-set, so processes sharing a store send
 * it once) as a `budget.alert` event and to every alert channel.
 */
import { Decimal } from 'decimal.js';
import { InvalidInputError, scopeKey, validateScope, type Scope } from '../core/index.js';
import type { AlertChannel, BudgetAlert } from './alerts.js';
import type { HostLimitStatus, HostWarning } from './host.js';
import { percent, type Registry } from './registry.js';

/** Alert channels and the once-per-period record of sent thresholds. */
export class Thresholds {
  private readonly channels = new Set<AlertChannel>();

  constructor(
    private readonly reg: Registry,
    channels: readonly AlertChannel[],
  ) {
    for (const [i, ch] of channels.entries()) {
      if (typeof ch !== 'function') throw new InvalidInputError(`options.alertChannels[${i}]`, 'must be a function', ch);
      this.channels.add(ch);
    }
  }

  /** The engine crossed a threshold of a money budget: send its alert unless already sent this period. */
  onWarning(w: HostWarning): Promise<boolean> | undefined {
    if (w.meter !== 'cost') return undefined;
    return this.alertOnce({
      budget: w.limit,
      scope: w.scope,
      threshold: w.threshold,
      usagePercent: percent(new Decimal(w.used), new Decimal(w.max)),
      spent: w.used,
      amount: w.max,
      remaining: Decimal.max(new Decimal(w.max).minus(w.used), 0).toFixed(),
      currency: w.currency ?? this.reg.host.currency,
      hardLimit: w.enforcement === 'hard',
      period: w.period,
      at: w.at,
    });
  }

  /** Add an alert channel; returns a disposer. */
  addAlertChannel(channel: AlertChannel): () => void {
    if (typeof channel !== 'function') throw new InvalidInputError('channel', 'must be a function', channel);
    this.channels.add(channel);
    return () => void this.channels.delete(channel);
  }

  /** Seed 004's `check_and_alert`: send every threshold reached on `scope`'s chain and not yet sent this period. */
  async checkAndAlert(scope: Scope): Promise<BudgetAlert[]> {
    const statuses = await this.reg.host.status(validateScope(scope, 'scope', false));
    const sent: BudgetAlert[] = [];
    for (const s of statuses) {
      const info = this.reg.host.getBudget(s.limit);
      if (info === undefined) continue;
      for (const t of info.thresholds) {
        if (s.used.times(100).lt(s.max.times(t))) continue;
        const alert = this.alertOf(s, t);
        if (await this.alertOnce(alert)) sent.push(alert);
      }
    }
    return sent;
  }

  /** The thresholds of a budget already sent in this period. */
  async sentThresholds(budget: string, scope: string, period: string | undefined): Promise<number[]> {
    const v = await this.reg.host.store.getValue(alertKey(budget, scope, period));
    return v === undefined ? [] : (JSON.parse(v.value) as number[]);
  }

  private alertOf(s: HostLimitStatus, threshold: number): BudgetAlert {
    return {
      budget: s.limit,
      scope: s.scope,
      threshold,
      usagePercent: s.usagePercent,
      spent: s.used.toFixed(),
      amount: s.max.toFixed(),
      remaining: Decimal.max(s.max.minus(s.used), 0).toFixed(),
      currency: s.currency ?? this.reg.host.currency,
      hardLimit: s.enforcement === 'hard',
      period: s.period?.id,
      at: this.reg.host.clock.now(),
    };
  }

  /** Record the alert in the store (compare-and-set, so processes sharing a store send it once) and deliver it if new. */
  private async alertOnce(alert: BudgetAlert): Promise<boolean> {
    const key = alertKey(alert.budget, scopeKey(alert.scope), alert.period);
    for (;;) {
      const cur = await this.reg.host.store.getValue(key);
      const sent = cur === undefined ? [] : (JSON.parse(cur.value) as number[]);
      if (sent.includes(alert.threshold)) return false;
      const r = await this.reg.host.store.compareAndSet(key, cur?.version ?? 0, JSON.stringify([...sent, alert.threshold]));
      if (r.ok) break;
    }
    this.reg.host.emit('budget.alert', alert);
    await Promise.all(
      [...this.channels].map(async (ch) => {
        try {
          await ch(alert);
        } catch (error) {
          this.reg.host.emit('listener.error', { event: 'budget.alert', error });
        }
      }),
    );
    return true;
  }
}

function alertKey(budget: string, scope: string, period: string | undefined): string {
  return `budgets|alerted|${budget}|${scope}|${period ?? 'total'}`;
}
