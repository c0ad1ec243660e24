// `agent-governor report` against a real Redis: governors write the ledger, the CLI reads it back into a report.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGovernor } from 'agent-governor';
import { RedisStore } from 'agent-governor/redis';
import { progressBar, run } from '../src/cli/program.js';
import { connectRedis, dropPrefix, freshPrefix, REDIS_URL } from './redis-helpers.js';
import type { Redis } from 'ioredis';

let client: Redis;
const prefix = freshPrefix('cli');
beforeAll(async () => {
  client = await connectRedis();
  const gov = createGovernor({
    store: new RedisStore({ client, prefix }),
    pricing: { models: { m: { input: '1', output: '2' } } },
    analytics: { rollups: true },
  });
  // Two projects: 3 calls on p1 (1,000 in + 500 out = $0.002 each), 1 on p2.
  for (const project of ['p1', 'p1', 'p1', 'p2']) {
    await gov.guard({ scope: { workspace: 'w', project }, model: 'm', estimate: { llmCalls: 1 } }, (ctx) => {
      ctx.report({ inputTokens: 1000, outputTokens: 500 });
    });
  }
  await gov.analytics.flush();
});
afterAll(async () => {
  await dropPrefix(client, prefix);
  client.disconnect();
});

const io = () => {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t), tty: false } };
};

describe('agent-governor report', () => {
  it('writes a self-contained report of one scope from the Redis ledger, with a progress bar on stderr', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'agov-cli-')), 'report.html');
    const { out, io: cli } = io();
    const code = await run(['report', '--redis', REDIS_URL, '--prefix', prefix, '--rollups', '--scope', 'project=p1', '--out', file], cli);
    expect([code, out.stderr]).toEqual([0, `${progressBar(1)}\n`]);
    expect(out.stdout).toMatch(/^wrote .*report\.html \(\d+ KB\)\n$/);
    const html = readFileSync(file, 'utf8');
    const data = JSON.parse(/window\.__GOVERNOR_SNAPSHOT__ = (.*);<\/script>/.exec(html)?.[1] ?? 'null') as {
      scope: object;
      totals: { cost: string; calls: number };
    };
    expect(data.scope).toEqual({ project: 'p1' });
    expect(data.totals).toMatchObject({ cost: '0.006', calls: 3 });
    // Nothing to fetch: no external script or stylesheet; the only URL is uPlot's licence header.
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet/);
    expect(html.match(/https?:\/\/[\w./-]+/g)).toEqual(['https://github.com/leeoniya/uPlot']);
  });

  it('reads the raw ledger by default and gives the same totals as the rollups', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'agov-cli-')), 'r.html');
    const { io: cli } = io();
    expect(
      await run(['report', '--redis', REDIS_URL, '--prefix', prefix, '--scope', 'workspace=w', '--no-progress', '--out', file], cli),
    ).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('"totals":{"cost":"0.008","llmCost":"0.008"');
  });

  it('names what is wrong in the arguments', async () => {
    const { out, io: cli } = io();
    expect(await run(['report', '--redis', REDIS_URL, '--scope', 'team=x', '--out', 'x.html'], cli)).toBe(1);
    expect(out.stderr).toContain('expected level=id with level one of workspace, project, pool, agent, execution (got team=x)');
    const second = io();
    expect(await run(['report', '--out', 'x.html'], second.io)).toBe(1);
    expect(second.out.stderr).toContain("required option '--redis <url>' not specified");
  });

  it('draws a bar', () => {
    expect(progressBar(0, 10)).toBe('reading ledger [----------]   0%');
    expect(progressBar(0.5, 10)).toBe('reading ledger [#####-----]  50%');
    expect(progressBar(2, 10)).toBe('reading ledger [##########] 100%');
  });
});
