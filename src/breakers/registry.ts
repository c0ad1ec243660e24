/**
 * `BreakerRegistry`: the breakers of one store, keyed by what fails together (a
 * provider, a provider's model, a tool). `for(key)` creates a breaker on first use with
 * the registry's default options; `configure(key, options)` gives a key its own.
 */
import { InvalidInputError, parseInput, systemClock, validateId, type Clock } from '../core/index.js';
import { MemoryStore, type Store } from '../storage/index.js';
import { CircuitBreaker, internalOptions } from './circuit-breaker.js';
import type { BreakerEventListener } from './events.js';
import { breakerPlacementSchema, resolveBreakerOptions, type BreakerOptions, type ResolvedBreakerOptions } from './options.js';
import type { BreakerState } from './state.js';

/** A breaker key: any id, or the provider (and model) whose failures it counts: `{ provider: 'openai', model: 'gpt-4o' }` is `'openai/gpt-4o'`. */
export type BreakerKey = string | { readonly provider: string; readonly model?: string | undefined };

/** Options of a {@link BreakerRegistry}. */
export interface BreakerRegistryOptions {
  /** Where breaker state lives (default: a new `MemoryStore` on `clock`). */
  readonly store?: Store | undefined;
  /** Time source (default: the system clock). */
  readonly clock?: Clock | undefined;
  /** Options every breaker starts from. */
  readonly defaults?: BreakerOptions | undefined;
  /** Told of every transition the registry's breakers make. */
  readonly onEvent?: BreakerEventListener | undefined;
  /** The name `invalid_input` errors give the defaults (default `'breakers'`). */
  readonly field?: string | undefined;
}

/** The key of a breaker: a string as is, `{ provider, model }` as `provider/model` (`provider` alone without a model). */
export function breakerKey(key: unknown, field = 'key'): string {
  if (typeof key === 'string') return validateId(key, field);
  if (key !== null && typeof key === 'object' && !Array.isArray(key)) {
    const { provider, model, ...rest } = key as { provider?: unknown; model?: unknown };
    const extra = Object.keys(rest)[0];
    if (extra !== undefined)
      throw new InvalidInputError(`${field}.${extra}`, 'is not a known option', (rest as Record<string, unknown>)[extra]);
    const p = validateId(provider, `${field}.provider`);
    return model === undefined ? p : `${p}/${validateId(model, `${field}.model`)}`;
  }
  throw new InvalidInputError(field, 'must be a breaker key string or { provider, model }', key);
}

/** The breakers of one store, by key. */
export class BreakerRegistry {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly defaults: ResolvedBreakerOptions;
  private readonly onEvent: BreakerEventListener | undefined;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly own = new Map<string, ResolvedBreakerOptions>();

  /** Create a registry; the default options are validated here (`invalid_input` names the field). */
  constructor(options: BreakerRegistryOptions = {}) {
    if (options === null || typeof options !== 'object') throw new InvalidInputError('options', 'must be an object', options);
    const { defaults, field, store, clock, onEvent, ...rest } = options;
    parseInput(breakerPlacementSchema.strict(), { store, clock, onEvent, ...rest }, 'options');
    if (field !== undefined && typeof field !== 'string') throw new InvalidInputError('options.field', 'must be a string', field);
    this.clock = options.clock ?? systemClock;
    this.store = options.store ?? new MemoryStore({ clock: this.clock });
    this.defaults = resolveBreakerOptions(options.defaults ?? {}, options.field ?? 'breakers');
    this.onEvent = options.onEvent;
  }

  /** The breaker of `key`, created with the default options (or the key's own, see {@link configure}) on first use. */
  for(key: BreakerKey): CircuitBreaker {
    if (typeof key === 'string') {
      const hit = this.breakers.get(key);
      if (hit !== undefined) return hit;
    }
    const k = breakerKey(key);
    return this.breakers.get(k) ?? this.create(k, this.own.get(k) ?? this.defaults);
  }

  /**
   * Give `key` its own options, over the registry's defaults (a field not given keeps the
   * default). The state in the store is kept; breakers already handed out by `for` keep
   * their old options, so configure a key before its first use.
   */
  configure(key: BreakerKey, options: BreakerOptions): CircuitBreaker {
    const k = breakerKey(key);
    const resolved = resolveBreakerOptions(options, `breakers[${JSON.stringify(k)}]`, this.defaults);
    this.own.set(k, resolved);
    return this.create(k, resolved);
  }

  /** The state of `key`'s breaker now (a key never used reads closed). */
  getState(key: BreakerKey): Promise<BreakerState> {
    try {
      return this.for(key).getState();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The keys of the breakers this registry has handed out, in creation order. */
  keys(): string[] {
    return [...this.breakers.keys()];
  }

  /** The state of every breaker this registry knows, as plain JSON (keys in creation order). */
  async snapshot(): Promise<BreakerState[]> {
    return Promise.all([...this.breakers.values()].map((b) => b.getState()));
  }

  private create(key: string, options: ResolvedBreakerOptions): CircuitBreaker {
    const b = new CircuitBreaker(internalOptions({ key, store: this.store, clock: this.clock, options, onEvent: this.onEvent }));
    this.breakers.set(key, b);
    return b;
  }
}
