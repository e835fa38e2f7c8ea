import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCertificate } from '../../support/certificates.js';
import { spawnExorun } from '../../support/processes.js';

/*
 * Issue #10 through the real CLI: every hard jobs.yaml input gets an exit code and
 * `file:line:col path: message` lines — never a stack trace, a raw control byte or a secret.
 */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-hard-inputs-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function exorun(args: string[], env: Record<string, string> = {}): Promise<{ code: number | string; output: string }> {
  const child = spawnExorun(args, { LOG_LEVEL: 'warn', ...env });
  const code = await child.exited();
  return { code, output: child.output() };
}

async function file(name: string, content: string | Buffer): Promise<string> {
  const target = path.join(dir, name);
  await writeFile(target, content);
  return target;
}

/** What every answer must not contain: a stack frame, a raw control byte (other than line ends). */
function expectClean(output: string): void {
  expect(output).not.toMatch(/\n\s+at .+:\d+:\d+/);
  // eslint-disable-next-line no-control-regex -- the point: no raw control byte may appear
  expect(output).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
}

const demo = 'version: 1\ntenants:\n  demo: { organization: demo.onmicrosoft.com, cloud: simulated }\n';

describe('exorun validate on hard inputs', () => {
  it('reports an unquoted */15 schedule and an alias to a missing anchor at their lines (exit 2)', async () => {
    const jobs = await file('aliases.yaml', `${demo}jobs:\n  a:\n    tenant: *nothere\n    cmdlet: Get-Mailbox\n    schedule: */15 * * * *\n`);
    const { code, output } = await exorun(['validate', jobs]);
    expect(code).toBe(2);
    expect(output).toContain(`${jobs}:6:13 jobs.a.tenant: alias *nothere refers to no anchor: define &nothere on a value before this line`);
    expect(output).toContain(`${jobs}:8:15 jobs.a.schedule: '*/15 * * * *' starts with '*', which YAML reads as an alias`);
    expect(output).toContain(`${jobs}: 2 problems`);
    expectClean(output);
  });

  it('refuses an alias bomb (exit 2) and accepts a file using one anchor 150 times (exit 0)', async () => {
    const levels = ['  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let level = 1; level < 9; level += 1) {
      const name = 'abcdefghi'[level] as string;
      levels.push(
        `  ${name}: &${name} [${Array(9)
          .fill(`*${'abcdefghi'[level - 1]}`)
          .join(', ')}]`,
      );
    }
    const bomb = await file('bomb.yaml', `version: 1\nx-lol:\n${levels.join('\n')}\ntenants: {}\njobs: {}\n`);
    const refused = await exorun(['validate', bomb]);
    expect(refused.code).toBe(2);
    expect(refused.output).toMatch(new RegExp(`${bomb}:9:\\d+ x-lol\\.g\\[\\d\\]: aliases expand this file to more than 2,000,000 values`));
    expectClean(refused.output);

    const many = await file(
      'many-aliases.yaml',
      `${demo}x-base: &base\n  tenant: demo\n  cmdlet: Get-Mailbox\njobs:\n${Array.from({ length: 150 }, (_, index) => `  j${index}:\n    <<: *base\n    schedule: "0 ${index % 60} 4 * * *"`).join('\n')}\n`,
    );
    const accepted = await exorun(['validate', many]);
    expect(accepted.output).toContain(`${many} is valid: 150 job(s) (150 scheduled), 1 tenant(s)`);
    expect(accepted.code).toBe(0);
  });

  it('names UTF-16 and binary files, and escapes control bytes (exit 2)', async () => {
    const utf16 = await file('utf16.yaml', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${demo}jobs: {}\n`, 'utf16le')]));
    const binary = await file('binary.yaml', Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x4b, 0x4c]));
    const control = await file('control.yaml', `${demo}jobs:\n  a: { tenant: demo, cmdlet: Get-Mailbox, description: "\u001b]0;owned\u0007\u001b[2J" }\n`);
    const answers = await Promise.all([utf16, binary, control].map((target) => exorun(['validate', target])));
    expect(answers.map((answer) => answer.code)).toEqual([2, 2, 2]);
    expect(answers[0]?.output).toContain(`${utf16}:1:1 ${utf16} is UTF-16 encoded; save it as UTF-8`);
    expect(answers[1]?.output).toContain(`${binary}:1:1 ${binary} is not a text file (it contains NUL bytes); pass the jobs.yaml file`);
    expect(answers[2]?.output).toContain(`${control}:5:57 contains the control character \\x1b, which YAML does not allow`);
    for (const answer of answers) expectClean(answer.output);
  });

  it('refuses what it used to accept, at the right lines, without printing an inline secret (exit 2)', async () => {
    const jobs = await file(
      'accepted-but-wrong.yaml',
      `version: 1
tenants:
  contoso:
    organization: contoso.onmicrosoft.com
    auth:
      type: certificate
      clientId: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
      certificate: { path: ./app.pfx, password: Tr0ub4dor&3 }
jobs:
  purge:
    tenant: contoso
    cmdlet: Search-Mailbox
    schedule: "0 0 31 2,4 *"
    parameters: { SearchQuery: "subject:offer", DeleteContent: true }
  Purge:
    tenant: contoso
    cmdlet: Get-Mailbox
    timeout: 0
`,
    );
    const { code, output } = await exorun(['validate', jobs]);
    expect(code).toBe(2);
    expect(output.split('\n').filter((line) => line.startsWith(`${jobs}:`))).toEqual([
      `${jobs}:8:49 tenants.contoso.auth.certificate.password: looks like a secret written inline; use \`{ env: NAME }\` or \`{ file: path }\` (the value is not shown)`,
      `${jobs}:13:15 jobs.purge.schedule: never fires: February and April have no day 31`,
      `${jobs}:14:49 jobs.purge.parameters.DeleteContent: DeleteContent makes 'Search-Mailbox' change the tenant (it deletes or copies mailbox content); it runs only with allowWrite: true on the job`,
      `${jobs}:15:3 jobs.Purge: job name 'Purge' differs from 'purge' (line 10) only by case; names must differ by more than case (they would share files on case-insensitive file systems and Redis keys)`,
      `${jobs}:18:14 jobs.Purge.timeout: must be longer than 0 (e.g. 30s, 5m, 2h)`,
      `${jobs}: 5 problems`,
    ]);
    expect(output).not.toContain('Tr0ub4dor');
    expectClean(output);
  });

  it('prints warnings and exits 0: certificates that are expired, missing or locked with another password, unset secrets, bare durations', async () => {
    const expired = makeTestCertificate({ notBefore: new Date(Date.now() - 400 * 86_400_000), notAfter: new Date(Date.now() - 86_400_000) });
    await file('expired.pem', `${expired.certificatePem}${expired.privateKeyPem}`);
    await file('locked.pfx', makeTestCertificate().pfx('the-right-password'));
    const tenant = (name: string, certificate: string): string =>
      `  ${name}:\n    organization: ${name}.onmicrosoft.com\n    auth:\n      type: certificate\n      clientId: 3f2504e0-4f89-11d3-9a0c-0305e82c3301\n      certificate: ${certificate}\n`;
    const jobs = await file(
      'warnings.yaml',
      `version: 1\ntenants:\n${tenant('old', '{ path: ./expired.pem }')}${tenant('locked', '{ path: ./locked.pfx, password: { env: EXORUN_TEST_PFX } }')}${tenant(
        'unset',
        '{ path: ./locked.pfx, password: { env: EXORUN_TEST_UNSET } }',
      )}${tenant('gone', '{ path: ./gone.pem }')}jobs:\n  j: { tenant: old, cmdlet: Get-Mailbox, timeout: 90, timezone: EST }\n`,
    );
    const { code, output } = await exorun(['validate', jobs], { EXORUN_TEST_PFX: 'a-wrong-password' });
    expect(output).toMatch(new RegExp(`${jobs}:8:28 tenants\\.old\\.auth\\.certificate\\.path: warning: AUTH_CERT_EXPIRED: The certificate .* expired on `));
    expect(output).toContain(
      `${jobs}:14:52 tenants.locked.auth.certificate.password: warning: AUTH_CERT_PASSWORD: The PFX password for ${path.join(dir, 'locked.pfx')} is wrong.`,
    );
    expect(output).toContain(
      `${jobs}:20:52 tenants.unset.auth.certificate.password: warning: the environment variable EXORUN_TEST_UNSET (the certificate password) is not set`,
    );
    expect(output).toContain(
      `${jobs}:26:28 tenants.gone.auth.certificate.path: warning: AUTH_CERT_NOT_FOUND: Cannot read the certificate file ${path.join(dir, 'gone.pem')} (ENOENT).`,
    );
    expect(output).toContain(`${jobs}:28:51 jobs.j.timeout: warning: a number without a unit is read as milliseconds (90 ms)`);
    expect(output).toContain(`${jobs}:28:65 jobs.j.timezone: warning: 'EST' is a fixed offset (UTC-05:00) with no daylight-saving rules`);
    expect(output).toContain(`${jobs} is valid: 1 job(s) (0 scheduled), 4 tenant(s); 6 warnings`);
    expect(output).not.toContain('a-wrong-password');
    expect(output).not.toContain('the-right-password');
    expect(code).toBe(0);
    expectClean(output);
  });
});

describe('exorun next on hard inputs', () => {
  it('refuses a file whose schedule never fires (exit 2) and shows a schedule that fires once in 28 years', async () => {
    const never = await file('never.yaml', `${demo}jobs:\n  j: { tenant: demo, cmdlet: Get-Mailbox, schedule: "0 0 30 2 *" }\n`);
    const refused = await exorun(['next', 'j', '--config', never]);
    expect(refused.code).toBe(2);
    expect(refused.output).toContain(`${never}:5:53 jobs.j.schedule: never fires: February has no day 30`);
    expectClean(refused.output);

    const rare = await file('rare.yaml', `${demo}jobs:\n  j: { tenant: demo, cmdlet: Get-Mailbox, schedule: "0 0 * 2 MON#5" }\n`);
    const shown = await exorun(['next', 'j', '-n', '2', '--from', '2026-11-22T00:00:00Z', '--config', rare]);
    expect(shown.output).toContain('2044-02-29T00:00:00.000Z');
    expect(shown.output).toContain('2072-02-29T00:00:00.000Z');
    expect(shown.code).toBe(0);
  });
});
