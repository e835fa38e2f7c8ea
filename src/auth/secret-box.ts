import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AppError } from '../core/index.js';

/**
 * AES-256-GCM for secrets at rest (delegated token caches in Redis). The name of what is sealed is
 * bound in as associated data, so a blob copied to another account's key does not decrypt.
 * Format: `v1.` + base64url(iv[12] | tag[16] | ciphertext).
 */
export interface SecretBox {
  seal(plaintext: string, context: string): string;
  open(sealed: string, context: string): string;
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new AppError('AUTH_SECRET_KEY', `The secret key must be 32 bytes, got ${key.length}.`);
  return {
    seal(plaintext, context) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `v1.${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url')}`;
    },
    open(sealed, context) {
      if (!sealed.startsWith('v1.')) throw new AppError('AUTH_SECRET_KEY', 'A stored session is not in a format this version can read.');
      const raw = Buffer.from(sealed.slice(3), 'base64url');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
        decipher.setAAD(Buffer.from(context, 'utf8'));
        decipher.setAuthTag(raw.subarray(12, 28));
        return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      } catch (error) {
        throw new AppError('AUTH_SECRET_KEY', 'A stored session cannot be decrypted: EXORUN_SECRET_KEY is not the key it was stored with.', { cause: error });
      }
    },
  };
}

/**
 * Reads the 32-byte key from EXORUN_SECRET_KEY or the file named by EXORUN_SECRET_KEY_FILE, as
 * base64 or hex (`openssl rand -base64 32` makes one). Undefined when neither is set.
 */
export async function readSecretKey(env: { EXORUN_SECRET_KEY?: string | undefined; EXORUN_SECRET_KEY_FILE?: string | undefined }): Promise<Buffer | undefined> {
  let text = env.EXORUN_SECRET_KEY;
  let source = 'EXORUN_SECRET_KEY';
  if (text === undefined && env.EXORUN_SECRET_KEY_FILE !== undefined) {
    source = env.EXORUN_SECRET_KEY_FILE;
    try {
      text = await readFile(env.EXORUN_SECRET_KEY_FILE, 'utf8');
    } catch (error) {
      throw new AppError('AUTH_SECRET_KEY', `Cannot read the secret key file ${env.EXORUN_SECRET_KEY_FILE}.`, { cause: error });
    }
  }
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new AppError('AUTH_SECRET_KEY', `The secret key in ${source} must be 32 bytes as base64 or hex (make one with \`openssl rand -base64 32\`).`);
  }
  return key;
}
