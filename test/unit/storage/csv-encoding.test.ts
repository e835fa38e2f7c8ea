import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { renderCell } from '../../../src/storage/csv-cells.js';
import { createCsvEncoder, csvField } from '../../../src/storage/csv-encoder.js';

describe('renderCell', () => {
  it('writes values the way Export-Csv users expect', () => {
    expect(renderCell(null)).toBe('');
    expect(renderCell(undefined)).toBe('');
    expect(renderCell(true)).toBe('True');
    expect(renderCell(false)).toBe('False');
    expect(renderCell(0)).toBe('0');
    expect(renderCell(-1.5e-7)).toBe('-1.5e-7');
    expect(renderCell(12345678901234)).toBe('12345678901234');
    expect(renderCell('')).toBe('');
    expect(renderCell('Zoë Müller')).toBe('Zoë Müller');
  });

  it('joins arrays with "; " using the same rules for items, JSON for nested structures', () => {
    expect(renderCell([])).toBe('');
    expect(renderCell(['SMTP:a@contoso.com', 'smtp:b@contoso.com'])).toBe('SMTP:a@contoso.com; smtp:b@contoso.com');
    expect(renderCell([1, true, null, 'x', { k: 'v' }])).toBe('1; True; ; x; {"k":"v"}');
    expect(renderCell([[1, 2], 'y'])).toBe('[1,2]; y');
  });

  it('writes plain objects as compact JSON', () => {
    expect(renderCell({ a: 1, b: [true, null], c: { d: 'é' } })).toBe('{"a":1,"b":[true,null],"c":{"d":"é"}}');
    expect(renderCell({})).toBe('{}');
  });
});

describe('csvField', () => {
  // The store quotes cells itself for speed; csv-stringify with the CSV options the brief names is
  // the reference it must match byte for byte.
  const reference = (cell: string): string => stringify([[cell]], { record_delimiter: '\r\n', quote_record_delimiter: true, eof: false });

  it('matches csv-stringify on awkward cells', () => {
    const cells = [
      '',
      'plain',
      'comma, here',
      'say "hi"',
      '"',
      '""',
      ',',
      'a\r\nb',
      'lf\nonly',
      'cr\ronly',
      '\r',
      '\n',
      ' leading and trailing ',
      '=1+2',
      '-3',
      '@x',
      "'quote'",
      'tab\there',
      'semi;colon',
      'Zoë Müller',
      '李 娜',
      '🚀 👩‍👩‍👧',
      '\u2028line separator',
      'null\u0000byte',
      'x\u00a0y',
    ];
    for (const cell of cells) expect(csvField(cell), JSON.stringify(cell)).toBe(reference(cell));
  });

  it('matches csv-stringify on random strings drawn from the characters that matter', () => {
    const alphabet = ['a', 'é', '"', ',', '\r', '\n', ' ', ';', '\t', '😀', "'", '='];
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 5000; i++) {
      let cell = '';
      const length = random(12);
      for (let k = 0; k < length; k++) cell += alphabet[random(alphabet.length)]!;
      expect(csvField(cell), JSON.stringify(cell)).toBe(reference(cell));
    }
  });
});

describe('createCsvEncoder', () => {
  it('writes the header with the first page that has objects, from the union of its keys', () => {
    const warnings: string[] = [];
    const encoder = createCsvEncoder({ warn: (message) => warnings.push(message) });
    expect(encoder.encode([])).toBe('');
    expect(encoder.encode([{ A: 1 }, { B: 'x', A: 2 }])).toBe('A,B\r\n1,\r\n2,x\r\n');
    expect(
      encoder.encode([
        { A: 3, C: true },
        { C: false, D: null },
      ]),
    ).toBe('3,\r\n,\r\n');
    expect(encoder.end()).toBe('');
    expect(warnings).toEqual([
      "CSV: property 'C' first appeared after the header was written; it is kept in JSONL only.",
      "CSV: property 'D' first appeared after the header was written; it is kept in JSONL only.",
    ]);
  });

  it('uses fixed columns without warning about other properties', () => {
    const warnings: string[] = [];
    const encoder = createCsvEncoder({ columns: ['B', 'A'], warn: (message) => warnings.push(message) });
    expect(encoder.encode([{ A: 1, B: 2, Z: 3 }])).toBe('B,A\r\n2,1\r\n');
    expect(warnings).toEqual([]);
  });

  it('owes only the header when a run with fixed columns has no objects', () => {
    expect(createCsvEncoder({ columns: ['Name', 'Size, MB'], warn: () => undefined }).end()).toBe('Name,"Size, MB"\r\n');
    expect(createCsvEncoder({ warn: () => undefined }).end()).toBe('');
  });

  it('quotes an empty cell of a single-column file so the row is not read as a blank line', () => {
    const encoder = createCsvEncoder({ columns: ['Name'], warn: () => undefined });
    expect(encoder.encode([{ Name: '' }, { Name: null }, { Name: 'x' }])).toBe('Name\r\n""\r\n""\r\nx\r\n');
  });

  it('starts with a byte order mark only when asked', () => {
    const encoder = createCsvEncoder({ columns: ['A'], bom: true, warn: () => undefined });
    expect(encoder.encode([{ A: 1 }])).toBe('\uFEFFA\r\n1\r\n');
  });

  it('ignores inherited names such as constructor when a column is missing from an object', () => {
    const encoder = createCsvEncoder({ columns: ['constructor', 'toString'], warn: () => undefined });
    expect(encoder.encode([{}])).toBe('constructor,toString\r\n,\r\n');
  });
});
