import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConfigSource } from '../../../src/config/config-source.js';
import { checkConfigFile, loadConfigFile, loadJobPreview } from '../../../src/config/load.js';
import { formatWarning, problemsOf } from '../../../src/config/problems.js';
import { isAppError } from '../../../src/core/errors.js';
import type { Logger } from '../../../src/core/logger.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'exorun-config-file-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function write(name: string, content: string | Buffer): Promise<string> {
  const file = path.join(dir, name);
  await writeFile(file, content);
  return file;
}

const withSecrets = `version: 1
tenants:
  contoso:
    organization: contoso.onmicrosoft.com
    auth:
      type: certificate
      clientId: 3f2504e0-4f89-11d3-9a0c-0305e82c3301
      certificate:
        path: ./app.pfx
        password: { env: EXORUN_TEST_PFX_PASSWORD }
  fabrikam:
    organization: fabrikam.onmicrosoft.com
    auth:
      type: certificate
      clientId: 3f2504e0-4f89-11d3-9a0c-0305e82c3302
      certificate:
        path: ./fabrikam.pfx
        password: { file: ./missing-password.txt }
defaults:
  notify: [{ url: { env: EXORUN_TEST_WEBHOOK } }]
jobs:
  inventory: { tenant: contoso, cmdlet: Get-Mailbox }
`;

describe('checking a jobs.yaml file', () => {
  it('warns about secrets that are not there, naming the variable or file, never a value', async () => {
    const file = await write('secrets.yaml', withSecrets);
    const result = await checkConfigFile(file, { env: { EXORUN_TEST_WEBHOOK: '' } });
    expect(result.ok).toBe(true);
    const lines = result.warnings.map(formatWarning);
    expect(lines).toEqual([
      `${file}:10:19 tenants.contoso.auth.certificate.password: warning: the environment variable EXORUN_TEST_PFX_PASSWORD (the certificate password) is not set`,
      `${file}:18:19 tenants.fabrikam.auth.certificate.password: warning: the secret file ${path.join(dir, 'missing-password.txt')} (the certificate password) cannot be read (ENOENT)`,
      `${file}:20:26 defaults.notify[0].url.env: warning: the environment variable EXORUN_TEST_WEBHOOK (a webhook URL) is not set`,
    ]);
    // The loaded configuration carries them, for services to log at start-up.
    expect(result.ok && result.config.warnings).toEqual(result.warnings);
    const set = await checkConfigFile(file, { env: { EXORUN_TEST_PFX_PASSWORD: 'x', EXORUN_TEST_WEBHOOK: 'https://example.net/hook' } });
    expect(set.warnings.map(formatWarning)).toEqual([lines[1]]);
  });

  it('asks the certificate inspector about each certificate and reports its finding at the key it names', async () => {
    const file = await write('inspect.yaml', withSecrets);
    const seen: string[] = [];
    const result = await checkConfigFile(file, {
      env: { EXORUN_TEST_PFX_PASSWORD: 'x', EXORUN_TEST_WEBHOOK: 'https://example.net/hook' },
      inspectCertificate: async (auth) => {
        seen.push(path.basename(auth.certificatePath));
        return auth.certificatePath.endsWith('app.pfx') ? { key: 'password', message: 'AUTH_CERT_PASSWORD: wrong' } : undefined;
      },
    });
    expect(seen).toEqual(['app.pfx', 'fabrikam.pfx']);
    expect(result.warnings.map(formatWarning)).toContain(`${file}:10:19 tenants.contoso.auth.certificate.password: warning: AUTH_CERT_PASSWORD: wrong`);
  });

  it('refuses a UTF-16 file and a binary one as problems at 1:1, not exceptions of another kind', async () => {
    const utf16 = await write('utf16.yaml', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('version: 1\n', 'utf16le')]));
    const binary = await write('binary.yaml', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00]));
    for (const [file, message] of [
      [utf16, `${utf16} is UTF-16 encoded; save it as UTF-8`],
      [binary, `${binary} is not a text file (it contains NUL bytes); pass the jobs.yaml file`],
    ] as const) {
      const error = await loadConfigFile(file).catch((caught: unknown) => caught);
      expect(isAppError(error) && error.code).toBe('CFG_JOBS_INVALID');
      expect(problemsOf(error as never)).toEqual([{ file, line: 1, col: 1, path: '', message }]);
    }
  });
});

describe('loading one job for a preview', () => {
  it('builds only the asked job but refuses a file with a problem anywhere', async () => {
    const jobs = Array.from({ length: 50 }, (_, index) => `  j${index}: { tenant: demo, cmdlet: Get-Mailbox, schedule: "0 ${index % 24} * * *" }`);
    const head = 'version: 1\ntenants:\n  demo: { organization: demo.onmicrosoft.com, cloud: simulated }\njobs:\n';
    const good = await write('preview.yaml', `${head}${jobs.join('\n')}\n`);
    const preview = await loadJobPreview(good, 'j7');
    expect(preview.job).toMatchObject({ name: 'j7', schedule: '0 7 * * *' });
    expect(preview.jobNames).toHaveLength(50);
    expect((await loadJobPreview(good, 'nope')).job).toBeUndefined();

    const bad = await write('preview-bad.yaml', `${head}${jobs.join('\n')}\n  broken: { tenant: demo, cmdlet: Get-Mailbox, schedule: "0 0 30 2 *" }\n`);
    const error = await loadJobPreview(bad, 'j7').catch((caught: unknown) => caught);
    expect(problemsOf(error as never).map((problem) => `${problem.line} ${problem.path}: ${problem.message}`)).toEqual([
      '55 jobs.broken.schedule: never fires: February has no day 30',
    ]);
  });
});

describe('the configuration source of a service', () => {
  it('logs each warning once at start-up', async () => {
    const file = await write(
      'warned.yaml',
      'version: 1\ntenants:\n  demo: { organization: demo.onmicrosoft.com, cloud: simulated }\njobs:\n  j: { tenant: demo, cmdlet: Get-Mailbox, timeout: 90 }\n',
    );
    const logged: { level: string; message: string }[] = [];
    const logger = {
      warn: (_fields: unknown, message: string) => logged.push({ level: 'warn', message }),
      info: () => undefined,
      error: () => undefined,
    } as unknown as Logger;
    const source = createConfigSource(await loadConfigFile(file), { logger, watch: false });
    source.close();
    expect(logged).toEqual([
      {
        level: 'warn',
        message: `${file}:5:52 jobs.j.timeout: warning: a number without a unit is read as milliseconds (90 ms); write 90ms to keep that, or give a unit such as 90s or 90m`,
      },
    ]);
  });
});
