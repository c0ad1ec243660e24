/** The one page: uPlot, the client script and its stylesheet inlined, and for a report the data too. */
import { pageAssets } from './assets.js';
import type { DashboardSnapshot } from './snapshot.js';

/** Text safe inside a `<script>` or `<style>` element. */
function inlineSafe(text: string): string {
  return text.replace(/<\/(script|style)/gi, '<\\/$1');
}

/** JSON safe inside a `<script>` element (no `<`, and no line separators that break older parsers). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The page's content security policy: inline code only (everything is inlined), and for the
 * live page connections to its own origin (the snapshot and the event stream); a report
 * connects nowhere.
 */
export function contentSecurityPolicy(live: boolean): string {
  return [
    "default-src 'none'",
    "script-src 'unsafe-inline'",
    "style-src 'unsafe-inline'",
    'img-src data:',
    `connect-src ${live ? "'self'" : "'none'"}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

/** The HTML of the dashboard (`snapshot` undefined: it fetches and subscribes) or of a report (`snapshot` embedded). */
export function pageHtml(options: { title: string; snapshot?: DashboardSnapshot | undefined }): string {
  const a = pageAssets();
  const live = options.snapshot === undefined;
  const data = live ? 'null' : scriptJson(options.snapshot);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(live)}">
<title>${escapeHtml(options.title)}</title>
<style>${inlineSafe(a.uplotCss)}</style>
<style>${inlineSafe(a.appCss)}</style>
</head>
<body data-mode="${live ? 'live' : 'report'}">
<header>
  <h1>${escapeHtml(options.title)}</h1>
  <p id="meta" class="meta"></p>
  <p id="status" class="status" role="status"></p>
</header>
<main>
  <section id="totals" class="cards" aria-label="Totals"></section>
  <section class="panel" aria-labelledby="h-alerts"><h2 id="h-alerts">Alerts</h2><ul id="alerts" class="alerts"></ul></section>
  <section class="panel" aria-labelledby="h-budgets"><h2 id="h-budgets">Budgets and limits</h2><div id="gauges" class="gauges"></div></section>
  <section class="panel" aria-labelledby="h-burn"><h2 id="h-burn">Cost burn-down</h2><div id="burn" class="charts"></div></section>
  <div class="grid2">
    <section class="panel" aria-labelledby="h-heat"><h2 id="h-heat">Tokens by hour (UTC)</h2><div id="heatmap" class="heatmap"></div></section>
    <section class="panel" aria-labelledby="h-calls"><h2 id="h-calls">API calls per hour</h2><div id="timeline" class="chart"></div></section>
  </div>
  <div class="grid2">
    <section class="panel" aria-labelledby="h-waste"><h2 id="h-waste">Waste</h2><div id="waste"></div></section>
    <section class="panel" aria-labelledby="h-breakers"><h2 id="h-breakers">Circuit breakers</h2><div id="breakers"></div></section>
  </div>
  <section class="panel" aria-labelledby="h-recs"><h2 id="h-recs">Recommendations</h2><ol id="recs" class="recs"></ol></section>
</main>
<script>${inlineSafe(a.uplotJs)}</script>
<script>window.__GOVERNOR_SNAPSHOT__ = ${data};</script>
<script>${inlineSafe(a.appJs)}</script>
</body>
</html>
`;
}
