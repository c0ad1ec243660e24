/**
 * Budget alerts (seed 004): a threshold of a budget reached, sent once per period per
 * budget and threshold to every alert channel. A channel is any function; the webhook
 * notifier ships here, built on `fetch` with retries and a timeout on the injected clock.
 */
import { InvalidInputError, parseDuration, systemClock, type Clock, type Duration, type Scope } from '../core/index.js';

/** A threshold of a budget was reached. Amounts are decimal strings in `currency`. */
export interface BudgetAlert {
  /** The budget's id. */
  readonly budget: string;
  /** The scope the budget counts on. */
  readonly scope: Scope;
  /** The threshold reached, in percent of the budget. */
  readonly threshold: number;
  readonly usagePercent: number;
  readonly spent: string;
  readonly amount: string;
  readonly remaining: string;
  readonly currency: string;
  readonly hardLimit: boolean;
  /** The calendar period instance (`2026-11`), if the budget has one. */
  readonly period: string | undefined;
  readonly at: number;
}

/** Where alerts go: email, Slack, a webhook, a pager. Its failure is reported as `listener.error`. */
export type AlertChannel = (alert: BudgetAlert) => unknown;

/** Options of {@link webhookChannel}. */
export interface WebhookChannelOptions {
  /** Where to POST the alert as JSON. */
  readonly url: string | URL;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** Retries after the first attempt on a network error, a timeout, 429 or 5xx (default 3). */
  readonly retries?: number | undefined;
  /** Time allowed per attempt (default `'5s'`). */
  readonly timeoutMs?: Duration | undefined;
  /** Wait before the first retry, doubled for each next one (default 200 ms). */
  readonly backoffMs?: Duration | undefined;
  /** Clock for the timeout and the backoff (default: the system clock; its timers are unref'd). */
  readonly clock?: Clock | undefined;
  /** The fetch to use (default: the global one). */
  readonly fetch?: typeof globalThis.fetch | undefined;
}

/** A webhook delivery failed after every retry. */
export class WebhookDeliveryError extends Error {
  override readonly name = 'WebhookDeliveryError';
  constructor(
    readonly attempts: number,
    readonly status: number | undefined,
    cause: unknown,
  ) {
    super(`webhook delivery failed after ${attempts} attempts${status === undefined ? '' : ` (last status ${status})`}`, { cause });
  }
}

/**
 * An alert channel that POSTs each alert as JSON to `url`. Resolves once a 2xx answers;
 * retries network errors, timeouts, 429 and 5xx with doubling backoff; other statuses
 * fail at once. Rejects with a `WebhookDeliveryError` when it gives up.
 */
export function webhookChannel(options: WebhookChannelOptions): (alert: BudgetAlert) => Promise<void> {
  if (options === null || typeof options !== 'object') throw new InvalidInputError('options', 'must be an object', options);
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new InvalidInputError('options.url', 'must be an absolute URL', options.url);
  }
  const retries = options.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0 || retries > 20)
    throw new InvalidInputError('options.retries', 'must be an integer from 0 to 20', retries);
  const timeoutMs = options.timeoutMs === undefined ? 5000 : parseDuration(options.timeoutMs, 'options.timeoutMs');
  const backoffMs = options.backoffMs === undefined ? 200 : parseDuration(options.backoffMs, 'options.backoffMs', true);
  const clock = options.clock ?? systemClock;
  const doFetch = options.fetch ?? globalThis.fetch;
  if (typeof doFetch !== 'function') throw new InvalidInputError('options.fetch', 'must be a function', doFetch);
  const headers = { 'content-type': 'application/json', ...options.headers };
  return async (alert: BudgetAlert): Promise<void> => {
    const body = JSON.stringify(alert);
    let lastStatus: number | undefined;
    let lastError: unknown;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await clock.sleep(backoffMs * 2 ** (attempt - 1));
      const ac = new AbortController();
      const timer = new AbortController();
      const timeout = clock.sleep(timeoutMs, timer.signal).then(
        () => ac.abort(new Error(`webhook timed out after ${timeoutMs} ms`)),
        () => undefined,
      );
      try {
        const res = await doFetch(url, { method: 'POST', headers, body, signal: ac.signal });
        lastStatus = res.status;
        // Drain the body so the connection can be reused.
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        lastError = new Error(`webhook answered ${res.status}`);
        if (res.status !== 429 && res.status < 500) throw new WebhookDeliveryError(attempt + 1, res.status, lastError);
      } catch (e) {
        if (e instanceof WebhookDeliveryError) throw e;
        lastError = ac.signal.aborted ? ac.signal.reason : e;
        lastStatus = undefined;
      } finally {
        timer.abort();
        await timeout;
      }
    }
    throw new WebhookDeliveryError(retries + 1, lastStatus, lastError);
  };
}
