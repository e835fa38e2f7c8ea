// Pruning must delete a run's manifest before its data, so that a prune that dies half-way never
// leaves a manifest describing files that are gone. Here data-file deletion fails (as a full or
// failing disk would make it) and the state left behind is checked.
import type * as FsPromises from 'node:fs/promises';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isAppError } from '../../../src/core/errors.js';
import { createFileOutputStore, listRuns, pruneRuns } from '../../../src/storage/index.js';
import { makePage, makeRun, makeTempRoot, removeTempRoot } from './helpers.js';

const failing = vi.hoisted(() => ({ suffix: undefined as string | undefined, unlinked: [] as string[] }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof FsPromises>();
  const unlink = async (file: Parameters<typeof actual.unlink>[0]): Promise<void> => {
    const name = String(file);
    if (failing.suffix !== undefined && name.endsWith(failing.suffix)) {
      throw Object.assign(new Error(`EIO: i/o error, unlink '${name}'`), { code: 'EIO' });
    }
    failing.unlinked.push(path.basename(name));
    return actual.unlink(file);
  };
  return { ...actual, unlink, default: { ...actual, unlink } };
});

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 0, 20, 12, 0, 0);
const JOB = makeRun().job;

let root: string;

beforeEach(async () => {
  root = await makeTempRoot();
  failing.suffix = undefined;
  failing.unlinked = [];
});

afterEach(async () => {
  failing.suffix = undefined;
  await removeTempRoot(root);
});

describe('pruneRuns when deleting data fails after the manifest is gone', () => {
  it('leaves no manifest behind, so the set no longer looks complete, and a later prune clears the rest', async () => {
    for (const [runId, startedAtMs] of [
      ['old', NOW - 10 * DAY],
      ['new', NOW],
    ] as const) {
      const run = makeRun({ runId, localDate: new Date(startedAtMs).toISOString().slice(0, 10) });
      const output = await createFileOutputStore({ root, clock: { now: () => startedAtMs } }).begin(run);
      await output.writePage(makePage([{ Name: runId }]));
      await output.commit();
    }
    const folder = path.join(root, JOB, '2026-01-10');

    failing.suffix = 'old.csv';
    failing.unlinked = [];
    const error: unknown = await pruneRuns({ root, job: JOB, keepRuns: 1, nowMs: NOW }).catch((caught: unknown) => caught);
    expect(isAppError(error) && error.code).toBe('STORE_WRITE_FAILED');
    expect((error as Error).message).toContain(path.join(folder, 'old.csv'));

    // The manifest went first; the data file after it (jsonl) too; the failing one stays.
    expect(failing.unlinked).toEqual(['old.manifest.json', 'old.jsonl']);
    expect((await readdir(folder)).sort()).toEqual(['old.csv']);
    expect((await listRuns(root, JOB)).runs.map((summary) => summary.runId)).toEqual(['new']);

    // Once the disk works again, the leftover is an orphan; it waits a day, then goes.
    failing.suffix = undefined;
    const soon = await pruneRuns({ root, job: JOB, keepRuns: 1, nowMs: Date.now() });
    expect(soon.orphans).toEqual([]);
    const later = await pruneRuns({ root, job: JOB, keepRuns: 1, nowMs: Date.now() + 2 * DAY });
    expect(later.orphans.map((orphan) => [path.basename(orphan.path), orphan.kind])).toEqual([['old.csv', 'data']]);
    expect(later.removed).toEqual([]);
    expect(await readdir(path.join(root, JOB))).toEqual(['2026-01-20']);
  });
});
