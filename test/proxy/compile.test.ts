/**
 * The compiled tfjs step against the Float64 reference interpreter, op by op, on wasm and cpu.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@tensorflow/tfjs';
import type { Arg, Program, Statement } from '../../src/dsl/ast.ts';
import { numArg, varArg } from '../../src/dsl/ast.ts';
import { prepare, step } from '../../src/dsl/interpret.ts';
import { makeLayout, OPS, type OpName, type Value } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { Rng } from '../../src/util/rng.ts';
import { initBackend } from '../../src/proxy/backend.ts';
import type { Tf } from '../../src/proxy/tf.ts';
import { compileProgram, LOWERING, lowerProgram, runLowered, type StepValue } from '../../src/proxy/compile.ts';
import { readFileSync } from 'node:fs';

/** Per op: the input range of each argument position (default [-2, 2]) and edge values to include. */
const DOMAIN: Partial<Record<OpName, { ranges?: [number, number][]; edges?: number[] }>> = {
  div: { ranges: [[-2, 2], [0.1, 2]], edges: [0, 1, -1] },
  power: { ranges: [[0.1, 3], [-2, 2]], edges: [1, 2] },
  tan: { ranges: [[-1.2, 1.2]], edges: [0] },
  arcsin: { ranges: [[-0.99, 0.99]], edges: [0, 1, -1] },
  arccos: { ranges: [[-0.99, 0.99]], edges: [0, 1, -1] },
  arccosh: { ranges: [[1.01, 4]], edges: [1] },
  arctanh: { ranges: [[-0.95, 0.95]], edges: [0] },
  sinh: { ranges: [[-4, 4]] },
  cosh: { ranges: [[-4, 4]] },
  exp: { ranges: [[-5, 5]] },
  exp2: { ranges: [[-5, 5]] },
  exp10: { ranges: [[-3, 3]] },
  expm1: { ranges: [[-3, 3]], edges: [0, 1e-3] },
  log: { ranges: [[0.05, 3]], edges: [-2, -0.5, 1] },
  log10: { ranges: [[0.05, 3]], edges: [-2, -0.5, 1] },
  log2: { ranges: [[0.05, 3]], edges: [-2, -0.5, 1] },
  log1p: { ranges: [[-0.9, 3]], edges: [0, -3, -5] },
  sqrt: { edges: [0, -4] },
  cbrt: { edges: [0, -8, 8] },
  sign: { edges: [0, -0, 1e-30, -1e-30] },
  reciprocal: { ranges: [[0.2, 3]], edges: [-0.5, -2] },
  unit_clip: { ranges: [[-3, 3]], edges: [1, -1, 0] },
  thresh_sign: { ranges: [[-2, 2], [0.3, 1]], edges: [0, 0.5, -0.5] },
  interp: { ranges: [[-2, 2], [-2, 2], [0, 1]] },
  clip: { ranges: [[-2, 2], [0.5, 20]] },
};

const LEAVES = [5, 7];
const layout = makeLayout(LEAVES);

function range(op: OpName, i: number): [number, number] {
  return DOMAIN[op]?.ranges?.[i] ?? DOMAIN[op]?.ranges?.[0] ?? [-2, 2];
}

/** A float32-exact Float64Array of the layout's size in the op's range, with its edge values first. */
function sample(rng: Rng, op: OpName, i: number): Float64Array {
  const [lo, hi] = range(op, i);
  const x = new Float64Array(layout.total);
  const edges = i === 0 ? (DOMAIN[op]?.edges ?? []) : [];
  for (let k = 0; k < x.length; k++) x[k] = Math.fround(k < edges.length ? (edges[k] as number) : rng.uniform(lo, hi));
  return x;
}

function midConstant(op: OpName, i: number): number {
  const [lo, hi] = range(op, i);
  return Math.fround(lo + 0.37 * (hi - lo));
}

function leavesOf(tf: Tf, x: Float64Array): Tensor[] {
  return LEAVES.map((n, l) => tf.tensor1d(Float32Array.from(x.subarray(layout.offsets[l], (layout.offsets[l] as number) + n))));
}

async function toFloat64(v: StepValue): Promise<Value> {
  if (typeof v === 'number') return v;
  if (v.kind === 'scalar') return (await v.t.data())[0] as number;
  const parts = await Promise.all(v.leaves.map((t) => t.data()));
  const out = new Float64Array(layout.total);
  let o = 0;
  for (const p of parts) for (const x of p) out[o++] = x;
  return out;
}

function close(actual: number, expected: number): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return actual === expected;
  return Math.abs(actual - expected) <= 2e-5 * Math.max(1, Math.abs(expected));
}

function expectClose(actual: Value, expected: Value, what: string): void {
  if (typeof expected === 'number') {
    expect(typeof actual, what).toBe('number');
    expect(close(actual as number, expected), `${what}: ${actual} vs ${expected}`).toBe(true);
    return;
  }
  const a = actual instanceof Float64Array ? actual : new Float64Array(expected.length).fill(actual as number);
  for (let i = 0; i < expected.length; i++) {
    expect(close(a[i] as number, expected[i] as number), `${what}[${i}]: ${a[i]} vs ${expected[i]}`).toBe(true);
  }
}

type ArgChoice = 'tensor' | 'literal' | 'scalarTensor';

/** Argument-form combinations that exercise each lowering path. */
function argForms(kinds: readonly ('T' | 'S' | 'N')[]): ArgChoice[][] {
  const base: ArgChoice[] = kinds.map((k) => (k === 'S' ? 'literal' : 'tensor'));
  const forms: ArgChoice[][] = [base];
  kinds.forEach((k, i) => {
    if (k === 'N') forms.push(base.map((c, j) => (j === i ? 'literal' : c)));
    if (k !== 'T') forms.push(base.map((c, j) => (j === i ? 'scalarTensor' : c)));
  });
  if (kinds.length > 0 && kinds.every((k) => k !== 'T')) {
    forms.push(kinds.map(() => 'literal'));
    forms.push(kinds.map(() => 'scalarTensor'));
  }
  return forms;
}

const INPUT_TENSORS = ['g', 'm', 'v'];

/** def train(w, g, m, v, lr): a single op call with the chosen argument forms. */
function opProgram(op: OpName, forms: readonly ArgChoice[]): Program {
  const statements: Statement[] = [];
  // A tf scalar with a chosen value: global_norm of a zero tensor, plus the constant.
  statements.push({ target: 'zero', op: 'sub', args: [varArg('w'), varArg('w')] });
  statements.push({ target: 'zn', op: 'global_norm', args: [varArg('zero')] });
  const args: Arg[] = forms.map((f, i) => {
    if (f === 'tensor') return varArg(INPUT_TENSORS[i] as string);
    if (f === 'literal') return numArg(midConstant(op, i));
    statements.push({ target: `s${i}`, op: 'add', args: [varArg('zn'), numArg(midConstant(op, i))] });
    return varArg(`s${i}`);
  });
  statements.push({ target: 'u', op, args });
  return { name: 'train', inputs: ['w', 'g', 'm', 'v', 'lr'], statements, outputs: ['u', 'm', 'v'] };
}

describe.each(['wasm', 'cpu'] as const)('compiled ops match the interpreter on %s', (backend) => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await initBackend(backend)).tf;
  });

  it('has a lowering for every op in the table', () => {
    expect(Object.keys(LOWERING).sort()).toEqual(OPS.map((o) => o.name).sort());
  });

  for (const spec of OPS) {
    const op = spec.name as OpName;
    it(`${op}`, async () => {
      await initBackend(backend);
      const rng = new Rng(1000 + op.length * 7 + op.charCodeAt(0));
      const forms = argForms(spec.args as readonly ('T' | 'S' | 'N')[]);
      for (const f of forms) {
        const program = opProgram(op, f);
        const w = sample(rng, op, 0);
        const inputs = [sample(rng, op, 0), sample(rng, op, 1), sample(rng, op, 2)];
        const expected = step(prepare(program), { w, g: inputs[0]!, state: [inputs[1]!, inputs[2]!], lr: 0.5 }, layout);
        const lp = lowerProgram(program);
        const before = tf.memory().numTensors;
        const tensors = [w, ...inputs].map((x) => leavesOf(tf, x));
        const out = tf.tidy(() => {
          const o = runLowered(tf, lp, { w: tensors[0]!, g: tensors[1]!, state: [tensors[2]!, tensors[3]!], lr: 0.5 });
          const u = o.update;
          // Keep the update so it can be read after tidy.
          return typeof u === 'number' ? u : u.kind === 'scalar' ? { kind: 'scalar' as const, t: tf.keep(u.t) } : { kind: 'tensor' as const, leaves: u.leaves.map((t) => tf.keep(t)) };
        });
        const actual = await toFloat64(out);
        expectClose(actual, expected.update, `${op}(${f.join(', ')})`);
        if (typeof out !== 'number') (out.kind === 'scalar' ? [out.t] : out.leaves).forEach((t) => t.dispose());
        tensors.flat().forEach((t) => t.dispose());
        expect(tf.memory().numTensors).toBe(before);
      }
    });
  }

  it('keeps -0 distinct from 0 in host constants (1 / -0 is -Infinity)', async () => {
    const program = parseProgram('def train(w, g, lr):\n  a = g * 0\n  b = g * -0\n  a = reciprocal(a)\n  b = reciprocal(b)\n  u = a - b\n  return u\n');
    const out = tf.tidy(() => {
      const o = runLowered(tf, lowerProgram(program), { w: [tf.zeros([2])], g: [tf.tensor1d([1, 2])], state: [], lr: 1 });
      return tf.keep((o.update as unknown as { leaves: Tensor[] }).leaves[0] as Tensor);
    });
    expect(Array.from(await out.data())).toEqual([Infinity, Infinity]);
    out.dispose();
  });

  it('keeps NaN through sign, unit_clip and thresh_sign as the interpreter does', async () => {
    const program = parseProgram('def train(w, g, lr):\n  a = sign(g)\n  b = unit_clip(g)\n  c = thresh_sign(g, 0.5)\n  u = a + b\n  u = u + c\n  return u\n');
    const g = new Float64Array([NaN, Infinity, -Infinity, 0, 0.25, -3, 2, 1, -1, 0.5, -0.5, 7]);
    const lay = makeLayout([g.length]);
    const expected = step(prepare(program), { w: new Float64Array(g.length), g, state: [], lr: 1 }, lay).update as Float64Array;
    const out = tf.tidy(() => {
      const o = runLowered(tf, lowerProgram(program), { w: [tf.zeros([g.length])], g: [tf.tensor1d(Float32Array.from(g))], state: [], lr: 1 });
      return tf.keep((o.update as unknown as { leaves: Tensor[] }).leaves[0] as Tensor);
    });
    const actual = await out.data();
    out.dispose();
    for (let i = 0; i < g.length; i++) expect(close(actual[i] as number, expected[i] as number), `g=${g[i]}: ${actual[i]} vs ${expected[i]}`).toBe(true);
  });
});

/** lion-k.md section 7: one Lion step; w' and m' in float32. */
const LION_VECTORS = [
  { lr: 0.1, wd: 0, w: [1.0, -2.0, 0.5], g: [0.3, -0.1, 0.0], m: [0, 0, 0], w1: [0.9, -1.9, 0.5], m1: [0.003, -0.001, 0.0] },
  {
    lr: 0.01,
    wd: 0.5,
    w: [0.2, -0.3, 3.0, -1.0],
    g: [1.0, 1.0, -0.01, 0.0],
    m: [-0.05, -0.115, 0.0, 0.0],
    w1: [0.189, -0.2885, 2.995, -0.995],
    m1: [-0.0395, -0.10385, -0.0001, 0.0],
  },
  { lr: 0.1, wd: 1.0, w: [5.0, -5.0, 1.0], g: [-1.0, 1.0, -2.0], m: [-1.0, 1.0, 0.0], w1: [4.6, -4.6, 1.0], m1: [-1.0, 1.0, -0.02] },
];

describe('compiled steps with state', () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await initBackend('wasm')).tf;
  });

  it.each(LION_VECTORS.map((v, i) => [i + 1, v] as const))('reproduces Lion test vector V%i', async (_i, v) => {
    // lion.prog's structure with the vector's decay; the schedule value carries the absolute lr.
    const program = parseProgram(
      `def train(w, g, m, lr):\n  u = interp(g, m, 0.9)\n  u = sign(u)\n  m = interp(g, m, 0.99)\n  wd = w * ${v.wd}\n  u = u + wd\n  u = u * lr\n  return u, m\n`,
    );
    const w = tf.variable(tf.tensor1d(v.w));
    const step1 = compileProgram(tf, program, [w]);
    (step1.state[0]![0]!).assign(tf.tensor1d(v.m));
    const g = tf.tensor1d(v.g);
    step1.apply([g], v.lr);
    const w1 = await w.data();
    const m1 = await step1.state[0]![0]!.data();
    v.w1.forEach((x, i) => expect(Math.abs((w1[i] as number) - x)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(x))));
    v.m1.forEach((x, i) => expect(Math.abs((m1[i] as number) - x)).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(x))));
    g.dispose();
    w.dispose();
    step1.dispose();
  });

  it('matches the interpreter over 30 steps with state on two leaves, for every shipped program', async () => {
    for (const name of ['adamw', 'lion', 'momentum', 'sgd', 'signsgd', 'signum', 'paper-discovered']) {
      const program = parseProgram(readFileSync(`search-spaces/programs/${name}.prog`, 'utf8'));
      const rng = new Rng(7);
      const lay = makeLayout([6, 4]);
      let wRef = Float64Array.from({ length: lay.total }, () => Math.fround(rng.normal()));
      const weights = [tf.variable(tf.tensor1d(Float32Array.from(wRef.subarray(0, 6)))), tf.variable(tf.tensor1d(Float32Array.from(wRef.subarray(6))))];
      const compiled = compileProgram(tf, program, weights);
      const prep = prepare(program);
      let state: Float64Array[] = Array.from({ length: prep.slotCount }, () => new Float64Array(lay.total));
      for (let t = 0; t < 30; t++) {
        // gradient of 0.5 * |w|^2 plus noise, fed identically (float32) to both
        const cur = Float64Array.from([...(await weights[0]!.data()), ...(await weights[1]!.data())]);
        const g = Float64Array.from(cur, (x) => Math.fround(x + 0.1 * rng.normal()));
        const lr = 0.5 + 0.5 * Math.cos((Math.PI * t) / 30);
        const out = step(prep, { w: cur, g, state, lr }, lay);
        wRef = Float64Array.from(cur, (x, i) => x - (typeof out.update === 'number' ? out.update : (out.update[i] as number)));
        state = out.state.map((s) => Float64Array.from(s));
        const gt = [tf.tensor1d(Float32Array.from(g.subarray(0, 6))), tf.tensor1d(Float32Array.from(g.subarray(6)))];
        compiled.apply(gt, lr);
        gt.forEach((x) => x.dispose());
        const got = Float64Array.from([...(await weights[0]!.data()), ...(await weights[1]!.data())]);
        for (let i = 0; i < lay.total; i++) {
          // compare the step taken (float32 rounding of w itself excluded)
          const dRef = (wRef[i] as number) - (cur[i] as number);
          const dGot = (got[i] as number) - (cur[i] as number);
          expect(Math.abs(dGot - dRef), `${name} step ${t} coord ${i}`).toBeLessThanOrEqual(2e-4 * Math.abs(dRef) + 2e-7 * Math.max(1, Math.abs(cur[i] as number)));
        }
        // continue both from the float32 weights so rounding does not accumulate differently
        for (let s = 0; s < state.length; s++) {
          const sv = Float64Array.from([...(await compiled.state[s]![0]!.data()), ...(await compiled.state[s]![1]!.data())]);
          state[s] = sv;
        }
      }
      compiled.dispose();
      weights.forEach((x) => x.dispose());
    }
  });

  it('keeps the old value when a slot returns another slot or the weights (swap semantics)', async () => {
    const program = parseProgram('def train(w, g, m, v, lr):\n  u = g * 0.5\n  return u, v, w\n');
    const w = tf.variable(tf.tensor1d([1, 2]));
    const c = compileProgram(tf, program, [w]);
    c.state[0]![0]!.assign(tf.tensor1d([10, 20]));
    c.state[1]![0]!.assign(tf.tensor1d([30, 40]));
    const g = tf.tensor1d([2, 4]);
    c.apply([g], 1);
    expect(Array.from(await w.data())).toEqual([0, 0]);
    expect(Array.from(await c.state[0]![0]!.data())).toEqual([30, 40]);
    expect(Array.from(await c.state[1]![0]!.data())).toEqual([1, 2]);
    g.dispose();
    w.dispose();
    c.dispose();
  });

  it('leaks no tensors: the count after 100 steps equals the count after 1', async () => {
    const program = parseProgram(readFileSync('search-spaces/programs/paper-discovered.prog', 'utf8'));
    const w = [tf.variable(tf.ones([3, 4])), tf.variable(tf.zeros([4]))];
    const c = compileProgram(tf, program, w);
    const g = [tf.ones([3, 4]), tf.ones([4])];
    c.apply(g, 1);
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 99; i++) c.apply(g, 1);
    expect(tf.memory().numTensors).toBe(after1);
    c.dispose();
    [...w, ...g].forEach((t) => t.dispose());
  });

  it('refuses an invalid program', () => {
    const bad: Program = { name: 'train', inputs: ['w', 'g', 'lr'], statements: [{ target: 'u', op: 'nosuchop', args: [varArg('g')] }], outputs: ['u'] };
    expect(() => lowerProgram(bad)).toThrow(/nosuchop/);
  });
});
