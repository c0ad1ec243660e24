/**
 * The seeds' own price tables, kept as given so the seeds' examples compute their exact
 * figures. They are defaults under the catalog: a model the catalog knows is priced from
 * the catalog (which agrees with every entry below), a name only these tables know is
 * priced from them, and user overrides beat both.
 */
import { Decimal } from 'decimal.js';
import type { ModelPrice } from './model-price.js';

/** Seed 000's `API_COSTS`: USD per token. */
export const SEED_API_COSTS: Readonly<Record<string, { readonly inputPerToken: string; readonly outputPerToken: string }>> = {
  'claude-3-5-sonnet': { inputPerToken: '0.000003', outputPerToken: '0.000015' },
  'claude-3-haiku': { inputPerToken: '0.00000025', outputPerToken: '0.00000125' },
};

/** Seed 004's `PRICING_CONFIG`: USD per 1,000 tokens, by provider and model. */
export const SEED_PRICING_CONFIG: Readonly<
  Record<string, Readonly<Record<string, { readonly prompt: string; readonly completion: string }>>>
> = {
  openai: {
    'gpt-4': { prompt: '0.03', completion: '0.06' },
    'gpt-4-turbo': { prompt: '0.01', completion: '0.03' },
    'gpt-3.5-turbo': { prompt: '0.0005', completion: '0.0015' },
  },
  anthropic: {
    'claude-3-opus': { prompt: '0.015', completion: '0.075' },
    'claude-3-sonnet': { prompt: '0.003', completion: '0.015' },
    'claude-3-haiku': { prompt: '0.00025', completion: '0.00125' },
  },
};

/** Seed 000's table as prices per million tokens. */
export function seedApiCostPrices(): Map<string, ModelPrice> {
  const out = new Map<string, ModelPrice>();
  for (const [model, c] of Object.entries(SEED_API_COSTS)) {
    out.set(model, {
      input: new Decimal(c.inputPerToken).mul(1_000_000).toFixed(),
      output: new Decimal(c.outputPerToken).mul(1_000_000).toFixed(),
      version: 'seed-000',
    });
  }
  return out;
}

/** Seed 004's table as prices per million tokens, keyed `provider/model`. */
export function seedPricingConfigPrices(): Map<string, ModelPrice> {
  const out = new Map<string, ModelPrice>();
  for (const [provider, models] of Object.entries(SEED_PRICING_CONFIG)) {
    for (const [model, c] of Object.entries(models)) {
      out.set(`${provider}/${model}`, {
        input: new Decimal(c.prompt).mul(1000).toFixed(),
        output: new Decimal(c.completion).mul(1000).toFixed(),
        version: 'seed-004',
      });
    }
  }
  return out;
}
