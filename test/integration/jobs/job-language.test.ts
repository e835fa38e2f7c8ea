import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Manifest } from '../../../src/storage/index.js';
import { planRun, planRuns } from '../../../src/jobs/plan.js';
import { waitForRun } from '../../../src/queue/run-queue.js';
import type { RunSummary } from '../../../src/worker/run/index.js';
import { createHarness, type Harness } from '../../support/harness.js';
import { readJsonl, readManifests } from '../../support/outputs.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function finishedSummary(h: Harness, runId: string, timeoutMs = 120_000): Promise<RunSummary> {
  const result = await waitForRun({ connection: h.redis, prefix: h.prefix, runId, timeoutMs });
  if (result.state !== 'completed') throw new Error(`run ${runId} ${result.state}: ${result.failedReason ?? ''}`);
  return result.returnValue as RunSummary;
}

async function manifestsOf(h: Harness, runId: string): Promise<Manifest[]> {
  return (await readManifests(h.outputs)).filter((manifest) => manifest.runId === runId);
}

function dataFile(h: Harness, manifest: Manifest, format: string): string {
  const file = manifest.files.find((candidate) => candidate.format === format);
  if (!file) throw new Error(`no ${format} file in ${manifest.runId}`);
  return path.join(h.outputs, file.path);
}

describe('forEach', () => {
  it('reads every mailbox’s permissions, in parallel up to the tenant’s limit and never beyond', async () => {
    const organization = 'fanout.onmicrosoft.com';
    harness = await createHarness({
      label: 'foreach',
      jobsYaml: (outputs) => `version: 1
defaults: { output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl] } }
tenants:
  fanout: { organization: ${organization}, cloud: simulated, simulator: { mailboxes: 2000, latencyMs: 2 }, limits: { exo: 3 } }
jobs:
  permissions-audit:
    tenant: fanout
    timeout: 10m
    steps:
      - name: mailboxes
        cmdlet: Get-Mailbox
        parameters: { ResultSize: Unlimited }
        select: [PrimarySmtpAddress, Alias]
        output: { formats: [csv] }
      - name: permissions
        forEach: mailboxes
        cmdlet: Get-MailboxPermission
        parameters: { Identity: "\${item.PrimarySmtpAddress}" }
`,
    });
    await harness.startWorker();
    const started = Date.now();
    const runId = await harness.enqueue('permissions-audit');
    const summary = await finishedSummary(harness, runId);
    const elapsedMs = Date.now() - started;

    expect(summary.itemFailures).toBe(0);
    const manifests = await manifestsOf(harness, runId);
    const byStep = new Map(manifests.map((manifest) => [manifest.step, manifest]));
    const mailboxManifest = byStep.get('mailboxes')!;
    const permissionManifest = byStep.get('permissions')!;
    // The forEach source writes JSONL (streamed by the next step) besides the CSV it asked for.
    expect(mailboxManifest.files.map((file) => file.format).sort()).toEqual(['csv', 'jsonl']);
    expect(mailboxManifest.objectCount).toBe(2000);
    expect(permissionManifest.items).toEqual({ total: 2000, succeeded: 2000, failed: 0 });

    const records = await readJsonl(dataFile(harness, permissionManifest, 'jsonl'));
    const expected = harness.simulator.tenantData(organization)!;
    const aliases = (await readJsonl(dataFile(harness, mailboxManifest, 'jsonl'))).map((mailbox) => String(mailbox['Alias']));
    // Exactly one record set per mailbox: each mailbox's records are together, complete, and appear once.
    const setsSeen: string[] = [];
    for (const record of records) if (setsSeen.at(-1) !== record['Identity']) setsSeen.push(String(record['Identity']));
    expect(setsSeen.sort()).toEqual([...aliases].sort());
    const expectedCount = aliases.reduce((sum, alias) => sum + [...expected.results('Get-MailboxPermission', { Identity: alias })].length, 0);
    expect(records).toHaveLength(expectedCount);

    const stats = harness.simulator.recorder.stats(organization, 'exo');
    expect(stats.peakInFlight).toBe(3);
    expect(stats.refusedConcurrency).toBe(0);
    console.info(`forEach over 2,000 mailboxes with C=3: ${elapsedMs} ms, peak in flight ${stats.peakInFlight}`);
  });

  it('counts failed items and fails the run only beyond maxItemFailures', async () => {
    const organization = 'mixed.onmicrosoft.com';
    const job = (name: string, maxItemFailures: string): string => `  ${name}:
    tenant: mixed
    maxItemFailures: ${maxItemFailures}
    steps:
      - { name: recipients, cmdlet: Get-Recipient, parameters: { ResultSize: Unlimited }, select: [PrimarySmtpAddress, RecipientTypeDetails] }
      - { name: permissions, forEach: recipients, cmdlet: Get-MailboxPermission, parameters: { Identity: "\${item.PrimarySmtpAddress}" } }
`;
    harness = await createHarness({
      label: 'itemfail',
      jobsYaml: (outputs) => `version: 1
defaults: { output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl] } }
tenants:
  mixed: { organization: ${organization}, cloud: simulated, simulator: { mailboxes: 40 } }
jobs:
${job('tolerant', '"100%"')}${job('strict', '0')}`,
    });
    await harness.startWorker();
    const tolerant = await harness.enqueue('tolerant');
    const summary = await finishedSummary(harness, tolerant);
    // The first run provisioned the tenant. Groups and contacts are recipients without a mailbox:
    // Get-MailboxPermission does not find them.
    const recipients = [...harness.simulator.tenantData(organization)!.results('Get-Recipient', { ResultSize: 'Unlimited' })];
    const withoutMailbox = recipients.filter((recipient) => !String(recipient['RecipientTypeDetails']).endsWith('Mailbox')).length;
    expect(withoutMailbox).toBeGreaterThan(0);
    expect(summary.itemFailures).toBe(withoutMailbox);
    const manifest = (await manifestsOf(harness, tolerant)).find((candidate) => candidate.step === 'permissions')!;
    expect(manifest.items).toEqual({ total: recipients.length, succeeded: recipients.length - withoutMailbox, failed: withoutMailbox });
    expect(manifest.errors).toHaveLength(withoutMailbox);
    expect(manifest.errors[0]).toMatchObject({ code: 'EXO_NOT_FOUND' });

    const strict = await harness.enqueue('strict');
    const result = await waitForRun({ connection: harness.redis, prefix: harness.prefix, runId: strict, timeoutMs: 60_000 });
    expect(result.state).toBe('failed');
    expect(result.failedReason).toMatch(new RegExp(`^RUN_ITEM_FAILURES: ${withoutMailbox} of ${recipients.length} item\\(s\\) of step permissions failed`));
    const failed = (await manifestsOf(harness, strict)).find((candidate) => candidate.step === 'permissions')!;
    expect(failed.status).toBe('failed');
    expect(failed.items?.failed).toBe(withoutMailbox);
  });
});

describe('windows', () => {
  it('covers the audit log across consecutive runs without a gap or an overlap', async () => {
    const organization = 'window.onmicrosoft.com';
    harness = await createHarness({
      label: 'window',
      jobsYaml: (outputs) => `version: 1
defaults: { output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl] } }
tenants:
  audited: { organization: ${organization}, cloud: simulated, simulator: { mailboxes: 10 } }
jobs:
  audit-pull:
    tenant: audited
    initialWindow: 6h
    overlap: skip
    cmdlet: Search-UnifiedAuditLog
    parameters: { StartDate: "\${window.start}", EndDate: "\${window.end}", ResultSize: 5000 }
`,
    });
    await harness.startWorker();
    // Two runs as if requested 5 h and 2 h ago: the simulated log has records up to now.
    const hour = 3_600_000;
    const firstAt = Date.now() - 5 * hour;
    const secondAt = Date.now() - 2 * hour;
    const summaries: RunSummary[] = [];
    for (const nowMs of [firstAt, secondAt]) {
      const plan = planRun(harness.config, 'audit-pull', { trigger: 'manual', nowMs });
      await harness.runs.enqueue(plan);
      summaries.push(await finishedSummary(harness, plan.runId));
    }
    const [first, second] = summaries as [RunSummary, RunSummary];
    expect(first.window).toEqual({ start: new Date(firstAt - 6 * hour).toISOString(), end: new Date(firstAt).toISOString() });
    expect(second.window).toEqual({ start: first.window!.end, end: new Date(secondAt).toISOString() });

    const records: Record<string, unknown>[] = [];
    for (const summary of summaries) {
      const [manifest] = await manifestsOf(harness, summary.runId);
      expect(manifest!.parameters).toMatchObject({ StartDate: summary.window!.start, EndDate: summary.window!.end });
      records.push(...(await readJsonl(dataFile(harness, manifest!, 'jsonl'))));
    }
    const expected = [
      ...harness.simulator.tenantData(organization)!.results('Search-UnifiedAuditLog', {
        StartDate: first.window!.start,
        EndDate: second.window!.end,
        ResultSize: 5000,
      }),
    ];
    const identities = records.map((record) => record['Identity']);
    expect(first.objectCount).toBeGreaterThan(0);
    expect(second.objectCount).toBeGreaterThan(0);
    expect(new Set(identities).size).toBe(identities.length);
    expect(identities).toEqual(expected.map((record) => record['Identity']));
  });
});

describe('tenants and services', () => {
  it('fans one job out into one run per selected tenant, each with its own outputs, reading EXO and IPPS', async () => {
    const tenant = (name: string, mailboxes: number): string =>
      `  ${name}: { organization: ${name}.onmicrosoft.com, cloud: simulated, simulator: { mailboxes: ${mailboxes}, seed: ${mailboxes} } }\n`;
    harness = await createHarness({
      label: 'tenants',
      jobsYaml: (outputs) => `version: 1
defaults: { output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl] } }
tenants:
${tenant('alpha', 5)}${tenant('bravo', 7)}${tenant('charlie', 9)}${tenant('internal', 3)}
tenantGroups:
  customers: [alpha, bravo]
jobs:
  compliance-report:
    tenants: [group:customers, all]
    excludeTenants: [internal]
    steps:
      - { name: mailboxes, cmdlet: Get-Mailbox, parameters: { ResultSize: Unlimited }, select: [PrimarySmtpAddress] }
      - { name: retention, service: ipps, cmdlet: Get-RetentionCompliancePolicy }
`,
    });
    expect(harness.config.jobs['compliance-report']?.tenants).toEqual(['alpha', 'bravo', 'charlie']);
    await harness.startWorker();
    const plans = planRuns(harness.config, 'compliance-report', { trigger: 'manual', nowMs: Date.now() });
    for (const plan of plans) await harness.runs.enqueue(plan);
    const summaries = await Promise.all(plans.map((plan) => finishedSummary(harness!, plan.runId)));
    expect(summaries.map((summary) => summary.tenant)).toEqual(['alpha', 'bravo', 'charlie']);
    expect(new Set(summaries.map((summary) => summary.runId)).size).toBe(3);

    for (const summary of summaries) {
      const manifests = await manifestsOf(harness, summary.runId);
      const mailboxes = manifests.find((manifest) => manifest.step === 'mailboxes')!;
      const retention = manifests.find((manifest) => manifest.step === 'retention')!;
      const organization = `${summary.tenant}.onmicrosoft.com`;
      expect(mailboxes).toMatchObject({ tenant: summary.tenant, service: 'exo', status: 'succeeded' });
      expect(retention).toMatchObject({ tenant: summary.tenant, service: 'ipps', status: 'succeeded' });
      expect(mailboxes.objectCount).toBe([...harness.simulator.tenantData(organization)!.results('Get-Mailbox', { ResultSize: 'Unlimited' })].length);
      expect(retention.objectCount).toBe([...harness.simulator.tenantData(organization)!.results('Get-RetentionCompliancePolicy')].length);
      expect(mailboxes.files[0]?.path).toContain(`${summary.runId}.mailboxes.jsonl`);
      expect(harness.simulator.recorder.stats(organization, 'ipps').peakInFlight).toBeGreaterThan(0);
    }
    expect(harness.simulator.recorder.stats('internal.onmicrosoft.com', 'exo').peakInFlight).toBe(0);
  });
});
