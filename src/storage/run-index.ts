import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../core/index.js';
import { readManifest, type Manifest, type ManifestFile, type RunStatus } from './manifest.js';
import { assertSafeComponents, MANIFEST_SUFFIX } from './paths.js';

/** One run as its manifest describes it; what `exorun output <job> --latest` shows. */
export interface RunSummary {
  runId: string;
  job: string;
  tenant: string;
  status: RunStatus;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  objectCount: number;
  /** Data files of the run; their `path` is relative to the output root. */
  files: ManifestFile[];
  /** Absolute path of the manifest. */
  manifestPath: string;
  /** The date folder the run is in (`YYYY-MM-DD`). */
  localDate: string;
}

/** The runs found, newest first, and why some manifests were left out. */
export interface RunListing {
  runs: RunSummary[];
  /** One sentence per manifest that could not be read or lacks what a listing needs. */
  warnings: string[];
}

/** A readable run plus where it lives, for retention. */
export interface IndexedRun extends RunSummary {
  /** Absolute date folder holding the run's files. */
  folder: string;
  /** The run id as the manifest's file name gives it, which decides its data file names. */
  fileRunId: string;
  startedAtMs: number;
}

/** A date folder of a job and its entries, as found while listing. */
export interface DateFolder {
  folder: string;
  job: string;
  localDate: string;
  names: string[];
}

// Enough to overlap file reads without opening thousands of files at once.
const READ_CONCURRENCY = 16;

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Folder entries; a folder that does not exist (yet, or any more) has none. */
async function entriesOf(folder: string): Promise<Dirent[]> {
  try {
    return await readdir(folder, { withFileTypes: true });
  } catch (error) {
    if (errorCode(error) === 'ENOENT' || errorCode(error) === 'ENOTDIR') return [];
    throw new AppError('STORE_READ_FAILED', `Could not list ${folder}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
      details: { path: folder },
    });
  }
}

/** Sub-folders, skipping dot-names (temporary or foreign). */
function folderNames(entries: readonly Dirent[]): string[] {
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
}

/** Every `<root>/<job>/<date>/` folder with its entry names; every job when `job` is absent. */
export async function scanDateFolders(root: string, job: string | undefined): Promise<DateFolder[]> {
  const jobs = job === undefined ? folderNames(await entriesOf(root)) : [job];
  const folders: DateFolder[] = [];
  for (const jobName of jobs) {
    const jobFolder = path.join(root, jobName);
    for (const localDate of folderNames(await entriesOf(jobFolder))) {
      const folder = path.join(jobFolder, localDate);
      const names = (await entriesOf(folder)).filter((entry) => entry.isFile()).map((entry) => entry.name);
      folders.push({ folder, job: jobName, localDate, names });
    }
  }
  return folders;
}

/** Manifest file names of a folder: finished ones only, never `.…manifest.json.tmp`. */
export function manifestNames(names: readonly string[]): string[] {
  return names.filter((name) => name.endsWith(MANIFEST_SUFFIX) && !name.startsWith('.') && name.length > MANIFEST_SUFFIX.length);
}

function summaryProblem(manifest: Manifest): string | undefined {
  if (typeof manifest.runId !== 'string') return 'it has no runId';
  if (typeof manifest.startedAt !== 'string' || Number.isNaN(Date.parse(manifest.startedAt))) return 'its startedAt is not a date';
  if (!Array.isArray(manifest.files)) return 'its files list is missing';
  return undefined;
}

type ReadOutcome = { ok: true; run: IndexedRun } | { ok: false; warning: string };

async function readRun(folder: DateFolder, name: string): Promise<ReadOutcome> {
  const manifestPath = path.join(folder.folder, name);
  let manifest: Manifest;
  try {
    manifest = await readManifest(manifestPath);
  } catch (error) {
    return { ok: false, warning: `Skipped ${manifestPath}: ${error instanceof Error ? error.message : String(error)}` };
  }
  const problem = summaryProblem(manifest);
  if (problem !== undefined) return { ok: false, warning: `Skipped ${manifestPath}: ${problem}.` };
  return {
    ok: true,
    run: {
      runId: manifest.runId,
      job: manifest.job,
      tenant: manifest.tenant,
      status: manifest.status,
      startedAt: manifest.startedAt,
      endedAt: manifest.endedAt,
      durationMs: manifest.durationMs,
      objectCount: manifest.objectCount,
      files: manifest.files,
      manifestPath,
      localDate: folder.localDate,
      folder: folder.folder,
      fileRunId: name.slice(0, -MANIFEST_SUFFIX.length),
      startedAtMs: Date.parse(manifest.startedAt),
    },
  };
}

/** Reads the manifests of the folders; unreadable ones become warnings. Newest first. */
export async function indexRuns(folders: readonly DateFolder[]): Promise<{ runs: IndexedRun[]; warnings: string[] }> {
  const pending: { folder: DateFolder; name: string }[] = [];
  for (const folder of folders) for (const name of manifestNames(folder.names)) pending.push({ folder, name });
  const runs: IndexedRun[] = [];
  const warnings: string[] = [];
  for (let start = 0; start < pending.length; start += READ_CONCURRENCY) {
    const batch = pending.slice(start, start + READ_CONCURRENCY);
    for (const outcome of await Promise.all(batch.map(({ folder, name }) => readRun(folder, name)))) {
      if (outcome.ok) runs.push(outcome.run);
      else warnings.push(outcome.warning);
    }
  }
  // Ties (same start time) are ordered by manifest path so listings are stable.
  runs.sort((a, b) => b.startedAtMs - a.startedAtMs || (a.manifestPath < b.manifestPath ? 1 : a.manifestPath > b.manifestPath ? -1 : 0));
  return { runs, warnings };
}

/**
 * The runs under `root` (of one job, or of every job), newest first by the manifest's
 * `startedAt`. Manifests that cannot be read are skipped and named in `warnings`; a root or job
 * folder that does not exist yet simply has no runs.
 */
export async function listRuns(root: string, job?: string): Promise<RunListing> {
  if (job !== undefined) assertSafeComponents({ job }, { code: 'STORE_READ_FAILED', action: 'list runs' });
  const { runs, warnings } = await indexRuns(await scanDateFolders(path.resolve(root), job));
  return { runs: runs.map(toSummary), warnings };
}

function toSummary(run: IndexedRun): RunSummary {
  return {
    runId: run.runId,
    job: run.job,
    tenant: run.tenant,
    status: run.status,
    startedAt: run.startedAt,
    endedAt: run.endedAt,
    durationMs: run.durationMs,
    objectCount: run.objectCount,
    files: run.files,
    manifestPath: run.manifestPath,
    localDate: run.localDate,
  };
}
