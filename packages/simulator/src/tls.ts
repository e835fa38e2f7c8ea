import { generateKeyPair, generateKeyPairSync, randomBytes, sign as signData, type KeyPairSyncResult } from 'node:crypto';
import { isIP } from 'node:net';
import { promisify } from 'node:util';
import forge from 'node-forge';

/** A PEM certificate and its PKCS#8 PEM private key. */
export interface PemPair {
  certPem: string;
  keyPem: string;
}

const generateKeyPairAsync = promisify(generateKeyPair);
const DAY_MS = 86_400_000;

interface RsaKeys {
  publicPem: string;
  privatePem: string;
}

async function rsaKeys(): Promise<RsaKeys> {
  // Native key generation; node-forge's pure-JS generator takes seconds for 2048 bits.
  const { publicKey, privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicPem: publicKey, privatePem: privateKey };
}

function rsaKeysSync(): RsaKeys {
  const pair: KeyPairSyncResult<string, string> = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { publicPem: pair.publicKey, privatePem: pair.privateKey };
}

function newCertificate(publicPem: string, commonName: string, days: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicPem);
  // A leading 0x01 keeps the DER INTEGER positive.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  const now = Date.now();
  cert.validity.notBefore = new Date(now - DAY_MS);
  cert.validity.notAfter = new Date(now + days * DAY_MS);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  return cert;
}

/**
 * Signs with node:crypto rather than forge's `cert.sign`: forge does RSA in JavaScript, about a
 * second of CPU per certificate, which made provisioning many simulated tenants the slowest part
 * of a run. forge still builds the certificate; only the signature over its DER TBSCertificate is
 * computed by OpenSSL.
 */
function sign(cert: forge.pki.Certificate, issuerKeyPem: string): string {
  cert.signatureOid = forge.pki.oids['sha256WithRSAEncryption'] as string;
  cert.siginfo.algorithmOid = cert.signatureOid;
  // getTBSCertificate is public in forge but missing from its type definitions.
  cert.tbsCertificate = (forge.pki as unknown as { getTBSCertificate(value: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate(cert);
  const tbs = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  cert.signature = signData('sha256', tbs, issuerKeyPem).toString('binary');
  return forge.pki.certificateToPem(cert);
}

/** A CA for the simulator's server certificates (10 years, so a persisted CA stays useful). */
export async function createCertificateAuthority(commonName = 'exorun simulator CA'): Promise<PemPair> {
  const keys = await rsaKeys();
  const cert = newCertificate(keys.publicPem, commonName, 3650);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return { certPem: sign(cert, keys.privatePem), keyPem: keys.privatePem };
}

/** A server certificate for `hosts` (DNS names or IP literals), issued by `ca`. */
export async function issueServerCertificate(ca: PemPair, hosts: readonly string[]): Promise<PemPair> {
  const keys = await rsaKeys();
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = newCertificate(keys.publicPem, hosts[0] ?? 'localhost', 397);
  cert.setIssuer(caCert.subject.attributes);
  const altNames = [...new Set(hosts)].map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host }));
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  return { certPem: sign(cert, ca.keyPem), keyPem: keys.privatePem };
}

export interface SelfSignedCertificateOptions {
  commonName: string;
  /** Validity from now; default 365. */
  days?: number;
}

/** A self-signed client certificate and PKCS#8 key, like the ones admins register on Entra apps. */
export function createSelfSignedCertificate(options: SelfSignedCertificateOptions): { certificatePem: string; privateKeyPem: string } {
  return selfSigned(rsaKeysSync(), options);
}

/** The same, without blocking the event loop while the key is generated. */
export async function createSelfSignedCertificateAsync(options: SelfSignedCertificateOptions): Promise<{ certificatePem: string; privateKeyPem: string }> {
  return selfSigned(await rsaKeys(), options);
}

function selfSigned(keys: RsaKeys, options: SelfSignedCertificateOptions): { certificatePem: string; privateKeyPem: string } {
  const cert = newCertificate(keys.publicPem, options.commonName, options.days ?? 365);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', clientAuth: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return { certificatePem: sign(cert, keys.privatePem), privateKeyPem: keys.privatePem };
}

/** A fresh RSA key pair for signing tokens (kept apart from the TLS key). */
export async function createSigningKeys(): Promise<RsaKeys> {
  return rsaKeys();
}
