import { defaultRepeatStrategy } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { createSharedRepeatStrategy, desiredSchedules, forEachConcurrently, planReconcile } from '../../../src/scheduler/reconcile.js';

const config = (jobs: string) =>
  parseConfigText(
    `version: 1
tenants:
  demo: { organization: demo.onmicrosoft.com, cloud: simulated }
jobs:
${jobs}`,
    'jobs.yaml',
    '/tmp/jobs.yaml',
  );

describe('reconcile', () => {
  const base = config(`  a: { schedule: "0 2 * * *", timezone: Europe/Berlin, tenant: demo, cmdlet: Get-Mailbox }
  b: { schedule: "*/5 * * * * *", tenant: demo, cmdlet: Get-Recipient }
  manual: { tenant: demo, cmdlet: Get-AcceptedDomain }
  off: { schedule: "0 3 * * *", enabled: false, tenant: demo, cmdlet: Get-Mailbox }
`);

  it('wants one scheduler per enabled job with a schedule', () => {
    expect(desiredSchedules(base).map((s) => [s.id, s.pattern, s.tz])).toEqual([
      ['a', '0 2 * * *', 'Europe/Berlin'],
      ['b', '*/5 * * * * *', 'UTC'],
    ]);
  });

  it('creates what is missing, removes what is gone and leaves unchanged schedulers alone', () => {
    const desired = desiredSchedules(base);
    const a = desired[0]!;
    const plan = planReconcile(desired, [
      { id: 'a', pattern: a.pattern, tz: a.tz, hash: a.hash },
      { id: 'deleted', pattern: '* * * * *', tz: 'UTC', hash: 'x' },
    ]);
    expect(plan.unchanged).toEqual(['a']);
    expect(plan.upsert.map((s) => s.id)).toEqual(['b']);
    expect(plan.remove).toEqual(['deleted']);
  });

  it('updates a scheduler when its definition changes even if the schedule does not', () => {
    const changed = config(`  a: { schedule: "0 2 * * *", timezone: Europe/Berlin, tenant: demo, cmdlet: Get-Mailbox, select: [DisplayName] }
`);
    const before = desiredSchedules(base)[0]!;
    const plan = planReconcile(desiredSchedules(changed), [{ id: 'a', pattern: before.pattern, tz: before.tz, hash: before.hash }]);
    expect(plan.upsert.map((s) => s.id)).toEqual(['a']);
  });
});

describe('applying a reconcile plan', () => {
  it('runs every item with at most the given number in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const done: number[] = [];
    await forEachConcurrently(
      Array.from({ length: 50 }, (_, index) => index),
      8,
      async (item) => {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        await new Promise((resolve) => setTimeout(resolve, item % 3));
        inFlight -= 1;
        done.push(item);
      },
    );
    expect(peak).toBe(8);
    expect([...done].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, index) => index));
  });

  it('stops taking new items after a failure and rejects with it once the running ones settle', async () => {
    const started: number[] = [];
    const failure = forEachConcurrently([1, 2, 3, 4, 5, 6], 2, async (item) => {
      started.push(item);
      // Item 2 fails while item 1 is still running; item 1 then ends and takes nothing new.
      await new Promise((resolve) => setTimeout(resolve, item === 1 ? 30 : 1));
      if (item === 2) throw new Error('redis said no');
    });
    await expect(failure).rejects.toThrow('redis said no');
    expect(started).toEqual([1, 2]);
  });

  it('shares first fire times between schedulers of one pattern and zone, and agrees with BullMQ', async () => {
    const strategy = createSharedRepeatStrategy();
    const start = Date.parse('2027-03-27T12:00:00Z');
    for (const [pattern, tz] of [
      ['0 30 2 * * *', 'Europe/Berlin'],
      ['0 22 * * 5L', 'Asia/Tokyo'],
      ['*/15 * * * *', 'UTC'],
    ] as const) {
      // Many upserts in a row, a few milliseconds apart, then one past the first fire time.
      for (const offset of [0, 1, 7, 999, 60_000, 86_400_000]) {
        const millis = start + offset;
        expect(await strategy(millis, { pattern, tz })).toBe(defaultRepeatStrategy(millis, { pattern, tz }));
      }
    }
    // Options beyond pattern and zone are not shared.
    const withStart = { pattern: '0 2 * * *', tz: 'UTC', startDate: start + 10 * 86_400_000 };
    expect(await strategy(start, withStart)).toBe(defaultRepeatStrategy(start, withStart));
  });
});
