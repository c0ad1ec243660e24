import { Decimal } from 'decimal.js';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  CostCalculator,
  createGovernor,
  CurrencyMismatchError,
  UnknownModelError,
  type LlmUsage,
  type PricingWarning,
  type ModelPrice,
} from '../src/index.js';
import { ManualClock } from '../src/testing/index.js';
import { invalid } from './helpers.js';

const calc = new CostCalculator();

// Every figure below is the provider's published price list, checked by hand; the catalog
// (@pydantic/genai-prices 0.1.8) is not trusted to be right, these cases check it is.
//   OpenAI:    https://platform.openai.com/docs/pricing (and openai.com/api/pricing), Batch API: 50% off
//   Anthropic: https://www.anthropic.com/pricing#api and docs.anthropic.com "Prompt caching" (5 min write 1.25x,
//              1 h write 2x, read 0.1x), "Long context pricing" (Sonnet 4/4.5 above 200K input: $6 / $22.50),
//              Message Batches: 50% off
//   Google:    https://ai.google.dev/gemini-api/docs/pricing (2.5 Pro: $1.25/$10 up to 200K, $2.50/$15 above,
//              cached $0.125/$0.25; thinking billed as output), Batch Mode: 50% off
//   Mistral:   https://mistral.ai/pricing#api-pricing (Large 3 $0.50/$1.50, Large 24.11 $2/$6, Codestral
//              $0.30/$0.90, Small $0.10/$0.30, Nemo $0.15/$0.15), batch API: 50% off
//   Perplexity: https://docs.perplexity.ai/getting-started/pricing (Sonar request fee, deep research reasoning)
interface Case {
  readonly model: string;
  readonly provider?: string;
  readonly usage: LlmUsage;
  readonly batch?: boolean;
  readonly expected: string;
  readonly source: string;
}

const M = 1_000_000;
const CASES: readonly Case[] = [
  // ---- OpenAI
  { model: 'gpt-4o', usage: { inputTokens: 1000, outputTokens: 500 }, expected: '0.0075', source: 'gpt-4o $2.50 in / $10 out per 1M' },
  {
    model: 'gpt-4o-2024-08-06',
    usage: { inputTokens: 10_000, cachedInputTokens: 4000, outputTokens: 500 },
    expected: '0.025',
    source: 'dated snapshot = gpt-4o; cached input $1.25 per 1M, included in prompt_tokens',
  },
  {
    model: 'gpt-4o-2024-05-13',
    usage: { inputTokens: 1000, outputTokens: 500 },
    expected: '0.0125',
    source: 'the May snapshot costs more than its alias: $5 / $15',
  },
  { model: 'gpt-4o-mini', usage: { inputTokens: M, outputTokens: M }, expected: '0.75', source: 'gpt-4o-mini $0.15 / $0.60' },
  {
    model: 'gpt-4o-mini',
    usage: { inputTokens: 2000, cachedInputTokens: 2000 },
    expected: '0.00015',
    source: 'gpt-4o-mini cached input $0.075',
  },
  {
    model: 'o3',
    usage: { inputTokens: 1000, outputTokens: 5000, reasoningTokens: 4000 },
    expected: '0.042',
    source: 'o3 $2 / $8 since 2025-06-10; reasoning tokens are inside completion_tokens, billed as output once',
  },
  { model: 'gpt-4.1', usage: { inputTokens: M, outputTokens: M }, batch: true, expected: '5', source: 'gpt-4.1 $2 / $8, Batch API half' },
  {
    model: 'gpt-4',
    usage: { inputTokens: 1000, outputTokens: 500 },
    expected: '0.06',
    source: 'gpt-4 $30 / $60 (seed 004: 0.03 / 0.06 per 1K)',
  },
  { model: 'openai/gpt-4o', usage: { inputTokens: 1000, outputTokens: 500 }, expected: '0.0075', source: 'provider-prefixed name' },
  // ---- Anthropic
  {
    model: 'claude-sonnet-4-5',
    usage: { inputTokens: 1000, outputTokens: 500 },
    expected: '0.0105',
    source: 'Sonnet 4.5 $3 / $15',
  },
  {
    model: 'anthropic/claude-sonnet-4-5',
    usage: { inputTokens: 250_000, outputTokens: 1000 },
    expected: '1.5225',
    source: 'above 200K input the whole request is $6 / $22.50',
  },
  {
    model: 'claude-sonnet-4-5-20250929',
    usage: { inputTokens: 210_000, cachedInputTokens: 200_000, outputTokens: 100 },
    expected: '0.18225',
    source: 'the 200K threshold counts cache reads: 10K × $6 + 200K × $0.60 + 100 × $22.50',
  },
  {
    model: 'claude-sonnet-4-5',
    usage: { inputTokens: 200_000, outputTokens: 0 },
    expected: '0.6',
    source: 'exactly 200K is not above the threshold: $3',
  },
  {
    model: 'claude-3-5-sonnet-latest',
    usage: { inputTokens: 3000, cachedInputTokens: 1000, cacheWriteTokens: 1000, cacheWrite1hTokens: 400, outputTokens: 100 },
    expected: '0.00945',
    source: 'alias; 1K × $3 + 1K read × $0.30 + 600 5-min writes × $3.75 + 400 1-h writes × $6 + 100 × $15',
  },
  {
    model: 'claude-haiku-4-5',
    usage: { inputTokens: 10_000, cacheWriteTokens: 8000 },
    expected: '0.012',
    source: 'Haiku 4.5 $1 in, 5-min cache write $1.25',
  },
  {
    model: 'claude-opus-4-1',
    usage: { inputTokens: M, outputTokens: M },
    batch: true,
    expected: '45',
    source: 'Opus 4.1 $15 / $75, Message Batches half',
  },
  {
    model: 'claude-3-haiku',
    provider: 'anthropic',
    usage: { inputTokens: 1000, outputTokens: 500 },
    expected: '0.000875',
    source: 'Claude 3 Haiku $0.25 / $1.25 (seed 000)',
  },
  // ---- Google
  {
    model: 'gemini-2.5-pro',
    usage: { inputTokens: 100_000, outputTokens: 1000 },
    expected: '0.135',
    source: 'Gemini 2.5 Pro up to 200K: $1.25 / $10',
  },
  {
    model: 'gemini-2.5-pro',
    provider: 'google',
    usage: { inputTokens: 300_000, cachedInputTokens: 100_000, outputTokens: 2000 },
    expected: '0.555',
    source: 'above 200K: $2.50 in, $0.25 cached, $15 out',
  },
  {
    model: 'gemini-2.5-flash',
    usage: { inputTokens: 1000, outputTokens: 3000, reasoningTokens: 2000 },
    expected: '0.0078',
    source: 'Flash $0.30 / $2.50, output includes thinking (candidates 1000 + thoughts 2000)',
  },
  {
    model: 'gemini-2.0-flash',
    usage: { inputTokens: 10_000, cachedInputTokens: 8000 },
    expected: '0.0004',
    source: 'Gemini 2.0 Flash $0.10 in, context caching $0.025',
  },
  {
    model: 'gemini-2.5-flash',
    usage: { inputTokens: M, outputTokens: M },
    batch: true,
    expected: '1.4',
    source: 'Batch Mode half of $0.30 / $2.50',
  },
  // ---- Mistral
  {
    model: 'mistral-large-latest',
    usage: { inputTokens: M, outputTokens: M },
    expected: '2',
    source: 'mistral-large-latest is Mistral Large 3 (2512): $0.50 / $1.50 (the catalog points at the 2024 model)',
  },
  { model: 'mistral-large-2411', usage: { inputTokens: M, outputTokens: M }, expected: '8', source: 'Mistral Large 24.11 $2 / $6' },
  { model: 'codestral-latest', usage: { inputTokens: M, outputTokens: M }, expected: '1.2', source: 'Codestral $0.30 / $0.90' },
  { model: 'mistral-small-latest', usage: { inputTokens: 1000, outputTokens: 1000 }, expected: '0.0004', source: 'Small $0.10 / $0.30' },
  {
    model: 'mistral-large-latest',
    provider: 'mistral',
    usage: { inputTokens: M, outputTokens: M },
    batch: true,
    expected: '1',
    source: 'batch API half of Large 3',
  },
  { model: 'open-mistral-nemo', usage: { inputTokens: M }, expected: '0.15', source: 'Mistral NeMo $0.15' },
  // ---- request fees and reasoning priced apart (Perplexity)
  {
    model: 'sonar',
    provider: 'perplexity',
    usage: { inputTokens: 1000, outputTokens: 1000 },
    expected: '0.014',
    source: 'Sonar $1 / $1 per 1M plus $12 per 1,000 requests',
  },
  {
    model: 'sonar-deep-research',
    provider: 'perplexity',
    usage: { inputTokens: 1000, outputTokens: 5000, reasoningTokens: 3000 },
    expected: '0.027',
    source: 'Deep Research $2 in, $8 out, reasoning $3 per 1M priced apart',
  },
];

describe('LLM prices: published figures', () => {
  it.each(CASES)('$model $usage → $expected ($source)', (c) => {
    const r = calc.cost({ model: c.model, provider: c.provider, usage: c.usage, batch: c.batch });
    expect(r.total.toFixed()).toBe(c.expected);
    expect(r.currency).toBe('USD');
  });

  it('covers the four providers and every component', () => {
    const providers = new Set(CASES.map((c) => calc.describe(c.model, c.provider)?.provider));
    for (const p of ['openai', 'anthropic', 'google', 'mistral']) expect(providers).toContain(p);
    expect(CASES.length).toBeGreaterThanOrEqual(20);
  });

  it('splits a call into exact components that add up to the total', () => {
    const r = calc.cost({
      model: 'claude-3-5-sonnet-latest',
      usage: { inputTokens: 3000, cachedInputTokens: 1000, cacheWriteTokens: 1000, cacheWrite1hTokens: 400, outputTokens: 100 },
    });
    const c = r.components;
    expect([c.input, c.cachedInput, c.cacheWrite, c.cacheWrite1h, c.output, c.reasoning, c.request].map((d) => d.toFixed())).toEqual([
      '0.003',
      '0.0003',
      '0.00225',
      '0.0024',
      '0.0015',
      '0',
      '0',
    ]);
    expect(
      Object.values(c)
        .reduce((a: Decimal, b: Decimal) => a.plus(b), new Decimal(0))
        .toFixed(),
    ).toBe(r.total.toFixed());
  });

  it('records the table version, effective date and resolved model on every cost', () => {
    expect(calc.cost({ model: 'gpt-4o-2024-08-06', usage: { inputTokens: 1 } }).pricing).toMatchObject({
      source: 'catalog',
      version: '@pydantic/genai-prices@0.1.8',
      effectiveDate: '2026-09-23',
      provider: 'openai',
      model: 'gpt-4o',
    });
    // A dated price change carries its own date.
    expect(calc.cost({ model: 'o3', usage: { inputTokens: 1 } }).pricing.effectiveDate).toBe('2025-06-10');
    expect(calc.cost({ model: 'claude-sonnet-4-5', usage: { inputTokens: 300_000 } }).pricing.tier).toBe(1);
  });

  it('resolves names the way users write them, with a provider hint', () => {
    expect(calc.describe('claude-3-5-sonnet-20241022')?.model).toBe('claude-3-5-sonnet');
    expect(calc.describe('openai:gpt-4o')).toMatchObject({ provider: 'openai', model: 'gpt-4o' });
    expect(calc.describe('gpt-4o', 'azure')?.provider).toBe('azure');
    expect(calc.describe('claude-3-opus', 'claude')?.provider).toBe('anthropic');
    // A hint the catalog does not know (a proxy) is ignored; a known one is binding.
    expect(calc.describe('gpt-4o', 'my-proxy')?.provider).toBe('openai');
    expect(calc.describe('gpt-4o', 'mistral')).toBeUndefined();
  });

  it('never charges cached tokens twice, and refuses usage that leaves them out of inputTokens', () => {
    // Anthropic's raw input_tokens (100) excludes its 5,000 cache reads: normalized input is 5,100.
    const ok = calc.cost({ model: 'claude-sonnet-4-5', usage: { inputTokens: 5100, cachedInputTokens: 5000 } });
    expect(ok.total.toFixed()).toBe('0.0018'); // 100 × $3 + 5000 × $0.30
    const e = invalid(() => calc.cost({ model: 'claude-sonnet-4-5', usage: { inputTokens: 100, cachedInputTokens: 5000 } }));
    expect(e.field).toBe('call.usage.inputTokens');
    invalid(() => calc.cost({ model: 'gpt-4o', usage: { inputTokens: 10, outputTokens: 5, reasoningTokens: 6 } }));
    invalid(() => calc.cost({ model: 'gpt-4o', usage: { inputTokens: 10, cacheWriteTokens: 5, cacheWrite1hTokens: 6 } }));
    invalid(() => calc.cost({ model: 'gpt-4o', usage: { inputTokens: -1 } }));
  });

  it('does not reach the network while pricing', () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    const fresh = new CostCalculator();
    fresh.cost({ model: 'gpt-5', usage: { inputTokens: 10 } });
    fresh.cost({ model: 'mistral-medium-latest', usage: { inputTokens: 10 } });
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });
});

describe('seed tables', () => {
  it("seed 000's calculate_api_cost gives its figures", () => {
    expect(calc.calculateApiCost('claude-3-5-sonnet', 1000, 500).toFixed()).toBe('0.0105');
    expect(calc.calculateApiCost('claude-3-haiku', 1000, 500).toFixed()).toBe('0.000875');
    // The seed returned 0 for an unknown service; a price is never silently zero here.
    expect(() => calc.calculateApiCost('gpt-unknown', 1, 1)).toThrow(UnknownModelError);
  });

  it("seed 004's pricing config gives its figures", () => {
    const cost = (provider: string, model: string): string =>
      calc.calculateLlmCost({ provider, model, promptTokens: 1000, completionTokens: 500 }).toFixed();
    expect(cost('openai', 'gpt-4')).toBe('0.06');
    expect(cost('openai', 'gpt-4-turbo')).toBe('0.025');
    expect(cost('openai', 'gpt-3.5-turbo')).toBe('0.00125');
    expect(cost('anthropic', 'claude-3-opus')).toBe('0.0525');
    expect(cost('claude', 'claude-3-sonnet')).toBe('0.0105');
    expect(cost('anthropic', 'claude-3-haiku')).toBe('0.000875');
  });

  it('answer on their own without the catalog, and overrides beat them', () => {
    const seeds = new CostCalculator({ catalog: false });
    expect(seeds.describe('claude-3-5-sonnet')).toMatchObject({ source: 'seed-000' });
    expect(seeds.calculateLlmCost({ provider: 'openai', model: 'gpt-4', promptTokens: 1000, completionTokens: 500 }).toFixed()).toBe(
      '0.06',
    );
    expect(seeds.describe('gpt-4o')).toBeUndefined();
    seeds.override('claude-3-5-sonnet', { input: '1', output: '1' });
    expect(seeds.calculateApiCost('claude-3-5-sonnet', M, M).toFixed()).toBe('2');
  });
});

describe('overrides, custom models and unknown models', () => {
  it('an override beats the catalog and says so on the cost', () => {
    const c = new CostCalculator();
    c.override('gpt-4o', { input: '2', output: '8', version: 'contract-2026', effectiveDate: '2026-01-01' });
    const r = c.cost({ model: 'gpt-4o', usage: { inputTokens: M, outputTokens: M } });
    expect(r.total.toFixed()).toBe('10');
    expect(r.pricing).toMatchObject({ source: 'override', version: 'contract-2026', effectiveDate: '2026-01-01' });
  });

  it('custom models take every component: tiers, cache, 1 h writes, reasoning, request fee, batch', () => {
    const c = new CostCalculator({
      models: {
        'ft:acme-7b': {
          input: '1',
          output: '2',
          cachedInput: '0.1',
          cacheWrite: '1.5',
          cacheWrite1h: '3',
          reasoning: '4',
          perRequest: '0.001',
          batchMultiplier: '0.4',
          tiers: [{ aboveInputTokens: 1000, input: '10', output: '20' }],
        },
      },
    });
    const u = {
      inputTokens: 1000,
      cachedInputTokens: 100,
      cacheWriteTokens: 300,
      cacheWrite1hTokens: 100,
      outputTokens: 50,
      reasoningTokens: 20,
    };
    // 600 × 1 + 100 × 0.1 + 200 × 1.5 + 100 × 3 + 30 × 2 + 20 × 4 per 1M, plus 0.001
    expect(c.cost({ model: 'ft:acme-7b', usage: u }).total.toFixed()).toBe('0.00235');
    // One more input token crosses the tier: input and output re-priced (601 × 10, 30 × 20), the cache rates kept.
    const above = { ...u, inputTokens: 1001 };
    expect(c.cost({ model: 'ft:acme-7b', usage: above }).total.toFixed()).toBe('0.0083');
    expect(c.cost({ model: 'ft:acme-7b', usage: u, batch: true }).total.toFixed()).toBe('0.00094');
  });

  it('refuses a bad price naming the field', () => {
    expect(invalid(() => new CostCalculator({ models: { m: { input: '-1', output: '1' } } })).field).toBe('options.models.m.input');
    expect(invalid(() => calc.override('m', { input: '1', output: '1', tiers: [{ aboveInputTokens: -5 }] })).field).toBe(
      'prices.tiers[0].aboveInputTokens',
    );
  });

  it('an unknown model is unknown_model, or priced at the fallback with a warning', () => {
    const err = (() => {
      try {
        calc.cost({ model: 'my-llm', usage: { inputTokens: 1 } });
      } catch (e) {
        return e as UnknownModelError;
      }
    })();
    expect(err).toBeInstanceOf(UnknownModelError);
    expect(err?.code).toBe('unknown_model');
    expect(err?.model).toBe('my-llm');
    const warnings: PricingWarning[] = [];
    const c = new CostCalculator({ fallback: { input: '10', output: '30' }, onWarning: (w) => warnings.push(w) });
    expect(c.cost({ model: 'my-llm', usage: { inputTokens: M } }).total.toFixed()).toBe('10');
    expect(c.cost({ model: 'my-llm', usage: { inputTokens: M } }).pricing.source).toBe('fallback');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'unknown_model', model: 'my-llm', fallback: true });
    expect(c.has('my-llm')).toBe(false);
  });
});

describe('currency', () => {
  it('refuses to mix the catalog USD into another currency without a rate', () => {
    const eur = new CostCalculator({ currency: 'EUR', compute: { currency: 'EUR' } });
    expect(() => eur.cost({ model: 'gpt-4o', usage: { inputTokens: 1 } })).toThrow(CurrencyMismatchError);
    // Prices given in the calculator's own currency need no rate.
    eur.override('own', { input: '1', output: '1' });
    expect(eur.cost({ model: 'own', usage: { inputTokens: M } }).total.toFixed()).toBe('1');
  });

  it('converts exactly with the exchange rate', () => {
    const eur = new CostCalculator({ currency: 'EUR', exchangeRate: (from, to) => (from === 'USD' && to === 'EUR' ? '0.9' : 'x') });
    const r = eur.cost({ model: 'gpt-4o', usage: { inputTokens: 1000, outputTokens: 500 } });
    expect(r.total.toFixed()).toBe('0.00675');
    expect(r.currency).toBe('EUR');
    expect(r.pricing).toMatchObject({ currency: 'USD', exchangeRate: '0.9' });
    expect(eur.priceSandboxExecution({ cpuCores: 1, memoryMb: 0, durationSeconds: 3600 }).byResource[0]!.cost.toFixed()).toBe('0.045');
  });
});

describe('compute pricing', () => {
  it("seed 000's VM hourly cost with its type multipliers", () => {
    const vm = (vmType: string): string => calc.calculateVmHourlyCost({ cpuCores: 4, memoryGb: 16, storageGb: 100, vmType }).toFixed();
    // (4 × 0.05 + 16 × 0.01 + 100 × 0.001) = 0.46 an hour
    expect(vm('standard')).toBe('0.46');
    expect(vm('hub')).toBe('0.552');
    expect(vm('high_memory')).toBe('0.69');
    expect(vm('compute_optimized')).toBe('0.598');
    expect(invalid(() => vm('huge')).field).toBe('vm.vmType');
  });

  it("seed 004's sandbox execution, per component, exact to the millisecond", () => {
    const r = calc.priceSandboxExecution({ cpuCores: 2, memoryMb: 1024, durationSeconds: 120 });
    expect(r.byResource.map((x) => [x.resource, x.cost.toFixed(), x.usage.toFixed(), x.unit])).toEqual([
      ['cpu', '0.003333333334', '240', 'core-second'],
      ['memory', '0.000333333334', '120', 'gb-second'],
      ['sandbox', '0.004', '120', 'second'],
    ]);
    expect(r.total.toFixed()).toBe('0.007666666668');
    // 1 ms more is charged; a tenth of a millisecond more rounds up to the next millisecond.
    const ms = calc.priceSandboxExecution({ cpuCores: 0, memoryMb: 0, durationSeconds: 60.001 });
    expect(ms.total.toFixed()).toBe('0.002000033334');
    expect(calc.priceSandboxExecution({ cpuCores: 0, memoryMb: 0, durationSeconds: 60.0001 }).total.toFixed()).toBe('0.002000033334');
  });

  it('prices gpu, storage and bandwidth at the seed defaults, and takes other prices', () => {
    const r = calc.priceCompute({ gpuSeconds: 3600, storageGbMonths: 10, networkBytes: 1_000_000_000 });
    expect(r.byResource.map((x) => [x.resource, x.cost.toFixed()])).toEqual([
      ['gpu', '1.5'],
      ['storage', '1'],
      ['bandwidth', '0.12'],
    ]);
    const custom = new CostCalculator({ compute: { gpuHour: '2.5' } });
    expect(custom.priceCompute({ gpuSeconds: 1800 }).total.toFixed()).toBe('1.25');
  });
});

describe('estimates before the call', () => {
  it('counts OpenAI input with the real tokenizer, others with the UTF-8 byte bound', async () => {
    const messages = [{ role: 'user', content: 'Hello there, how are you?' }];
    const openai = await calc.estimateCost({ model: 'gpt-4o', messages, maxOutputTokens: 100 });
    // o200k_base: 7 text tokens + 1 for "user" + 4 framing + 3 reply priming.
    expect(openai).toMatchObject({ counter: 'o200k_base', inputTokens: 15, maxOutputTokens: 100 });
    expect(openai.cost.toFixed()).toBe('0.0010375');
    const claude = await calc.estimateCost({ model: 'claude-sonnet-4-5', messages, maxOutputTokens: 100 });
    expect(claude).toMatchObject({ counter: 'utf8-bytes', inputTokens: 36 });
    // Every input token at the dearest input rate (1 h cache write, $6), output at $15.
    expect(claude.cost.toFixed()).toBe('0.001716');
    expect(claude.estimate).toEqual({ inputTokens: 36, outputTokens: 100, cost: '0.001716' });
  });

  it('refuses non-text parts it cannot bound, and requires one input', async () => {
    await expect(
      calc.estimateCost({ model: 'gpt-4o', messages: [{ role: 'user', content: [{ type: 'image_url' }] }], maxOutputTokens: 1 }),
    ).rejects.toMatchObject({ code: 'invalid_input', field: 'request.messages[0].content[0]' });
    await expect(calc.estimateCost({ model: 'gpt-4o', maxOutputTokens: 1 })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('is an upper bound of what any call within it costs (property)', () => {
    const models = ['gpt-4o', 'claude-sonnet-4-5', 'gemini-2.5-pro', 'mistral-large-latest', 'sonar-deep-research', 'o3'];
    fc.assert(
      fc.property(
        fc.constantFrom(...models),
        fc.integer({ min: 0, max: 400_000 }),
        fc.integer({ min: 0, max: 50_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.boolean(),
        (model, maxIn, maxOut, fin, fc1, fw, fo, fr, batch) => {
          const provider = model.startsWith('sonar') ? 'perplexity' : undefined;
          const inputTokens = Math.floor(maxIn * fin);
          const cachedInputTokens = Math.floor(inputTokens * fc1);
          const cacheWriteTokens = Math.floor((inputTokens - cachedInputTokens) * fw);
          const outputTokens = Math.floor(maxOut * fo);
          const usage = {
            inputTokens,
            cachedInputTokens,
            cacheWriteTokens,
            cacheWrite1hTokens: Math.floor(cacheWriteTokens / 2),
            outputTokens,
          };
          const cost = calc.costUnits(model, provider, toBig({ ...usage, reasoningTokens: Math.floor(outputTokens * fr) }), batch);
          expect(cost).toBeLessThanOrEqual(calc.estimateUnits(model, provider, BigInt(maxIn), BigInt(maxOut), batch));
        },
      ),
    );
  });

  it('the byte bound is never below the real token count (property)', async () => {
    const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        expect(new TextEncoder().encode(s).length).toBeGreaterThanOrEqual(countTokens(s));
      }),
    );
  });
});

function toBig(u: Record<string, number>): {
  inputTokens: bigint;
  outputTokens: bigint;
  cachedInputTokens: bigint;
  cacheWriteTokens: bigint;
  cacheWrite1hTokens: bigint;
  reasoningTokens: bigint;
} {
  return {
    inputTokens: BigInt(u.inputTokens ?? 0),
    outputTokens: BigInt(u.outputTokens ?? 0),
    cachedInputTokens: BigInt(u.cachedInputTokens ?? 0),
    cacheWriteTokens: BigInt(u.cacheWriteTokens ?? 0),
    cacheWrite1hTokens: BigInt(u.cacheWrite1hTokens ?? 0),
    reasoningTokens: BigInt(u.reasoningTokens ?? 0),
  };
}

describe('machine selection', () => {
  it('picks by success per cost from history, defaults without it, within constraints', () => {
    const c = new CostCalculator();
    // No history: every type at a 0.5 prior over its hourly cost; the cheapest wins.
    expect(c.selectMachine()).toMatchObject({ machineType: 'standard-2', basis: 'defaults' });
    expect(c.selectMachine({ constraints: { minMemoryGb: 8 } }).machineType).toBe('standard-4');
    // A prompt that matches a machine's keywords boosts it 1.5×: compute-8 (0.5 / 0.78 × 1.5) still trails standard-4 (0.5 / 0.32).
    expect(c.selectMachine({ constraints: { minCpuCores: 8 }, prompt: 'compile it' }).candidates[0]).toMatchObject({
      machineType: 'compute-8',
      promptMatch: true,
    });
    // standard-4 fails every time; high-memory-4 succeeds cheaply.
    for (let i = 0; i < 4; i++) c.recordMachineRun({ machineType: 'standard-4', success: false, cost: '0.30' });
    for (let i = 0; i < 4; i++) c.recordMachineRun({ machineType: 'high-memory-4', success: true, cost: '0.40' });
    const choice = c.selectMachine({ constraints: { minMemoryGb: 8 } });
    expect(choice).toMatchObject({ machineType: 'high-memory-4', basis: 'history' });
    // (4 + 1) / (4 + 2) successes over 0.40 a run.
    expect(choice.candidates[0]!.score.toFixed(6)).toBe('2.083333');
    expect(invalid(() => c.selectMachine({ constraints: { minCpuCores: 64 } })).field).toBe('constraints');
    expect(invalid(() => c.recordMachineRun({ machineType: 'nope', success: true, cost: 1 })).field).toBe('run.machineType');
  });
});

describe('bad input is refused, naming the field', () => {
  it('refuses unknown and mistyped constructor options', () => {
    expect(invalid(() => new CostCalculator({ catalg: false } as never)).field).toBe('options.catalg');
    expect(invalid(() => new CostCalculator({ catalog: 'no' } as never)).field).toBe('options.catalog');
    expect(invalid(() => new CostCalculator({ clock: 5 } as never)).field).toBe('options.clock');
    expect(invalid(() => new CostCalculator({ onWarning: 'log' } as never)).field).toBe('options.onWarning');
    expect(invalid(() => new CostCalculator(null as never)).field).toBe('options');
  });

  it('refuses a misspelt token count instead of pricing it as zero', () => {
    const e = invalid(() => calc.cost({ model: 'gpt-4o', usage: { inputTokns: 5000 } as never }));
    expect(e.field).toBe('call.usage.inputTokns');
    expect(e.value).toBe(5000);
    expect(invalid(() => calc.priceCompute({ cpuSecs: 10 } as never)).field).toBe('usage.cpuSecs');
  });

  it('refuses a non-boolean batch and a non-string provider', () => {
    expect(invalid(() => calc.cost({ model: 'gpt-4o', usage: {}, batch: 'yes' as never })).field).toBe('call.batch');
    expect(invalid(() => calc.cost({ model: 'gpt-4o', provider: 5 as never, usage: {} })).field).toBe('call.provider');
    expect(invalid(() => calc.has(null as never)).field).toBe('model');
    expect(invalid(() => calc.describe('gpt-4o', '' as never)).field).toBe('provider');
  });

  it('refuses malformed catalog update options before fetching anything', async () => {
    await expect(calc.updateCatalog({ fetsh: () => undefined } as never)).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'options.fetsh',
    });
    await expect(calc.updateCatalog({ fetch: 'https://x' } as never)).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'options.fetch',
    });
    expect(calc.describe('gpt-4o')?.version).toMatch(/^@pydantic\/genai-prices@[\d.]+$/);
  });

  it('checks an execution id like every scope id', async () => {
    const gov = createGovernor();
    await expect(gov.costs.getExecutionCost('run\n1')).rejects.toMatchObject({ code: 'invalid_input', field: 'executionId' });
  });
});

describe('the pipeline prices every call', () => {
  const clock = (): ManualClock => new ManualClock(Date.UTC(2026, 9, 1));
  let gov: ReturnType<typeof createGovernor> | undefined;
  afterEach(async () => {
    await gov?.close();
    gov = undefined;
  });

  it('prices reported usage from the catalog and records the prices used on the ledger entry', async () => {
    gov = createGovernor({ clock: clock() });
    await gov.guard({ kind: 'llm', provider: 'anthropic', model: 'claude-sonnet-4-5', scope: { execution: 'e1' } }, (ctx) => {
      ctx.report({ inputTokens: 3000, cachedInputTokens: 1000, cacheWriteTokens: 1000, cacheWrite1hTokens: 400, outputTokens: 100 });
    });
    const [entry] = (await gov.queryLedger({ kinds: ['call'] })).entries;
    expect(entry!.cost).toBe('0.00945');
    expect(entry!.data?.pricing).toMatchObject({ source: 'catalog', version: '@pydantic/genai-prices@0.1.8', effectiveDate: '2026-09-23' });
  });

  it('reserves a token estimate at an upper bound and refuses an unknown model before the call', async () => {
    gov = createGovernor({ clock: clock(), budgets: [{ id: 'b', amount: '1' }] });
    const ran = vi.fn();
    await expect(gov.guard({ model: 'my-llm', estimate: { inputTokens: 10 } }, ran)).rejects.toMatchObject({ code: 'unknown_model' });
    expect(ran).not.toHaveBeenCalled();
    // check() answers the same refusal as data, like every refusal.
    expect(await gov.check({ model: 'my-llm', estimate: { inputTokens: 10 } })).toEqual({
      allowed: false,
      code: 'unknown_model',
      limit: 'pricing',
      meter: 'cost',
      scope: undefined,
      requested: undefined,
      available: undefined,
      max: undefined,
      retryAfterMs: undefined,
    });
    // A model without a token estimate needs no price to be admitted.
    await gov.guard({ model: 'my-llm' }, ran);
    expect(ran).toHaveBeenCalledTimes(1);
    const r = await gov.reserve({ model: 'gpt-4o', estimate: { inputTokens: 1000, outputTokens: 500 } });
    expect((await gov.getStatus({}))[0]!.held.toFixed()).toBe('0.0075');
    await r.release();
  });

  it('charges the estimate and warns when a reported model has no price', async () => {
    gov = createGovernor({ clock: clock() });
    const warnings: PricingWarning[] = [];
    gov.on('pricing.warning', (w) => warnings.push(w));
    const s = await gov.reserve({ model: 'my-llm', estimate: { cost: '0.02' } });
    const settled = await s.settle({ inputTokens: 10, outputTokens: 10 });
    expect(settled.cost.toFixed()).toBe('0.02');
    expect(warnings).toMatchObject([{ code: 'unknown_model', model: 'my-llm', fallback: false }]);
    expect(settled.entry.data?.pricing).toMatchObject({ error: 'unknown_model' });
  });

  it('prices batch calls, a configured fallback, and setPrice as an override', async () => {
    gov = createGovernor({ clock: clock(), pricing: { fallback: { input: '1', output: '1' } } });
    const batch = await gov.reserve({ model: 'gpt-4.1', batch: true });
    expect((await batch.settle({ inputTokens: M, outputTokens: M })).cost.toFixed()).toBe('5');
    const fb = await gov.reserve({ model: 'anything' });
    expect((await fb.settle({ inputTokens: M })).cost.toFixed()).toBe('1');
    gov.setPrice('gpt-4.1', { input: '1', output: '1' });
    const own = await gov.reserve({ model: 'gpt-4.1' });
    expect((await own.settle({ inputTokens: M, outputTokens: M })).cost.toFixed()).toBe('2');
  });

  it('prices compute meters reported on a call', async () => {
    gov = createGovernor({ clock: clock() });
    const r = await gov.reserve({ name: 'job' });
    const s = await r.settle({ cpuSeconds: 7200, memoryGbSeconds: 3600, networkBytes: 500_000_000 });
    // 2 core-hours × 0.05 + 1 GB-hour × 0.01 + 0.5 GB × 0.12
    expect(s.cost.toFixed()).toBe('0.17');
    expect(s.entry.data?.pricing).toMatchObject({ source: 'compute', compute: { cpu: { cost: '0.1' }, bandwidth: { cost: '0.06' } } });
  });

  it('adds up an execution exactly: LLM by model, compute by resource, other', async () => {
    gov = createGovernor({ clock: clock() });
    const e1 = { workspace: 'ws', execution: 'exec_456' };
    const llm = async (model: string, provider: string, input: number, output: number): Promise<void> => {
      await gov!.guard({ kind: 'llm', scope: e1, model, provider }, (ctx) => {
        ctx.report({ inputTokens: input, outputTokens: output });
      });
    };
    await llm('gpt-4', 'openai', 1000, 500); // 0.06 (seed 004's example)
    await llm('gpt-4', 'openai', 2000, 0); // 0.06
    await llm('claude-3-haiku', 'anthropic', 1000, 500); // 0.000875
    const sandbox = await gov.costs.trackSandboxExecution({ scope: e1, cpuCores: 2, memoryMb: 1024, durationSeconds: 120 });
    expect(sandbox.total.toFixed()).toBe('0.007666666668');
    await gov.guard({ kind: 'tool', scope: e1, name: 'search' }, (ctx) => {
      ctx.report({ cost: '0.005' });
    });
    // Another execution's calls are not counted.
    await gov.guard({ kind: 'llm', scope: { workspace: 'ws', execution: 'other' }, model: 'gpt-4' }, (ctx) => {
      ctx.report({ inputTokens: 5000 });
    });
    const cost = await gov.costs.getExecutionCost('exec_456');
    expect({
      total: cost.total.toFixed(),
      llm: cost.llm.toFixed(),
      compute: cost.compute.toFixed(),
      other: cost.other.toFixed(),
      calls: cost.llmCallCount,
      tokens: cost.totalTokens,
    }).toEqual({ total: '0.133541666668', llm: '0.120875', compute: '0.007666666668', other: '0.005', calls: 3, tokens: 5000 });
    expect(cost.byModel.map((m) => [m.provider, m.model, m.cost.toFixed(), m.tokens, m.calls])).toEqual([
      ['openai', 'gpt-4', '0.12', 3500, 2],
      ['anthropic', 'claude-3-haiku', '0.000875', 1500, 1],
    ]);
    expect(cost.byResource.map((r) => [r.resource, r.cost.toFixed(), r.usage.toFixed(), r.unit, r.count])).toEqual([
      ['cpu', '0.003333333334', '240', 'core-second', 1],
      ['memory', '0.000333333334', '120', 'gb-second', 1],
      ['sandbox', '0.004', '120', 'second', 1],
    ]);
    expect(cost.total.toFixed()).toBe(cost.llm.plus(cost.compute).plus(cost.other).toFixed());
  });

  it('refuses options it cannot use, naming the field', () => {
    expect(invalid(() => createGovernor({ pricing: { models: { m: { input: 'x', output: '1' } } } })).field).toBe(
      'options.pricing.models.m.input',
    );
    // A misspelt component is refused, not priced at its default.
    const typo = { input: '1', output: '2', cachedInptu: '0.1' } as unknown as ModelPrice;
    expect(invalid(() => createGovernor({ pricing: { models: { m: typo } } }))).toMatchObject({
      field: 'options.pricing.models.m.cachedInptu',
      value: '0.1',
    });
    // A governor in another currency starts; USD prices are refused where they would be mixed in.
    const eur = createGovernor({ currency: 'EUR' });
    expect(() => eur.costs.priceCompute({ cpuSeconds: 1 })).toThrow(CurrencyMismatchError);
    expect(() => eur.costs.cost({ model: 'gpt-4o', usage: { inputTokens: 1 } })).toThrow(CurrencyMismatchError);
  });
});
