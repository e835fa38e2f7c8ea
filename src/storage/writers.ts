import type { CmdletPage, OutputFormat, RunDescriptor } from '../core/index.js';
import { createClixmlEncoder } from './clixml-encoder.js';
import { createCsvEncoder } from './csv-encoder.js';
import { createJsonArrayEncoder } from './json-encoder.js';
import { encodeJsonlPage } from './jsonl-encoder.js';
import { openOutputFile, type OutputFile } from './output-file.js';

/** One format's file plus how a page becomes its text. */
export interface FormatWriter {
  file: OutputFile;
  encode(page: CmdletPage): string;
  /** Text still owed when the run commits (closing brackets, a header-only CSV). */
  end(): string;
}

/** Store-wide CSV defaults; a run's `csv` settings override them field by field. */
export interface CsvDefaults {
  bom: boolean;
  flatten: boolean;
}

export async function openFormatWriter(
  format: OutputFormat,
  tempPath: string,
  run: RunDescriptor,
  csvDefaults: CsvDefaults,
  warn: (message: string) => void,
): Promise<FormatWriter> {
  const file = await openOutputFile(format, tempPath);
  switch (format) {
    case 'jsonl':
      return { file, encode: (page) => encodeJsonlPage(page.objects), end: () => '' };
    case 'json': {
      const encoder = createJsonArrayEncoder();
      return { file, encode: (page) => encoder.encode(page.objects), end: () => encoder.end() };
    }
    case 'clixml': {
      const encoder = createClixmlEncoder();
      return { file, encode: (page) => encoder.encode(page.objects, page.propertyTypes), end: () => encoder.end() };
    }
    case 'csv': {
      const encoder = createCsvEncoder({
        ...(run.select === undefined ? {} : { columns: run.select }),
        bom: run.csv?.bom ?? csvDefaults.bom,
        flatten: run.csv?.flatten ?? csvDefaults.flatten,
        warn,
      });
      return { file, encode: (page) => encoder.encode(page.objects), end: () => encoder.end() };
    }
  }
}
