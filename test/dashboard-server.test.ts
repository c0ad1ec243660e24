// The dashboard server over HTTP: binding rules, the token, read-only endpoints, the snapshot.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGovernor, type Governor } from 'agent-governor';
import {
  buildSnapshot,
  isLoopback,
  renderReport,
  serveDashboard,
  type DashboardServer,
  type DashboardSnapshot,
} from 'agent-governor/dashboard';
import { pageHtml, scriptJson } from '../src/dashboard/html.js';
import { fixtureGovernor, spend055 } from './browser.js';

let gov: Governor;
beforeAll(async () => {
  ({ gov } = await fixtureGovernor());
});
afterAll(async () => {
  await gov.close();
});

/** One HTTP request; resolves to status, headers and body (the first chunk for an event stream). */
function call(url: string, init: { method?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
        if (String(res.headers['content-type']).startsWith('text/event-stream') && body.includes('event: snapshot')) req.destroy();
      });
      const done = (): void => resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      res.on('end', done);
      res.on('close', done);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('binding', () => {
  it('refuses a non-loopback host without a token, and a short token', async () => {
    await expect(serveDashboard(gov, { host: '0.0.0.0' })).rejects.toMatchObject({ code: 'invalid_input', field: 'options.token' });
    await expect(serveDashboard(gov, { host: '0.0.0.0', token: 'short' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(serveDashboard(gov, { port: 70000 })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('knows the loopback names', () => {
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'].map(isLoopback)).toEqual([true, true, true, true, true]);
    expect(['0.0.0.0', '::', '192.168.1.2', 'example.com', '128.0.0.1'].map(isLoopback)).toEqual([false, false, false, false, false]);
  });

  it('binds 127.0.0.1 by default and a non-loopback host with a token', async () => {
    const local = await serveDashboard(gov);
    expect(local.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await local.close();
    const token = 'a-long-enough-secret-token';
    const wide = await serveDashboard(gov, { host: '0.0.0.0', token });
    expect(wide.url).toMatch(/^http:\/\/0\.0\.0\.0:\d+\/\?token=a-long-enough-secret-token$/);
    await wide.close();
  });
});

describe('with a token', () => {
  const token = 'correct-horse-battery-staple';
  let server: DashboardServer;
  let base: string;
  beforeAll(async () => {
    server = await serveDashboard(gov, { token });
    base = server.url.replace(/\?.*$/, '');
  });
  afterAll(() => server.close());

  it('answers 401 without a token or with a wrong one, on every path', async () => {
    for (const path of ['', 'api/snapshot', 'api/events', 'nope']) {
      expect((await call(base + path)).status).toBe(401);
      expect((await call(`${base}${path}?token=correct-horse-battery-stapl`)).status).toBe(401);
      expect((await call(base + path, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      const r = await call(base + path, { headers: { authorization: `Basic ${token}` } });
      expect([r.status, r.headers['www-authenticate']]).toEqual([401, 'Bearer']);
    }
  });

  it('serves the page, the snapshot and the stream with the right token (header or query)', async () => {
    const page = await call(server.url);
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.body).toContain('<title>agent-governor</title>');
    const snap = await call(`${base}api/snapshot`, { headers: { authorization: `Bearer ${token}` } });
    expect(snap.status).toBe(200);
    const s = JSON.parse(snap.body) as DashboardSnapshot;
    expect(s.totals.cost).toBe((await gov.analytics.getCosts({ period: 'month' })).totalCost);
    const events = await call(`${base}api/events?token=${token}`);
    expect(events.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    expect(events.body).toMatch(/^retry: 2000\n\nevent: snapshot\ndata: \{"version":1,/);
    expect((await call(`${base}nope?token=${token}`)).status).toBe(404);
  });
});

describe('read-only', () => {
  it('answers 405 to every method but GET, on every path, and nothing changes', async () => {
    const server = await serveDashboard(gov);
    const before = JSON.stringify([
      gov.listLimits(),
      await gov.getStatus({ project: 'p9' }),
      (await gov.queryLedger({ limit: 100000 })).entries.length,
    ]);
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']) {
      for (const path of ['', 'api/snapshot', 'api/events', 'api/limits']) {
        const r = await call(server.url + path, { method });
        expect([method, path, r.status, r.headers.allow]).toEqual([method, path, 405, 'GET']);
      }
    }
    const after = JSON.stringify([
      gov.listLimits(),
      await gov.getStatus({ project: 'p9' }),
      (await gov.queryLedger({ limit: 100000 })).entries.length,
    ]);
    expect(after).toBe(before);
    await server.close();
  });
});

describe('snapshots', () => {
  it('count the budget, the heatmap and the timeline from what the governor recorded', async () => {
    const server = await serveDashboard(gov, { scope: { project: 'p9' }, period: 'month' });
    await spend055(gov);
    const s = JSON.parse((await call(`${server.url}api/snapshot`)).body) as DashboardSnapshot;
    expect(s.totals).toMatchObject({ cost: '0.55', calls: 1, failedCalls: 0, tokens: 130_000 });
    expect(s.budgets.map((b) => [b.id, b.used, b.max, b.usagePercent, b.thresholdReached])).toEqual([['p9-month', '0.55', '1', 55, 50]]);
    // The call was at the fixture's now, 2026-10-30 12:30 UTC: the last day's hour 12.
    expect(s.heatmap.days).toEqual(['2026-10-24', '2026-10-25', '2026-10-26', '2026-10-27', '2026-10-28', '2026-10-29', '2026-10-30']);
    expect(s.heatmap.tokens[6]?.[12]).toBe(130_000);
    expect(s.heatmap.tokens.flat().reduce((a, b) => a + b, 0)).toBe(130_000);
    expect(s.timeline.ok.reduce((a, b) => a + b, 0)).toBe(1);
    expect(s.timeline.ok[6 * 24 + 12]).toBe(1);
    expect(s.budgets[0]?.burn?.forecast).toEqual([
      [Date.UTC(2026, 9, 30, 12, 30), 0.55],
      [Date.UTC(2026, 10, 1), 0.55 + (0.55 / 29.520833333333332) * 1.4791666666666667],
    ]);
    await server.close();
  });
});

describe('snapshot details', () => {
  it('draws a wildcard limit as one gauge per active member, the fullest first', async () => {
    const g = createGovernor({ limits: [{ id: 'per-agent', scope: { agent: '*' }, meter: 'llmCalls', max: 10 }] });
    for (const agent of ['a', 'b', 'b', 'c', 'c', 'c'])
      await g.guard({ scope: { project: 'x', agent }, estimate: { llmCalls: 1 } }, () => 1);
    const s = await buildSnapshot(g);
    expect(s.budgets.map((b) => [b.id, b.scope, b.used, b.usagePercent])).toEqual([
      ['per-agent', { agent: 'c' }, '3', 30],
      ['per-agent', { agent: 'b' }, '2', 20],
      ['per-agent', { agent: 'a' }, '1', 10],
    ]);
    // A page of one agent shows that agent's gauge of the wildcard limit, and only its.
    const one = await buildSnapshot(g, { scope: { agent: 'b' } });
    expect(one.budgets.map((b) => [b.id, b.scope, b.used])).toEqual([['per-agent', { agent: 'b' }, '2']]);
    await g.close();
  });

  it('refuses a bad period or scope at start', async () => {
    await expect(serveDashboard(gov, { period: 'year' as 'month' })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(serveDashboard(gov, { scope: { agent: '*' } })).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('embeds data and titles so that no value can close the script or inject markup', () => {
    const hostile = '</script><img src=x onerror=alert(1)>\u2028';
    expect(scriptJson({ m: hostile })).toBe('{"m":"\\u003c/script>\\u003cimg src=x onerror=alert(1)>\\u2028"}');
    expect(JSON.parse(scriptJson({ m: hostile }))).toEqual({ m: hostile });
    const html = pageHtml({ title: hostile });
    expect(html).toContain('<title>&#60;/script&#62;&#60;img src=x onerror=alert(1)&#62;\u2028</title>');
  });
});

describe('bad input', () => {
  it('is refused with invalid_input naming the field: not a Governor, unknown options, a bad title or onProgress', async () => {
    await expect(serveDashboard(null as unknown as Governor)).rejects.toMatchObject({ code: 'invalid_input', field: 'gov', value: null });
    await expect(renderReport({} as Governor)).rejects.toMatchObject({ code: 'invalid_input', field: 'gov' });
    await expect(renderReport(gov, { colour: 'red' } as object)).rejects.toMatchObject({ field: 'options.colour', value: 'red' });
    await expect(renderReport(gov, { title: 5 as unknown as string })).rejects.toMatchObject({ field: 'options.title', value: 5 });
    await expect(buildSnapshot(gov, { onProgress: 5 as unknown as () => void })).rejects.toMatchObject({
      code: 'invalid_input',
      field: 'options.onProgress',
      value: 5,
    });
    await expect(buildSnapshot(gov, null as unknown as object)).rejects.toMatchObject({ code: 'invalid_input', field: 'options' });
  });
});
