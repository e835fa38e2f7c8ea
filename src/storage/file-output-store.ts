import path from 'node:path';
import { mkdir, readdir } from 'node:fs/promises';
import { AppError } from '../core/index.js';
import {
  OUTPUT_FORMATS,
  systemClock,
  type CmdletPage,
  type Clock,
  type CommittedOutput,
  type OutputStore,
  type RunDescriptor,
  type RunOutput,
} from '../core/index.js';
import { openFolderSync, removeIfPresent, renameInto, storeError, syncFolder, writeFileAtomic, writeFileDurable, type FolderSync } from './fs-util.js';
import { readJsonlObjects } from './jsonl-reader.js';
import { buildManifest, committedOutputOf, createRunTally, serializeManifest, type Manifest, type ManifestFile, type RunTally } from './manifest.js';
import { assertSafeComponents, runPaths, type RunPaths } from './paths.js';
import { openFormatWriter, type CsvDefaults, type FormatWriter } from './writers.js';
import type { TextSink } from './text-sink.js';

/** Options of {@link createFileOutputStore}. */
export interface FileOutputStoreOptions {
  /** Folder under which `<job>/<localDate>/` folders are created; resolved to an absolute path. */
  root: string;
  /** Source of `startedAt`/`endedAt`; defaults to the system clock. */
  clock?: Clock;
  /** Start CSV files with a UTF-8 byte order mark (Excel needs it to read UTF-8). Default true; a run's `csv.bom` overrides it. */
  bom?: boolean;
  /**
   * Split nested objects into `Parent.Child` CSV columns (see csv-encoder.ts for the rules).
   * Default true; a run's `csv.flatten` overrides it. False writes each nested object as one JSON cell.
   */
  flatten?: boolean;
}

/** A committed output set: what the run needs to know, plus the manifest as written. */
export interface CommittedRun extends CommittedOutput {
  manifest: Manifest;
}

/** The file store's run output: the port's, with the manifest it wrote. */
export interface FileRunOutput extends RunOutput {
  commit(): Promise<CommittedRun>;
  fail(failure: { code: string; message: string }): Promise<{ manifestPath: string; manifest: Manifest }>;
}

export interface FileOutputStore extends OutputStore {
  begin(run: RunDescriptor): Promise<FileRunOutput>;
}

/**
 * Writes each run as `<root>/<job>/<localDate>/<runId>.<format>` (jsonl, csv, json, clixml) plus
 * `<runId>.manifest.json`. Data goes to dot-prefixed temporary files until commit, and the
 * manifest is renamed into place last, so a manifest on disk always describes a complete set.
 */
export function createFileOutputStore(options: FileOutputStoreOptions): FileOutputStore {
  const root = path.resolve(options.root);
  const clock = options.clock ?? systemClock;
  const csvDefaults: CsvDefaults = { bom: options.bom ?? true, flatten: options.flatten ?? true, delimiter: ',', formulaGuard: true };
  return {
    root,
    begin: (run) => beginRun(root, clock, csvDefaults, run),
    readObjects(committed) {
      const jsonl = committed.files.find((file) => file.format === 'jsonl');
      if (!jsonl) {
        throw new AppError('STORE_READ_FAILED', `The output set ${committed.manifestPath} has no JSONL file to read its objects back from.`);
      }
      return readJsonlObjects(path.join(root, jsonl.path));
    },
  };
}

async function beginRun(root: string, clock: Clock, csvDefaults: CsvDefaults, run: RunDescriptor): Promise<FileRunOutput> {
  assertSafeComponents({ job: run.job, tenant: run.tenant, runId: run.runId, localDate: run.localDate, ...(run.step === undefined ? {} : { step: run.step }) });
  if (run.attemptId !== undefined && !/^[A-Za-z0-9-]{1,64}$/.test(run.attemptId)) {
    throw new AppError('STORE_WRITE_FAILED', `attemptId ${JSON.stringify(run.attemptId)} must be letters, digits and '-'.`, { retryable: false });
  }
  const paths = runPaths(root, run);
  let created: string | undefined;
  try {
    created = await mkdir(paths.folder, { recursive: true });
  } catch (error) {
    throw storeError('create folder', paths.folder, error);
  }
  // A new folder's own entry must be durable too, or a power cut could take the manifest with it.
  if (created !== undefined) {
    await syncFolder(path.dirname(path.dirname(paths.folder)));
    await syncFolder(path.dirname(paths.folder));
  }
  // A killed earlier attempt of this run may have left temporaries; they must not leak into ours.
  // Earlier attempts may have left temporaries under their own attempt ids.
  const names = await readdir(paths.folder);
  for (const name of names) if (paths.isTempOfRun(name)) await removeIfPresent(path.join(paths.folder, name));
  // Which final names of this run exist (an earlier attempt's set): the commit removes only those,
  // rather than trying every name and making the file system answer "no such file" each time.
  const finalNames = new Set(
    [paths.manifestFile, ...OUTPUT_FORMATS.map((format) => paths.dataFile(format))].filter((file) => names.includes(path.basename(file))),
  );

  const startedAtMs = clock.now();
  const tally = createRunTally();
  const writers: FormatWriter[] = [];
  try {
    for (const format of new Set(run.formats)) {
      writers.push(await openFormatWriter(format, paths.tempDataFile(format), run, csvDefaults, (message) => tally.warn(message)));
    }
  } catch (error) {
    await Promise.all(writers.map((writer) => writer.file.abandon()));
    throw error;
  }
  return createRunOutput({ root, run, paths, clock, startedAtMs, tally, writers, finalNames, folder: openFolderSync(paths.folder) });
}

interface RunOutputContext {
  root: string;
  run: RunDescriptor;
  paths: RunPaths;
  clock: Clock;
  startedAtMs: number;
  tally: RunTally;
  writers: FormatWriter[];
  /**
   * Final-name files of this run that may exist: those found when the run began, plus those this
   * output renamed into place (a commit that failed half-way). Only a stalled earlier attempt could
   * add others, and fencing keeps it from committing.
   */
  finalNames: Set<string>;
  /** The run's folder, kept open to make its renames durable. */
  folder: FolderSync;
}

/**
 * - open: pages may be written.
 * - busy: a writePage/commit is in flight; overlapping calls would interleave pages.
 * - broken: a write or commit failed; only fail() is allowed, since the data may be partial.
 * - done: committed or failed.
 */
type State = 'open' | 'busy' | 'broken' | 'done';

function createRunOutput(context: RunOutputContext): FileRunOutput {
  const { run, paths, clock, tally, writers } = context;
  let state: State = 'open';

  /** Runs one operation under the state rules: `next` on success, `broken` when it throws. */
  const guarded = async <T>(action: string, allowed: readonly State[], next: State, operation: () => Promise<T>): Promise<T> => {
    if (!allowed.includes(state)) {
      throw new Error(`RunOutput.${action}() called for run ${run.runId} while it is ${state}.`);
    }
    state = 'busy';
    try {
      const result = await operation();
      state = next;
      return result;
    } catch (error) {
      state = 'broken';
      throw error;
    }
  };

  /** Writes one chunk per file; `fill` runs inside each file's task, so a throw is a rejection. */
  const writeEach = async (fill: (writer: FormatWriter, out: TextSink) => void, objects: number): Promise<void> => {
    // Each file's write is started before the next file's page is encoded, so encoding overlaps I/O.
    const results = await Promise.allSettled(
      writers.map(async (writer) => {
        writer.pageBytes.reset();
        fill(writer, writer.pageBytes);
        await writer.file.write(writer.pageBytes.bytes(), objects);
      }),
    );
    const rejected = results.find((result) => result.status === 'rejected');
    if (rejected) throw rejected.reason;
  };

  const manifestFor = (status: Manifest['status'], files: ManifestFile[], failure?: { code: string; message: string }): Manifest =>
    buildManifest({
      run,
      tally,
      startedAtMs: context.startedAtMs,
      endedAtMs: clock.now(),
      status,
      files,
      ...(failure === undefined ? {} : { failure }),
    });

  const writeManifest = async (manifest: Manifest): Promise<void> => {
    await writeFileAtomic(paths.tempManifestFile, paths.manifestFile, serializeManifest(manifest));
    await context.folder.sync();
  };

  /**
   * Removes final-name files of this run: an earlier attempt's set or a half-done commit. Resolves
   * true when anything was removed (the folder is then synced, so the removal is durable before
   * new files take those names).
   */
  const removeFinalSet = async (): Promise<boolean> => {
    const { finalNames } = context;
    // The manifest goes first so that, at every instant, a manifest on disk matches its files.
    const manifestRemoved = finalNames.has(paths.manifestFile) && (await removeIfPresent(paths.manifestFile));
    const data = [...finalNames].filter((file) => file !== paths.manifestFile);
    const dataRemoved = await Promise.all(data.map((file) => removeIfPresent(file)));
    finalNames.clear();
    const removed = manifestRemoved || dataRemoved.includes(true);
    if (removed) await context.folder.sync();
    return removed;
  };

  return {
    writePage(page: CmdletPage) {
      return guarded('writePage', ['open'], 'open', async () => {
        await writeEach((writer, out) => writer.encode(page, out), page.objects.length);
        tally.addPage(page);
      });
    },

    recordItem(outcome) {
      tally.addItem(outcome);
    },

    commit() {
      return guarded('commit', ['open'], 'done', async () => {
        await writeEach((writer, out) => out.write(writer.end()), 0);
        const files: ManifestFile[] = writers.map(({ file }) => ({
          format: file.format,
          path: paths.relativeDataFile(file.format),
          bytes: file.bytes,
          objects: file.objects,
          sha256: file.sha256(),
        }));
        const manifest = manifestFor('succeeded', files);
        // The fsyncs of the data files and of the manifest's temporary, and the removal of an
        // earlier attempt's set, are independent: they run together (fsync latency dominates a
        // small run's commit).
        await Promise.all([
          ...writers.map(({ file }) => file.finish()),
          writeFileDurable(paths.tempManifestFile, serializeManifest(manifest)),
          removeFinalSet(),
        ]);
        // Data files first, made durable, then the manifest: a manifest on disk always describes
        // a complete set. The data files are closed meanwhile: renaming does not need that.
        const closing = Promise.all(writers.map(({ file }) => file.close()));
        await Promise.all(
          writers.map(async ({ file }) => {
            await renameInto(file.tempPath, paths.dataFile(file.format));
            context.finalNames.add(paths.dataFile(file.format));
          }),
        );
        await context.folder.sync();
        await renameInto(paths.tempManifestFile, paths.manifestFile);
        context.finalNames.add(paths.manifestFile);
        await Promise.all([context.folder.sync(), closing]);
        await context.folder.close();
        return { ...committedOutputOf(manifest, relativeTo(context.root, paths.manifestFile)), manifest };
      });
    },

    async abandon() {
      if (state === 'done') return;
      state = 'done';
      await Promise.all([...writers.map((writer) => writer.file.abandon()), context.folder.close()]);
    },

    fail(failure) {
      return guarded('fail', ['open', 'broken'], 'done', async () => {
        await Promise.all(writers.map((writer) => writer.file.abandon()));
        // After a commit that failed half-way some files may already carry final names.
        await removeFinalSet();
        const manifest = manifestFor('failed', [], failure);
        await writeManifest(manifest);
        await context.folder.close();
        return { manifestPath: relativeTo(context.root, paths.manifestFile), manifest };
      });
    },
  };
}

/** `file` relative to `root`, with forward slashes (as manifests record paths). */
function relativeTo(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}
