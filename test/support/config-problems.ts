import { checkConfigText } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problems.js';

/** The problems a jobs.yaml text has, formatted as the CLI prints them, in file order. */
export function configProblems(text: string): string[] {
  const result = checkConfigText(text, 'jobs.yaml', '/etc/exorun/jobs.yaml');
  if (result.ok) return [];
  return [...result.problems].sort((a, b) => a.line - b.line || a.col - b.col).map(formatProblem);
}
