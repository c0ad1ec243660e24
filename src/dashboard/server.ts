/**
 * `serveDashboard(gov)`: a small read-only HTTP server inside the user's process. One page,
 * a JSON snapshot and a Server-Sent Events stream that pushes a fresh snapshot after
 * governor events (debounced) and every `refreshMs`.
 *
 * Why SSE rather than WebSocket: the updates only flow one way (server → page); SSE is plain
 * HTTP, so it passes proxies and needs no upgrade handshake or dependency (node:http writes
 * it, the browser's EventSource reconnects by itself); and the page can pass its token in
 * the URL the same way as the page itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { InvalidInputError, parseInput, type Scope } from '../core/index.js';
import type { PeriodInput } from '../analytics/index.js';
import type { Governor } from '../index.js';
import { contentSecurityPolicy, pageHtml } from './html.js';
import { buildSnapshot, type AlertView, type DashboardSnapshot } from './snapshot.js';

/** Options of {@link serveDashboard}. */
export interface DashboardOptions {
  /** TCP port; 0 (default) picks a free one (read it from `url`). */
  port?: number | undefined;
  /** Interface to bind; default `127.0.0.1`. Any non-loopback host requires `token`. */
  host?: string | undefined;
  /** Access token: `Authorization: Bearer <token>` or `?token=<token>`. At least 16 characters. */
  token?: string | undefined;
  /** Scope the page shows; default everything. */
  scope?: Scope | undefined;
  /** Period of the reports; default `'month'`. */
  period?: PeriodInput | undefined;
  /** Push a snapshot at least this often while a page is open (ms, default 5000). */
  refreshMs?: number | undefined;
  /** Wait this long after a governor event before rebuilding the snapshot, so a burst makes one (ms, default 200). */
  debounceMs?: number | undefined;
  /** Page title; default `agent-governor`. */
  title?: string | undefined;
}

/** A running dashboard. */
export interface DashboardServer {
  /** The page's address (with `?token=` when a token is set). */
  readonly url: string;
  /** Stop: close the event streams and the server, unsubscribe from the governor. */
  close(): Promise<void>;
}

const optionsSchema = z
  .object({
    port: z.number().int().min(0).max(65535).optional(),
    host: z.string().min(1).optional(),
    token: z.string().min(16).optional(),
    scope: z.record(z.string(), z.unknown()).optional(),
    period: z.unknown().optional(),
    refreshMs: z.number().int().min(100).optional(),
    debounceMs: z.number().int().min(0).max(60_000).optional(),
    title: z.string().min(1).max(200).optional(),
  })
  .strict();

const MAX_ALERTS = 50;

/** True for the loopback interfaces: only this machine can reach them. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Serve the live dashboard of `gov`. Read-only: GET only, no endpoint changes anything. */
export async function serveDashboard(gov: Governor, options: DashboardOptions = {}): Promise<DashboardServer> {
  const o = parseInput(optionsSchema, options, 'options');
  const host = o.host ?? '127.0.0.1';
  if (!isLoopback(host) && o.token === undefined) {
    throw new InvalidInputError('options.token', `is required to bind a non-loopback host (${host}); or bind 127.0.0.1`, undefined);
  }
  const refreshMs = o.refreshMs ?? 5000;
  const debounceMs = o.debounceMs ?? 200;
  const title = o.title ?? 'agent-governor';
  const query = { scope: o.scope as Scope | undefined, period: o.period as PeriodInput | undefined };
  // Validate the scope and period now, not on the first page load.
  let latest: DashboardSnapshot = await buildSnapshot(gov, query);
  const expected = o.token === undefined ? undefined : digest(o.token);
  const alerts: AlertView[] = [];
  const clients = new Set<ServerResponse>();
  const page = pageHtml({ title });

  // ---- snapshots: one build at a time; events during a build schedule one more ----------
  let building: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  const send = (res: ServerResponse, event: string, data: unknown): void => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const rebuild = (): Promise<void> => {
    if (building !== undefined) {
      again = true;
      return building;
    }
    building = (async () => {
      do {
        again = false;
        try {
          latest = await buildSnapshot(gov, { ...query, alerts: [...alerts] });
          for (const c of clients) send(c, 'snapshot', latest);
        } catch (error) {
          // Keep the last snapshot on the page and say why it is not fresh.
          const message = error instanceof Error ? error.message : String(error);
          for (const c of clients) send(c, 'problem', { message });
        }
      } while (again);
      building = undefined;
    })();
    return building;
  };
  const schedule = (): void => {
    if (clients.size === 0 || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void rebuild();
    }, debounceMs);
    timer.unref();
  };
  const alert = (a: AlertView): void => {
    alerts.push(a);
    if (alerts.length > MAX_ALERTS) alerts.shift();
    for (const c of clients) send(c, 'alert', a);
    schedule();
  };
  const scopeText = (s: Scope): string =>
    Object.entries(s)
      .map(([k, v]) => `${k}=${v}`)
      .join(' / ') || 'all';
  const offs = [
    gov.on('usage', schedule),
    gov.on('budget.changed', schedule),
    gov.on('breaker.open', schedule),
    gov.on('breaker.halfOpen', schedule),
    gov.on('breaker.close', schedule),
    gov.on('warning', (e) =>
      alert({
        kind: 'warning',
        at: e.at,
        message: `${e.limit} (${scopeText(e.scope)}) reached ${e.threshold} %: ${e.meter} ${e.used} of ${e.max}${e.currency ? ` ${e.currency}` : ''}`,
      }),
    ),
    gov.on('violation', (e) =>
      alert({
        kind: 'violation',
        at: e.at,
        message:
          e.message ?? `${e.limit} (${scopeText(e.scope)}) ${e.type} [${e.code}]: ${e.meter} ${e.used} of ${e.max}, asked ${e.requested}`,
      }),
    ),
  ];
  const periodic = setInterval(() => {
    if (clients.size > 0) void rebuild();
  }, refreshMs);
  periodic.unref();

  // ---- HTTP --------------------------------------------------------------------------------
  const authorized = (req: IncomingMessage, url: URL): boolean => {
    if (expected === undefined) return true;
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7) : url.searchParams.get('token');
    // Compare digests: equal lengths for timingSafeEqual, and no early exit on the first differing byte.
    return given !== null && timingSafeEqual(digest(given), expected);
  };
  const headers = (type: string): Record<string, string> => ({
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'content-security-policy': contentSecurityPolicy(true),
  });
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    if (req.method !== 'GET') {
      res.writeHead(405, { ...headers('text/plain; charset=utf-8'), allow: 'GET' }).end('405 read-only: GET only\n');
      return;
    }
    if (!authorized(req, url)) {
      res.writeHead(401, { ...headers('text/plain; charset=utf-8'), 'www-authenticate': 'Bearer' }).end('401 token required\n');
      return;
    }
    if (url.pathname === '/') {
      res.writeHead(200, headers('text/html; charset=utf-8')).end(page);
    } else if (url.pathname === '/api/snapshot') {
      void rebuild().then(() => res.writeHead(200, headers('application/json; charset=utf-8')).end(JSON.stringify(latest)));
    } else if (url.pathname === '/api/events') {
      res.writeHead(200, { ...headers('text/event-stream; charset=utf-8'), connection: 'keep-alive' });
      res.write('retry: 2000\n\n');
      clients.add(res);
      send(res, 'snapshot', latest);
      void rebuild();
      req.on('close', () => clients.delete(res));
    } else {
      res.writeHead(404, headers('text/plain; charset=utf-8')).end('404\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${shown}:${addr.port}/${o.token === undefined ? '' : `?token=${encodeURIComponent(o.token)}`}`;
  let closed: Promise<void> | undefined;
  return {
    url,
    close() {
      closed ??= (async () => {
        for (const off of offs) off();
        clearInterval(periodic);
        if (timer !== undefined) clearTimeout(timer);
        for (const c of clients) c.end();
        clients.clear();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await building;
      })();
      return closed;
    },
  };
}
