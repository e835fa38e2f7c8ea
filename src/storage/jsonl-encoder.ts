/** One JSON document per line, '\n' terminated; objects are written exactly as given. */
export function encodeJsonlPage(objects: readonly Record<string, unknown>[]): string {
  let text = '';
  for (const object of objects) text += JSON.stringify(object) + '\n';
  return text;
}
