/**
 * Memory kept per scope, for agent-governor and for rate-limiter-flexible's in-memory
 * limiter. Needs a forced GC, so bench/index.ts runs it in a child process:
 *
 *   node --expose-gc --import tsx bench/heap.ts <governor|rlf>
 *
 * and reads the one JSON line (a {@link HeapReport}) it prints on stdout.
 */
import { createGovernor, MemoryStore } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { RateLimiterMemory } from 'rate-limiter-flexible';

/** `MemoryStore.size` at a measurement point. */
export type StoreSize = MemoryStore['size'];

/** Bytes per scope between two measurement points. */
export interface HeapFigure {
  readonly label: string;
  /** heapUsed + arrayBuffers delta per scope. */
  readonly bytes: number;
  /** heapUsed delta alone per scope. */
  readonly heapOnly: number;
  readonly store?: StoreSize | undefined;
}

export interface HeapReport {
  readonly subject: 'governor' | 'rlf';
  /** Distinct scopes (or keys) added per step. */
  readonly n: number;
  readonly figures: readonly HeapFigure[];
}

const N = 100_000;
/** Ledger ring size: the ledger is bounded, not per-scope state, so the warm-up fills it before the baseline. */
const LEDGER = 1000;
/** Calls after a sweep: enough store operations for several incremental sweep batches. */
const TRAFFIC = 1000;
/** Longer than the 1 m rate-limit window, so every window is idle. */
const IDLE_MS = 120_000;

interface Mem {
  readonly heapUsed: number;
  readonly arrayBuffers: number;
}

async function settledMemory(): Promise<Mem> {
  const gc = globalThis.gc;
  if (gc === undefined) throw new Error('bench/heap.ts needs a forced GC: run it with node --expose-gc --import tsx');
  // Several rounds, yielding in between, so weak-map entries and anything freed by
  // pending callbacks are gone before we read the heap.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  const m = process.memoryUsage();
  // arrayBuffers counts too: a typed array over 64 bytes keeps its backing store outside
  // the JS heap, where heapUsed does not see it.
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers };
}

function figure(label: string, from: Mem, to: Mem, store?: StoreSize): HeapFigure {
  return {
    label,
    bytes: (to.heapUsed + to.arrayBuffers - from.heapUsed - from.arrayBuffers) / N,
    heapOnly: (to.heapUsed - from.heapUsed) / N,
    store,
  };
}

async function governor(): Promise<HeapReport> {
  const clock = new ManualClock();
  const store = new MemoryStore({ clock, maxLedgerEntries: LEDGER });
  const gov = createGovernor({
    clock,
    store,
    budgets: [{ scope: { project: 'p' }, amount: '1000000' }],
    limits: [
      { scope: { agent: '*' }, meter: 'llmCalls', max: 1_000_000 },
      { scope: { agent: '*' }, meter: 'requests', max: 1_000_000, window: '1m' },
    ],
  });
  const fn = async (): Promise<number> => 1;
  // A fresh frozen scope per call, dropped afterwards, as an agent that goes away would.
  const callAs = (agent: string): Promise<number> =>
    gov.guard({ scope: Object.freeze({ project: 'p', agent }), kind: 'llm', estimate: { cost: '0.001' } }, fn);

  // Some calls on a scope that already exists: enough store operations for the store's
  // incremental sweeper to move on, as it does under any traffic.
  const traffic = async (): Promise<void> => {
    for (let i = 0; i < TRAFFIC; i++) await callAs('warm-0');
  };

  // Warm up so the baseline already holds every fixed-size structure (compiled code,
  // full ledger ring, memo caches, lease heap): the deltas are then per-scope state only.
  for (let i = 0; i < 2 * LEDGER; i++) await callAs(`warm-${i % 100}`);
  clock.advance(IDLE_MS);
  store.sweep();
  await traffic();
  const base = await settledMemory();

  for (let i = 0; i < N; i++) await callAs(`agent-${i}`);
  clock.advance(IDLE_MS);
  const idle = await settledMemory();
  const idleSize = store.size;

  // Idle windows go when swept: store.sweep() at once, or traffic a batch at a time.
  store.sweep();
  const swept = await settledMemory();
  const sweptSize = store.size;

  // The steady state of a store whose scopes went idle while others keep calling.
  await traffic();
  const steady = await settledMemory();
  const steadySize = store.size;

  // A second batch, same steps: the slope shows the cost grows linearly with scopes and
  // is not a one-off. Bounded caches do not skew either figure: the admission-plan cache
  // (cleared when it reaches 10,000 scopes) holds about 100 plans at every measurement.
  for (let i = N; i < 2 * N; i++) await callAs(`agent-${i}`);
  clock.advance(IDLE_MS);
  store.sweep();
  await traffic();
  const more = await settledMemory();
  const moreSize = store.size;
  await gov.close(); // also keeps the governor reachable until every measurement is taken

  return {
    subject: 'governor',
    n: N,
    figures: [
      figure('idle 2 min, windows not yet swept', base, idle, idleSize),
      figure('idle 2 min, after store.sweep()', base, swept, sweptSize),
      figure(`idle, swept, then ${TRAFFIC.toLocaleString('en-US')} calls on another scope`, base, steady, steadySize),
      figure(`marginal: ${N.toLocaleString('en-US')} more, same steps`, steady, more, moreSize),
    ],
  };
}

async function rlf(): Promise<HeapReport> {
  const limiter = new RateLimiterMemory({ points: 1e9, duration: 60 });
  for (let i = 0; i < 2000; i++) await limiter.consume(`warm-${i % 100}`);
  const base = await settledMemory();
  // RLF keeps a key (and its unref'd expiry timer) for `duration` only, and its clock is
  // the real one: these are live keys, all well within their 60 s.
  for (let i = 0; i < N; i++) await limiter.consume(`agent-${i}`);
  const live = await settledMemory();
  for (let i = N; i < 2 * N; i++) await limiter.consume(`agent-${i}`);
  const more = await settledMemory();
  if ((await limiter.get('agent-0')) === null) throw new Error('RLF keys expired during the measurement');
  return {
    subject: 'rlf',
    n: N,
    figures: [figure('live keys (within duration)', base, live), figure(`marginal: ${N.toLocaleString('en-US')} more`, live, more)],
  };
}

const subject = process.argv[2];
if (subject !== 'governor' && subject !== 'rlf') {
  console.error('usage: node --expose-gc --import tsx bench/heap.ts <governor|rlf>');
  process.exit(2);
}
const report = subject === 'governor' ? await governor() : await rlf();
process.stdout.write(`${JSON.stringify(report)}\n`);
