/**
 * The LLM price catalog: `@pydantic/genai-prices`, pinned and used offline. Only its data
 * and its model matching are used; its float arithmetic is not. A resolved model's
 * prices are turned into {@link ModelPrice} decimal strings (a JS number from the
 * package's JSON prints back as the decimal it was written as) and compiled to integers.
 */
import { Decimal } from 'decimal.js';
import {
  calcPrice,
  findProvider,
  updatePrices,
  waitForUpdate,
  type ModelInfo,
  type ModelPrice as CatalogPrice,
  type Provider,
} from '@pydantic/genai-prices';
import { compileModelPrice, type ModelPrice, type PriceSet, type PriceTier } from './model-price.js';

/** The catalog package and the version pinned in package.json. */
export const CATALOG_PACKAGE = '@pydantic/genai-prices';
/** The pinned catalog version (an exact version in package.json). */
export const CATALOG_VERSION = '0.1.8';
/** The date the pinned catalog's data was published: the effective date of its undated prices. */
export const CATALOG_DATE = '2026-09-23';

/** Names users write for a provider that the catalog spells otherwise. */
const PROVIDER_ALIASES: Readonly<Record<string, string>> = {
  claude: 'anthropic',
  gemini: 'google',
  'google-gla': 'google',
  'google-vertex': 'google',
  vertex: 'google',
  vertexai: 'google',
  xai: 'x-ai',
  grok: 'x-ai',
  bedrock: 'aws',
  'azure-openai': 'azure',
  mistralai: 'mistral',
};

/**
 * Aliases the pinned catalog points at an older model than the provider's docs do
 * (PROVIDER-FACTS.md): `mistral-large-latest` is Mistral Large 3 (`mistral-large-2512`,
 * $0.50 / $1.50) in Mistral's model list, not the 2024 Mistral Large ($2 / $6).
 */
export const ALIAS_CORRECTIONS: Readonly<Record<string, string>> = {
  'mistral/mistral-large-latest': 'mistral-large-2512',
};

/** One dated or timed price variant of a catalog model. */
export interface CatalogVariant {
  /** `always`: no constraint; `from`: from `fromMs` on; `timeOfDay`: between `startSec` and `endSec` (UTC seconds of day). */
  readonly kind: 'always' | 'from' | 'timeOfDay';
  readonly fromMs: number;
  readonly startSec: number;
  readonly endSec: number;
  readonly set: PriceSet;
  readonly effectiveDate: string;
}

/** A model resolved in the catalog. */
export interface CatalogModel {
  /** The catalog's provider id (`openai`, `anthropic`, `google`, `mistral`, ...). */
  readonly provider: string;
  /** The catalog's model id (`gpt-4o`, `claude-sonnet-4-5`, ...). */
  readonly model: string;
  /** Variants in the catalog's order; the last that applies wins. */
  readonly variants: readonly CatalogVariant[];
  /** Price keys of the model this library does not charge (audio, images, web searches, ...). */
  readonly unpriced: readonly string[];
}

/** The catalog provider a user's name or alias denotes, or undefined. */
export function catalogProvider(id: string): Provider | undefined {
  const lower = id.toLowerCase().trim();
  if (lower === '') return undefined;
  return findProvider({ providerId: PROVIDER_ALIASES[lower] ?? lower });
}

function lookup(model: string, provider: Provider | undefined): { model: ModelInfo; provider: Provider } | undefined {
  const r = calcPrice({ input_tokens: 0, output_tokens: 0 }, model, provider === undefined ? undefined : { providerId: provider.id });
  return r === null ? undefined : { model: r.model, provider: r.provider };
}

/**
 * Resolve a model as a user writes it: `gpt-4o`, a dated snapshot `gpt-4o-2024-08-06`, an
 * alias `claude-3-5-sonnet-latest`, provider-prefixed `anthropic/claude-sonnet-4-5` or
 * `openai:gpt-4o`, with an optional provider hint (the request's `provider`). A hint the
 * catalog does not know (a proxy's name) is ignored; a known one is binding.
 */
export function resolveCatalog(name: string, hint: string | undefined): CatalogModel | undefined {
  const hinted = hint === undefined ? undefined : catalogProvider(hint);
  const m = /^([^/:]+)[/:](.+)$/.exec(name.trim());
  const prefixed = m === null ? undefined : catalogProvider(m[1] as string);
  let found: { model: ModelInfo; provider: Provider } | undefined;
  if (hinted !== undefined) {
    found = lookup(name, hinted);
    if (found === undefined && prefixed !== undefined && prefixed.id === hinted.id) found = lookup(m![2] as string, hinted);
  } else if (prefixed !== undefined) {
    found = lookup(m![2] as string, prefixed) ?? lookup(name, undefined);
  } else {
    found = lookup(name, undefined);
  }
  if (found === undefined) return undefined;
  const bare = (prefixed !== undefined && m !== null ? (m[2] as string) : name).toLowerCase().trim();
  const corrected = ALIAS_CORRECTIONS[`${found.provider.id}/${bare}`];
  if (corrected !== undefined) found = lookup(corrected, found.provider) ?? found;
  return compileCatalogModel(found.provider.id, found.model);
}

const CATALOG_KEYS: Readonly<Record<string, keyof ModelPrice>> = {
  input_mtok: 'input',
  output_mtok: 'output',
  cache_read_mtok: 'cachedInput',
  cache_write_mtok: 'cacheWrite',
  cache_write_1h_mtok: 'cacheWrite1h',
  output_reasoning_mtok: 'reasoning',
  requests_kcount: 'perRequest',
};

/** A catalog number as an exact decimal string; `requests_kcount` (per 1,000 requests) becomes a per-request fee. */
function decimalOf(key: string, v: number): string {
  const text = String(v);
  return key === 'requests_kcount' ? new Decimal(text).div(1000).toFixed() : text;
}

/** The catalog's price record as a {@link ModelPrice}, or undefined if it has no token prices. */
export function fromCatalogPrice(p: CatalogPrice, unpriced: Set<string>): ModelPrice | undefined {
  const base: Record<string, string> = {};
  const tiers = new Map<number, Record<string, string>>();
  for (const [key, v] of Object.entries(p)) {
    if (v === undefined) continue;
    const ours = CATALOG_KEYS[key];
    if (ours === undefined) {
      unpriced.add(key);
      continue;
    }
    if (typeof v === 'number') base[ours] = decimalOf(key, v);
    else {
      base[ours] = decimalOf(key, v.base);
      for (const t of v.tiers) {
        const at = tiers.get(t.start) ?? {};
        at[ours] = decimalOf(key, t.price);
        tiers.set(t.start, at);
      }
    }
  }
  if (base.input === undefined && base.output === undefined) return undefined;
  const tierList: PriceTier[] = [...tiers].map(([start, prices]) => ({ aboveInputTokens: start, ...prices }));
  return { ...base, input: base.input ?? '0', output: base.output ?? '0', tiers: tierList.length > 0 ? tierList : undefined };
}

function secondsOfDay(text: string): number {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!m) throw new Error(`unreadable time of day in the price catalog: ${text}`);
  let s = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
  const zone = m[4] as string;
  if (zone !== 'Z') s -= (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 3600 + Number(zone.slice(4, 6)) * 60);
  return ((s % 86400) + 86400) % 86400;
}

function compileCatalogModel(provider: string, info: ModelInfo): CatalogModel | undefined {
  const unpriced = new Set<string>();
  const raw = Array.isArray(info.prices) ? info.prices : [{ prices: info.prices }];
  const variants: CatalogVariant[] = [];
  for (const v of raw) {
    const price = fromCatalogPrice(v.prices, unpriced);
    if (price === undefined) return undefined;
    const set = compileModelPrice(price, `catalog.${provider}.${info.id}`);
    const c = (v as { constraint?: { type: string; start_date?: string; start_time?: string; end_time?: string } }).constraint;
    if (c === undefined || c === null)
      variants.push({ kind: 'always', fromMs: 0, startSec: 0, endSec: 0, set, effectiveDate: CATALOG_DATE });
    else if (c.type === 'start_date') {
      const date = c.start_date as string;
      variants.push({ kind: 'from', fromMs: Date.parse(`${date}T00:00:00Z`), startSec: 0, endSec: 0, set, effectiveDate: date });
    } else {
      variants.push({
        kind: 'timeOfDay',
        fromMs: 0,
        startSec: secondsOfDay(c.start_time as string),
        endSec: secondsOfDay(c.end_time as string),
        set,
        effectiveDate: CATALOG_DATE,
      });
    }
  }
  return { provider, model: info.id, variants, unpriced: [...unpriced].sort() };
}

/** The variant in force at `atMs`: the last that applies, as the catalog chooses it. */
export function variantAt(variants: readonly CatalogVariant[], atMs: number): CatalogVariant {
  for (let i = variants.length - 1; i >= 0; i--) {
    const v = variants[i] as CatalogVariant;
    if (v.kind === 'always') return v;
    if (v.kind === 'from') {
      if (atMs >= v.fromMs) return v;
    } else {
      const s = Math.floor((((atMs % 86_400_000) + 86_400_000) % 86_400_000) / 1000);
      if (v.endSec < v.startSec ? s >= v.startSec || s < v.endSec : s >= v.startSec && s < v.endSec) return v;
    }
  }
  return variants[0] as CatalogVariant;
}

/** What a remote catalog update needs: a fetch (default: the global one). */
export interface CatalogUpdateOptions {
  readonly fetch?: (url: string) => Promise<{ json(): Promise<unknown> }>;
}

/**
 * Opt in to the catalog's remote price data (the package's own update mechanism). Never
 * called unless the user asks; it replaces the catalog data of the whole process.
 */
export async function updateCatalog(options: CatalogUpdateOptions = {}): Promise<void> {
  const get = options.fetch ?? (globalThis.fetch as unknown as NonNullable<CatalogUpdateOptions['fetch']>);
  updatePrices(({ remoteDataUrl, setProviderData }) => {
    setProviderData(get(remoteDataUrl).then((r) => r.json() as Promise<Provider[]>));
  });
  await waitForUpdate();
}
