/**
 * f(w) = 0.5 (w - c)^T A (w - c) with eigenvalues log-spaced in [1/condition, 1], optionally in a
 * random rotation. Stochastic gradients: each step adds a fresh N(0, noise^2 I) linear term, so the
 * gradient is A (w - c) + xi. The held-out loss is the exact f(w) (minimum 0).
 *
 * With params.box the task is the Lion-K box check: separable, centres partly outside |w| <= 1/box,
 * and the metric is the largest distance to the box-constrained optimum clip(c, -1/box, 1/box).
 */
import type { Tensor } from '@tensorflow/tfjs';
import { Rng } from '../../util/rng.ts';
import type { Tf } from '../backend.ts';
import type { TaskSpec } from '../types.ts';
import { makeVariable, num, readPair, type TaskInstance } from './common.ts';

/** A random orthogonal matrix (Gram-Schmidt on a Gaussian matrix), row-major, Float64. */
function randomRotation(rng: Rng, d: number): Float64Array {
  const q = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    const row = Float64Array.from({ length: d }, () => rng.normal());
    for (let k = 0; k < i; k++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += (row[j] as number) * (q[k * d + j] as number);
      for (let j = 0; j < d; j++) row[j] = (row[j] as number) - dot * (q[k * d + j] as number);
    }
    let n = 0;
    for (let j = 0; j < d; j++) n += (row[j] as number) ** 2;
    n = Math.sqrt(n);
    for (let j = 0; j < d; j++) q[i * d + j] = (row[j] as number) / n;
  }
  return q;
}

export function buildQuadratic(tf: Tf, spec: TaskSpec, seed: number): TaskInstance {
  const d = num(spec, 'dim', 64);
  const condition = num(spec, 'condition', 1000);
  const noise = num(spec, 'noise', 0.01);
  const centreScale = num(spec, 'centreScale', 0.1);
  const rotate = spec.params.rotate !== false;
  const box = spec.params.box === undefined ? 0 : num(spec, 'box');
  // The problem itself is fixed by problemSeed; the evaluation seed drives the start point and noise.
  const prob = new Rng(num(spec, 'problemSeed', 1));
  const eig = Float64Array.from({ length: d }, (_, i) => Math.pow(condition, -i / Math.max(1, d - 1)));
  const c = Float32Array.from({ length: d }, () =>
    box > 0 ? (prob.next() < 0.5 ? -1 : 1) * prob.uniform(0.3, 3) / box : centreScale * prob.normal(),
  );
  const a = new Float32Array(d * d);
  if (rotate) {
    const q = randomRotation(prob, d);
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) {
        let s = 0;
        for (let k = 0; k < d; k++) s += (q[k * d + i] as number) * (eig[k] as number) * (q[k * d + j] as number);
        a[i * d + j] = s;
      }
  } else {
    for (let i = 0; i < d; i++) a[i * d + i] = eig[i] as number;
  }
  const rng = new Rng(seed);
  const startScale = num(spec, 'startScale', 0);
  const w = makeVariable(tf, Float32Array.from({ length: d }, () => startScale * rng.normal()), [d, 1]);
  const aT = tf.tensor2d(a, [d, d]);
  const cT = tf.tensor2d(c, [d, 1]);
  const limit = box > 0 ? 1 / box : 0;
  const target = box > 0 ? tf.tensor2d(Float32Array.from(c, (x) => Math.max(-limit, Math.min(limit, x))), [d, 1]) : undefined;
  const f = (): Tensor => {
    const r = tf.sub(w, cT);
    return tf.mul(0.5, tf.sum(tf.mul(r, tf.matMul(aT, r))));
  };
  return {
    params: [w],
    batchLoss() {
      const xi = tf.tensor2d(Float32Array.from({ length: d }, () => noise * rng.normal()), [d, 1]);
      return tf.add(f(), tf.sum(tf.mul(xi, w)));
    },
    evaluate() {
      return readPair(tf, () => {
        const loss = f();
        // metric: distance to the box optimum (box task) or to the unconstrained optimum
        const metric = tf.max(tf.abs(tf.sub(w, target ?? cT)));
        return [loss, metric];
      });
    },
    dispose() {
      w.dispose();
      aT.dispose();
      cT.dispose();
      target?.dispose();
    },
  };
}
