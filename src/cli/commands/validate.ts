import path from 'node:path';
import { checkConfigText, readConfigText } from '../../config/load.js';
import { formatProblem } from '../../config/problems.js';
import type { GlobalOptions } from '../runtime.js';

/**
 * `exorun validate [file]`: lists every problem as file:line:col and exits 2 when there are any,
 * so it fits CI checks and editors' problem matchers.
 */
export async function validateCommand(file: string | undefined, options: GlobalOptions): Promise<number> {
  const target = file ?? options.config ?? process.env['EXORUN_CONFIG'] ?? 'jobs.yaml';
  let text: string;
  try {
    text = await readConfigText(target);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const result = checkConfigText(text, target, path.resolve(target));
  if (!result.ok) {
    const sorted = [...result.problems].sort((a, b) => a.line - b.line || a.col - b.col);
    for (const problem of sorted) process.stderr.write(`${formatProblem(problem)}\n`);
    process.stderr.write(`${target}: ${sorted.length} problem${sorted.length === 1 ? '' : 's'}\n`);
    return 2;
  }
  const jobs = Object.values(result.config.jobs);
  const scheduled = jobs.filter((job) => job.enabled && job.schedule).length;
  process.stdout.write(`${target} is valid: ${jobs.length} job(s) (${scheduled} scheduled), ${Object.keys(result.config.tenants).length} tenant(s)\n`);
  return 0;
}
