import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { OutputFormat } from '../core/index.js';
import { removeIfPresent, storeError, writeAll } from './fs-util.js';

/**
 * One data file of a run while it is being written under its temporary name. Hash and size are
 * kept over exactly the bytes handed to the file system, so the manifest never needs a re-read.
 */
export interface OutputFile {
  readonly format: OutputFormat;
  readonly tempPath: string;
  readonly bytes: number;
  readonly objects: number;
  /** Appends one page's text in a single write; `objects` is how many records it holds. */
  write(buffer: Buffer, objects: number): Promise<void>;
  /** fsync; after this the temp file is complete on disk (it may be renamed before it is closed). */
  finish(): Promise<void>;
  /** Closes the file after `finish`. */
  close(): Promise<void>;
  /** Closes without caring about errors and removes the temp file; used on failure paths. */
  abandon(): Promise<void>;
  /** Hex sha256 of everything written; call once, after the last write. */
  sha256(): string;
}

export async function openOutputFile(format: OutputFormat, tempPath: string): Promise<OutputFile> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(tempPath, 'w');
  } catch (error) {
    throw storeError('create', tempPath, error);
  }
  return createOutputFile(format, tempPath, handle);
}

function createOutputFile(format: OutputFormat, tempPath: string, openHandle: FileHandle): OutputFile {
  let handle: FileHandle | undefined = openHandle;
  const hash: Hash = createHash('sha256');
  let bytes = 0;
  let objects = 0;

  const requireHandle = (): FileHandle => {
    if (handle === undefined) throw new Error(`${tempPath} is already closed.`);
    return handle;
  };

  return {
    format,
    tempPath,
    get bytes() {
      return bytes;
    },
    get objects() {
      return objects;
    },
    async write(buffer, count) {
      const target = requireHandle();
      if (buffer.length > 0) {
        try {
          await writeAll(target, buffer);
        } catch (error) {
          throw storeError('write', tempPath, error);
        }
        hash.update(buffer);
        bytes += buffer.length;
      }
      objects += count;
    },
    async finish() {
      const target = requireHandle();
      try {
        await target.sync();
      } catch (error) {
        handle = undefined;
        await target.close().catch(() => undefined);
        throw storeError('flush', tempPath, error);
      }
    },
    async close() {
      const target = handle;
      handle = undefined;
      try {
        await target?.close();
      } catch (error) {
        throw storeError('close', tempPath, error);
      }
    },
    async abandon() {
      const target = handle;
      handle = undefined;
      await target?.close().catch(() => undefined);
      // Best effort: a leftover dot-temp file is invisible to readers and the next begin() of
      // this run removes it.
      await removeIfPresent(tempPath).catch(() => undefined);
    },
    sha256: () => hash.digest('hex'),
  };
}
