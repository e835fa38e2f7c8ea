import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/core/logger.js';
import { createHarness, type Harness } from '../../support/harness.js';
import { causalEarlyCalls } from '../../support/throttling.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const tenantYaml = (name: string, organization: string, extra: string) =>
  `  ${name}: { organization: ${organization}, cloud: simulated, simulator: { mailboxes: 4 ${extra} }, limits: { exo: 1 } }\n`;

describe('slots: first come, first served, and one tenant never holds up another', () => {
  it('grants a tenant’s slot to waiting runs in the order they were queued', async () => {
    harness = await createHarness({
      label: 'fifo',
      jobsYaml: (outputs) => `version: 1
defaults: { output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl] } }
tenants:
${tenantYaml('busy', 'fifo.onmicrosoft.com', ', latencyMs: 150')}
jobs:
  domains: { tenant: busy, cmdlet: Get-AcceptedDomain }
`,
    });
    // Two workers with eight slots each: every run is picked up at once and asks for the slot.
    await harness.startWorker();
    await harness.startWorker();
    const runIds: string[] = [];
    for (let index = 0; index < 6; index += 1) {
      runIds.push(await harness.enqueue('domains'));
      // The first run takes the slot; the others join the line while it holds it. The line is
      // ordered by queue time in milliseconds, so runs queued in the same one would tie.
      await new Promise((resolve) => setTimeout(resolve, index === 0 ? 60 : 3));
    }
    const manifests = await Promise.all(runIds.map((runId) => harness!.finished(runId)));
    const byStart = [...manifests].sort((a, b) => a.startedAt.localeCompare(b.startedAt)).map((manifest) => manifest.runId);
    expect(byStart).toEqual(runIds);
    expect(harness.simulator.recorder.stats('fifo.onmicrosoft.com', 'exo').peakInFlight).toBe(1);
  });

  it('runs a quiet tenant at once while another tenant’s runs wait for its single slot', async () => {
    harness = await createHarness({
      label: 'isolation',
      jobsYaml: (outputs) => `version: 1
defaults: { output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl] } }
tenants:
${tenantYaml('busy', 'busy.onmicrosoft.com', ', latencyMs: 400')}${tenantYaml('quiet', 'quiet.onmicrosoft.com', ', latencyMs: 50')}
jobs:
  busy-domains: { tenant: busy, cmdlet: Get-AcceptedDomain }
  quiet-domains: { tenant: quiet, cmdlet: Get-AcceptedDomain }
`,
    });
    const busy: string[] = [];
    for (let index = 0; index < 8; index += 1) busy.push(await harness.enqueue('busy-domains'));
    const quiet = await harness.enqueue('quiet-domains');
    await harness.startWorker({ concurrency: 4 });
    const quietManifest = await harness.finished(quiet);
    const busyManifests = await Promise.all(busy.map((runId) => harness!.finished(runId)));
    // Eight 400 ms runs through one slot take 3.2 s or more; the quiet tenant did not wait for them.
    // (Measured against the busy runs, not the clock: on a loaded machine everything is slower.)
    const lastBusyEnd = Math.max(...busyManifests.map((manifest) => Date.parse(manifest.endedAt)));
    expect(Date.parse(quietManifest.endedAt)).toBeLessThan(lastBusyEnd - 1_000);
  });
});

describe('throttling: a shared cool-down', () => {
  it('keeps every worker from calling a tenant until its Retry-After has passed', async () => {
    harness = await createHarness({
      label: 'cooldown',
      jobsYaml: (outputs) => `version: 1
defaults: { output: { directory: ${JSON.stringify(outputs)}, formats: [jsonl] } }
tenants:
  throttled: { organization: throttled.onmicrosoft.com, cloud: simulated, simulator: { mailboxes: 4, latencyMs: 30 }, limits: { exo: 2 } }
jobs:
  domains: { tenant: throttled, cmdlet: Get-AcceptedDomain }
`,
    });
    const organization = 'throttled.onmicrosoft.com';
    // Each worker's debug lines (requests sent, throttling read, cool-down news), for the causal count.
    const logs = ['', ''];
    const loggerFor = (index: number) =>
      createLogger({
        level: 'debug',
        destination: new Writable({
          write(chunk: Buffer, _encoding, done) {
            logs[index] += chunk.toString();
            done();
          },
        }),
      });
    await harness.startWorker({ logger: loggerFor(0) });
    await harness.startWorker({ logger: loggerFor(1) });
    // Provision first, then make every call fail for a moment with a one-second Retry-After.
    await harness.finished(await harness.enqueue('domains'));
    harness.simulator.recorder.reset();
    harness.simulator.configure({ faults: { throttleRate: 1, retryAfterSec: 1 } }, organization);
    const runIds: string[] = [];
    for (let index = 0; index < 6; index += 1) runIds.push(await harness.enqueue('domains'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    harness.simulator.configure({ faults: { throttleRate: 0 } }, organization);
    await Promise.all(runIds.map((runId) => harness!.finished(runId)));

    const calls = harness.simulator.recorder.calls();
    expect(calls.filter((call) => call.status === 429).length).toBeGreaterThan(0);
    // No worker sent a request while it knew of a running cool-down: one it read itself, or one
    // whose news reached it from the other worker. (Arrivals at the service inside a window can
    // still happen for requests that were on their way before the news could arrive; how many
    // depends on the machine's load, so they are not asserted here: bench/b5-throttling.ts reports them.)
    const causal = causalEarlyCalls(logs);
    expect(causal.answers).toBeGreaterThan(0);
    expect(causal.sent).toBeGreaterThan(0);
    expect(causal.early).toBe(0);
    // Both workers heard of cool-downs they did not read themselves.
    expect(causal.news).toBeGreaterThan(0);
    expect(harness.simulator.recorder.stats(organization, 'exo').peakInFlight).toBeLessThanOrEqual(2);
  });
});
