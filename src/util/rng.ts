/**
 * Seeded pseudo-random numbers: xoshiro128** seeded through splitmix32.
 * The whole state is four 32-bit words, so a search can store it and resume exactly.
 */

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

export class Rng {
  private s: RngState;
  /** A spare standard normal from the last Box-Muller pair. */
  private spare: number | null = null;

  /**
   * A seed is any safe integer (seeds beyond 32 bits mix in their high word instead of wrapping onto
   * a 32-bit seed); a state is four 32-bit words, not all zero.
   */
  constructor(seedOrState: number | RngState) {
    if (typeof seedOrState === 'number') {
      const seed = seedOrState;
      if (!Number.isSafeInteger(seed)) throw new RangeError(`Rng seed must be a safe integer, got ${seed}`);
      const sm = splitmix32(seed >>> 0);
      this.s = [sm(), sm(), sm(), sm()];
      const hi = Math.floor(seed / 4294967296);
      if (hi !== 0 && hi !== -1) {
        const smHi = splitmix32((hi >>> 0) ^ 0x5bd1e995);
        for (let i = 0; i < 4; i++) this.s[i] = (this.s[i]! ^ smHi()) >>> 0;
      }
      if (this.s.every((x) => x === 0)) this.s[0] = 1;
    } else {
      const st = seedOrState;
      if (!Array.isArray(st) || st.length !== 4 || !st.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff)) {
        throw new RangeError('Rng state must be four unsigned 32-bit integers');
      }
      // the all-zero state is a fixed point of xoshiro: it would return 0 forever
      if (st.every((x) => x === 0)) throw new RangeError('Rng state must not be all zero');
      this.s = [...st] as RngState;
    }
  }

  /** Uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] = (s[2] ^ s[0]) >>> 0;
    s[3] = (s[3] ^ s[1]) >>> 0;
    s[1] = (s[1] ^ s[2]) >>> 0;
    s[0] = (s[0] ^ s[3]) >>> 0;
    s[2] = (s[2] ^ t) >>> 0;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!(n >= 1) || !Number.isFinite(n)) throw new RangeError(`Rng.int needs a finite n >= 1, got ${n}`);
    return Math.floor(this.next() * n);
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Gamma(shape, 1) by Marsaglia and Tsang's method (shape > 0). */
  gamma(shape: number): number {
    if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`Rng.gamma needs a finite shape > 0, got ${shape}`);
    if (shape < 1) {
      let u = 0;
      while (u === 0) u = this.next();
      return this.gamma(shape + 1) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      const x = this.normal();
      const v = (1 + c * x) ** 3;
      if (v <= 0) continue;
      const u = this.next();
      if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Student's t with df degrees of freedom (heavy-tailed for small df; infinite variance for df <= 2). */
  studentT(df: number): number {
    const z = this.normal();
    return z / Math.sqrt((2 * this.gamma(df / 2)) / df);
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Rng.pick on an empty list');
    return items[this.int(items.length)] as T;
  }

  /** Index drawn with probability proportional to weights (all >= 0, sum > 0). */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) {
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`Rng.weighted needs finite weights >= 0, got ${w}`);
      total += w;
    }
    if (!(total > 0)) throw new RangeError('Rng.weighted needs a positive total weight');
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = items[i] as T;
      items[i] = items[j] as T;
      items[j] = t;
    }
    return items;
  }

  /** Snapshot for storage: the four state words and the pending spare normal, so a resumed stream is exact. */
  getState(): { s: RngState; spare: number | null } {
    return { s: [...this.s] as RngState, spare: this.spare };
  }

  static fromState(state: { s: RngState; spare: number | null }): Rng {
    const r = new Rng(state.s);
    if (state.spare !== null && typeof state.spare !== 'number') throw new RangeError('Rng state: spare must be a number or null');
    r.spare = state.spare;
    return r;
  }

  /** An independent stream derived from this one (for per-task seeds). */
  fork(): Rng {
    return new Rng(this.nextUint32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
