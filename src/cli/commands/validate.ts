import { CERTIFICATE_WARNING_MS, daysUntilExpiry, loadCertificateCredential } from '../../auth/index.js';
import { readSecret } from '../../auth/index.js';
import { checkConfigFile, type CertificateFinding, type CertificateInspector } from '../../config/index.js';
import { compareProblems, formatProblem, formatWarning, printable, problemsOf, type ConfigProblem } from '../../config/index.js';
import { isAppError } from '../../core/index.js';
import type { GlobalOptions } from '../runtime.js';

/**
 * `exorun validate [file]`: lists every problem and warning as file:line:col and exits 2 when
 * there are problems (warnings alone exit 0), so it fits CI checks and editors' problem matchers.
 * Unlike a service start, it also opens each certificate to check its password and expiry.
 */
export async function validateCommand(file: string | undefined, options: GlobalOptions): Promise<number> {
  const target = file ?? options.config ?? process.env['EXORUN_CONFIG'] ?? 'jobs.yaml';
  let result: Awaited<ReturnType<typeof checkConfigFile>>;
  try {
    result = await checkConfigFile(target, { inspectCertificate });
  } catch (error) {
    // Only a missing file or one that is not UTF-8 text gets here; both are the user's to fix.
    if (!isAppError(error)) throw error;
    const problems = problemsOf(error);
    if (problems.length === 0) process.stderr.write(`${error.message}\n`);
    report(target, problems, []);
    return 2;
  }
  if (!result.ok) {
    report(target, result.problems, result.warnings);
    return 2;
  }
  report(target, [], result.warnings);
  const jobs = Object.values(result.config.jobs);
  const scheduled = jobs.filter((job) => job.enabled && job.schedule).length;
  const warnings = result.warnings.length === 0 ? '' : `; ${count(result.warnings.length, 'warning')}`;
  process.stdout.write(
    `${printable(target)} is valid: ${jobs.length} job(s) (${scheduled} scheduled), ${Object.keys(result.config.tenants).length} tenant(s)${warnings}\n`,
  );
  return 0;
}

/** Problems and warnings in file order, then a count of the problems. */
function report(target: string, problems: readonly ConfigProblem[], warnings: readonly ConfigProblem[]): void {
  const lines = [
    ...problems.map((problem) => ({ problem, text: formatProblem(problem) })),
    ...warnings.map((problem) => ({ problem, text: formatWarning(problem) })),
  ];
  lines.sort((a, b) => compareProblems(a.problem, b.problem));
  process.stderr.write(lines.map((line) => `${line.text}\n`).join(''));
  if (problems.length > 0) {
    const warned = warnings.length === 0 ? '' : `, ${count(warnings.length, 'warning')}`;
    process.stderr.write(`${printable(target)}: ${count(problems.length, 'problem')}${warned}\n`);
  }
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/**
 * Opens a tenant's certificate as a worker would: the file exists, the password opens it, the key
 * belongs to it, and it is valid now (and for 14 more days). The password is read from where the
 * file says and used only to open the certificate; no message contains it.
 */
const inspectCertificate: CertificateInspector = async (auth, env): Promise<CertificateFinding | undefined> => {
  let password: string | undefined;
  if (auth.password) {
    try {
      password = await readSecret(auth.password, env);
    } catch {
      // An unset variable or missing secret file is already a warning of its own.
      return undefined;
    }
  }
  try {
    const credential = await loadCertificateCredential({
      certificatePath: auth.certificatePath,
      ...(auth.keyPath === undefined ? {} : { keyPath: auth.keyPath }),
      ...(password === undefined ? {} : { password }),
    });
    if (credential.notAfter.getTime() - Date.now() < CERTIFICATE_WARNING_MS) {
      const days = daysUntilExpiry(credential);
      return {
        key: 'path',
        message: `the certificate expires in ${days} day${days === 1 ? '' : 's'} (${credential.notAfter.toISOString()}); create a new one and upload it to the app registration`,
      };
    }
    return undefined;
  } catch (error) {
    if (!isAppError(error)) return { key: 'path', message: `the certificate cannot be read: ${error instanceof Error ? error.message : String(error)}` };
    const key =
      error.code === 'AUTH_CERT_PASSWORD' ? 'password' : error.code === 'AUTH_CERT_NOT_FOUND' && error.details['file'] === auth.keyPath ? 'keyPath' : 'path';
    return { key, message: `${error.code}: ${error.message}` };
  }
};
