import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type ProvisionedTenant, type Simulator } from '@exorun/simulator';
import { writeSimulatorState } from '../../../src/worker/simulator-state.js';
import { spawnExorun } from '../../support/processes.js';
import { acquireToken, cmdlet, invoke, invokeUrl, trustingAgent } from './helpers.js';

// The simulator addressed by a DNS name, as an admin addresses a real host. `sim.localhost` and its
// sub-domains resolve to loopback through test/support/loopback-dns.ts (a vitest setupFile).

const root = path.resolve(import.meta.dirname, '../../..');
let sim: Simulator;
let agent: Agent;
let tenant: ProvisionedTenant;
let ippsPort: string;

beforeAll(async () => {
  sim = await startSimulator({ publicHost: 'sim.localhost' });
  agent = trustingAgent(sim);
  tenant = await sim.provisionTenant({ organization: 'regions.onmicrosoft.com', mailboxCount: 5 });
  ippsPort = new URL(sim.urls.ipps).port;
});

afterAll(async () => {
  await agent?.close();
  await sim?.close();
});

describe('IPPS regional redirect to a sub-domain', () => {
  it('redirects the global host to https://{region}.sim.localhost on the same port, which serves the call', async () => {
    // A token for the global IPPS origin, as a client whose token resource follows its endpoint asks.
    const token = await acquireToken(sim, agent, tenant, sim.urls.ipps);
    const body = cmdlet('Get-RetentionCompliancePolicy');
    const redirect = await invoke(agent, `${invokeUrl(sim.urls.ipps, tenant.tenantId)}?$select=Name`, { token, body });
    expect(redirect.status).toBe(302);
    const location = String(redirect.headers['location']);
    expect(location).toMatch(new RegExp(`^https://nam\\d{2}b\\.sim\\.localhost:${ippsPort}/adminapi/beta/${tenant.tenantId}/InvokeCommand\\?\\$select=Name$`));
    expect(new URL(location).origin).toBe(sim.urls.ippsRegional);

    // Re-posting there is a real TLS connection to the sub-domain, host name verified by undici.
    const regional = await invoke(agent, location, { token, body });
    expect(regional.status).toBe(200);
    expect(regional.json().value.length).toBeGreaterThan(0);
    expect(regional.json()['@odata.context']).toMatch(new RegExp(`^https://nam\\d{2}b\\.sim\\.localhost:${ippsPort}/`));
  });

  it('pages on the regional host: nextLinks stay on the sub-domain', async () => {
    const token = await acquireToken(sim, agent, tenant, 'https://ps.compliance.protection.outlook.com');
    const body = cmdlet('Get-RetentionCompliancePolicy');
    const first = await invoke(agent, invokeUrl(sim.urls.ippsRegional, tenant.tenantId), { token, body, headers: { prefer: 'odata.maxpagesize=1' } });
    expect(first.status).toBe(200);
    const next = first.json()['@odata.nextLink'];
    expect(next).toMatch(new RegExp(`^${sim.urls.ippsRegional.replace(/\./g, '\\.')}/adminapi/beta/`));
    const second = await invoke(agent, String(next), { token, body, headers: { prefer: 'odata.maxpagesize=1' } });
    expect(second.status).toBe(200);
  });

  it('still checks the bearer on the regional host and answers unknown sub-domains 404', async () => {
    const body = cmdlet('Get-RetentionCompliancePolicy');
    const anonymous = await invoke(agent, invokeUrl(sim.urls.ippsRegional, tenant.tenantId), { body });
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Basic Realm=""');
    const exoToken = await acquireToken(sim, agent, tenant, sim.urls.exo);
    const wrongAudience = await invoke(agent, invokeUrl(sim.urls.ippsRegional, tenant.tenantId), { token: exoToken, body });
    expect(wrongAudience.status).toBe(401);
    expect(String(wrongAudience.headers['www-authenticate'])).toMatch(/client_id="00000007-0000-0ff1-ce00-000000000000"/);
    const notARegion = await invoke(agent, invokeUrl(`https://www.sim.localhost:${ippsPort}`, tenant.tenantId), { body });
    expect(notARegion.status).toBe(404);
  });

  it('has a server certificate that Node accepts for the region host and any region label', async () => {
    const peer = await new Promise<X509Certificate>((resolve, reject) => {
      const socket = tls.connect({ host: 'nam12b.sim.localhost', port: Number(ippsPort), servername: 'nam12b.sim.localhost', ca: sim.caCertPem }, () => {
        resolve(new X509Certificate(socket.getPeerCertificate(false).raw));
        socket.end();
      });
      socket.once('error', reject);
    });
    expect(peer.subjectAltName).toContain('DNS:nam12b.sim.localhost');
    expect(peer.subjectAltName).toContain('DNS:*.sim.localhost');
    expect(peer.checkHost('eur02b.sim.localhost')).toBe('*.sim.localhost');
    expect(tls.checkServerIdentity('eur02b.sim.localhost', { subjectaltname: peer.subjectAltName ?? '' } as tls.PeerCertificate)).toBeUndefined();
    // Node refuses a wildcard that only has one more label than the wildcard itself: `*.localhost`.
    expect(tls.checkServerIdentity('nam12b.localhost', { subjectaltname: 'DNS:*.localhost' } as tls.PeerCertificate)).toBeInstanceOf(Error);
  });
});

describe('IP literal public host', () => {
  it('keeps a separate regional listener on its own port', async () => {
    const local = await startSimulator();
    try {
      expect(new URL(local.urls.ippsRegional).hostname).toBe('127.0.0.1');
      expect(new URL(local.urls.ippsRegional).port).not.toBe(new URL(local.urls.ipps).port);
    } finally {
      await local.close();
    }
  });

  it('refuses sub-domains of an IP literal', async () => {
    await expect(startSimulator({ publicHost: '127.0.0.1', ippsRegionalSubdomain: true })).rejects.toThrow(/needs a DNS name/);
  });
});

/** Whether a process without test/support/loopback-dns.ts resolves `name`. */
async function resolvesNatively(name: string): Promise<boolean> {
  const probe = spawn(process.execPath, ['-e', `require('node:dns').lookup(${JSON.stringify(name)}, (error) => process.exit(error ? 1 : 0))`]);
  return (await new Promise<number | null>((resolve) => probe.once('exit', resolve))) === 0;
}

describe('child processes', () => {
  let dir: string;
  let stateFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-subdomain-'));
    stateFile = path.join(dir, 'simulator.json');
    await writeSimulatorState(stateFile, { pid: process.pid, urls: sim.urls, caCertPem: sim.caCertPem, adminKey: sim.adminKey });
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('spawnExorun children resolve sim.localhost too', async () => {
    const child = spawnExorun(['simulate', 'approve'], { EXORUN_SIMULATOR: stateFile, EXORUN_STATE_DIR: dir });
    expect(await child.exited()).toBe(0);
    expect(child.output()).toContain('No device codes are waiting.');
  });

  it('without the loopback module the name does not resolve (what the module is for)', async (context) => {
    // Resolvers that do resolve *.localhost (systemd's nss-myhostname) need no help: nothing to show.
    if (await resolvesNatively('sim.localhost')) context.skip();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli/main.ts'), 'simulate', 'approve'], {
      cwd: root,
      env: { ...process.env, EXORUN_SIMULATOR: stateFile, EXORUN_STATE_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(output).toMatch(/ENOTFOUND|sim\.localhost/);
  });
});
