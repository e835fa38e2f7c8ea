import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { OpenQueues } from '../queue/index.js';

/** Where the dashboard is mounted on the operator endpoint. */
export const DASHBOARD_PATH = '/dashboard';
const COOKIE = 'exorun_dashboard';

export interface DashboardOptions {
  queues: OpenQueues;
  /** Bearer token (EXORUN_DASHBOARD_TOKEN). Without one the dashboard is not served at all. */
  token: string;
}

/**
 * Bull Board behind a bearer token. API clients send `Authorization: Bearer <token>`; a browser
 * cannot, so `/dashboard?token=<token>` once sets an HttpOnly cookie (holding a hash of the
 * token, never the token) and redirects to a URL without it, keeping the token out of history.
 * Returns a route handler for the operator HTTP server: true when it handled the request.
 */
export function createDashboardRoute(options: DashboardOptions): (request: IncomingMessage, response: ServerResponse) => Promise<boolean> {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(DASHBOARD_PATH);
  createBullBoard({
    queues: options.queues.queues.map((queue) => new BullMQAdapter(queue)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'exorun' } },
  });
  const app = serverAdapter.getRouter() as (request: IncomingMessage, response: ServerResponse, next: (error?: unknown) => void) => void;
  const expected = digest(options.token);

  return async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== DASHBOARD_PATH && !url.pathname.startsWith(`${DASHBOARD_PATH}/`)) return false;

    const queryToken = url.searchParams.get('token');
    if (queryToken !== null && request.method === 'GET') {
      if (!matches(digest(queryToken), expected)) return deny(response);
      url.searchParams.delete('token');
      response.writeHead(303, {
        location: `${url.pathname}${url.search}`,
        'set-cookie': `${COOKIE}=${expected.toString('hex')}; Path=${DASHBOARD_PATH}; HttpOnly; SameSite=Strict; Max-Age=43200`,
        'cache-control': 'no-store',
      });
      response.end();
      return true;
    }
    if (!authorized(request, expected)) return deny(response);

    // Bull Board's express app routes relative to its mount point.
    request.url = `${url.pathname.slice(DASHBOARD_PATH.length) || '/'}${url.search}`;
    await new Promise<void>((resolve, reject) => {
      response.once('finish', resolve);
      response.once('close', resolve);
      app(request, response, (error?: unknown) => {
        if (error) {
          reject(error instanceof Error ? error : new Error('dashboard route failed'));
          return;
        }
        if (!response.headersSent) {
          response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
          response.end('not found\n');
        }
        resolve();
      });
    });
    return true;
  };
}

function authorized(request: IncomingMessage, expected: Buffer): boolean {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return matches(digest(header.slice('Bearer '.length).trim()), expected);
  const cookie = (request.headers.cookie ?? '')
    .split(';')
    .map((part) => part.trim())
    .find((part) => part.startsWith(`${COOKIE}=`));
  if (cookie === undefined) return false;
  const value = cookie.slice(COOKIE.length + 1);
  if (!/^[0-9a-f]{64}$/.test(value)) return false;
  return matches(Buffer.from(value, 'hex'), expected);
}

function deny(response: ServerResponse): true {
  response.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="exorun"', 'cache-control': 'no-store' });
  response.end('unauthorized: send Authorization: Bearer <EXORUN_DASHBOARD_TOKEN>, or open /dashboard?token=<token> once in a browser\n');
  return true;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(`exorun-dashboard:${token}`).digest();
}

function matches(actual: Buffer, expected: Buffer): boolean {
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
