import { rmdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { OUTPUT_FORMATS } from '../core/index.js';
import type { RunStatus } from './manifest.js';
import { removeIfPresent, storeError, syncFolder } from './fs-util.js';
import { indexRuns, manifestNames, scanDateFolders, type DateFolder, type IndexedRun } from './run-index.js';
import { assertSafeComponents, MANIFEST_SUFFIX } from './paths.js';

/**
 * Options of {@link pruneRuns}. At least one of `keepRuns` and `keepDays` is required: pruning
 * with no rule would remove everything, which is never what a caller meant. When both are given
 * a run is kept if EITHER rule keeps it — the conservative reading, since removing is final.
 */
export interface PruneOptions {
  /** The output root (the store's `root`). */
  root: string;
  /** The job whose runs are pruned; other jobs are never touched. */
  job: string;
  /** Keep the newest N runs by `startedAt`, whatever their status (failed runs count). Integer >= 0. */
  keepRuns?: number;
  /** Keep runs whose `startedAt` is at most this many days before `nowMs`. Number >= 0. */
  keepDays?: number;
  /** "Now" for `keepDays` and for the age of orphans; defaults to `Date.now()`. */
  nowMs?: number;
  /** Report what would be removed, and remove nothing. */
  dryRun?: boolean;
}

/** A run that was (or, in a dry run, would be) removed. */
export interface PrunedRun {
  runId: string;
  job: string;
  localDate: string;
  status: RunStatus;
  startedAt: string;
  manifestPath: string;
  /** Absolute paths of the data files removed after the manifest. */
  files: string[];
  /** Bytes of the manifest and the data files. */
  bytes: number;
}

/** A leftover file with no manifest, older than {@link ORPHAN_AGE_MS}. */
export interface PrunedOrphan {
  path: string;
  bytes: number;
  modifiedAt: string;
  /** `temp`: a dot-prefixed `.tmp` file of a run that never finished; `data`: a data file whose manifest is gone. */
  kind: 'temp' | 'data';
}

export interface PruneResult {
  /** Oldest first: the order in which runs were removed. */
  removed: PrunedRun[];
  /** Runs with a readable manifest that were kept. */
  kept: number;
  /** Bytes of every removed run and orphan. */
  bytesFreed: number;
  orphans: PrunedOrphan[];
  /** Manifests that could not be read: such runs are neither kept nor removed, only named here. */
  warnings: string[];
  dryRun: boolean;
}

const DAY_MS = 86_400_000;

/**
 * Files without a manifest are left alone for a day: a run writes its temporaries for as long as
 * it lasts, and a commit renames data files into place a moment before its manifest.
 */
export const ORPHAN_AGE_MS = DAY_MS;

const TEMP_FILE = /^\..+\.tmp$/;

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function validate(options: PruneOptions): void {
  const { keepRuns, keepDays, nowMs } = options;
  if (keepRuns === undefined && keepDays === undefined) {
    throw new RangeError('pruneRuns needs keepRuns or keepDays; without either rule every run would be removed.');
  }
  if (keepRuns !== undefined && (!Number.isInteger(keepRuns) || keepRuns < 0)) {
    throw new RangeError(`keepRuns must be a whole number >= 0, got ${keepRuns}.`);
  }
  if (keepDays !== undefined && (!Number.isFinite(keepDays) || keepDays < 0)) {
    throw new RangeError(`keepDays must be a number >= 0, got ${keepDays}.`);
  }
  if (nowMs !== undefined && !Number.isFinite(nowMs)) throw new RangeError(`nowMs must be a finite number, got ${nowMs}.`);
  assertSafeComponents({ job: options.job }, { code: 'STORE_WRITE_FAILED', action: 'prune output' });
}

/** Size and time of a file, or undefined when it is already gone. */
async function statFile(filePath: string): Promise<{ bytes: number; mtimeMs: number } | undefined> {
  try {
    const info = await stat(filePath);
    return info.isFile() ? { bytes: info.size, mtimeMs: info.mtimeMs } : undefined;
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw storeError('inspect', filePath, error);
  }
}

/**
 * The data files of a run in its own folder: every format's name for the run id, plus the files
 * its manifest lists, as long as they resolve into that same folder (a manifest is data; it must
 * not steer deletion elsewhere).
 */
function dataFilesOf(root: string, run: IndexedRun): string[] {
  const files = new Set(OUTPUT_FORMATS.map((format) => path.join(run.folder, `${run.fileRunId}.${format}`)));
  for (const file of run.files) {
    if (typeof file.path !== 'string') continue;
    const resolved = path.resolve(root, ...file.path.split('/'));
    if (path.dirname(resolved) === run.folder && !resolved.endsWith(MANIFEST_SUFFIX)) files.add(resolved);
  }
  return [...files];
}

async function removeRun(root: string, run: IndexedRun, dryRun: boolean): Promise<PrunedRun> {
  const manifest = await statFile(run.manifestPath);
  let bytes = manifest?.bytes ?? 0;
  const present: string[] = [];
  for (const file of dataFilesOf(root, run)) {
    const info = await statFile(file);
    if (info === undefined) continue;
    present.push(file);
    bytes += info.bytes;
  }
  if (!dryRun) {
    // The manifest goes first and durably: from then on the set no longer claims to be complete,
    // so a crash half-way leaves data files without a manifest (orphans, removed on a later
    // prune), never a manifest naming missing files.
    await removeIfPresent(run.manifestPath);
    await syncFolder(run.folder);
    for (const file of present) await removeIfPresent(file);
  }
  return {
    runId: run.runId,
    job: run.job,
    localDate: run.localDate,
    status: run.status,
    startedAt: run.startedAt,
    manifestPath: run.manifestPath,
    files: present,
    bytes,
  };
}

/** The data format of a finished (not dot-prefixed) file name, with the run id it belongs to. */
function dataFileRunId(name: string): string | undefined {
  if (name.startsWith('.') || name.endsWith(MANIFEST_SUFFIX)) return undefined;
  for (const format of OUTPUT_FORMATS) {
    const suffix = `.${format}`;
    if (name.endsWith(suffix) && name.length > suffix.length) return name.slice(0, -suffix.length);
  }
  return undefined;
}

/** Temporaries and manifest-less data files older than {@link ORPHAN_AGE_MS}. */
async function findOrphans(folder: DateFolder, nowMs: number): Promise<PrunedOrphan[]> {
  const manifests = new Set(manifestNames(folder.names));
  const orphans: PrunedOrphan[] = [];
  for (const name of folder.names) {
    let kind: PrunedOrphan['kind'] | undefined;
    if (TEMP_FILE.test(name)) kind = 'temp';
    else {
      const runId = dataFileRunId(name);
      if (runId !== undefined && !manifests.has(runId + MANIFEST_SUFFIX)) kind = 'data';
    }
    if (kind === undefined) continue;
    const filePath = path.join(folder.folder, name);
    const info = await statFile(filePath);
    if (info === undefined || nowMs - info.mtimeMs < ORPHAN_AGE_MS) continue;
    orphans.push({ path: filePath, bytes: info.bytes, modifiedAt: new Date(info.mtimeMs).toISOString(), kind });
  }
  return orphans;
}

/** Removes a date folder that is now empty; one that gained a file meanwhile stays. */
async function removeIfEmpty(folder: string): Promise<void> {
  try {
    await rmdir(folder);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT') return;
    throw storeError('remove folder', folder, error);
  }
}

/**
 * Applies retention to one job's output sets. Runs are found by their manifests
 * (`<root>/<job>/<date>/<runId>.manifest.json`) and ordered by `startedAt`, newest first; see
 * {@link PruneOptions} for the rules. Each removed run loses its manifest first, then its data
 * files; date folders left empty are removed last. Temporary files (`.<runId>.*.tmp`) and data
 * files without a manifest that are older than a day are removed too and reported as orphans.
 *
 * A failing deletion stops the prune with STORE_WRITE_FAILED naming the file; what was removed
 * before stays removed, and a later prune finishes the job. A date folder removed while a new
 * run of that date is starting makes that run fail with the retryable STORE_WRITE_FAILED.
 */
export async function pruneRuns(options: PruneOptions): Promise<PruneResult> {
  validate(options);
  const root = path.resolve(options.root);
  const nowMs = options.nowMs ?? Date.now();
  const dryRun = options.dryRun === true;
  const folders = await scanDateFolders(root, options.job);
  const { runs, warnings } = await indexRuns(folders);

  const keepRuns = options.keepRuns ?? 0;
  const cutoffMs = options.keepDays === undefined ? Infinity : nowMs - options.keepDays * DAY_MS;
  const doomed = runs.filter((run, index) => index >= keepRuns && run.startedAtMs < cutoffMs).reverse();

  const removed: PrunedRun[] = [];
  const removedPaths = new Set<string>();
  const touched = new Set<string>();
  for (const run of doomed) {
    const pruned = await removeRun(root, run, dryRun);
    removed.push(pruned);
    removedPaths.add(pruned.manifestPath);
    for (const file of pruned.files) removedPaths.add(file);
    touched.add(run.folder);
  }

  const orphans: PrunedOrphan[] = [];
  for (const folder of folders) {
    // Files of runs removed above (or that a dry run would remove) are still listed in `folder.names`.
    const names = folder.names.filter((name) => !removedPaths.has(path.join(folder.folder, name)));
    const found = await findOrphans({ ...folder, names }, nowMs);
    for (const orphan of found) {
      if (!dryRun) await removeIfPresent(orphan.path);
      orphans.push(orphan);
      touched.add(folder.folder);
    }
  }

  if (!dryRun) {
    for (const folder of touched) {
      await syncFolder(folder);
      await removeIfEmpty(folder);
    }
  }

  const bytesFreed = removed.reduce((sum, run) => sum + run.bytes, 0) + orphans.reduce((sum, orphan) => sum + orphan.bytes, 0);
  return { removed, kept: runs.length - doomed.length, bytesFreed, orphans, warnings, dryRun };
}
