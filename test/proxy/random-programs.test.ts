/**
 * Invariants of the compiler over many random programs: a checked program always compiles and runs,
 * leaks no tensors, keeps weight shapes, and (where the Float64 result is moderate) agrees with the
 * interpreter step.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@tensorflow/tfjs';
import { randomProgram } from '../../src/dsl/generate.ts';
import { prepare, step } from '../../src/dsl/interpret.ts';
import { makeLayout } from '../../src/dsl/ops.ts';
import { Rng } from '../../src/util/rng.ts';
import { initBackend } from '../../src/proxy/backend.ts';
import type { Tf } from '../../src/proxy/tf.ts';
import { compileProgram } from '../../src/proxy/compile.ts';

const SHAPES = [[3, 2], [4]];
const layout = makeLayout([6, 4]);

describe('random programs on wasm', () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await initBackend('wasm')).tf;
  });

  it('compile, run without leaks and agree with the interpreter on one step', async () => {
    const rng = new Rng(2024);
    let compared = 0;
    let agreed = 0;
    const disagreements: string[] = [];
    for (let n = 0; n < 300; n++) {
      const program = randomProgram(rng, { length: 1 + rng.int(8) });
      const w0 = Float64Array.from({ length: layout.total }, () => Math.fround(rng.normal()));
      const g = Float64Array.from({ length: layout.total }, () => Math.fround(rng.normal()));
      const m0 = Float64Array.from({ length: layout.total }, () => Math.fround(0.1 * rng.normal()));
      const before = tf.memory().numTensors;
      const weights = SHAPES.map((s, l) => tf.tidy(() => tf.variable(tf.tensor(Float32Array.from(w0.subarray(layout.offsets[l], (layout.offsets[l] as number) + (layout.sizes[l] as number))), s))));
      const c = compileProgram(tf, program, weights);
      tf.tidy(() => c.state[0]!.forEach((v, l) => v.assign(tf.tensor(Float32Array.from(m0.subarray(layout.offsets[l], (layout.offsets[l] as number) + (layout.sizes[l] as number))), SHAPES[l]!))));
      const grads = SHAPES.map((s, l) => tf.tensor(Float32Array.from(g.subarray(layout.offsets[l], (layout.offsets[l] as number) + (layout.sizes[l] as number))), s));
      const during = tf.memory().numTensors;
      c.apply(grads, 0.5);
      expect(tf.memory().numTensors, `leak in program ${n}`).toBe(during);
      weights.forEach((w, l) => expect(w.shape).toEqual(SHAPES[l]));
      const got = Float64Array.from([...(await weights[0]!.data()), ...(await weights[1]!.data())]);
      const ref = step(prepare(program), { w: w0, g, state: [m0, new Float64Array(layout.total)], lr: 0.5 }, layout);
      const u = ref.update;
      const expected = Float64Array.from(w0, (x, i) => x - (typeof u === 'number' ? u : (u[i] as number)));
      if (expected.every((x) => Number.isFinite(x) && Math.abs(x) < 1e4)) {
        compared++;
        const ok = expected.every((x, i) => Math.abs((got[i] as number) - x) <= 1e-4 * Math.max(1, Math.abs(x)));
        if (ok) agreed++;
        else disagreements.push(program.statements.map((s) => `${s.target}=${s.op}`).join(' '));
      }
      c.dispose();
      [...weights, ...grads].forEach((t: Tensor) => t.dispose());
      expect(tf.memory().numTensors).toBe(before);
    }
    console.log(`random programs: ${compared} of 300 with moderate results compared, ${agreed} agree within 1e-4; disagreeing: ${disagreements.slice(0, 5).join(' | ')}`);
    expect(compared).toBeGreaterThan(150);
    // float32 against Float64 can differ where a program amplifies rounding (a sign of a near-zero difference)
    expect(agreed / compared).toBeGreaterThan(0.97);
  });
});
