import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { describe, expect, it } from 'vitest';
import { renderCell } from '../../../src/storage/csv-cells.js';
import { createCsvEncoder, csvField, guardFormula } from '../../../src/storage/csv-encoder.js';

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
      for (const delimiter of [';', '\t', '|']) {
        const expected = stringify([[cell]], { delimiter, record_delimiter: '\r\n', quote_record_delimiter: true, eof: false });
        expect(csvField(cell, delimiter), `${JSON.stringify(cell)} with ${JSON.stringify(delimiter)}`).toBe(expected);
      }
    }
  });
});

describe('guardFormula', () => {
  it('prefixes text a spreadsheet would evaluate, and leaves plain numbers and other text alone', () => {
    for (const cell of ['=1+1', '+A1', '-A1', '@SUM(A1)', '\tx', '\rx', '- item', '-', '+44 20 7946 0000', '=']) {
      expect(guardFormula(cell), JSON.stringify(cell)).toBe("'" + cell);
    }
    for (const cell of ['', 'a=b', 'user@contoso.com', '-12', '+3.5', '-1e3', '.5', '12', "'=already"]) {
      expect(guardFormula(cell), JSON.stringify(cell)).toBe(cell);
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

describe('createCsvEncoder: flatten', () => {
  const encoderWith = (options: { columns?: string[]; flatten?: boolean } = {}) => {
    const warnings: string[] = [];
    return { encoder: createCsvEncoder({ ...options, warn: (message) => warnings.push(message) }), warnings };
  };

  it('splits nested objects into Parent.Child columns, recursively, next to their parent', () => {
    const { encoder, warnings } = encoderWith();
    const text = encoder.encode([
      { A: 1, Meta: { X: 'x', Deep: { Y: true } }, B: 'b' },
      { Meta: { Z: [1, 2] }, C: null },
    ]);
    expect(text).toBe('A,Meta.X,Meta.Deep.Y,Meta.Z,B,C\r\n1,x,True,,b,\r\n,,,1; 2,,\r\n');
    expect(warnings).toEqual([]);
  });

  it('flattens by default and writes JSON cells when flatten is false', () => {
    expect(encoderWith().encoder.encode([{ A: { B: 1 } }])).toBe('A.B\r\n1\r\n');
    expect(encoderWith({ flatten: false }).encoder.encode([{ A: { B: 1 } }])).toBe('A\r\n"{""B"":1}"\r\n');
  });

  it('keeps a column of its own for a property that also held other values, empty where it held an object', () => {
    const { encoder } = encoderWith();
    expect(encoder.encode([{ P: 'text' }, { P: { Q: 1 } }, { P: null }, { P: ['a'] }])).toBe('P,P.Q\r\ntext,\r\n,1\r\n,\r\na,\r\n');
  });

  it('keeps one column for a property that only held {} or null, and writes later objects there as JSON', () => {
    const { encoder, warnings } = encoderWith();
    expect(encoder.encode([{ P: {} }, { P: null }])).toBe('P\r\n{}\r\n""\r\n');
    expect(encoder.encode([{ P: { Q: 1 } }])).toBe('"{""Q"":1}"\r\n');
    expect(warnings).toEqual([]);
  });

  it('reports nested keys that appear after the header, and non-objects where the header split the property', () => {
    const { encoder, warnings } = encoderWith();
    encoder.encode([{ Meta: { X: 1 } }]);
    expect(encoder.encode([{ Meta: { X: 2, Late: { Deeper: 1 } } }, { Meta: 'text' }, { Meta: { X: 3, Late: 2 } }, { New: 1 }])).toBe('2\r\n""\r\n3\r\n""\r\n');
    expect(warnings).toEqual([
      "CSV: property 'Meta.Late' first appeared after the header was written; it is kept in JSONL only.",
      "CSV: property 'Meta' held a value that is not an object after the header split it into columns; it is kept in JSONL only.",
      "CSV: property 'New' first appeared after the header was written; it is kept in JSONL only.",
    ]);
  });

  it('flattens selected properties, ignores unselected ones and reports late nested keys of selected ones', () => {
    const { encoder, warnings } = encoderWith({ columns: ['Name', 'Quota'] });
    expect(encoder.encode([{ Quota: { Used: 1, Max: 2 }, Name: 'a', Other: { Z: 1 } }])).toBe('Name,Quota.Used,Quota.Max\r\na,1,2\r\n');
    expect(encoder.encode([{ Name: 'b', Quota: { Used: 3, Spare: 4 }, Extra: 5 }])).toBe('b,3,\r\n');
    expect(warnings).toEqual(["CSV: property 'Quota.Spare' first appeared after the header was written; it is kept in JSONL only."]);
  });

  it('writes the selected names as header when a run with select has no objects', () => {
    expect(encoderWith({ columns: ['Name', 'Quota'] }).encoder.end()).toBe('Name,Quota\r\n');
  });

  it('does not follow inherited names into prototypes', () => {
    const { encoder } = encoderWith();
    encoder.encode([{ constructor: { name: 'own' } }]);
    // A single column's empty cell is written as "" so the row is not read as a blank line.
    expect(encoder.encode([{}])).toBe('""\r\n');
  });

  it('reads back with csv-parse under the flattened headers, with awkward text in nested cells', () => {
    const { encoder } = encoderWith();
    const text = encoder.encode([
      { Name: 'Zoë', Meta: { Note: 'say "hi", ok', Lines: 'a\r\nb' } },
      { Name: '李 娜', Meta: { Note: '🚀', Lines: '' } },
    ]);
    expect(parse(text, { columns: true })).toEqual([
      { Name: 'Zoë', 'Meta.Note': 'say "hi", ok', 'Meta.Lines': 'a\r\nb' },
      { Name: '李 娜', 'Meta.Note': '🚀', 'Meta.Lines': '' },
    ]);
  });
});
