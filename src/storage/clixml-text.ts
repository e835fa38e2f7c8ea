/**
 * Text escaping for CLIXML, as PowerShell's serializer does it, in two layers:
 *
 * 1. `_xHHHH_` encoding (applied to strings and member names): every UTF-16 code unit that is a C0
 *    control (tab, LF and CR included), a C1 control (U+007F–U+009F) or a surrogate — paired ones
 *    too, so an emoji becomes `_xD83D__xDE80_` — plus U+FFFE/U+FFFF, which XML 1.0 does not allow
 *    and PowerShell leaves as they are. An `_` followed by `x` or `X` becomes `_x005F_`, so literal
 *    text that looks like an escape reads back unchanged. Encoding CR and LF also protects them
 *    from the line-end normalisation every XML parser applies.
 * 2. XML escaping of `&`, `<`, `>` and `"`, so one function serves element text and attributes.
 */

// Anything that needs either layer; most property values match nothing and are returned as is.
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be found.
const NEEDS_WORK = /[&<>"\u0000-\u001F\u007F-\u009F\uD800-\uDFFF\uFFFE\uFFFF]|_[xX]/;

const HEX = '0123456789ABCDEF';

function codeUnitEscape(code: number): string {
  return '_x' + HEX[(code >> 12) & 15] + HEX[(code >> 8) & 15] + HEX[(code >> 4) & 15] + HEX[code & 15] + '_';
}

function needsCodeUnitEscape(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f) || (code >= 0xd800 && code <= 0xdfff) || code === 0xfffe || code === 0xffff;
}

/** A string as it goes inside `<S>…</S>` or an `N="…"` attribute. */
export function clixmlText(value: string): string {
  if (!NEEDS_WORK.test(value)) return value;
  let text = '';
  // Runs of ordinary characters are copied in slices: per-character concatenation is slow.
  let runStart = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    let replacement: string | undefined;
    if (code === 0x26) replacement = '&amp;';
    else if (code === 0x3c) replacement = '&lt;';
    else if (code === 0x3e) replacement = '&gt;';
    else if (code === 0x22) replacement = '&quot;';
    else if (code === 0x5f) {
      const next = value.charCodeAt(i + 1);
      if (next === 0x78 || next === 0x58) replacement = '_x005F_';
    } else if (needsCodeUnitEscape(code)) replacement = codeUnitEscape(code);
    if (replacement === undefined) continue;
    text += value.slice(runStart, i) + replacement;
    runStart = i + 1;
  }
  return text + value.slice(runStart);
}
