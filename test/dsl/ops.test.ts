/**
 * Every op of the table against hand-computed values. The expected numbers are written out here,
 * not computed with the Math function the op itself uses.
 */
import { describe, expect, it } from 'vitest';
import { applyOp } from '../../src/dsl/interpret.ts';
import { argAccepts, getOp, makeLayout, OPS, resultKind, type Kind, type OpName, type OpSpec, type Value } from '../../src/dsl/ops.ts';

type In = number | readonly number[];
interface Case {
  readonly args: readonly In[];
  /** 'NaN' where the result must be NaN (for a tensor: every element listed, NaN as the string). */
  readonly want: number | 'NaN' | readonly (number | 'NaN')[];
  /** Leaf sizes; default one leaf holding the whole tensor. */
  readonly leaves?: readonly number[];
  /** Absolute tolerance; default exact. */
  readonly tol?: number;
  readonly note?: string;
}

const PI = 3.141592653589793;
const E = 2.718281828459045;
const LN2 = 0.6931471805599453;
const LN3 = 1.0986122886681098;
const T = 1e-15;

const CASES: Record<OpName, readonly Case[]> = {
  get_pi: [{ args: [], want: 3.141592653589793 }],
  get_e: [{ args: [], want: 2.718281828459045 }],
  get_eps: [{ args: [], want: 1e-8 }],

  add: [
    { args: [2, 3], want: 5 },
    { args: [[1, 2, 3], 10], want: [11, 12, 13], note: 'scalar broadcasts on the right' },
    { args: [-1, [1, 2]], want: [0, 1], note: 'scalar broadcasts on the left' },
    { args: [[1, 2], [0.5, -4]], want: [1.5, -2] },
  ],
  sub: [
    { args: [5, 7], want: -2 },
    { args: [5, [1, 2]], want: [4, 3] },
    { args: [[1, 2], 5], want: [-4, -3] },
    { args: [[1, 2], [2, 1]], want: [-1, 1] },
  ],
  mul: [
    { args: [-3, 4], want: -12 },
    { args: [[1, -2], 3], want: [3, -6] },
    { args: [0.5, [4, 6]], want: [2, 3] },
  ],
  div: [
    { args: [1, 0], want: 1e8, note: 'protected: a / (b + 1e-8)' },
    { args: [6, 3], want: 1.9999999933333334, tol: 1e-15 },
    { args: [[2, -4], 0], want: [2e8, -4e8] },
    { args: [1, [0, 1]], want: [1e8, 0.99999999], tol: 1e-15 },
    { args: [1, -1e-8], want: Infinity, note: 'the guard shifts the pole to b = -1e-8' },
  ],
  max: [
    { args: [1, [0, 2]], want: [1, 2] },
    { args: [-3, -5], want: -3 },
    { args: ['NaN' as never, 1], want: 'NaN' },
  ],
  min: [
    { args: [[3, -1], 0], want: [0, -1] },
    { args: [2, 7], want: 2 },
  ],
  power: [
    { args: [2, 10], want: 1024 },
    { args: [[4, 9], 0.5], want: [2, 3] },
    { args: [-2, 3], want: -8 },
    { args: [-8, 1 / 3], want: 'NaN', note: 'negative base, fractional exponent' },
    { args: [0, -1], want: Infinity },
  ],

  abs: [{ args: [[-1.5, 0, 2]], want: [1.5, 0, 2] }, { args: [-7], want: 7 }],
  cos: [{ args: [[0, PI, PI / 3]], want: [1, -1, 0.5], tol: T }],
  sin: [{ args: [[0, PI / 2, PI / 6]], want: [0, 1, 0.5], tol: T }],
  tan: [{ args: [[0, PI / 4, -PI / 4]], want: [0, 1, -1], tol: T }],
  arcsin: [{ args: [[1, 0.5, -1]], want: [PI / 2, PI / 6, -PI / 2], tol: T }, { args: [2], want: 'NaN' }],
  arccos: [{ args: [[1, 0, -1]], want: [0, PI / 2, PI], tol: T }, { args: [1.5], want: 'NaN' }],
  arctan: [{ args: [[1, -1, 0]], want: [PI / 4, -PI / 4, 0], tol: T }],
  // With x = ln 2: e^x = 2, e^-x = 1/2.
  sinh: [{ args: [[LN2, 0, -LN2]], want: [0.75, 0, -0.75], tol: T }],
  cosh: [{ args: [[LN2, 0]], want: [1.25, 1], tol: T }],
  tanh: [{ args: [[LN2, LN3, 0]], want: [0.6, 0.8, 0], tol: T }],
  arcsinh: [{ args: [[0.75, -0.75, 0]], want: [LN2, -LN2, 0], tol: T }],
  arccosh: [{ args: [[1.25, 1]], want: [LN2, 0], tol: T }, { args: [0.5], want: 'NaN' }],
  arctanh: [{ args: [[0.6, 0.8, 0]], want: [LN2, LN3, 0], tol: T }, { args: [2], want: 'NaN' }, { args: [1], want: Infinity }],
  exp: [{ args: [[0, 1, LN2]], want: [1, E, 2], tol: T }],
  exp2: [{ args: [[10, -1, 0.5]], want: [1024, 0.5, 1.4142135623730951], tol: T }],
  exp10: [{ args: [[3, -2, 0]], want: [1000, 0.01, 1], tol: 1e-13 }],
  expm1: [{ args: [[0, LN2, 1e-10]], want: [0, 1, 1.00000000005e-10], tol: 1e-25, note: 'accurate near 0' }],
  log: [
    { args: [-E], want: 1, tol: T, note: 'abs-guarded: ln|x|' },
    { args: [[1, 7.38905609893065, 0]], want: [0, 2, -Infinity], tol: T },
  ],
  log10: [{ args: [[-1000, 0.01]], want: [3, -2], tol: T }],
  log2: [{ args: [[-8, 0.25]], want: [3, -2], tol: T }],
  log1p: [
    { args: [-2], want: 0, note: 'ln|1 + x|' },
    { args: [[0, 1.718281828459045, -3, -1]], want: [0, 1, LN2, -Infinity], tol: T },
    { args: [1e-10], want: 9.9999999995e-11, tol: 1e-25, note: 'accurate near 0' },
  ],
  square: [{ args: [[-3, 0.5]], want: [9, 0.25] }],
  sqrt: [{ args: [-4], want: 2, note: 'abs-guarded: sqrt(|x|)' }, { args: [[9, 0, -0.25]], want: [3, 0, 0.5] }],
  cube: [{ args: [[-2, 3]], want: [-8, 27] }],
  cbrt: [{ args: [[-27, 8, 0]], want: [-3, 2, 0], tol: T }],
  sign: [{ args: [[0, -2, 3.5, -0]], want: [0, -1, 1, 0] }, { args: ['NaN' as never], want: 'NaN' }],
  reciprocal: [{ args: [[4, -0.5]], want: [0.25, -2] }, { args: [0], want: Infinity, note: 'unprotected' }],
  negative: [{ args: [[1, -2, 0]], want: [-1, 2, 0] }, { args: [3], want: -3 }],
  norm: [
    { args: [[3, 4, 1, 2, 2]], leaves: [2, 3], want: [5, 5, 3, 3, 3], note: 'per leaf, broadcast over the leaf' },
    { args: [[0, 0, 6]], leaves: [2, 1], want: [0, 0, 6] },
    { args: [-2], want: 2, note: 'a scalar: its absolute value' },
  ],

  interp: [
    { args: [1, 3, 0.25], want: 1.5 },
    { args: [[0, 10], [10, 0], 0.9], want: [9, 1], tol: T, note: 'the weight weighs the second argument' },
    { args: [[1, 2], 0, 0.5], want: [0.5, 1] },
  ],
  clip: [
    { args: [[3, 4], 10], want: [3, 4], note: 'norm 5 below c: unchanged' },
    { args: [[3, 4], 5], want: [3, 4], note: 'norm equal to c: unchanged' },
    { args: [[3, 4], 1], want: [0.6, 0.8], tol: T },
    { args: [[3, 4], 2.5], leaves: [1, 1], want: [1.5, 2], tol: T, note: 'the norm is global over the leaves' },
    { args: [[0, 0], 1], want: [0, 0] },
  ],
  global_norm: [
    { args: [[1, 2, 2]], leaves: [1, 2], want: 3 },
    { args: [[0, 0]], want: 0 },
  ],
  dot: [
    { args: [[1, 2, 3], [4, 5, 6]], leaves: [2, 1], want: 32 },
    { args: [[1, -1], [1, 1]], want: 0 },
  ],
  cosine_sim: [
    { args: [[1, 0], [0, 1]], want: 0 },
    { args: [[1, 2, 2], [2, 4, 4]], leaves: [1, 2], want: 0.9999999994444445, tol: T, note: '18 / (3 * 6 + 1e-8)' },
    { args: [[0, 0], [1, 1]], want: 0, note: 'protected: a zero vector gives 0, not NaN' },
    { args: [[1, 1], [-2, -2]], want: -0.9999999975, tol: T },
  ],

  unit_clip: [{ args: [[-3, -0.5, 0, 0.7, 2]], want: [-1, -0.5, 0, 0.7, 1] }, { args: [-1.5], want: -1 }],
  rel_sign: [
    { args: [[0.75, -0.75, 0, 4 / 3]], want: [0.6, -0.6, 0, 0.8], tol: T },
    { args: [[1e200, -Infinity, Infinity]], want: [1, -1, 1], note: 'no overflow to 0 or NaN for huge x' },
  ],
  l2_normalize: [
    { args: [[3, 4]], leaves: [1, 1], want: [0.6, 0.8], tol: T },
    { args: [[0, 0, 0]], want: [0, 0, 0], note: 'zero stays zero' },
  ],
  thresh_sign: [
    { args: [[0.5, -0.5, 0.1, -2, 0.2, -0.2], 0.2], want: [1, -1, 0, -1, 0, 0] },
    { args: [-3, 1], want: -1 },
    { args: [0.5, 1], want: 0 },
  ],
  copy: [
    { args: [[1.5, -0, 2e-300, -7]], want: [1.5, -0, 2e-300, -7] },
    { args: [1e-8], want: 1e-8 },
    { args: [NaN], want: 'NaN' },
  ],
};

function toValue(x: In | 'NaN'): Value {
  if (x === 'NaN') return NaN;
  return typeof x === 'number' ? x : Float64Array.from(x);
}

function expectClose(got: number, want: number | 'NaN', tol: number, label: string): void {
  if (want === 'NaN') {
    expect(Number.isNaN(got), `${label}: expected NaN, got ${got}`).toBe(true);
    return;
  }
  if (!Number.isFinite(want)) {
    expect(got, label).toBe(want);
    return;
  }
  expect(Math.abs(got - want), `${label}: got ${got}, want ${want}`).toBeLessThanOrEqual(tol);
}

describe('op table', () => {
  it('has a hand-computed case for every op, and no case for an op that does not exist', () => {
    const names = OPS.map((o) => o.name as string);
    const missing = names.filter((n) => !(n in CASES) || (CASES[n as OpName]?.length ?? 0) === 0);
    expect(missing).toEqual([]);
    expect(Object.keys(CASES).filter((n) => !names.includes(n))).toEqual([]);
  });

  it('has unique names and one infix symbol per arithmetic op', () => {
    const names = OPS.map((o) => o.name);
    expect(new Set(names).size).toBe(names.length);
    const infix = (OPS as readonly OpSpec[]).filter((o) => o.infix !== undefined).map((o) => `${o.name}:${o.infix}`);
    expect(infix.sort()).toEqual(['add:+', 'div:/', 'mul:*', 'sub:-']);
  });

  for (const spec of OPS as readonly OpSpec[]) {
    const cases = CASES[spec.name as OpName] ?? [];
    cases.forEach((c, ci) => {
      it(`${spec.name} #${ci + 1}${c.note ? ` (${c.note})` : ''}`, () => {
        const args = c.args.map((a) => toValue(a as In | 'NaN'));
        const tensorLen = args.find((a): a is Float64Array => typeof a !== 'number')?.length ?? 1;
        const layout = makeLayout(c.leaves ?? [tensorLen]);
        const got = applyOp(spec, args, layout);
        const tol = c.tol ?? 0;
        if (Array.isArray(c.want)) {
          expect(got).toBeInstanceOf(Float64Array);
          const g = got as Float64Array;
          expect(g.length).toBe(c.want.length);
          c.want.forEach((w, i) => expectClose(g[i] as number, w as number | 'NaN', tol, `${spec.name}[${i}]`));
        } else {
          expect(typeof got, `${spec.name} should give a scalar`).toBe('number');
          expectClose(got as number, c.want as number | 'NaN', tol, spec.name);
        }
      });
    });
  }
});

describe('op kinds', () => {
  const layout = makeLayout([2, 1]);
  const sample = (k: Kind): Value => (k === 'tensor' ? Float64Array.from([0.3, -0.2, 0.5]) : 0.4);

  /** Every assignment of Tensor / Scalar that the op's argument kinds accept. */
  function kindCombos(spec: OpSpec): Kind[][] {
    let combos: Kind[][] = [[]];
    for (const a of spec.args) {
      const options = (['tensor', 'scalar'] as const).filter((k) => argAccepts(a, k));
      combos = combos.flatMap((c) => options.map((k) => [...c, k]));
    }
    return combos;
  }

  it('the value an op returns has the kind resultKind announces, for every accepted kind combination', () => {
    let checked = 0;
    for (const spec of OPS as readonly OpSpec[]) {
      for (const kinds of kindCombos(spec)) {
        const got = applyOp(spec, kinds.map(sample), layout);
        const want = resultKind(spec, kinds);
        expect(typeof got === 'number' ? 'scalar' : 'tensor', `${spec.name}(${kinds.join(', ')})`).toBe(want);
        if (typeof got !== 'number') expect(got.length).toBe(layout.total);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(OPS.length);
  });

  it('element-wise ops broadcast a scalar argument like a constant tensor', () => {
    for (const spec of OPS as readonly OpSpec[]) {
      if (spec.semantics.type !== 'elementwise' || spec.args.length < 2) continue;
      const full = spec.args.map((_, i) => Float64Array.from([0.3 + i, -0.7 + i, 1.1 * (i + 1)]));
      // Replace each position that accepts a scalar with a scalar, compare against the same value broadcast.
      spec.args.forEach((a, i) => {
        if (!argAccepts(a, 'scalar')) return;
        const s = 0.25 + i;
        const withScalar: Value[] = full.map((t, j) => (j === i ? s : t));
        const broadcast: Value[] = full.map((t, j) => (j === i ? new Float64Array(3).fill(s) : t));
        // interp's weight and thresh_sign's threshold only accept a scalar; broadcasting there is not part of the language.
        if (!spec.args.every((k) => argAccepts(k, 'tensor'))) return;
        const a1 = applyOp(spec, withScalar, layout) as Float64Array;
        const a2 = applyOp(spec, broadcast, layout) as Float64Array;
        expect(Array.from(a1), `${spec.name} with a scalar at ${i}`).toEqual(Array.from(a2));
      });
    }
  });

  it('does not mutate its arguments', () => {
    for (const spec of OPS as readonly OpSpec[]) {
      for (const kinds of kindCombos(spec)) {
        const args = kinds.map(sample);
        const copies = args.map((a) => (typeof a === 'number' ? a : Float64Array.from(a)));
        applyOp(spec, args, layout);
        expect(args).toEqual(copies);
      }
    }
  });

  it('getOp finds every op by name and nothing else', () => {
    for (const o of OPS) expect(getOp(o.name)?.name).toBe(o.name);
    expect(getOp('invert')).toBeUndefined();
    expect(getOp('toString')).toBeUndefined();
  });
});
