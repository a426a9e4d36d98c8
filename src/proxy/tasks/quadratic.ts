/**
 * f(w) = 0.5 (w - c)^T A (w - c) with eigenvalues log-spaced in [1/condition, 1], optionally in a
 * random rotation. Stochastic gradients: each step adds a fresh linear term xi, so the gradient is
 * A (w - c) + xi, with xi = noise * N(0, I), or noise * Student-t(noiseTail) per coordinate when
 * params.noiseTail > 0 (heavy-tailed gradient noise). The held-out loss is the exact f(w) (minimum 0).
 * quadraticProblem() is the same problem in Float64 for the reference trainer (src/proxy/reference.ts).
 *
 * With params.box the task is the Lion-K box check: separable, centres partly outside |w| <= 1/box,
 * and the metric is the largest distance to the box-constrained optimum clip(c, -1/box, 1/box).
 */
import type { Tensor } from '@tensorflow/tfjs';
import { Rng } from '../../util/rng.ts';
import type { Tf } from '../backend.ts';
import type { TaskSpec } from '../../vocabulary/index.ts';
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

/** The problem a quadratic task defines, in Float64; shared by the tfjs task and the reference trainer. */
export interface QuadraticProblem {
  readonly d: number;
  /** Row-major d x d matrix A. */
  readonly a: Float64Array;
  /** Centre c (the unconstrained optimum). */
  readonly c: Float64Array;
  /** What the metric measures the distance to: c, or clip(c) for the box task. */
  readonly target: Float64Array;
  readonly noise: number;
  /** Degrees of freedom of Student-t gradient noise; 0 = Gaussian. */
  readonly noiseTail: number;
  readonly startScale: number;
}

export function quadraticProblem(spec: TaskSpec): QuadraticProblem {
  const d = num(spec, 'dim', 64);
  const condition = num(spec, 'condition', 1000);
  const noise = num(spec, 'noise', 0.01);
  const noiseTail = num(spec, 'noiseTail', 0);
  if (noiseTail !== 0 && !(noiseTail > 0)) throw new Error(`task ${spec.name}: params.noiseTail must be 0 (Gaussian) or a positive degrees of freedom`);
  const centreScale = num(spec, 'centreScale', 0.1);
  const rotate = spec.params.rotate !== false;
  const box = spec.params.box === undefined ? 0 : num(spec, 'box');
  // The problem itself is fixed by problemSeed; the evaluation seed drives the start point and noise.
  const prob = new Rng(num(spec, 'problemSeed', 1));
  const eig = Float64Array.from({ length: d }, (_, i) => Math.pow(condition, -i / Math.max(1, d - 1)));
  const c = Float64Array.from({ length: d }, () =>
    box > 0 ? (prob.next() < 0.5 ? -1 : 1) * prob.uniform(0.3, 3) / box : centreScale * prob.normal(),
  );
  const a = new Float64Array(d * d);
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
  const limit = box > 0 ? 1 / box : 0;
  const target = box > 0 ? Float64Array.from(c, (x) => Math.max(-limit, Math.min(limit, x))) : c;
  return { d, a, c, target, noise, noiseTail, startScale: num(spec, 'startScale', 0) };
}

/** One draw of the gradient noise (before scaling by noise). */
export function noiseDraw(rng: Rng, tail: number): number {
  return tail > 0 ? rng.studentT(tail) : rng.normal();
}

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
