import { createReadStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { loadConfigFile } from '../../config/index.js';
import type { ExorunConfig } from '../../config/index.js';
import { AppError } from '../../core/index.js';
import { OUTPUT_FORMATS, type OutputFormat } from '../../core/index.js';
import { createRunHistory, type RunHistoryEntry } from '../../queue/index.js';
import { pruneConfiguredJobs } from '../../scheduler/index.js';
import { listRuns, readManifest, type Manifest, type RunSummary } from '../../storage/index.js';
import { MANIFEST_SUFFIX } from '../../storage/index.js';
import { connectRedis, createRuntime, type GlobalOptions } from '../runtime.js';
import { printTable } from './sessions.js';

/** `exorun runs [job]`: the newest runs from the run history in Redis. */
export async function runsCommand(job: string | undefined, options: GlobalOptions & { limit: string; json?: boolean }): Promise<number> {
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new AppError('CFG_ENV_INVALID', `--limit must be a whole number of at least 1, got '${options.limit}'.`);
  const entries = await withHistory(options, (history) => history.list({ ...(job === undefined ? {} : { job }), limit }));
  const steps = await Promise.all(entries.map((entry) => stepCountsOf(entry)));
  if (options.json) {
    const withSteps = entries.map((entry, index) => (steps[index] === undefined ? entry : { ...entry, steps: steps[index] }));
    process.stdout.write(`${JSON.stringify(withSteps, null, 2)}\n`);
    return 0;
  }
  if (entries.length === 0) {
    process.stdout.write(job === undefined ? 'no runs recorded yet\n' : `no runs of ${job} recorded yet\n`);
    return 0;
  }
  printTable(
    ['RUN', 'JOB', 'TENANT', 'STATUS', 'STARTED', 'DURATION', 'OBJECTS'],
    entries.map((entry, index) => [
      entry.runId,
      entry.job,
      entry.tenant,
      entry.status + (entry.errorCode === undefined || entry.status === 'succeeded' ? '' : ` (${entry.errorCode})`),
      entry.startedAt === undefined ? '-' : entry.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      entry.durationMs === undefined ? '-' : formatDuration(entry.durationMs),
      objectsCell(entry, steps[index]),
    ]),
  );
  return 0;
}

/** One step's count, for `exorun runs` (from its manifest; `objects` undefined when not readable here). */
interface StepCount {
  step: string;
  cmdlet?: string;
  objects?: number;
  pages?: number;
}

/**
 * A multi-step run's objects per step: mailboxes and their permissions added together would be a
 * meaningless number. Single-step runs keep the plain count (undefined here).
 */
async function stepCountsOf(entry: RunHistoryEntry): Promise<StepCount[] | undefined> {
  // The worker records the counts per step; older entries only name the manifests, read here.
  if (entry.steps !== undefined && entry.steps.length > 1) return entry.steps.map((step) => ({ step: step.name, objects: step.objects }));
  const manifests = stepManifestFiles(entry);
  if (manifests.length < 2) return undefined;
  return Promise.all(
    manifests.map(async ({ step, file }) => {
      const manifest = entry.outputRoot === undefined ? undefined : await readManifest(path.join(entry.outputRoot, ...file.split('/'))).catch(() => undefined);
      return manifest === undefined ? { step } : { step, cmdlet: manifest.cmdlet, objects: manifest.objectCount, pages: manifest.pageCount };
    }),
  );
}

/** The OBJECTS cell: `300`, or per step `mailboxes:120,permissions:480` (one word, so columns stay parseable). */
function objectsCell(entry: RunHistoryEntry, steps: StepCount[] | undefined): string {
  if (steps !== undefined) return steps.map((step) => `${step.step}:${step.objects ?? '?'}`).join(',');
  return entry.objects === undefined ? '-' : String(entry.objects);
}

/** The manifests a run wrote, in step order, with the step names their file names carry. */
function stepManifestFiles(entry: RunHistoryEntry): { step: string; file: string }[] {
  return (entry.files ?? [])
    .filter((file) => file.endsWith(MANIFEST_SUFFIX))
    .map((file) => {
      const base = path.posix.basename(file, MANIFEST_SUFFIX);
      const step = base.startsWith(`${entry.runId}.`) ? base.slice(entry.runId.length + 1) : '';
      return { step: step || entry.job, file };
    });
}

/** `exorun show <run>`: one run's history entry and, when its files are on this machine, its manifest. */
export async function showCommand(runId: string, options: GlobalOptions & { json?: boolean }): Promise<number> {
  const entry = await withHistory(options, (history) => history.get(runId));
  if (!entry) {
    throw new AppError(
      'RUN_NOT_FOUND',
      `No run ${runId} in the run history (it may be older than the history keeps). \`exorun runs\` lists the recorded runs.`,
    );
  }
  const manifests = await manifestsOf(entry);
  const manifest = manifests[0];
  const multiStep = manifests.length > 1;
  if (options.json) {
    // `manifest` is the first step's (single-step runs have only that); `manifests` has every step's.
    process.stdout.write(`${JSON.stringify({ run: entry, manifest: manifest ?? null, manifests }, null, 2)}\n`);
    return 0;
  }
  const lines: [string, string | undefined][] = [
    ['run', entry.runId],
    ['job', entry.job],
    ['tenant', entry.tenant],
    ['status', entry.status],
    ['trigger', entry.trigger],
    ['scheduled for', entry.scheduledFor],
    ['started', entry.startedAt],
    ['ended', entry.endedAt],
    ['duration', entry.durationMs === undefined ? undefined : formatDuration(entry.durationMs)],
    ['attempt', entry.attempt === undefined ? undefined : String(entry.attempt)],
    ['pages', entry.pages === undefined ? undefined : String(entry.pages)],
    [
      'objects',
      multiStep
        ? manifests.map((step) => `${step.step ?? step.cmdlet} ${step.objectCount}`).join(', ')
        : entry.objects === undefined
          ? undefined
          : String(entry.objects),
    ],
    ['error', entry.errorCode === undefined ? entry.error : `${entry.errorCode}: ${entry.error ?? ''}`],
  ];
  for (const [name, value] of lines) if (value !== undefined) process.stdout.write(`${`${name}:`.padEnd(15)}${value}\n`);
  if (multiStep) {
    process.stdout.write('steps:\n');
    for (const [index, step] of manifests.entries()) {
      const items = step.items === undefined ? '' : `, ${step.items.total} item(s), ${step.items.failed} failed`;
      process.stdout.write(
        `  ${index + 1}. ${step.step ?? step.cmdlet}: ${step.cmdlet} (${step.service}), ${step.status}, ${step.objectCount} object(s) in ${step.pageCount} page(s)${items}\n`,
      );
      printManifestDetails(entry, step, '     ');
    }
  } else if (manifest) {
    process.stdout.write(`${'cmdlet:'.padEnd(15)}${manifest.cmdlet} (${manifest.service})\n`);
    printManifestDetails(entry, manifest, '');
  } else if (entry.files !== undefined) {
    process.stdout.write('files:\n');
    for (const file of entry.files) process.stdout.write(`  ${path.join(entry.outputRoot ?? '', file)}\n`);
  }
  return 0;
}

/** Files, warnings, cmdlet errors and request ids of one manifest (a step's, indented, in a multi-step run). */
function printManifestDetails(entry: RunHistoryEntry, manifest: Manifest, indent: string): void {
  const label = (name: string): string => `${indent}${`${name}:`.padEnd(15)}`;
  process.stdout.write(`${indent}files:\n`);
  for (const file of manifest.files) {
    process.stdout.write(`${indent}  ${path.join(entry.outputRoot ?? '', file.path)}  ${file.objects} objects, ${file.bytes} bytes, sha256 ${file.sha256}\n`);
  }
  if (manifest.warnings.length > 0) {
    process.stdout.write(`${indent}warnings:\n`);
    for (const warning of manifest.warnings) process.stdout.write(`${indent}  ${warning}\n`);
  }
  if (manifest.errors.length > 0) process.stdout.write(`${label('cmdlet errors')}${manifest.errors.length + (manifest.errorsDropped ?? 0)}\n`);
  if (manifest.requestIds.length > 0) process.stdout.write(`${label('request ids')}${manifest.requestIds.join(', ')}\n`);
}

/**
 * `exorun output <job> [run]`: writes a run's output file to stdout (or its path with --path).
 * Runs are found from the manifests on disk, so it works without Redis; the default is the newest
 * run that succeeded (--latest).
 */
export async function outputCommand(
  jobName: string,
  runId: string | undefined,
  options: GlobalOptions & { format?: string; path?: boolean; latest?: boolean },
): Promise<number> {
  const runtime = createRuntime(options, 'cli');
  const config = await loadConfigFile(runtime.configFile);
  const job = jobOf(config, jobName);
  if (options.format !== undefined && !OUTPUT_FORMATS.includes(options.format as OutputFormat)) {
    throw new AppError('CFG_ENV_INVALID', `--format must be one of ${OUTPUT_FORMATS.join(', ')}, got '${options.format}'.`);
  }
  const listing = await listRuns(job.output.directory, job.name);
  const run =
    runId === undefined ? listing.runs.find((candidate) => candidate.status === 'succeeded') : listing.runs.find((candidate) => candidate.runId === runId);
  if (!run) {
    throw new AppError(
      'OUTPUT_NOT_FOUND',
      runId === undefined
        ? `No successful run of ${job.name} under ${job.output.directory} yet. Run it with \`exorun run ${job.name} --wait\`.`
        : `No run ${runId} of ${job.name} under ${job.output.directory} (it may have been pruned).`,
    );
  }
  const file = pickFile(run, options.format as OutputFormat | undefined);
  const absolute = path.join(job.output.directory, ...file.path.split('/'));
  if (options.path) {
    process.stdout.write(`${absolute}\n`);
    return 0;
  }
  await pipeline(createReadStream(absolute), process.stdout, { end: false });
  return 0;
}

/** `exorun prune [job]`: applies the jobs' `retention` now (the scheduler also does it daily). */
export async function pruneCommand(jobName: string | undefined, options: GlobalOptions & { dryRun?: boolean; json?: boolean }): Promise<number> {
  const runtime = createRuntime(options, 'cli');
  const config = await loadConfigFile(runtime.configFile);
  if (jobName !== undefined) jobOf(config, jobName);
  const results = await pruneConfiguredJobs(config, { ...(jobName === undefined ? {} : { job: jobName }), dryRun: options.dryRun === true });
  if (options.json) {
    process.stdout.write(
      `${JSON.stringify(
        results.map((entry) => ({
          job: entry.job,
          result: entry.result,
          error: entry.error === undefined ? undefined : entry.error instanceof Error ? entry.error.message : JSON.stringify(entry.error),
        })),
        null,
        2,
      )}\n`,
    );
    return results.some((entry) => entry.error !== undefined) ? 1 : 0;
  }
  if (results.length === 0) {
    process.stdout.write(
      jobName === undefined ? 'no job has a retention setting; nothing to prune\n' : `${jobName} has no retention setting; nothing to prune\n`,
    );
    return 0;
  }
  const verb = options.dryRun ? 'would remove' : 'removed';
  let failed = false;
  for (const { job, result, error } of results) {
    if (!result) {
      failed = true;
      process.stderr.write(`${job}: prune failed: ${error instanceof Error ? error.message : String(error)}\n`);
      continue;
    }
    process.stdout.write(
      `${job}: ${verb} ${result.removed.length} run(s) and ${result.orphans.length} leftover file(s), ${result.bytesFreed} bytes; kept ${result.kept}\n`,
    );
    for (const run of result.removed) process.stdout.write(`  ${run.runId} (${run.status}, started ${run.startedAt})\n`);
    for (const warning of result.warnings) process.stdout.write(`  warning: ${warning}\n`);
  }
  return failed ? 1 : 0;
}

async function withHistory<T>(options: GlobalOptions, use: (history: ReturnType<typeof createRunHistory>) => Promise<T>): Promise<T> {
  const runtime = createRuntime(options, 'cli');
  const { connection } = await connectRedis(runtime, 'client', 'exorun-history');
  try {
    return await use(createRunHistory({ redis: connection, prefix: runtime.env.EXORUN_PREFIX }));
  } finally {
    connection.disconnect();
  }
}

/** Every step's manifest that is readable on this machine, in step order. */
async function manifestsOf(entry: RunHistoryEntry): Promise<Manifest[]> {
  const { outputRoot } = entry;
  if (outputRoot === undefined) return [];
  const manifests = await Promise.all(
    stepManifestFiles(entry).map(({ file }) => readManifest(path.join(outputRoot, ...file.split('/'))).catch(() => undefined)),
  );
  return manifests.filter((manifest): manifest is Manifest => manifest !== undefined);
}

function jobOf(config: ExorunConfig, name: string): ExorunConfig['jobs'][string] {
  const job = config.jobs[name];
  if (!job) {
    throw new AppError('CFG_JOB_UNKNOWN', `No job named '${name}' in ${config.file} (jobs: ${Object.keys(config.jobs).join(', ') || 'none'}).`);
  }
  return job;
}

function pickFile(run: RunSummary, format: OutputFormat | undefined): RunSummary['files'][number] {
  const file = format === undefined ? run.files[0] : run.files.find((candidate) => candidate.format === format);
  if (!file) {
    const written = run.files.map((candidate) => candidate.format).join(', ') || 'none';
    throw new AppError(
      'OUTPUT_NOT_FOUND',
      `Run ${run.runId} has no ${format ?? 'output'} file (it wrote: ${written}). Add the format to the job's output.formats.`,
    );
  }
  return file;
}

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return minutes < 60 ? `${minutes}m${String(seconds).padStart(2, '0')}s` : `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}
