import { AppError } from '../core/index.js';

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
  return formatLine(problem, problem.message);
}

/** `jobs.yaml:12:5 jobs.nightly.timeout: warning: a bare number is read as milliseconds …` */
export function formatWarning(warning: ConfigProblem): string {
  return formatLine(warning, `warning: ${warning.message}`);
}

function formatLine(problem: ConfigProblem, message: string): string {
  const where = `${problem.file}:${problem.line}:${problem.col}`;
  return printable(problem.path ? `${where} ${problem.path}: ${message}` : `${where} ${message}`);
}

/** A value quoted in a message is cut short: a file can hold a megabyte on one line. */
export function clip(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/**
 * Escapes what a terminal or log viewer would act on rather than show: control characters (a file
 * can hold an ESC sequence that recolours or rewrites the screen), line breaks (a problem is one
 * line), and the invisible direction overrides that make text read differently than it is.
 * Messages quote names and values from the file, so every problem line goes through this.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (character) => {
    const code = character.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

// C0 controls, DEL, C1 controls, zero-width and direction marks, line/paragraph separators, bidi embeddings and isolates, BOM.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g;

/** File order: line, column, then path (several problems can share a position). */
export function compareProblems(a: ConfigProblem, b: ConfigProblem): number {
  return a.line - b.line || a.col - b.col || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

export function sortProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort(compareProblems);
}

/** The error thrown when a configuration file has problems; `details.problems` lists them all. */
export function configError(file: string, problems: readonly ConfigProblem[]): AppError {
  const sorted = sortProblems(problems);
  const count = sorted.length === 1 ? '1 problem' : `${sorted.length} problems`;
  return new AppError('CFG_JOBS_INVALID', `${printable(file)} has ${count}:\n${sorted.map(formatProblem).join('\n')}`, {
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
