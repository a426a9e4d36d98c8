/**
 * f(w) = 0.5 (w - c)^T A (w - c) with eigenvalues log-spaced in [1/condition, 1], optionally in a
 * random rotation. Stochastic gradients: each step adds a fresh linear term xi, so the gradient is
 * A (w - c) + xi, with xi = noise * N(0, I), or noise * Student-t(noiseTail) per coordinate when
 * params.noiseTail > 0 (heavy-tailed gradient noise). The held-out loss is the exact f(w) (minimum 0).
 * The problem itself (A, c, the noise draws) is quadraticProblem() in src/tasks/quadratic.ts.
 *
 * With params.box the task is the Lion-K box check: separable, centres partly outside |w| <= 1/box,
 * and the metric is the largest distance to the box-constrained optimum clip(c, -1/box, 1/box).
 */
import type { Tensor } from '@tensorflow/tfjs';
import { Rng } from '../../util/rng.ts';
import { noiseDraw, quadraticProblem } from '../../tasks/quadratic.ts';
import type { TaskSpec } from '../../vocabulary/index.ts';
import type { Tf } from '../tf.ts';
import { makeVariable, readPair, type TaskInstance } from './common.ts';

export function buildQuadratic(tf: Tf, spec: TaskSpec, seed: number): TaskInstance {
  const q = quadraticProblem(spec);
  const { d, noise, noiseTail } = q;
  const rng = new Rng(seed);
  const w = makeVariable(tf, Float32Array.from({ length: d }, () => q.startScale * rng.normal()), [d, 1]);
  const aT = tf.tensor2d(Float32Array.from(q.a), [d, d]);
  const cT = tf.tensor2d(Float32Array.from(q.c), [d, 1]);
  const target = q.target === q.c ? undefined : tf.tensor2d(Float32Array.from(q.target), [d, 1]);
  const f = (): Tensor => {
    const r = tf.sub(w, cT);
    return tf.mul(0.5, tf.sum(tf.mul(r, tf.matMul(aT, r))));
  };
  return {
    params: [w],
    batchLoss() {
      const xi = tf.tensor2d(Float32Array.from({ length: d }, () => noise * noiseDraw(rng, noiseTail)), [d, 1]);
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
