import { LogLevel, type Configuration, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import type { Logger } from '../core/logger.js';
import type { HttpTransport } from '../core/ports.js';

/**
 * Lets msal-node use exorun's HTTP transport instead of Node's global fetch, so token requests
 * trust the same CAs (the simulator's, in tests) and go through the same client. 4xx answers are
 * returned, not thrown: msal reads `error`/`error_description` from the body itself.
 */
export function createMsalNetworkModule(transport: HttpTransport, defaultTimeoutMs = 30_000): INetworkModule {
  async function send<T>(method: 'GET' | 'POST', url: string, options: NetworkRequestOptions | undefined, timeoutMs: number): Promise<NetworkResponse<T>> {
    const response = await transport.request({
      method,
      url,
      ...(options?.headers === undefined ? {} : { headers: options.headers }),
      ...(options?.body === undefined ? {} : { body: options.body }),
      timeoutMs,
    });
    const text = response.body.toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      // msal expects an object; give it an OAuth-shaped error it can report.
      body = { error: 'invalid_response', error_description: `HTTP ${response.status} with a non-JSON body from ${new URL(url).host}` };
    }
    return { status: response.status, headers: response.headers, body: body as T };
  }
  return {
    sendGetRequestAsync: (url, options, timeout) => send('GET', url, options, timeout ?? defaultTimeoutMs),
    sendPostRequestAsync: (url, options) => send('POST', url, options, defaultTimeoutMs),
  };
}

/**
 * The `system` part of every msal client's configuration: its HTTP goes through our transport
 * (and its trusted CAs), and only its warnings without personal data reach our log, at debug.
 */
export function msalSystemOptions(transport: HttpTransport, logger: Logger | undefined): NonNullable<Configuration['system']> {
  return {
    networkClient: createMsalNetworkModule(transport),
    loggerOptions: {
      piiLoggingEnabled: false,
      logLevel: LogLevel.Warning,
      loggerCallback: (level, message, containsPii) => {
        if (!containsPii && level <= LogLevel.Warning) logger?.debug({ msal: message }, 'msal');
      },
    },
  };
}
