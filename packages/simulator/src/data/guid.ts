import { createHash } from 'node:crypto';
import { hash32 } from './prng.js';

const GUID_PATTERN = /^\{?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})\}?$/i;

/** True for a GUID in registry form, with or without braces. */
export function isGuid(text: string): boolean {
  return GUID_PATTERN.test(text.trim());
}

/**
 * A random-looking version-4 GUID whose last 12 hex digits encode `index` (XOR a mask derived from
 * `salt`, so tails do not read 000000000001). Identity lookups decode the index back (O(1)) and
 * confirm by regenerating the object, so no index is ever stored.
 */
export function indexedGuid(salt: number, index: number): string {
  const a = hex8(hash32(salt, index, 1));
  const b = hex8(hash32(salt, index, 2));
  const c = hash32(salt, index, 3);
  const variant = (8 + (c & 3)).toString(16);
  const mask = tailMask(salt);
  const tail = `${mask.high.toString(16).padStart(4, '0')}${hex8((index ^ mask.low) >>> 0)}`;
  return `${a}-${b.slice(0, 4)}-4${b.slice(4, 7)}-${variant}${hex8(c).slice(0, 3)}-${tail}`;
}

/** The index {@link indexedGuid} embedded with this `salt`, or undefined when `text` is not one of its GUIDs. */
export function indexFromGuid(text: string, salt: number): number | undefined {
  const match = GUID_PATTERN.exec(text.trim());
  const tail = match?.[5];
  if (!tail) return undefined;
  const mask = tailMask(salt);
  if (Number.parseInt(tail.slice(0, 4), 16) !== mask.high) return undefined;
  return (Number.parseInt(tail.slice(4), 16) ^ mask.low) >>> 0;
}

const masks = new Map<number, { high: number; low: number }>();

function tailMask(salt: number): { high: number; low: number } {
  let mask = masks.get(salt);
  if (!mask) {
    // A handful of salts per tenant; bounded anyway so a long-lived simulator cannot grow it.
    if (masks.size > 10_000) masks.clear();
    mask = { high: hash32(salt, 0x7a11) & 0xffff, low: hash32(salt, 0x7a12) };
    masks.set(salt, mask);
  }
  return mask;
}

/** A stable version-4-shaped GUID derived from text (tenant and app ids). */
export function guidFromText(text: string): string {
  const hex = createHash('sha256').update(text).digest('hex');
  const variant = ((Number.parseInt(hex.charAt(16), 16) & 3) | 8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const HEX_BYTES = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

/** Hot path (several calls per generated object), so a table rather than toString/padStart. */
function hex8(value: number): string {
  return (
    (HEX_BYTES[(value >>> 24) & 0xff] ?? '') +
    (HEX_BYTES[(value >>> 16) & 0xff] ?? '') +
    (HEX_BYTES[(value >>> 8) & 0xff] ?? '') +
    (HEX_BYTES[value & 0xff] ?? '')
  );
}
