import type { IncomingMessage, ServerResponse } from 'node:http';

/** A response assembled before it is written, so latency and recording wrap every kind alike. */
export interface SimResponse {
  status: number;
  headers: Record<string, string>;
  body?: Buffer | string;
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}): SimResponse {
  return { status, headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(value) };
}

export function textResponse(status: number, text: string, headers: Record<string, string> = {}): SimResponse {
  return { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...headers }, body: text };
}

export function emptyResponse(status: number, headers: Record<string, string> = {}): SimResponse {
  return { status, headers: { 'Content-Length': '0', ...headers } };
}

export function writeResponse(res: ServerResponse, response: SimResponse): void {
  if (res.headersSent || res.destroyed) return;
  const body = response.body === undefined ? undefined : Buffer.isBuffer(response.body) ? response.body : Buffer.from(response.body);
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  if (body) res.setHeader('Content-Length', String(body.length));
  res.end(body);
}

export class BodyTooLargeError extends Error {}

/** Reads the whole request body (admin bodies are small); rejects past `limitBytes`. */
export async function readBody(req: IncomingMessage, limitBytes = 4 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limitBytes) throw new BodyTooLargeError(`request body over ${limitBytes} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Header value as one string (first of repeated headers). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Parses a request URL; the origin is irrelevant because routing is by listener. */
export function requestUrl(req: IncomingMessage): URL {
  return new URL(req.url ?? '/', 'https://simulator.invalid');
}
