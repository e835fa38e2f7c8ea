import type { ConfigProblem } from './problems.js';

/**
 * Turns the bytes of a configuration file into text, or says in one sentence why they are not a
 * UTF-8 text file. YAML is read as UTF-8; Windows editors often save UTF-16, and a mistyped
 * `--config` can point at anything, so both get a plain answer rather than a YAML syntax error
 * about an invisible character.
 */
export function decodeConfigText(bytes: Uint8Array, file: string): { text: string } | { problem: ConfigProblem } {
  const at = (line: number, col: number, message: string): { problem: ConfigProblem } => ({ problem: { file, line, col, path: '', message } });
  const utf16 = `${file} is UTF-16 encoded; save it as UTF-8`;
  if (startsWith(bytes, [0xff, 0xfe, 0x00, 0x00]) || startsWith(bytes, [0x00, 0x00, 0xfe, 0xff])) {
    return at(1, 1, `${file} is UTF-32 encoded; save it as UTF-8`);
  }
  if (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff])) return at(1, 1, utf16);
  const body = startsWith(bytes, [0xef, 0xbb, 0xbf]) ? bytes.subarray(3) : bytes;

  const zeroes = countZeroes(body.subarray(0, SAMPLE_BYTES));
  if (zeroes.total > 0) {
    // UTF-16 without a byte order mark: text in Latin script has a zero in most bytes of one
    // parity and almost none in the other; binary formats scatter them.
    const half = Math.min(SAMPLE_BYTES, body.length) / 2;
    const more = Math.max(zeroes.even, zeroes.odd);
    if (more > half * 0.4 && Math.min(zeroes.even, zeroes.odd) <= more * 0.1) return at(1, 1, utf16);
    return at(1, 1, `${file} is not a text file (it contains NUL bytes); pass the jobs.yaml file`);
  }

  const invalid = firstInvalidUtf8(body);
  if (invalid !== undefined) {
    if (looksBinary(body.subarray(0, SAMPLE_BYTES))) return at(1, 1, `${file} is not a text file; pass the jobs.yaml file`);
    const before = new TextDecoder().decode(body.subarray(0, invalid));
    const line = before.split('\n').length;
    const col = before.length - before.lastIndexOf('\n');
    const byte = (body[invalid] ?? 0).toString(16).padStart(2, '0');
    return at(line, col, `${file} is not valid UTF-8 (byte 0x${byte}; a file saved as Latin-1 or Windows-1252?); save it as UTF-8`);
  }
  return { text: new TextDecoder().decode(body) };
}

/** Control characters YAML does not allow in a file (everything below space but tab and line breaks, DEL, C1 but NEL). */
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u0084\u0086-\u009f]/g;
const MAX_CONTROL_PROBLEMS = 20;

/**
 * Control characters in the text (often a terminal escape pasted with a value), each reported at
 * its position — escaped, since printing it raw would act on the reader's terminal. One per line,
 * at most {@link MAX_CONTROL_PROBLEMS}.
 */
export function controlCharacterProblems(text: string, file: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  let lastLine = 0;
  let line = 1;
  let lineStart = 0;
  let scanned = 0;
  for (const match of text.matchAll(CONTROL_CHARACTER)) {
    for (let index = text.indexOf('\n', scanned); index !== -1 && index < match.index; index = text.indexOf('\n', index + 1)) {
      line += 1;
      lineStart = index + 1;
    }
    scanned = match.index;
    if (line === lastLine) continue;
    lastLine = line;
    const code = (match[0].codePointAt(0) ?? 0).toString(16).padStart(2, '0');
    problems.push({
      file,
      line,
      col: match.index - lineStart + 1,
      path: '',
      message: `contains the control character \\x${code}, which YAML does not allow; remove it (write it as an escape in a double-quoted string if it is meant)`,
    });
    if (problems.length >= MAX_CONTROL_PROBLEMS) break;
  }
  return problems;
}

const SAMPLE_BYTES = 8192;

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((byte, index) => bytes[index] === byte);
}

function countZeroes(bytes: Uint8Array): { total: number; even: number; odd: number } {
  let even = 0;
  let odd = 0;
  for (let index = 0; index < bytes.length; index += 1) {
    if (bytes[index] === 0) {
      if (index % 2 === 0) even += 1;
      else odd += 1;
    }
  }
  return { total: even + odd, even, odd };
}

/** More than one byte in ten a control character or invalid UTF-8: not a text file with a stray byte. */
function looksBinary(bytes: Uint8Array): boolean {
  let suspicious = 0;
  for (const byte of bytes) if ((byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d) || byte >= 0xf8) suspicious += 1;
  return suspicious * 10 > bytes.length;
}

/** The offset of the first byte that is not part of a well-formed UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number | undefined {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return undefined;
  } catch {
    // Fall through to find where.
  }
  let index = 0;
  while (index < bytes.length) {
    const byte = bytes[index] ?? 0;
    const length = byte < 0x80 ? 1 : byte >= 0xc2 && byte <= 0xdf ? 2 : byte >= 0xe0 && byte <= 0xef ? 3 : byte >= 0xf0 && byte <= 0xf4 ? 4 : 0;
    if (length === 0) return index;
    for (let next = 1; next < length; next += 1) {
      const continuation = bytes[index + next];
      if (continuation === undefined || (continuation & 0xc0) !== 0x80) return index;
    }
    if (length > 1) {
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(index, index + length));
      } catch {
        // Overlong forms and surrogates are well-shaped but still invalid.
        return index;
      }
    }
    index += length;
  }
  return undefined;
}
