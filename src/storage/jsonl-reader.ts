import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { AppError } from '../core/index.js';

const CHUNK_BYTES = 64 * 1024;

/**
 * The objects of a JSONL file, one at a time, read in 64 KiB chunks: memory holds one chunk and
 * one line whatever the file's size. Concurrent `next()` calls are queued by the generator, so
 * several forEach lanes can share one reader.
 */
export async function* readJsonlObjects(file: string): AsyncGenerator<Record<string, unknown>, void, undefined> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK_BYTES);
    const decoder = new StringDecoder('utf8');
    let pending = '';
    let lineNumber = 0;
    const parse = (line: string): Record<string, unknown> => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch (error) {
        throw new AppError('STORE_READ_FAILED', `${file}:${lineNumber} is not a JSON object; cannot iterate over it.`, { cause: error });
      }
    };
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      pending += bytesRead === 0 ? decoder.end() : decoder.write(buffer.subarray(0, bytesRead));
      let newline = pending.indexOf('\n');
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        lineNumber += 1;
        if (line.trim() !== '') yield parse(line);
        newline = pending.indexOf('\n');
      }
      if (bytesRead === 0) break;
    }
    lineNumber += 1;
    if (pending.trim() !== '') yield parse(pending);
  } finally {
    await handle.close();
  }
}
