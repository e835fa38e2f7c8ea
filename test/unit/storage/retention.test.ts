import { mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../../src/core/errors.js';
import type { Manifest } from '../../../src/storage/index.js';
import { createFileOutputStore, listRuns, pruneRuns } from '../../../src/storage/index.js';
import { listFolder, makePage, makeRun, makeTempRoot, removeTempRoot } from './helpers.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 20, 12, 0, 0);
const JOB = 'daily-mailboxes';

let root: string;

beforeEach(async () => {
  root = await makeTempRoot();
});

afterEach(async () => {
  await removeTempRoot(root);
});

/** Commits (or fails) one run that started at `startedAtMs`, in the date folder of that day. */
async function addRun(runId: string, startedAtMs: number, options: { job?: string; fail?: boolean } = {}): Promise<Manifest> {
  const localDate = new Date(startedAtMs).toISOString().slice(0, 10);
  const run = makeRun({ runId, localDate, job: options.job ?? JOB });
  const output = await createFileOutputStore({ root, clock: { now: () => startedAtMs } }).begin(run);
  await output.writePage(makePage([{ Name: runId, Padding: 'x'.repeat(100) }]));
  return (options.fail === true ? await output.fail({ code: 'EXO_THROTTLED', message: 'slow down' }) : await output.commit()).manifest;
}

/** Every file under the root, relative, sorted. */
async function tree(): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

async function bytesOf(relativePaths: readonly string[]): Promise<number> {
  let total = 0;
  for (const file of relativePaths) total += (await stat(path.join(root, file))).size;
  return total;
}

function runFiles(runId: string, startedAtMs: number, formats = ['csv', 'jsonl', 'manifest.json']): string[] {
  const localDate = new Date(startedAtMs).toISOString().slice(0, 10);
  return formats.map((format) => `${JOB}/${localDate}/${runId}.${format}`);
}

/** Five runs over three days: r1 (oldest) … r5 (newest). */
async function fiveRuns(): Promise<Record<string, number>> {
  const starts = { r1: NOW - 5 * DAY, r2: NOW - 4 * DAY, r3: NOW - 4 * DAY + 3_600_000, r4: NOW - DAY, r5: NOW - 60_000 };
  for (const [runId, startedAtMs] of Object.entries(starts)) await addRun(runId, startedAtMs, { fail: runId === 'r3' });
  return starts;
}

describe('listRuns', () => {
  it('lists runs newest first from their manifests', async () => {
    const starts = await fiveRuns();
    const { runs, warnings } = await listRuns(root, JOB);
    expect(warnings).toEqual([]);
    expect(runs.map((run) => run.runId)).toEqual(['r5', 'r4', 'r3', 'r2', 'r1']);
    const latest = runs[0]!;
    expect(latest).toEqual({
      runId: 'r5',
      job: JOB,
      tenant: 'contoso.onmicrosoft.com',
      status: 'succeeded',
      startedAt: new Date(starts['r5']!).toISOString(),
      endedAt: new Date(starts['r5']!).toISOString(),
      durationMs: 0,
      objectCount: 1,
      files: expect.any(Array) as unknown[],
      manifestPath: path.join(root, JOB, '2026-01-20', 'r5.manifest.json'),
      localDate: '2026-01-20',
    });
    expect(latest.files.map((file) => file.path)).toEqual([`${JOB}/2026-01-20/r5.jsonl`, `${JOB}/2026-01-20/r5.csv`]);
    expect(runs.find((run) => run.runId === 'r3')?.status).toBe('failed');
  });

  it('lists every job when none is named, and nothing for a root or job that does not exist yet', async () => {
    await addRun('a', NOW - DAY);
    await addRun('b', NOW, { job: 'other-job' });
    expect((await listRuns(root)).runs.map((run) => [run.job, run.runId])).toEqual([
      ['other-job', 'b'],
      [JOB, 'a'],
    ]);
    expect(await listRuns(root, 'no-such-job')).toEqual({ runs: [], warnings: [] });
    expect(await listRuns(path.join(root, 'missing'))).toEqual({ runs: [], warnings: [] });
  });

  it('skips unreadable manifests with a warning, and ignores temporaries', async () => {
    await addRun('good', NOW);
    const folder = path.join(root, JOB, '2026-01-20');
    await writeFile(path.join(folder, 'broken.manifest.json'), '{ not json');
    await writeFile(path.join(folder, 'future.manifest.json'), JSON.stringify({ manifestVersion: 2 }));
    await writeFile(path.join(folder, 'undated.manifest.json'), JSON.stringify({ manifestVersion: 1, runId: 'undated', startedAt: 'later', files: [] }));
    await writeFile(path.join(folder, '.temp.manifest.json.tmp'), '{}');
    const { runs, warnings } = await listRuns(root, JOB);
    expect(runs.map((run) => run.runId)).toEqual(['good']);
    expect(warnings).toHaveLength(3);
    expect(warnings.find((warning) => warning.includes('broken.manifest.json'))).toMatch(/not valid JSON/);
    expect(warnings.find((warning) => warning.includes('future.manifest.json'))).toMatch(/not a version 1/);
    expect(warnings.find((warning) => warning.includes('undated.manifest.json'))).toMatch(/startedAt is not a date/);
  });

  it('refuses a job name that is not a plain folder name', async () => {
    const error: unknown = await listRuns(root, '../elsewhere').catch((caught: unknown) => caught);
    expect(isAppError(error) && error.code).toBe('STORE_READ_FAILED');
  });
});

describe('pruneRuns', () => {
  it('keepRuns keeps the newest N runs, failed ones included, and removes the rest oldest first', async () => {
    const starts = await fiveRuns();
    const doomedFiles = [...runFiles('r1', starts['r1']!), ...runFiles('r2', starts['r2']!), ...runFiles('r3', starts['r3']!, ['manifest.json'])];
    const expectedBytes = await bytesOf(doomedFiles);

    const result = await pruneRuns({ root, job: JOB, keepRuns: 2, nowMs: NOW });

    expect(result.removed.map((run) => run.runId)).toEqual(['r1', 'r2', 'r3']);
    expect(result.kept).toBe(2);
    expect(result.bytesFreed).toBe(expectedBytes);
    expect(result.removed.reduce((sum, run) => sum + run.bytes, 0)).toBe(expectedBytes);
    expect(result.orphans).toEqual([]);
    expect(result.dryRun).toBe(false);
    expect(result.removed[0]).toMatchObject({
      runId: 'r1',
      job: JOB,
      localDate: '2026-01-15',
      status: 'succeeded',
      manifestPath: path.join(root, JOB, '2026-01-15', 'r1.manifest.json'),
      files: [path.join(root, JOB, '2026-01-15', 'r1.jsonl'), path.join(root, JOB, '2026-01-15', 'r1.csv')],
    });
    // Empty date folders go too; the job folder stays.
    expect(await tree()).toEqual([...runFiles('r4', starts['r4']!), ...runFiles('r5', starts['r5']!)].sort());
    expect(await listFolder(path.join(root, JOB))).toEqual(['2026-01-19', '2026-01-20']);
    expect((await listRuns(root, JOB)).runs.map((run) => run.runId)).toEqual(['r5', 'r4']);
  });

  it('keepDays keeps runs started within D days of now', async () => {
    await fiveRuns();
    const result = await pruneRuns({ root, job: JOB, keepDays: 2, nowMs: NOW });
    expect(result.removed.map((run) => run.runId)).toEqual(['r1', 'r2', 'r3']);
    expect(result.kept).toBe(2);
    const exact = await pruneRuns({ root, job: JOB, keepDays: 1, nowMs: NOW });
    // r4 started exactly one day before now: still within the window.
    expect(exact.removed).toEqual([]);
    expect((await pruneRuns({ root, job: JOB, keepDays: 0.5, nowMs: NOW })).removed.map((run) => run.runId)).toEqual(['r4']);
  });

  it('with both rules keeps a run that either rule keeps', async () => {
    await fiveRuns();
    // keepRuns alone would keep r5, r4, r3; keepDays alone would keep r5 only.
    const result = await pruneRuns({ root, job: JOB, keepRuns: 3, keepDays: 0.5, nowMs: NOW });
    expect(result.removed.map((run) => run.runId)).toEqual(['r1', 'r2']);
    expect(result.kept).toBe(3);
    // keepDays alone would keep r5, r4; keepRuns alone r5.
    const second = await pruneRuns({ root, job: JOB, keepRuns: 1, keepDays: 2, nowMs: NOW });
    expect(second.removed.map((run) => run.runId)).toEqual(['r3']);
  });

  it('a dry run reports exactly what a real run removes, and removes nothing', async () => {
    await fiveRuns();
    const old = path.join(root, JOB, '2026-01-15', '.r0.jsonl.tmp');
    await writeFile(old, 'partial');
    await utimes(old, new Date(NOW - 3 * DAY), new Date(NOW - 3 * DAY));
    const before = await tree();

    const dry = await pruneRuns({ root, job: JOB, keepRuns: 1, nowMs: NOW, dryRun: true });
    expect(await tree()).toEqual(before);
    expect(dry.dryRun).toBe(true);

    const real = await pruneRuns({ root, job: JOB, keepRuns: 1, nowMs: NOW });
    expect({ ...dry, dryRun: false }).toEqual(real);
    expect(real.orphans.map((orphan) => orphan.path)).toEqual([old]);
  });

  it('removes orphan temporaries and manifest-less data files older than a day, and reports them', async () => {
    await addRun('live', NOW - 60_000);
    const folder = path.join(root, JOB, '2026-01-20');
    const oldFolder = path.join(root, JOB, '2026-01-10');
    await mkdir(oldFolder, { recursive: true });
    const files = {
      oldTemp: path.join(oldFolder, '.crashed.csv.tmp'),
      oldManifestTemp: path.join(oldFolder, '.crashed.manifest.json.tmp'),
      oldData: path.join(folder, 'half-pruned.jsonl'),
      freshTemp: path.join(folder, '.running.jsonl.tmp'),
      freshData: path.join(folder, 'committing.csv'),
      foreign: path.join(folder, 'notes.txt'),
    };
    for (const file of Object.values(files)) await writeFile(file, 'data');
    for (const file of [files.oldTemp, files.oldManifestTemp, files.oldData, files.foreign]) {
      await utimes(file, new Date(NOW - 2 * DAY), new Date(NOW - 2 * DAY));
    }
    await utimes(files.freshTemp, new Date(NOW - 3_600_000), new Date(NOW - 3_600_000));
    await utimes(files.freshData, new Date(NOW - 60_000), new Date(NOW - 60_000));

    const result = await pruneRuns({ root, job: JOB, keepRuns: 10, nowMs: NOW });

    expect(result.removed).toEqual([]);
    expect(result.kept).toBe(1);
    expect(result.orphans.map((orphan) => [orphan.path, orphan.kind, orphan.bytes]).sort()).toEqual(
      [
        [files.oldTemp, 'temp', 4],
        [files.oldManifestTemp, 'temp', 4],
        [files.oldData, 'data', 4],
      ].sort(),
    );
    expect(result.orphans[0]!.modifiedAt).toBe(new Date(NOW - 2 * DAY).toISOString());
    expect(result.bytesFreed).toBe(12);
    expect(await listFolder(folder)).toEqual(['.running.jsonl.tmp', 'committing.csv', 'live.csv', 'live.jsonl', 'live.manifest.json', 'notes.txt']);
    // The old date folder held only orphans and is gone.
    expect(await listFolder(path.join(root, JOB))).toEqual(['2026-01-20']);
  });

  it('leaves runs with unreadable manifests alone and says so', async () => {
    await addRun('old', NOW - 10 * DAY);
    const folder = path.join(root, JOB, '2026-01-10');
    await writeFile(path.join(folder, 'mystery.manifest.json'), 'garbage');
    await writeFile(path.join(folder, 'mystery.jsonl'), '{}\n');
    await utimes(path.join(folder, 'mystery.jsonl'), new Date(NOW - 10 * DAY), new Date(NOW - 10 * DAY));
    const result = await pruneRuns({ root, job: JOB, keepRuns: 0, nowMs: NOW });
    expect(result.removed.map((run) => run.runId)).toEqual(['old']);
    expect(result.kept).toBe(0);
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toContain('mystery.manifest.json');
    // Its data is not an orphan either: its manifest exists, it just cannot be read.
    expect(await listFolder(folder)).toEqual(['mystery.jsonl', 'mystery.manifest.json']);
  });

  it('never deletes outside the run’s folder, whatever its manifest lists, and never touches other jobs', async () => {
    await addRun('victim', NOW, { job: 'other-job' });
    const manifest = await addRun('old', NOW - 10 * DAY);
    const manifestFile = path.join(root, JOB, '2026-01-10', 'old.manifest.json');
    const tampered = {
      ...manifest,
      files: [...manifest.files, { format: 'jsonl', path: 'other-job/2026-01-20/victim.jsonl', bytes: 1, objects: 1, sha256: '' }],
    };
    await writeFile(manifestFile, JSON.stringify(tampered));
    const result = await pruneRuns({ root, job: JOB, keepRuns: 0, nowMs: NOW });
    expect(result.removed.map((run) => run.runId)).toEqual(['old']);
    expect(await tree()).toEqual(['other-job/2026-01-20/victim.csv', 'other-job/2026-01-20/victim.jsonl', 'other-job/2026-01-20/victim.manifest.json']);
  });

  it('refuses options that make no sense', async () => {
    await expect(pruneRuns({ root, job: JOB })).rejects.toThrow(RangeError);
    await expect(pruneRuns({ root, job: JOB, keepRuns: -1 })).rejects.toThrow(/keepRuns/);
    await expect(pruneRuns({ root, job: JOB, keepRuns: 1.5 })).rejects.toThrow(/keepRuns/);
    await expect(pruneRuns({ root, job: JOB, keepDays: Number.NaN })).rejects.toThrow(/keepDays/);
    const error: unknown = await pruneRuns({ root, job: '..', keepRuns: 1 }).catch((caught: unknown) => caught);
    expect(isAppError(error) && error.code).toBe('STORE_WRITE_FAILED');
    expect((error as Error).message).toContain('Refusing to prune output');
  });

  it('has nothing to do for a job without output', async () => {
    expect(await pruneRuns({ root, job: 'never-ran', keepRuns: 1 })).toEqual({ removed: [], kept: 0, bytesFreed: 0, orphans: [], warnings: [], dryRun: false });
  });

  it('prunes runs of every format', async () => {
    const run = makeRun({ runId: 'all', localDate: '2026-01-01', formats: ['jsonl', 'csv', 'json', 'clixml'] });
    const output = await createFileOutputStore({ root, clock: { now: () => NOW - 20 * DAY } }).begin(run);
    await output.writePage(makePage([{ A: 1 }]));
    await output.commit();
    const result = await pruneRuns({ root, job: JOB, keepDays: 1, nowMs: NOW });
    expect(result.removed[0]!.files.map((file) => path.basename(file)).sort()).toEqual(['all.clixml', 'all.csv', 'all.json', 'all.jsonl']);
    expect(await tree()).toEqual([]);
  });
});
