/**
 * A small seeded pseudo-random generator shared by every random transform,
 * the data loader's shuffling and the synthetic data set, so that a run is
 * reproducible from its seed and resumable from a saved state.
 *
 * The generator is sfc32 (Chris Doty-Humphrey's Small Fast Counting RNG,
 * 128-bit state, passes PractRand); the seed is spread over the state with
 * splitmix32 so that nearby seeds give unrelated streams.
 */

/** Saved state of an {@link Rng}; four unsigned 32-bit words. */
export type RngState = [number, number, number, number];

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/**
 * Seeded PRNG (sfc32).
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * rng.next();          // a float in [0, 1)
 * rng.int(0, 10);      // an integer in [0, 10)
 * const s = rng.getState();
 * const a = rng.next();
 * rng.setState(s);
 * rng.next() === a;    // => true
 * ```
 */
export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;
  private spareNormal: number | undefined;

  constructor(seed = 0) {
    this.seed(seed);
  }

  /** Re-seed; `new Rng(s)` and `rng.seed(s)` give the same stream. */
  seed(seed: number): void {
    const sm = splitmix32(Math.floor(seed) | 0);
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    this.spareNormal = undefined;
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A new generator whose stream is a function of this one's seed and `salt` (e.g. an epoch or a worker id). */
  static derive(seed: number, ...salt: number[]): Rng {
    let h = Math.floor(seed) >>> 0;
    for (const s of salt) h = (Math.imul(h ^ (Math.floor(s) >>> 0), 0x9e3779b1) + 0x7f4a7c15) >>> 0;
    return new Rng(h);
  }

  /** Next unsigned 32-bit integer. */
  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  /** A float in [0, 1) with 32 random bits. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A float in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** An integer in [lo, hi) (hi exclusive, like numpy's `randint`). */
  int(lo: number, hi: number): number {
    if (!(hi > lo)) throw new RangeError(`Rng.int: empty range [${lo}, ${hi})`);
    return lo + Math.floor(this.next() * (hi - lo));
  }

  /** True with probability `p`. */
  bool(p = 0.5): boolean {
    return this.next() < p;
  }

  /** A standard normal sample (Marsaglia polar method). */
  normal(mean = 0, std = 1): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return mean + std * v;
    }
    let u: number, v: number, s: number;
    do {
      u = this.next() * 2 - 1;
      v = this.next() * 2 - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    return mean + std * u * f;
  }

  /** One element of `arr`, uniformly. */
  choice<T>(arr: readonly T[]): T {
    if (arr.length === 0) throw new RangeError('Rng.choice: empty array');
    return arr[this.int(0, arr.length)];
  }

  /** Shuffle `arr` in place (Fisher-Yates) and return it. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      const t = arr[i];
      arr[i] = arr[j]!;
      arr[j] = t;
    }
    return arr;
  }

  /** A random permutation of 0..n-1. */
  permutation(n: number): number[] {
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /** The state, to save with a checkpoint (the cached normal sample is dropped). */
  getState(): RngState {
    return [this.a, this.b, this.c, this.d];
  }

  /** Restore a state saved with {@link getState}. */
  setState(state: readonly number[]): void {
    if (state.length !== 4)
      throw new RangeError(`Rng.setState: expected 4 words, got ${state.length}`);
    [this.a, this.b, this.c, this.d] = state.map((x) => x >>> 0) as RngState;
    this.spareNormal = undefined;
  }
}
