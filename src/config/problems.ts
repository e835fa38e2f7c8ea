import { AppError } from '../core/errors.js';

/** One thing wrong in a configuration file, located precisely enough to jump to it in an editor. */
export interface ConfigProblem {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  /** Dotted path of the value, e.g. `jobs.nightly.schedule`; empty for the document itself. */
  path: string;
  message: string;
}

/** `jobs.yaml:12:15 jobs.nightly.schedule: must have 5 fields …` */
export function formatProblem(problem: ConfigProblem): string {
  const where = `${problem.file}:${problem.line}:${problem.col}`;
  return problem.path ? `${where} ${problem.path}: ${problem.message}` : `${where} ${problem.message}`;
}

export function sortProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort((a, b) => a.line - b.line || a.col - b.col || a.path.localeCompare(b.path));
}

/** The error thrown when a configuration file has problems; `details.problems` lists them all. */
export function configError(file: string, problems: readonly ConfigProblem[]): AppError {
  const sorted = sortProblems(problems);
  const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
  return new AppError('CFG_JOBS_INVALID', `${file} has ${count}:\n${sorted.map(formatProblem).join('\n')}`, {
    details: { problems: sorted },
  });
}

/** Reads the problem list back from an error raised by {@link configError}. */
export function problemsOf(error: AppError): ConfigProblem[] {
  const problems = error.details['problems'];
  return Array.isArray(problems) ? (problems as ConfigProblem[]) : [];
}

/** Dotted display form of a path; keys with dots or spaces are bracketed. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else {
      const key = String(segment);
      out += /^[A-Za-z0-9_-]+$/.test(key) ? (out ? `.${key}` : key) : `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}
