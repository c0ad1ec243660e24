// Shared by the browser tests: Debian's Chromium driven by playwright-core, one browser per file.
// A missing Chromium fails the tests with the command that installs it (never a skip).
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Decimal } from 'decimal.js';
import { createGovernor, MemoryStore, type Governor } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { FIXTURE_NOW, FIXTURE_PRICES, generateLedger } from './fixtures/analytics-ledger.js';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Launch headless Chromium. Each launch gets a fresh profile: playwright's `launch()` passes its
 * own new temporary `--user-data-dir` (and refuses one in `args`) and deletes it on close.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `The browser tests need Chromium at ${CHROMIUM}. Install it: apt-get install -y chromium (Debian/Ubuntu), then run npm test again.`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

/** Console errors and uncaught exceptions of a page, collected from the start. */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

/** A money text as the page shows it: half-up to 4 places, thousands separated, currency after. */
export function moneyText(amount: Decimal.Value, currency = 'USD'): string {
  const [int, frac] = new Decimal(amount).toDecimalPlaces(4, Decimal.ROUND_HALF_UP).toFixed(4).split('.');
  return `${(int as string).replace(/\B(?=(\d{3})+(?!\d))/g, ',')}.${frac as string} ${currency}`;
}

/** A governor over the analytics fixture ledger (60 days, ~10,000 calls) at the fixture's "now", with a $1 monthly budget on project p9. */
export async function fixtureGovernor(): Promise<{ gov: Governor; clock: ManualClock }> {
  const clock = new ManualClock(FIXTURE_NOW);
  const store = new MemoryStore({ clock, maxLedgerEntries: 50_000 });
  store.appendLedger(generateLedger());
  const gov = createGovernor({
    store,
    clock,
    pricing: { models: FIXTURE_PRICES },
    budgets: [{ id: 'p9-month', scope: { project: 'p9' }, amount: '1', period: 'month' }],
  });
  await gov.analytics.backfill();
  return { gov, clock };
}

/** One call on project p9 that costs exactly 0.55 on gpt-4o (100,000 input tokens at $2.5/M, 30,000 output at $10/M). */
export async function spend055(gov: Governor): Promise<void> {
  await gov.guard({ scope: { project: 'p9', agent: 'z' }, provider: 'openai', model: 'gpt-4o', estimate: { llmCalls: 1 } }, (ctx) => {
    ctx.report({ inputTokens: 100_000, outputTokens: 30_000 });
  });
}
