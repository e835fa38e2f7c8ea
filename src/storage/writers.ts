import type { CmdletPage, OutputFormat, RunDescriptor } from '../core/index.js';
import { createClixmlEncoder } from './clixml-encoder.js';
import { createCsvEncoder } from './csv-encoder.js';
import { createJsonArrayEncoder } from './json-encoder.js';
import { writeJsonlPage } from './jsonl-encoder.js';
import { openOutputFile, type OutputFile } from './output-file.js';
import { createPageBytes, type PageBytes, type TextSink } from './text-sink.js';

/** One format's file plus how a page becomes its text. */
export interface FormatWriter {
  file: OutputFile;
  /** The page being written, as bytes (one buffer per file, reused page after page). */
  pageBytes: PageBytes;
  /** Writes the page's records into `out`. */
  encode(page: CmdletPage, out: TextSink): void;
  /** Text still owed when the run commits (closing brackets, a header-only CSV). */
  end(): string;
}

/** Store-wide CSV defaults; a run's `csv` settings override them field by field. */
export interface CsvDefaults {
  bom: boolean;
  flatten: boolean;
  delimiter: string;
  formulaGuard: boolean;
}

export async function openFormatWriter(
  format: OutputFormat,
  tempPath: string,
  run: RunDescriptor,
  csvDefaults: CsvDefaults,
  warn: (message: string) => void,
): Promise<FormatWriter> {
  const file = await openOutputFile(format, tempPath);
  const pageBytes = createPageBytes();
  switch (format) {
    case 'jsonl':
      return { file, pageBytes, encode: (page, out) => writeJsonlPage(page.objects, out), end: () => '' };
    case 'json': {
      const encoder = createJsonArrayEncoder();
      return { file, pageBytes, encode: (page, out) => encoder.write(page.objects, out), end: () => encoder.end() };
    }
    case 'clixml': {
      const encoder = createClixmlEncoder();
      return { file, pageBytes, encode: (page, out) => encoder.write(page.objects, page.propertyTypes, out), end: () => encoder.end() };
    }
    case 'csv': {
      const encoder = createCsvEncoder({
        ...(run.select === undefined ? {} : { columns: run.select }),
        bom: run.csv?.bom ?? csvDefaults.bom,
        flatten: run.csv?.flatten ?? csvDefaults.flatten,
        delimiter: run.csv?.delimiter ?? csvDefaults.delimiter,
        formulaGuard: run.csv?.formulaGuard ?? csvDefaults.formulaGuard,
        warn,
      });
      return { file, pageBytes, encode: (page, out) => encoder.write(page.objects, out), end: () => encoder.end() };
    }
  }
}
