/**
 * A rate-limited agent: per-user request and token limits, an endpoint that overrides
 * them, a burst allowance, and queue mode (calls wait for a slot instead of failing).
 *
 *   npx tsx examples/rate-limited-agent.ts
 */
import { createGovernor, isGovernorError } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';

// A manual clock makes the demo instant and repeatable; leave it out in real code.
const clock = new ManualClock('2026-11-23T09:00:00Z');
const start = clock.now();
const t = (): string => `t+${((clock.now() - start) / 1000).toFixed(0)}s`.padEnd(6);

const gov = createGovernor({
  clock,
  limiter: {
    // Everyone: 4 requests and 6,000 tokens a minute, at most 2 in any second.
    defaultConfig: { requestsPerMinute: 4, burstSize: 2, tokensPerMinute: 6_000 },
    // The expensive endpoint: 1 a minute, whoever asks.
    endpoints: { '/deep-research': { requestsPerMinute: 1 } },
  },
});

async function fakeLlm(prompt: string): Promise<{ text: string; input: number; output: number }> {
  return { text: `answer to ${prompt}`, input: 900, output: 300 };
}

/** One model call for a user, reporting its tokens so the token window holds the actual figure. */
function ask(user: string, prompt: string, options: { endpoint?: string; wait?: boolean } = {}) {
  return gov.guard(
    {
      user,
      endpoint: options.endpoint,
      kind: 'llm',
      estimate: { inputTokens: 1_000, outputTokens: 1_000 },
      onRateLimit: options.wait === true ? 'wait' : 'throw',
      maxWaitMs: '3m',
      usageOf: (r) => ({ inputTokens: r.input, outputTokens: r.output }),
    },
    () => fakeLlm(prompt),
  );
}

console.log('1. A burst: alice sends 3 at once (burst 2 per second)');
for (const q of ['q1', 'q2', 'q3']) {
  await ask('alice', q).then(
    (r) => console.log(`${t()} alice ${q}: ${r.text}`),
    (e: unknown) =>
      console.log(
        `${t()} alice ${q}: refused ${isGovernorError(e) ? e.code : e} (${(e as { limit?: string }).limit}, retry in ${(e as { retryAfterMs?: number }).retryAfterMs} ms)`,
      ),
  );
}

console.log('\n2. The endpoint overrides the user limits: 1 deep research a minute');
for (const q of ['topic A', 'topic B']) {
  await ask('alice', q, { endpoint: '/deep-research' }).then(
    (r) => console.log(`${t()} alice ${q}: ${r.text}`),
    (e: unknown) => console.log(`${t()} alice ${q}: refused ${(e as { code: string }).code} by ${(e as { scope: string }).scope}`),
  );
}

console.log('\n3. Queue mode: bob sends 7 calls that wait for their turn, in order');
clock.advance(1_000);
let finished = 0;
const done: Promise<void>[] = [];
for (let i = 1; i <= 7; i++) {
  done.push(
    ask('bob', `task ${i}`, { wait: true }).then((r) => {
      finished++;
      console.log(`${t()} bob ${r.text}`);
    }),
  );
}
// Let time pass a second at a time: the head of the queue sleeps on the clock until a slot frees.
while (finished < 7) {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  if (finished < 7) clock.advance(1_000);
}
await Promise.all(done);

console.log('\nWhere bob stands:');
for (const [window, u] of Object.entries(await gov.limiter.getUsage('bob'))) {
  console.log(`  ${window.padEnd(16)} ${String(u.current).padStart(5)} of ${u.limit}`);
}
