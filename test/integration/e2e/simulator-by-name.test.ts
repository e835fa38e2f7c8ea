import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../../support/harness.js';

/**
 * The product against a simulator addressed by a DNS name (`sim.localhost`, resolved to loopback
 * by test/support/loopback-dns.ts): the IPPS global host redirects to `nam12b.sim.localhost` on
 * the same port, and a worker follows it through the production path (trusted hosts, TLS host
 * verification, the learnt regional origin for later pages).
 */

const organization = 'by-name.onmicrosoft.com';
let harness: Harness;

beforeAll(async () => {
  harness = await createHarness({
    label: 'byname',
    simulator: { publicHost: 'sim.localhost' },
    jobsYaml: (outputs) => `version: 1
defaults:
  output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl] }
tenants:
  sim:
    organization: ${organization}
    cloud: simulated
jobs:
  retention:
    tenant: sim
    service: ipps
    cmdlet: Get-RetentionCompliancePolicy
    pageSize: 2
  mailboxes:
    tenant: sim
    cmdlet: Get-Mailbox
    parameters: { ResultSize: 7 }
    pageSize: 3
`,
  });
  await harness.startWorker();
});

afterAll(async () => {
  await harness?.close();
});

describe('a simulator addressed by name', () => {
  it('runs an IPPS job through the sub-domain redirect, every page on the regional host', async () => {
    const manifest = await harness.finished(await harness.enqueue('retention'));
    expect(manifest).toMatchObject({ status: 'succeeded', service: 'ipps' });
    expect(manifest.pageCount).toBeGreaterThan(1);
    const calls = harness.simulator.recorder.calls(organization).filter((call) => call.service === 'ipps');
    // One redirect from the global host, then only regional pages.
    expect(calls.filter((call) => call.status === 302)).toHaveLength(1);
    expect(calls.filter((call) => call.status === 200)).toHaveLength(manifest.pageCount);
    expect(harness.simulator.urls.ippsRegional).toBe(`https://nam12b.sim.localhost:${new URL(harness.simulator.urls.ipps).port}`);
  });

  it('runs an EXO job at sim.localhost', async () => {
    const manifest = await harness.finished(await harness.enqueue('mailboxes'));
    expect(manifest).toMatchObject({ status: 'succeeded', service: 'exo', objectCount: 7 });
  });
});
