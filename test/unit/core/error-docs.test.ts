import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../src/core/error-codes.js';

describe('docs/errors.md', () => {
  const rows = readFileSync(path.join(import.meta.dirname, '../../../docs/errors.md'), 'utf8')
    .split('\n')
    .map((line) => /^\| `([A-Z_]+)` \| (yes|no) \| (\w+)( \(item\))? \|/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null);

  it('documents every error code, and only those', () => {
    expect(rows.map((row) => row[1]).sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('states how each code is retried, and whether it fails only a forEach item, as the catalogue does', () => {
    for (const row of rows) {
      const entry = ERROR_CODES[row[1] as keyof typeof ERROR_CODES];
      expect(`${row[1]}: ${row[3]}${row[4] ?? ''}`).toBe(`${row[1]}: ${entry.retry}${entry.scope === 'item' ? ' (item)' : ''}`);
    }
  });

  it('states the same retryable default as the code', () => {
    for (const row of rows) {
      expect(`${row[1]}: ${row[2]}`).toBe(`${row[1]}: ${ERROR_CODES[row[1] as keyof typeof ERROR_CODES].retryable ? 'yes' : 'no'}`);
    }
  });
});
