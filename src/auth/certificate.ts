import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type forge from 'node-forge';
import { AppError } from '../core/index.js';

/** What msal-node needs to sign client assertions, plus facts to warn about expiry. */
export interface CertificateCredential {
  /** PKCS#8 PEM. Never log it. */
  readonly privateKeyPem: string;
  /** The leaf certificate, PEM. */
  readonly certificatePem: string;
  /** Leaf first, then any chain certificates from the file (PEM), for x5c. */
  readonly chainPem: string;
  /** SHA-256 thumbprint, hex without colons (msal's `thumbprintSha256`). */
  readonly thumbprintSha256: string;
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface LoadCertificateOptions {
  certificatePath: string;
  keyPath?: string;
  /** PFX password or the passphrase of an encrypted PEM key. */
  password?: string;
  /** For expiry checks; defaults to now. */
  nowMs?: number;
}

/** Warn this long before a certificate expires. */
export const CERTIFICATE_WARNING_MS = 14 * 86_400_000;

/**
 * Loads a certificate and its private key from a PEM file (certificate and key together, or the key
 * in `keyPath`) or a PFX/P12 file, and checks that they belong together and are valid now.
 */
export async function loadCertificateCredential(options: LoadCertificateOptions): Promise<CertificateCredential> {
  const data = await readCredentialFile(options.certificatePath, 'certificate');
  const parts = looksLikePem(data) ? await fromPem(data, options) : await fromPfx(data, options);
  return checkCredential(parts, options);
}

/** Days until the certificate expires, negative when expired; used for the 14-day warning. */
export function daysUntilExpiry(credential: CertificateCredential, nowMs = Date.now()): number {
  return Math.floor((credential.notAfter.getTime() - nowMs) / 86_400_000);
}

interface CredentialParts {
  key: KeyObject;
  certificates: string[];
}

async function readCredentialFile(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new AppError('AUTH_CERT_NOT_FOUND', `Cannot read the ${what} file ${file} (${code}). Check certificate.path in jobs.yaml.`, {
      cause: error,
      details: { file },
    });
  }
}

function looksLikePem(data: Buffer): boolean {
  return data.subarray(0, 4096).toString('latin1').includes('-----BEGIN ');
}

async function fromPem(data: Buffer, options: LoadCertificateOptions): Promise<CredentialParts> {
  const text = data.toString('utf8');
  const certificates = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (certificates.length === 0) {
    throw new AppError('AUTH_CERT_INVALID', `${options.certificatePath} contains no PEM certificate (-----BEGIN CERTIFICATE-----).`);
  }
  const keyText = options.keyPath ? (await readCredentialFile(options.keyPath, 'private key')).toString('utf8') : text;
  const keyPem = keyText.match(/-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/)?.[0];
  if (!keyPem) {
    throw new AppError(
      'AUTH_CERT_INVALID',
      `${options.keyPath ?? options.certificatePath} contains no private key. Put the key in the same PEM file, name it in certificate.keyPath, or use a PFX file.`,
    );
  }
  try {
    return { key: createPrivateKey({ key: keyPem, ...(options.password === undefined ? {} : { passphrase: options.password }) }), certificates };
  } catch (error) {
    const encrypted = keyPem.includes('ENCRYPTED');
    throw new AppError(
      encrypted ? 'AUTH_CERT_PASSWORD' : 'AUTH_CERT_INVALID',
      encrypted
        ? `The private key in ${options.keyPath ?? options.certificatePath} is encrypted and the password is ${options.password === undefined ? 'missing (set certificate.password)' : 'wrong'}.`
        : `The private key in ${options.keyPath ?? options.certificatePath} cannot be read: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

// Node has no PKCS#12 API that yields the private key; node-forge reads both OpenSSL 3 (AES) and
// legacy (RC2/3DES) PFX files. It is loaded only when a PFX file is read (PEM is the common case,
// and it is several MiB a worker otherwise carries for nothing).
async function fromPfx(data: Buffer, options: LoadCertificateOptions): Promise<CredentialParts> {
  const { default: forge } = await import('node-forge');
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    const asn1 = forge.asn1.fromDer(data.toString('binary'));
    p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, options.password ?? '');
  } catch (error) {
    const message = (error as Error).message;
    if (/MAC could not be verified|Invalid password/i.test(message)) {
      throw new AppError(
        'AUTH_CERT_PASSWORD',
        `The PFX password for ${options.certificatePath} is ${options.password === undefined ? 'missing (set certificate.password)' : 'wrong'}.`,
        { cause: error },
      );
    }
    throw new AppError('AUTH_CERT_INVALID', `${options.certificatePath} is neither a PEM file nor a readable PFX/P12 file: ${message}`, { cause: error });
  }
  const bagsOf = (bagType: string | undefined): forge.pkcs12.Bag[] => (bagType ? (p12.getBags({ bagType })[bagType] ?? []) : []);
  const keyBag = bagsOf(forge.pki.oids['pkcs8ShroudedKeyBag'])[0] ?? bagsOf(forge.pki.oids['keyBag'])[0];
  if (!keyBag?.key) throw new AppError('AUTH_CERT_INVALID', `${options.certificatePath} contains no private key.`);
  const certificates = bagsOf(forge.pki.oids['certBag'])
    .map((bag) => bag.cert)
    .filter((cert): cert is forge.pki.Certificate => cert !== undefined)
    .map((cert) => forge.pki.certificateToPem(cert));
  if (certificates.length === 0) throw new AppError('AUTH_CERT_INVALID', `${options.certificatePath} contains no certificate.`);
  return { key: createPrivateKey(forge.pki.privateKeyToPem(keyBag.key)), certificates };
}

function checkCredential(parts: CredentialParts, options: LoadCertificateOptions): CertificateCredential {
  const certificates = parts.certificates.map((pem) => new X509Certificate(pem));
  // The leaf is the certificate that matches the key, wherever it sits in the file.
  const leafIndex = certificates.findIndex((certificate) => certificate.checkPrivateKey(parts.key));
  if (leafIndex < 0) {
    throw new AppError(
      'AUTH_CERT_KEY_MISMATCH',
      `The private key does not belong to the certificate in ${options.certificatePath}${options.keyPath ? ` (key: ${options.keyPath})` : ''}.`,
    );
  }
  const leaf = certificates[leafIndex] as X509Certificate;
  const now = options.nowMs ?? Date.now();
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (now < notBefore.getTime()) {
    throw new AppError('AUTH_CERT_EXPIRED', `The certificate ${leaf.subject.replace(/\n/g, ', ')} is not valid before ${notBefore.toISOString()}.`);
  }
  if (now > notAfter.getTime()) {
    throw new AppError(
      'AUTH_CERT_EXPIRED',
      `The certificate ${leaf.subject.replace(/\n/g, ', ')} expired on ${notAfter.toISOString()}. Create a new one and upload it to the app registration.`,
    );
  }
  const ordered = [parts.certificates[leafIndex] as string, ...parts.certificates.filter((_, index) => index !== leafIndex)];
  return {
    privateKeyPem: parts.key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificatePem: ordered[0] as string,
    chainPem: ordered.join('\n'),
    thumbprintSha256: leaf.fingerprint256.replace(/:/g, ''),
    subject: leaf.subject.replace(/\n/g, ', '),
    notBefore,
    notAfter,
  };
}

/** Builds a credential from PEM strings held in memory (simulated tenants). */
export function credentialFromPem(certificatePem: string, privateKeyPem: string, nowMs?: number): CertificateCredential {
  return checkCredential(
    { key: createPrivateKey(privateKeyPem), certificates: [certificatePem] },
    { certificatePath: '(in memory)', ...(nowMs === undefined ? {} : { nowMs }) },
  );
}
