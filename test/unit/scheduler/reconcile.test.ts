import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/config/load.js';
import { desiredSchedules, planReconcile } from '../../../src/scheduler/reconcile.js';

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
