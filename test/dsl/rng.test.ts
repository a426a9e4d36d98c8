import { describe, expect, it } from 'vitest';
import { Rng, type RngState } from '../../src/util/rng.ts';

/** xoshiro128** written independently with BigInt arithmetic, to check the 32-bit integer tricks. */
function referenceXoshiro(state: readonly number[]): () => number {
  const M = (1n << 32n) - 1n;
  const s = state.map((x) => BigInt(x));
  const rotl = (x: bigint, k: bigint): bigint => ((x << k) | (x >> (32n - k))) & M;
  return () => {
    const result = (rotl((s[1]! * 5n) & M, 7n) * 9n) & M;
    const t = (s[1]! << 9n) & M;
    s[2] = s[2]! ^ s[0]!;
    s[3] = s[3]! ^ s[1]!;
    s[1] = s[1]! ^ s[2]!;
    s[0] = s[0]! ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 11n);
    return Number(result);
  };
}

describe('Rng', () => {
  it('is xoshiro128**: matches an independent BigInt implementation, and the published first output for state (1, 2, 3, 4)', () => {
    const state: RngState = [1, 2, 3, 4];
    const rng = new Rng(state);
    const ref = referenceXoshiro(state);
    const first = rng.nextUint32();
    expect(first).toBe(11520); // rotl(2 * 5, 7) * 9
    expect(ref()).toBe(first);
    for (let i = 0; i < 10_000; i++) expect(rng.nextUint32()).toBe(ref());
    const seeded = new Rng(123456);
    const ref2 = referenceXoshiro(seeded.getState().s);
    for (let i = 0; i < 1000; i++) expect(seeded.nextUint32()).toBe(ref2());
  });

  it('same seed, same stream; different seeds, different streams', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const sa = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(sa);
    expect(Array.from({ length: 100 }, () => c.next())).not.toEqual(sa);
  });

  it('seeds beyond 32 bits do not wrap onto 32-bit seeds; non-integer seeds are refused', () => {
    const stream = (seed: number): number[] => {
      const r = new Rng(seed);
      return Array.from({ length: 8 }, () => r.nextUint32());
    };
    expect(stream(2 ** 32 + 5)).not.toEqual(stream(5));
    expect(stream(2 ** 40)).not.toEqual(stream(0));
    expect(stream(2 ** 40)).toEqual(stream(2 ** 40));
    expect(() => new Rng(1.5)).toThrow(RangeError);
    expect(() => new Rng(NaN)).toThrow(RangeError);
    expect(() => new Rng(2 ** 60)).toThrow(RangeError);
  });

  it('getState / fromState resumes exactly, also between the two normals of a Box-Muller pair', () => {
    const a = new Rng(7);
    a.next();
    a.normal(); // leaves a spare normal pending
    const saved = JSON.parse(JSON.stringify(a.getState())) as ReturnType<Rng['getState']>;
    expect(saved.spare).not.toBeNull();
    const b = Rng.fromState(saved);
    const draw = (r: Rng): number[] => [r.normal(), r.normal(), r.next(), r.int(1000), r.normal(), r.uniform(-3, 3)];
    expect(draw(b)).toEqual(draw(a));
    // the snapshot is a copy: drawing more does not change it
    const snap = a.getState();
    a.next();
    expect(a.getState().s).not.toEqual(snap.s);
  });

  it('refuses a malformed or all-zero state', () => {
    expect(() => new Rng([0, 0, 0, 0])).toThrow(/all zero/);
    expect(() => new Rng([1, 2, 3] as unknown as RngState)).toThrow(RangeError);
    expect(() => new Rng([1, 2, 3, -1])).toThrow(RangeError);
    expect(() => new Rng([1, 2, 3, 2 ** 32])).toThrow(RangeError);
    expect(() => Rng.fromState({ s: [1, 2, 3, 4], spare: 'x' as unknown as number })).toThrow(RangeError);
  });

  it('next() is in [0, 1) with mean ~1/2; normal() has mean ~0 and variance ~1 over 100k draws', () => {
    const rng = new Rng(2026);
    const n = 100_000;
    let sumU = 0;
    let sum = 0;
    let sumSq = 0;
    let sum4 = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      expect(u >= 0 && u < 1).toBe(true);
      sumU += u;
      const z = rng.normal();
      sum += z;
      sumSq += z * z;
      sum4 += z ** 4;
    }
    const mean = sum / n;
    const variance = sumSq / n - mean * mean;
    // standard errors: 0.0032 for the mean, 0.0045 for the variance; bounds are about 6 of them
    expect(Math.abs(sumU / n - 0.5)).toBeLessThan(0.006);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.03);
    expect(Math.abs(sum4 / n - 3)).toBeLessThan(0.15); // kurtosis of a normal
  });

  it('int(n) covers exactly [0, n) roughly uniformly', () => {
    const rng = new Rng(5);
    for (const n of [1, 2, 7, 100]) {
      const counts = new Array(n).fill(0);
      const draws = 2000 * n;
      for (let i = 0; i < draws; i++) {
        const k = rng.int(n);
        expect(Number.isInteger(k) && k >= 0 && k < n).toBe(true);
        counts[k]++;
      }
      for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(300);
    }
    expect(() => rng.int(0)).toThrow(RangeError);
    expect(() => rng.int(Infinity)).toThrow(RangeError);
    expect(() => rng.int(NaN)).toThrow(RangeError);
  });

  it('weighted draws in proportion, never picks a zero weight, and refuses bad weights', () => {
    const rng = new Rng(11);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[rng.weighted([1, 0, 3, 4])]! += 1;
    expect(counts[1]).toBe(0);
    expect(Math.abs(counts[0]! / 40_000 - 1 / 8)).toBeLessThan(0.01);
    expect(Math.abs(counts[2]! / 40_000 - 3 / 8)).toBeLessThan(0.01);
    expect(Math.abs(counts[3]! / 40_000 - 4 / 8)).toBeLessThan(0.01);
    expect(() => rng.weighted([0, 0])).toThrow(RangeError);
    expect(() => rng.weighted([2, -1])).toThrow(RangeError);
    expect(() => rng.weighted([1, NaN])).toThrow(RangeError);
    expect(() => rng.weighted([1, Infinity])).toThrow(RangeError);
  });

  it('pick, shuffle and fork', () => {
    const rng = new Rng(3);
    const items = ['a', 'b', 'c'];
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) seen.add(rng.pick(items));
    expect([...seen].sort()).toEqual(items);
    expect(() => rng.pick([])).toThrow(RangeError);
    const arr = Array.from({ length: 50 }, (_, i) => i);
    const shuffled = rng.shuffle([...arr]);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(arr);
    expect(shuffled).not.toEqual(arr);
    // a fork is reproducible and is not the parent's own continuation
    const parent = new Rng(9);
    const child = Array.from({ length: 5 }, ((c) => () => c.next())(parent.fork()));
    const again = Array.from({ length: 5 }, ((c) => () => c.next())(new Rng(9).fork()));
    expect(child).toEqual(again);
    expect(Array.from({ length: 5 }, () => parent.next())).not.toEqual(child);
  });
});
