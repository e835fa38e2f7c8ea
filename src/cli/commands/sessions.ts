import { readFile } from 'node:fs/promises';
import { resolveEndpoints, resolveTenantId } from '../../auth/index.js';
import { importRefreshToken, loginWithDeviceCode, type LoginOptions } from '../../auth/index.js';
import { readSecretKey } from '../../auth/index.js';
import { createSessionStore, type SessionStore } from '../../auth/index.js';
import { loadConfigFile } from '../../config/index.js';
import type { TenantConfig } from '../../config/index.js';
import { AppError } from '../../core/index.js';
import type { HttpTransport } from '../../core/index.js';
import { createHttpTransport } from '../../exchange/index.js';
import { simulatedEndpoints } from '../../worker/index.js';
import { connectRedis, createRuntime, type GlobalOptions, type Runtime } from '../runtime.js';
import { connectToSimulator } from '../simulator-access.js';

export interface LoginCommandOptions extends GlobalOptions {
  refreshTokenFile?: string;
}

/**
 * `exorun login <tenant>`: signs an admin in once (device code, so MFA happens in any browser) or
 * imports a refresh token, and stores the session encrypted in Redis for every worker.
 */
export async function loginCommand(tenantName: string, options: LoginCommandOptions): Promise<number> {
  const runtime = createRuntime(options, 'cli');
  const tenant = await delegatedTenant(runtime, tenantName);
  const auth = tenant.auth as Extract<TenantConfig['auth'], { type: 'delegated' }>;
  const secretKey = await readSecretKey(runtime.env);
  // Refuse before anyone spends time signing in: the session would have nowhere safe to go.
  if (!secretKey) {
    throw new AppError(
      'AUTH_SECRET_KEY',
      'exorun stores sessions only encrypted: set EXORUN_SECRET_KEY (make one with `openssl rand -base64 32`) or EXORUN_SECRET_KEY_FILE, and give the same key to every worker.',
    );
  }
  const store = await openStore(runtime, secretKey);
  const target = await loginTarget(runtime, tenant, auth);
  const { loginOptions } = target;
  try {
    const result = options.refreshTokenFile
      ? await importRefreshToken(loginOptions, (await readFile(options.refreshTokenFile, 'utf8')).trim())
      : await loginWithDeviceCode(loginOptions, (prompt) => {
          process.stdout.write(
            `${prompt.message}\n(code ${prompt.userCode} at ${prompt.verificationUri}, valid ${Math.round(prompt.expiresInSec / 60)} min)\n`,
          );
        });
    await store.store.save({ organization: tenant.organization, account: result.account }, result.cache, {
      tenant: tenant.name,
      cloud: tenant.cloud,
      clientId: auth.clientId,
      refreshed: false,
    });
    process.stdout.write(`Signed in as ${result.account} for ${tenant.name}; the session is stored encrypted in Redis and workers will use it.\n`);
    return 0;
  } finally {
    await target.close();
    store.close();
  }
}

/** `exorun sessions`: the stored delegated sessions (accounts, clouds, last refresh); listing needs no key and shows no secret. */
export async function sessionsCommand(options: GlobalOptions & { json?: boolean }): Promise<number> {
  const runtime = createRuntime(options, 'cli');
  const store = await openStore(runtime, undefined);
  try {
    const sessions = await store.store.list();
    if (options.json) process.stdout.write(`${JSON.stringify(sessions, null, 2)}\n`);
    else if (sessions.length === 0) process.stdout.write('No delegated sessions stored. Sign an admin in with `exorun login <tenant>`.\n');
    else {
      const rows = sessions.map((s) => [
        s.tenant,
        s.account,
        s.cloud,
        s.createdAt.slice(0, 19).replace('T', ' '),
        s.lastRefreshAt?.slice(0, 19).replace('T', ' ') ?? '-',
        String(s.refreshCount),
      ]);
      printTable(['TENANT', 'ACCOUNT', 'CLOUD', 'SIGNED IN (UTC)', 'LAST REFRESH (UTC)', 'REFRESHES'], rows);
    }
    return 0;
  } finally {
    store.close();
  }
}

/** `exorun logout <tenant>`: forgets the stored session (it does not revoke it at Microsoft). */
export async function logoutCommand(tenantName: string, options: GlobalOptions): Promise<number> {
  const runtime = createRuntime(options, 'cli');
  const tenant = await delegatedTenant(runtime, tenantName);
  const auth = tenant.auth as Extract<TenantConfig['auth'], { type: 'delegated' }>;
  const store = await openStore(runtime, undefined);
  try {
    const removed = await store.store.remove({ organization: tenant.organization, account: auth.account });
    process.stdout.write(
      removed ? `Removed the session of ${auth.account} for ${tenant.name}.\n` : `No session stored for ${auth.account} in ${tenant.name}.\n`,
    );
    return 0;
  } finally {
    store.close();
  }
}

async function delegatedTenant(runtime: Runtime, tenantName: string): Promise<TenantConfig> {
  const config = await loadConfigFile(runtime.configFile);
  const tenant = config.tenants[tenantName];
  if (!tenant) {
    throw new AppError('CFG_TENANT_UNKNOWN', `No tenant named '${tenantName}' in ${config.file} (tenants: ${Object.keys(config.tenants).join(', ')}).`);
  }
  if (tenant.auth?.type !== 'delegated') {
    throw new AppError(
      'CFG_JOBS_INVALID',
      `Tenant ${tenantName} does not use delegated sign-in; give it auth: { type: delegated, account: admin@… } to use \`exorun login\`.`,
    );
  }
  return tenant;
}

async function openStore(runtime: Runtime, secretKey: Buffer | undefined): Promise<{ store: SessionStore; close(): void }> {
  const { connection } = await connectRedis(runtime, 'client', 'exorun-cli');
  return { store: createSessionStore({ redis: connection, prefix: runtime.env.EXORUN_PREFIX, secretKey }), close: () => connection.disconnect() };
}

async function loginTarget(
  runtime: Runtime,
  tenant: TenantConfig,
  auth: Extract<TenantConfig['auth'], { type: 'delegated' }>,
): Promise<{ loginOptions: LoginOptions; close(): Promise<void> }> {
  let transport: HttpTransport;
  let authorityHost: string;
  let exoResource: string;
  let tenantSegment: string;
  if (tenant.cloud === 'simulated') {
    const simulator = await connectToSimulator(runtime.env);
    // Provisioning is idempotent; it makes sure the tenant and its admin exist there.
    const provisioned = await simulator.control('POST', 'tenants', { organization: tenant.organization, ...simulatorSettings(tenant) });
    if (provisioned.status !== 200) {
      throw new AppError('SIMULATOR_UNAVAILABLE', `The simulator refused to provision ${tenant.organization} (HTTP ${provisioned.status}).`);
    }
    const endpoints = simulatedEndpoints(simulator.state.urls);
    transport = simulator.transport;
    authorityHost = endpoints.authorityHost;
    exoResource = endpoints.exo.resource;
    tenantSegment = tenant.tenantId ?? tenant.organization;
  } else {
    transport = createHttpTransport();
    const endpoints = resolveEndpoints(tenant.cloud, tenant.overrides);
    authorityHost = endpoints.authorityHost;
    exoResource = endpoints.exo.resource;
    tenantSegment = tenant.tenantId ?? (await resolveTenantId(authorityHost, tenant.organization, transport));
  }
  return {
    loginOptions: {
      authorityHost,
      tenant: tenantSegment,
      tenantName: tenant.name,
      clientId: auth.clientId,
      account: auth.account,
      scopes: [`${exoResource}/.default`],
      transport,
      logger: runtime.logger,
    },
    close: () => transport.close(),
  };
}

function simulatorSettings(tenant: TenantConfig): Record<string, number> {
  return tenant.simulator ? { seed: tenant.simulator.seed, mailboxCount: tenant.simulator.mailboxes } : {};
}

export function printTable(headers: string[], rows: string[][]): void {
  const widths = headers.map((header, index) => Math.max(header.length, ...rows.map((row) => (row[index] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, index) => cell.padEnd(widths[index] ?? 0))
      .join('  ')
      .trimEnd();
  process.stdout.write(`${[line(headers), ...rows.map(line)].join('\n')}\n`);
}
