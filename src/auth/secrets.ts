import { readFile } from 'node:fs/promises';
import { AppError } from '../core/index.js';
import type { SecretRef } from '../core/index.js';

/**
 * Reads a secret from where jobs.yaml says it is. The value is returned to the caller only; it is
 * never logged, and errors name the variable or file, never the content.
 */
export async function readSecret(reference: SecretRef, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if ('env' in reference) {
    const value = env[reference.env];
    if (value === undefined || value === '') {
      throw new AppError('CFG_SECRET_MISSING', `The environment variable ${reference.env} is not set (jobs.yaml refers to it for a secret).`, {
        details: { env: reference.env },
      });
    }
    return value;
  }
  let text: string;
  try {
    text = await readFile(reference.file, 'utf8');
  } catch (error) {
    throw new AppError('CFG_SECRET_MISSING', `Cannot read the secret file ${reference.file} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}).`, {
      cause: error,
      details: { file: reference.file },
    });
  }
  // Files written by editors or `echo` end with a newline that is not part of the secret.
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new AppError('CFG_SECRET_MISSING', `The secret file ${reference.file} is empty.`, { details: { file: reference.file } });
  return value;
}
