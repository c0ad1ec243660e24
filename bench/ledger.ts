/**
 * The ledger's share of a governed call, each mode measured in a fresh process (`npx tsx
 * bench/ledger.ts`, or from `npm run bench`). Two governors in one process share the
 * JIT and the heap, so the second one measured pays for the first one's garbage; only
 * separate processes compare them fairly.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createGovernor, MemoryStore } from 'agent-governor';

type Mode = 'all' | 'failures' | 'none';
const MODES: readonly Mode[] = ['all', 'failures', 'none'];

/** ns per governed call with this ledger mode: best of 3 rounds of 200,000 calls after warm-up. */
async function measure(ledger: Mode): Promise<number> {
  const gov = createGovernor({
    ledger,
    store: new MemoryStore({ maxLedgerEntries: 10_000 }),
    budgets: [{ scope: { project: 'p' }, amount: '1000000' }],
    limits: [
      { scope: { agent: '*' }, meter: 'llmCalls', max: 1e12 },
      { scope: { agent: '*' }, meter: 'requests', max: 1e12, window: '1m' },
    ],
  });
  const scope = Object.freeze({ project: 'p', agent: 'a1' });
  const fn = async (): Promise<number> => 1;
  const n = 200_000;
  for (let i = 0; i < 50_000; i++) await gov.guard({ scope, kind: 'llm', estimate: { cost: '0.001' } }, fn);
  let best = Infinity;
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await gov.guard({ scope, kind: 'llm', estimate: { cost: '0.001' } }, fn);
    best = Math.min(best, ((performance.now() - t0) * 1e6) / n);
  }
  return best;
}

/** Run every mode in its own process and print ns/call and each against `rlfNs` if given. */
export function benchLedger(rlfNs?: number, plainNs?: number): Record<Mode, number> {
  const script = fileURLToPath(import.meta.url);
  const root = fileURLToPath(new URL('..', import.meta.url));
  const out = {} as Record<Mode, number>;
  console.log('\nThe ledger’s share of a governed call (budget + quota + rate), each mode in a fresh process, best of 3 × 200,000 calls');
  for (const mode of MODES) {
    const text = execFileSync(process.execPath, ['--import', 'tsx', script, '--mode', mode], { cwd: root, encoding: 'utf8' });
    out[mode] = Number(text.trim().split('\n').at(-1));
    const vs =
      rlfNs === undefined || plainNs === undefined ? '' : `   overhead = ${((out[mode] - plainNs) / rlfNs).toFixed(2)}x RLF consume`;
    console.log(`  ledger: '${mode}'`.padEnd(22) + `${Math.round(out[mode]).toLocaleString('en-US').padStart(6)} ns/call${vs}`);
  }
  return out;
}

if (process.argv[2] === '--mode') {
  console.log(await measure(process.argv[3] as Mode));
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  benchLedger();
}
