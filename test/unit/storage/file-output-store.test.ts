import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAppError } from '../../../src/core/errors.js';
import type { Manifest } from '../../../src/storage/index.js';
import { createFileOutputStore, MANIFEST_ERRORS_LIMIT, manifestPath, readManifest } from '../../../src/storage/index.js';
import { listFolder, makePage, makeRun, makeTempRoot, readJsonl, removeTempRoot, runFolder, sha256OfFile, steppingClock } from './helpers.js';

const AWKWARD_OBJECTS: Record<string, unknown>[] = [
  {
    Name: 'Zoë Müller',
    Note: 'plain',
    Count: 1,
    Enabled: true,
    Tags: ['SMTP:zoe@contoso.com', 'smtp:zoe@contoso.onmicrosoft.com'],
    Meta: { Quota: '50 GB', Flags: [1, 2] },
    Empty: '',
    Missing: null,
  },
  { Name: '李 娜', Note: 'comma, here', Count: 0, Enabled: false, Tags: [], Meta: {}, Empty: '', Missing: null },
  { Name: '🚀 Ops 👩‍👩‍👧', Note: 'say "hi"', Count: -1.5, Enabled: true, Tags: [true, null, { x: 1 }], Meta: null, Empty: '', Missing: null },
  { Name: 'CRLF', Note: 'line1\r\nline2', Count: 1e21, Enabled: false, Tags: ['a;b'], Meta: { s: 'é"' }, Empty: '', Missing: null },
  { Name: 'LF', Note: 'lf\nonly', Count: 3, Enabled: true, Tags: ['x'], Meta: {}, Empty: '', Missing: null },
  { Name: 'CR', Note: 'cr\ronly', Count: 4, Enabled: true, Tags: ['y'], Meta: {}, Empty: '', Missing: null },
];

const AWKWARD_EXPECTED_CELLS: Record<string, string>[] = [
  {
    Name: 'Zoë Müller',
    Note: 'plain',
    Count: '1',
    Enabled: 'True',
    Tags: 'SMTP:zoe@contoso.com; smtp:zoe@contoso.onmicrosoft.com',
    Meta: '{"Quota":"50 GB","Flags":[1,2]}',
    Empty: '',
    Missing: '',
  },
  { Name: '李 娜', Note: 'comma, here', Count: '0', Enabled: 'False', Tags: '', Meta: '{}', Empty: '', Missing: '' },
  { Name: '🚀 Ops 👩‍👩‍👧', Note: 'say "hi"', Count: '-1.5', Enabled: 'True', Tags: 'True; ; {"x":1}', Meta: '', Empty: '', Missing: '' },
  { Name: 'CRLF', Note: 'line1\r\nline2', Count: '1e+21', Enabled: 'False', Tags: 'a;b', Meta: '{"s":"é\\""}', Empty: '', Missing: '' },
  { Name: 'LF', Note: 'lf\nonly', Count: '3', Enabled: 'True', Tags: 'x', Meta: '{}', Empty: '', Missing: '' },
  { Name: 'CR', Note: 'cr\ronly', Count: '4', Enabled: 'True', Tags: 'y', Meta: '{}', Empty: '', Missing: '' },
];

function readCsv(text: string): Record<string, string>[] {
  return parse<Record<string, string>>(text, { columns: true });
}

async function expectStoreError(promise: Promise<unknown>, fragment: string): Promise<void> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(isAppError(error), String(error)).toBe(true);
  expect(isAppError(error) && error.code).toBe('STORE_WRITE_FAILED');
  expect((error as Error).message).toContain(fragment);
}

let root: string;

beforeEach(async () => {
  root = await makeTempRoot();
});

afterEach(async () => {
  await removeTempRoot(root);
});

describe('createFileOutputStore: content', () => {
  it('writes JSONL that reads back as the input objects and CSV that reads back as the expected cells', async () => {
    // Nested objects as one JSON cell, the behaviour before flattening became the default.
    const run = makeRun({ csv: { flatten: false } });
    const output = await createFileOutputStore({ root, bom: false }).begin(run);
    await output.writePage(makePage(AWKWARD_OBJECTS.slice(0, 2)));
    await output.writePage(makePage(AWKWARD_OBJECTS.slice(2)));
    await output.commit();

    const folder = runFolder(root, run);
    expect(await readJsonl(path.join(folder, `${run.runId}.jsonl`))).toEqual(AWKWARD_OBJECTS);
    const csv = await readFile(path.join(folder, `${run.runId}.csv`), 'utf8');
    expect(csv.startsWith('Name,Note,Count,Enabled,Tags,Meta,Empty,Missing\r\n')).toBe(true);
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(readCsv(csv)).toEqual(AWKWARD_EXPECTED_CELLS);
  });

  it('writes UTF-8 with a byte order mark by default (Excel needs it), and without one when asked', async () => {
    const plain = makeRun({ runId: 'plain', csv: { bom: false } });
    const withBom = makeRun({ runId: 'bom' });
    for (const run of [plain, withBom]) {
      const output = await createFileOutputStore({ root }).begin(run);
      await output.writePage(makePage([{ Name: 'Zoë' }]));
      await output.commit();
    }
    const folder = runFolder(root, plain);
    const plainCsv = await readFile(path.join(folder, 'plain.csv'));
    const bomCsv = await readFile(path.join(folder, 'bom.csv'));
    const jsonl = await readFile(path.join(folder, 'bom.jsonl'));
    expect([...plainCsv.subarray(0, 4)]).toEqual([...Buffer.from('Name')]);
    expect([...bomCsv.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(bomCsv.subarray(3).equals(plainCsv)).toBe(true);
    expect(jsonl.toString('utf8')).toBe('{"Name":"Zoë"}\n');
  });

  it('writes CSV for Excel: a chosen delimiter, formulas neutralised by default, read back by an independent parser', async () => {
    const objects = [
      { Name: 'Zoë; Łukasz', Formula: '=HYPERLINK("http://x","y")', Plus: '+1-2', At: '@SUM(A1)', Minus: '-12.5', Dash: '- note', Tab: '\tx', Count: -3 },
      { Name: '日本語 "quoted"', Formula: 'plain', Plus: '+44 20 7946 0000', At: 'a@b.c', Minus: '-1e3', Dash: '-', Tab: 'x\ty', Count: 0 },
    ];
    const guarded = makeRun({ runId: 'guarded', csv: { delimiter: ';' } });
    const raw = makeRun({ runId: 'raw', csv: { delimiter: '\t', formulaGuard: false } });
    for (const run of [guarded, raw]) {
      const output = await createFileOutputStore({ root }).begin(run);
      await output.writePage(makePage(objects));
      await output.commit();
    }
    const folder = runFolder(root, guarded);
    const guardedRows = parse<Record<string, string>>(await readFile(path.join(folder, 'guarded.csv')), { bom: true, delimiter: ';', columns: true });
    expect(guardedRows).toEqual([
      {
        Name: 'Zoë; Łukasz',
        Formula: '\'=HYPERLINK("http://x","y")',
        Plus: "'+1-2",
        At: "'@SUM(A1)",
        Minus: '-12.5',
        Dash: "'- note",
        Tab: "'\tx",
        Count: '-3',
      },
      { Name: '日本語 "quoted"', Formula: 'plain', Plus: "'+44 20 7946 0000", At: 'a@b.c', Minus: '-1e3', Dash: "'-", Tab: 'x\ty', Count: '0' },
    ]);
    const rawRows = parse<Record<string, string>>(await readFile(path.join(folder, 'raw.csv')), { bom: true, delimiter: '\t', columns: true });
    expect(rawRows.map((row) => row['Formula'])).toEqual(['=HYPERLINK("http://x","y")', 'plain']);
    expect(rawRows.map((row) => row['Tab'])).toEqual(['\tx', 'x\ty']);
  });

  it('takes CSV columns from select, in its order, whatever the objects hold', async () => {
    const run = makeRun({ select: ['Name', 'Size, MB', 'Enabled'] });
    const output = await createFileOutputStore({ root, bom: false }).begin(run);
    await output.writePage(makePage([{ Enabled: true, Name: 'a', Extra: 1 }]));
    await output.writePage(makePage([{ Name: 'b', 'Size, MB': 12, Later: 'x' }]));
    const { manifest: manifest } = await output.commit();

    const csv = await readFile(path.join(runFolder(root, run), `${run.runId}.csv`), 'utf8');
    expect(csv).toBe('Name,"Size, MB",Enabled\r\na,,True\r\nb,12,\r\n');
    expect(manifest.warnings).toEqual([]);
    expect(manifest.select).toEqual(['Name', 'Size, MB', 'Enabled']);
  });

  it('takes CSV columns from the first page that has objects and reports keys that appear later', async () => {
    const run = makeRun();
    const output = await createFileOutputStore({ root, bom: false }).begin(run);
    await output.writePage(makePage([], { warnings: ['cmdlet warning'] }));
    await output.writePage(makePage([{ Name: 'a' }, { Alias: 'b', Name: 'b' }]));
    await output.writePage(makePage([{ Name: 'c', Late: 1 }], { warnings: ['cmdlet warning'] }));
    await output.writePage(makePage([{ Late: 2, Later: true, Name: 'd' }]));
    const { manifest: manifest } = await output.commit();

    const folder = runFolder(root, run);
    const csv = await readFile(path.join(folder, `${run.runId}.csv`), 'utf8');
    expect(csv).toBe('Name,Alias\r\na,\r\nb,b\r\nc,\r\nd,\r\n');
    expect(await readJsonl(path.join(folder, `${run.runId}.jsonl`))).toEqual([
      { Name: 'a' },
      { Alias: 'b', Name: 'b' },
      { Name: 'c', Late: 1 },
      { Late: 2, Later: true, Name: 'd' },
    ]);
    expect(manifest.warnings).toEqual([
      'cmdlet warning',
      "CSV: property 'Late' first appeared after the header was written; it is kept in JSONL only.",
      "CSV: property 'Later' first appeared after the header was written; it is kept in JSONL only.",
    ]);
  });

  it('writes only the requested formats', async () => {
    const run = makeRun({ formats: ['jsonl'] });
    const output = await createFileOutputStore({ root, bom: false }).begin(run);
    await output.writePage(makePage([{ Name: 'a' }]));
    const { manifest: manifest } = await output.commit();
    expect(await listFolder(runFolder(root, run))).toEqual([`${run.runId}.jsonl`, `${run.runId}.manifest.json`]);
    expect(manifest.files.map((file) => file.format)).toEqual(['jsonl']);

    const csvOnly = makeRun({ runId: 'csv-only', formats: ['csv'] });
    const second = await createFileOutputStore({ root, bom: false }).begin(csvOnly);
    await second.writePage(makePage([{ Name: 'a' }]));
    expect((await second.commit()).manifest.files.map((file) => file.format)).toEqual(['csv']);
    expect((await listFolder(runFolder(root, csvOnly))).filter((name) => name.startsWith('csv-only'))).toEqual(['csv-only.csv', 'csv-only.manifest.json']);
  });
});

describe('createFileOutputStore: zero objects', () => {
  it('writes an empty JSONL and a header-only CSV when select is given', async () => {
    const run = makeRun({ select: ['Name', 'Alias'] });
    const output = await createFileOutputStore({ root, bom: false }).begin(run);
    await output.writePage(makePage([]));
    const { manifest: manifest } = await output.commit();
    const folder = runFolder(root, run);
    expect(await readFile(path.join(folder, `${run.runId}.jsonl`), 'utf8')).toBe('');
    expect(await readFile(path.join(folder, `${run.runId}.csv`), 'utf8')).toBe('Name,Alias\r\n');
    expect(manifest.objectCount).toBe(0);
    expect(manifest.pageCount).toBe(1);
    expect(manifest.files.map((file) => [file.format, file.objects, file.bytes])).toEqual([
      ['jsonl', 0, 0],
      ['csv', 0, 12],
    ]);
  });

  it('writes empty files when nothing tells the columns', async () => {
    const run = makeRun();
    const output = await createFileOutputStore({ root, bom: false }).begin(run);
    const { manifest: manifest } = await output.commit();
    const folder = runFolder(root, run);
    expect(await readFile(path.join(folder, `${run.runId}.csv`), 'utf8')).toBe('');
    expect(await readFile(path.join(folder, `${run.runId}.jsonl`), 'utf8')).toBe('');
    const emptySha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    expect(manifest.files.map((file) => file.sha256)).toEqual([emptySha, emptySha]);
    expect(manifest.pageCount).toBe(0);
  });
});

describe('createFileOutputStore: manifest', () => {
  it('describes the run, and its hashes and sizes match the files on disk', async () => {
    const clock = steppingClock();
    const run = makeRun({ select: ['Name', 'Note'], scheduledFor: '2026-01-15T02:00:00.000Z', attempt: 2 });
    const output = await createFileOutputStore({ root, clock }).begin(run);
    await output.writePage(makePage(AWKWARD_OBJECTS.slice(0, 3), { requestId: 'r-1', warnings: ['w1', 'w2'], errors: [{ e: 1 }] }));
    await output.writePage(makePage([], { requestId: '', warnings: ['w2'] }));
    await output.writePage(makePage(AWKWARD_OBJECTS.slice(3), { requestId: 'r-2', errors: [{ e: 2 }, 'text'] }));
    await output.writePage(makePage([], { requestId: 'r-1' }));
    await output.writePage(makePage([], { requestId: undefined }));
    const { manifest: manifest } = await output.commit();

    const file = manifestPath(root, run);
    expect(path.dirname(file)).toBe(runFolder(root, run));
    const text = await readFile(file, 'utf8');
    expect(text).toBe(JSON.stringify(manifest, null, 2) + '\n');
    expect(await readManifest(file)).toEqual(manifest);

    const prefix = `${run.job}/${run.localDate}/${run.runId}`;
    const expected: Manifest = {
      manifestVersion: 1,
      runId: run.runId,
      job: run.job,
      tenant: run.tenant,
      service: 'exo',
      cmdlet: 'Get-EXOMailbox',
      parameters: { ResultSize: 'Unlimited' },
      select: ['Name', 'Note'],
      scheduledFor: '2026-01-15T02:00:00.000Z',
      attempt: 2,
      startedAt: '2026-01-15T02:00:00.000Z',
      endedAt: '2026-01-15T02:00:01.000Z',
      durationMs: 1000,
      status: 'succeeded',
      objectCount: 6,
      pageCount: 5,
      files: [
        { format: 'jsonl', path: `${prefix}.jsonl`, bytes: expect.any(Number) as number, objects: 6, sha256: expect.any(String) as string },
        { format: 'csv', path: `${prefix}.csv`, bytes: expect.any(Number) as number, objects: 6, sha256: expect.any(String) as string },
      ],
      warnings: ['w1', 'w2'],
      errors: [{ e: 1 }, { e: 2 }, 'text'],
      requestIds: ['r-1', 'r-2'],
    };
    expect(manifest).toEqual(expected);
    expect(Object.keys(manifest)).toEqual(Object.keys(expected));
    for (const entry of manifest.files) {
      expect(await sha256OfFile(path.join(root, ...entry.path.split('/')))).toEqual({ sha256: entry.sha256, bytes: entry.bytes });
    }
  });

  it('keeps the first 1,000 errors and counts the rest in errorsDropped', async () => {
    const output = await createFileOutputStore({ root, bom: false }).begin(makeRun());
    const errors = (from: number, count: number): unknown[] => Array.from({ length: count }, (_, i) => ({ index: from + i }));
    await output.writePage(makePage([{ A: 1 }], { errors: errors(0, 600) }));
    await output.writePage(makePage([{ A: 2 }], { errors: errors(600, 600) }));
    await output.writePage(makePage([], { errors: errors(1200, 5) }));
    const { manifest: manifest } = await output.commit();
    expect(manifest.errors).toHaveLength(MANIFEST_ERRORS_LIMIT);
    expect(manifest.errors[0]).toEqual({ index: 0 });
    expect(manifest.errors.at(-1)).toEqual({ index: 999 });
    expect(manifest.errorsDropped).toBe(205);
    expect(Object.keys(manifest).slice(Object.keys(manifest).indexOf('errors'), Object.keys(manifest).indexOf('errors') + 3)).toEqual([
      'errors',
      'errorsDropped',
      'requestIds',
    ]);
    expect(await readManifest(manifestPath(root, makeRun()))).toEqual(manifest);

    const few = await createFileOutputStore({ root, bom: false }).begin(makeRun({ runId: 'few' }));
    await few.writePage(makePage([], { errors: errors(0, MANIFEST_ERRORS_LIMIT) }));
    const { manifest: fewManifest } = await few.commit();
    expect(fewManifest.errors).toHaveLength(MANIFEST_ERRORS_LIMIT);
    expect('errorsDropped' in fewManifest).toBe(false);
  });

  it('leaves out select and scheduledFor when the run has none', async () => {
    const output = await createFileOutputStore({ root, bom: false }).begin(makeRun());
    const { manifest: manifest } = await output.commit();
    expect('select' in manifest).toBe(false);
    expect('scheduledFor' in manifest).toBe(false);
    expect('failure' in manifest).toBe(false);
  });

  it('reports a resolved root', () => {
    expect(createFileOutputStore({ root: 'relative/out' }).root).toBe(path.resolve('relative/out'));
  });
});

describe('createFileOutputStore: atomicity', () => {
  it('keeps data under dot-prefixed temporary names until commit', async () => {
    const run = makeRun();
    const output = await createFileOutputStore({ root, bom: false }).begin(run);
    await output.writePage(makePage([{ Name: 'a' }]));
    const folder = runFolder(root, run);
    expect(await listFolder(folder)).toEqual([`.${run.runId}.csv.tmp`, `.${run.runId}.jsonl.tmp`]);
    await output.commit();
    expect(await listFolder(folder)).toEqual([`${run.runId}.csv`, `${run.runId}.jsonl`, `${run.runId}.manifest.json`]);
  });

  it('leaves no final names behind when the writing process is killed, and the next attempt starts clean', async () => {
    const run = makeRun();
    const folder = runFolder(root, run);
    const script = path.join(import.meta.dirname, 'fixtures', 'crash-run.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', script, root], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('written')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`crash-run exited early with ${code}`)));
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const leftovers = await listFolder(folder);
    expect(leftovers).toEqual([`.${run.runId}.csv.tmp`, `.${run.runId}.jsonl.tmp`]);
    expect((await stat(path.join(folder, `.${run.runId}.jsonl.tmp`))).size).toBeGreaterThan(0);

    const retry = await createFileOutputStore({ root, bom: false }).begin({ ...run, attempt: 2 });
    for (const name of leftovers) expect((await stat(path.join(folder, name))).size).toBe(0);
    await retry.writePage(makePage([{ Name: 'second attempt', Index: 1 }]));
    const { manifest: manifest } = await retry.commit();
    expect(await readJsonl(path.join(folder, `${run.runId}.jsonl`))).toEqual([{ Name: 'second attempt', Index: 1 }]);
    expect(manifest.attempt).toBe(2);
    expect(manifest.objectCount).toBe(1);
  });

  it('removes stale temporary files of an abandoned attempt at begin', async () => {
    const run = makeRun();
    const folder = runFolder(root, run);
    const abandoned = await createFileOutputStore({ root, bom: false }).begin(run);
    await abandoned.writePage(makePage([{ Name: 'abandoned', Secret: 'x' }]));
    // A stale manifest temporary from an attempt killed during commit.
    await writeFile(path.join(folder, `.${run.runId}.manifest.json.tmp`), '{"half":');

    const retry = await createFileOutputStore({ root, bom: false }).begin({ ...run, attempt: 2 });
    expect(await listFolder(folder)).toEqual([`.${run.runId}.csv.tmp`, `.${run.runId}.jsonl.tmp`]);
    await retry.writePage(makePage([{ Name: 'kept' }]));
    await retry.commit();

    expect(await readJsonl(path.join(folder, `${run.runId}.jsonl`))).toEqual([{ Name: 'kept' }]);
    expect(await readFile(path.join(folder, `${run.runId}.csv`), 'utf8')).toBe('Name\r\nkept\r\n');
    expect(await listFolder(folder)).toEqual([`${run.runId}.csv`, `${run.runId}.jsonl`, `${run.runId}.manifest.json`]);
  });

  it('abandon() removes its temporaries, writes no manifest and keeps an earlier complete set', async () => {
    const run = makeRun();
    const folder = runFolder(root, run);
    const first = await createFileOutputStore({ root, bom: false }).begin(run);
    await first.writePage(makePage([{ Name: 'complete' }]));
    await first.commit();

    const retry = await createFileOutputStore({ root, bom: false }).begin({ ...run, attempt: 2 });
    await retry.writePage(makePage([{ Name: 'partial' }]));
    await retry.abandon();
    await retry.abandon();

    expect(await listFolder(folder)).toEqual([`${run.runId}.csv`, `${run.runId}.jsonl`, `${run.runId}.manifest.json`]);
    expect(await readJsonl(path.join(folder, `${run.runId}.jsonl`))).toEqual([{ Name: 'complete' }]);
    await expect(retry.writePage(makePage([{ Name: 'late' }]))).rejects.toThrow(/done/);
  });

  it('keeps a stalled attempt that wakes up from touching the files of the attempt that replaced it', async () => {
    const run = makeRun();
    const folder = runFolder(root, run);
    const stalled = await createFileOutputStore({ root, bom: false }).begin({ ...run, attemptId: 'first' });
    await stalled.writePage(makePage([{ Name: 'from the stalled attempt' }]));
    const replacement = await createFileOutputStore({ root, bom: false }).begin({ ...run, attempt: 2, attemptId: 'second' });
    await replacement.writePage(makePage([{ Name: 'from the replacement' }]));
    // The stalled attempt resumes, notices it lost the run and cleans up after itself only.
    await stalled.abandon();
    expect(await listFolder(folder)).toEqual([`.${run.runId}.csv.second.tmp`, `.${run.runId}.jsonl.second.tmp`]);
    await replacement.commit();
    expect(await readJsonl(path.join(folder, `${run.runId}.jsonl`))).toEqual([{ Name: 'from the replacement' }]);
  });

  it('replaces the files of an earlier committed attempt of the same run', async () => {
    const run = makeRun();
    const folder = runFolder(root, run);
    const first = await createFileOutputStore({ root, bom: false }).begin(run);
    await first.writePage(makePage([{ Name: 'first' }, { Name: 'first again' }]));
    const { manifest: firstManifest } = await first.commit();

    const second = await createFileOutputStore({ root, bom: false }).begin({ ...run, attempt: 2 });
    await second.writePage(makePage([{ Name: 'second' }]));
    const { manifest: secondManifest } = await second.commit();

    expect(await listFolder(folder)).toEqual([`${run.runId}.csv`, `${run.runId}.jsonl`, `${run.runId}.manifest.json`]);
    expect(await readJsonl(path.join(folder, `${run.runId}.jsonl`))).toEqual([{ Name: 'second' }]);
    expect(await readManifest(manifestPath(root, run))).toEqual(secondManifest);
    expect(secondManifest.files.map((file) => file.path)).toEqual(firstManifest.files.map((file) => file.path));
    expect(secondManifest.files[0]!.sha256).not.toBe(firstManifest.files[0]!.sha256);
    for (const entry of secondManifest.files) {
      expect(await sha256OfFile(path.join(root, entry.path))).toEqual({ sha256: entry.sha256, bytes: entry.bytes });
    }
  });
});

describe('createFileOutputStore: failure', () => {
  it('fail() removes the data and writes a failed manifest', async () => {
    const clock = steppingClock();
    const run = makeRun();
    const output = await createFileOutputStore({ root, clock }).begin(run);
    await output.writePage(makePage([{ Name: 'a' }], { requestId: 'r-9', warnings: ['careful'] }));
    const { manifest: manifest } = await output.fail({ code: 'EXO_THROTTLED', message: 'slow down' });

    expect(await listFolder(runFolder(root, run))).toEqual([`${run.runId}.manifest.json`]);
    expect(await readManifest(manifestPath(root, run))).toEqual(manifest);
    expect(manifest).toMatchObject({
      status: 'failed',
      files: [],
      failure: { code: 'EXO_THROTTLED', message: 'slow down' },
      objectCount: 1,
      pageCount: 1,
      warnings: ['careful'],
      requestIds: ['r-9'],
      durationMs: 1000,
    });
  });

  it('a failed retry does not leave an earlier attempt’s data next to its failed manifest', async () => {
    const run = makeRun();
    const first = await createFileOutputStore({ root, bom: false }).begin(run);
    await first.writePage(makePage([{ Name: 'first' }]));
    await first.commit();
    const second = await createFileOutputStore({ root, bom: false }).begin({ ...run, attempt: 2 });
    await second.fail({ code: 'RUN_ABORTED', message: 'shutdown' });
    expect(await listFolder(runFolder(root, run))).toEqual([`${run.runId}.manifest.json`]);
    expect((await readManifest(manifestPath(root, run))).attempt).toBe(2);
  });

  it('reports a commit that cannot rename as STORE_WRITE_FAILED, then allows only fail()', async () => {
    const run = makeRun({ formats: ['jsonl'] });
    const folder = runFolder(root, run);
    const output = await createFileOutputStore({ root, bom: false }).begin(run);
    await output.writePage(makePage([{ Name: 'a' }]));
    // A non-empty directory under the final name makes both unlink and rename fail.
    const blocker = path.join(folder, `${run.runId}.jsonl`);
    await mkdir(path.join(blocker, 'inside'), { recursive: true });

    await expectStoreError(output.commit(), blocker);
    await expect(output.writePage(makePage([{ Name: 'b' }]))).rejects.toThrow(/broken/);
    await expect(output.commit()).rejects.toThrow(/broken/);

    await rm(blocker, { recursive: true });
    const { manifest: manifest } = await output.fail({ code: 'STORE_WRITE_FAILED', message: 'disk trouble' });
    expect(manifest.status).toBe('failed');
    expect(await listFolder(folder)).toEqual([`${run.runId}.manifest.json`]);
  });

  it('reports a root it cannot create folders in as STORE_WRITE_FAILED naming the path', async () => {
    const fileAsRoot = path.join(root, 'not-a-folder');
    await writeFile(fileAsRoot, 'x');
    await expectStoreError(createFileOutputStore({ root: fileAsRoot }).begin(makeRun()), fileAsRoot);
  });
});

describe('createFileOutputStore: misuse', () => {
  it('throws on writePage or commit after commit, and on fail after commit', async () => {
    const output = await createFileOutputStore({ root, bom: false }).begin(makeRun());
    await output.commit();
    await expect(output.writePage(makePage([{ A: 1 }]))).rejects.toThrow(/writePage\(\).*done/);
    await expect(output.commit()).rejects.toThrow(/commit\(\).*done/);
    await expect(output.fail({ code: 'INTERNAL', message: 'x' })).rejects.toThrow(/fail\(\).*done/);
  });

  it('throws on writePage or commit after fail', async () => {
    const output = await createFileOutputStore({ root, bom: false }).begin(makeRun());
    await output.fail({ code: 'INTERNAL', message: 'x' });
    await expect(output.writePage(makePage([{ A: 1 }]))).rejects.toThrow(Error);
    await expect(output.commit()).rejects.toThrow(Error);
  });

  it('refuses overlapping calls, which would interleave pages', async () => {
    const output = await createFileOutputStore({ root, bom: false }).begin(makeRun());
    const first = output.writePage(makePage([{ A: 1 }]));
    await expect(output.writePage(makePage([{ A: 2 }]))).rejects.toThrow(/busy/);
    await first;
    await output.commit();
  });

  it.each([
    ['job', { job: '../escape' }, '../escape'],
    ['job', { job: '' }, '""'],
    ['tenant', { tenant: 'contoso/evil' }, 'contoso/evil'],
    ['runId', { runId: 'a\\b' }, 'a\\\\b'],
    ['runId', { runId: '..' }, '..'],
    ['localDate', { localDate: '2026/01/15' }, '2026/01/15'],
    // Its JSON output would be named like the manifest of run 'daily'.
    ['runId', { runId: 'daily.Manifest' }, '.manifest'],
  ] as const)('rejects a bad %s (%j) before touching the disk', async (_name, override, shown) => {
    await expectStoreError(createFileOutputStore({ root, bom: false }).begin(makeRun(override)), shown);
    expect(await listFolder(root)).toEqual([]);
  });

  it('manifestPath rejects bad components too', () => {
    expect(() => manifestPath(root, makeRun({ runId: '../x' }))).toThrow(/runId/);
  });
});
