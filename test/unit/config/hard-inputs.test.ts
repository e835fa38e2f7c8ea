import { describe, expect, it } from 'vitest';
import { checkConfigText, parseConfigText } from '../../../src/config/load.js';
import { formatProblem, formatWarning, printable } from '../../../src/config/problems.js';

/*
 * Issue #10: mistaken jobs.yaml files tried from the outside. Each class of mistake gets an answer
 * at file:line:col, never an exception; see test/integration/cli/hard-inputs.test.ts for the same
 * classes through `exorun validate` and `exorun next`.
 */

/** A fixed "now", so checks that look a year ahead (daylight saving) give the same answer every day. */
const NOW = Date.parse('2026-11-22T00:00:00Z');

function check(text: string): { problems: string[]; warnings: string[] } {
  const result = checkConfigText(text, 'jobs.yaml', '/etc/exorun/jobs.yaml', { nowMs: NOW });
  return { problems: result.ok ? [] : result.problems.map(formatProblem), warnings: result.warnings.map(formatWarning) };
}
const problems = (text: string): string[] => check(text).problems;
const warnings = (text: string): string[] => check(text).warnings;

const demo = `version: 1
tenants:
  demo:
    organization: demo.onmicrosoft.com
    cloud: simulated
jobs:
`;
/** A file with one job `j` for tenant demo, with `lines` added to the job (4 spaces in). */
const job = (...lines: string[]): string => `${demo}  j:\n    tenant: demo\n    cmdlet: Get-Mailbox\n${lines.map((line) => `    ${line}\n`).join('')}`;

describe('aliases and anchors', () => {
  it('says an unquoted */15 schedule is read as an alias, and what to write', () => {
    expect(problems(job('schedule: */15 * * * *'))).toEqual([
      `jobs.yaml:10:15 jobs.j.schedule: '*/15 * * * *' starts with '*', which YAML reads as an alias (a reference to an &anchor); put the value in quotes: "*/15 * * * *"`,
    ]);
  });

  it('reports an alias to a missing anchor at the alias', () => {
    expect(problems(job('timezone: *zone'))).toEqual([
      'jobs.yaml:10:15 jobs.j.timezone: alias *zone refers to no anchor: define &zone on a value before this line',
    ]);
  });

  it('refuses an alias bomb at the alias that passes the limit', () => {
    const levels = ['  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (const [index, name] of [...'bcdefghi'].entries()) {
      const previous = 'abcdefghi'[index] as string;
      levels.push(`  ${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
    }
    const found = problems(`version: 1\nx-lol:\n${levels.join('\n')}\ntenants: {}\njobs: {}\n`);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^jobs\.yaml:9:\d+ x-lol\.g\[\d\]: aliases expand this file to more than 2,000,000 values/);
  });

  it('refuses an alias inside the value it refers to (a cycle) instead of building an endless value', () => {
    expect(problems(`version: 1\nx-loop: &loop\n  again: *loop\ntenants: {}\njobs: {}\n`)).toEqual([
      'jobs.yaml:3:10 x-loop.again: alias *loop is inside the value it refers to (&loop), which would make it endless',
    ]);
  });

  it('accepts a valid file that uses one anchor more than 100 times', () => {
    const jobs = Array.from({ length: 150 }, (_, index) => `  j${index}: *base`).join('\n');
    const text = `version: 1\ntenants:\n  demo: { organization: demo.onmicrosoft.com, cloud: simulated }\nx-base: &base\n  tenant: demo\n  cmdlet: Get-Mailbox\njobs:\n${jobs}\n`;
    const config = parseConfigText(text, 'jobs.yaml', '/etc/exorun/jobs.yaml');
    expect(Object.keys(config.jobs)).toHaveLength(150);
    expect(config.jobs['j149']?.steps[0]?.cmdlet).toBe('Get-Mailbox');
  });
});

describe('merge keys', () => {
  const merged = (jobLines: string): string => `version: 1
x-nightly: &nightly
  tenant: demo
  cmdlet: Get-Mailbox
  timezone: Europe/Berlin
  parameters: { ResultSize: Unlimited }
tenants:
  demo: { organization: demo.onmicrosoft.com, cloud: simulated }
jobs:
  inventory:
    <<: *nightly
${jobLines}`;

  it('merges a shared map into a job; the job’s own keys win', () => {
    const config = parseConfigText(merged('    schedule: "0 3 * * *"\n    timezone: UTC\n'), 'jobs.yaml', '/etc/exorun/jobs.yaml');
    expect(config.jobs['inventory']).toMatchObject({ timezone: 'UTC', schedule: '0 3 * * *', tenants: ['demo'] });
    expect(config.jobs['inventory']?.steps[0]?.parameters).toEqual({ ResultSize: 'Unlimited' });
  });

  it('reports a mistake in a merged value where it is written, and one in the job at the job', () => {
    const text = merged('    pageSize: 5000\n').replace('timezone: Europe/Berlin', 'timezone: Europe/Berlinn');
    expect(problems(text)).toEqual([
      'jobs.yaml:5:13 jobs.inventory.timezone: is not an IANA time zone (examples: UTC, Europe/Berlin, America/New_York)',
      'jobs.yaml:12:15 jobs.inventory.pageSize: must be at most 1000; got 5000',
    ]);
  });

  it('refuses a merge of something that is not a map', () => {
    expect(problems(job('<<: 5'))).toEqual(['jobs.yaml:10:9 jobs.j: << (merge) takes a map or an alias of one, such as <<: *defaults, or a list of them']);
  });
});

describe('names', () => {
  it('keeps names to ASCII and says which letter is not', () => {
    expect(problems(`${demo}  résumé:\n    tenant: demo\n    cmdlet: Get-Mailbox\n`)).toEqual([
      `jobs.yaml:7:3 jobs["résumé"]: name 'résumé' must use ASCII letters (A-Z, a-z), digits, "-" and "_", starting with a letter or digit, at most 64 characters — 'é' is not an ASCII letter; a readable title can go in description`,
    ]);
  });

  it('refuses job, tenant and step names that differ only by case, at the later name', () => {
    expect(problems(`${demo}  inventory:\n    tenant: demo\n    cmdlet: Get-Mailbox\n  Inventory:\n    tenant: demo\n    cmdlet: Get-Mailbox\n`)).toEqual([
      "jobs.yaml:10:3 jobs.Inventory: job name 'Inventory' differs from 'inventory' (line 7) only by case; names must differ by more than case (they would share files on case-insensitive file systems and Redis keys)",
    ]);
    expect(
      problems(
        'version: 1\ntenants:\n  demo: { organization: a.onmicrosoft.com, cloud: simulated }\n  DEMO: { organization: b.onmicrosoft.com, cloud: simulated }\njobs: {}\n',
      ),
    ).toEqual([
      "jobs.yaml:4:3 tenants.DEMO: tenant name 'DEMO' differs from 'demo' (line 3) only by case; names must differ by more than case (they would share files on case-insensitive file systems and Redis keys)",
    ]);
    expect(
      problems(`${demo}  j:\n    tenant: demo\n    steps:\n      - { name: boxes, cmdlet: Get-Mailbox }\n      - { name: Boxes, cmdlet: Get-Mailbox }\n`),
    ).toEqual([
      "jobs.yaml:11:17 jobs.j.steps[1].name: step name 'Boxes' differs from 'boxes' only by case; names must differ by more than case (their output files would collide on case-insensitive file systems)",
    ]);
  });
});

describe('accepted before, wrong', () => {
  it('refuses schedules that never fire', () => {
    expect(problems(job('schedule: "0 0 30 2 *"'))).toEqual(['jobs.yaml:10:15 jobs.j.schedule: never fires: February has no day 30']);
    expect(problems(job('schedule: "0 0 31 2,4 *"'))).toEqual(['jobs.yaml:10:15 jobs.j.schedule: never fires: February and April have no day 31']);
    // Rare is not never: 29 February, the last day of February, or day 30 on any Monday in February.
    expect(problems(job('schedule: "0 0 29 2 *"'))).toEqual([]);
    expect(problems(job('schedule: "0 0 L 2 *"'))).toEqual([]);
    expect(problems(job('schedule: "0 0 30 2 MON"'))).toEqual([]);
  });

  it('refuses a zero timeout and a share of failures over 100 %', () => {
    expect(problems(job('timeout: 0'))).toEqual(['jobs.yaml:10:14 jobs.j.timeout: must be longer than 0 (e.g. 30s, 5m, 2h)']);
    expect(problems(job('timeout: 0s'))).toEqual(['jobs.yaml:10:14 jobs.j.timeout: must be longer than 0 (e.g. 30s, 5m, 2h)']);
    expect(problems(job('maxItemFailures: 150%'))).toEqual(['jobs.yaml:10:22 jobs.j.maxItemFailures: must be a share of at most 100%']);
    expect(problems(job('maxItemFailures: 100%'))).toEqual([]);
    expect(problems(job('maxItemFailures: lots'))).toEqual(['jobs.yaml:10:22 jobs.j.maxItemFailures: must be a count such as 10 or a share such as 5%']);
  });

  it('refuses numbers JSON cannot carry, wherever they are in the parameters', () => {
    expect(problems(job('parameters:', '  ResultSize: 1e400', '  Ids: [1, .nan, -.inf]'))).toEqual([
      'jobs.yaml:11:19 jobs.j.parameters.ResultSize: is not a finite number (Infinity); JSON cannot carry it and it would be sent as null',
      'jobs.yaml:12:16 jobs.j.parameters.Ids[1]: is not a finite number (NaN); JSON cannot carry it and it would be sent as null',
      'jobs.yaml:12:22 jobs.j.parameters.Ids[2]: is not a finite number (-Infinity); JSON cannot carry it and it would be sent as null',
    ]);
  });

  it('refuses the same parameter twice in different case', () => {
    expect(problems(job('parameters:', '  ResultSize: Unlimited', '  resultsize: 10'))).toEqual([
      "jobs.yaml:12:7 jobs.j.parameters.resultsize: parameter 'resultsize' is 'ResultSize' again (parameter names are case-insensitive); give it once",
    ]);
  });

  it('blames an unknown group member on the group, once, not on each job that uses the group', () => {
    const text = `version: 1
tenants:
  demo: { organization: demo.onmicrosoft.com, cloud: simulated }
tenantGroups:
  customers: [demo, demmo]
  loop: [group:customers, group:loop]
jobs:
  a: { tenants: [group:customers], cmdlet: Get-Mailbox }
  b: { tenants: [group:customers], cmdlet: Get-Recipient }
`;
    expect(problems(text)).toEqual([
      "jobs.yaml:5:21 tenantGroups.customers[1]: unknown tenant 'demmo' (defined: demo)",
      "jobs.yaml:6:27 tenantGroups.loop[1]: tenant group 'loop' includes itself (loop → loop)",
    ]);
  });

  it('treats Search-Mailbox -DeleteContent as a write, whatever the case of the parameter', () => {
    expect(
      problems(job('cmdlet: Search-Mailbox', 'parameters: { SearchQuery: "subject:x", deletecontent: true }').replace('    cmdlet: Get-Mailbox\n', '')),
    ).toEqual([
      "jobs.yaml:10:45 jobs.j.parameters.deletecontent: deletecontent makes 'Search-Mailbox' change the tenant (it deletes or copies mailbox content); it runs only with allowWrite: true on the job",
    ]);
    const allowed = job('cmdlet: Search-Mailbox', 'allowWrite: true', 'parameters: { DeleteContent: true }').replace('    cmdlet: Get-Mailbox\n', '');
    expect(problems(allowed)).toEqual([]);
    expect(problems(job('cmdlet: Search-Mailbox', 'parameters: { DeleteContent: false }').replace('    cmdlet: Get-Mailbox\n', ''))).toEqual([]);
  });
});

describe('secrets and unreadable text', () => {
  it('never quotes a secret written inline, whatever its type', () => {
    for (const value of ['hunter2', '123456', '"s3cr3t-with-quotes"']) {
      const text = `version: 1
tenants:
  contoso:
    organization: contoso.onmicrosoft.com
    auth:
      type: certificate
      clientId: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
      certificate: { path: ./app.pfx, password: ${value} }
jobs: {}
`;
      const found = problems(text);
      expect(found).toEqual([
        'jobs.yaml:8:49 tenants.contoso.auth.certificate.password: looks like a secret written inline; use `{ env: NAME }` or `{ file: path }` (the value is not shown)',
      ]);
      expect(found.join('\n')).not.toContain(value.replace(/"/g, ''));
    }
  });

  it('reports control characters at their position, escaped, and escapes them in every message', () => {
    const found = problems(job('description: "red \u001b[31malert"'));
    expect(found).toEqual([
      'jobs.yaml:10:23 contains the control character \\x1b, which YAML does not allow; remove it (write it as an escape in a double-quoted string if it is meant)',
    ]);
    // A value that holds one through a YAML escape (\e) is quoted escaped.
    const escaped = problems(job('service: "ex\\eo"'));
    expect(escaped).toEqual(["jobs.yaml:10:14 jobs.j.service: must be one of exo, ipps; got 'ex\\x1bo'"]);
    // eslint-disable-next-line no-control-regex -- the point: no raw control byte may appear
    expect([...found, ...escaped].join('')).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(printable('a\u202eb\nc')).toBe('a\\u202eb\\x0ac');
  });

  it('answers odd YAML with a problem, not an exception', () => {
    expect(problems('['.repeat(20_000))).toEqual([expect.stringMatching(/^jobs\.yaml:1:\d+ YAML syntax: the file is nested too deeply to read$/)]);
    expect(problems('version: 1\n---\nversion: 1\n')).toEqual([
      'jobs.yaml:2:1 YAML syntax: the file holds more than one YAML document (a second ---); jobs.yaml is one document',
    ]);
    expect(problems(job('description: !!binary aGVsbG8='))).toEqual(['jobs.yaml:10:27 jobs.j.description: expected string, got binary data (!!binary)']);
  });
});

describe('warnings', () => {
  it('says a bare number duration is milliseconds', () => {
    expect(check(job('timeout: 90'))).toEqual({
      problems: [],
      warnings: [
        'jobs.yaml:10:14 jobs.j.timeout: warning: a number without a unit is read as milliseconds (90 ms); write 90ms to keep that, or give a unit such as 90s or 90m',
      ],
    });
    expect(warnings(job('missedRunGrace: 300000'))).toEqual([
      'jobs.yaml:10:21 jobs.j.missedRunGrace: warning: a number without a unit is read as milliseconds (300000 ms = 5m); write 5m',
    ]);
    expect(warnings(job('timeout: 90s', 'retry: { backoff: 500 }'))).toEqual([
      'jobs.yaml:11:23 jobs.j.retry.backoff: warning: a number without a unit is read as milliseconds (500 ms); write 500ms to keep that, or give a unit such as 500s or 500m',
    ]);
  });

  it('names time zones without daylight-saving rules and deprecated aliases', () => {
    expect(warnings(job('timezone: EST'))).toEqual([
      "jobs.yaml:10:15 jobs.j.timezone: warning: 'EST' is a fixed offset (UTC-05:00) with no daylight-saving rules; for local time write a Region/City zone such as America/New_York",
    ]);
    expect(warnings(job('timezone: US/Eastern'))).toEqual([
      "jobs.yaml:10:15 jobs.j.timezone: warning: 'US/Eastern' is a deprecated time zone alias; write America/New_York",
    ]);
    expect(warnings(job('timezone: Etc/GMT+5'))).toEqual([
      "jobs.yaml:10:15 jobs.j.timezone: warning: 'Etc/GMT+5' is a fixed offset of UTC-5 (the sign is inverted in Etc/ names) with no daylight-saving rules",
    ]);
    expect(warnings(job('timezone: Europe/Berlin', 'schedule: "0 4 * * *"'))).toEqual([]);
    expect(warnings(job('timezone: UTC'))).toEqual([]);
  });

  it('says when a fire time falls in the hour the clocks skip, and what happens instead', () => {
    expect(warnings(job('timezone: Europe/Berlin', 'schedule: "30 2 * * *"'))).toEqual([
      'jobs.yaml:11:15 jobs.j.schedule: warning: on 2027-03-28 the clocks in Europe/Berlin skip 02:00–03:00, so the 02:30 run fires at 03:30 that day (pick a time outside 02:00–03:00, or a zone without daylight saving such as UTC, to avoid it)',
    ]);
    // Not on a day of the week that misses the change, and not for schedules that fire every hour.
    expect(warnings(job('timezone: Europe/Berlin', 'schedule: "30 2 * * MON"'))).toEqual([]);
    expect(warnings(job('timezone: Europe/Berlin', 'schedule: "*/15 * * * *"'))).toEqual([]);
  });

  it('says PowerShell expressions are sent as text, but leaves filters alone', () => {
    expect(
      warnings(job('parameters:', '  IncludeInactiveMailbox: $true', '  StartDate: (Get-Date).AddDays(-1)', '  Filter: "LitigationHoldEnabled -eq $true"')),
    ).toEqual([
      "jobs.yaml:11:31 jobs.j.parameters.IncludeInactiveMailbox: warning: '$true' is sent as the text '$true', not as a boolean; write true (YAML's boolean)",
      "jobs.yaml:12:18 jobs.j.parameters.StartDate: warning: '(Get-Date).AddDays(-1)' is sent as text: PowerShell expressions are not evaluated (for times relative to the run use a template such as ${now - 1d})",
    ]);
  });

  it('says what is allowed but risky about tenants, notifications and outputs', () => {
    const text = `version: 1
defaults:
  limits: { exo: 5 }
tenants:
  contoso:
    organization: contoso.onmicrosoft.com
    auth: { type: delegated, account: admin@contoso.onmicrosoft.com }
    connectionUri: https://exo-proxy.example.net/powershell
    authority: https://login.microsoftonline.us/organizations
    limits: { ipps: 10 }
jobs:
  j:
    tenant: contoso
    cmdlet: Get-Mailbox
    output: { directory: ../elsewhere }
    notify: [{ url: "http://hooks.example.net/T0KEN" }]
`;
    const found = check(text);
    expect(found.problems).toEqual([]);
    expect(found.warnings).toEqual([
      'jobs.yaml:3:18 defaults.limits.exo: warning: 5 is above 3, the documented limit of open connections per account; the service may refuse or throttle calls beyond it',
      'jobs.yaml:8:20 tenants.contoso.connectionUri: warning: exo-proxy.example.net is not a Microsoft host; allowed (a proxy or a stand-in), but this is where calls and the token go',
      'jobs.yaml:10:21 tenants.contoso.limits.ipps: warning: 10 is above 3, the documented limit of open connections per account; the service may refuse or throttle calls beyond it',
      "jobs.yaml:15:26 jobs.j.output.directory: warning: is outside the outputs root /etc/exorun/outputs (defaults.output.directory); this job's files are written and pruned there — check that is meant",
      'jobs.yaml:16:21 jobs.j.notify[0].url: warning: sends notifications over plain http://, readable on the way; use https://',
    ]);
    expect(found.warnings.join('\n')).not.toContain('T0KEN');
  });
});

describe('tenant endpoint overrides', () => {
  const tenant = (lines: string): string =>
    `version: 1\ntenants:\n  gov:\n    organization: gov.onmicrosoft.com\n    auth: { type: delegated, account: admin@gov.onmicrosoft.com }\n${lines}jobs: {}\n`;

  it('keeps origins, with their ports, and a resource per service', () => {
    const config = parseConfigText(
      tenant(
        '    connectionUri: { exo: "https://sim.localhost:8444/adminapi", ipps: "https://sim.localhost:8445" }\n' +
          '    authority: https://sim.localhost:8443/organizations\n' +
          '    resource: { exo: "https://outlook.office365.us/", ipps: "https://ps.compliance.protection.office365.us" }\n',
      ),
      'jobs.yaml',
      '/etc/exorun/jobs.yaml',
    );
    expect(config.tenants['gov']?.overrides).toEqual({
      exoUrl: 'https://sim.localhost:8444',
      ippsUrl: 'https://sim.localhost:8445',
      authorityHost: 'https://sim.localhost:8443',
      exoResource: 'https://outlook.office365.us',
      ippsResource: 'https://ps.compliance.protection.office365.us',
    });
  });

  it('reads a bare resource URL as Exchange Online’s, and warns when it has no address to go with', () => {
    const text = tenant('    connectionUri: https://exo.contoso-proxy.net\n    resource: https://outlook.office365.com\n');
    expect(parseConfigText(text, 'jobs.yaml', '/etc/exorun/jobs.yaml').tenants['gov']?.overrides).toEqual({
      exoUrl: 'https://exo.contoso-proxy.net',
      exoResource: 'https://outlook.office365.com',
    });
    expect(warnings(tenant('    resource: { ipps: "https://ps.compliance.protection.outlook.com" }\n'))).toEqual([
      "jobs.yaml:6:23 tenants.gov.resource.ipps: warning: is set but connectionUri.ipps is not: the cloud's own ipps address would be asked for a token of another audience (set resource only with a custom connectionUri)",
    ]);
    expect(problems(tenant('    resource: http://outlook.office365.com\n'))).toEqual(['jobs.yaml:6:15 tenants.gov.resource: must be an https:// URL']);
  });
});
