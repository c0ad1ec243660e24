/** The costs room's errors. */
import { GovernorError } from '../core/index.js';

/** No price is known for a model (`unknown_model`): add it with `costs.override()` or configure a fallback price. */
export class UnknownModelError extends GovernorError {
  override readonly name: string = 'UnknownModelError';
  readonly model: string;
  readonly provider: string | undefined;
  constructor(model: string, provider: string | undefined) {
    super(
      'unknown_model',
      `unknown_model: no price for model ${JSON.stringify(model)}${provider === undefined ? '' : ` (provider ${JSON.stringify(provider)})`}; ` +
        'add it with costs.override() or set pricing.fallback',
    );
    this.model = model;
    this.provider = provider;
  }
}

/** Amounts in two currencies met without an exchange rate (`currency_mismatch`); nothing was mixed. */
export class CurrencyMismatchError extends GovernorError {
  override readonly name: string = 'CurrencyMismatchError';
  readonly from: string;
  readonly to: string;
  constructor(from: string, to: string, what: string) {
    super('currency_mismatch', `currency_mismatch: ${what} is in ${from} but costs are in ${to}; give pricing.exchangeRate to convert`);
    this.from = from;
    this.to = to;
  }
}
