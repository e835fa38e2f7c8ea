import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, startEmbeddedRedis } from '../../../src/queue/embedded-redis.js';
import { spawnExorun } from '../../support/processes.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';

const root = path.resolve(import.meta.dirname, '../../..');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function exorun(args: string[], env: Record<string, string> = {}): Promise<{ code: number | string; output: string; stdout: string; stderr: string }> {
  const child = spawnExorun(args, { LOG_LEVEL: 'warn', ...env });
  const code = await child.exited();
  return { code, output: child.output(), stdout: child.stdout(), stderr: child.stderr() };
}

/** A line of a stack trace, which the CLI must never print unless LOG_LEVEL=debug. */
const STACK_LINE = /^\s+at /m;

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
    expect(code).toBe(4);
    expect(output).toContain('REDIS_NOT_INSTALLED');
    expect(output).toContain('REDIS_URL=redis://');
    expect(output).toContain('apt-get install -y redis-server');
  });
});

describe('exit codes and error messages', () => {
  /** A jobs.yaml with one job for a simulated tenant, and an environment on the test Redis. */
  async function simulatedJob(): Promise<Record<string, string>> {
    const jobs = path.join(dir, 'exit-codes.yaml');
    await writeFile(
      jobs,
      `version: 1
defaults:
  output: { directory: ${JSON.stringify(path.join(dir, 'outputs'))} }
tenants:
  sim:
    organization: exit-codes.onmicrosoft.com
    cloud: simulated
jobs:
  domains:
    tenant: sim
    cmdlet: Get-AcceptedDomain
`,
    );
    return { EXORUN_CONFIG: jobs, REDIS_URL: testRedisUrl(), EXORUN_PREFIX: uniquePrefix('exit-codes'), EXORUN_STATE_DIR: path.join(dir, '.exorun') };
  }

  it('documents the exit codes in --help (exit 0)', async () => {
    const { code, stdout } = await exorun(['--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Exit codes:');
    for (const exit of ['0 ', '1 ', '2 ', '3 ', '4 ', '130']) expect(stdout).toMatch(new RegExp(`^  ${exit}`, 'm'));
  });

  it('exits 2 for usage errors: an unknown option, a missing argument, an unknown command, a bad value', async () => {
    for (const args of [['--no-such-option'], ['run'], ['no-such-command'], ['run', 'domains', '--timeout', 'soon']]) {
      const { code, output } = await exorun(args, await simulatedJob());
      expect(code, `exorun ${args.join(' ')}: ${output}`).toBe(2);
      expect(output).not.toMatch(STACK_LINE);
    }
  });

  it('exits 4 with one coded line when Redis cannot be reached, the password redacted', async () => {
    const port = await findFreePort();
    const env = { ...(await simulatedJob()), REDIS_URL: `redis://:do-not-print@127.0.0.1:${port}` };
    for (const args of [['status'], ['run', 'domains'], ['runs']]) {
      const { code, stderr, output } = await exorun(args, env);
      expect(code, `exorun ${args.join(' ')}: ${output}`).toBe(4);
      expect(stderr.trim().split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^exorun: REDIS_UNAVAILABLE: Cannot reach Redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${port}`)),
      ]);
      expect(output).not.toContain('do-not-print');
    }
  });

  it('exits 4 when Redis goes away during run --wait and stays away, instead of waiting silently', async () => {
    // A Redis of this test's own, to stop under the waiting command.
    const redis = await startEmbeddedRedis();
    try {
      const child = spawnExorun(['run', 'domains', '--wait', '--no-progress'], { LOG_LEVEL: 'warn', ...(await simulatedJob()), REDIS_URL: redis.url });
      await child.waitForOutput(/^queued /m);
      await redis.stop();
      expect(await child.exited()).toBe(4);
      expect(child.stderr()).toMatch(
        /^exorun: REDIS_UNAVAILABLE: Lost Redis at redis:\/\/127\.0\.0\.1:\d+ for 30 s while waiting for run \S+ \(.+\); the run goes on when Redis is back/m,
      );
      expect(child.output()).not.toMatch(STACK_LINE);
    } finally {
      await redis.stop();
    }
  }, 300_000);

  it('exits 3 with RUN_WAIT_TIMEOUT when --wait gives up, without a stack trace', async () => {
    // No worker runs on this prefix: the run stays queued.
    const { code, stderr } = await exorun(['run', 'domains', '--wait', '--timeout', '2s', '--no-progress'], await simulatedJob());
    expect(code).toBe(3);
    expect(stderr).toMatch(
      /^exorun: RUN_WAIT_TIMEOUT: Run \S+ has not finished after 2 s \(it is still queued: is a worker running\?\); it goes on in the queue/m,
    );
    expect(stderr).not.toMatch(STACK_LINE);
  });

  it('exits 130 when Ctrl-C stops the waiting, and says the run goes on', async () => {
    const child = spawnExorun(['run', 'domains', '--wait', '--no-progress'], { LOG_LEVEL: 'warn', ...(await simulatedJob()) });
    await child.waitForOutput(/^queued /m);
    child.child.kill('SIGINT');
    expect(await child.exited()).toBe(130);
    expect(child.stderr()).toMatch(/stopped waiting: run \S+ goes on in the queue \(`exorun show \S+`\)/);
  });

  it('prints an unexpected error as one line with a hint (exit 1), and its stack only at LOG_LEVEL=debug', async () => {
    // A state directory that is a file: creating the private Redis's folder fails with ENOTDIR.
    const notADirectory = path.join(dir, 'state-file');
    await writeFile(notADirectory, 'not a directory');
    const env = { ...(await simulatedJob()), REDIS_URL: '', EXORUN_STATE_DIR: notADirectory };
    const plain = await exorun(['up', '--no-watch'], env);
    expect(plain.code).toBe(1);
    expect(plain.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^exorun: ENOTDIR: .* \(LOG_LEVEL=debug shows details\)$/)]);
    const debug = await exorun(['up', '--no-watch'], { ...env, LOG_LEVEL: 'debug' });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(STACK_LINE);
  });
});
