// Shared setup of the integration tests: a governor on a manual clock with known prices and
// a $1 budget, and the loopback provider server the real SDKs are pointed at.
import { createGovernor, type Governor, type GovernorOptions, type LedgerEntry } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { FakeLLM, type Scenario } from '../../examples/support/fake-llm.js';

export const T0 = Date.parse('2026-11-23T10:00:00Z');
export const scope = Object.freeze({ project: 'p', agent: 'a' });

/** Prices per million tokens, chosen so that every charge below is easy to work out by hand. */
export const PRICES = {
  'gpt-test': { input: '2', cachedInput: '0.5', output: '8' },
  'claude-test': { input: '3', cachedInput: '0.3', cacheWrite: '3.75', output: '15' },
} as const;

/** The time a response head takes on the manual clock, and then the first text event. */
export const HEAD_MS = 100;
export const FIRST_TEXT_MS = 25;

export interface Harness {
  gov: Governor;
  clock: ManualClock;
  fake: FakeLLM;
}

export function makeGovernor(clock: ManualClock, options: Omit<GovernorOptions, 'clock'> = {}): Governor {
  return createGovernor({
    clock,
    pricing: { models: { ...PRICES } },
    budgets: [{ id: 'budget', scope: { project: 'p' }, amount: '1.00' }],
    ...options,
  });
}

/** Point the fake at a scenario whose head and first text move `clock`. */
export function play(fake: FakeLLM, clock: ManualClock, s: Omit<Scenario, 'tick'>): void {
  fake.scenario = { ...s, tick: (what) => clock.advance(what === 'head' ? HEAD_MS : FIRST_TEXT_MS) };
}

export async function calls(gov: Governor): Promise<LedgerEntry[]> {
  return [...(await gov.queryLedger({ kinds: ['call'] })).entries];
}

export async function lastCall(gov: Governor): Promise<LedgerEntry> {
  const all = await calls(gov);
  const e = all[all.length - 1];
  if (e === undefined) throw new Error('no call in the ledger');
  return e;
}

/** The budget's used, held and remaining amounts: held must be 0 once a call is settled. */
export async function budget(gov: Governor): Promise<{ used: string; held: string; remaining: string }> {
  const s = (await gov.getStatus(scope)).find((x) => x.limit === 'budget');
  if (s === undefined) throw new Error('no budget');
  return { used: s.used.toFixed(), held: s.held.toFixed(), remaining: s.remaining.toFixed() };
}

/** Let settles that run after a stream's end (an abort listener, a cancel) finish. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

export { FakeLLM };
