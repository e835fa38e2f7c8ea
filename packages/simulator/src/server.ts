import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { RequestHandler } from './http.js';
import { textResponse, writeResponse } from './http.js';

export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

export interface ListenerOptions {
  host: string;
  port: number;
  certPem: string;
  keyPem: string;
  handler: RequestHandler;
  /** Called with errors a handler threw; the request still gets a 500. */
  onError?: (error: unknown) => void;
}

/** One HTTPS listener. `close()` destroys open (keep-alive) sockets so nothing lingers. */
export async function startListener(options: ListenerOptions): Promise<Listener> {
  const sockets = new Set<Socket>();
  const server: Server = createServer({ cert: options.certPem, key: options.keyPem, keepAlive: true }, (req, res) => {
    options.handler(req, res).catch((error: unknown) => {
      options.onError?.(error);
      writeResponse(res, textResponse(500, 'Internal Server Error'));
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // TLS failures (e.g. a client that does not trust the CA) must not take the server down.
  server.on('tlsClientError', () => undefined);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        sockets.clear();
      });
      return closing;
    },
  };
}
