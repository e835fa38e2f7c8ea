import path from 'node:path';
import { AppError } from '../core/index.js';
import { OUTPUT_FORMATS, type OutputFormat, type RunDescriptor } from '../core/index.js';

/** The parts of a run that decide where its output set lives. */
export type RunLocation = Pick<RunDescriptor, 'job' | 'localDate' | 'runId'> & { attemptId?: string | undefined; step?: string | undefined };

/** Final and temporary names of the files of one run, all in one folder. */
export interface RunPaths {
  /** Absolute folder `${root}/${job}/${localDate}`. */
  folder: string;
  /** `${job}/${localDate}`, always with '/' separators, for manifests. */
  relativeFolder: string;
  dataFile(format: OutputFormat): string;
  /** Dot-prefixed so listings and globs for finished files skip it. */
  tempDataFile(format: OutputFormat): string;
  relativeDataFile(format: OutputFormat): string;
  manifestFile: string;
  tempManifestFile: string;
  /** Whether a file name in the folder is a temporary of this run (any attempt, any format). */
  isTempOfRun(name: string): boolean;
}

/** What a path check is for, so its error says what was refused and carries the matching code. */
export interface PathPurpose {
  code: 'STORE_WRITE_FAILED' | 'STORE_READ_FAILED';
  /** e.g. `write output`, `list runs`. */
  action: string;
}

const WRITE_OUTPUT: PathPurpose = { code: 'STORE_WRITE_FAILED', action: 'write output' };

/** The file name suffix of manifests; a run id must not end so that a data file could take that name. */
export const MANIFEST_SUFFIX = '.manifest.json';

/**
 * Config validation already restricts names; this is defence in depth, because these values
 * become folder and file names and a stray separator or `..` would write outside the root. A run
 * id ending in `.manifest` is refused too: its JSON output would be named like another run's manifest.
 */
export function assertSafeComponents(components: Readonly<Record<string, unknown>>, purpose: PathPurpose = WRITE_OUTPUT): void {
  for (const [name, value] of Object.entries(components)) {
    if (typeof value !== 'string' || value === '' || value.includes('/') || value.includes('\\') || value.includes('..') || value.includes('\0')) {
      throw new AppError(
        purpose.code,
        `Refusing to ${purpose.action}: ${name} ${JSON.stringify(value)} cannot be used in a file path (it is empty or contains '/', '\\' or '..').`,
        { retryable: false, details: { [name]: value } },
      );
    }
    // A step named `manifest` would make `<runId>.manifest` the base name of its data files.
    if ((name === 'runId' && value.toLowerCase().endsWith('.manifest')) || (name === 'step' && value.toLowerCase() === 'manifest')) {
      throw new AppError(purpose.code, `Refusing to ${purpose.action}: ${name} ${JSON.stringify(value)} would name data files like a manifest ('.manifest').`, {
        retryable: false,
        details: { [name]: value },
      });
    }
  }
}

export function runPaths(root: string, run: RunLocation): RunPaths {
  const folder = path.join(root, run.job, run.localDate);
  // A step of a job written with steps: has its own output set next to the run's other steps.
  const id = run.step === undefined ? run.runId : `${run.runId}.${run.step}`;
  const dataName = (format: OutputFormat): string => `${id}.${format}`;
  const attempt = run.attemptId === undefined ? '' : `.${run.attemptId}`;
  const tempName = (name: string): string => `.${name}${attempt}.tmp`;
  const tempPrefix = `.${id}.`;
  return {
    folder,
    relativeFolder: `${run.job}/${run.localDate}`,
    dataFile: (format) => path.join(folder, dataName(format)),
    tempDataFile: (format) => path.join(folder, tempName(dataName(format))),
    relativeDataFile: (format) => `${run.job}/${run.localDate}/${dataName(format)}`,
    manifestFile: path.join(folder, id + MANIFEST_SUFFIX),
    tempManifestFile: path.join(folder, tempName(id + MANIFEST_SUFFIX)),
    isTempOfRun: (name) => name.startsWith(tempPrefix) && name.endsWith('.tmp') && isOwnSuffix(name.slice(tempPrefix.length, -'.tmp'.length)),
  };
}

const OWN_SUFFIX = new RegExp(`^(?:${OUTPUT_FORMATS.join('|')}|manifest\\.json)(?:\\.[A-Za-z0-9-]+)?$`);

/** `jsonl`, `manifest.json.<attempt>` …: the part after `.<runId>.`, so another run id that merely starts the same is not matched. */
function isOwnSuffix(rest: string): boolean {
  return OWN_SUFFIX.test(rest);
}

/** Where the manifest of a run is (or will be) written. */
export function manifestPath(root: string, run: RunLocation): string {
  assertSafeComponents({ job: run.job, localDate: run.localDate, runId: run.runId, ...(run.step === undefined ? {} : { step: run.step }) });
  return runPaths(path.resolve(root), run).manifestFile;
}
