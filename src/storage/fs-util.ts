import type { FileHandle } from 'node:fs/promises';
import { open, rename, unlink } from 'node:fs/promises';
import { AppError } from '../core/index.js';

/** Wraps a file-system failure into the store's error, naming the path so an operator can act. */
export function storeError(action: string, filePath: string, cause: unknown): AppError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new AppError('STORE_WRITE_FAILED', `Could not ${action} ${filePath}: ${reason}`, {
    cause,
    details: { path: filePath },
  });
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Writes all of `buffer`; a single write may be partial on some file systems. */
export async function writeAll(handle: FileHandle, buffer: Buffer): Promise<void> {
  let offset = 0;
  while (offset < buffer.length) {
    const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset, null);
    offset += bytesWritten;
  }
}

/**
 * Removes a file; a file that is already gone is what we wanted anyway. Resolves true when a
 * file was removed (so the caller knows whether the folder changed).
 */
export async function removeIfPresent(filePath: string): Promise<boolean> {
  try {
    await unlink(filePath);
    return true;
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw storeError('remove', filePath, error);
    return false;
  }
}

/**
 * Makes renames and unlinks in `folder` durable: without it a power cut after rename can leave
 * the old directory entry on disk even though the file data was synced.
 */
export async function syncFolder(folder: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch (error) {
    // Windows cannot open or fsync a directory; there a rename is as durable as it gets.
    const code = errorCode(error);
    if (code === 'EISDIR' || code === 'EPERM' || code === 'EINVAL' || code === 'EBADF') return;
    throw storeError('sync folder', folder, error);
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * A folder kept open so its renames can be made durable more than once without reopening it each
 * time (on a small run's commit, every open and close is latency on the run's critical path).
 * Where a directory cannot be opened or fsynced (Windows), syncing does nothing.
 */
export interface FolderSync {
  sync(): Promise<void>;
  close(): Promise<void>;
}

export function openFolderSync(folder: string): FolderSync {
  const opening: Promise<FileHandle | undefined> = open(folder, 'r').catch((error: unknown) => {
    if (isUnsupportedDirectorySync(error)) return undefined;
    throw storeError('open folder', folder, error);
  });
  // Read when the first sync (or the close) awaits it.
  opening.catch(() => undefined);
  return {
    async sync() {
      const handle = await opening;
      try {
        await handle?.sync();
      } catch (error) {
        if (!isUnsupportedDirectorySync(error)) throw storeError('sync folder', folder, error);
      }
    },
    async close() {
      const handle = await opening.catch(() => undefined);
      await handle?.close().catch(() => undefined);
    },
  };
}

function isUnsupportedDirectorySync(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'EISDIR' || code === 'EPERM' || code === 'EINVAL' || code === 'EBADF';
}

export async function renameInto(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (error) {
    throw storeError('rename into place', to, error);
  }
}

/** temp + fsync + rename, so readers see either the old file or the whole new one. */
export async function writeFileAtomic(tempPath: string, finalPath: string, text: string): Promise<void> {
  await writeFileDurable(tempPath, text);
  await renameInto(tempPath, finalPath);
}

/** Writes and fsyncs a whole file (a temporary, renamed into place by the caller). */
export async function writeFileDurable(tempPath: string, text: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(tempPath, 'w');
    await writeAll(handle, Buffer.from(text, 'utf8'));
    await handle.sync();
    await handle.close();
    handle = undefined;
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await removeIfPresent(tempPath).catch(() => undefined);
    throw storeError('write', tempPath, error);
  }
}
