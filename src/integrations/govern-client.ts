/**
 * A governed view of an SDK client: a Proxy that replaces a few methods on nested
 * resources (`chat.completions.create`, `messages.create`, ...) and hands everything
 * else through to the real client, bound to it (the SDKs keep `#private` state). The
 * user's client object is not changed.
 */

/** Replacement methods by path: `{ 'chat.completions': { create: (target, self) => fn } }`. */
export type Overrides = Record<string, Record<string, (target: Record<string, unknown>, self: object) => unknown>>;

export function governClient<C extends object>(client: C, overrides: Overrides): C {
  return view(client as unknown as Record<string, unknown>, '', overrides) as unknown as C;
}

function view(target: Record<string, unknown>, path: string, overrides: Overrides): object {
  const own = overrides[path];
  const cache = new Map<PropertyKey, unknown>();
  const proxy: object = new Proxy(target, {
    get(t, prop) {
      if (cache.has(prop)) return cache.get(prop);
      const value = Reflect.get(t, prop, t) as unknown;
      let out: unknown = value;
      if (typeof prop === 'string' && own !== undefined && own[prop] !== undefined) {
        out = (own[prop] as (target: Record<string, unknown>, self: object) => unknown)(t, proxy);
      } else if (
        typeof prop === 'string' &&
        value !== null &&
        typeof value === 'object' &&
        hasBelow(overrides, path ? `${path}.${prop}` : prop)
      ) {
        out = view(value as Record<string, unknown>, path ? `${path}.${prop}` : prop, overrides);
      } else if (typeof value === 'function') {
        out = (value as (...a: unknown[]) => unknown).bind(t);
      } else {
        return value;
      }
      cache.set(prop, out);
      return out;
    },
  });
  return proxy;
}

function hasBelow(overrides: Overrides, path: string): boolean {
  for (const k in overrides) if (k === path || k.startsWith(`${path}.`)) return true;
  return false;
}
