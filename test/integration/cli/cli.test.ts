import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnExorun } from '../../support/processes.js';

const root = path.resolve(import.meta.dirname, '../../..');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function exorun(args: string[], env: Record<string, string> = {}): Promise<{ code: number | string; output: string }> {
  const child = spawnExorun(args, { LOG_LEVEL: 'warn', ...env });
  const code = await child.exited();
  return { code, output: child.output() };
}

describe('exorun validate', () => {
  it('lists each mistake as file:line:col and exits 2', async () => {
    const file = path.join(root, 'test/fixtures/config/several-mistakes.yaml');
    const { code, output } = await exorun(['validate', file]);
    expect(code).toBe(2);
    const lines = output.split('\n').filter((line) => line.startsWith(`${file}:`) && /:\d+:\d+ /.test(line));
    expect(lines).toHaveLength(10);
    expect(lines[0]).toBe(`${file}:3:3 defaults.timeZone: unknown key 'timeZone' (did you mean 'timezone'?)`);
    expect(output).toContain(`${file}: 10 problems`);
  });

  it('exits 0 for the sample jobs.yaml and 2 for a file that does not exist', async () => {
    const valid = await exorun(['validate', path.join(root, 'jobs.yaml')]);
    expect(valid.code).toBe(0);
    expect(valid.output).toMatch(/is valid: 7 job\(s\)/);
    const missing = await exorun(['validate', path.join(dir, 'absent.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.output).toMatch(/Cannot read .*absent\.yaml/);
  });
});

describe('exorun next', () => {
  it('prints fire times in the job’s zone across a DST change', async () => {
    const { code, output } = await exorun(['next', 'mailbox-inventory', '-n', '3', '--from', '2027-03-26T12:00:00Z', '--config', path.join(root, 'jobs.yaml')]);
    expect(code).toBe(0);
    // 02:00 Berlin: CET (UTC+1) before the 28 March change, CEST (UTC+2) after; 28 March 02:00 does not exist.
    expect(output).toContain('2027-03-27T01:00:00.000Z');
    expect(output).toContain('2027-03-28T01:00:00.000Z');
    expect(output).toContain('2027-03-29T00:00:00.000Z');
  });
});

describe('exorun up without Redis', () => {
  it('names both ways to get Redis when REDIS_URL is unset and redis-server is not installed', async () => {
    const jobs = path.join(dir, 'jobs.yaml');
    await writeFile(jobs, 'version: 1\ntenants: {}\njobs: {}\n');
    // The child is started by absolute path; an empty PATH hides redis-server from it.
    const emptyBin = await mkdtemp(path.join(dir, 'bin-'));
    const { code, output } = await exorun(['up', '--config', jobs], {
      REDIS_URL: '',
      PATH: emptyBin,
      EXORUN_STATE_DIR: path.join(dir, '.exorun'),
    });
    expect(code).toBe(1);
    expect(output).toContain('REDIS_NOT_INSTALLED');
    expect(output).toContain('REDIS_URL=redis://');
    expect(output).toContain('apt-get install -y redis-server');
  });
});
