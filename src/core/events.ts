/**
 * Typed events over eventemitter3. Listeners are wrapped so a throwing (or rejecting)
 * listener never breaks the call it was told about: the fault is reported as
 * `listener.error`.
 */
import { EventEmitter } from 'eventemitter3';

/** Something that can be subscribed to with typed payloads. */
export class TypedEvents<Events extends { [K in keyof Events]: object }> {
  private readonly emitter = new EventEmitter();
  private readonly onListenerError: (error: unknown, event: string) => void;

  constructor(onListenerError: (error: unknown, event: string) => void) {
    this.onListenerError = onListenerError;
  }

  /** Subscribe; returns a disposer that unsubscribes. */
  on<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => unknown): () => void {
    const wrapped = (payload: Events[K]): void => {
      try {
        const r = listener(payload);
        if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') {
          (r as Promise<unknown>).then(undefined, (e: unknown) => this.fault(e, event));
        }
      } catch (e) {
        this.fault(e, event);
      }
    };
    this.emitter.on(event, wrapped);
    return () => {
      this.emitter.off(event, wrapped);
    };
  }

  /** Subscribe for one payload; returns a disposer. */
  once<K extends keyof Events & string>(event: K, listener: (payload: Events[K]) => unknown): () => void {
    const dispose = this.on(event, (p) => {
      dispose();
      return listener(p);
    });
    return dispose;
  }

  /** Resolve with the next payload of `event` (handy in tests); rejects if `signal` aborts. */
  next<K extends keyof Events & string>(event: K, signal?: AbortSignal): Promise<Events[K]> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const dispose = this.once(event, resolve);
      signal?.addEventListener(
        'abort',
        () => {
          dispose();
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  /** True when anyone listens to `event` (lets emitters skip building payloads). */
  has(event: keyof Events & string): boolean {
    return this.emitter.listenerCount(event) > 0;
  }

  /** Deliver `payload` to the listeners of `event`. */
  emit<K extends keyof Events & string>(event: K, payload: Events[K]): void {
    this.emitter.emit(event, payload);
  }

  /** Remove every listener. */
  clear(): void {
    this.emitter.removeAllListeners();
  }

  private fault(error: unknown, event: string): void {
    try {
      this.onListenerError(error, event);
    } catch {
      // A faulty error handler has nowhere left to report to.
    }
  }
}
