import { describe, expect, it } from 'vitest';
import { decodeConfigText } from '../../../src/config/encoding.js';

const yaml = 'version: 1\ntenants: {}\njobs: {}\n';
const messageOf = (bytes: Uint8Array): string => {
  const decoded = decodeConfigText(bytes, 'jobs.yaml');
  return 'problem' in decoded ? `${decoded.problem.line}:${decoded.problem.col} ${decoded.problem.message}` : `text: ${decoded.text}`;
};

describe('reading jobs.yaml bytes', () => {
  it('reads UTF-8, with or without a byte order mark', () => {
    expect(messageOf(Buffer.from(yaml))).toBe(`text: ${yaml}`);
    expect(messageOf(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(yaml)]))).toBe(`text: ${yaml}`);
    expect(messageOf(Buffer.from('description: Zürich – 東京\n'))).toBe('text: description: Zürich – 東京\n');
  });

  it('names UTF-16, with a byte order mark (either order) or without one', () => {
    const expected = '1:1 jobs.yaml is UTF-16 encoded; save it as UTF-8';
    expect(messageOf(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(yaml, 'utf16le')]))).toBe(expected);
    expect(messageOf(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(yaml, 'utf16le').swap16()]))).toBe(expected);
    expect(messageOf(Buffer.from(yaml, 'utf16le'))).toBe(expected);
  });

  it('calls binary data not a text file', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x01]);
    expect(messageOf(png)).toBe('1:1 jobs.yaml is not a text file (it contains NUL bytes); pass the jobs.yaml file');
    const noise = Buffer.from(Array.from({ length: 512 }, (_, index) => (index * 151 + 7) % 256).filter((byte) => byte !== 0));
    expect(messageOf(noise)).toBe('1:1 jobs.yaml is not a text file; pass the jobs.yaml file');
  });

  it('points at the first byte that is not UTF-8 in a text saved in another encoding', () => {
    const latin1 = Buffer.from('version: 1\ndescription: Z\u00fcrich\n', 'latin1');
    expect(messageOf(latin1)).toBe('2:15 jobs.yaml is not valid UTF-8 (byte 0xfc; a file saved as Latin-1 or Windows-1252?); save it as UTF-8');
  });
});
