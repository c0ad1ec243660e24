/**
 * Scopes: a chain of ids from the widest level to the narrowest. Usage is recorded on
 * the narrowest scope of a call and counts on every ancestor, because every limit whose
 * scope pattern matches the call's chain is charged.
 */
import { InvalidInputError } from './errors.js';

/** The scope levels, widest first. */
export const SCOPE_LEVELS = ['workspace', 'project', 'pool', 'agent', 'execution'] as const;
/** One level of a scope chain. */
export type ScopeLevel = (typeof SCOPE_LEVELS)[number];
/** A concrete scope: ids per level, every level optional. */
export type Scope = { readonly [L in ScopeLevel]?: string };
/**
 * A scope pattern, used where limits are set: an id per level, or `'*'` meaning "each
 * distinct id at this level" (`{ agent: '*' }` gives every agent its own counter).
 */
export type ScopePattern = { readonly [L in ScopeLevel]?: string };

/** The wildcard id of a scope pattern. */
export const WILDCARD = '*';
const MAX_ID_LENGTH = 256;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/;
const ESCAPE_RE = /[%/=|]/;
const LEVEL_SET: ReadonlySet<string> = new Set(SCOPE_LEVELS);

/** Validate a scope (or a pattern, when `allowWildcard`), naming `field` on error. Returns a frozen copy. */
export function validateScope(value: unknown, field: string, allowWildcard: boolean): Scope {
  if (value === undefined) return EMPTY_SCOPE;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidInputError(field, `must be an object with levels ${SCOPE_LEVELS.join(', ')}`, value);
  }
  const out: Record<string, string> = {};
  for (const key of Object.keys(value)) {
    const id = (value as Record<string, unknown>)[key];
    if (id === undefined) continue;
    if (!LEVEL_SET.has(key)) {
      throw new InvalidInputError(`${field}.${key}`, `is not a scope level (levels: ${SCOPE_LEVELS.join(', ')})`, id);
    }
    validateId(id, `${field}.${key}`);
    if (!allowWildcard && id === WILDCARD) {
      throw new InvalidInputError(`${field}.${key}`, "must be a concrete id ('*' is only allowed where limits are set)", id);
    }
    out[key] = id as string;
  }
  return Object.freeze(out);
}

/** Validate one id (scope level id, limit id, pid, user id...). */
export function validateId(id: unknown, field: string): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || CONTROL_RE.test(id)) {
    throw new InvalidInputError(field, `must be a non-empty string of at most ${MAX_ID_LENGTH} characters without control characters`, id);
  }
  return id;
}

const EMPTY_SCOPE: Scope = Object.freeze({});

function escapeId(id: string): string {
  return ESCAPE_RE.test(id) ? id.replace(/[%/=|]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`) : id;
}

/** The canonical key of a scope: `workspace=acme/agent=a1` (ids escaped); `''` for the empty scope. */
export function scopeKey(scope: Scope): string {
  let key = '';
  for (const level of SCOPE_LEVELS) {
    const id = scope[level];
    if (id === undefined) continue;
    key += (key === '' ? '' : '/') + level + '=' + escapeId(id);
  }
  return key;
}

/** Parse a key made by {@link scopeKey} back into a scope. */
export function parseScopeKey(key: string): Scope {
  if (key === '') return EMPTY_SCOPE;
  const out: Record<string, string> = {};
  for (const part of key.split('/')) {
    const eq = part.indexOf('=');
    out[part.slice(0, eq)] = decodeURIComponent(part.slice(eq + 1));
  }
  return Object.freeze(out);
}

/** True when the concrete `scope` falls under `pattern` (every level of the pattern present and equal, or wildcard). */
export function scopeMatches(pattern: Scope, scope: Scope): boolean {
  for (const level of SCOPE_LEVELS) {
    const want = pattern[level];
    if (want === undefined) continue;
    const have = scope[level];
    if (have === undefined || (want !== WILDCARD && want !== have)) return false;
  }
  return true;
}

/** The pattern with its wildcards replaced by the ids of `scope` (which must match it). */
export function instantiatePattern(pattern: Scope, scope: Scope): Scope {
  const out: Record<string, string> = {};
  for (const level of SCOPE_LEVELS) {
    const want = pattern[level];
    if (want === undefined) continue;
    out[level] = want === WILDCARD ? (scope[level] as string) : want;
  }
  return out;
}

/** True when `inner` lies within `outer`: every level `outer` names, `inner` names with the same id. */
export function scopeWithin(inner: Scope, outer: Scope): boolean {
  return scopeMatches(outer, inner);
}
