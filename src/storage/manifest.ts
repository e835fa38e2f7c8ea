import { readFile } from 'node:fs/promises';
import { AppError } from '../core/index.js';
import type { CmdletPage, CommittedOutput, ItemOutcome, OutputFormat, RunDescriptor, ServiceName } from '../core/index.js';

/** How a run's output set ended. */
export type RunStatus = 'succeeded' | 'failed';

/** One data file of an output set, as its manifest lists it. */
export interface ManifestFile {
  format: OutputFormat;
  /** Path relative to the output root. */
  path: string;
  bytes: number;
  objects: number;
  sha256: string;
}

export interface Manifest {
  manifestVersion: 1;
  runId: string;
  job: string;
  tenant: string;
  service: ServiceName;
  cmdlet: string;
  parameters: Record<string, unknown>;
  select?: string[];
  scheduledFor?: string;
  attempt: number;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  status: RunStatus;
  objectCount: number;
  pageCount: number;
  files: ManifestFile[];
  warnings: string[];
  errors: unknown[];
  /** How many errors were left out of `errors`, which keeps the first 1,000; absent when none were. */
  errorsDropped?: number;
  requestIds: string[];
  failure?: { code: string; message: string };
  /** The step of a job written with `steps:` (absent for single-cmdlet jobs). */
  step?: string;
  /** The interval a windowed run read (StartDate inclusive, EndDate exclusive). */
  window?: { start: string; end: string };
  /** forEach steps: items processed; failed items are also listed in `errors` as `{ item, code, message }`. */
  items?: { total: number; succeeded: number; failed: number };
}

/** What a committed output set's manifest says, as the run needs it (paths relative to the root). */
export function committedOutputOf(manifest: Manifest, manifestPath: string): CommittedOutput {
  return {
    manifestPath,
    files: manifest.files.map((file) => ({ format: file.format, path: file.path, objects: file.objects })),
    objectCount: manifest.objectCount,
    pageCount: manifest.pageCount,
    warningCount: manifest.warnings.length,
    ...(manifest.items === undefined ? {} : { items: manifest.items }),
  };
}

/**
 * How many cmdlet errors a manifest keeps. A cmdlet can report one error per object (a million
 * bad objects, a million errors); the first ones say what went wrong, the count says how often.
 */
export const MANIFEST_ERRORS_LIMIT = 1000;

/**
 * What a run has reported so far, kept small on purpose: counts, de-duplicated warnings and
 * request ids (a warning repeated on every page is stored once), and the first
 * {@link MANIFEST_ERRORS_LIMIT} errors.
 */
export interface RunTally {
  addPage(page: CmdletPage): void;
  /** A forEach item finished; failures join `errors` under the same limit. */
  addItem(outcome: ItemOutcome): void;
  warn(message: string): void;
  /** Set once the first item is recorded: only forEach steps carry item counts. */
  readonly items: { total: number; succeeded: number; failed: number } | undefined;
  readonly objectCount: number;
  readonly pageCount: number;
  readonly warnings: readonly string[];
  readonly errors: readonly unknown[];
  /** Errors not kept because of the limit. */
  readonly errorsDropped: number;
  readonly requestIds: readonly string[];
}

export function createRunTally(): RunTally {
  const warnings = new Set<string>();
  const requestIds = new Set<string>();
  const errors: unknown[] = [];
  let objectCount = 0;
  let pageCount = 0;
  let errorsDropped = 0;
  let items: { total: number; succeeded: number; failed: number } | undefined;
  const keepError = (error: unknown): void => {
    if (errors.length < MANIFEST_ERRORS_LIMIT) errors.push(error);
    else errorsDropped += 1;
  };
  return {
    addPage(page) {
      pageCount += 1;
      objectCount += page.objects.length;
      for (const warning of page.warnings) warnings.add(warning);
      for (const error of page.errors) keepError(error);
      if (page.requestId !== undefined && page.requestId !== '') requestIds.add(page.requestId);
    },
    addItem(outcome) {
      items ??= { total: 0, succeeded: 0, failed: 0 };
      items.total += 1;
      if (outcome.ok) items.succeeded += 1;
      else {
        items.failed += 1;
        keepError({ item: outcome.item, code: outcome.code, message: outcome.message });
      }
    },
    warn(message) {
      warnings.add(message);
    },
    get items() {
      return items === undefined ? undefined : { ...items };
    },
    get objectCount() {
      return objectCount;
    },
    get pageCount() {
      return pageCount;
    },
    get warnings() {
      return [...warnings];
    },
    get errors() {
      return errors;
    },
    get errorsDropped() {
      return errorsDropped;
    },
    get requestIds() {
      return [...requestIds];
    },
  };
}

/** Everything a manifest is built from, besides the run's tally. */
export interface ManifestInput {
  run: RunDescriptor;
  tally: RunTally;
  startedAtMs: number;
  endedAtMs: number;
  status: RunStatus;
  files: ManifestFile[];
  failure?: { code: string; message: string };
}

export function buildManifest(input: ManifestInput): Manifest {
  const { run, tally } = input;
  return {
    manifestVersion: 1,
    runId: run.runId,
    job: run.job,
    tenant: run.tenant,
    service: run.service,
    cmdlet: run.cmdlet,
    parameters: { ...run.parameters },
    ...(run.select === undefined ? {} : { select: [...run.select] }),
    ...(run.scheduledFor === undefined ? {} : { scheduledFor: run.scheduledFor }),
    attempt: run.attempt,
    startedAt: new Date(input.startedAtMs).toISOString(),
    endedAt: new Date(input.endedAtMs).toISOString(),
    durationMs: Math.max(0, input.endedAtMs - input.startedAtMs),
    status: input.status,
    objectCount: tally.objectCount,
    pageCount: tally.pageCount,
    files: input.files,
    warnings: [...tally.warnings],
    errors: [...tally.errors],
    ...(tally.errorsDropped === 0 ? {} : { errorsDropped: tally.errorsDropped }),
    requestIds: [...tally.requestIds],
    ...(input.failure === undefined ? {} : { failure: { code: input.failure.code, message: input.failure.message } }),
    ...(run.step === undefined ? {} : { step: run.step }),
    ...(run.window === undefined ? {} : { window: { ...run.window } }),
    ...(tally.items === undefined ? {} : { items: tally.items }),
  };
}

export function serializeManifest(manifest: Manifest): string {
  return JSON.stringify(manifest, null, 2) + '\n';
}

/**
 * Reads a manifest written by this store. Only the version is checked: a manifest is our own
 * file, and a newer version must be refused rather than half understood.
 */
export async function readManifest(filePath: string): Promise<Manifest> {
  let text: string;
  try {
    text = await readFile(filePath, 'utf8');
  } catch (error) {
    throw new AppError('STORE_READ_FAILED', `Could not read manifest ${filePath}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      details: { path: filePath },
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new AppError('STORE_READ_FAILED', `Manifest ${filePath} is not valid JSON.`, { cause: error, details: { path: filePath } });
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { manifestVersion?: unknown }).manifestVersion !== 1) {
    throw new AppError('STORE_READ_FAILED', `Manifest ${filePath} is not a version 1 exorun manifest.`, { details: { path: filePath } });
  }
  return parsed as Manifest;
}
