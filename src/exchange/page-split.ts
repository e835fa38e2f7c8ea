/**
 * Reads a large InvokeCommand page (`{"@odata.context":…,"value":[{…},{…},…],"@odata.nextLink":…}`)
 * without turning the whole body into one string: the `value` array's objects are located in the
 * bytes and parsed one by one, the rest of the envelope is parsed on its own.
 *
 * Why: a page of 1,000 mailboxes is about 1 MB. Decoding it as one string is a large-object
 * allocation for V8 (and a two-byte string as soon as one name has a letter outside Latin-1),
 * which measured 70–110 MB/s on the development machine against GB/s for strings of a few KB:
 * it was a fifth of the worker's CPU on large results (docs/benchmarks.md, B4). The objects
 * themselves still go through the native JSON.parse; this only finds where each one starts and ends.
 *
 * The scan knows only what it needs of JSON: strings (a `"` not preceded by an odd number of
 * backslashes ends one) and nesting (`{` `[` `}` `]` outside strings). Anything it does not expect
 * — no `value` array, an element that is not an object, a second `value` key, unbalanced brackets —
 * returns undefined and the caller parses the body whole, so malformed input meets the same
 * JSON.parse error as before.
 */
export function splitPageBody(body: Buffer): { envelope: Record<string, unknown>; items: Record<string, unknown>[] } | undefined {
  const length = body.length;
  let i = skipWhitespace(body, 0);
  if (body[i] !== OPEN_OBJECT) return undefined;
  i++;
  let depth = 1;
  let arrayOpen = -1;
  let arrayClose = -1;
  let lastKeyIsValue = false;
  const items: Record<string, unknown>[] = [];
  while (i < length) {
    const byte = body[i]!;
    if (byte === QUOTE) {
      const end = endOfString(body, i);
      if (end < 0) return undefined;
      if (depth === 1) lastKeyIsValue = end - i === 7 && body.toString('latin1', i + 1, end - 1) === 'value';
      i = end;
      continue;
    }
    if (byte === OPEN_ARRAY && depth === 1 && lastKeyIsValue) {
      if (arrayOpen >= 0) return undefined;
      arrayOpen = i;
      const close = readItems(body, i + 1, items);
      if (close < 0) return undefined;
      arrayClose = close;
      i = close + 1;
      continue;
    }
    if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) depth++;
    else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
      if (depth === 0) break;
    }
    i++;
  }
  if (depth !== 0 || arrayOpen < 0) return undefined;
  const envelope = JSON.parse(body.toString('utf8', 0, arrayOpen + 1) + body.toString('utf8', arrayClose)) as unknown;
  if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) return undefined;
  return { envelope: envelope as Record<string, unknown>, items };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/**
 * Parses the objects of an array whose first element starts at or after `from`; returns the index
 * of the array's closing `]`, or -1 when the array is not a list of objects.
 */
function readItems(body: Buffer, from: number, items: Record<string, unknown>[]): number {
  let i = skipWhitespace(body, from);
  if (body[i] === CLOSE_ARRAY) return i;
  for (;;) {
    if (body[i] !== OPEN_OBJECT) return -1;
    const end = endOfObject(body, i);
    if (end < 0) return -1;
    items.push(JSON.parse(body.toString('utf8', i, end)) as Record<string, unknown>);
    i = skipWhitespace(body, end);
    if (body[i] === CLOSE_ARRAY) return i;
    if (body[i] !== COMMA) return -1;
    i = skipWhitespace(body, i + 1);
  }
}

/** The index just past the object that opens at `start`, or -1. */
function endOfObject(body: Buffer, start: number): number {
  let depth = 0;
  let i = start;
  const length = body.length;
  while (i < length) {
    const byte = body[i]!;
    if (byte === QUOTE) {
      i = endOfString(body, i);
      if (i < 0) return -1;
      continue;
    }
    if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) depth++;
    else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      depth--;
      if (depth === 0) return i + 1;
    }
    i++;
  }
  return -1;
}

/** The index just past the string that opens at `start` (a quote), or -1 when it never closes. */
function endOfString(body: Buffer, start: number): number {
  let from = start + 1;
  for (;;) {
    // memchr for the next quote: strings are most of a page's bytes.
    const quote = body.indexOf(QUOTE, from);
    if (quote < 0) return -1;
    let backslashes = 0;
    for (let k = quote - 1; k > start && body[k] === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

function skipWhitespace(body: Buffer, from: number): number {
  let i = from;
  while (i < body.length) {
    const byte = body[i];
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return i;
    i++;
  }
  return i;
}
