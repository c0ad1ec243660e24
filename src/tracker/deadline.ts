/**
 * A pid's deadline: ONE sleep on the injected clock per pid with calls running (not one
 * per call), which warns at the soft timeout and aborts the pid's signal at the hard one.
 * Every running call of the pid follows that signal through its own controller.
 */
import type { Clock } from '../core/index.js';

/** The timer of one pid. */
export interface Deadline {
  /** Aborted when the pid's time runs out; running calls follow it. */
  readonly controller: AbortController;
  /** Aborted to stop the timer (release, close, a quota change). */
  stop: AbortController;
}

/**
 * Sleep until `softAt` (monotonic ms) and call `onSoft` unless `softDone`, then until
 * `hardAt` and call `onHard`. A stopped timer does nothing more.
 */
export async function runDeadline(
  clock: Clock,
  stop: AbortSignal,
  softAt: number,
  hardAt: number,
  softDone: () => boolean,
  onSoft: () => void,
  onHard: () => void,
): Promise<void> {
  try {
    const toSoft = softAt - clock.monotonic();
    if (!softDone() && toSoft > 0) {
      await clock.sleep(toSoft, stop);
      // The soft timeout may have been seen (and warned) by a call while this sleep was waking.
      if (!softDone()) onSoft();
    }
    const toHard = hardAt - clock.monotonic();
    if (toHard > 0) await clock.sleep(toHard, stop);
    if (stop.aborted) return;
    if (!softDone()) onSoft();
    onHard();
  } catch {
    // Stopped: the pid was released, its quota changed, or the tracker closed.
  }
}

/**
 * A controller that aborts when either signal does (with that signal's reason), and
 * `unlink` to stop following them once the call is over: long-lived signals must not
 * collect one listener per call.
 */
export function linkSignals(
  a: AbortSignal | undefined,
  b: AbortSignal | undefined,
): { readonly controller: AbortController; readonly unlink: () => void } {
  const controller = new AbortController();
  const followed: AbortSignal[] = [];
  const follow = function (this: AbortSignal): void {
    controller.abort(this.reason);
  };
  for (const s of [a, b]) {
    if (s === undefined) continue;
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    s.addEventListener('abort', follow, { once: true });
    followed.push(s);
  }
  if (controller.signal.aborted) for (const s of followed) s.removeEventListener('abort', follow);
  return {
    controller,
    unlink: () => {
      for (const s of followed) s.removeEventListener('abort', follow);
    },
  };
}
