import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConfigSource } from '../../../src/config/config-source.js';
import { loadConfigFile } from '../../../src/config/load.js';
import { createSilentLogger } from '../../../src/core/logger.js';
import { createNotifier } from '../../../src/notify/notifier.js';
import { startSchedulerService, type SchedulerService } from '../../../src/scheduler/scheduler-service.js';
import { eventually, spawnExorun, type ExorunProcess } from '../../support/processes.js';
import { testRedisUrl, uniquePrefix } from '../../support/redis.js';

/**
 * The operator's view of a running deployment: `exorun up` serves /metrics, /readyz and the Bull
 * Board dashboard (rendered by a real headless Chromium), and the scheduler reports a missed run
 * to a webhook.
 */

const execFileAsync = promisify(execFile);
const TOKEN = 'test-dashboard-token-0123456789';

/** A GET that never follows redirects: status, headers and body text. */
async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; header: (name: string) => string | undefined; text: string }> {
  const response = await request(url, { headers });
  const text = await response.body.text();
  return {
    status: response.statusCode,
    header: (name) => {
      const value = response.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    },
    text,
  };
}

function findChromium(): string | undefined {
  const candidates = [process.env['CHROMIUM_PATH'], '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  return candidates.find((candidate): candidate is string => candidate !== undefined && existsSync(candidate));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('exorun up: the operator endpoint', () => {
  let dir: string;
  let up: ExorunProcess;
  let base: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-up-ops-'));
    await writeFile(
      path.join(dir, 'jobs.yaml'),
      `version: 1
defaults:
  output: { directory: ${JSON.stringify(path.join(dir, 'outputs'))} }
tenants:
  sim:
    organization: up-ops.onmicrosoft.com
    cloud: simulated
    simulator: { mailboxes: 20 }
jobs:
  nightly-domains:
    schedule: "0 0 3 * * *"
    tenant: sim
    cmdlet: Get-AcceptedDomain
`,
    );
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    up = spawnExorun(['up', '--no-watch'], {
      REDIS_URL: testRedisUrl(),
      EXORUN_PREFIX: uniquePrefix('up-ops'),
      EXORUN_CONFIG: path.join(dir, 'jobs.yaml'),
      EXORUN_STATE_DIR: path.join(dir, '.exorun'),
      EXORUN_HTTP_PORT: String(port),
      EXORUN_DASHBOARD_TOKEN: TOKEN,
    });
    await up.waitForOutput(/dashboard on/);
    await up.waitForOutput(/worker ready/);
  }, 360_000);

  afterAll(async () => {
    await up?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves Prometheus metrics with exorun and BullMQ series, and a ready /readyz', async () => {
    const metrics = await get(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    const text = metrics.text;
    expect(text).toMatch(/^exorun_process_/m);
    expect(text).toMatch(/^bullmq_job_count\{.*queue="runs".*\} \d+/m);
    expect(text).toMatch(/^bullmq_job_count\{.*queue="ticks".*\} \d+/m);

    const ready = await eventually(
      async () => {
        const response = await get(`${base}/readyz`);
        return response.status === 200 ? (JSON.parse(response.text) as { ok: boolean; checks: { name: string; ok: boolean }[] }) : undefined;
      },
      120_000,
      '/readyz to answer 200',
    );
    expect(ready.ok).toBe(true);
    expect(ready.checks.map((check) => check.name).sort()).toEqual(['redis', 'schedules', 'worker']);
    expect((await get(`${base}/livez`)).status).toBe(200);
  }, 180_000);

  it('keeps the dashboard behind the token', async () => {
    expect((await get(`${base}/dashboard/`)).status).toBe(401);
    expect((await get(`${base}/dashboard/`, { authorization: 'Bearer wrong-token-wrong-token' })).status).toBe(401);
    expect((await get(`${base}/dashboard?token=wrong`)).status).toBe(401);
    const api = await get(`${base}/dashboard/api/queues`, { authorization: `Bearer ${TOKEN}` });
    expect(api.status).toBe(200);
    const body = JSON.parse(api.text) as { queues: { name: string }[] };
    expect(body.queues.map((queue) => queue.name).sort()).toEqual(['runs', 'ticks']);

    const login = await get(`${base}/dashboard?token=${TOKEN}`);
    expect(login.status).toBe(303);
    expect(login.header('location')).toBe('/dashboard');
    const cookie = login.header('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).not.toContain(TOKEN);
    const withCookie = await get(`${base}/dashboard/api/queues`, { cookie: cookie.split(';')[0]! });
    expect(withCookie.status).toBe(200);
  });

  it('renders the dashboard with the real queues in headless Chromium', async (context) => {
    const chromium = findChromium();
    if (!chromium) {
      context.skip('chromium not found (apt-get install -y chromium, or set CHROMIUM_PATH); .ci/run installs it');
      return;
    }
    // Bull Board renders in the browser: the server's HTML does not name the queues.
    const served = (await get(`${base}/dashboard/`, { authorization: `Bearer ${TOKEN}` })).text;
    expect(served).not.toContain('/dashboard/queue/ticks');

    const profile = await mkdtemp(path.join(os.tmpdir(), 'exorun-chromium-'));
    try {
      const { stdout } = await execFileAsync(
        chromium,
        [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-dev-shm-usage',
          `--user-data-dir=${profile}`,
          '--virtual-time-budget=15000',
          '--dump-dom',
          `${base}/dashboard?token=${TOKEN}`,
        ],
        { timeout: 60_000, maxBuffer: 20 * 1024 * 1024 },
      );
      expect(stdout).toContain('href="/dashboard/queue/runs"');
      expect(stdout).toContain('href="/dashboard/queue/ticks"');
    } finally {
      await rm(profile, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('missed-run watchdog', () => {
  let dir: string;
  let receiver: Server;
  let scheduler: SchedulerService | undefined;
  const received: Record<string, unknown>[] = [];

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      let text = '';
      request.on('data', (chunk: Buffer) => (text += chunk.toString()));
      request.on('end', () => {
        received.push(JSON.parse(text) as Record<string, unknown>);
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-missed-'));
  });

  afterAll(async () => {
    await scheduler?.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a scheduled run that no worker started within the grace, once, to the job’s webhook', async () => {
    const file = path.join(dir, 'jobs.yaml');
    await writeFile(
      file,
      `version: 1
tenants:
  sim:
    organization: missed.onmicrosoft.com
    cloud: simulated
jobs:
  every-second:
    schedule: "* * * * * *"
    tenant: sim
    cmdlet: Get-AcceptedDomain
    missedRunGrace: 2s
    notify:
      - url: { env: EXORUN_TEST_MISSED_HOOK }
        format: slack
        on: [missed]
`,
    );
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/missed`;
    const source = createConfigSource(await loadConfigFile(file), { logger: createSilentLogger(), watch: false });
    // No worker runs: ticks become queued runs that nobody starts.
    scheduler = await startSchedulerService({
      redisUrl: testRedisUrl(),
      prefix: uniquePrefix('missed'),
      logger: createSilentLogger(),
      config: source,
      leaderTtlMs: 3_000,
      watchdogIntervalMs: 500,
      notifier: createNotifier({
        logger: createSilentLogger(),
        env: (name) => (name === 'EXORUN_TEST_MISSED_HOOK' ? hookUrl : undefined),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))),
      }),
    });
    const message = await eventually(async () => received[0], 120_000, 'a missed-run webhook');
    expect(String(message['text'])).toMatch(/scheduled run missed: every-second \(sim\)/);
    expect(String(message['text'])).toContain('no worker has started it');
    // Each missed fire time is reported once: run ids never repeat across messages.
    await eventually(async () => received.length >= 3, 120_000, 'more missed fire times');
    const texts = received.map((item) => JSON.stringify(item['blocks']));
    expect(new Set(texts).size).toBe(texts.length);
  }, 300_000);
});
