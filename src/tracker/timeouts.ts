/**
 * Elapsed time of a tracked pid: the soft-timeout warning and the timeout violation (each
 * once, from whichever comes first: a read, a call or the pid's timer), and the timer that
 * aborts the pid's running calls when its time runs out.
 */
import { formatUnits, scopeKey, type GovernorError } from '../core/index.js';
import type { TrackerContext } from './context.js';
import { runDeadline, type Deadline } from './deadline.js';
import { ResourceLimitError } from './errors.js';
import { SOFT_WARNED, TIMED_OUT, type PidState } from './pid-state.js';

/** Elapsed ms of a pid; fires the soft-timeout warning and the timeout violation the first time each is passed. */
export function observe(ctx: TrackerContext, pid: string, st: PidState): number {
  const elapsed = ctx.clock.monotonic() - st.started;
  if (elapsed >= st.quota.softMs && (st.flags & SOFT_WARNED) === 0) softWarning(ctx, pid, st, elapsed);
  if (elapsed >= st.quota.deadlineMs && (st.flags & TIMED_OUT) === 0) timedOut(ctx, pid, st, elapsed);
  return elapsed;
}

function softWarning(ctx: TrackerContext, pid: string, st: PidState, elapsedMs: number): void {
  st.flags |= SOFT_WARNED;
  const q = st.quota.quota;
  ctx.emit('warning', {
    limit: 'tracker.softTimeoutSeconds',
    meter: 'elapsedSeconds',
    scope: ctx.scopeOf(pid),
    used: formatUnits(BigInt(Math.floor(elapsedMs * 1000)), 6),
    max: String(q.timeoutSeconds),
    threshold: Math.round((q.softTimeoutSeconds / q.timeoutSeconds) * 10_000) / 100,
    enforcement: 'soft',
    period: undefined,
    currency: undefined,
    at: ctx.clock.now(),
    pid,
  });
}

function timedOut(ctx: TrackerContext, pid: string, st: PidState, elapsedMs: number): void {
  st.flags |= TIMED_OUT;
  const cap = st.quota.deadline;
  ctx.emit('violation', {
    type: 'exceeded',
    code: 'timeout_exceeded',
    limit: cap.id,
    meter: 'elapsedSeconds',
    scope: ctx.scopeOf(pid),
    requested: '0',
    available: '0',
    used: formatUnits(BigInt(Math.floor(elapsedMs * 1000)), 6),
    max: formatUnits(cap.max, 6),
    retryAfterMs: undefined,
    period: undefined,
    at: ctx.clock.now(),
    pid,
  });
}

/** (Re)start a pid's timer for its current quota; a deadline already passed gets a fresh signal only if the new quota allows more time. */
export function rearm(ctx: TrackerContext, pid: string, st: PidState): void {
  const old = st.deadline;
  if (old !== undefined) old.stop.abort();
  const elapsed = ctx.clock.monotonic() - st.started;
  const controller =
    old === undefined || (old.controller.signal.aborted && elapsed < st.quota.deadlineMs) ? new AbortController() : old.controller;
  if (elapsed < st.quota.softMs) st.flags &= ~SOFT_WARNED;
  if (elapsed < st.quota.deadlineMs) st.flags &= ~TIMED_OUT;
  const d: Deadline = { controller, stop: new AbortController() };
  st.deadline = d;
  if (controller.signal.aborted) return;
  void runDeadline(
    ctx.clock,
    d.stop.signal,
    st.started + st.quota.softMs,
    st.started + st.quota.deadlineMs,
    () => (st.flags & SOFT_WARNED) !== 0,
    () => softWarning(ctx, pid, st, ctx.clock.monotonic() - st.started),
    () => {
      const e = ctx.clock.monotonic() - st.started;
      if ((st.flags & TIMED_OUT) === 0) timedOut(ctx, pid, st, e);
      controller.abort(timeoutError(ctx, pid, st));
    },
  );
}

function timeoutError(ctx: TrackerContext, pid: string, st: PidState): GovernorError {
  const cap = st.quota.deadline;
  return new ResourceLimitError('timeout_exceeded', {
    limit: cap.id,
    meter: 'elapsedSeconds',
    scope: scopeKey(ctx.scopeOf(pid)),
    requested: '0',
    available: '0',
    max: formatUnits(cap.max, 6),
    retryAfterMs: undefined,
    resource: 'timeSeconds',
    alternatives: [],
  });
}
