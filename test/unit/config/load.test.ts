import path from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configProblems } from '../../support/config-problems.js';
import { checkConfigText, parseConfigText } from '../../../src/config/load.js';
import { problemsOf } from '../../../src/config/problems.js';
import { isAppError } from '../../../src/core/errors.js';

const fixture = (name: string): string => readFileSync(path.join(import.meta.dirname, '../../fixtures/config', name), 'utf8');

const problems = configProblems;

const minimal = `version: 1
tenants:
  demo:
    organization: demo.onmicrosoft.com
    cloud: simulated
jobs:
  inventory:
    schedule: "0 0 2 * * *"
    tenant: demo
    cmdlet: Get-Mailbox
`;

describe('jobs.yaml loading', () => {
  it('reports every mistake of a file at once, each at its line and column', () => {
    expect(problems(fixture('several-mistakes.yaml'))).toEqual([
      "jobs.yaml:3:3 defaults.timeZone: unknown key 'timeZone' (did you mean 'timezone'?)",
      "jobs.yaml:8:3 tenants.contoso.auth: is required for cloud 'commercial' (type: certificate, clientId, certificate.path)",
      'jobs.yaml:9:19 tenants.contoso.organization: must be a domain such as contoso.onmicrosoft.com',
      'jobs.yaml:13:15 jobs.inventory.schedule: is not a valid cron expression: Constraint error, got value 61 expected range 0-59',
      'jobs.yaml:14:15 jobs.inventory.timezone: is not an IANA time zone (examples: UTC, Europe/Berlin, America/New_York)',
      "jobs.yaml:15:13 jobs.inventory.tenant: unknown tenant 'demoo' (did you mean 'demo'?)",
      "jobs.yaml:17:14 jobs.inventory.service: must be one of exo, ipps; got 'exchange'",
      "jobs.yaml:21:13 jobs.cleanup.cmdlet: 'Remove-Mailbox' can change the tenant; only Get-, Search-, Test-, Export- cmdlets run without allowWrite: true on the job",
      "jobs.yaml:23:5 jobs.cleanup.outputs: unknown key 'outputs' (did you mean 'output'?)",
      'jobs.yaml:24:3 jobs.nothing.cmdlet: is required (or steps: a list of cmdlets run in order)',
    ]);
  });

  it('accepts a write cmdlet when the job allows writes', () => {
    const text = minimal.replace('cmdlet: Get-Mailbox', 'cmdlet: Set-Mailbox\n    allowWrite: true');
    expect(problems(text)).toEqual([]);
  });

  it('names the first definition of a duplicated job', () => {
    const text = `${minimal}  inventory:\n    tenant: demo\n    cmdlet: Get-Recipient\n`;
    expect(problems(text)).toEqual(["jobs.yaml:11:3 jobs.inventory: duplicate job name 'inventory' (first defined at line 7)"]);
  });

  it('reports YAML syntax errors with their position and nothing else', () => {
    expect(problems('version: 1\ntenants:\n  a: [\njobs: {}\n')).toEqual([
      'jobs.yaml:4:1 YAML syntax: Flow sequence in block collection must be sufficiently indented and end with a ]',
    ]);
  });

  it('rejects cron expressions exorun cannot schedule the same way on every replica', () => {
    const withSchedule = (schedule: string): string[] => problems(minimal.replace('"0 0 2 * * *"', `"${schedule}"`));
    expect(withSchedule('H 2 * * *')[0]).toMatch(/'H' \(random\) values are not supported/);
    expect(withSchedule('* * * *')[0]).toMatch(/must have 5 fields .* got 4/);
    expect(withSchedule('0 30 6 * * MON,THU')).toEqual([]);
    expect(withSchedule('@daily')).toEqual([]);
  });

  it('requires version, tenants and jobs in an empty file', () => {
    expect(problems('')).toEqual(['jobs.yaml:1:1 version: is required', 'jobs.yaml:1:1 tenants: is required', 'jobs.yaml:1:1 jobs: is required']);
  });

  it('rejects secrets written inline where a reference is expected', () => {
    const text = `version: 1
tenants:
  contoso:
    organization: contoso.onmicrosoft.com
    auth:
      type: certificate
      clientId: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
      certificate:
        path: ./cert.pfx
        password: hunter2
jobs: {}
`;
    const found = problems(text);
    expect(found).toEqual([
      'jobs.yaml:10:19 tenants.contoso.auth.certificate.password: looks like a secret written inline; use `{ env: NAME }` or `{ file: path }` (the value is not shown)',
    ]);
    expect(found.join('\n')).not.toContain('hunter2');
  });

  it('applies defaults, resolves paths against the file and freezes the result', () => {
    const config = parseConfigText(
      `version: 1
defaults:
  timezone: Europe/Berlin
  limits: { exo: 2 }
tenants:
  contoso:
    organization: Contoso.onmicrosoft.com
    auth:
      type: certificate
      clientId: 3F2504E0-4F89-11D3-9A0C-0305E82C3301
      certificate: { path: certs/app.pfx, password: { env: PFX_PASSWORD } }
    limits: { ipps: 1 }
jobs:
  inventory:
    schedule: "0 2 * * *"
    tenant: contoso
    cmdlet: Get-Mailbox
    output: { directory: /srv/reports }
`,
      'jobs.yaml',
      '/etc/exorun/jobs.yaml',
    );
    const tenant = config.tenants['contoso']!;
    expect(tenant).toMatchObject({ organization: 'contoso.onmicrosoft.com', cloud: 'commercial', limits: { exo: 2, ipps: 1 } });
    expect(tenant.auth).toEqual({
      type: 'certificate',
      clientId: '3f2504e0-4f89-11d3-9a0c-0305e82c3301',
      certificatePath: '/etc/exorun/certs/app.pfx',
      password: { env: 'PFX_PASSWORD' },
      sendX5c: false,
    });
    expect(config.jobs['inventory']).toMatchObject({
      timezone: 'Europe/Berlin',
      tenants: ['contoso'],
      steps: [{ name: 'Get-Mailbox', service: 'exo', cmdlet: 'Get-Mailbox', parameters: {}, formats: ['jsonl', 'csv'], pageSize: 1000 }],
      namedSteps: false,
      enabled: true,
      timeoutMs: 3_600_000,
      allowWrite: false,
      overlap: 'allow',
      maxItemFailures: { count: 0 },
      retry: { attempts: 3, backoffMs: 10_000 },
      output: { directory: '/srv/reports', formats: ['jsonl', 'csv'] },
    });
    expect(config.outputDirectory).toBe('/etc/exorun/outputs');
    expect(Object.isFrozen(config.jobs['inventory']!.output)).toBe(true);
  });

  it('throws CFG_JOBS_INVALID carrying every problem', () => {
    try {
      parseConfigText(fixture('several-mistakes.yaml'), 'jobs.yaml', '/x/jobs.yaml');
      expect.unreachable();
    } catch (error) {
      expect(isAppError(error) && error.code).toBe('CFG_JOBS_INVALID');
      expect(problemsOf(error as never)).toHaveLength(10);
    }
  });

  it('accepts the sample jobs.yaml shipped with the project', () => {
    const file = path.join(import.meta.dirname, '../../../jobs.yaml');
    const result = checkConfigText(readFileSync(file, 'utf8'), 'jobs.yaml', file);
    expect(result.ok ? Object.keys(result.config.jobs).length : result.problems).toBeGreaterThan(3);
  });
});
