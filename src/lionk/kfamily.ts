/**
 * The Lion-K family (arXiv 2310.05898): for a convex K, the update direction is grad K of the
 * look-ahead momentum, and the dynamics minimise f(x) + (1/lambda) K*(lambda x), where K* is the
 * convex conjugate. Each entry carries K, grad K and K* as Float64 functions, used by the checks;
 * the conjugates are derived by convex analysis (shared reference lion-k.md section 3).
 *
 * Vectors are flat Float64Arrays with a Layout (ops.ts); only the group norm looks at leaves.
 */
import { makeLayout, type Layout } from '../dsl/ops.ts';

/** Which kind of set {x : lambda x in dom K*} the dynamics keep the weights in. */
export type FeasibleSet = 'box' | 'l2-ball' | 'l1-ball' | 'lq-ball' | 'group-ball' | 'none';

export type KId =
  | 'l1'
  | 'half_sq_l2'
  | 'l2'
  | 'group_l2'
  | 'lp'
  | 'linf'
  | 'huber'
  | 'logcosh'
  | 'relativistic'
  | 'threshold';

/** The direction a program applies to its look-ahead momentum: an op of ops.ts, or none at all. */
export type DirectionName =
  | 'sign'
  | 'identity'
  | 'l2_normalize'
  | 'group_normalize'
  | 'lp_normalize'
  | 'linf_argmax'
  | 'unit_clip'
  | 'tanh'
  | 'rel_sign'
  | 'thresh_sign';

export interface KOptions {
  /** e of K = sum max(|y| - e, 0). */
  readonly threshold?: number;
  /** p of K = ||y||_p, 1 < p < infinity. */
  readonly p?: number;
}

export interface KEntry {
  readonly id: KId;
  /** The optimizer this K gives. */
  readonly optimizer: string;
  readonly direction: DirectionName;
  /** The op of ops.ts that computes grad K, or null when no single op does. */
  readonly op: string | null;
  readonly kFormula: string;
  readonly gradFormula: string;
  readonly conjugateFormula: string;
  /** The composite objective f(x) + (1/lambda) K*(lambda x), written out. */
  readonly objectiveFormula: string;
  readonly objectiveWords: string;
  readonly feasibleSet: FeasibleSet;
  /** K is continuously differentiable (the continuous-time Lyapunov theorem's setting). */
  readonly smooth: boolean;
  /** K is a sum of one function per coordinate. */
  readonly separable: boolean;
  /**
   * grad K(s y) = grad K(y) for s > 0: 'exact' when it holds bit for bit in floating point for any s,
   * 'power-of-two' when only scalings by powers of two are exact, 'none' when it does not hold.
   */
  readonly scaleInvariance: 'exact' | 'power-of-two' | 'none';
}

/** Float64 implementations of one K (with its options bound). */
export interface KFunctions {
  readonly entry: KEntry;
  K(y: Float64Array, layout: Layout): number;
  gradK(y: Float64Array, layout: Layout): Float64Array;
  /** K*(z); +Infinity outside its domain (a relative slack of 1e-9 absorbs rounding on the boundary). */
  Kstar(z: Float64Array, layout: Layout): number;
  /** grad K*(z) where K* is differentiable (the interior of its domain). */
  gradKstar(z: Float64Array, layout: Layout): Float64Array;
  /** The 1-D conjugate k*(z) for separable K (K*(z) = sum k*(z_i)); undefined otherwise. */
  readonly kstar1?: (z: number) => number;
}

/** Rounding slack for the indicator functions: a boundary point may sit an ulp outside. */
const DOMAIN_SLACK = 1e-9;

export const K_TABLE: readonly KEntry[] = [
  {
    id: 'l1',
    optimizer: 'Lion',
    direction: 'sign',
    op: 'sign',
    kFormula: 'K(y) = ||y||_1',
    gradFormula: 'sign(y)',
    conjugateFormula: 'K*(z) = 0 if ||z||_inf <= 1, else +inf',
    objectiveFormula: 'min f(x) s.t. |x_i| <= 1/lambda for every i',
    objectiveWords: 'f restricted to the box ||x||_inf <= 1/lambda',
    feasibleSet: 'box',
    smooth: false,
    separable: true,
    scaleInvariance: 'exact',
  },
  {
    id: 'half_sq_l2',
    optimizer: 'Polyak / Nesterov momentum with decoupled weight decay',
    direction: 'identity',
    op: null,
    kFormula: 'K(y) = ||y||_2^2 / 2',
    gradFormula: 'y',
    conjugateFormula: 'K*(z) = ||z||_2^2 / 2',
    objectiveFormula: 'min f(x) + (lambda/2) ||x||_2^2',
    objectiveWords: 'f plus a plain L2 penalty, no constraint',
    feasibleSet: 'none',
    smooth: true,
    separable: true,
    scaleInvariance: 'none',
  },
  {
    id: 'l2',
    optimizer: 'normalized momentum',
    direction: 'l2_normalize',
    op: 'l2_normalize',
    kFormula: 'K(y) = ||y||_2 (whole tensor)',
    gradFormula: 'y / ||y||_2',
    conjugateFormula: 'K*(z) = 0 if ||z||_2 <= 1, else +inf',
    objectiveFormula: 'min f(x) s.t. ||x||_2 <= 1/lambda',
    objectiveWords: 'f restricted to the Euclidean ball of radius 1/lambda (all weights together)',
    feasibleSet: 'l2-ball',
    smooth: false,
    separable: false,
    scaleInvariance: 'power-of-two',
  },
  {
    id: 'group_l2',
    optimizer: 'per-tensor normalized updates',
    direction: 'group_normalize',
    op: null,
    kFormula: 'K(y) = sum over leaves g of ||y_g||_2',
    gradFormula: 'y_g / ||y_g||_2 per leaf',
    conjugateFormula: 'K*(z) = 0 if ||z_g||_2 <= 1 for every leaf g, else +inf',
    objectiveFormula: 'min f(x) s.t. ||x_g||_2 <= 1/lambda for every leaf g',
    objectiveWords: 'f restricted to one Euclidean ball of radius 1/lambda per weight tensor',
    feasibleSet: 'group-ball',
    smooth: false,
    separable: false,
    scaleInvariance: 'power-of-two',
  },
  {
    id: 'lp',
    optimizer: 'between Lion (p -> 1) and normalized momentum (p = 2)',
    direction: 'lp_normalize',
    op: null,
    kFormula: 'K(y) = ||y||_p, 1 < p < inf',
    gradFormula: 'sign(y) |y|^(p-1) / ||y||_p^(p-1)',
    conjugateFormula: 'K*(z) = 0 if ||z||_q <= 1 (1/p + 1/q = 1), else +inf',
    objectiveFormula: 'min f(x) s.t. ||x||_q <= 1/lambda',
    objectiveWords: 'f restricted to the l_q ball of radius 1/lambda',
    feasibleSet: 'lq-ball',
    smooth: false,
    separable: false,
    scaleInvariance: 'none',
  },
  {
    id: 'linf',
    optimizer: 'greedy coordinate update',
    direction: 'linf_argmax',
    op: null,
    kFormula: 'K(y) = ||y||_inf',
    gradFormula: 'sign(y_j) e_j, j = argmax |y_j|',
    conjugateFormula: 'K*(z) = 0 if ||z||_1 <= 1, else +inf',
    objectiveFormula: 'min f(x) s.t. ||x||_1 <= 1/lambda',
    objectiveWords: 'f restricted to the l1 ball of radius 1/lambda',
    feasibleSet: 'l1-ball',
    smooth: false,
    separable: false,
    scaleInvariance: 'exact',
  },
  {
    id: 'huber',
    optimizer: 'clipped momentum',
    direction: 'unit_clip',
    op: 'unit_clip',
    kFormula: 'K(y) = sum_i huber(y_i), huber(t) = t^2/2 for |t| <= 1, |t| - 1/2 beyond',
    gradFormula: 'clip(y, -1, 1)',
    conjugateFormula: 'K*(z) = ||z||_2^2 / 2 if ||z||_inf <= 1, else +inf',
    objectiveFormula: 'min f(x) + (lambda/2) ||x||_2^2 s.t. |x_i| <= 1/lambda',
    objectiveWords: 'f plus an L2 penalty, restricted to the box ||x||_inf <= 1/lambda',
    feasibleSet: 'box',
    smooth: true,
    separable: true,
    scaleInvariance: 'none',
  },
  {
    id: 'logcosh',
    optimizer: 'tanh Lion (smooth sign)',
    direction: 'tanh',
    op: 'tanh',
    kFormula: 'K(y) = sum_i log cosh(y_i)',
    gradFormula: 'tanh(y)',
    conjugateFormula: 'K*(z) = sum_i ((1 + z_i) ln(1 + z_i) + (1 - z_i) ln(1 - z_i)) / 2 if ||z||_inf <= 1, else +inf',
    objectiveFormula:
      'min f(x) + (1/lambda) sum_i ((1 + lambda x_i) ln(1 + lambda x_i) + (1 - lambda x_i) ln(1 - lambda x_i)) / 2 s.t. |x_i| <= 1/lambda',
    objectiveWords: 'f plus a negative-entropy barrier that keeps every coordinate inside the box ||x||_inf <= 1/lambda',
    feasibleSet: 'box',
    smooth: true,
    separable: true,
    scaleInvariance: 'none',
  },
  {
    id: 'relativistic',
    optimizer: 'relativistic soft sign (as in Hamiltonian descent)',
    direction: 'rel_sign',
    op: 'rel_sign',
    kFormula: 'K(y) = sum_i sqrt(1 + y_i^2)',
    gradFormula: 'y / sqrt(1 + y^2)',
    conjugateFormula: 'K*(z) = -sum_i sqrt(1 - z_i^2) if ||z||_inf <= 1, else +inf',
    objectiveFormula: 'min f(x) - (1/lambda) sum_i sqrt(1 - lambda^2 x_i^2) s.t. |x_i| <= 1/lambda',
    objectiveWords: 'f plus a circular barrier that keeps every coordinate inside the box ||x||_inf <= 1/lambda',
    feasibleSet: 'box',
    smooth: true,
    separable: true,
    scaleInvariance: 'none',
  },
  {
    id: 'threshold',
    optimizer: 'thresholded Lion',
    direction: 'thresh_sign',
    op: 'thresh_sign',
    kFormula: 'K(y) = sum_i max(|y_i| - e, 0)',
    gradFormula: 'sign(y) 1{|y| > e}',
    conjugateFormula: 'K*(z) = e ||z||_1 if ||z||_inf <= 1, else +inf',
    objectiveFormula: 'min f(x) + e ||x||_1 s.t. |x_i| <= 1/lambda',
    objectiveWords: 'f plus an L1 penalty of weight e, restricted to the box ||x||_inf <= 1/lambda',
    feasibleSet: 'box',
    smooth: false,
    separable: true,
    scaleInvariance: 'none',
  },
];

/** Muon's K (nuclear norm, grad K = U V^T) is documented in docs/lionk.md only: flat tensors carry no matrix shape. */

export function kEntryById(id: KId): KEntry {
  const e = K_TABLE.find((k) => k.id === id);
  if (!e) throw new RangeError(`unknown K ${id}`);
  return e;
}

export function kEntryForDirection(direction: DirectionName): KEntry {
  const e = K_TABLE.find((k) => k.direction === direction);
  if (!e) throw new RangeError(`no K has the direction ${direction}`);
  return e;
}

// --- small vector helpers ------------------------------------------------------------------------

function map(y: Float64Array, f: (v: number) => number): Float64Array {
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) out[i] = f(y[i] as number);
  return out;
}

function sum(y: Float64Array, f: (v: number) => number): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += f(y[i] as number);
  return s;
}

function maxAbs(y: Float64Array): number {
  let m = 0;
  for (let i = 0; i < y.length; i++) m = Math.max(m, Math.abs(y[i] as number));
  return m;
}

function norm2(y: Float64Array, from = 0, to = y.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += (y[i] as number) ** 2;
  return Math.sqrt(s);
}

function normP(y: Float64Array, p: number): number {
  return Math.pow(sum(y, (v) => Math.pow(Math.abs(v), p)), 1 / p);
}

function sgn(v: number): number {
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

const inBox = (z: Float64Array): boolean => maxAbs(z) <= 1 + DOMAIN_SLACK;
/** Clamp to [-1, 1]: boundary points within the slack are evaluated on the boundary. */
const clamp1 = (v: number): number => (v > 1 ? 1 : v < -1 ? -1 : v);

/** log cosh without overflow: |y| + log1p(exp(-2|y|)) - ln 2. */
function logCosh(y: number): number {
  const a = Math.abs(y);
  return a + Math.log1p(Math.exp(-2 * a)) - Math.LN2;
}

/** (1 + z) ln(1 + z) + (1 - z) ln(1 - z), halved; t ln t -> 0 at t = 0. */
function logcoshConjugate1(z: number): number {
  if (Math.abs(z) > 1 + DOMAIN_SLACK) return Infinity;
  const c = clamp1(z);
  const xlogx = (t: number): number => (t <= 0 ? 0 : t * Math.log(t));
  return (xlogx(1 + c) + xlogx(1 - c)) / 2;
}

function huber1(t: number): number {
  const a = Math.abs(t);
  return a <= 1 ? (t * t) / 2 : a - 0.5;
}

/** The Float64 K, grad K and K* of one table entry; options bind e (threshold) and p. */
export function kFunctions(id: KId, options: KOptions = {}): KFunctions {
  const entry = kEntryById(id);
  switch (id) {
    case 'l1':
      return {
        entry,
        K: (y) => sum(y, Math.abs),
        gradK: (y) => map(y, sgn),
        Kstar: (z) => (inBox(z) ? 0 : Infinity),
        gradKstar: (z) => new Float64Array(z.length),
        kstar1: (z) => (Math.abs(z) <= 1 + DOMAIN_SLACK ? 0 : Infinity),
      };
    case 'half_sq_l2':
      return {
        entry,
        K: (y) => sum(y, (v) => v * v) / 2,
        gradK: (y) => Float64Array.from(y),
        Kstar: (z) => sum(z, (v) => v * v) / 2,
        gradKstar: (z) => Float64Array.from(z),
        kstar1: (z) => (z * z) / 2,
      };
    case 'l2':
      return {
        entry,
        K: (y) => norm2(y),
        gradK: (y) => {
          const n = norm2(y);
          return n === 0 ? new Float64Array(y.length) : map(y, (v) => v / n);
        },
        Kstar: (z) => (norm2(z) <= 1 + DOMAIN_SLACK ? 0 : Infinity),
        gradKstar: (z) => new Float64Array(z.length),
      };
    case 'group_l2': {
      const groups = (layout: Layout, f: (from: number, to: number) => void): void => {
        layout.sizes.forEach((size, l) => {
          const from = layout.offsets[l] as number;
          f(from, from + size);
        });
      };
      return {
        entry,
        K: (y, layout) => {
          let s = 0;
          groups(layout, (a, b) => (s += norm2(y, a, b)));
          return s;
        },
        gradK: (y, layout) => {
          const out = new Float64Array(y.length);
          groups(layout, (a, b) => {
            const n = norm2(y, a, b);
            if (n > 0) for (let i = a; i < b; i++) out[i] = (y[i] as number) / n;
          });
          return out;
        },
        Kstar: (z, layout) => {
          let ok = true;
          groups(layout, (a, b) => (ok &&= norm2(z, a, b) <= 1 + DOMAIN_SLACK));
          return ok ? 0 : Infinity;
        },
        gradKstar: (z) => new Float64Array(z.length),
      };
    }
    case 'lp': {
      const p = options.p ?? 1.5;
      if (!(p > 1 && Number.isFinite(p))) throw new RangeError(`K = ||y||_p needs 1 < p < inf, got ${p}`);
      const q = p / (p - 1);
      return {
        entry,
        K: (y) => normP(y, p),
        gradK: (y) => {
          const n = normP(y, p);
          return n === 0 ? new Float64Array(y.length) : map(y, (v) => sgn(v) * Math.pow(Math.abs(v) / n, p - 1));
        },
        Kstar: (z) => (normP(z, q) <= 1 + DOMAIN_SLACK ? 0 : Infinity),
        gradKstar: (z) => new Float64Array(z.length),
      };
    }
    case 'linf':
      return {
        entry,
        K: (y) => maxAbs(y),
        gradK: (y) => {
          const out = new Float64Array(y.length);
          let j = -1;
          let best = 0;
          for (let i = 0; i < y.length; i++) {
            if (Math.abs(y[i] as number) > best) {
              best = Math.abs(y[i] as number);
              j = i;
            }
          }
          if (j >= 0) out[j] = sgn(y[j] as number);
          return out;
        },
        Kstar: (z) => (sum(z, Math.abs) <= 1 + DOMAIN_SLACK ? 0 : Infinity),
        gradKstar: (z) => new Float64Array(z.length),
      };
    case 'huber':
      return {
        entry,
        K: (y) => sum(y, huber1),
        gradK: (y) => map(y, clamp1),
        Kstar: (z) => (inBox(z) ? sum(z, (v) => clamp1(v) ** 2) / 2 : Infinity),
        gradKstar: (z) => map(z, clamp1),
        kstar1: (z) => (Math.abs(z) <= 1 + DOMAIN_SLACK ? clamp1(z) ** 2 / 2 : Infinity),
      };
    case 'logcosh':
      return {
        entry,
        K: (y) => sum(y, logCosh),
        gradK: (y) => map(y, Math.tanh),
        Kstar: (z) => sum(z, logcoshConjugate1),
        gradKstar: (z) => map(z, Math.atanh),
        kstar1: logcoshConjugate1,
      };
    case 'relativistic': {
      const rel1 = (z: number): number => (Math.abs(z) <= 1 + DOMAIN_SLACK ? -Math.sqrt(1 - clamp1(z) ** 2) : Infinity);
      return {
        entry,
        K: (y) => sum(y, (v) => Math.sqrt(1 + v * v)),
        gradK: (y) => map(y, (v) => v / Math.sqrt(1 + v * v)),
        Kstar: (z) => sum(z, rel1),
        gradKstar: (z) => map(z, (v) => v / Math.sqrt(1 - v * v)),
        kstar1: rel1,
      };
    }
    case 'threshold': {
      const e = options.threshold ?? 0;
      if (!Number.isFinite(e)) throw new RangeError(`the threshold e must be finite, got ${e}`);
      // With e < 0, max(|y| - e, 0) = |y| - e everywhere: K is the L1 norm plus a constant, K* = e on the box.
      const t1 = (z: number): number => (Math.abs(z) <= 1 + DOMAIN_SLACK ? (e >= 0 ? e * Math.abs(z) : e) : Infinity);
      return {
        entry,
        K: (y) => sum(y, (v) => Math.max(Math.abs(v) - e, 0)),
        gradK: (y) => map(y, (v) => (Math.abs(v) > e ? sgn(v) : 0)),
        Kstar: (z) => sum(z, t1),
        gradKstar: (z) => map(z, (v) => (e >= 0 ? e * sgn(v) : 0)),
        kstar1: t1,
      };
    }
  }
}

/**
 * How far x lies outside {x : lambda x in dom K*}, in the units of x: one entry per coordinate for a
 * box, per leaf for the group ball, a single entry for a ball; empty when there is no constraint.
 */
export function feasibleExcess(set: FeasibleSet, x: Float64Array, lambda: number, layout: Layout, p = 1.5): Float64Array {
  const r = 1 / lambda;
  switch (set) {
    case 'none':
      return new Float64Array(0);
    case 'box':
      return map(x, (v) => Math.max(Math.abs(v) - r, 0));
    case 'l2-ball':
      return Float64Array.of(Math.max(norm2(x) - r, 0));
    case 'l1-ball':
      return Float64Array.of(Math.max(sum(x, Math.abs) - r, 0));
    case 'lq-ball':
      return Float64Array.of(Math.max(normP(x, p / (p - 1)) - r, 0));
    case 'group-ball':
      return Float64Array.from(layout.sizes.map((size, l) => {
        const from = layout.offsets[l] as number;
        return Math.max(norm2(x, from, from + size) - r, 0);
      }));
  }
}

/** The composite objective F(x) = f(x) + (1/lambda) K*(lambda x) for a given f value. */
export function compositeObjective(k: KFunctions, fx: number, x: Float64Array, lambda: number, layout: Layout): number {
  const lx = map(x, (v) => lambda * v);
  return fx + k.Kstar(lx, layout) / lambda;
}

/** The implied problem with lambda substituted, one line. */
export function impliedProblem(entry: KEntry, lambda: number, threshold?: number): string {
  const r = formatBound(1 / lambda);
  const lam = formatBound(lambda);
  switch (entry.feasibleSet) {
    case 'box': {
      const box = `|w_i| <= 1/lambda = ${r} for every i`;
      if (entry.id === 'l1') return `minimize f(w) subject to ${box}`;
      if (entry.id === 'huber') return `minimize f(w) + (${lam}/2) ||w||^2 subject to ${box}`;
      if (entry.id === 'threshold') {
        const e = threshold ?? 0;
        return e > 0 ? `minimize f(w) + ${formatBound(e)} ||w||_1 subject to ${box}` : `minimize f(w) subject to ${box} (e = ${formatBound(e)} <= 0: plain Lion)`;
      }
      if (entry.id === 'logcosh') return `minimize f(w) + (1/${lam}) sum_i ((1 + ${lam} w_i) ln(1 + ${lam} w_i) + (1 - ${lam} w_i) ln(1 - ${lam} w_i)) / 2 subject to ${box}`;
      if (entry.id === 'relativistic') return `minimize f(w) - (1/${lam}) sum_i sqrt(1 - ${lam}^2 w_i^2) subject to ${box}`;
      return `minimize f(w) + (1/lambda) K*(lambda w) subject to ${box}`;
    }
    case 'l2-ball':
      return `minimize f(w) subject to ||w||_2 <= 1/lambda = ${r} (all weights together)`;
    case 'group-ball':
      return `minimize f(w) subject to ||w_g||_2 <= 1/lambda = ${r} for every weight tensor g`;
    case 'l1-ball':
      return `minimize f(w) subject to ||w||_1 <= 1/lambda = ${r}`;
    case 'lq-ball':
      return `minimize f(w) subject to ||w||_q <= 1/lambda = ${r}`;
    case 'none':
      return `minimize f(w) + (${lam}/2) ||w||^2 (no constraint)`;
  }
}

/** The constraint alone, with lambda substituted (null when K implies none). */
export function impliedConstraint(entry: KEntry, lambda: number): string | null {
  const r = formatBound(1 / lambda);
  switch (entry.feasibleSet) {
    case 'box':
      return `|w_i| <= 1/lambda = ${r} for every i`;
    case 'l2-ball':
      return `||w||_2 <= 1/lambda = ${r} (all weights together)`;
    case 'group-ball':
      return `||w_g||_2 <= 1/lambda = ${r} for every weight tensor g`;
    case 'l1-ball':
      return `||w||_1 <= 1/lambda = ${r}`;
    case 'lq-ball':
      return `||w||_q <= 1/lambda = ${r}`;
    case 'none':
      return null;
  }
}

/** Short decimal for bounds and coefficients in printed text. */
export function formatBound(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Number(x.toPrecision(6)).toString();
}

/** A one-leaf layout of n coordinates (the checks' problems are flat). */
export const flatLayout = (n: number): Layout => makeLayout([n]);
