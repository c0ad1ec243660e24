// The built package, imported the way users import it: by name, through the exports map,
// from ESM and from CommonJS (Node resolves a package's own name from inside it).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function run(args: string[]): string {
  if (!existsSync(`${ROOT}/dist/index.js`)) throw new Error('dist/ is missing: the test command builds before it runs vitest (npm test)');
  return execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' }).trim();
}

const SCRIPT = `
  const gov = createGovernor({ budgets: [{ id: 'b', amount: '1' }] });
  const out = await gov.guard({ estimate: { cost: '0.25' } }, async () => 'ok');
  const [s] = await gov.getStatus({});
  const clock = new ManualClock(0);
  console.log(JSON.stringify([out, s.used.toFixed(), typeof storeConformance, clock.now(), new Decimal('0.1').plus('0.2').toFixed()]));
`;

describe('the built package', () => {
  it('works from ESM through its exports', () => {
    const out = run([
      '--input-type=module',
      '-e',
      `import { createGovernor, Decimal } from 'agent-governor'; import { ManualClock, storeConformance } from 'agent-governor/testing'; ${SCRIPT}`,
    ]);
    expect(JSON.parse(out)).toEqual(['ok', '0.25', 'function', 0, '0.3']);
  });

  it('works from CommonJS through its exports', () => {
    const out = run([
      '-e',
      `const { createGovernor, Decimal } = require('agent-governor'); const { ManualClock, storeConformance } = require('agent-governor/testing'); (async () => { ${SCRIPT} })();`,
    ]);
    expect(JSON.parse(out)).toEqual(['ok', '0.25', 'function', 0, '0.3']);
  });

  it('shares one ManualClock class between the entry points (a clock from testing drives the governor)', () => {
    const out = run([
      '--input-type=module',
      '-e',
      `import { createGovernor } from 'agent-governor'; import { ManualClock } from 'agent-governor/testing';
       const clock = new ManualClock(Date.UTC(2026, 0, 1));
       const gov = createGovernor({ clock, limits: [{ meter: 'requests', max: 1, window: '1m' }] });
       await gov.guard({}, () => 1);
       const before = (await gov.check({})).allowed;
       clock.advance(60_000);
       console.log(JSON.stringify([before, (await gov.check({})).allowed]));`,
    ]);
    expect(JSON.parse(out)).toEqual([false, true]);
  });

  it('exposes agent-governor/redis from ESM and CommonJS without loading ioredis', () => {
    const esm = run(['--input-type=module', '-e', `import { RedisStore } from 'agent-governor/redis'; console.log(typeof RedisStore)`]);
    const cjs = run([
      '-e',
      `const { RedisStore } = require('agent-governor/redis'); console.log(typeof RedisStore, Object.keys(require.cache).some((k) => k.includes('ioredis')))`,
    ]);
    expect([esm, cjs]).toEqual(['function', 'function false']);
  });

  it('ships the dashboard page with uPlot inlined (no file read, no CDN) from ESM and CommonJS, and loads it only on use', () => {
    const check = `const gov = createGovernor(); const html = await gov.analytics.renderReport();
      const again = await renderReport(gov, { title: 'T' });
      console.log(JSON.stringify([typeof serveDashboard, html.includes('uPlot'), html.includes('EventSource'), /<script[^>]+src=/.test(html), again.includes('<title>T</title>')]));`;
    const esm = run([
      '--input-type=module',
      '-e',
      `import { createGovernor } from 'agent-governor'; import { serveDashboard, renderReport } from 'agent-governor/dashboard'; ${check}`,
    ]);
    const cjs = run([
      '-e',
      `const { createGovernor } = require('agent-governor'); const { serveDashboard, renderReport } = require('agent-governor/dashboard'); (async () => { ${check} })();`,
    ]);
    expect([JSON.parse(esm), JSON.parse(cjs)]).toEqual([
      ['function', true, true, false, true],
      ['function', true, true, false, true],
    ]);

    const dist = readdirSync(`${ROOT}/dist`).filter((f) => /\.(c?js)$/.test(f));
    // The core entry carries no page (uPlot is in the chunk the governor loads on first renderReport), and nothing reads assets from disk.
    expect(readFileSync(`${ROOT}/dist/index.js`, 'utf8')).not.toContain('uPlot');
    expect(dist.filter((f) => readFileSync(`${ROOT}/dist/${f}`, 'utf8').includes('node_modules/uplot'))).toEqual([]);
  });

  it('runs the agent-governor command (package.json bin)', () => {
    const help = run(['dist/cli.js', 'report', '--help']);
    expect(help).toContain('Usage: agent-governor report [options]');
    expect(help).toContain('--redis <url>');
  });

  // A refusal from an integration entry is the main entry's GovernorError: the error classes live in one shared chunk.
  const INTEGRATIONS = `
    const gov = createGovernor({ budgets: [{ id: 'b', amount: '0' }] });
    const client = governOpenAI(new OpenAI({ apiKey: 'x', baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 }), gov);
    const e = await client.chat.completions.create({ model: 'gpt-4o', messages: [] }).catch((x) => x);
    console.log(JSON.stringify([e instanceof GovernorError, e.code, typeof governAnthropic, typeof governorMiddleware]));
  `;

  it('the SDK entry points work from ESM and refuse with the main entry’s GovernorError', () => {
    const out = run([
      '--input-type=module',
      '-e',
      `import { createGovernor, GovernorError } from 'agent-governor'; import { governOpenAI } from 'agent-governor/openai';
       import { governAnthropic } from 'agent-governor/anthropic'; import { governorMiddleware } from 'agent-governor/ai'; import OpenAI from 'openai';
       ${INTEGRATIONS}`,
    ]);
    expect(JSON.parse(out)).toEqual([true, 'budget_exceeded', 'function', 'function']);
  });

  it('the SDK entry points work from CommonJS', () => {
    const out = run([
      '-e',
      `const { createGovernor, GovernorError } = require('agent-governor'); const { governOpenAI } = require('agent-governor/openai');
       const { governAnthropic } = require('agent-governor/anthropic'); const { governorMiddleware } = require('agent-governor/ai'); const OpenAI = require('openai');
       (async () => { ${INTEGRATIONS} })();`,
    ]);
    expect(JSON.parse(out)).toEqual([true, 'budget_exceeded', 'function', 'function']);
  });
});
