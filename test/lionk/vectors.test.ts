/**
 * The one-step Lion test vectors of lion-k.md section 7, run through the interpreter, and the
 * coordinate of V2 that catches coupled decay.
 */
import { describe, expect, it } from 'vitest';
import { prepare, step } from '../../src/dsl/interpret.ts';
import { makeLayout } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { checkOneStepReference } from '../../src/lionk/checks.ts';
import { kFunctions } from '../../src/lionk/kfamily.ts';
import { referenceStep } from '../../src/lionk/reference.ts';

const lion = (lr: number, wd: number) =>
  parseProgram(`def train(w, g, m, v, lr):
  update = interp(g, m, 0.9)
  update = sign(update)
  m = interp(g, m, 0.99)
  wd = w * ${wd}
  update = update + wd
  lr = lr * ${lr}
  update = update * lr
  return update, m, v
`);

const coupled = (lr: number, wd: number) =>
  parseProgram(`def train(w, g, m, v, lr):
  wd = w * ${wd}
  gd = g + wd
  update = interp(gd, m, 0.9)
  update = sign(update)
  m = interp(gd, m, 0.99)
  lr = lr * ${lr}
  update = update * lr
  return update, m, v
`);

function run(program: ReturnType<typeof lion>, w: number[], g: number[], m: number[]) {
  const layout = makeLayout([w.length]);
  const out = step(prepare(program), { w: Float64Array.from(w), g: Float64Array.from(g), state: [Float64Array.from(m), new Float64Array(w.length)], lr: 1 }, layout);
  const u = out.update as Float64Array;
  return { w: w.map((x, i) => x - (u[i] as number)), m: Array.from(out.state[0] as Float64Array) };
}

const VECTORS = [
  { name: 'V1', lr: 0.1, wd: 0, w: [1.0, -2.0, 0.5], g: [0.3, -0.1, 0.0], m: [0, 0, 0], w2: [0.9, -1.9, 0.5], m2: [0.003, -0.001, 0.0] },
  {
    name: 'V2',
    lr: 0.01,
    wd: 0.5,
    w: [0.2, -0.3, 3.0, -1.0],
    g: [1.0, 1.0, -0.01, 0.0],
    m: [-0.05, -0.115, 0.0, 0.0],
    w2: [0.189, -0.2885, 2.995, -0.995],
    m2: [-0.0395, -0.10385, -0.0001, 0.0],
  },
  { name: 'V3', lr: 0.1, wd: 1.0, w: [5.0, -5.0, 1.0], g: [-1.0, 1.0, -2.0], m: [-1.0, 1.0, 0.0], w2: [4.6, -4.6, 1.0], m2: [-1.0, 1.0, -0.02] },
];

describe('Lion test vectors (lion-k.md section 7)', () => {
  for (const v of VECTORS) {
    it(`${v.name}: the program and the Lion-K formula give the documented values`, () => {
      const got = run(lion(v.lr, v.wd), v.w, v.g, v.m);
      const layout = makeLayout([v.w.length]);
      const ref = referenceStep(kFunctions('l1'), layout, Float64Array.from(v.w), Float64Array.from(v.g), Float64Array.from(v.m), 0.9, 0.99, v.lr, v.wd);
      for (let i = 0; i < v.w.length; i++) {
        expect(Math.abs((got.w[i] as number) - (v.w2[i] as number))).toBeLessThan(1e-12);
        expect(Math.abs((got.m[i] as number) - (v.m2[i] as number))).toBeLessThan(1e-12);
        expect(Math.abs((ref.w[i] as number) - (v.w2[i] as number))).toBeLessThan(1e-12);
        expect(Math.abs((ref.m[i] as number) - (v.m2[i] as number))).toBeLessThan(1e-12);
      }
    });
  }

  it('V3: the excess shrinks by exactly 1 - lr*wd and the boundary point stays at 1/lambda', () => {
    const got = run(lion(0.1, 1.0), [5.0, -5.0, 1.0], [-1.0, 1.0, -2.0], [-1.0, 1.0, 0.0]);
    expect(Math.abs(got.w[0] as number) - 1).toBeCloseTo(0.9 * (5 - 1), 12);
    expect(got.w[2]).toBe(1);
  });

  it('V2 coordinate 2 catches coupled decay: the sign flips and w moves the wrong way', () => {
    const v = VECTORS[1]!;
    const got = run(coupled(v.lr, v.wd), v.w, v.g, v.m);
    // c = 0.1 * (-0.01 + 0.5 * 3) = 0.149 > 0: the coupled program steps down by lr instead of decaying and stepping up.
    expect(got.w[2]).toBeCloseTo(3.0 - 0.01, 12);
    expect(Math.abs((got.w[2] as number) - 2.995)).toBeGreaterThan(1e-3);
    const r = checkOneStepReference(coupled(0.01, 0.5), { direction: 'sign', b1: 0.9, b2: 0.99, lambda: 0.5, lrMultiplier: 0.01 });
    expect(r.status).toBe('fail');
  });
});
