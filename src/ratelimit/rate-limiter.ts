/**
 * Seed 002's `RateLimiter`: per-user and per-endpoint limits over sliding minute, hour
 * and day windows, a burst allowance and token limits. Every window lives in the Store
 * (its sliding-window primitive), so with a shared store every process sees one limit;
 * a check is one store operation that checks and records all windows, all or none.
 */
import { z } from 'zod';
import { InvalidInputError, systemClock, validateId, type Clock, isPromiseLike, parseInput, clockSchema } from '../core/index.js';
import { MemoryStore, type ReserveResult, type Store, type WindowItem, storeSchema } from '../storage/index.js';
import {
  compileConfig,
  DEFAULT_RATE_LIMIT_CONFIG,
  type CompiledConfig,
  type LimitType,
  type RateLimitConfig,
  type WindowSpec,
} from './config.js';

/** The answer of a check, as the seed's `RateLimitResult`. */
export interface RateLimitResult {
  readonly exceeded: boolean;
  /** Requests left in the tightest request window after this one (`Infinity` when no window limits requests). */
  readonly remaining: number;
  /** The window that refused, or (when allowed) the tightest request window; `null` when none applies. */
  readonly limitType: LimitType | null;
  /** Count in that window (after this request, when allowed). */
  readonly current: number;
  /** That window's limit. */
  readonly limit: number;
  /** Seconds until a retry can succeed: 0 when allowed, never 0 when exceeded; `Infinity` when the request can never fit. */
  readonly retryAfter: number;
  /** The same in milliseconds. */
  readonly retryAfterMs: number;
}

/** Where one window stands (seed `get_usage`). */
export interface WindowUsage {
  readonly current: number;
  readonly limit: number;
  readonly remaining: number;
  /** Seconds until the window is empty. */
  readonly resetInSeconds: number;
  /** Ms until one more request fits (0 if it fits now). */
  readonly retryAfterMs: number;
}

/** Options of {@link RateLimiter}. */
export interface RateLimiterOptions {
  /** Where windows live (default: a new MemoryStore on `clock`). */
  store?: Store;
  clock?: Clock;
  /** The config of users and endpoints without their own (default: 60/min, 1,000/h, 10,000/day). */
  defaultConfig?: RateLimitConfig;
}

/** Window items for one (user, endpoint), as the pipeline reserves them. */
export interface LimiterWindows {
  readonly items: readonly WindowItem[];
  readonly specs: readonly (WindowSpec & { readonly suffix: string })[];
  readonly userId: string;
  readonly endpoint: string;
}

const NO_COUNTERS: never[] = [];

const optionsSchema = z
  .object({
    store: storeSchema.optional(),
    clock: clockSchema.optional(),
    defaultConfig: z.unknown().optional(),
  })
  .strict();

function esc(id: string): string {
  return id.indexOf('|') < 0 && id.indexOf('%') < 0 ? id : id.replace(/[%|]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const CODES: Record<LimitType, string> = {
  burst: 'b',
  minute: 'm',
  hour: 'h',
  day: 'd',
  tokensPerMinute: 'tm',
  tokensPerHour: 'th',
  tokensPerDay: 'td',
};

/**
 * A short key suffix per window. The window's shape is part of it (the burst window's
 * length, the exact mode), so changing either starts a new window instead of clashing
 * with the old one: a store keeps the shape a key was created with.
 */
function suffix(w: WindowSpec): string {
  return `|${CODES[w.type]}${w.type === 'burst' ? w.windowMs : ''}${w.mode === 'exact' ? 'x' : ''}`;
}

/** Sliding-window rate limits per user and per endpoint. */
export class RateLimiter {
  readonly store: Store;
  readonly clock: Clock;
  private defaults: Keyed;
  private readonly users = new Map<string, Keyed>();
  private readonly endpoints = new Map<string, Keyed>();
  /**
   * The window items of the last (user, endpoint) checked without tokens; cleared whenever a
   * config changes. One entry, not a map: a hot user hits it, and a stream of distinct users
   * pays one string compare. A two-generation map cache measured 40 % slower over 100,000
   * users round-robin (its entries outlive a scavenge and are promoted) for ~35 ns saved on a hot key.
   */
  private last: LimiterWindows | undefined;

  constructor(options: RateLimiterOptions = {}) {
    parseInput(optionsSchema, options, 'options');
    this.clock = options.clock ?? systemClock;
    this.store = options.store ?? new MemoryStore({ clock: this.clock });
    this.defaults = keyed(compileConfig(options.defaultConfig ?? DEFAULT_RATE_LIMIT_CONFIG, 'defaultConfig'));
  }

  /** Set the config of users and endpoints that have none of their own. */
  setDefaultConfig(config: RateLimitConfig): void {
    this.defaults = keyed(compileConfig(config, 'config'));
    this.invalidate();
  }

  /** Set the limits of one user (over every endpoint without limits of its own). */
  setUserLimits(userId: string, config: RateLimitConfig): void {
    validateId(userId, 'userId');
    this.users.set(userId, keyed(compileConfig(config, 'config')));
    this.invalidate();
  }

  /** Drop a user's own limits (the default applies again). True when it had some. */
  removeUserLimits(userId: string): boolean {
    validateId(userId, 'userId');
    this.invalidate();
    return this.users.delete(userId);
  }

  /** Set the limits of an endpoint; they override user limits, as in the seed. */
  setEndpointLimits(endpoint: string, config: RateLimitConfig): void {
    validateId(endpoint, 'endpoint');
    this.endpoints.set(endpoint, keyed(compileConfig(config, 'config')));
    this.invalidate();
  }

  /** Drop an endpoint's limits. True when it had some. */
  removeEndpointLimits(endpoint: string): boolean {
    validateId(endpoint, 'endpoint');
    this.invalidate();
    return this.endpoints.delete(endpoint);
  }

  /** The config in force for a user on an endpoint: the endpoint's, else the user's, else the default. */
  getConfig(userId: string, endpoint?: string): RateLimitConfig {
    validateId(userId, 'userId');
    if (endpoint !== undefined) validateId(endpoint, 'endpoint');
    return this.effective(userId, endpoint ?? 'default').config;
  }

  /**
   * Check a request of `userId` on `endpoint` against every window of its config, and
   * record it (unless `record` is false) in all of them, all or none. A request that
   * carries `tokens` counts them on the token windows. Refusals are data, not throws.
   */
  checkRateLimit(userId: string, endpoint = 'default', record = true, options?: { tokens?: number }): Promise<RateLimitResult> {
    // Not async: with a synchronous store (MemoryStore) the whole check runs without a microtask.
    let w: LimiterWindows;
    let res: ReserveResult | Promise<ReserveResult>;
    try {
      if (typeof record !== 'boolean') throw new InvalidInputError('record', 'must be a boolean', record);
      if (options !== undefined) checkCheckOptions(options);
      w = this.windowsFor(userId, endpoint, options?.tokens ?? 0);
      res = this.store.reserve({ counters: NO_COUNTERS, windows: w.items, leaseMs: 1, dryRun: !record });
    } catch (e) {
      return Promise.reject(e);
    }
    return isPromiseLike(res) ? Promise.resolve(res).then((r) => result(w, r)) : Promise.resolve(result(w, res));
  }

  /** Where each window of a user on an endpoint stands, by window type. */
  async getUsage(userId: string, endpoint = 'default'): Promise<Partial<Record<LimitType, WindowUsage>>> {
    const w = this.windowsFor(userId, endpoint, 0);
    const states = await this.store.readWindows(w.items);
    const out: Partial<Record<LimitType, WindowUsage>> = {};
    w.specs.forEach((spec, i) => {
      const st = states[i]!;
      out[spec.type] = {
        current: st.count,
        limit: spec.limit,
        remaining: Math.max(0, spec.limit - st.count),
        resetInSeconds: st.resetMs / 1000,
        retryAfterMs: st.retryAfterMs,
      };
    });
    return out;
  }

  /** Clear every window of a user, on every endpoint; returns how many windows were cleared. */
  async resetUser(userId: string): Promise<number> {
    validateId(userId, 'userId');
    const keys = await this.store.keys(`rl|${esc(userId)}|`);
    return keys.length === 0 ? 0 : this.store.delete(keys);
  }

  /** Drop expired window data now (the store also does it as it goes); returns how many entries went. */
  async cleanupExpired(): Promise<number> {
    return this.store.sweep === undefined ? 0 : this.store.sweep();
  }

  /** The window items of a request of `userId` on `endpoint` carrying `tokens` (used by the governor's pipeline). */
  windowsFor(userId: string, endpoint: string, tokens: number): LimiterWindows {
    if (typeof userId !== 'string' || userId.length === 0 || userId.length > 256) validateId(userId, 'userId');
    if (typeof endpoint !== 'string' || endpoint.length === 0 || endpoint.length > 256) validateId(endpoint, 'endpoint');
    if (tokens !== 0 && (!Number.isSafeInteger(tokens) || tokens < 0))
      throw new InvalidInputError('tokens', 'must be a non-negative whole number', tokens);
    if (tokens === 0) {
      // Requests without tokens always carry the same items: reuse them, keys already hashed.
      const hit = this.last;
      if (hit !== undefined && hit.userId === userId && hit.endpoint === endpoint) return hit;
    }
    const cc = this.effective(userId, endpoint);
    const prefix = `rl|${esc(userId)}|${esc(endpoint)}`;
    const items: WindowItem[] = [];
    for (const spec of cc.windows) {
      items.push({
        key: prefix + spec.suffix,
        windowMs: spec.windowMs,
        limit: spec.limit,
        weight: spec.weighs === 'requests' ? 1 : tokens,
        buckets: spec.buckets,
        mode: spec.mode,
      });
    }
    const out = { items, specs: cc.windows, userId, endpoint };
    if (tokens === 0) this.last = out;
    return out;
  }

  private invalidate(): void {
    this.last = undefined;
  }

  private effective(userId: string, endpoint: string): Keyed {
    return this.endpoints.get(endpoint) ?? this.users.get(userId) ?? this.defaults;
  }
}

function checkCheckOptions(options: { tokens?: number }): void {
  if (options === null || typeof options !== 'object') throw new InvalidInputError('options', 'must be an object', options);
  for (const k in options)
    if (k !== 'tokens') throw new InvalidInputError(`options.${k}`, 'is not a known option', (options as Record<string, unknown>)[k]);
}

/** A compiled config with each window's key suffix computed once. */
interface Keyed extends CompiledConfig {
  readonly windows: readonly (WindowSpec & { readonly suffix: string })[];
}

function keyed(c: CompiledConfig): Keyed {
  return { config: c.config, windows: c.windows.map((w) => ({ ...w, suffix: suffix(w) })) };
}

function result(w: LimiterWindows, res: ReserveResult): RateLimitResult {
  if (!res.ok) {
    const f = res.failure as { index: number; count: number; retryAfterMs: number | null };
    const spec = w.specs[f.index] as WindowSpec;
    const retryAfterMs = f.retryAfterMs ?? Infinity;
    return {
      exceeded: true,
      remaining: 0,
      limitType: spec.type,
      current: f.count,
      limit: spec.limit,
      retryAfter: retryAfterMs / 1000,
      retryAfterMs,
    };
  }
  let tight = -1;
  let remaining = Infinity;
  for (let i = 0; i < w.specs.length; i++) {
    const spec = w.specs[i] as WindowSpec;
    if (spec.weighs !== 'requests') continue;
    const left = spec.limit - (res.windowCounts[i] as number);
    if (left < remaining) {
      remaining = left;
      tight = i;
    }
  }
  if (tight < 0) return { exceeded: false, remaining, limitType: null, current: 0, limit: 0, retryAfter: 0, retryAfterMs: 0 };
  const spec = w.specs[tight] as WindowSpec;
  return {
    exceeded: false,
    remaining,
    limitType: spec.type,
    current: res.windowCounts[tight] as number,
    limit: spec.limit,
    retryAfter: 0,
    retryAfterMs: 0,
  };
}
