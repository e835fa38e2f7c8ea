import type * as MsalNodeModule from '@azure/msal-node';
import type { Configuration, INetworkModule, LogLevel, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { Logger } from '../core/index.js';
import type { HttpTransport } from '../core/index.js';

/**
 * What the last request msal made through us came to. msal reports an unreachable host and a
 * tenant the authority does not know with the same error code (endpoints_resolution_error) and
 * drops the detail, so the error mapping reads it from here.
 */
export interface MsalNetworkRecord {
  last?: { host: string; path: string; status?: number; networkError?: string };
}

/**
 * Lets msal-node use exorun's HTTP transport instead of Node's global fetch, so token requests
 * trust the same CAs (the simulator's, in tests) and go through the same client. 4xx answers are
 * returned, not thrown: msal reads `error`/`error_description` from the body itself.
 */
export function createMsalNetworkModule(transport: HttpTransport, record: MsalNetworkRecord = {}, defaultTimeoutMs = 30_000): INetworkModule {
  async function send<T>(method: 'GET' | 'POST', url: string, options: NetworkRequestOptions | undefined, timeoutMs: number): Promise<NetworkResponse<T>> {
    const { host, pathname } = new URL(url);
    let response;
    try {
      response = await transport.request({
        method,
        url,
        ...(options?.headers === undefined ? {} : { headers: options.headers }),
        ...(options?.body === undefined ? {} : { body: options.body }),
        timeoutMs,
      });
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      record.last = { host, path: pathname, networkError: typeof code === 'string' ? code : ((error as Error)?.message ?? String(error)) };
      throw error;
    }
    record.last = { host, path: pathname, status: response.status };
    const text = response.body.toString('utf8');
    let body: unknown;
    try {
      body = text === '' ? {} : JSON.parse(text);
    } catch {
      // msal expects an object; give it an OAuth-shaped error it can report.
      body = { error: 'invalid_response', error_description: `HTTP ${response.status} with a non-JSON body from ${host}` };
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
 * (and its trusted CAs), recording the outcome in `record`, and only its warnings without personal
 * data reach our log, at debug.
 */
export function msalSystemOptions(transport: HttpTransport, logger: Logger | undefined, record?: MsalNetworkRecord): NonNullable<Configuration['system']> {
  // msal-node's LogLevel.Warning, written as its value (the type checks it) so that this module does
  // not load msal-node: see loadMsal.
  const warning: LogLevel.Warning = 1;
  return {
    networkClient: createMsalNetworkModule(transport, record),
    loggerOptions: {
      piiLoggingEnabled: false,
      logLevel: warning,
      loggerCallback: (level, message, containsPii) => {
        if (!containsPii && level <= warning) logger?.debug({ msal: message }, 'msal');
      },
    },
  };
}

type MsalNode = typeof MsalNodeModule;
let msal: Promise<MsalNode> | undefined;

/**
 * msal-node, loaded the first time a token is needed. It is about 120 modules and 10–15 MiB; a
 * worker that waits for work, and every CLI command that never signs in, does without it.
 */
export function loadMsal(): Promise<MsalNode> {
  msal ??= import('@azure/msal-node');
  return msal;
}
