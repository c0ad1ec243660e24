/** Helpers shared by the bench files. */
import type { FnReturnedObject } from 'tinybench';

/**
 * The tinybench sample of a batch of `batch` back-to-back calls that started at `t0`: the
 * per-call mean as the sample, the whole batch as the time spent (so the time budget counts it).
 * One call costs from ~50 ns to a few µs, the order of performance.now() itself, so calls are
 * timed by the batch, not one by one.
 */
export function batchSample(t0: number, batch = 100): FnReturnedObject {
  const elapsed = performance.now() - t0;
  return { overriddenDuration: elapsed / batch, overriddenIterationCost: elapsed };
}
