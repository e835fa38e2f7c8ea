import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CERTIFICATE_WARNING_MS, daysUntilExpiry, loadCertificateCredential } from '../../../src/auth/certificate.js';
import { readSecret } from '../../../src/auth/secrets.js';
import { encryptedKeyPem, makeTestCertificate, type TestCertificate } from '../../support/certificates.js';

let dir: string;
let certificate: TestCertificate;
let other: TestCertificate;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-cert-'));
  certificate = makeTestCertificate({ commonName: 'exorun app' });
  other = makeTestCertificate({ commonName: 'someone else' });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function file(name: string, content: string | Buffer): Promise<string> {
  const target = path.join(dir, name);
  await writeFile(target, content);
  return target;
}

const thumbprint = (pem: string): string => new X509Certificate(pem).fingerprint256.replace(/:/g, '');

describe('loadCertificateCredential', () => {
  it('reads a PEM file holding the certificate and its key, with the SHA-256 thumbprint msal needs', async () => {
    const credential = await loadCertificateCredential({ certificatePath: await file('both.pem', certificate.certificatePem + certificate.privateKeyPem) });
    expect(credential.thumbprintSha256).toBe(thumbprint(certificate.certificatePem));
    expect(credential.thumbprintSha256).toMatch(/^[0-9A-F]{64}$/);
    expect(credential.privateKeyPem).toContain('BEGIN PRIVATE KEY');
    expect(credential.subject).toContain('exorun app');
  });

  it('reads a separate PKCS#1 key file and an encrypted PKCS#8 key with its password', async () => {
    const certificatePath = await file('cert.pem', certificate.certificatePem);
    const pkcs1 = await loadCertificateCredential({ certificatePath, keyPath: await file('rsa.key', certificate.rsaPrivateKeyPem) });
    expect(pkcs1.thumbprintSha256).toBe(thumbprint(certificate.certificatePem));
    const encrypted = await file('enc.key', encryptedKeyPem(certificate, 's3cret'));
    await expect(loadCertificateCredential({ certificatePath, keyPath: encrypted, password: 's3cret' })).resolves.toMatchObject({
      subject: expect.stringContaining('exorun app'),
    });
    await expect(loadCertificateCredential({ certificatePath, keyPath: encrypted, password: 'nope' })).rejects.toMatchObject({ code: 'AUTH_CERT_PASSWORD' });
    await expect(loadCertificateCredential({ certificatePath, keyPath: encrypted })).rejects.toMatchObject({
      code: 'AUTH_CERT_PASSWORD',
      message: expect.stringMatching(/missing/),
    });
  });

  it('reads OpenSSL 3 style (AES) and legacy (3DES) PFX files', async () => {
    for (const legacy of [false, true]) {
      const pfx = await file(`app-${legacy}.pfx`, certificate.pfx('pfx-pass', { legacy }));
      const credential = await loadCertificateCredential({ certificatePath: pfx, password: 'pfx-pass' });
      expect(credential.thumbprintSha256).toBe(thumbprint(certificate.certificatePem));
    }
  });

  it('reports a wrong or missing PFX password as AUTH_CERT_PASSWORD', async () => {
    const pfx = await file('wrong.pfx', certificate.pfx('right'));
    await expect(loadCertificateCredential({ certificatePath: pfx, password: 'wrong' })).rejects.toMatchObject({ code: 'AUTH_CERT_PASSWORD' });
    await expect(loadCertificateCredential({ certificatePath: pfx })).rejects.toMatchObject({
      code: 'AUTH_CERT_PASSWORD',
      message: expect.stringMatching(/missing/),
    });
  });

  it('reports a key that does not belong to the certificate', async () => {
    const mismatched = await file('mismatch.pem', certificate.certificatePem + other.privateKeyPem);
    await expect(loadCertificateCredential({ certificatePath: mismatched })).rejects.toMatchObject({ code: 'AUTH_CERT_KEY_MISMATCH' });
  });

  it('reports expired and not-yet-valid certificates, and counts days to expiry', async () => {
    const expired = makeTestCertificate({ notBefore: new Date('2020-01-01'), notAfter: new Date('2021-01-01') });
    await expect(
      loadCertificateCredential({ certificatePath: await file('expired.pem', expired.certificatePem + expired.privateKeyPem) }),
    ).rejects.toMatchObject({
      code: 'AUTH_CERT_EXPIRED',
      message: expect.stringMatching(/expired on 2021-01-01/),
    });
    const future = makeTestCertificate({ notBefore: new Date(Date.now() + 86_400_000), notAfter: new Date(Date.now() + 10 * 86_400_000) });
    await expect(loadCertificateCredential({ certificatePath: await file('future.pem', future.certificatePem + future.privateKeyPem) })).rejects.toMatchObject({
      code: 'AUTH_CERT_EXPIRED',
    });
    const soon = makeTestCertificate({ notAfter: new Date(Date.now() + 5 * 86_400_000) });
    const credential = await loadCertificateCredential({ certificatePath: await file('soon.pem', soon.certificatePem + soon.privateKeyPem) });
    expect(daysUntilExpiry(credential)).toBe(4);
    expect(credential.notAfter.getTime() - Date.now()).toBeLessThan(CERTIFICATE_WARNING_MS);
  });

  it('reports missing files and files that are neither PEM nor PFX', async () => {
    await expect(loadCertificateCredential({ certificatePath: path.join(dir, 'absent.pfx') })).rejects.toMatchObject({ code: 'AUTH_CERT_NOT_FOUND' });
    await expect(loadCertificateCredential({ certificatePath: await file('junk.bin', Buffer.from([1, 2, 3, 4])) })).rejects.toMatchObject({
      code: 'AUTH_CERT_INVALID',
    });
    await expect(loadCertificateCredential({ certificatePath: await file('nokey.pem', certificate.certificatePem) })).rejects.toMatchObject({
      code: 'AUTH_CERT_INVALID',
    });
  });
});

describe('readSecret', () => {
  it('reads environment variables and files (without the trailing newline) and names what is missing', async () => {
    expect(await readSecret({ env: 'PFX' }, { PFX: 'from-env' })).toBe('from-env');
    expect(await readSecret({ file: await file('secret.txt', 'from-file\n') })).toBe('from-file');
    await expect(readSecret({ env: 'UNSET_VARIABLE' }, {})).rejects.toMatchObject({
      code: 'CFG_SECRET_MISSING',
      message: expect.stringContaining('UNSET_VARIABLE'),
    });
    await expect(readSecret({ file: path.join(dir, 'nope') })).rejects.toMatchObject({ code: 'CFG_SECRET_MISSING' });
  });
});
