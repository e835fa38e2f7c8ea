import { createHash, createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import { ConfidentialClientApplication, PublicClientApplication, type INetworkModule, type NetworkResponse } from '@azure/msal-node';
import { Agent, request } from 'undici';
import { EXO_POWERSHELL_CLIENT_ID, type ProvisionedTenant, type Simulator } from '@exorun/simulator';

export const EXO = 'https://outlook.office365.com';
export const IPPS = 'https://ps.compliance.protection.outlook.com';

/** undici trusting only the simulator's CA (TLS verification stays on). */
export function trustingAgent(sim: Simulator): Agent {
  return new Agent({ connect: { ca: sim.caCertPem } });
}

/** msal-node's network calls through undici; records every URL so tests can assert no other host was contacted. */
export function msalNetwork(agent: Agent, seen: string[] = [], bodies: string[] = []): INetworkModule {
  async function send<T>(method: 'GET' | 'POST', url: string, options?: { headers?: Record<string, string>; body?: string }): Promise<NetworkResponse<T>> {
    seen.push(url);
    if (options?.body !== undefined) bodies.push(options.body);
    const response = await request(url, {
      method,
      dispatcher: agent,
      ...(options?.headers ? { headers: options.headers } : {}),
      ...(options?.body === undefined ? {} : { body: options.body }),
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
    const text = await response.body.text();
    return { status: response.statusCode, headers, body: (text ? JSON.parse(text) : {}) as T };
  }
  return {
    sendGetRequestAsync: (url, options) => send('GET', url, options),
    sendPostRequestAsync: (url, options) => send('POST', url, options),
  };
}

export interface AppOptions {
  /** Authority tenant segment; default the organization. */
  authorityTenant?: string;
  /** Authority origin; default sim.urls.login. */
  loginOrigin?: string;
  certificatePem?: string;
  privateKeyPem?: string;
  clientId?: string;
  /** Use the deprecated SHA-1 thumbprint (RS256 + x5t) instead of thumbprintSha256 (PS256). */
  sha1?: boolean;
  seen?: string[];
  /** Collects the request bodies msal sent. */
  bodies?: string[];
}

export function confidentialClient(sim: Simulator, agent: Agent, tenant: ProvisionedTenant, options: AppOptions = {}): ConfidentialClientApplication {
  const loginOrigin = options.loginOrigin ?? sim.urls.login;
  const certificatePem = options.certificatePem ?? tenant.certificatePem;
  const cert = new X509Certificate(certificatePem);
  const thumbprint = (options.sha1 ? cert.fingerprint : cert.fingerprint256).replace(/:/g, '');
  return new ConfidentialClientApplication({
    auth: {
      clientId: options.clientId ?? tenant.clientId,
      authority: `${loginOrigin}/${options.authorityTenant ?? tenant.organization}`,
      knownAuthorities: [new URL(loginOrigin).host],
      clientCertificate: {
        ...(options.sha1 ? { thumbprint } : { thumbprintSha256: thumbprint }),
        privateKey: options.privateKeyPem ?? tenant.privateKeyPem,
      },
    },
    system: { networkClient: msalNetwork(agent, options.seen, options.bodies) },
  });
}

export async function acquireToken(sim: Simulator, agent: Agent, tenant: ProvisionedTenant, resource = EXO, options: AppOptions = {}): Promise<string> {
  const result = await confidentialClient(sim, agent, tenant, options).acquireTokenByClientCredential({ scopes: [`${resource}/.default`] });
  if (!result) throw new Error('no token');
  return result.accessToken;
}

export function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** The parts of an admin API body tests look at (success page or error envelope). */
export interface WireBody {
  value: Record<string, unknown>[];
  '@odata.context'?: string;
  '@odata.nextLink'?: string;
  '@adminapi.warnings'?: string[];
  error: { code: string; message: string; details: { code: string; message: string }[]; innererror?: Record<string, unknown> };
  [key: string]: unknown;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  raw: Buffer;
  text: string;
  json: () => WireBody;
}

/** POSTs an InvokeCommand body; never follows redirects. */
export async function invoke(
  agent: Agent,
  url: string,
  options: { token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string>; method?: 'POST' | 'GET' } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json', ...options.headers };
  if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
  const method = options.method ?? 'POST';
  const body = method === 'GET' ? undefined : (options.rawBody ?? JSON.stringify(options.body ?? {}));
  const response = await request(url, { method, headers, dispatcher: agent, ...(body === undefined ? {} : { body }) });
  const raw = Buffer.from(await response.body.arrayBuffer());
  const text = raw.toString('utf8');
  return { status: response.statusCode, headers: response.headers, raw, text, json: () => JSON.parse(text) as WireBody };
}

export function cmdlet(name: string, parameters?: Record<string, unknown>): unknown {
  return { CmdletInput: { CmdletName: name, ...(parameters ? { Parameters: parameters } : {}) } };
}

export function invokeUrl(origin: string, tenant: string): string {
  return `${origin}/adminapi/beta/${tenant}/InvokeCommand`;
}

/** A client assertion signed by hand, for the cases msal-node would never produce. */
export function handAssertion(options: {
  certificatePem: string;
  privateKeyPem: string;
  clientId: string;
  aud: string;
  expSec?: number;
  nbfSec?: number;
}): string {
  const now = Math.floor(Date.now() / 1000);
  const der = new X509Certificate(options.certificatePem).raw;
  const header = { alg: 'RS256', typ: 'JWT', x5t: createHash('sha1').update(der).digest('base64url') };
  const payload = {
    aud: options.aud,
    iss: options.clientId,
    sub: options.clientId,
    jti: randomUUID(),
    nbf: options.nbfSec ?? now,
    iat: now,
    exp: options.expSec ?? now + 600,
  };
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return `${input}.${sign('sha256', Buffer.from(input), createPrivateKey(options.privateKeyPem)).toString('base64url')}`;
}

export async function postForm(agent: Agent, url: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await request(url, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> };
}

export interface PublicAppOptions {
  /** Default: the Exchange Online PowerShell module's client id. */
  clientId?: string;
  /** Authority tenant segment; default the organization. */
  authorityTenant?: string;
  seen?: string[];
  bodies?: string[];
}

/** A real msal-node public client against the simulator (no internet: knownAuthorities names it). */
export function publicClient(
  sim: Simulator,
  agent: Agent,
  tenant: Pick<ProvisionedTenant, 'organization'>,
  options: PublicAppOptions = {},
): PublicClientApplication {
  return new PublicClientApplication({
    auth: {
      clientId: options.clientId ?? EXO_POWERSHELL_CLIENT_ID,
      authority: `${sim.urls.login}/${options.authorityTenant ?? tenant.organization}`,
      knownAuthorities: [new URL(sim.urls.login).host],
    },
    system: { networkClient: msalNetwork(agent, options.seen, options.bodies) },
  });
}

/** The refresh tokens in an msal cache (the secrets of its RefreshToken section). */
export function cachedRefreshTokens(app: PublicClientApplication): string[] {
  const cache = JSON.parse(app.getTokenCache().serialize()) as { RefreshToken?: Record<string, { secret: string }> };
  return Object.values(cache.RefreshToken ?? {}).map((entry) => entry.secret);
}

/** Control API call with the admin key. */
export async function control(
  sim: Simulator,
  agent: Agent,
  method: 'GET' | 'POST' | 'PUT',
  route: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> & unknown[] }> {
  const response = await request(`${sim.urls.login}/_simulator/${route}`, {
    method,
    dispatcher: agent,
    headers: { authorization: `Bearer ${sim.adminKey}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.statusCode, body: (await response.body.json()) as Record<string, unknown> & unknown[] };
}
