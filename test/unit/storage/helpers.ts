import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CmdletPage, Clock, RunDescriptor } from '../../../src/core/ports.js';

export async function makeTempRoot(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'exorun-storage-'));
}

export async function removeTempRoot(root: string): Promise<void> {
  await rm(root, { recursive: true, force: true });
}

export function makeRun(overrides: Partial<RunDescriptor> = {}): RunDescriptor {
  return {
    runId: 'daily-mailboxes-20260115T020000Z-contoso',
    job: 'daily-mailboxes',
    tenant: 'contoso.onmicrosoft.com',
    service: 'exo',
    cmdlet: 'Get-EXOMailbox',
    parameters: { ResultSize: 'Unlimited' },
    formats: ['jsonl', 'csv'],
    localDate: '2026-01-15',
    attempt: 1,
    ...overrides,
  };
}

let pageCounter = 0;

export function makePage(objects: Record<string, unknown>[], extra: Partial<CmdletPage> = {}): CmdletPage {
  pageCounter += 1;
  return {
    index: 0,
    objects,
    warnings: [],
    errors: [],
    requestId: `req-${pageCounter}`,
    clientRequestId: `client-${pageCounter}`,
    ...extra,
  };
}

/** A clock that moves one second forward on every reading. */
export function steppingClock(startMs = Date.UTC(2026, 0, 15, 2, 0, 0)): Clock & { readonly readings: number[] } {
  const readings: number[] = [];
  let now = startMs;
  return {
    readings,
    now() {
      readings.push(now);
      const current = now;
      now += 1000;
      return current;
    },
  };
}

export function runFolder(root: string, run: RunDescriptor): string {
  return path.join(root, run.job, run.localDate);
}

export async function listFolder(folder: string): Promise<string[]> {
  return (await readdir(folder)).sort();
}

export async function sha256OfFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const data = await readFile(file);
  return { sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
}

export async function readJsonl(file: string): Promise<unknown[]> {
  const text = await readFile(file, 'utf8');
  expectTrailingNewline(text);
  return text === ''
    ? []
    : text
        .slice(0, -1)
        .split('\n')
        .map((line) => JSON.parse(line) as unknown);
}

function expectTrailingNewline(text: string): void {
  if (text !== '' && !text.endsWith('\n')) throw new Error('JSONL file does not end with a newline');
}
