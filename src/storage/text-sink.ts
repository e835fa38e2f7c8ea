/** Where an encoder puts its text, a record at a time. */
export interface TextSink {
  write(text: string): void;
}

/** Collects the text in a string (unit tests, and the small texts of a file's start and end). */
export function stringSink(): TextSink & { readonly text: string } {
  let text = '';
  return {
    write(piece) {
      text += piece;
    },
    get text() {
      return text;
    },
  };
}

/**
 * UTF-8 bytes of one page, encoded record by record into one buffer that is reused for every page
 * of a file. Building a page as one string and converting it afterwards made V8 flatten and copy
 * a string of several hundred KB per page and file (a large-object allocation each time, then the
 * conversion): with JSONL + CSV that was a fifth of the worker's CPU on large results
 * (docs/benchmarks.md, B4). Small strings are written straight into the buffer instead.
 */
export interface PageBytes extends TextSink {
  /** The bytes written since the last reset; valid until the next write or reset. */
  bytes(): Buffer;
  reset(): void;
}

/** A page above this keeps its buffer only until the next reset, so one huge page is not held for the whole run. */
const KEEP_AT_MOST = 8 * 1024 * 1024;

export function createPageBytes(initialBytes = 64 * 1024): PageBytes {
  let buffer = Buffer.allocUnsafe(initialBytes);
  let length = 0;
  return {
    write(text) {
      // A UTF-16 code unit never takes more than 3 bytes in UTF-8 (a surrogate pair: 4 for 2).
      const most = text.length * 3;
      if (length + most > buffer.length) {
        const grown = Buffer.allocUnsafe(Math.max(buffer.length * 2, length + most));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      length += buffer.write(text, length, 'utf8');
    },
    bytes() {
      return buffer.subarray(0, length);
    },
    reset() {
      length = 0;
      if (buffer.length > KEEP_AT_MOST) buffer = Buffer.allocUnsafe(initialBytes);
    },
  };
}
