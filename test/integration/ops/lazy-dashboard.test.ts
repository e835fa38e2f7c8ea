import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../../src/queue/embedded-redis.js';
import { spawnExorun } from '../../support/processes.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';

/**
 * Bull Board (express and its UI) is loaded only by a process that serves the dashboard. Node's
 * module debug log (NODE_DEBUG=module) names every CommonJS module a process loads, which
 * @bull-board/* and express are; its ioredis entries show the log really covers the process.
 */

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-lazy-dashboard-'));
  await writeFile(path.join(dir, 'jobs.yaml'), 'version: 1\ntenants: {}\njobs: {}\n');
});

afterAll(() => rm(dir, { recursive: true, force: true }));

async function modulesLoadedBy(extraEnv: Record<string, string>): Promise<string> {
  const worker = spawnExorun(['worker', '--no-watch'], {
    NODE_DEBUG: 'module',
    REDIS_URL: testRedisUrl(),
    EXORUN_PREFIX: uniquePrefix('lazy-dashboard'),
    EXORUN_CONFIG: path.join(dir, 'jobs.yaml'),
    EXORUN_STATE_DIR: path.join(dir, '.exorun'),
    EXORUN_HTTP_PORT: '0',
    ...extraEnv,
  });
  await worker.waitForOutput(/worker ready/);
  if (extraEnv['EXORUN_DASHBOARD_TOKEN']) await worker.waitForOutput(/dashboard on/);
  worker.child.kill('SIGTERM');
  expect(await worker.exited()).toBe(0);
  return worker.stderr();
}

describe('the dashboard is loaded on demand', () => {
  it('a worker without EXORUN_DASHBOARD_TOKEN never loads Bull Board or express', async () => {
    // The operator endpoint on, the dashboard off.
    const modules = await modulesLoadedBy({ EXORUN_HTTP_PORT: String(await findFreePort()) });
    expect(modules).toMatch(/node_modules\/ioredis\//);
    expect(modules).not.toMatch(/node_modules\/@bull-board\//);
    expect(modules).not.toMatch(/node_modules\/express\//);
  }, 300_000);

  it('a worker with the token loads it', async () => {
    const modules = await modulesLoadedBy({ EXORUN_DASHBOARD_TOKEN: 'lazy-dashboard-token-0123456789', EXORUN_HTTP_PORT: String(await findFreePort()) });
    expect(modules).toMatch(/node_modules\/@bull-board\/express\//);
  }, 300_000);
});
