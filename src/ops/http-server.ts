import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/index.js';
import type { ExorunMetrics } from '../core/index.js';

/** One readiness check: `ok` false makes /readyz answer 503. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<{ ok: boolean; detail?: string }>;
}

export interface OpsServerOptions {
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  metrics: ExorunMetrics;
  /** More Prometheus text appended to /metrics (BullMQ's queue export). */
  extraMetrics?: () => Promise<string>;
  readiness: readonly ReadinessCheck[];
  logger: Logger;
  /** Extra routes (the dashboard); return true when handled. */
  routes?: (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;
}

export interface OpsServer {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The operator endpoint of `exorun up|worker|scheduler`: Prometheus metrics, liveness (the event
 * loop answers) and readiness (Redis reachable, workers running, no schedule overdue).
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      options.logger.warn({ err: error, path: request.url }, 'ops endpoint failed');
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (request.method !== 'GET' && request.method !== 'HEAD' && !path.startsWith('/dashboard')) {
      send(response, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      const own = await options.metrics.registry.metrics();
      const extra = options.extraMetrics ? await options.extraMetrics().catch(() => '') : '';
      send(response, 200, options.metrics.registry.contentType, `${own}\n${extra}\n`);
      return;
    }
    if (path === '/livez') {
      send(response, 200, 'application/json', JSON.stringify({ ok: true }));
      return;
    }
    if (path === '/readyz') {
      const results = await Promise.all(
        options.readiness.map(async (entry) => {
          try {
            return { name: entry.name, ...(await entry.check()) };
          } catch (error) {
            return { name: entry.name, ok: false, detail: (error as Error).message };
          }
        }),
      );
      const ok = results.every((result) => result.ok);
      send(response, ok ? 200 : 503, 'application/json', JSON.stringify({ ok, checks: results }));
      return;
    }
    if (options.routes && (await options.routes(request, response))) return;
    send(response, 404, 'text/plain; charset=utf-8', 'not found\n');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  options.logger.info({ url }, 'operator endpoint listening (/metrics, /livez, /readyz)');
  let closing: Promise<void> | undefined;
  return {
    url,
    close() {
      closing ??= new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(body);
}
