// The webhook alert channel against a loopback HTTP server: retries on 5xx, fails at once on
// other 4xx, times out on the injected clock. Real sockets, no real sleeping.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createGovernor, webhookChannel, WebhookDeliveryError, type BudgetAlert } from 'agent-governor';
import { ManualClock } from 'agent-governor/testing';
import { invalid } from './helpers.js';

let server: Server | undefined;

async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<string> {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
}

afterEach(async () => {
  const s = server;
  server = undefined;
  if (s === undefined) return;
  s.closeAllConnections();
  await new Promise((r) => s.close(r));
});

const alert: BudgetAlert = {
  budget: 'ws',
  scope: { workspace: 'acme' },
  threshold: 80,
  usagePercent: 81.5,
  spent: '4075',
  amount: '5000',
  remaining: '925',
  currency: 'USD',
  hardLimit: false,
  period: '2026-11',
  at: 0,
};

describe('webhookChannel', () => {
  it('POSTs the alert as JSON and retries a 5xx until a 2xx answers', async () => {
    const got: [string | undefined, string | undefined, unknown][] = [];
    let calls = 0;
    const url = await listen((req, res, body) => {
      got.push([req.method, req.headers['x-token'] as string | undefined, JSON.parse(body)]);
      res.statusCode = ++calls < 3 ? 503 : 204;
      res.end();
    });
    await webhookChannel({ url, headers: { 'x-token': 't' }, backoffMs: 0 })(alert);
    expect(got).toEqual([
      ['POST', 't', alert],
      ['POST', 't', alert],
      ['POST', 't', alert],
    ]);
  });

  it('fails at once on a 4xx other than 429, and after every retry otherwise', async () => {
    let calls = 0;
    const url = await listen((_req, res) => {
      calls++;
      res.statusCode = calls === 1 ? 400 : 500;
      res.end();
    });
    const bad = (await webhookChannel({ url, backoffMs: 0 })(alert).then(undefined, (e: unknown) => e)) as WebhookDeliveryError;
    expect([bad.name, bad.attempts, bad.status, calls]).toEqual(['WebhookDeliveryError', 1, 400, 1]);
    const down = (await webhookChannel({ url, retries: 2, backoffMs: 0 })(alert).then(
      undefined,
      (e: unknown) => e,
    )) as WebhookDeliveryError;
    expect([down.attempts, down.status, calls]).toEqual([3, 500, 4]);
  });

  it('gives up on an attempt when its timeout passes on the injected clock', async () => {
    const clock = new ManualClock();
    const url = await listen(() => undefined); // never answers
    const sending = webhookChannel({ url, retries: 0, timeoutMs: '5s', clock })(alert).then(undefined, (e: unknown) => e);
    while (clock.pendingSleeps === 0) await new Promise((r) => setImmediate(r));
    clock.advance(5000);
    const e = (await sending) as WebhookDeliveryError;
    expect([e.attempts, (e.cause as Error).message]).toEqual([1, 'webhook timed out after 5000 ms']);
  });

  it('is wired in as an alert channel of a governor', async () => {
    const bodies: BudgetAlert[] = [];
    const url = await listen((_req, res, body) => {
      bodies.push(JSON.parse(body) as BudgetAlert);
      res.end();
    });
    const gov = createGovernor({ clock: new ManualClock('2026-11-23T10:00:00Z'), alertChannels: [webhookChannel({ url })] });
    gov.budgets.setBudget({ id: 'ws', scope: { workspace: 'acme' }, amount: '100', period: 'month' });
    await gov.guard({ scope: { workspace: 'acme' }, estimate: { cost: '55' } }, () => 'ok');
    await gov.budgets.idle();
    expect(bodies.map((b) => [b.budget, b.threshold, b.spent, b.period])).toEqual([['ws', 50, '55', '2026-11']]);
  });

  it('refuses bad options naming the field', () => {
    expect(invalid(() => webhookChannel({ url: 'not a url' })).field).toBe('options.url');
    expect(invalid(() => webhookChannel({ url: 'http://x', retries: -1 })).field).toBe('options.retries');
    expect(invalid(() => webhookChannel({ url: 'http://x', timeoutMs: 0 })).field).toBe('options.timeoutMs');
  });
});
