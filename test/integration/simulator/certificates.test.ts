import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import forge from 'node-forge';
import type { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCertificate, startSimulator, type ProvisionedTenant, type Simulator } from '@exorun/simulator';
import { acquireToken, control, decodePayload, EXO, trustingAgent } from './helpers.js';

let sim: Simulator;
let agent: Agent;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator();
  agent = trustingAgent(sim);
  dir = await mkdtemp(path.join(tmpdir(), 'exorun-sim-certs-'));
});

afterAll(async () => {
  await agent.close();
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

/** Signs in with a certificate and key the caller owns, not the generated pair. */
async function signInWith(tenant: ProvisionedTenant, certificatePem: string, privateKeyPem: string): Promise<string> {
  return acquireToken(sim, agent, tenant, EXO, { certificatePem, privateKeyPem });
}

describe('registering certificates the caller owns', () => {
  it('registers a PEM certificate read from a file', async () => {
    const pair = createSelfSignedCertificate({ commonName: 'from-file' });
    await writeFile(path.join(dir, 'app.crt'), pair.certificatePem);
    await writeFile(path.join(dir, 'app.key'), pair.privateKeyPem, { mode: 0o600 });
    const certificatePem = await readFile(path.join(dir, 'app.crt'), 'utf8');
    const privateKeyPem = await readFile(path.join(dir, 'app.key'), 'utf8');

    const tenant = await sim.provisionTenant({ organization: 'contoso.onmicrosoft.com', mailboxCount: 1, certificatePem });
    // The generated pair is still returned (and registered); the caller may ignore it.
    expect(tenant.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
    expect(tenant.certificatePem).not.toBe(certificatePem);
    const token = await signInWith(tenant, certificatePem, privateKeyPem);
    expect(decodePayload(token)).toMatchObject({ aud: EXO, appid: tenant.clientId });
    await expect(acquireToken(sim, agent, tenant)).resolves.toBeTruthy();
  });

  it('registers the certificate of a password-protected PFX through the control API', async () => {
    const pair = createSelfSignedCertificate({ commonName: 'from-pfx' });
    const pfx = forge.pkcs12.toPkcs12Asn1(forge.pki.privateKeyFromPem(pair.privateKeyPem), [forge.pki.certificateFromPem(pair.certificatePem)], 'secret', {
      algorithm: '3des',
    });
    const file = path.join(dir, 'app.pfx');
    await writeFile(file, Buffer.from(forge.asn1.toDer(pfx).getBytes(), 'binary'));

    // What a user of a PFX does: open it with the password, take the certificate and the key.
    const parsed = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer((await readFile(file)).toString('binary')), false, 'secret');
    const keyBag = parsed.getBags({ bagType: forge.pki.oids['pkcs8ShroudedKeyBag']! })[forge.pki.oids['pkcs8ShroudedKeyBag']!]?.[0];
    const certBag = parsed.getBags({ bagType: forge.pki.oids['certBag']! })[forge.pki.oids['certBag']!]?.[0];
    const certificatePem = forge.pki.certificateToPem(certBag!.cert!);
    const privateKeyPem = createPrivateKey(forge.pki.privateKeyToPem(keyBag!.key!)).export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(new X509Certificate(certificatePem).checkPrivateKey(createPrivateKey(privateKeyPem))).toBe(true);

    const provisioned = await control(sim, agent, 'POST', 'tenants', { organization: 'fabrikam.onmicrosoft.com', mailboxCount: 1, certificatePem });
    expect(provisioned.status).toBe(200);
    const tenant = provisioned.body as unknown as ProvisionedTenant;
    expect(tenant.users).toEqual([{ upn: 'admin@fabrikam.onmicrosoft.com', oid: expect.stringMatching(/^[0-9a-f-]{36}$/), displayName: 'Simulated Admin' }]);
    const token = await signInWith(tenant, certificatePem, privateKeyPem);
    expect(decodePayload(token)['tid']).toBe(tenant.tenantId);
  });

  it('refuses something that is not a certificate, and registers nothing then', async () => {
    const bad = await control(sim, agent, 'POST', 'tenants', { organization: 'northwind.onmicrosoft.com', certificatePem: 'not a certificate' });
    expect(bad).toMatchObject({ status: 400, body: { message: 'certificatePem is not a PEM certificate' } });
    expect(sim.tenantData('northwind.onmicrosoft.com')).toBeUndefined();
  });
});
