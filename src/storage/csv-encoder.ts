import { createCsvLayout, type CsvLayout } from './csv-columns.js';
import { stringSink, type TextSink } from './text-sink.js';

/**
 * Options of {@link createCsvEncoder}.
 *
 * Columns come from `columns` when given, else from the union of the keys of the first page that
 * has objects, in first-seen order. Cells follow Export-Csv habits (see csv-cells.ts): True/False,
 * empty for null, arrays joined with `; `.
 *
 * Nested plain objects, with `flatten` (the default), become columns named `Parent.Child`,
 * recursively, in first-seen key order within the header page; a property that held both objects
 * and other values there keeps its own column too (empty where the value was an object), and one
 * that only ever held `{}` or null stays a single column. Objects inside arrays, and objects at a
 * path that has no child columns, are written as compact JSON. Names are joined with `.` as they
 * are: a top-level key that itself contains a dot can produce the same header twice. Without
 * `flatten`, every nested object is one compact-JSON cell.
 *
 * Whatever the header cannot hold is reported once through `warn`: a key (nested paths included,
 * as `Parent.Child`) that first appears after the header was written, or a non-object value at a
 * path whose data the header split into child columns. With fixed `columns`, other top-level keys
 * are the selection's business and are not reported; new keys under a selected property are.
 */
export interface CsvEncoderOptions {
  /** Fixed top-level columns (the run's `select`); when absent they come from the first page with objects. */
  columns?: readonly string[];
  /** Prefix the UTF-8 byte order mark that Excel needs to detect UTF-8. */
  bom?: boolean;
  /** Cell separator; default `,`. */
  delimiter?: string;
  /** Neutralise cells a spreadsheet would evaluate as formulas (see {@link guardFormula}); default false here, on in the store's defaults. */
  formulaGuard?: boolean;
  /** Split nested plain objects into `Parent.Child` columns. Default true. */
  flatten?: boolean;
  /** Receives store warnings meant for the manifest. */
  warn(message: string): void;
}

/** Turns pages into CSV text; keeps the columns and the header state of one file. */
export interface CsvEncoder {
  /** The CSV text for one page, header included when this is the first text of the file. */
  encode(objects: readonly Record<string, unknown>[]): string;
  /** {@link encode}, written into `out` a record at a time. */
  write(objects: readonly Record<string, unknown>[], out: TextSink): void;
  /** Text still owed when the run ends: the header of an empty run with fixed columns. */
  end(): string;
}

const UTF8_BOM = '\uFEFF';

// RFC 4180: a field is quoted only when it holds a quote, the delimiter, CR or LF, and quotes
// inside are doubled. This is exactly what csv-stringify 6 emits with `record_delimiter: '\r\n'`
// and `quote_record_delimiter: true` (a unit test compares the two on awkward and random input),
// but csv-stringify costs ~1.2 µs per quoted cell; with the commas in every DistinguishedName and
// quota string that halved store throughput.
const NEEDS_QUOTING = /[",\r\n]/;
const quotingPatterns = new Map<string, RegExp>([[',', NEEDS_QUOTING]]);

function needsQuoting(delimiter: string): RegExp {
  let pattern = quotingPatterns.get(delimiter);
  if (!pattern) {
    pattern = new RegExp(`["\r\n${delimiter === '\t' ? '\\t' : delimiter.replace(/[\\^\]|-]/g, '\\$&')}]`);
    quotingPatterns.set(delimiter, pattern);
  }
  return pattern;
}

/** The cell as it appears in the file: quoted and escaped only when RFC 4180 requires it. */
export function csvField(cell: string, delimiter = ','): string {
  return needsQuoting(delimiter).test(cell) ? '"' + cell.replaceAll('"', '""') + '"' : cell;
}

// Characters that make Excel, LibreOffice and Google Sheets read a cell as a formula (OWASP's CSV
// injection list). A plain number (`-12`, `+3.5e2`) is left alone: it is data, and a spreadsheet
// reads it as a number either way.
const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** The cell with a leading `'` when a spreadsheet would otherwise evaluate it. */
export function guardFormula(cell: string): string {
  return FORMULA_START.test(cell) && !PLAIN_NUMBER.test(cell) ? "'" + cell : cell;
}

/**
 * One CSV record with CRLF. With a single column an empty cell is written as `""`, because an
 * empty line is skipped by most readers and the row would be lost.
 */
function csvRecord(cells: readonly string[], delimiter: string, quoting: RegExp, guard: boolean): string {
  if (cells.length === 1 && cells[0] === '') return '""\r\n';
  let line = '';
  for (let i = 0; i < cells.length; i++) {
    let cell = cells[i] ?? '';
    if (guard) cell = guardFormula(cell);
    if (i > 0) line += delimiter;
    line += quoting.test(cell) ? '"' + cell.replaceAll('"', '""') + '"' : cell;
  }
  return line + '\r\n';
}

export function createCsvEncoder(options: CsvEncoderOptions): CsvEncoder {
  const flatten = options.flatten ?? true;
  const delimiter = options.delimiter ?? ',';
  const quoting = needsQuoting(delimiter);
  const guard = options.formulaGuard === true;
  let layout: CsvLayout | undefined;
  let headerWritten = false;
  const reported = new Set<string>();

  const header = (names: readonly string[]): string => {
    headerWritten = true;
    const bomText = options.bom === true ? UTF8_BOM : '';
    return names.length === 0 ? bomText : bomText + csvRecord(names, delimiter, quoting, guard);
  };

  const report = (path: string, kind: 'new-key' | 'not-an-object'): void => {
    if (reported.has(path)) return;
    reported.add(path);
    options.warn(
      kind === 'new-key'
        ? `CSV: property '${path}' first appeared after the header was written; it is kept in JSONL only.`
        : `CSV: property '${path}' held a value that is not an object after the header split it into columns; it is kept in JSONL only.`,
    );
  };

  const write = (objects: readonly Record<string, unknown>[], out: TextSink): void => {
    if (objects.length === 0) return;
    if (layout === undefined) {
      layout = createCsvLayout(objects, { ...(options.columns === undefined ? {} : { fixed: options.columns }), flatten });
      out.write(header(layout.names));
    }
    const cells: string[] = new Array<string>(layout.names.length);
    for (const object of objects) {
      layout.check(object, report);
      if (cells.length === 0) continue;
      layout.cells(object, cells);
      out.write(csvRecord(cells, delimiter, quoting, guard));
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
      return !headerWritten && options.columns !== undefined ? header(options.columns) : '';
    },
  };
}
