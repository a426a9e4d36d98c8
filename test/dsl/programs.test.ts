/**
 * The shipped programs in the reference interpreter against independent expectations:
 * Lion against the one-step test vectors of lion-k.md section 7, AdamW and the momentum family
 * against hand-written update steps.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkProgram } from '../../src/dsl/check.ts';
import { applyUpdate, prepare, runSteps, step } from '../../src/dsl/interpret.ts';
import { makeLayout } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { Rng } from '../../src/util/rng.ts';

const PROGRAMS = 'search-spaces/programs';
const readProgramText = (name: string): string => readFileSync(`${PROGRAMS}/${name}.prog`, 'utf8');

/** Replace `from` by `to` in the text, asserting it occurs exactly once. */
function replaceOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  expect(at, `'${from}' should occur in the program`).toBeGreaterThanOrEqual(0);
  expect(text.indexOf(from, at + 1), `'${from}' should occur once`).toBe(-1);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** lion.prog with its constants set: beta1, beta2, weight decay, and lr multiplier 1. */
function lionWith(beta1: number, beta2: number, wd: number): string {
  let t = readProgramText('lion');
  // markers first, so that a value written in never matches a later search
  t = replaceOnce(t, 'interp(g, m, 0.9)', 'interp(g, m, @beta1@)');
  t = replaceOnce(t, 'interp(g, m, 0.99)', 'interp(g, m, @beta2@)');
  t = replaceOnce(t, 'w * 0.1', 'w * @wd@');
  t = replaceOnce(t, 'lr * 0.0003', 'lr * 1');
  return t.replace('@beta1@', String(beta1)).replace('@beta2@', String(beta2)).replace('@wd@', String(wd));
}

interface LionVector {
  readonly name: string;
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly wd: number;
  readonly w: number[];
  readonly g: number[];
  readonly m: number[];
  readonly wNext: number[];
  readonly mNext: number[];
}

// lion-k.md section 7, copied as data.
const VECTORS: LionVector[] = [
  {
    name: 'V1 zero momentum, no decay, one zero gradient',
    lr: 0.1, beta1: 0.9, beta2: 0.99, wd: 0,
    w: [1.0, -2.0, 0.5], g: [0.3, -0.1, 0.0], m: [0, 0, 0],
    wNext: [0.9, -1.9, 0.5], mNext: [0.003, -0.001, 0.0],
  },
  {
    name: 'V2 bug detector',
    lr: 0.01, beta1: 0.9, beta2: 0.99, wd: 0.5,
    w: [0.2, -0.3, 3.0, -1.0], g: [1.0, 1.0, -0.01, 0.0], m: [-0.05, -0.115, 0.0, 0.0],
    wNext: [0.189, -0.2885, 2.995, -0.995], mNext: [-0.0395, -0.10385, -0.0001, 0.0],
  },
  {
    name: 'V3 phase-1 contraction and the box boundary',
    lr: 0.1, beta1: 0.9, beta2: 0.99, wd: 1.0,
    w: [5.0, -5.0, 1.0], g: [-1.0, 1.0, -2.0], m: [-1.0, 1.0, 0.0],
    wNext: [4.6, -4.6, 1.0], mNext: [-1.0, 1.0, -0.02],
  },
];

/** |got - want| <= tol * max(1, |want|) element-wise. */
function expectAllClose(got: ArrayLike<number>, want: readonly number[], tol: number, label: string): void {
  expect(got.length, label).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as number;
    expect(Math.abs((got[i] as number) - w), `${label}[${i}]: got ${got[i]}, want ${w}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(w)));
  }
}

describe('lion.prog reproduces the Lion one-step test vectors', () => {
  for (const vec of VECTORS) {
    it(vec.name, () => {
      const prog = parseProgram(lionWith(vec.beta1, vec.beta2, vec.wd));
      const n = vec.w.length;
      const layout = makeLayout([n]);
      const v = new Float64Array(n);
      const out = step(prepare(prog), { w: Float64Array.from(vec.w), g: Float64Array.from(vec.g), state: [Float64Array.from(vec.m), v], lr: vec.lr }, layout);
      expectAllClose(applyUpdate(Float64Array.from(vec.w), out.update), vec.wNext, 1e-13, "w' (abs error below 1e-12: |w'| <= 5)");
      expectAllClose(out.state[0] as Float64Array, vec.mNext, 1e-13, "m'");
      expectAllClose(out.state[1] as Float64Array, new Array(n).fill(0), 0, "v' (unused)");
    });
  }

  it('the vectors would catch swapped betas (V2 coordinate 0 flips sign)', () => {
    const vec = VECTORS[1] as LionVector;
    const swapped = parseProgram(lionWith(vec.beta2, vec.beta1, vec.wd));
    const layout = makeLayout([vec.w.length]);
    const out = step(prepare(swapped), { w: Float64Array.from(vec.w), g: Float64Array.from(vec.g), state: [Float64Array.from(vec.m), new Float64Array(vec.w.length)], lr: vec.lr }, layout);
    const w = applyUpdate(Float64Array.from(vec.w), out.update);
    expect(Math.abs((w[0] as number) - (vec.wNext[0] as number))).toBeGreaterThan(1e-3);
  });
});

/** A fixed quadratic-ish gradient so that several steps depend on each other through w. */
function gradientOf(w: Float64Array, t: number): Float64Array {
  const g = new Float64Array(w.length);
  for (let i = 0; i < w.length; i++) g[i] = (i + 1) * (w[i] as number) - 0.3 + 0.05 * t * (i % 2 === 0 ? 1 : -1);
  return g;
}
const schedule = (t: number): number => 1 - 0.1 * t;

function randomWeights(seed: number, n: number): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => rng.normal());
}

describe('adamw.prog equals a hand-written AdamW step (no bias correction, protected division)', () => {
  it('over 6 steps with the state carried', () => {
    const prog = parseProgram(readProgramText('adamw'));
    const n = 5;
    const layout = makeLayout([2, 3]);
    const w0 = randomWeights(1, n);
    // hand-written
    const w = Float64Array.from(w0);
    const m = new Float64Array(n);
    const v = new Float64Array(n);
    for (let t = 0; t < 6; t++) {
      const g = gradientOf(w, t);
      const lr = schedule(t) * 0.001;
      for (let i = 0; i < n; i++) {
        const gi = g[i] as number;
        m[i] = 0.1 * gi + 0.9 * (m[i] as number);
        v[i] = 0.001 * gi * gi + 0.999 * (v[i] as number);
        const direction = (m[i] as number) / (Math.sqrt(Math.abs(v[i] as number)) + 1e-8);
        w[i] = (w[i] as number) - (direction + 0.01 * (w[i] as number)) * lr;
      }
    }
    const run = runSteps(prog, { layout, w0, steps: 6, gradient: gradientOf, schedule });
    expectAllClose(run.w, Array.from(w), 1e-12, 'w');
    expectAllClose(run.state[0] as Float64Array, Array.from(m), 1e-12, 'm');
    expectAllClose(run.state[1] as Float64Array, Array.from(v), 1e-12, 'v');
    // the run moved the weights: a comparison of two no-ops would prove nothing
    expect(Math.max(...Array.from(run.w, (x, i) => Math.abs(x - (w0[i] as number))))).toBeGreaterThan(1e-4);
  });
});

describe('the momentum family equals hand-written steps', () => {
  const n = 4;
  const layout = makeLayout([n]);
  type Hand = (w: Float64Array, g: Float64Array, m: Float64Array, lr: number) => void;
  const sign = (x: number): number => (x > 0 ? 1 : x < 0 ? -1 : 0);
  const cases: [string, Hand][] = [
    ['sgd', (w, g, _m, lr) => w.forEach((x, i) => (w[i] = x - ((g[i] as number) + 0.0001 * x) * lr * 0.1))],
    ['momentum', (w, g, m, lr) => w.forEach((x, i) => {
      m[i] = 0.1 * (g[i] as number) + 0.9 * (m[i] as number);
      w[i] = x - ((m[i] as number) + 0.0001 * x) * lr * 0.1;
    })],
    ['signsgd', (w, g, _m, lr) => w.forEach((x, i) => (w[i] = x - (sign(g[i] as number) + 0.1 * x) * lr * 0.0003))],
    ['signum', (w, g, m, lr) => w.forEach((x, i) => {
      m[i] = 0.1 * (g[i] as number) + 0.9 * (m[i] as number);
      w[i] = x - (sign(m[i] as number) + 0.1 * x) * lr * 0.0003;
    })],
    ['lion', (w, g, m, lr) => w.forEach((x, i) => {
      const c = 0.1 * (g[i] as number) + 0.9 * (m[i] as number);
      w[i] = x - (sign(c) + 0.1 * x) * lr * 0.0003;
      m[i] = 0.01 * (g[i] as number) + 0.99 * (m[i] as number);
    })],
  ];
  for (const [name, hand] of cases) {
    it(`${name}.prog over 5 steps`, () => {
      const prog = parseProgram(readProgramText(name));
      const w0 = randomWeights(7, n);
      const w = Float64Array.from(w0);
      const m = new Float64Array(n);
      for (let t = 0; t < 5; t++) hand(w, gradientOf(w, t), m, schedule(t));
      const run = runSteps(prog, { layout, w0, steps: 5, gradient: gradientOf, schedule });
      expectAllClose(run.w, Array.from(w), 1e-12, 'w');
    });
  }
});

describe('shipped programs', () => {
  it('every program file parses and type-checks', () => {
    const names = ['adamw', 'lion', 'paper-discovered', 'sgd', 'momentum', 'signsgd', 'signum'];
    for (const name of names) {
      const r = checkProgram(parseProgram(readProgramText(name)));
      expect(r.diagnostics, name).toEqual([]);
    }
  });

  it("the paper's discovered program runs 10 steps to finite weights", () => {
    const prog = parseProgram(readProgramText('paper-discovered'));
    const layout = makeLayout([3, 2]);
    const run = runSteps(prog, { layout, w0: randomWeights(3, 5), steps: 10, gradient: (w) => Float64Array.from(w, (x) => 0.1 * x), schedule });
    for (const x of run.w) expect(Number.isFinite(x)).toBe(true);
  });
});
