/**
 * Deterministic hashing and pseudo-random numbers. Every seeded object is generated from
 * (seed, stream, index) alone, so object 999_999 of a million-mailbox tenant costs the same as
 * object 0 and nothing has to be kept in memory.
 */

/** murmur3's 32-bit finaliser: good avalanche for sequential inputs such as indexes. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Combines numbers (any finite value; large ones keep their high bits) into one 32-bit hash. */
export function hash32(...values: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const value of values) {
    const low = value >>> 0;
    const high = Math.floor(value / 0x1_0000_0000) >>> 0;
    h = mix32(h ^ mix32(low + 0x9e3779b9));
    if (high !== 0) h = mix32(h ^ mix32(high + 0x7f4a7c15));
  }
  return h;
}

/** FNV-1a over UTF-16 code units, then mixed; for turning names into stream salts. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return mix32(h);
}

/** A small sequential generator for the choices that make up one object. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  pick<T>(items: readonly T[]): T;
  chance(probability: number): boolean;
}

/**
 * mulberry32: fast, 32-bit state, plenty for test data (not for secrets). A class rather than
 * closures: one is created per generated object, so allocation matters.
 */
class Mulberry32 implements Random {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  }

  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }
}

export function createRandom(seed: number): Random {
  return new Mulberry32(seed);
}

/** The generator for object `index` of `stream` under `seed`. */
export function randomFor(seed: number, stream: number, index: number): Random {
  return createRandom(hash32(seed, stream, index));
}
