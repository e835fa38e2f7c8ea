import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';

/** A certificate made at test time (key material is never committed). */
export interface TestCertificate {
  certificatePem: string;
  /** PKCS#8. */
  privateKeyPem: string;
  /** The same key in PKCS#1 ("BEGIN RSA PRIVATE KEY"), as older tools write it. */
  rsaPrivateKeyPem: string;
  pfx(password: string, options?: { legacy?: boolean }): Buffer;
}

export function makeTestCertificate(options: { commonName?: string; notBefore?: Date; notAfter?: Date } = {}): TestCertificate {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const rsaPrivateKeyPem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(rsaPrivateKeyPem);
  const certificate = forge.pki.createCertificate();
  certificate.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  certificate.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(8))}`;
  certificate.validity.notBefore = options.notBefore ?? new Date(Date.now() - 86_400_000);
  certificate.validity.notAfter = options.notAfter ?? new Date(Date.now() + 365 * 86_400_000);
  const attributes = [{ name: 'commonName', value: options.commonName ?? 'exorun test' }];
  certificate.setSubject(attributes);
  certificate.setIssuer(attributes);
  certificate.sign(forgeKey, forge.md.sha256.create());
  const certificatePem = forge.pki.certificateToPem(certificate);
  return {
    certificatePem,
    privateKeyPem,
    rsaPrivateKeyPem,
    pfx(password, pfxOptions = {}) {
      const asn1 = forge.pkcs12.toPkcs12Asn1(forgeKey, [certificate], password, {
        algorithm: pfxOptions.legacy ? '3des' : 'aes256',
        ...(pfxOptions.legacy ? {} : { saltSize: 16, count: 2048 }),
      });
      return Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary');
    },
  };
}

/** The PKCS#8 key encrypted with a passphrase (BEGIN ENCRYPTED PRIVATE KEY). */
export function encryptedKeyPem(certificate: TestCertificate, passphrase: string): string {
  return createPrivateKey(certificate.privateKeyPem).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }).toString();
}
