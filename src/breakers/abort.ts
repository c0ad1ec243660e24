/**
 * Abort plumbing for timeouts: a controller that also aborts when the caller's signal
 * does, and a way to stop listening once the call is over (a long-lived caller signal
 * must not collect one listener per call).
 */

/** A controller linked to `signal` (aborting with its reason), and `unlink` to stop following it. */
export function linkedController(signal: AbortSignal | undefined): { controller: AbortController; unlink: () => void } {
  const controller = new AbortController();
  if (signal === undefined) return { controller, unlink: noop };
  if (signal.aborted) {
    controller.abort(signal.reason);
    return { controller, unlink: noop };
  }
  const follow = (): void => controller.abort(signal.reason);
  signal.addEventListener('abort', follow, { once: true });
  return { controller, unlink: () => signal.removeEventListener('abort', follow) };
}

function noop(): void {}
