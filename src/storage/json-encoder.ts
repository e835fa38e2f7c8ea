/** Turns pages into one JSON array, written piece by piece. */
export interface JsonArrayEncoder {
  /** The text for one page: the opening `[` before the first object, `,\n` between objects. */
  encode(objects: readonly Record<string, unknown>[]): string;
  /** The closing text: `\n]\n` after objects, or the whole `[]\n` when there were none. */
  end(): string;
}

/**
 * One JSON array, one object per line (`[\n{…},\n{…}\n]\n`). The file is valid JSON only once
 * `end()` has been written, which is fine because it keeps its temporary name until commit.
 */
export function createJsonArrayEncoder(): JsonArrayEncoder {
  let started = false;
  return {
    encode(objects) {
      let text = '';
      for (const object of objects) {
        text += (started ? ',\n' : '[\n') + JSON.stringify(object);
        started = true;
      }
      return text;
    },
    end() {
      return started ? '\n]\n' : '[]\n';
    },
  };
}
