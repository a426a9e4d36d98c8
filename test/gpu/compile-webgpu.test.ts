/**
 * The compiled update step (src/proxy/compile.ts) on the WebGPU backend over lavapipe, against the
 * Float64 interpreter: every op of the table in each argument form, and the shipped programs over
 * several steps with state. Skipped, with the reason printed, when lavapipe is not installed.
 *
 * One leaf is larger than the backend's CPU hand-off threshold (1,000 elements), so its ops run as
 * GPU shaders; the small leaf is what the backend may forward to its CPU kernels, as in training.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@tensorflow/tfjs';
import { numArg, varArg, type Arg, type Program, type Statement } from '../../src/dsl/ast.ts';
import { prepare, step } from '../../src/dsl/interpret.ts';
import { makeLayout, OPS, type OpName, type OpSpec, type Value } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { Rng } from '../../src/util/rng.ts';
import { initBackend } from '../../src/proxy/backend.ts';
import type { Tf } from '../../src/proxy/tf.ts';
import { compileProgram, lowerProgram, runLowered, type StepValue } from '../../src/proxy/compile.ts';
import { lavapipeSkipReason } from './lavapipe.ts';
import { skipWithout } from '../tools.ts';

const LEAF_SIZES = [1536, 24];
const layout = makeLayout(LEAF_SIZES);

/**
 * Input interval per op and argument position, chosen inside the op's domain and away from float32
 * overflow, plus special values placed at the start of every leaf of the first argument.
 */
interface Domain {
  readonly intervals?: readonly (readonly [number, number])[];
  readonly specials?: readonly number[];
}
const DOMAINS: Partial<Record<OpName, Domain>> = {
  div: { intervals: [[-3, 3], [0.25, 3]], specials: [0, -1.5] },
  power: { intervals: [[0.2, 2.5], [-1.5, 1.5]], specials: [1, 0.5] },
  tan: { intervals: [[-1.1, 1.1]], specials: [0] },
  arcsin: { intervals: [[-0.98, 0.98]], specials: [0, 1, -1] },
  arccos: { intervals: [[-0.98, 0.98]], specials: [0, 1, -1] },
  arccosh: { intervals: [[1.05, 5]], specials: [1] },
  arctanh: { intervals: [[-0.9, 0.9]], specials: [0] },
  sinh: { intervals: [[-3, 3]], specials: [0] },
  cosh: { intervals: [[-3, 3]], specials: [0] },
  exp: { intervals: [[-4, 4]], specials: [0] },
  exp2: { intervals: [[-4, 4]], specials: [0, 1] },
  exp10: { intervals: [[-2, 2]], specials: [0, 1] },
  expm1: { intervals: [[-2, 2]], specials: [0, 1e-4] },
  log: { intervals: [[0.1, 4]], specials: [1, -2, -0.25] },
  log10: { intervals: [[0.1, 4]], specials: [1, -10, -0.25] },
  log2: { intervals: [[0.1, 4]], specials: [1, -8, -0.25] },
  log1p: { intervals: [[-0.8, 3]], specials: [0, -3, -6] },
  sqrt: { specials: [0, -9, 4] },
  cbrt: { specials: [0, -27, 8] },
  sign: { specials: [0, 1e-20, -1e-20, 3, -3] },
  reciprocal: { intervals: [[0.3, 3]], specials: [-0.5, -4] },
  unit_clip: { intervals: [[-2.5, 2.5]], specials: [1, -1, 0] },
  thresh_sign: { intervals: [[-2, 2], [0.25, 1]], specials: [0, 0.625, -0.625] },
  interp: { intervals: [[-2, 2], [-2, 2], [0, 1]] },
  clip: { intervals: [[-2, 2], [1, 30]] },
};

function interval(op: OpName, position: number): readonly [number, number] {
  const d = DOMAINS[op]?.intervals;
  return d?.[position] ?? d?.[0] ?? [-2, 2];
}

/** A float32-exact input for argument `position` of op, specials first in every leaf. */
function inputFor(rng: Rng, op: OpName, position: number): Float64Array {
  const [lo, hi] = interval(op, position);
  const specials = position === 0 ? (DOMAINS[op]?.specials ?? []) : [];
  const x = new Float64Array(layout.total);
  for (let leaf = 0; leaf < LEAF_SIZES.length; leaf++) {
    const from = layout.offsets[leaf] as number;
    for (let k = 0; k < (LEAF_SIZES[leaf] as number); k++) {
      x[from + k] = Math.fround(k < specials.length ? (specials[k] as number) : rng.uniform(lo, hi));
    }
  }
  return x;
}

/** A literal inside the op's interval for that position (float32-exact). */
function literalFor(op: OpName, position: number): number {
  const [lo, hi] = interval(op, position);
  return Math.fround(lo + 0.6 * (hi - lo));
}

type Form = 'tensor' | 'literal' | 'device-scalar';

/**
 * The ways an op's arguments can reach the compiler: a Tensor, a host number (literal), or a Scalar
 * that lives on the device because it depends on a tensor. Each position is varied on its own.
 */
function formsOf(spec: OpSpec): Form[][] {
  const plain: Form[] = spec.args.map((k) => (k === 'S' ? 'literal' : 'tensor'));
  const forms: Form[][] = [plain];
  spec.args.forEach((k, i) => {
    if (k === 'N') forms.push(plain.map((f, j) => (j === i ? 'literal' : f)));
    if (k !== 'T') forms.push(plain.map((f, j) => (j === i ? 'device-scalar' : f)));
  });
  if (spec.args.length > 0 && spec.args.every((k) => k !== 'T')) forms.push(spec.args.map(() => 'device-scalar'));
  return forms;
}

const TENSOR_INPUTS = ['g', 'm', 'v'] as const;

/** def train(w, g, m, v, lr) whose update is one call of op with arguments in the given forms. */
function singleOpProgram(op: OpName, forms: readonly Form[]): Program {
  const statements: Statement[] = [];
  const args: Arg[] = forms.map((form, i) => {
    if (form === 'tensor') return varArg(TENSOR_INPUTS[i] as string);
    if (form === 'literal') return numArg(literalFor(op, i));
    // dot(w, 0 * w) is a device scalar equal to 0; adding the literal gives it the wanted value.
    statements.push({ target: `z${i}`, op: 'mul', args: [varArg('w'), numArg(0)] });
    statements.push({ target: `d${i}`, op: 'dot', args: [varArg('w'), varArg(`z${i}`)] });
    statements.push({ target: `s${i}`, op: 'add', args: [varArg(`d${i}`), numArg(literalFor(op, i))] });
    return varArg(`s${i}`);
  });
  statements.push({ target: 'update', op, args });
  return { name: 'train', inputs: ['w', 'g', 'm', 'v', 'lr'], statements, outputs: ['update', 'm', 'v'] };
}

function toLeaves(tf: Tf, x: Float64Array): Tensor[] {
  return LEAF_SIZES.map((n, l) => {
    const from = layout.offsets[l] as number;
    return tf.tensor1d(Float32Array.from(x.subarray(from, from + n)));
  });
}

async function readValue(v: StepValue): Promise<Value> {
  if (typeof v === 'number') return v;
  if (v.kind === 'scalar') return (await v.t.data())[0] as number;
  const out = new Float64Array(layout.total);
  let o = 0;
  for (const leaf of v.leaves) for (const x of await leaf.data()) out[o++] = x;
  return out;
}

/** float32 agreement: relative 2e-5 for large values, absolute 2e-5 near zero. */
const TOLERANCE = 2e-5;
/**
 * WGSL only bounds asin and acos by atan2's accuracy (4096 ULP; WGSL spec, "Floating Point
 * Accuracy"), and lavapipe's builtins use it: up to 3.9e-4 (asin) and 1.6e-4 (acos) absolute
 * error, measured over [-1, 1]. atan2(x, sqrt((1 - x)(1 + x))) measured 3.2e-6 on the same driver.
 */
const OP_TOLERANCE: Partial<Record<OpName, number>> = { arcsin: 5e-4, arccos: 5e-4 };

/** NaN and Inf must match exactly, finite values within the tolerance. */
function agrees(actual: number, expected: number, tolerance: number): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return actual === expected;
  return Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected));
}

/** Indices (and values) where the compiled result disagrees with the interpreter. */
function disagreements(actual: Value, expected: Value, tolerance = TOLERANCE): string[] {
  const bad: string[] = [];
  const n = typeof expected === 'number' ? 1 : expected.length;
  for (let i = 0; i < n && bad.length < 5; i++) {
    const e = typeof expected === 'number' ? expected : (expected[i] as number);
    const a = typeof actual === 'number' ? actual : (actual[i] as number);
    if (!agrees(a, e, tolerance)) bad.push(`[${i}] ${a} vs ${e}`);
  }
  if (typeof expected === 'number' && typeof actual !== 'number') bad.push('expected a Scalar, got a Tensor');
  return bad;
}

describe.skipIf(skipWithout('lavapipe (the software Vulkan driver)', lavapipeSkipReason))('compiled update steps on webgpu-software match the interpreter', () => {
  let tf: Tf;

  beforeAll(async () => {
    const handle = await initBackend('webgpu-software');
    tf = handle.tf;
    expect(handle.backend).toBe('webgpu-software');
    expect(tf.getBackend()).toBe('webgpu');
  });

  for (const spec of OPS as readonly OpSpec[]) {
    const op = spec.name as OpName;
    it(`${op}`, async () => {
      const rng = new Rng(4242 + [...op].reduce((h, c) => h * 31 + c.charCodeAt(0), 0) % 100_000);
      for (const forms of formsOf(spec)) {
        const program = singleOpProgram(op, forms);
        const w = inputFor(rng, op, 0);
        const [g, m, v] = [inputFor(rng, op, 0), inputFor(rng, op, 1), inputFor(rng, op, 2)] as [Float64Array, Float64Array, Float64Array];
        const expected = step(prepare(program), { w, g, state: [m, v], lr: 0.75 }, layout).update;
        const tensors = [w, g, m, v].map((x) => toLeaves(tf, x)) as [Tensor[], Tensor[], Tensor[], Tensor[]];
        const before = tf.memory().numTensors;
        const kept = tf.tidy(() => {
          const out = runLowered(tf, lowerProgram(program), { w: tensors[0], g: tensors[1], state: [tensors[2], tensors[3]], lr: 0.75 });
          const u = out.update;
          if (typeof u === 'number') return u;
          return u.kind === 'scalar' ? { kind: 'scalar' as const, t: tf.keep(u.t) } : { kind: 'tensor' as const, leaves: u.leaves.map((t) => tf.keep(t)) };
        });
        const actual = await readValue(kept);
        if (typeof kept !== 'number') (kept.kind === 'scalar' ? [kept.t] : kept.leaves).forEach((t) => t.dispose());
        expect(tf.memory().numTensors, `${op}: tensors leaked`).toBe(before);
        tensors.flat().forEach((t) => t.dispose());
        expect(disagreements(actual, expected, OP_TOLERANCE[op]), `${op}(${forms.join(', ')})`).toEqual([]);
      }
    });
  }

  it('keeps NaN and Inf where the interpreter does (WGSL lets compilers assume finite math)', async () => {
    const specials = [NaN, Infinity, -Infinity, 0, -0, 0.25, -3, 1, -1, 0.5, -0.5, 7];
    const n = 1200; // above the CPU hand-off threshold: the shaders themselves are tested
    const g = Float64Array.from({ length: n }, (_, i) => specials[i % specials.length] as number);
    const single = makeLayout([n]);
    const bodies = [
      'u = sign(g)', 'u = unit_clip(g)', 'u = thresh_sign(g, 0.5)', 'u = g * 2', 'u = g + 1', 'u = g / 2',
      'u = max(g, 0)', 'u = min(g, 0)', 'u = abs(g)', 'u = sqrt(g)', 'u = exp(g)', 'u = log(g)', 'u = tanh(g)',
      'u = square(g)', 'u = cbrt(g)', 'u = reciprocal(g)', 'u = interp(g, g, 0.3)',
    ];
    for (const body of bodies) {
      const program = parseProgram(`def train(w, g, lr):\n  ${body}\n  return u\n`);
      const expected = step(prepare(program), { w: new Float64Array(n), g, state: [], lr: 1 }, single).update;
      const out = tf.tidy(() => {
        const u = runLowered(tf, lowerProgram(program), { w: [tf.zeros([n])], g: [tf.tensor1d(Float32Array.from(g))], state: [], lr: 1 }).update;
        if (typeof u === 'number' || u.kind !== 'tensor') throw new Error(`${body}: expected a Tensor update`);
        return tf.keep(u.leaves[0] as Tensor);
      });
      const actual = Float64Array.from(await out.data());
      out.dispose();
      expect(disagreements(actual, expected), body).toEqual([]);
    }
  });

  it('runs every program in search-spaces/programs for 20 steps with state as the interpreter does', async () => {
    const names = readdirSync('search-spaces/programs').filter((f) => f.endsWith('.prog'));
    expect(names.length).toBeGreaterThanOrEqual(7);
    for (const name of names) {
      const program = parseProgram(readFileSync(`search-spaces/programs/${name}`, 'utf8'));
      const prep = prepare(program);
      const rng = new Rng(99);
      const w0 = Float64Array.from({ length: layout.total }, () => Math.fround(rng.normal()));
      const weights = toLeaves(tf, w0).map((t) => tf.variable(t));
      const compiled = compileProgram(tf, program, weights);
      let state: Float64Array[] = Array.from({ length: prep.slotCount }, () => new Float64Array(layout.total));
      for (let t = 0; t < 20; t++) {
        // Both sides start each step from the device's float32 weights and state, so only one step's
        // rounding is compared: the gradient of 0.5 |w|^2 plus seeded noise.
        const w = await flatten(weights);
        const g = Float64Array.from(w, (x) => Math.fround(x + 0.2 * rng.normal()));
        const lr = Math.fround(0.5 + 0.5 * Math.cos((Math.PI * t) / 20));
        const ref = step(prep, { w, g, state, lr }, layout);
        const gLeaves = toLeaves(tf, g);
        compiled.apply(gLeaves, lr);
        gLeaves.forEach((x) => x.dispose());
        const got = await flatten(weights);
        for (let i = 0; i < layout.total; i++) {
          const want = (w[i] as number) - (typeof ref.update === 'number' ? ref.update : (ref.update[i] as number));
          const tolerance = 2e-4 * Math.abs(want - (w[i] as number)) + 2.5e-7 * Math.max(1, Math.abs(want));
          if (!(Math.abs((got[i] as number) - want) <= tolerance)) {
            expect.fail(`${name}, step ${t}, weight ${i}: ${got[i]} vs ${want}`);
          }
        }
        state = [];
        for (const slot of compiled.state) state.push(await flatten(slot));
      }
      compiled.dispose();
      weights.forEach((x) => x.dispose());
    }
  });

  async function flatten(leaves: readonly Tensor[]): Promise<Float64Array> {
    const out = new Float64Array(layout.total);
    let o = 0;
    for (const leaf of leaves) for (const x of await leaf.data()) out[o++] = x;
    return out;
  }
});
