import { describe, expect, it } from 'vitest';
import { createPageBytes } from '../../../src/storage/text-sink.js';

describe('createPageBytes', () => {
  it('holds the UTF-8 of everything written since the last reset, growing as needed', () => {
    const bytes = createPageBytes(4);
    const pieces = ['abc', 'é', '😀', 'Łukasz,"x"\r\n', 'z'.repeat(10_000)];
    for (const piece of pieces) bytes.write(piece);
    expect(bytes.bytes().toString('utf8')).toBe(pieces.join(''));
    expect(bytes.bytes().equals(Buffer.from(pieces.join(''), 'utf8'))).toBe(true);
    bytes.reset();
    expect(bytes.bytes().length).toBe(0);
    bytes.write('ẞ');
    expect(bytes.bytes().toString('utf8')).toBe('ẞ');
  });
});
