import { stringSink, type TextSink } from './text-sink.js';

/** One JSON document per line, '\n' terminated; objects are written exactly as given. */
export function writeJsonlPage(objects: readonly Record<string, unknown>[], out: TextSink): void {
  for (const object of objects) out.write(JSON.stringify(object) + '\n');
}

/** {@link writeJsonlPage} as one string. */
export function encodeJsonlPage(objects: readonly Record<string, unknown>[]): string {
  const out = stringSink();
  writeJsonlPage(objects, out);
  return out.text;
}
