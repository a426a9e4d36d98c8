/**
 * The quadratic task's problem in Float64: f(w) = 0.5 (w - c)^T A (w - c) with eigenvalues log-spaced
 * in [1/condition, 1], optionally in a random rotation; stochastic gradients A (w - c) + xi with a
 * fresh xi each step. Every trainer of the quadratic kind builds from it (see the tfjs builder in
 * src/proxy/builders/quadratic.ts for the task in full).
 */
import { Rng } from '../util/rng.ts';
import type { TaskSpec } from '../vocabulary/index.ts';
import { num } from './params.ts';

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
