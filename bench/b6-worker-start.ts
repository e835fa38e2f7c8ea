/**
 * B6 — a worker process's start: from spawning `exorun worker` (the built CLI) to the first
 * InvokeCommand reaching the service, with a run already waiting in the queue. The tenant is
 * configured as a real one (cloud: commercial, a certificate file, connectionUri and authority
 * overrides, the CA through NODE_EXTRA_CA_CERTS), so the figure includes loading the code, reading
 * jobs.yaml and the certificate, connecting to Redis, taking the run and its slot, and signing in.
 * Target: ≤ 1 s.
 *
 *   npm run build && npx tsx bench/b6-worker-start.ts [--repeat 5]
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startSimulator } from '@exorun/simulator';
import { Redis } from 'ioredis';
import { loadConfigFile } from '../src/config/index.js';
import { planRun } from '../src/jobs/index.js';
import { createRunQueue, startEmbeddedRedis } from '../src/queue/index.js';
import { makeTestCertificate } from '../test/support/certificates.js';

const { values } = parseArgs({ options: { repeat: { type: 'string', default: '5' } } });
const repeat = Number(values.repeat);
const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'dist/cli/main.js');
const organization = 'b6.onmicrosoft.com';
const clientId = randomUUID();

const dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-b6-'));
const redis = await startEmbeddedRedis();
const simulator = await startSimulator();
try {
  const certificate = makeTestCertificate();
  await writeFile(path.join(dir, 'exorun.pem'), `${certificate.certificatePem}${certificate.privateKeyPem}`);
  await writeFile(path.join(dir, 'ca.pem'), simulator.caCertPem);
  await simulator.provisionTenant({ organization, mailboxCount: 10, certificatePem: certificate.certificatePem, clientId });
  await writeFile(
    path.join(dir, 'jobs.yaml'),
    `version: 1
defaults: { output: { directory: ${JSON.stringify(path.join(dir, 'outputs'))}, formats: [jsonl] } }
tenants:
  contoso:
    organization: ${organization}
    cloud: commercial
    auth: { type: certificate, clientId: ${clientId}, certificate: { path: ./exorun.pem } }
    connectionUri: ${simulator.urls.exo}/powershell-liveid/
    authority: ${simulator.urls.login}/organizations
jobs:
  domains: { tenant: contoso, cmdlet: Get-AcceptedDomain }
`,
  );
  const config = await loadConfigFile(path.join(dir, 'jobs.yaml'));
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });

  const versionMs = await timeProcess([cli, '--version']);
  const firstCallMs: number[] = [];
  const readyMs: number[] = [];
  for (let index = 0; index < repeat; index += 1) {
    const prefix = `exorun-b6-${index}-${randomUUID().slice(0, 6)}`;
    const runs = createRunQueue({ connection, prefix });
    await runs.enqueue(planRun(config, 'domains', { trigger: 'manual', nowMs: Date.now() }));
    await runs.close();
    simulator.recorder.reset();
    const started = Date.now();
    let ready: number | undefined;
    const worker = spawn(process.execPath, [cli, 'worker', '--config', path.join(dir, 'jobs.yaml')], {
      cwd: dir,
      env: { ...process.env, REDIS_URL: redis.url, EXORUN_PREFIX: prefix, NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem'), LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    worker.stdout.on('data', (chunk: Buffer) => {
      if (ready === undefined && chunk.toString().includes('worker ready')) ready = Date.now() - started;
    });
    const deadline = started + 30_000;
    let first: number | undefined;
    while (first === undefined && Date.now() < deadline) {
      const call = simulator.recorder.calls(organization).find((candidate) => candidate.at >= started);
      if (call) first = call.at - started;
      else await new Promise((resolve) => setTimeout(resolve, 2));
    }
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
    if (first === undefined) throw new Error('the worker sent no InvokeCommand within 30 s');
    firstCallMs.push(first);
    if (ready !== undefined) readyMs.push(ready);
  }
  connection.disconnect();

  const sorted = (list: number[]): number[] => [...list].sort((a, b) => a - b);
  const median = (list: number[]): number => sorted(list)[Math.floor(list.length / 2)] ?? NaN;
  console.log(`B6 worker start → first InvokeCommand (built CLI, production-like tenant, ${repeat} starts)`);
  console.log(`  node + CLI start-up alone (exorun --version): ${versionMs} ms`);
  console.log(`  start → 'worker ready'       median ${median(readyMs)} ms; all ${sorted(readyMs).join(', ')} ms`);
  console.log(`  start → first InvokeCommand  median ${median(firstCallMs)} ms; all ${sorted(firstCallMs).join(', ')} ms (target <= 1000)`);
} finally {
  await simulator.close();
  await redis.stop();
  await rm(dir, { recursive: true, force: true });
}

async function timeProcess(args: string[]): Promise<number> {
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    child.once('exit', () => resolve());
    child.once('error', reject);
  });
  return Date.now() - started;
}
