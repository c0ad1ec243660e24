// The dashboard and the report in a real browser (Debian's Chromium via playwright-core).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Decimal } from 'decimal.js';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Governor } from 'agent-governor';
import { serveDashboard, type DashboardServer } from 'agent-governor/dashboard';
import { FIXTURE_NOW, generateLedger } from './fixtures/analytics-ledger.js';
import { fixtureGovernor, launchChromium, moneyText, spend055, watchErrors } from './browser.js';

const IMG = new URL('../docs/img/', import.meta.url);
let browser: Browser;
let gov: Governor;
let server: DashboardServer;

beforeAll(async () => {
  browser = await launchChromium();
  ({ gov } = await fixtureGovernor());
  server = await serveDashboard(gov, { debounceMs: 50 });
  mkdirSync(IMG, { recursive: true });
});
afterAll(async () => {
  await server?.close();
  await browser?.close();
  await gov?.close();
});

const text = (page: Page, sel: string): Promise<string> => page.locator(sel).innerText();

describe('the live dashboard', () => {
  it('shows the fixture month, updates within a second of a guarded call, and alerts on the 50 % threshold', async () => {
    const costs = await gov.analytics.getCosts({ period: 'month' });
    const calls = await gov.analytics.getApiCallAnalytics({ period: 'month' });
    // The fixture's October up to "now", summed straight from the ledger.
    const october = generateLedger().filter((e) => e.kind === 'call' && e.at >= Date.UTC(2026, 9, 1) && e.at <= FIXTURE_NOW);
    expect(costs.totalCost).toBe(october.reduce((sum, e) => sum.plus(e.cost), new Decimal(0)).toString());
    expect(costs.totalCost).toBe('64.818761793061');
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page);
    await page.goto(server.url);
    await page.locator('#total-cost').waitFor();
    expect(await text(page, '#total-cost')).toBe(moneyText(costs.totalCost));
    expect(await page.locator('#total-cost').getAttribute('data-exact')).toBe(costs.totalCost);
    expect(await text(page, '#total-calls')).toBe(calls.totals.totalCalls.toLocaleString('en-US'));
    expect(await text(page, '#total-failed')).toBe(String(calls.totals.failedCalls));
    expect(await text(page, '#total-rate-limited')).toBe(String(calls.totals.rateLimitedCalls));
    expect(await text(page, '#forecast-eom')).toBe(moneyText(costs.trends.forecastEom as string));
    const gauge = page.locator('.gauge[data-limit="p9-month"] .gauge-text');
    expect(await gauge.innerText()).toBe('0.0000 USD of 1.0000 USD (0.00 %)');
    expect(await text(page, '#alerts')).toBe('No alerts.');
    expect(await page.locator('#heatmap td').count()).toBe(7 * 24);
    expect(await page.locator('#timeline canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('#burn [data-burn="p9-month"] canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('#recs li.rec').count()).toBe((await gov.analytics.getRecommendations({ period: 'month' })).length);

    await spend055(gov);
    // Within a second: the event stream pushes the new snapshot (debounced 50 ms here).
    await expect.poll(() => gauge.innerText(), { timeout: 1000, interval: 20 }).toBe('0.5500 USD of 1.0000 USD (55.00 %)');
    expect(await text(page, '#total-cost')).toBe(moneyText(new Decimal(costs.totalCost).plus('0.55')));
    await page.locator('#alerts li.alert.warning').waitFor({ timeout: 1000 });
    expect(await text(page, '#alerts li.alert.warning')).toContain('p9-month (project=p9) reached 50 %: cost 0.55 of 1 USD');
    await page.screenshot({ path: new URL('dashboard.png', IMG).pathname, fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('fits a narrow screen without sideways scrolling', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    const errors = watchErrors(page);
    await page.goto(server.url);
    await page.locator('#total-cost').waitFor();
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('the static report', () => {
  // Runs after the live test's $0.55 call.
  it('opens from a file:// URL with no network and shows the same totals', async () => {
    const costs = await gov.analytics.getCosts({ period: 'month' });
    const html = await gov.analytics.renderReport({ period: 'month' });
    const file = join(mkdtempSync(join(tmpdir(), 'agov-report-')), 'report.html');
    writeFileSync(file, html);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, offline: true });
    const requests: string[] = [];
    context.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(pathToFileURL(file).href);
    await page.locator('#total-cost').waitFor();
    expect(await text(page, '#total-cost')).toBe(moneyText(costs.totalCost));
    expect(await page.locator('#total-cost').getAttribute('data-exact')).toBe(costs.totalCost);
    expect(await text(page, '.gauge[data-limit="p9-month"] .gauge-text')).toBe('0.5500 USD of 1.0000 USD (55.00 %)');
    expect(await page.locator('#timeline canvas').count()).toBeGreaterThan(0);
    expect(await text(page, '#status')).toMatch(/^Report generated 2026-10-30 12:30 UTC$/);
    await page.screenshot({ path: new URL('report.png', IMG).pathname, fullPage: true });
    expect(requests).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
