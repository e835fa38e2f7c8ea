import { renderCell } from './csv-cells.js';

/** Options of {@link createCsvEncoder}. */
export interface CsvEncoderOptions {
  /** Fixed columns (the run's `select`); when absent they come from the first page with objects. */
  columns?: readonly string[];
  /** Prefix the UTF-8 byte order mark that older Excel versions need to detect UTF-8. */
  bom?: boolean;
  /** Receives store warnings meant for the manifest. */
  warn(message: string): void;
}

/** Turns pages into CSV text; keeps the columns and the header state of one file. */
export interface CsvEncoder {
  /** The CSV text for one page, header included when this is the first text of the file. */
  encode(objects: readonly Record<string, unknown>[]): string;
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

/** The cell as it appears in the file: quoted and escaped only when RFC 4180 requires it. */
export function csvField(cell: string): string {
  return NEEDS_QUOTING.test(cell) ? '"' + cell.replaceAll('"', '""') + '"' : cell;
}

/**
 * One CSV record with CRLF. With a single column an empty cell is written as `""`, because an
 * empty line is skipped by most readers and the row would be lost.
 */
function csvRecord(cells: readonly string[]): string {
  if (cells.length === 1 && cells[0] === '') return '""\r\n';
  let line = '';
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i] ?? '';
    if (i > 0) line += ',';
    line += csvField(cell);
  }
  return line + '\r\n';
}

export function createCsvEncoder(options: CsvEncoderOptions): CsvEncoder {
  let columns: readonly string[] | undefined = options.columns;
  let known: Set<string> | undefined;
  let headerWritten = false;
  const reportedLate = new Set<string>();
  // With fixed columns a missing or extra property is the selection's business, not news.
  const checkLateKeys = options.columns === undefined;

  const header = (cols: readonly string[]): string => {
    headerWritten = true;
    const bomText = options.bom === true ? UTF8_BOM : '';
    return cols.length === 0 ? bomText : bomText + csvRecord(cols);
  };

  const noteLateKeys = (object: Record<string, unknown>, columnSet: Set<string>): void => {
    for (const key of Object.keys(object)) {
      if (columnSet.has(key) || reportedLate.has(key)) continue;
      reportedLate.add(key);
      options.warn(`CSV: property '${key}' first appeared after the header was written; it is kept in JSONL only.`);
    }
  };

  return {
    encode(objects) {
      if (objects.length === 0) return '';
      let text = '';
      if (columns === undefined) columns = columnsOf(objects);
      if (!headerWritten) text += header(columns);
      if (checkLateKeys) {
        known ??= new Set(columns);
        for (const object of objects) noteLateKeys(object, known);
      }
      if (columns.length === 0) return text;
      const cells: string[] = new Array<string>(columns.length);
      for (const object of objects) {
        for (let i = 0; i < columns.length; i++) cells[i] = renderCell(object[columns[i] ?? '']);
        text += csvRecord(cells);
      }
      return text;
    },
    end() {
      return !headerWritten && columns !== undefined ? header(columns) : '';
    },
  };
}

/** Every key of the page in first-seen order, so sparse objects still get their columns. */
function columnsOf(objects: readonly Record<string, unknown>[]): string[] {
  const seen = new Set<string>();
  for (const object of objects) for (const key of Object.keys(object)) seen.add(key);
  return [...seen];
}
