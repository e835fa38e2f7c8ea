import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionStore } from '../../../src/auth/session-store.js';
import { startSimulator, type Simulator } from '@exorun/simulator';
import { writeSimulatorState } from '../../../src/worker/simulator-state.js';
import { makeTestCertificate } from '../../support/certificates.js';
import { listFiles } from '../../support/outputs.js';
import { spawnExorun, type ExorunProcess } from '../../support/processes.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';

/**
 * Runs real jobs with a password-protected PFX and a delegated session (signed in through
 * `exorun login`), with every log at trace level, then searches logs, output files, manifests and
 * every Redis key of the deployment for tokens, refresh tokens, key material and passwords.
 */
const JWT = /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]+/;

let simulator: Simulator;
let dir: string;
let env: Record<string, string>;
const worker: ExorunProcess[] = [];
const pfxPassword = `pfx-${randomBytes(6).toString('hex')}`;
const secretKey = randomBytes(32).toString('base64');
const certificate = makeTestCertificate({ commonName: 'leak test' });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-leak-'));
  simulator = await startSimulator({ deviceCodeAutoApproveMs: 0, deviceCodeIntervalSec: 1 });
  const stateFile = path.join(dir, 'simulator.json');
  await writeSimulatorState(stateFile, { pid: process.pid, urls: simulator.urls, caCertPem: simulator.caCertPem, adminKey: simulator.adminKey });
  await writeFile(path.join(dir, 'app.pfx'), certificate.pfx(pfxPassword));
  await writeFile(
    path.join(dir, 'jobs.yaml'),
    `version: 1
defaults: { output: { directory: ${JSON.stringify(path.join(dir, 'outputs'))}, formats: [jsonl, csv, json] } }
tenants:
  files:
    organization: leak-files.onmicrosoft.com
    cloud: simulated
    auth:
      type: certificate
      clientId: 5a1e7c3b-2d4f-4e6a-9b8c-1d2e3f4a5b6c
      certificate: { path: ./app.pfx, password: { env: LEAK_PFX_PASSWORD } }
  user:
    organization: leak-user.onmicrosoft.com
    cloud: simulated
    auth: { type: delegated, account: admin@leak-user.onmicrosoft.com }
jobs:
  files-mailboxes: { tenant: files, cmdlet: Get-Mailbox, parameters: { ResultSize: 10 } }
  user-domains: { tenant: user, cmdlet: Get-AcceptedDomain }
  user-policies: { tenant: user, service: ipps, cmdlet: Get-RetentionCompliancePolicy }
`,
  );
  env = {
    REDIS_URL: testRedisUrl(),
    EXORUN_PREFIX: uniquePrefix('leak'),
    EXORUN_CONFIG: path.join(dir, 'jobs.yaml'),
    EXORUN_SIMULATOR: stateFile,
    EXORUN_STATE_DIR: path.join(dir, '.exorun'),
    EXORUN_SECRET_KEY: secretKey,
    LEAK_PFX_PASSWORD: pfxPassword,
    LOG_LEVEL: 'trace',
  };
}, 180_000);

afterAll(async () => {
  await Promise.all(worker.map((child) => child.stop()));
  await simulator.close();
  await rm(dir, { recursive: true, force: true });
});

async function exorun(args: string[]): Promise<string> {
  const child = spawnExorun(args, env);
  const code = await child.exited();
  expect(code, child.output()).toBe(0);
  return child.output();
}

async function dumpRedis(redis: Redis, prefix: string): Promise<string> {
  let dump = '';
  for (const key of await redis.keys(`${prefix}:*`)) {
    const type = await redis.type(key);
    const value =
      type === 'string'
        ? await redis.get(key)
        : type === 'hash'
          ? await redis.hgetall(key)
          : type === 'list'
            ? await redis.lrange(key, '0', '-1')
            : type === 'zset'
              ? await redis.zrange(key, '0', '-1', 'WITHSCORES')
              : type === 'set'
                ? await redis.smembers(key)
                : type === 'stream'
                  ? await redis.xrange(key, '-', '+')
                  : `(${type})`;
    dump += `${key} ${JSON.stringify(value)}\n`;
  }
  return dump;
}

describe('secrets stay secret', () => {
  it('leave no token, refresh token, key or password in logs, outputs, manifests or Redis', async () => {
    const logs: string[] = [];
    // The admin signs in through the CLI; the simulator approves the code at once.
    logs.push(await exorun(['login', 'user']));
    const running = spawnExorun(['worker', '--concurrency', '4'], env);
    worker.push(running);
    await running.waitForOutput(/worker ready/);
    for (const job of ['files-mailboxes', 'user-domains', 'user-policies']) {
      const output = await exorun(['run', job, '--wait']);
      expect(output).toMatch(/succeeded/);
      logs.push(output);
    }
    logs.push(await exorun(['sessions']));
    await running.stop();
    logs.push(running.output());

    const redis = new Redis(testRedisUrl());
    let redisDump: string;
    let refreshTokens: string[];
    try {
      redisDump = await dumpRedis(redis, env['EXORUN_PREFIX']!);
      const cache = await createSessionStore({ redis, prefix: env['EXORUN_PREFIX']!, secretKey: Buffer.from(secretKey, 'base64') }).load({
        organization: 'leak-user.onmicrosoft.com',
        account: 'admin@leak-user.onmicrosoft.com',
      });
      refreshTokens = Object.values((JSON.parse(cache!) as { RefreshToken: Record<string, { secret: string }> }).RefreshToken).map((entry) => entry.secret);
    } finally {
      redis.disconnect();
    }
    const files = await listFiles(path.join(dir, 'outputs'));
    expect(files.some((file) => file.endsWith('.manifest.json'))).toBe(true);
    const outputs = (await Promise.all(files.map((file) => readFile(file, 'utf8')))).join('\n');

    const keyBody = certificate.privateKeyPem.split('\n')[3]!;
    const secrets: [string, string][] = [
      ['PFX password', pfxPassword],
      ['private key material', keyBody],
      ['EXORUN_SECRET_KEY', secretKey],
      ['simulator admin key', simulator.adminKey],
      ...refreshTokens.map((token): [string, string] => ['refresh token', token]),
    ];
    expect(refreshTokens.length).toBeGreaterThan(0);
    for (const [place, text] of [
      ['logs', logs.join('\n')],
      ['output files and manifests', outputs],
      ['Redis', redisDump],
    ] as const) {
      expect(JWT.exec(text)?.[0], `a JWT in ${place}`).toBeUndefined();
      for (const [what, secret] of secrets) expect(text.includes(secret), `${what} in ${place}`).toBe(false);
    }
    // The trace logs did record the work, so the scan had something to read.
    expect(logs.join('\n')).toMatch(/run succeeded/);
    expect(redisDump).toMatch(/:auth:session:/);
  }, 360_000);
});
