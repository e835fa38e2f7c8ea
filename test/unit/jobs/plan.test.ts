import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { canonicalJson, hashJob, planRun } from '../../../src/jobs/plan.js';
import { runPayloadSchema } from '../../../src/queue/payload.js';

const config = parseConfigText(
  `version: 1
tenants:
  demo: { organization: demo.onmicrosoft.com, cloud: simulated }
jobs:
  inventory:
    schedule: "0 2 * * *"
    timezone: Europe/Berlin
    tenant: demo
    cmdlet: Get-Mailbox
    parameters: { ResultSize: Unlimited, RecipientTypeDetails: [UserMailbox, SharedMailbox] }
    select: [DisplayName]
`,
  'jobs.yaml',
  '/tmp/jobs.yaml',
);

describe('planRun', () => {
  it('gives scheduled runs an id derived from the fire time, so a duplicate tick queues once', () => {
    const fired = Date.parse('2026-11-23T01:00:00Z');
    const first = planRun(config, 'inventory', { trigger: 'schedule', firedAtMs: fired, nowMs: fired + 15 });
    const second = planRun(config, 'inventory', { trigger: 'schedule', firedAtMs: fired, nowMs: fired + 900 });
    expect(first.runId).toBe('inventory.demo.20261123T010000Z');
    expect(second.runId).toBe(first.runId);
    expect(first.scheduledFor).toBe('2026-11-23T01:00:00.000Z');
  });

  it('gives manual runs a nonce and no fire time', () => {
    const run = planRun(config, 'inventory', { trigger: 'manual', nowMs: Date.parse('2026-11-22T10:11:12Z'), nonce: 'abc123' });
    expect(run.runId).toBe('inventory.demo.20261122T101112Z-mabc123');
    expect(run.scheduledFor).toBeUndefined();
  });

  it('produces a valid version 2 queue payload with the definition snapshot and no secrets', () => {
    const run = planRun(config, 'inventory', { trigger: 'manual', nowMs: 0, nonce: 'x' });
    expect(runPayloadSchema.parse(run)).toEqual(run);
    expect(run.definition).toEqual({
      steps: [
        {
          name: 'Get-Mailbox',
          service: 'exo',
          cmdlet: 'Get-Mailbox',
          parameters: { ResultSize: 'Unlimited', RecipientTypeDetails: ['UserMailbox', 'SharedMailbox'] },
          select: ['DisplayName'],
          formats: ['jsonl', 'csv'],
          pageSize: 1000,
        },
      ],
      namedSteps: false,
      timeoutMs: 3_600_000,
      timezone: 'Europe/Berlin',
      allowWrite: false,
      maxItemFailures: { count: 0 },
      overlap: 'allow',
      retry: { attempts: 3, backoffMs: 10_000 },
    });
  });

  it('names the known jobs when asked for an unknown one', () => {
    expect(() => planRun(config, 'nope', { trigger: 'manual', nowMs: 0 })).toThrow(/No job named 'nope'.*jobs: inventory/);
  });

  it('hashes definitions independently of key order', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe('{"a":[{"c":3,"d":2}],"b":1}');
    expect(hashJob(config.jobs['inventory']!)).toMatch(/^[0-9a-f]{16}$/);
  });
});
