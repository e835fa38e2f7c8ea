import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFileOutputStore, manifestPath, readManifest } from '../../../src/storage/index.js';
import { readClixml } from './clixml-reader.js';
import { makePage, makeRun, makeTempRoot, removeTempRoot, runFolder, sha256OfFile } from './helpers.js';

/** Everything awkward a cmdlet result can hold, untyped (no propertyTypes). */
const OBJECTS: Record<string, unknown>[] = [
  {
    Name: 'Zoë Müller',
    Note: 'comma, here',
    Count: 1,
    Enabled: true,
    Tags: ['SMTP:zoe@contoso.com', 'smtp:zoe@contoso.onmicrosoft.com'],
    Meta: { Quota: '50 GB', Flags: [1, 2], Deep: { Level: 3 } },
    Empty: '',
    Missing: null,
  },
  { Name: '李 娜', Note: 'say "hi" & <bye>', Count: 0, Enabled: false, Tags: [], Meta: {}, Empty: '', Missing: null },
  { Name: '🚀 Ops 👩‍👩‍👧', Note: 'line1\r\nline2\ttab', Count: -1.5, Enabled: true, Tags: [true, null, { x: 1 }, [2, 3]], Meta: null, Empty: '', Missing: null },
  { Name: 'big', Note: 'lf\nonly', Count: 1e21, Enabled: false, Tags: ['a;b'], Meta: { Quota: 'é"' }, Empty: '', Missing: null },
  {
    Name: 'ints',
    Note: '  padded  ',
    Count: 2 ** 40,
    Enabled: true,
    Tags: [2147483647, -2147483648, 2147483648],
    Meta: { Quota: '' },
    Empty: '',
    Missing: null,
  },
  {
    Name: 'escapes',
    Note: '_x0041_ and _X0042_ and _y and trailing_',
    Count: 0.1,
    Enabled: false,
    Tags: ['\u0000nul', '\u0085nel', 'lone \uD800 high', 'lone \uDC00 low', '\uFFFE\uFFFF'],
    Meta: { 'Size, MB': 12, 'odd "name" <&>': 'x', under_x: 'y' },
    Empty: '',
    Missing: null,
  },
];

let root: string;

beforeEach(async () => {
  root = await makeTempRoot();
});

afterEach(async () => {
  await removeTempRoot(root);
});

async function writeRun(objects: Record<string, unknown>[], overrides: Parameters<typeof makeRun>[0], propertyTypes?: Record<string, string>): Promise<string> {
  const run = makeRun(overrides);
  const output = await createFileOutputStore({ root, bom: false }).begin(run);
  // Split over pages, with an empty page in between, as a paging cmdlet delivers them.
  const half = Math.ceil(objects.length / 2);
  await output.writePage(makePage(objects.slice(0, half), propertyTypes === undefined ? {} : { propertyTypes }));
  await output.writePage(makePage([]));
  await output.writePage(makePage(objects.slice(half), propertyTypes === undefined ? {} : { propertyTypes }));
  const { manifest: manifest } = await output.commit();
  for (const entry of manifest.files) {
    expect(await sha256OfFile(path.join(root, entry.path))).toEqual({ sha256: entry.sha256, bytes: entry.bytes });
    expect(entry.objects).toBe(objects.length);
  }
  return runFolder(root, run);
}

describe('json format', () => {
  it('writes one JSON array that parses back to the input, one object per line', async () => {
    const folder = await writeRun(OBJECTS, { formats: ['json'] });
    const text = await readFile(path.join(folder, `${makeRun().runId}.json`), 'utf8');
    expect(JSON.parse(text)).toEqual(OBJECTS);
    expect(text.startsWith('[\n{')).toBe(true);
    expect(text.endsWith('}\n]\n')).toBe(true);
    expect(text.split('\n')).toHaveLength(OBJECTS.length + 3);
  });

  it('writes [] for a run without objects', async () => {
    const run = makeRun({ formats: ['json', 'jsonl'] });
    const output = await createFileOutputStore({ root, bom: false }).begin(run);
    await output.writePage(makePage([]));
    const { manifest: manifest } = await output.commit();
    expect(await readFile(path.join(runFolder(root, run), `${run.runId}.json`), 'utf8')).toBe('[]\n');
    expect(manifest.files.map((file) => [file.format, file.objects, file.bytes])).toEqual([
      ['json', 0, 3],
      ['jsonl', 0, 0],
    ]);
  });
});

describe('clixml format', () => {
  it('reads back as the input objects: strings, numbers, booleans, nulls, arrays, nested objects and escapes', async () => {
    const folder = await writeRun(OBJECTS, { formats: ['clixml'] });
    const xml = await readFile(path.join(folder, `${makeRun().runId}.clixml`), 'utf8');
    const doc = readClixml(xml);
    expect(doc.objects).toEqual(OBJECTS);
    // Keys keep their order, as PowerShell shows properties in MS order.
    expect(doc.objects.map((object) => Object.keys(object))).toEqual(OBJECTS.map((object) => Object.keys(object)));
  });

  it('declares each type once and refers to it afterwards, numbering every Obj in document order', async () => {
    const folder = await writeRun(OBJECTS, { formats: ['clixml'] });
    const doc = readClixml(await readFile(path.join(folder, `${makeRun().runId}.clixml`), 'utf8'));
    expect(doc.topTypeForm).toEqual(['TN', 'TNRef', 'TNRef', 'TNRef', 'TNRef', 'TNRef']);
    expect([...doc.typeNames]).toEqual([
      [0, ['Deserialized.System.Management.Automation.PSCustomObject', 'Deserialized.System.Object']],
      [1, ['System.Collections.ArrayList', 'System.Object']],
    ]);
    expect(doc.objRefIds).toEqual(doc.objRefIds.map((_, index) => index));
  });

  it('chooses tags by JSON type when no types are announced', async () => {
    const folder = await writeRun(OBJECTS, { formats: ['clixml'] });
    const doc = readClixml(await readFile(path.join(folder, `${makeRun().runId}.clixml`), 'utf8'));
    const tags = (index: number): Record<string, string> =>
      Object.fromEntries(doc.members[index]!.map((member): [string, string] => [member.name ?? '', member.tag]));
    expect(tags(0)).toEqual({ Name: 'S', Note: 'S', Count: 'I32', Enabled: 'B', Tags: 'Obj', Meta: 'Obj', Empty: 'S', Missing: 'Nil' });
    expect(tags(2)).toMatchObject({ Count: 'Db', Meta: 'Nil' });
    expect(tags(3)).toMatchObject({ Count: 'Db' });
    expect(tags(4)).toMatchObject({ Count: 'I64' });
  });

  it('escapes as PowerShell does: _xHHHH_ for controls, surrogates and literal _x; XML entities for markup', async () => {
    const folder = await writeRun(OBJECTS, { formats: ['clixml'] });
    const xml = await readFile(path.join(folder, `${makeRun().runId}.clixml`), 'utf8');
    expect(xml).toContain('<S N="Note">line1_x000D__x000A_line2_x0009_tab</S>');
    expect(xml).toContain('<S N="Note">say &quot;hi&quot; &amp; &lt;bye&gt;</S>');
    expect(xml).toContain('<S N="Note">_x005F_x0041_ and _x005F_X0042_ and _y and trailing_</S>');
    expect(xml).toContain('<S N="Name">_xD83D__xDE80_ Ops');
    expect(xml).toContain('<S>lone _xD800_ high</S>');
    expect(xml).toContain('<S>_xFFFE__xFFFF_</S>');
    expect(xml).toContain('N="odd &quot;name&quot; &lt;&amp;&gt;"');
    expect(xml).toContain('<S N="under_x005F_x">y</S>');
    // eslint-disable-next-line no-control-regex -- no raw control character may reach the file.
    expect(xml).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/u);
  });

  it('types values by the announced .NET types and converts DateTimes to the form PowerShell writes', async () => {
    const objects: Record<string, unknown>[] = [
      {
        WhenCreated: '2022-09-21T08:07:47.0000000+00:00',
        WhenChangedUTC: '2022-09-21T08:07:47Z',
        Guid: '6F1D2C3B-0000-4000-8000-00000000000A',
        ResourceCapacity: 12,
        Retries: '7',
        Size: '99 GB (106,300,440,576 bytes)',
        EmailAddresses: ['SMTP:a@contoso.com', 'smtp:b@contoso.com'],
        Numbers: [1, 2],
        Flag: 'True',
        Huge: 2 ** 40,
      },
      {
        WhenCreated: 'not a date',
        WhenChangedUTC: '2024-02-30T00:00:00Z',
        Guid: 'not-a-guid',
        ResourceCapacity: 2 ** 40,
        Retries: null,
        Size: null,
        EmailAddresses: [],
        Numbers: ['x'],
        Flag: false,
        Huge: '9223372036854775807',
      },
    ];
    const propertyTypes = {
      WhenCreated: 'System.DateTime',
      WhenChangedUTC: 'System.DateTime',
      Guid: 'System.Guid',
      ResourceCapacity: 'System.Int32',
      Retries: 'System.Int16',
      EmailAddresses: '#Collection(String)',
      Numbers: '#Collection(String)',
      Flag: 'System.Boolean',
      Huge: 'System.Int64',
    };
    const folder = await writeRun(objects, { formats: ['clixml'] }, propertyTypes);
    const doc = readClixml(await readFile(path.join(folder, `${makeRun().runId}.clixml`), 'utf8'));
    const typed = doc.members.map((members) => Object.fromEntries(members.map((member): [string, unknown] => [member.name ?? '', [member.tag, member.value]])));
    expect(typed[0]).toEqual({
      WhenCreated: ['DT', '2022-09-21T08:07:47.0000000+00:00'],
      WhenChangedUTC: ['DT', '2022-09-21T08:07:47.0000000Z'],
      Guid: ['G', '6f1d2c3b-0000-4000-8000-00000000000a'],
      ResourceCapacity: ['I32', 12],
      Retries: ['I16', 7],
      Size: ['S', '99 GB (106,300,440,576 bytes)'],
      EmailAddresses: ['Obj', ['SMTP:a@contoso.com', 'smtp:b@contoso.com']],
      Numbers: ['Obj', ['1', '2']],
      Flag: ['B', true],
      Huge: ['I64', 2 ** 40],
    });
    // Values that do not fit their announced type fall back to the untyped rules.
    expect(typed[1]).toEqual({
      WhenCreated: ['S', 'not a date'],
      WhenChangedUTC: ['S', '2024-02-30T00:00:00Z'],
      Guid: ['S', 'not-a-guid'],
      ResourceCapacity: ['I64', 2 ** 40],
      Retries: ['Nil', null],
      Size: ['Nil', null],
      EmailAddresses: ['Obj', []],
      Numbers: ['Obj', ['x']],
      Flag: ['B', false],
      // The reader turns I64 text into a JS number: 9223372036854775807 rounds to 2 ** 63.
      Huge: ['I64', 2 ** 63],
    });
    const xml = await readFile(path.join(folder, `${makeRun().runId}.clixml`), 'utf8');
    expect(xml).toContain('<I64 N="Huge">9223372036854775807</I64>');
    expect(xml).toContain('<Obj N="Numbers" RefId="2"><TNRef RefId="1" /><LST><S>1</S><S>2</S></LST></Obj>');
  });

  it('keeps types announced on an earlier page and matches names case-insensitively', async () => {
    const run = makeRun({ formats: ['clixml'] });
    const output = await createFileOutputStore({ root, bom: false }).begin(run);
    await output.writePage(makePage([{ whencreated: '2022-09-21T08:07:47.1234567+02:00' }], { propertyTypes: { WhenCreated: 'System.DateTime' } }));
    await output.writePage(makePage([{ whencreated: '2023-01-01T00:00:00.5+00:00' }]));
    await output.commit();
    const doc = readClixml(await readFile(path.join(runFolder(root, run), `${run.runId}.clixml`), 'utf8'));
    expect(doc.members.map((members) => members.map((member) => [member.tag, member.value]))).toEqual([
      [['DT', '2022-09-21T08:07:47.1234567+02:00']],
      [['DT', '2023-01-01T00:00:00.5000000+00:00']],
    ]);
  });

  it('writes an empty document for a run without objects', async () => {
    const run = makeRun({ formats: ['clixml'] });
    const output = await createFileOutputStore({ root, bom: false }).begin(run);
    await output.writePage(makePage([]));
    await output.commit();
    const xml = await readFile(path.join(runFolder(root, run), `${run.runId}.clixml`), 'utf8');
    expect(xml).toBe('<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\n</Objs>\n');
    expect(readClixml(xml).objects).toEqual([]);
  });
});

describe('all formats together', () => {
  it('writes every format of a run and lists each in the manifest', async () => {
    const run = makeRun({ formats: ['jsonl', 'csv', 'json', 'clixml'] });
    const folder = await writeRun(OBJECTS, { formats: run.formats });
    const manifest = await readManifest(manifestPath(root, run));
    expect(manifest.files.map((file) => [file.format, file.path])).toEqual(
      ['jsonl', 'csv', 'json', 'clixml'].map((format) => [format, `${run.job}/${run.localDate}/${run.runId}.${format}`]),
    );
    expect(JSON.parse(await readFile(path.join(folder, `${run.runId}.json`), 'utf8'))).toEqual(OBJECTS);
    expect(readClixml(await readFile(path.join(folder, `${run.runId}.clixml`), 'utf8')).objects).toEqual(OBJECTS);
    const csv = parse<Record<string, string>>(await readFile(path.join(folder, `${run.runId}.csv`), 'utf8'), { columns: true });
    expect(csv).toHaveLength(OBJECTS.length);
  });
});

describe('csv flattening through the store', () => {
  it('splits nested objects into Parent.Child columns by default', async () => {
    const folder = await writeRun(OBJECTS, { formats: ['csv'] });
    const text = await readFile(path.join(folder, `${makeRun().runId}.csv`), 'utf8');
    const rows = parse<Record<string, string>>(text, { columns: true });
    expect(text.split('\r\n')[0]).toBe('Name,Note,Count,Enabled,Tags,Meta.Quota,Meta.Flags,Meta.Deep.Level,Empty,Missing');
    expect(rows.map((row) => [row['Meta.Quota'], row['Meta.Flags'], row['Meta.Deep.Level']])).toEqual([
      ['50 GB', '1; 2', '3'],
      ['', '', ''],
      ['', '', ''],
      ['é"', '', ''],
      ['', '', ''],
      ['', '', ''],
    ]);
    expect(rows.map((row) => row['Name'])).toEqual(OBJECTS.map((object) => object['Name']));
    expect(rows[2]!['Tags']).toBe('True; ; {"x":1}; [2,3]');
    const manifest = await readManifest(manifestPath(root, makeRun()));
    expect(manifest.warnings).toEqual([
      "CSV: property 'Meta.Size, MB' first appeared after the header was written; it is kept in JSONL only.",
      `CSV: property 'Meta.odd "name" <&>' first appeared after the header was written; it is kept in JSONL only.`,
      "CSV: property 'Meta.under_x' first appeared after the header was written; it is kept in JSONL only.",
    ]);
  });

  it('lets a run override the store: flatten off and a byte order mark on', async () => {
    const run = makeRun({ formats: ['csv'], csv: { flatten: false, bom: true } });
    const output = await createFileOutputStore({ root, flatten: true, bom: false }).begin(run);
    await output.writePage(makePage([{ A: { B: 1 } }]));
    await output.commit();
    expect(await readFile(path.join(runFolder(root, run), `${run.runId}.csv`), 'utf8')).toBe('\uFEFFA\r\n"{""B"":1}"\r\n');
  });

  it('uses the store defaults when the run says nothing', async () => {
    const run = makeRun({ formats: ['csv'] });
    const output = await createFileOutputStore({ root, flatten: false, bom: true }).begin(run);
    await output.writePage(makePage([{ A: { B: 1 } }]));
    await output.commit();
    expect(await readFile(path.join(runFolder(root, run), `${run.runId}.csv`), 'utf8')).toBe('\uFEFFA\r\n"{""B"":1}"\r\n');
  });
});
