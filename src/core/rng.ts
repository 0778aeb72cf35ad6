/**
 * Splittable, counter-based random numbers (the JAX way).
 *
 * A `Key` is two uint32 words. Every random draw is a pure function of a key
 * and a counter, computed with Threefry-2x32 (20 rounds; Salmon et al. 2011,
 * "Parallel random numbers: as easy as 1, 2, 3"), so:
 *   - the same seed gives the same numbers on every machine and backend;
 *   - `split(key, n)` gives n independent child keys, so a loop can hand one
 *     to each sub-task without the sub-tasks' draw counts affecting each other.
 *
 * `Rng` wraps a key with a counter for code that wants a stream (`uniform()`,
 * `normal()`, ...). Core never uses the platform's unseeded generator: every draw comes from a key.
 */

export type Key = readonly [number, number];

const ROT_A = [13, 15, 26, 6] as const;
const ROT_B = [17, 29, 16, 24] as const;

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

/** Threefry-2x32-20: (key k0,k1; counter x0,x1) → two uint32 words. */
export function threefry2x32(k0: number, k1: number, x0: number, x1: number): [number, number] {
  const ks0 = k0 >>> 0;
  const ks1 = k1 >>> 0;
  const ks2 = (0x1bd11bda ^ ks0 ^ ks1) >>> 0;
  const ks = [ks0, ks1, ks2];
  let a = (x0 + ks0) >>> 0;
  let b = (x1 + ks1) >>> 0;
  // Five groups of four rounds, with a key injection after each group.
  for (let g = 0; g < 5; g++) {
    const rot = g % 2 === 0 ? ROT_A : ROT_B;
    for (let i = 0; i < 4; i++) {
      a = (a + b) >>> 0;
      b = rotl(b, rot[i]!);
      b = (b ^ a) >>> 0;
    }
    const s = g + 1;
    a = (a + ks[s % 3]!) >>> 0;
    b = (b + ks[(s + 1) % 3]! + s) >>> 0;
  }
  return [a, b];
}

/** A key from a non-negative integer seed (up to 2^53). */
export function keyFromSeed(seed: number): Key {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`seed: must be a non-negative integer, got ${seed}`);
  }
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  // Hash once so that nearby seeds give unrelated keys.
  return threefry2x32(0x5eed0000, 0x1ab5eed5, lo, hi);
}

/** n independent child keys. */
export function split(key: Key, n = 2): Key[] {
  const out: Key[] = [];
  for (let i = 0; i < n; i++) out.push(threefry2x32(key[0], key[1], i, 0x5b117));
  return out;
}

/** A child key derived from the key and an integer (e.g. a step or an index). */
export function foldIn(key: Key, data: number): Key {
  return threefry2x32(key[0], key[1], data >>> 0, Math.floor(data / 2 ** 32) >>> 0 ^ 0xf01d);
}

/** A stream of random numbers from one key. Deterministic given the key. */
export class Rng {
  private counter = 0;
  private spare: number | null = null; // second uint32 of the last Threefry block
  private spareNormal: number | null = null;

  constructor(readonly key: Key) {}

  static fromSeed(seed: number): Rng {
    return new Rng(keyFromSeed(seed));
  }

  /** A uniformly distributed uint32. */
  uint32(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const [a, b] = threefry2x32(this.key[0], this.key[1], this.counter >>> 0, Math.floor(this.counter / 2 ** 32));
    this.counter++;
    this.spare = b;
    return a;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.uint32() >>> 5; // 27 bits
    const lo = this.uint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1) || !Number.isSafeInteger(n)) throw new Error(`Rng.int: n must be a positive integer, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal N(0, 1), Box-Muller. */
  normal(): number {
    if (this.spareNormal !== null) {
      const s = this.spareNormal;
      this.spareNormal = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i]!;
      items[i] = items[j]!;
      items[j] = t;
    }
    return items;
  }

  /** An independent child stream (does not advance this one's draws). */
  fork(tag: number): Rng {
    return new Rng(foldIn(this.key, tag));
  }
}
