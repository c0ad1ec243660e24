/**
 * Provider failover with circuit breakers: an agent prefers one provider and falls back
 * to another while the first one's breaker is open. The breaker is checked before any
 * budget or rate limit, so a call to a provider that is down costs nothing and waits
 * for nothing; after the open period one call probes the provider again.
 *
 *   npx tsx examples/provider-failover.ts
 */
import { CircuitOpenError, createGovernor, type BreakerEvent } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

// A manual clock makes the demo instant and its output the same on every run.
// In your code, leave `clock` out: the governor uses the system clock.
const START = Date.parse('2026-11-23T09:00:00Z');
const clock = new ManualClock(START);
const t = (): string => `t+${String((clock.now() - START) / 1000).padStart(3)}s`;

const gov = createGovernor({
  clock,
  pricing: {
    models: {
      'primary-large': { input: '3', output: '15' },
      'backup-large': { input: '2.5', output: '10' },
    },
  },
  budgets: [{ id: 'support-budget', scope: { project: 'support' }, amount: '5' }],
  // Every breaker: open after 3 consecutive failures, probe again after 1 minute;
  // a call slower than 30 s is aborted and counts as a failure.
  breakers: { failureThreshold: 3, resetTimeout: '1m', timeout: '30s' },
});

const say = (what: string) => (e: BreakerEvent) => {
  console.log(
    `${t()}   [breaker ${e.breaker} ${what}: ${e.reason}${e.halfOpenAt === undefined ? '' : `, probe at t+${(e.halfOpenAt - START) / 1000}s`}]`,
  );
};
gov.on('breaker.open', say('opened'));
gov.on('breaker.halfOpen', say('half-open'));
gov.on('breaker.close', say('closed'));

class ProviderError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status} from the provider`);
  }
}

/** A fake provider: down (503) while `isDown()` says so, else answers with usage. */
function fakeProvider(name: string, isDown: () => boolean) {
  return async (prompt: string) => {
    if (isDown()) throw new ProviderError(503);
    return { text: `${name} on "${prompt}"`, usage: { inputTokens: 900, outputTokens: 300 } };
  };
}

// The primary provider is down from t+10s to t+100s.
const primaryDown = (): boolean => {
  const s = (clock.now() - START) / 1000;
  return s >= 10 && s < 100;
};
const providers = [
  { provider: 'primary', model: 'primary-large', llm: fakeProvider('primary', primaryDown) },
  { provider: 'backup', model: 'backup-large', llm: fakeProvider('backup', () => false) },
];

/** Ask the first provider whose breaker lets the call through. */
async function ask(prompt: string): Promise<string> {
  for (const p of providers) {
    try {
      const reply = await gov.guard(
        {
          scope: { project: 'support', agent: 'triage' },
          kind: 'llm',
          provider: p.provider,
          model: p.model,
          breaker: { provider: p.provider, model: p.model },
          estimate: { inputTokens: 1000, outputTokens: 500 },
          usageOf: (r) => r.usage,
        },
        () => p.llm(prompt),
      );
      return reply.text;
    } catch (e) {
      if (e instanceof CircuitOpenError) {
        console.log(`${t()}   ${p.provider} skipped: breaker open, retry in ${e.retryAfterMs / 1000}s`);
      } else {
        console.log(`${t()}   ${p.provider} failed: ${(e as Error).message}`);
      }
    }
  }
  throw new Error('every provider failed');
}

for (let i = 1; i <= 18; i++) {
  console.log(`${t()} ticket ${i}: ${await ask(`ticket ${i}`)}`);
  clock.advance(10_000);
}

const spent = (await gov.getStatus({ project: 'support' }))[0]!;
console.log(`\nspent ${spent.used.toFixed()} of ${spent.max.toFixed()} USD`);
for (const b of await gov.breakers.snapshot()) console.log(`breaker ${b.key}: ${b.state}, ${b.failures} failures in a row`);
