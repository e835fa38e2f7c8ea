import { describe, expect, it } from 'vitest';
import { configProblems } from '../../support/config-problems.js';
import { parseConfigText } from '../../../src/config/load.js';
import { checkTenantGroups, resolveTenantSelection } from '../../../src/config/tenant-selection.js';

const problems = configProblems;

const tenants = `version: 1
tenants:
  alpha: { organization: alpha.onmicrosoft.com, cloud: simulated }
  bravo: { organization: bravo.onmicrosoft.com, cloud: simulated }
  charlie: { organization: charlie.onmicrosoft.com, cloud: simulated }
tenantGroups:
  customers: [alpha, bravo]
  everyone: [group:customers, charlie]
`;

describe('jobs.yaml job language', () => {
  it('refuses a Set- step without allowWrite at its file:line:col', () => {
    const text = `${tenants}jobs:
  fix:
    tenant: alpha
    steps:
      - { name: mailboxes, cmdlet: Get-Mailbox }
      - name: hide
        forEach: mailboxes
        cmdlet: Set-Mailbox
        parameters: { Identity: "\${item.Alias}", HiddenFromAddressListsEnabled: true }
`;
    expect(problems(text)).toEqual([
      "jobs.yaml:16:17 jobs.fix.steps[1].cmdlet: 'Set-Mailbox' can change the tenant; only Get-, Search-, Test-, Export- cmdlets run without allowWrite: true on the job",
    ]);
    expect(problems(text.replace('    tenant: alpha', '    tenant: alpha\n    allowWrite: true'))).toEqual([]);
  });

  it('reports unknown template names, misplaced item and window, and bad forEach at their lines', () => {
    const text = `${tenants}jobs:
  audit:
    tenant: alpha
    steps:
      - name: log
        cmdlet: Search-AdminAuditLog
        parameters: { StartDate: "\${window.start}", EndDate: "\${nwo}", ObjectIds: ["\${item.Alias}"] }
      - { name: perms, forEach: later, cmdlet: Get-MailboxPermission }
      - { name: perms, cmdlet: Get-Mailbox }
`;
    expect(problems(text)).toEqual([
      "jobs.yaml:15:34 jobs.audit.steps[0].parameters.StartDate: '${window.start}' needs initialWindow on the job (the length of the first run's window, e.g. initialWindow: 1d)",
      "jobs.yaml:15:62 jobs.audit.steps[0].parameters.EndDate: unknown name 'nwo' in '${nwo}' (known: item.<Property>, tenant.name, tenant.organization, tenant.tenantId, run.id, job.name, now, window.start, window.end)",
      "jobs.yaml:15:84 jobs.audit.steps[0].parameters.ObjectIds[0]: '${item.Alias}' reads a forEach item, but this step has no forEach",
      "jobs.yaml:16:33 jobs.audit.steps[1].forEach: must name an earlier step; 'later' is not one (earlier steps: log)",
      "jobs.yaml:17:17 jobs.audit.steps[2].name: duplicate step name 'perms'",
    ]);
  });

  it('resolves tenants, groups and exclusions, and reports unknown ones', () => {
    const config = parseConfigText(
      `${tenants}jobs:\n  report:\n    tenants: [group:everyone]\n    excludeTenants: [bravo]\n    cmdlet: Get-Mailbox\n`,
      'jobs.yaml',
      '/tmp/jobs.yaml',
    );
    expect(config.jobs['report']?.tenants).toEqual(['alpha', 'charlie']);
    expect(problems(`${tenants}jobs:\n  report:\n    tenants: [alpha, group:vendors, delta]\n    cmdlet: Get-Mailbox\n`)).toEqual([
      "jobs.yaml:11:22 jobs.report.tenants[1]: unknown tenant group 'vendors' (tenantGroups: customers, everyone)",
      "jobs.yaml:11:37 jobs.report.tenants[2]: unknown tenant 'delta' (defined: alpha, bravo, charlie)",
    ]);
    expect(problems(`${tenants}jobs:\n  report:\n    tenant: alpha\n    tenants: [all]\n    cmdlet: Get-Mailbox\n`)).toEqual([
      'jobs.yaml:12:14 jobs.report.tenants: give either tenant (one tenant) or tenants (a list), not both',
    ]);
  });

  it('expands nested groups in order and detects cycles', () => {
    expect(resolveTenantSelection(['all'], ['group:a'], ['x', 'y', 'z'], { a: ['group:b'], b: ['y'] }).tenants).toEqual(['x', 'z']);
    // A cycle is the groups' mistake, reported once at the member that closes it; a job using the group gets what it can.
    expect(checkTenantGroups(['x'], { a: ['group:b', 'x'], b: ['group:a'] })).toEqual([
      { group: 'b', index: 0, message: "tenant group 'a' includes itself (a → b → a)" },
    ]);
    expect(resolveTenantSelection(['group:a'], [], ['x'], { a: ['group:b', 'x'], b: ['group:a'] })).toEqual({ tenants: ['x'], problems: [] });
    expect(resolveTenantSelection(['x'], ['x'], ['x'], {}).problems[0]?.message).toBe('leaves no tenant to run for');
  });

  it('normalises steps: service and formats from the job, jsonl added to forEach sources', () => {
    const config = parseConfigText(
      `${tenants}jobs:
  perms:
    tenant: alpha
    output: { formats: [csv] }
    maxItemFailures: 5%
    overlap: skip
    retry: { attempts: 5, backoff: 30s }
    steps:
      - { name: boxes, cmdlet: Get-Mailbox }
      - { name: perms, forEach: boxes, cmdlet: Get-MailboxPermission, parameters: { Identity: "\${item.Alias}" } }
`,
      'jobs.yaml',
      '/tmp/jobs.yaml',
    );
    const job = config.jobs['perms']!;
    expect(job.steps.map((step) => [step.name, step.service, step.formats])).toEqual([
      ['boxes', 'exo', ['csv', 'jsonl']],
      ['perms', 'exo', ['csv']],
    ]);
    expect(job).toMatchObject({ namedSteps: true, maxItemFailures: { percent: 5 }, overlap: 'skip', retry: { attempts: 5, backoffMs: 30_000 } });
  });
});
