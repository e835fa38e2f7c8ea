import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunHistory } from '../../../src/queue/run-history.js';
import { createNotifier } from '../../../src/notify/notifier.js';
import { Writable } from 'node:stream';
import { createLogger } from '../../../src/core/logger.js';
import { createHarness, type Harness } from '../../support/harness.js';
import { spawn } from 'node:child_process';
import { eventually, spawnExorun } from '../../support/processes.js';
import { readManifests } from '../../support/outputs.js';
import { readClixml } from '../../unit/storage/clixml-reader.js';

/**
 * Outputs, run history and failure notifications through the real path: a worker (real BullMQ on
 * the test Redis) runs cmdlets against the simulator; every format is read back with a reader
 * that shares no code with the writers.
 */

const organization = 'ops-view.onmicrosoft.com';
const mailboxes = 300;
let harness: Harness;
let receiver: Server;
const received: { path: string; body: Record<string, unknown> }[] = [];
const notifierLog: string[] = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      received.push({ path: request.url ?? '', body: JSON.parse(text) as Record<string, unknown> });
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook/secret-part`;
  harness = await createHarness({
    label: 'opsview',
    jobsYaml: (outputs) => `version: 1
defaults:
  output: { directory: ${JSON.stringify(outputs)} }
  notify:
    - url: ${hook}
tenants:
  sim:
    organization: ${organization}
    cloud: simulated
    simulator: { seed: 11, mailboxes: ${mailboxes} }
  small:
    organization: ops-view-small.onmicrosoft.com
    cloud: simulated
    simulator: { seed: 3, mailboxes: 6 }
jobs:
  every-format:
    tenant: sim
    cmdlet: Get-Mailbox
    parameters: { ResultSize: Unlimited }
    pageSize: 25
    output: { formats: [jsonl, csv, json, clixml], csv: { bom: true } }
  broken:
    tenant: sim
    cmdlet: Get-NoSuchThing
  mailbox-permissions:
    tenant: small
    steps:
      - name: mailboxes
        cmdlet: Get-Mailbox
        parameters: { ResultSize: Unlimited }
        select: [PrimarySmtpAddress]
      - name: permissions
        forEach: mailboxes
        cmdlet: Get-MailboxPermission
        parameters: { Identity: "\${item.PrimarySmtpAddress}" }
`,
  });
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      notifierLog.push(chunk.toString());
      done();
    },
  });
  await harness.startWorker({
    notifier: createNotifier({
      logger: createLogger({ level: 'debug', destination }),
      env: () => undefined,
      sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.min(ms, 50))),
    }),
  });
}, 300_000);

afterAll(async () => {
  await harness?.close();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
});

/** CSV cells as Export-Csv users expect them: arrays joined with "; ", absent values empty. */
function cellOf(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (Array.isArray(value)) return value.map(cellOf).join('; ');
  if (typeof value === 'object') return JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

describe('outputs read back with independent readers', () => {
  it('JSONL, CSV (with BOM), JSON and CliXml all hold exactly the simulator’s objects, awkward text included', async () => {
    const runId = await harness.enqueue('every-format');
    const manifest = await harness.finished(runId);
    const expected = [...harness.simulator.tenantData(organization)!.results('Get-Mailbox', { ResultSize: 'Unlimited' })] as Record<string, unknown>[];
    expect(expected).toHaveLength(mailboxes);
    const names = expected.map((object) => String(object['DisplayName']));
    // The seeded data really has the hard cases in it.
    expect(names.some((name) => name.includes(','))).toBe(true);
    expect(names.some((name) => name.includes('"'))).toBe(true);
    expect(names.some((name) => name.includes('\n'))).toBe(true);
    expect(names.some((name) => [...name].some((character) => character.charCodeAt(0) > 0x7f))).toBe(true);

    const fileOf = (format: string): string => path.join(harness.outputs, manifest.files.find((file) => file.format === format)!.path);
    for (const file of manifest.files) expect(file.objects).toBe(mailboxes);

    const jsonl = (await readFile(fileOf('jsonl'), 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as unknown);
    expect(jsonl).toEqual(expected);

    expect(JSON.parse(await readFile(fileOf('json'), 'utf8'))).toEqual(expected);

    const csvBytes = await readFile(fileOf('csv'));
    expect([...csvBytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const rows = parse<Record<string, string>>(csvBytes, { bom: true, columns: true, relax_column_count: false });
    expect(rows).toHaveLength(mailboxes);
    const flatKeys = Object.keys(rows[0]!);
    for (const [index, object] of expected.entries()) {
      for (const [key, value] of Object.entries(object)) {
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) continue; // flattened into Parent.Child columns
        expect(flatKeys).toContain(key);
        expect(rows[index]![key], `${key} of row ${index}`).toBe(cellOf(value));
      }
    }
    expect(rows.some((row) => Object.values(row).some((cell) => cell === ''))).toBe(true);

    const document = readClixml(await readFile(fileOf('clixml'), 'utf8'));
    expect(document.objects).toHaveLength(mailboxes);
    expect(document.objects.map((object) => object['DisplayName'])).toEqual(names);
    // Types announced by the service survive: a DateTime and a Guid member are written as such.
    const tags = new Set(document.members.flat().map((member) => member.tag));
    expect(tags.has('DT')).toBe(true);
    expect(tags.has('G')).toBe(true);
  });
});

describe('run history and the CLI', () => {
  it('records a run in Redis and shows it with exorun runs, show and output', async () => {
    const runId = await harness.enqueue('every-format');
    const manifest = await harness.finished(runId);
    const history = createRunHistory({ redis: harness.redis, prefix: harness.prefix });
    const entry = await eventually(
      async () => {
        const found = await history.get(runId);
        return found?.status === 'succeeded' ? found : undefined;
      },
      60_000,
      'the history entry',
    );
    expect(entry).toMatchObject({ job: 'every-format', tenant: 'sim', objects: mailboxes, pages: manifest.pageCount });
    expect(entry.startedAt).toBeDefined();
    expect(entry.files).toContain(manifest.files[0]!.path);

    const env = harness.env({ LOG_LEVEL: 'warn' });
    const runs = spawnExorun(['runs', 'every-format'], env);
    expect(await runs.exited()).toBe(0);
    const row = runs
      .output()
      .split('\n')
      .find((line) => line.startsWith(runId));
    expect(row, runs.output()).toBeDefined();
    expect(row).toMatch(new RegExp(`^${runId.replace(/\./g, '\\.')}\\s+every-format\\s+sim\\s+succeeded\\s+\\S+ \\S+\\s+\\S+\\s+${mailboxes}$`));

    const show = spawnExorun(['show', runId, '--json'], env);
    expect(await show.exited()).toBe(0);
    const shown = JSON.parse(show.output()) as { run: { runId: string }; manifest: { files: unknown[] } };
    expect(shown.run.runId).toBe(runId);
    expect(shown.manifest.files).toEqual(manifest.files);

    const output = spawnExorun(['output', 'every-format', runId, '--format', 'csv'], env);
    expect(await output.exited()).toBe(0);
    const csvFile = path.join(harness.outputs, manifest.files.find((file) => file.format === 'csv')!.path);
    expect(output.output()).toBe((await readFile(csvFile, 'utf8')).replace(/^\uFEFF/, '\uFEFF'));

    const missing = spawnExorun(['show', 'no-such-run'], env);
    expect(await missing.exited()).toBe(1);
    expect(missing.output()).toContain('RUN_NOT_FOUND');
  }, 240_000);

  it('a run that fails for good is recorded as failed with its code and sent to the webhook, without the URL in logs', async () => {
    const runId = await harness.enqueue('broken');
    const history = createRunHistory({ redis: harness.redis, prefix: harness.prefix });
    const entry = await eventually(
      async () => {
        const found = await history.get(runId);
        return found?.status === 'failed' ? found : undefined;
      },
      120_000,
      'the failed history entry',
    );
    expect(entry.errorCode).toBe('EXO_CMDLET_UNKNOWN');
    const message = await eventually(async () => received.find((item) => item.body['runId'] === runId), 60_000, 'the failure webhook');
    expect(message.path).toBe('/hook/secret-part');
    expect(message.body).toMatchObject({ source: 'exorun', event: 'failure', job: 'broken', tenant: 'sim', code: 'EXO_CMDLET_UNKNOWN' });
    const sent = await eventually(
      async () => notifierLog.find((line) => line.includes('webhook sent') && line.includes(runId)),
      60_000,
      'the notifier log line',
    );
    expect(sent).toContain('127.0.0.1');
    expect(notifierLog.join('')).not.toContain('secret-part');
  }, 240_000);
});

describe('the CLI on a multi-step run, in pipes, and on a failed run', () => {
  it('shows every step of a multi-step run, and `exorun runs` counts objects per step', async () => {
    const runId = await harness.enqueue('mailbox-permissions');
    await harness.finished(runId);
    const steps = (await readManifests(harness.outputs)).filter((manifest) => manifest.runId === runId);
    const counts: Record<string, number> = Object.fromEntries(steps.map((manifest) => [manifest.step ?? '', manifest.objectCount]));
    expect(Object.keys(counts).sort()).toEqual(['mailboxes', 'permissions']);
    expect(counts['permissions']).toBeGreaterThan(counts['mailboxes'] ?? 0);
    const history = createRunHistory({ redis: harness.redis, prefix: harness.prefix });
    await eventually(async () => (await history.get(runId))?.status === 'succeeded', 60_000, 'the history entry');

    const env = harness.env({ LOG_LEVEL: 'warn' });
    const show = spawnExorun(['show', runId], env);
    expect(await show.exited()).toBe(0);
    const text = show.output();
    expect(text).toMatch(new RegExp(`^objects: +mailboxes ${counts['mailboxes']}, permissions ${counts['permissions']}$`, 'm'));
    expect(text).toMatch(new RegExp(`^  1\\. mailboxes: Get-Mailbox \\(exo\\), succeeded, ${counts['mailboxes']} object`, 'm'));
    expect(text).toMatch(new RegExp(`^  2\\. permissions: Get-MailboxPermission \\(exo\\), succeeded, ${counts['permissions']} object`, 'm'));
    for (const manifest of steps) for (const file of manifest.files) expect(text).toContain(file.path);

    const runs = spawnExorun(['runs', 'mailbox-permissions'], env);
    expect(await runs.exited()).toBe(0);
    const row = runs
      .output()
      .split('\n')
      .find((line) => line.startsWith(runId));
    expect(row, runs.output()).toMatch(new RegExp(`\\smailboxes:${counts['mailboxes']},permissions:${counts['permissions']}$`));

    const json = spawnExorun(['runs', 'mailbox-permissions', '--json'], env);
    expect(await json.exited()).toBe(0);
    const entry = (JSON.parse(json.output()) as { runId: string; steps?: { step: string; objects: number }[] }[]).find(
      (candidate) => candidate.runId === runId,
    );
    expect(entry?.steps?.map((step) => [step.step, step.objects])).toEqual([
      ['mailboxes', counts['mailboxes']],
      ['permissions', counts['permissions']],
    ]);
  }, 120_000);

  it('ends quietly with exit 0 when the reader of its output goes away (`| head`)', async () => {
    const runId = await harness.enqueue('every-format');
    await harness.finished(runId);
    const env = { ...process.env, LOG_LEVEL: 'warn', ...harness.env() };
    const cli = `${JSON.stringify(process.execPath)} --import tsx src/cli/main.ts`;
    // `true` exits without reading: every write of exorun meets a closed pipe (EPIPE).
    for (const command of [`output every-format ${runId} --format clixml`, 'status', 'runs']) {
      const result = await new Promise<{ status: string; stderr: string }>((resolve) => {
        const shell = spawn('bash', ['-c', `${cli} ${command} | true; echo "exit \${PIPESTATUS[0]}"`], {
          cwd: path.resolve(import.meta.dirname, '../../..'),
          env,
        });
        let stdout = '';
        let stderr = '';
        shell.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        shell.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        shell.once('close', () => resolve({ status: stdout.trim(), stderr }));
      });
      expect(result, `exorun ${command}`).toEqual({ status: 'exit 0', stderr: '' });
    }
  }, 120_000);

  it('`run --wait` exits 1 when the run fails, with its code', async () => {
    const run = spawnExorun(['run', 'broken', '--wait', '--no-progress'], harness.env({ LOG_LEVEL: 'warn' }));
    expect(await run.exited()).toBe(1);
    expect(run.stderr()).toMatch(/^run \S+ failed: EXO_CMDLET_UNKNOWN: /m);
    expect(run.output()).not.toMatch(/^\s+at /m);
  }, 120_000);
});
