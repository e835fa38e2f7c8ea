import { describe, expect, it } from 'vitest';
import { parsePage } from '../../../src/exchange/page.js';
import { splitPageBody } from '../../../src/exchange/page-split.js';

/** A small deterministic generator (mulberry32), so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Characters that matter to a byte scanner: quotes, backslashes, brackets, commas, non-Latin-1
// letters, an emoji (a surrogate pair), control characters that JSON escapes.
const AWKWARD = ['"', '\\', '\\"', '{', '}', '[', ']', ',', ':', 'é', 'Ł', 'ễ', '😀', '\n', '\u0001', 'value', ' ', 'a'];

function randomValue(next: () => number, depth: number): unknown {
  const pick = next();
  if (depth > 3 || pick < 0.35) {
    let text = '';
    const length = Math.floor(next() * 12);
    for (let i = 0; i < length; i++) text += AWKWARD[Math.floor(next() * AWKWARD.length)];
    return text;
  }
  if (pick < 0.45) return Math.floor(next() * 1e6) / (next() < 0.5 ? 1 : 7);
  if (pick < 0.5) return next() < 0.5;
  if (pick < 0.55) return null;
  if (pick < 0.75) return Array.from({ length: Math.floor(next() * 4) }, () => randomValue(next, depth + 1));
  return randomObject(next, depth + 1);
}

function randomObject(next: () => number, depth: number): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  const keys = Math.floor(next() * 6);
  for (let i = 0; i < keys; i++) object[`${String(randomValue(next, 9))}${i}`] = randomValue(next, depth);
  return object;
}

describe('splitPageBody', () => {
  it('finds exactly what JSON.parse finds, on random pages with awkward strings and nesting', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const next = random(seed);
      const items = Array.from({ length: Math.floor(next() * 20) }, () => randomObject(next, 0));
      const envelope: Record<string, unknown> = { '@odata.context': 'https://x/$metadata#Collection(Exchange.GenericHashTable)' };
      if (next() < 0.5) envelope['@adminapi.warnings'] = ['a "quoted" [warning]'];
      envelope['value'] = items;
      if (next() < 0.7) envelope['@odata.nextLink'] = `https://x/next?$skiptoken=${seed}`;
      // Pretty-printed or compact: whitespace between tokens is allowed anywhere.
      const text = next() < 0.5 ? JSON.stringify(envelope) : JSON.stringify(envelope, null, next() < 0.5 ? 2 : '\t');
      const split = splitPageBody(Buffer.from(text));
      expect(split, `seed ${seed}`).toBeDefined();
      expect(split!.items, `seed ${seed}`).toEqual(items);
      const { value: _value, ...rest } = envelope;
      expect({ ...split!.envelope, value: undefined }, `seed ${seed}`).toEqual({ ...rest, value: undefined });
    }
  });

  it('returns undefined for what it does not expect, so the whole body is parsed as before', () => {
    for (const text of [
      '[1,2]',
      '{"value":[1,2]}',
      '{"value":[{"a":1}],"value":[{"b":2}]}',
      '{"value":[{"a":1}',
      '{"value":[{"a":"unterminated}]}',
      '{"other":[{"a":1}]}',
      '',
    ]) {
      expect(splitPageBody(Buffer.from(text)), text).toBeUndefined();
    }
  });

  it('reads a key named value only at the top level', () => {
    const text = JSON.stringify({ nested: { value: [{ wrong: true }] }, value: [{ right: true }], after: 'value' });
    expect(splitPageBody(Buffer.from(text))!.items).toEqual([{ right: true }]);
  });
});

describe('parsePage on large bodies (read object by object)', () => {
  const mailbox = (i: number): Record<string, unknown> => ({
    DisplayName: `Zoë Łukasz ${i} "the" \\ one`,
    'Guid@data.type': 'System.Guid',
    Guid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
    'EmailAddresses@odata.type': '#Collection(String)',
    EmailAddresses: [`SMTP:u${i}@contoso.com`, `smtp:u${i}@contoso.onmicrosoft.com`],
    Notes: '{[,]}',
  });
  const body = Buffer.from(JSON.stringify({ value: Array.from({ length: 600 }, (_, i) => mailbox(i)), '@odata.nextLink': 'https://x/next' }));

  it('gives the same page as a whole-body parse', () => {
    expect(body.length).toBeGreaterThan(64 * 1024);
    const page = parsePage(body, ['guid', 'DisplayName'], {});
    expect(page.objects).toHaveLength(600);
    expect(page.objects[599]).toEqual({ guid: '00000000-0000-0000-0000-000000000599', DisplayName: 'Zoë Łukasz 599 "the" \\ one' });
    expect(page.propertyTypes).toEqual({ Guid: 'System.Guid', EmailAddresses: '#Collection(String)' });
    expect(page.nextLink).toBe('https://x/next');
  });

  it('projects exact names with their announced types, and falls back per object when a name is missing', () => {
    const page = parsePage(body, ['EmailAddresses', 'Guid'], {});
    expect(page.objects[0]).toEqual({
      EmailAddresses: ['SMTP:u0@contoso.com', 'smtp:u0@contoso.onmicrosoft.com'],
      Guid: '00000000-0000-0000-0000-000000000000',
    });
    expect(Object.keys(page.objects[0]!)).toEqual(['EmailAddresses', 'Guid']);
    expect(page.propertyTypes).toEqual({ Guid: 'System.Guid', EmailAddresses: '#Collection(String)' });
    const mixed = parsePage(
      Buffer.from(
        JSON.stringify({
          value: [
            { A: 1, 'B@odata.type': '#Int32', B: 2 },
            { a: 3, B: 4 },
          ],
        }),
      ),
      ['A', 'B'],
      {},
    );
    expect(mixed.objects).toEqual([
      { A: 1, B: 2 },
      { A: 3, B: 4 },
    ]);
    expect(mixed.propertyTypes).toEqual({ B: '#Int32' });
  });

  it('reports a broken object inside a large page as a bad response', () => {
    const broken = Buffer.from(body.toString('utf8').replace('"Notes":"{[,]}"}', '"Notes":{[,]}}'));
    expect(() => parsePage(broken, undefined, {})).toThrow(expect.objectContaining({ code: 'EXO_BAD_RESPONSE' }));
  });
});
