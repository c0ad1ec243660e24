/**
 * The dashboard (`npx tsx bench/dashboard.ts`, or from `npm run bench`), against the built package.
 *
 * 1. A month of 200,000 ledger entries: one snapshot (every view of the page), one HTML report,
 *    against the anchor `analytics.getCosts` alone (the least a snapshot must read).
 * 2. The governed hot path with no dashboard, with a served dashboard and no page open, and
 *    with one page open (its event stream rebuilding snapshots every debounce).
 */
import { request } from 'node:http';
import { createGovernor, MemoryStore, type LedgerEntry } from 'agent-governor';
import { buildSnapshot, renderReport, serveDashboard } from 'agent-governor/dashboard';

const N = 200_000;
const START = Date.UTC(2026, 9, 1);
const NOW = Date.UTC(2026, 9, 31) - 1;
const clock = { now: () => NOW, monotonic: () => performance.now(), sleep: () => Promise.resolve() };
const MODELS = ['gpt-4o', 'gpt-4o-mini'];

function entries(): LedgerEntry[] {
  let s = 1;
  const rnd = (): number => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const scopes = ['a1', 'a2', 'a3'].map((agent) => Object.freeze({ workspace: 'w', project: 'p', agent }));
  return Array.from({ length: N }, (_, i): LedgerEntry => {
    const input = 200 + Math.floor(rnd() * 5000);
    const output = 50 + Math.floor(rnd() * 800);
    return {
      id: `c${i}`,
      at: START + Math.floor((i / N) * (NOW - START)),
      kind: 'call',
      status: rnd() < 0.05 ? 'error' : 'ok',
      scope: scopes[i % 3]!,
      name: 'chat',
      provider: 'openai',
      model: MODELS[i % 2],
      usage: { llmCalls: '1', inputTokens: String(input), outputTokens: String(output) },
      cost: ((input * 2.5 + output * 10) / 1e6).toFixed(9),
      currency: 'USD',
      durationMs: 300 + Math.floor(rnd() * 2000),
    };
  });
}

async function median(runs: number, f: () => Promise<unknown>): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    t.push(performance.now() - t0);
  }
  return t.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

const store = new MemoryStore({ clock, maxLedgerEntries: N + 10 });
store.appendLedger(entries());
// The dashboard over a large ledger wants the analytics rollups (docs/dashboard.md).
const gov = createGovernor({
  store,
  clock,
  analytics: { rollups: true },
  pricing: { models: { 'gpt-4o': { input: '2.5', output: '10' }, 'gpt-4o-mini': { input: '0.15', output: '0.6' } } },
});
await gov.analytics.backfill();
const costs = await median(5, () => gov.analytics.getCosts({ period: 'month' }));
const snap = await median(5, () => buildSnapshot(gov, { period: 'month' }));
const report = await median(5, () => renderReport(gov, { period: 'month' }));
console.log(`\n== dashboard: a month of ${N.toLocaleString('en-US')} calls (median of 5)`);
console.log(`getCosts (anchor)    ${costs.toFixed(1)} ms`);
console.log(`buildSnapshot        ${snap.toFixed(1)} ms  (${(snap / costs).toFixed(1)}× getCosts)`);
console.log(`renderReport         ${report.toFixed(1)} ms  (${(report / costs).toFixed(1)}× getCosts)`);
await gov.close();

// ---- hot path ----------------------------------------------------------------------------
async function callsPerOp(label: string, setup: (g: ReturnType<typeof createGovernor>) => Promise<() => Promise<void>>): Promise<number> {
  const g = createGovernor({ budgets: [{ id: 'b', amount: '1000000' }], ledger: 'failures' });
  const teardown = await setup(g);
  const M = 20_000;
  for (let i = 0; i < 2000; i++) await g.guard({ estimate: { cost: '0.000001' } }, () => 1);
  const times: number[] = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    for (let i = 0; i < M; i++) await g.guard({ estimate: { cost: '0.000001' } }, () => 1);
    times.push(((performance.now() - t0) * 1e6) / M);
  }
  await teardown();
  await g.close();
  const ns = times.sort((a, b) => a - b)[1]!;
  console.log(`${label.padEnd(34)} ${ns.toFixed(0)} ns/call`);
  return ns;
}
console.log('\n== governed call (guard, one budget)');
const base = await callsPerOp('no dashboard (anchor)', async () => async () => undefined);
const idle = await callsPerOp('dashboard served, no page open', async (g) => {
  const d = await serveDashboard(g);
  return () => d.close();
});
const open = await callsPerOp('dashboard served, one page open', async (g) => {
  const d = await serveDashboard(g, { debounceMs: 200 });
  const req = request(`${d.url}api/events`);
  req.on('response', (res) => res.resume());
  req.on('error', () => undefined);
  req.end();
  await new Promise((r) => setTimeout(r, 100));
  return async () => {
    req.destroy();
    await d.close();
  };
});
console.log(`ratios: idle ${(idle / base).toFixed(2)}×, page open ${(open / base).toFixed(2)}× the anchor`);
