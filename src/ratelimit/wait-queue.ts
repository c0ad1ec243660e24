/**
 * Queue mode: a call refused by a rate limit waits for its turn instead of throwing.
 * Waiters of one window form a FIFO queue (p-queue, one at a time), so they are admitted
 * in arrival order and many waiters waking at once can never pass the limit: each
 * re-admission is one atomic store operation. Sleeping goes through the injected clock.
 */
import PQueue from 'p-queue';
import type { Clock } from '../core/index.js';

/** What one admission attempt gave: a result, or a refusal with the time to wait. */
export type Attempt<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly retryAfterMs: number; readonly error: Error };

/** FIFO wait queues, one per rate-limit window key; a queue is dropped when it empties. */
export class WaitQueues {
  private readonly queues = new Map<string, PQueue>();

  constructor(private readonly clock: Clock) {}

  /** True while calls wait on `key`: a newcomer in wait mode queues behind them instead of jumping ahead. */
  busy(key: string): boolean {
    const q = this.queues.get(key);
    return q !== undefined && (q.size > 0 || q.pending > 0);
  }

  /** Number of calls waiting or being admitted on `key`. */
  waiting(key: string): number {
    const q = this.queues.get(key);
    return q === undefined ? 0 : q.size + q.pending;
  }

  /**
   * Wait on `key` in arrival order, then call `attempt` until it admits, sleeping the
   * `retryAfterMs` each refusal gives. Throws the last refusal when the next retry would
   * come after `deadline` (epoch ms), and the signal's reason when `signal` aborts.
   */
  async run<T>(key: string, attempt: () => Promise<Attempt<T>>, deadline: number, signal?: AbortSignal): Promise<T> {
    let q = this.queues.get(key);
    if (q === undefined) {
      q = new PQueue({ concurrency: 1 });
      this.queues.set(key, q);
    }
    const queue = q;
    try {
      return await queue.add(
        async () => {
          for (;;) {
            signal?.throwIfAborted();
            const r = await attempt();
            if (r.ok) return r.value;
            if (this.clock.now() + r.retryAfterMs > deadline) throw r.error;
            await this.clock.sleep(r.retryAfterMs, signal);
          }
        },
        { signal },
      );
    } finally {
      if (queue.size === 0 && queue.pending === 0 && this.queues.get(key) === queue) this.queues.delete(key);
    }
  }
}
