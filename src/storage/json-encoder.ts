import { stringSink, type TextSink } from './text-sink.js';

/** Turns pages into one JSON array, written piece by piece. */
export interface JsonArrayEncoder {
  /** The text for one page: the opening `[` before the first object, `,\n` between objects. */
  encode(objects: readonly Record<string, unknown>[]): string;
  /** {@link encode}, written into `out`. */
  write(objects: readonly Record<string, unknown>[], out: TextSink): void;
  /** The closing text: `\n]\n` after objects, or the whole `[]\n` when there were none. */
  end(): string;
}

/**
 * One JSON array, one object per line (`[\n{…},\n{…}\n]\n`). The file is valid JSON only once
 * `end()` has been written, which is fine because it keeps its temporary name until commit.
 */
export function createJsonArrayEncoder(): JsonArrayEncoder {
  let started = false;
  const write = (objects: readonly Record<string, unknown>[], out: TextSink): void => {
    for (const object of objects) {
      out.write((started ? ',\n' : '[\n') + JSON.stringify(object));
      started = true;
    }
  };
  return {
    write,
    encode(objects) {
      const out = stringSink();
      write(objects, out);
      return out.text;
    },
    end() {
      return started ? '\n]\n' : '[]\n';
    },
  };
}
