/**
 * Independent reference computations for the checks: the Lion-K update formula written directly
 * (lion-k.md section 2.1, implementation sign convention), and the minimiser of the composite
 * objective f(x) + (1/lambda) K*(lambda x) for the diagonal quadratic f = 1/2 sum a_i (x_i - c_i)^2,
 * computed without running any optimizer program.
 */
import { makeLayout, type Layout } from '../dsl/ops.ts';
import type { KFunctions } from './kfamily.ts';

/** A diagonal ("box") quadratic f(x) = 1/2 sum a_i (x_i - c_i)^2. */
export interface BoxQuadratic {
  readonly a: Float64Array;
  readonly c: Float64Array;
}

export function quadValue(q: BoxQuadratic, x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += 0.5 * (q.a[i] as number) * ((x[i] as number) - (q.c[i] as number)) ** 2;
  return s;
}

export function quadGradient(q: BoxQuadratic, x: Float64Array): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) g[i] = (q.a[i] as number) * ((x[i] as number) - (q.c[i] as number));
  return g;
}

/** Smoothness constant of the quadratic: the largest a_i. */
export function quadLipschitz(q: BoxQuadratic): number {
  let m = 0;
  for (const v of q.a) m = Math.max(m, v);
  return m;
}

export interface ReferenceStep {
  readonly w: Float64Array;
  readonly m: Float64Array;
}

/**
 * One Lion-K step as the theory states it: c = b1 m + (1 - b1) g; w' = w - eta (grad K(c) + lambda w);
 * m' = b2 m + (1 - b2) g.
 */
export function referenceStep(
  k: KFunctions,
  layout: Layout,
  w: Float64Array,
  g: Float64Array,
  m: Float64Array,
  b1: number,
  b2: number,
  eta: number,
  lambda: number,
): ReferenceStep {
  const n = w.length;
  const c = new Float64Array(n);
  for (let i = 0; i < n; i++) c[i] = b1 * (m[i] as number) + (1 - b1) * (g[i] as number);
  const dir = k.gradK(c, layout);
  const w2 = new Float64Array(n);
  const m2 = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    w2[i] = (w[i] as number) - eta * ((dir[i] as number) + lambda * (w[i] as number));
    m2[i] = b2 * (m[i] as number) + (1 - b2) * (g[i] as number);
  }
  return { w: w2, m: m2 };
}

/**
 * The zero of a non-decreasing function on [lo, hi] by bisection (the ends when it does not change
 * sign there): the minimiser of a 1-D convex function given its derivative, jumps included.
 */
function bisectDerivative(dphi: (x: number) => number, lo: number, hi: number): number {
  if (!(dphi(lo) < 0)) return lo;
  if (!(dphi(hi) > 0)) return hi;
  let a = lo;
  let b = hi;
  for (let it = 0; it < 2000; it++) {
    const mid = a + (b - a) / 2;
    if (mid <= a || mid >= b) break;
    if (dphi(mid) < 0) a = mid;
    else b = mid;
  }
  return a + (b - a) / 2;
}

function projectL2Ball(x: Float64Array, r: number, from = 0, to = x.length): void {
  let s = 0;
  for (let i = from; i < to; i++) s += (x[i] as number) ** 2;
  const n = Math.sqrt(s);
  if (n > r) for (let i = from; i < to; i++) x[i] = ((x[i] as number) * r) / n;
}

/** Euclidean projection onto the l1 ball of radius r (sort-based, Duchi et al. 2008). */
function projectL1Ball(x: Float64Array, r: number): void {
  let s = 0;
  for (const v of x) s += Math.abs(v);
  if (s <= r) return;
  const u = Array.from(x, Math.abs).sort((p, q) => q - p);
  let cum = 0;
  let theta = 0;
  for (let j = 0; j < u.length; j++) {
    cum += u[j] as number;
    const t = (cum - r) / (j + 1);
    if ((u[j] as number) > t) theta = t;
  }
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    x[i] = Math.sign(v) * Math.max(Math.abs(v) - theta, 0);
  }
}

/**
 * argmin_x f(x) + (1/lambda) K*(lambda x) for the diagonal quadratic f.
 * Separable K: the problem splits into one convex 1-D problem per coordinate, solved by bisection on
 * its derivative a (t - c) + grad K*(lambda t) (the subgradient's jump at the bound included). Ball constraints (l2, per-leaf l2, l1): projected gradient descent
 * with step 1/L to a fixed point.
 */
export function hasCompositeMinimizer(k: KFunctions): boolean {
  return k.entry.separable || ['l2-ball', 'group-ball', 'l1-ball'].includes(k.entry.feasibleSet);
}

export function compositeMinimizer(k: KFunctions, q: BoxQuadratic, lambda: number, layout: Layout): Float64Array {
  const n = q.a.length;
  const r = 1 / lambda;
  if (k.entry.separable) {
    const x = new Float64Array(n);
    const unconstrained = k.entry.feasibleSet === 'none';
    const one = makeLayout([1]);
    for (let i = 0; i < n; i++) {
      const a = q.a[i] as number;
      const c = q.c[i] as number;
      // phi(t) = a (t - c)^2 / 2 + K*(lambda t) / lambda; phi'(t) = a (t - c) + grad K*(lambda t).
      const dphi = (t: number): number => a * (t - c) + (k.gradKstar(Float64Array.of(lambda * t), one)[0] as number);
      const span = unconstrained ? Math.abs(c) + r : r;
      x[i] = bisectDerivative(dphi, -span, span);
    }
    return x;
  }
  const project = (x: Float64Array): void => {
    switch (k.entry.feasibleSet) {
      case 'l2-ball':
        projectL2Ball(x, r);
        return;
      case 'group-ball':
        layout.sizes.forEach((size, l) => {
          const from = layout.offsets[l] as number;
          projectL2Ball(x, r, from, from + size);
        });
        return;
      case 'l1-ball':
        projectL1Ball(x, r);
        return;
      default:
        throw new RangeError(`no projected-gradient reference for the ${k.entry.feasibleSet} set of K = ${k.entry.id}`);
    }
  };
  let L = 0;
  for (const v of q.a) L = Math.max(L, v);
  const x = new Float64Array(n);
  for (let it = 0; it < 200_000; it++) {
    let moved = 0;
    const prev = Float64Array.from(x);
    for (let i = 0; i < n; i++) x[i] = (x[i] as number) - ((q.a[i] as number) * ((x[i] as number) - (q.c[i] as number))) / L;
    project(x);
    for (let i = 0; i < n; i++) moved = Math.max(moved, Math.abs((x[i] as number) - (prev[i] as number)));
    if (moved <= 1e-15 * r) break;
  }
  return x;
}
