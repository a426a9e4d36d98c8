/**
 * The engine's float32 math functions against Math.* (rounded to float32): the maximum error in
 * float32 ulp over wide argument ranges, and special values (NaN, +-Inf, +-0, huge, tiny and
 * denormal arguments) exactly. The bounds asserted here are the ones docs/proxy.md states.
 */
import { describe, expect, it } from 'vitest';
import { KERNEL_EXP_MIN, kernelExp, MathLib, UNARY_MATH, type UnaryMath } from '../../src/engine/math.ts';
import { ModuleBuilder } from '../../src/engine/wasm.ts';
import { Rng } from '../../src/util/rng.ts';

const REFERENCE: Record<UnaryMath, (x: number) => number> = {
  exp: Math.exp, exp2: (x) => Math.pow(2, x), exp10: (x) => Math.pow(10, x), expm1: Math.expm1,
  log: (x) => Math.log(Math.abs(x)), log2: (x) => Math.log2(Math.abs(x)), log10: (x) => Math.log10(Math.abs(x)),
  log1p: (x) => (x > -1 ? Math.log1p(x) : Math.log(Math.abs(1 + x))),
  sin: Math.sin, cos: Math.cos, tan: Math.tan, arcsin: Math.asin, arccos: Math.acos, arctan: Math.atan,
  sinh: Math.sinh, cosh: Math.cosh, tanh: Math.tanh, arcsinh: Math.asinh, arccosh: Math.acosh, arctanh: Math.atanh, cbrt: Math.cbrt,
};

/** Maximum error in float32 ulp (stated in docs/proxy.md, "The simd engine"). */
const ULP_BOUND = 1;
/** sin, cos, tan reduce their argument with a 3-part pi/2: the bound holds for |x| <= 2^20. */
const TRIG_RANGE = 2 ** 20;
/** The kernels' softmax exp on [KERNEL_EXP_MIN, 0]: maximum relative error. */
const KERNEL_EXP_BOUND = 2.5e-7;

const N = 4096;
const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 2, -2, 0.5, -0.5, 3.4028234663852886e38, -3.4028234663852886e38, 1.401298464324817e-45, -1.401298464324817e-45, 1.1754943508222875e-38, 1e-30, -1e-30, 1e30, -1e30, 88.7, -88.7, 89.5, -104, 710, 1e-8].map(Math.fround);

/** Instantiates f32 functions over a buffer of N floats: run(name) maps in place. */
function harness(build: (mb: ModuleBuilder) => Map<string, (c: ReturnType<ModuleBuilder['func']>, x: number) => void>) {
  const mb = new ModuleBuilder(1);
  const bodies = build(mb);
  for (const [name, emit] of bodies) {
    const c = mb.func(`run_${name}`, [], [], true);
    const i = c.local('i32');
    c.for(i, 0, N * 4, 16, () => emit(c, i.index));
  }
  const memory = new WebAssembly.Memory({ initial: 2 });
  const exports = new WebAssembly.Instance(new WebAssembly.Module(mb.bytes()), { env: { memory } }).exports;
  const buf = new Float32Array(memory.buffer, 0, N);
  const buf2 = new Float32Array(memory.buffer, N * 4, N);
  return {
    run(name: string, xs: readonly number[], ys?: readonly number[]): Float32Array {
      buf.fill(0);
      buf.set(xs);
      if (ys) buf2.set(ys);
      (exports[`run_${name}`] as () => void)();
      return buf.slice(0, xs.length);
    },
  };
}

const lib = harness((mb) => {
  const m = new MathLib(mb);
  const out = new Map<string, (c: ReturnType<ModuleBuilder['func']>, i: number) => void>();
  for (const name of UNARY_MATH) {
    const idx = m.unary(name);
    out.set(name, (c, i) => void c.get({ index: i, type: 'i32' }).get({ index: i, type: 'i32' }).vmem('v128.load').call(idx).vmem('v128.store'));
  }
  const pow = m.pow();
  out.set('pow', (c, i) => {
    const l = { index: i, type: 'i32' as const };
    c.get(l).get(l).vmem('v128.load').get(l).vmem('v128.load', N * 4).call(pow).vmem('v128.store');
  });
  out.set('kexp', (c, i) => {
    const l = { index: i, type: 'i32' as const };
    const scratch = { xc: c.local('v128'), n: c.local('v128'), r: c.local('v128') };
    c.get(l);
    kernelExp((cc) => void cc.get(l).vmem('v128.load'), scratch)(c);
    c.vmem('v128.store');
  });
  return out;
});

const bits = new Int32Array(1);
const asFloat = new Float32Array(bits.buffer);
/** Position of a float32 on the ordered line of all float32 values. */
function ordinal(x: number): number {
  asFloat[0] = x;
  const b = bits[0] as number;
  return b < 0 ? -(b & 0x7fffffff) : b;
}
function ulpError(got: number, want: number): number {
  if (Number.isNaN(want) || Number.isNaN(got)) return Number.isNaN(want) && Number.isNaN(got) ? 0 : Infinity;
  if (Object.is(got, want)) return 0;
  return Math.abs(ordinal(got) - ordinal(want));
}

/** Random float32 arguments: sign-symmetric, log-uniform magnitudes in [lo, hi]. */
function samples(rng: Rng, lo: number, hi: number, n = N, positive = false): number[] {
  return Array.from({ length: n }, () => Math.fround((positive || rng.next() < 0.5 ? 1 : -1) * Math.exp(Math.log(lo) + rng.next() * (Math.log(hi) - Math.log(lo)))));
}

const RANGES: Record<UnaryMath, [number, number][]> = {
  exp: [[1e-10, 110]], exp2: [[1e-10, 160]], exp10: [[1e-10, 50]], expm1: [[1e-30, 110]],
  log: [[1e-45, 3e38]], log2: [[1e-45, 3e38]], log10: [[1e-45, 3e38]], log1p: [[1e-30, 3e38], [0.5, 1.5]],
  sin: [[1e-30, TRIG_RANGE]], cos: [[1e-30, TRIG_RANGE]], tan: [[1e-30, TRIG_RANGE]],
  arcsin: [[1e-30, 1.2]], arccos: [[1e-30, 1.2]], arctan: [[1e-30, 3e38]],
  sinh: [[1e-30, 100]], cosh: [[1e-30, 100]], tanh: [[1e-30, 20]],
  arcsinh: [[1e-30, 3e38]], arccosh: [[0.5, 3e38], [1, 1.001]], arctanh: [[1e-30, 1.2], [0.99, 1]], cbrt: [[1e-45, 3e38]],
};

describe('engine math: float32 functions against Math.*', () => {
  for (const name of UNARY_MATH) {
    it(`${name}: at most ${ULP_BOUND} ulp over its ranges, special values exact`, () => {
      const rng = new Rng(name.length * 31 + name.charCodeAt(1));
      let worst = 0;
      for (const [lo, hi] of RANGES[name]) {
        const xs = samples(rng, lo, hi);
        const got = lib.run(name, xs);
        xs.forEach((x, i) => {
          const e = ulpError(got[i]!, Math.fround(REFERENCE[name](x)));
          if (e > worst) worst = e;
          expect(e, `${name}(${x}) = ${got[i]}, Math.* ${Math.fround(REFERENCE[name](x))}`).toBeLessThanOrEqual(ULP_BOUND);
        });
      }
      const specials = name === 'sin' || name === 'cos' || name === 'tan' ? SPECIAL.filter((x) => !(Math.abs(x) > TRIG_RANGE && Number.isFinite(x))) : SPECIAL;
      const got = lib.run(name, specials);
      specials.forEach((x, i) => {
        const want = Math.fround(REFERENCE[name](x));
        expect(ulpError(got[i]!, want), `${name}(${x}) = ${got[i]}, Math.* ${want}`).toBeLessThanOrEqual(Number.isFinite(want) && want !== 0 ? ULP_BOUND : 0);
      });
    });
  }

  it(`sin and cos beyond 2^20 stay in [-1, 1], tan finite; NaN for infinite arguments`, () => {
    const xs = [...samples(new Rng(3), TRIG_RANGE, 3e38, 1000), Infinity, -Infinity];
    for (const name of ['sin', 'cos', 'tan'] as const) {
      const got = lib.run(name, xs);
      xs.forEach((x, i) => {
        if (!Number.isFinite(x)) expect(got[i], `${name}(${x})`).toBeNaN();
        else if (name === 'tan') expect(Number.isNaN(got[i]!), `tan(${x})`).toBe(false);
        else expect(Math.abs(got[i]!), `${name}(${x})`).toBeLessThanOrEqual(1);
      });
    }
  });

  it('pow: Math.pow within 1 ulp, and every special case of the ECMAScript rules exactly', () => {
    const rng = new Rng(11);
    const as: number[] = [];
    const bs: number[] = [];
    for (let i = 0; i < N; i++) {
      const a = Math.fround((rng.next() < 0.3 ? -1 : 1) * Math.exp(rng.next() * 10 - 5));
      const b = Math.fround(rng.next() < 0.3 ? Math.round(rng.next() * 20 - 10) : rng.next() * 20 - 10);
      as.push(a);
      bs.push(b);
    }
    const got = lib.run('pow', as, bs);
    as.forEach((a, i) => expect(ulpError(got[i]!, Math.fround(Math.pow(a, bs[i]!))), `pow(${a}, ${bs[i]})`).toBeLessThanOrEqual(ULP_BOUND));
    const edge = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -0.5, 2, -2, 3, -3, 2.5, -2.5, 1e30, -1e30];
    const pa: number[] = [];
    const pb: number[] = [];
    for (const a of edge) for (const b of edge) (pa.push(Math.fround(a)), pb.push(Math.fround(b)));
    const g2 = lib.run('pow', pa, pb);
    pa.forEach((a, i) => {
      const want = Math.fround(Math.pow(a, pb[i]!));
      expect(ulpError(g2[i]!, want), `pow(${a}, ${pb[i]}) = ${g2[i]}, Math.pow ${want}`).toBeLessThanOrEqual(Number.isFinite(want) && want !== 0 ? ULP_BOUND : 0);
    });
  });

  it(`kernel exp (softmax): relative error at most ${KERNEL_EXP_BOUND} on [${KERNEL_EXP_MIN}, 0], 0 below, NaN for NaN`, () => {
    const rng = new Rng(2);
    const xs = Array.from({ length: N }, () => Math.fround(KERNEL_EXP_MIN * rng.next() ** 2));
    xs[0] = 0;
    xs[1] = -0;
    xs[2] = Math.fround(KERNEL_EXP_MIN);
    const got = lib.run('kexp', xs);
    let worst = 0;
    xs.forEach((x, i) => {
      const e = Math.exp(x);
      worst = Math.max(worst, Math.abs(got[i]! - e) / e);
    });
    expect(worst).toBeLessThanOrEqual(KERNEL_EXP_BOUND);
    expect(got[0]).toBe(1);
    const below = lib.run('kexp', [-88, -100, -1e30, -Infinity, NaN]);
    expect(Array.from(below.slice(0, 4))).toEqual([0, 0, 0, 0]);
    expect(below[4]).toBeNaN();
  });
});
