import { rootCertificates } from 'node:tls';
import type { Agent, request as undiciRequest } from 'undici';
import type { HttpRequest, HttpResponse, HttpTransport } from '../core/index.js';

export interface HttpTransportOptions {
  /**
   * Extra CA certificates (PEM) to trust in addition to the system store, e.g. the simulator's CA.
   * TLS verification is never turned off.
   */
  extraCaPem?: readonly string[];
  /** Sockets per origin; the per-tenant limit is enforced above HTTP, this only bounds the pool. */
  connectionsPerOrigin?: number;
  /** Default per-request time limit: the service's 15-minute limit plus a minute (docs/protocol.md §2.9). */
  defaultTimeoutMs?: number;
}

/**
 * The process's HTTP client (undici). Redirects are never followed: an IPPS 302 or a nextLink must
 * be checked against the tenant's cloud before a token is sent there.
 */
export function createHttpTransport(options: HttpTransportOptions = {}): HttpTransport {
  const extraCa = options.extraCaPem ?? [];
  // undici (about 110 modules) is loaded with the first request: a worker waiting for work, and
  // CLI commands that never call out, do without it.
  let client: Promise<{ request: typeof undiciRequest; dispatcher: Agent }> | undefined;
  const connect = async (): Promise<{ request: typeof undiciRequest; dispatcher: Agent }> => {
    const { Agent, request } = await import('undici');
    const dispatcher = new Agent({
      connections: options.connectionsPerOrigin ?? 64,
      keepAliveTimeout: 30_000,
      ...(extraCa.length > 0 ? { connect: { ca: [...systemCaWithExtras(extraCa)] } } : {}),
    });
    return { request, dispatcher };
  };
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 960_000;

  return {
    async request(input: HttpRequest): Promise<HttpResponse> {
      const timeoutMs = input.timeoutMs ?? defaultTimeoutMs;
      client ??= connect();
      const { request, dispatcher } = await client;
      const response = await request(input.url, {
        method: input.method,
        dispatcher,
        ...(input.headers === undefined ? {} : { headers: input.headers }),
        ...(input.body === undefined ? {} : { body: input.body }),
        ...(input.signal === undefined ? {} : { signal: input.signal }),
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const body = Buffer.from(await response.body.arrayBuffer());
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(response.headers)) {
        if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
      }
      return { status: response.statusCode, headers, body };
    },
    async close() {
      if (client) await (await client).dispatcher.close();
    },
  };
}

// Passing `ca` replaces Node's default trust store, so keep the system roots alongside the extras.
function systemCaWithExtras(extra: readonly string[]): string[] {
  return [...rootCertificates, ...extra];
}
