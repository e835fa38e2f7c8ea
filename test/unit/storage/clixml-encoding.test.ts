import { describe, expect, it } from 'vitest';
import { createClixmlEncoder } from '../../../src/storage/clixml-encoder.js';
import { clixmlText } from '../../../src/storage/clixml-text.js';
import { clixmlDateTime, parseTypeHint, typedScalar, untypedNumber } from '../../../src/storage/clixml-types.js';
import { decodeClixmlString, readClixml } from './clixml-reader.js';

describe('clixmlText', () => {
  it('leaves ordinary text alone', () => {
    for (const text of ['', 'plain', 'Zoë Müller', '李 娜', "it's", 'a_b', '_', 'x_', 'tab-free', '\u00a0nbsp']) expect(clixmlText(text)).toBe(text);
  });

  it('escapes markup, controls, surrogates and literal _x the way PowerShell does', () => {
    expect(clixmlText('a & b < c > d "e"')).toBe('a &amp; b &lt; c &gt; d &quot;e&quot;');
    expect(clixmlText('\r\n\t\u0000\u001f')).toBe('_x000D__x000A__x0009__x0000__x001F_');
    expect(clixmlText('\u007f\u0085\u009f\u00a0')).toBe('_x007F__x0085__x009F_\u00a0');
    expect(clixmlText('🚀')).toBe('_xD83D__xDE80_');
    expect(clixmlText('\uD800x')).toBe('_xD800_x');
    expect(clixmlText('_x0041_ _X _y __x')).toBe('_x005F_x0041_ _x005F_X _y __x005F_x');
    expect(clixmlText('\uFFFE\uFFFF\uFFFD')).toBe('_xFFFE__xFFFF_\uFFFD');
  });

  it('round-trips random strings through the decoder', () => {
    const alphabet = ['a', '_', 'x', 'X', '0', 'F', '&', '<', '"', '\r', '\n', '\u0000', '\uD83D', '\uDE80', 'é', '\u0085', '\uFFFF', ' '];
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 5000; i++) {
      let text = '';
      const length = random(14);
      for (let k = 0; k < length; k++) text += alphabet[random(alphabet.length)]!;
      const escaped = clixmlText(text);
      const unescapedXml = escaped.replaceAll('&quot;', '"').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
      expect(decodeClixmlString(unescapedXml), JSON.stringify(text)).toBe(text);
      // eslint-disable-next-line no-control-regex -- no raw control character may survive escaping.
      expect(escaped).not.toMatch(/[\u0000-\u001F\uD800-\uDFFF\uFFFE\uFFFF<>"]/u);
    }
  });
});

describe('clixml type hints', () => {
  it('reads .NET, OData and Edm names and collections', () => {
    expect(parseTypeHint('System.DateTime')).toEqual({ kind: 'scalar', tag: 'DT' });
    expect(parseTypeHint('#Guid')).toEqual({ kind: 'scalar', tag: 'G' });
    expect(parseTypeHint('Edm.Int64')).toEqual({ kind: 'scalar', tag: 'I64' });
    expect(parseTypeHint('#Int16')).toEqual({ kind: 'scalar', tag: 'I16' });
    expect(parseTypeHint('#Collection(String)')).toEqual({ kind: 'collection', item: { kind: 'scalar', tag: 'S' } });
    expect(parseTypeHint('#Collection(Microsoft.Exchange.Data.ProxyAddress)')).toEqual({ kind: 'collection', item: undefined });
    expect(parseTypeHint('System.DateTimeOffset')).toBeUndefined();
    expect(parseTypeHint('Microsoft.Exchange.Data.ByteQuantifiedSize')).toBeUndefined();
    expect(parseTypeHint('constructor')).toBeUndefined();
  });

  it('types a value only when it fits', () => {
    expect(typedScalar('I32', 2147483647)).toEqual(['I32', '2147483647']);
    expect(typedScalar('I32', 2147483648)).toBeUndefined();
    expect(typedScalar('I32', '-12')).toEqual(['I32', '-12']);
    expect(typedScalar('I32', '+007')).toEqual(['I32', '7']);
    expect(typedScalar('I32', 1.5)).toBeUndefined();
    expect(typedScalar('I16', 32768)).toBeUndefined();
    expect(typedScalar('I64', '-9223372036854775808')).toEqual(['I64', '-9223372036854775808']);
    expect(typedScalar('I64', '9223372036854775808')).toBeUndefined();
    expect(typedScalar('B', 'FALSE')).toEqual(['B', 'false']);
    expect(typedScalar('B', 1)).toBeUndefined();
    expect(typedScalar('G', '00000000-0000-0000-0000-00000000000G')).toBeUndefined();
    expect(typedScalar('S', 12)).toEqual(['S', '12']);
    expect(typedScalar('Db', 0.5)).toEqual(['Db', '0.5']);
    expect(typedScalar('DT', 1_600_000_000_000)).toBeUndefined();
  });

  it('picks I32, then I64, then Db for untyped numbers', () => {
    expect(untypedNumber(0)).toEqual(['I32', '0']);
    expect(untypedNumber(-2147483648)).toEqual(['I32', '-2147483648']);
    expect(untypedNumber(2147483648)).toEqual(['I64', '2147483648']);
    expect(untypedNumber(2 ** 62)).toEqual(['I64', '4611686018427387904']);
    expect(untypedNumber(2 ** 63)).toEqual(['Db', '9223372036854776000']);
    expect(untypedNumber(1.5e-7)).toEqual(['Db', '1.5e-7']);
    expect(untypedNumber(Number.NaN)).toEqual(['Db', 'NaN']);
    expect(untypedNumber(-Infinity)).toEqual(['Db', '-INF']);
  });

  it('converts DateTime strings to seven fractional digits, keeping the offset designator', () => {
    expect(clixmlDateTime('2022-09-21T08:07:47.0000000+00:00')).toBe('2022-09-21T08:07:47.0000000+00:00');
    expect(clixmlDateTime('2022-09-21T08:07:47Z')).toBe('2022-09-21T08:07:47.0000000Z');
    expect(clixmlDateTime('2022-09-21T08:07:47.123Z')).toBe('2022-09-21T08:07:47.1230000Z');
    expect(clixmlDateTime('2022-09-21T08:07:47.123456789-05:30')).toBe('2022-09-21T08:07:47.1234567-05:30');
    expect(clixmlDateTime('2022-09-21T08:07+0100')).toBe('2022-09-21T08:07:00.0000000+01:00');
    expect(clixmlDateTime('2022-09-21T08:07:47')).toBe('2022-09-21T08:07:47.0000000');
    expect(clixmlDateTime('2024-02-29T00:00:00Z')).toBe('2024-02-29T00:00:00.0000000Z');
    for (const bad of [
      '2023-02-29T00:00:00Z',
      '2022-13-01T00:00:00Z',
      '2022-09-21T24:00:00Z',
      '2022-09-21T08:07:60Z',
      '2022-09-21',
      'soon',
      '2022-09-21T08:07:47+15:00',
    ]) {
      expect(clixmlDateTime(bad), bad).toBeUndefined();
    }
  });
});

describe('createClixmlEncoder', () => {
  it('writes the document header once, objects one per line, and the closing tag at the end', () => {
    const encoder = createClixmlEncoder();
    const first = encoder.encode([{ A: 1 }]);
    const second = encoder.encode([{ A: 2 }]);
    const end = encoder.end();
    expect(first).toBe(
      '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">\n' +
        '  <Obj RefId="0"><TN RefId="0"><T>Deserialized.System.Management.Automation.PSCustomObject</T><T>Deserialized.System.Object</T></TN><MS><I32 N="A">1</I32></MS></Obj>\n',
    );
    expect(second).toBe('  <Obj RefId="1"><TNRef RefId="0" /><MS><I32 N="A">2</I32></MS></Obj>\n');
    expect(end).toBe('</Objs>\n');
  });

  it('leaves out undefined properties, as JSON does, and writes undefined list items as Nil', () => {
    const encoder = createClixmlEncoder();
    const xml = encoder.encode([{ A: undefined, B: [undefined, 1] }]) + encoder.end();
    expect(readClixml(xml).objects).toEqual([{ B: [null, 1] }]);
  });

  it('nests objects as PSCustomObjects that share the top-level type declaration', () => {
    const encoder = createClixmlEncoder();
    const xml = encoder.encode([{ Outer: { Inner: { Leaf: 'x' } }, List: [{ Item: true }] }]) + encoder.end();
    const doc = readClixml(xml);
    expect(doc.objects).toEqual([{ Outer: { Inner: { Leaf: 'x' } }, List: [{ Item: true }] }]);
    expect(doc.typeNames.size).toBe(2);
    expect(doc.objRefIds).toEqual([0, 1, 2, 3, 4]);
  });
});
