import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loginWithDeviceCode } from '../../../src/auth/login.js';
import { createSessionStore } from '../../../src/auth/session-store.js';
import type { HttpTransport } from '../../../src/core/ports.js';
import { createHttpTransport } from '../../../src/exchange/http-transport.js';
import { startSimulator, type Simulator } from '@exorun/simulator';
import { writeSimulatorState } from '../../../src/worker/simulator-state.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';

const organization = 'shared-session.onmicrosoft.com';
const account = `admin@${organization}`;
const rounds = 50;

let simulator: Simulator;
let transport: HttpTransport;
let dir: string;

beforeAll(async () => {
  // The strict simulator revokes a whole session when a refresh token is redeemed twice.
  simulator = await startSimulator({ refreshTokenReuse: 'revoke-family', deviceCodeIntervalSec: 1 });
  transport = createHttpTransport({ extraCaPem: [simulator.caCertPem] });
  await simulator.provisionTenant({ organization, mailboxCount: 10 });
  dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-refresh-'));
});

afterAll(async () => {
  await transport.close();
  await simulator.close();
  await rm(dir, { recursive: true, force: true });
});

function runLoop(env: Record<string, string>): Promise<{ succeeded: number; failures: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '../../fixtures/processes/refresh-loop.ts')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => {
      const line = output.split('\n').find((candidate) => candidate.startsWith('{'));
      if (code === 0 && line) resolve(JSON.parse(line) as { succeeded: number; failures: string[] });
      else reject(new Error(`refresh loop exited ${code}:\n${output}`));
    });
  });
}

describe('two worker processes renewing one delegated session', () => {
  it(`never lose the newest refresh token in ${rounds} concurrent forced refreshes each`, async () => {
    const prefix = uniquePrefix('refresh');
    const secretKey = randomBytes(32);
    const redis = new Redis(testRedisUrl());
    try {
      const store = createSessionStore({ redis, prefix, secretKey });
      const login = await loginWithDeviceCode(
        {
          authorityHost: simulator.urls.login,
          tenant: organization,
          tenantName: 'shared',
          clientId: 'fb78d390-0c51-40cd-8e17-fdbfab77341b',
          account,
          scopes: ['https://outlook.office365.com/.default'],
          transport,
        },
        (prompt) => void simulator.approveDeviceCode(prompt.userCode),
      );
      await store.save({ organization, account }, login.cache, {
        tenant: 'shared',
        cloud: 'simulated',
        clientId: 'fb78d390-0c51-40cd-8e17-fdbfab77341b',
        refreshed: false,
      });

      const stateFile = path.join(dir, 'simulator.json');
      await writeSimulatorState(stateFile, { pid: process.pid, urls: simulator.urls, caCertPem: simulator.caCertPem, adminKey: simulator.adminKey });
      const env = {
        SIM_STATE: stateFile,
        REDIS_URL: testRedisUrl(),
        PREFIX: prefix,
        SECRET_KEY: secretKey.toString('base64'),
        ORG: organization,
        ACCOUNT: account,
        ROUNDS: String(rounds),
      };
      const before = simulator.entraStats(organization);
      const results = await Promise.all([runLoop(env), runLoop(env)]);

      expect(results.flatMap((result) => result.failures)).toEqual([]);
      expect(results.map((result) => result.succeeded)).toEqual([rounds, rounds]);
      const after = simulator.entraStats(organization);
      expect(after.refreshRedemptions - before.refreshRedemptions).toBe(2 * rounds);
      expect(after.reuseDetections - before.reuseDetections).toBe(0);
      expect(after.revocations - before.revocations).toBe(0);
      const [session] = await store.list();
      expect(session?.refreshCount).toBe(2 * rounds);
    } finally {
      redis.disconnect();
    }
  }, 120_000);
});
