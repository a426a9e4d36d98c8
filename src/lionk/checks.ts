/**
 * Numerical checks of the Lion-K predictions (lion-k.md sections 4-6) on one program.
 *
 * Every check runs the program itself through the Float64 reference interpreter (dsl/interpret.ts)
 * and compares what it does with what the theory predicts for the claimed LionKParams; nothing here
 * re-implements the program. A program that is not what the params claim fails them.
 *
 * The problems are box quadratics f(w) = 1/2 sum a_i (w_i - c_i)^2 written in units of the bound
 * r = 1/lambda: a_i = lambda * U(0.5, 2) and c_i = r * u_i with half the u_i outside [-1, 1], so the
 * unconstrained optimum lies outside the feasible set and gradients are O(1) at distance r.
 * The checks drive the program's lr input (the schedule value s) so that the effective learning
 * rate eta = s * lrMultiplier takes the values a check needs; the program's constants are untouched.
 */
import type { Program } from '../dsl/ast.ts';
import { prepare, step, type PreparedProgram } from '../dsl/interpret.ts';
import type { Layout } from '../dsl/ops.ts';
import { Rng } from '../util/rng.ts';
import { feasibleExcess, flatLayout, kFunctions, type FeasibleSet, type KEntry, type KFunctions } from './kfamily.ts';
import { kEntryOf, kOptionsOf, type LionKParams } from './params.ts';
import {
  compositeMinimizer,
  hasCompositeMinimizer,
  quadGradient,
  quadLipschitz,
  quadValue,
  referenceStep,
  type BoxQuadratic,
} from './reference.ts';

export type CheckStatus = 'pass' | 'fail' | 'n/a';

export interface CheckResult {
  /** Stable identifier, e.g. 'box-invariance'. */
  readonly id: CheckId;
  readonly name: string;
  readonly status: CheckStatus;
  /** status === 'pass'. */
  readonly passed: boolean;
  /** The measured figure (null when the check does not apply). */
  readonly measured: number | null;
  /** The figure must be <= this threshold. */
  readonly threshold: number | null;
  /** What was measured and on what, one or two sentences. */
  readonly detail: string;
}

export type CheckId =
  | 'one-step-reference'
  | 'box-invariance'
  | 'phase1-contraction'
  | 'constrained-optimum'
  | 'lyapunov-discrete'
  | 'lyapunov-continuous'
  | 'scale-invariance';

export interface CheckOptions {
  readonly seed?: number;
  /** Number of coordinates of the test problems. */
  readonly dim?: number;
}

/** Tolerances, exported so that docs and tests quote the same numbers. */
export const TOLERANCES = {
  /** One step against the formula, relative to max(1, |w|). */
  oneStep: 1e-12,
  /** Largest excess outside the feasible set, relative to 1/lambda ("a few ulps"). */
  boxInvariance: 1e-12,
  /** Largest e_{t+1} - (1 - eta lambda) e_t, relative to 1/lambda. */
  contraction: 1e-12,
  /** Largest |w_T - x*|, relative to 1/lambda. */
  constrainedOptimum: 1e-3,
  /** Largest dH/dt normalised by |grad H| |velocity|. */
  continuous: 1e-9,
} as const;

/** Effective eta * lambda used by the checks that run at a fixed, small learning rate. */
const SMALL_ETA_LAMBDA = 1e-2;
/**
 * Curvature of the discrete Lyapunov check's quadratics (a_i = 10 lambda U(0.5, 2)): stiff enough that
 * the gradient moves within the momentum's memory, where b1 > b2 makes H_d rise (lion-k.md 4.2).
 */
const LYAPUNOV_CURVATURE = 10;

// --- running the program -------------------------------------------------------------------------

interface Runner {
  readonly prep: PreparedProgram;
  readonly layout: Layout;
  readonly params: LionKParams;
}

function makeRunner(program: Program, params: LionKParams, dim: number): Runner {
  return { prep: prepare(program), layout: flatLayout(dim), params };
}

/** Schedule value that makes the effective learning rate equal eta. */
function scheduleFor(params: LionKParams, eta: number): number {
  return eta / params.lrMultiplier;
}

interface StepResult {
  readonly w: Float64Array;
  readonly state: readonly Float64Array[];
}

function runOne(r: Runner, w: Float64Array, g: Float64Array, state: readonly Float64Array[], schedule: number): StepResult {
  const out = step(r.prep, { w, g, state, lr: schedule }, r.layout);
  const next = new Float64Array(w.length);
  const u = out.update;
  for (let i = 0; i < w.length; i++) next[i] = (w[i] as number) - (typeof u === 'number' ? u : (u[i] as number));
  return { w: next, state: out.state };
}

function zeroState(r: Runner): Float64Array[] {
  return Array.from({ length: r.prep.slotCount }, () => new Float64Array(r.layout.total));
}

/** Every input slot set to m: a Lion-K program reads one momentum slot, the others pass through. */
function stateOf(r: Runner, m: Float64Array): Float64Array[] {
  return Array.from({ length: r.prep.slotCount }, () => Float64Array.from(m));
}

// --- problems and starting points ----------------------------------------------------------------

export function makeBoxQuadratic(rng: Rng, dim: number, lambda: number, curvature = 1): BoxQuadratic {
  const r = 1 / lambda;
  const a = new Float64Array(dim);
  const c = new Float64Array(dim);
  for (let i = 0; i < dim; i++) {
    a[i] = curvature * lambda * rng.uniform(0.5, 2);
    const outside = i % 2 === 0;
    const mag = outside ? rng.uniform(1.5, 3) : rng.uniform(0.1, 0.8);
    c[i] = (rng.next() < 0.5 ? -1 : 1) * r * mag;
  }
  return { a, c };
}

function randomSigns(rng: Rng, dim: number): Float64Array {
  return Float64Array.from({ length: dim }, () => (rng.next() < 0.5 ? -1 : 1));
}

function setRadius(set: FeasibleSet): (x: Float64Array) => number {
  return (x) => {
    switch (set) {
      case 'l2-ball':
      case 'group-ball':
        return Math.sqrt(x.reduce((s, v) => s + v * v, 0));
      case 'l1-ball':
        return x.reduce((s, v) => s + Math.abs(v), 0);
      default:
        return x.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
    }
  };
}

/**
 * A point at `scale` times the bound: for a box every coordinate at |w_i| = r * U(lo, hi) (some exactly
 * at the bound when lo = hi = 1); for a ball a random direction scaled to the given radius.
 */
function pointAtScale(rng: Rng, set: FeasibleSet, dim: number, r: number, lo: number, hi: number): Float64Array {
  const s = randomSigns(rng, dim);
  if (set === 'box') return s.map((v, i) => v * r * (i < 2 ? hi : rng.uniform(lo, hi)));
  const x = Float64Array.from({ length: dim }, () => rng.normal());
  const norm = setRadius(set)(x);
  const target = r * rng.uniform(lo, hi);
  return x.map((v) => (v * target) / norm);
}

/** Gradient sequences: the quadratic's gradient with noise, an outward push, and large random signs. */
type GradientKind = 'noisy' | 'outward' | 'random-signs';
const GRADIENT_KINDS: readonly GradientKind[] = ['noisy', 'outward', 'random-signs'];

function gradientSource(kind: GradientKind, q: BoxQuadratic, rng: Rng): (w: Float64Array, t: number) => Float64Array {
  const dim = q.a.length;
  let signs = randomSigns(rng, dim);
  return (w, t) => {
    switch (kind) {
      case 'noisy': {
        const g = quadGradient(q, w);
        return g.map((v) => v + 3 * rng.normal());
      }
      case 'outward':
        // A gradient against w drives the descent direction away from the origin, as hard as it can.
        return w.map((v) => -1e3 * (v === 0 ? 1 : v));
      case 'random-signs':
        if (t % 7 === 0) signs = randomSigns(rng, dim);
        return signs.map((v) => v * 1e3 * rng.uniform(0.5, 2));
    }
  };
}

/** SGD, signSGD and memoryless directions: b1 = b2 = 0, no state slot holds a momentum. */
function stateless(params: LionKParams): boolean {
  return params.b1 === 0 && params.b2 === 0;
}

function notApplicable(id: CheckId, name: string, detail: string): CheckResult {
  return { id, name, status: 'n/a', passed: false, measured: null, threshold: null, detail };
}

function verdict(id: CheckId, name: string, measured: number, threshold: number, detail: string): CheckResult {
  const ok = Number.isFinite(measured) ? measured <= threshold : false;
  return { id, name, status: ok ? 'pass' : 'fail', passed: ok, measured, threshold, detail };
}

const fmt = (x: number): string => (x === 0 ? '0' : Number.isFinite(x) ? Number(x.toPrecision(3)).toExponential() : String(x));

function constraintNotApplicable(id: CheckId, name: string, entry: KEntry, params: LionKParams): CheckResult | null {
  if (entry.feasibleSet === 'none') return notApplicable(id, name, `K = ${entry.kFormula.replace('K(y) = ', '')} implies no constraint`);
  if (!(params.lambda > 0)) return notApplicable(id, name, 'no weight decay (lambda = 0): no constraint is implied');
  return null;
}

/**
 * Schedule values for the constraint checks: even steps run at the program's own peak (schedule 1.0,
 * eta * lambda = lrMultiplier * lambda as written), odd steps at a random eta * lambda in [0, 1], the
 * whole range the theory allows.
 */
function constraintSchedule(params: LionKParams, rng: Rng): (t: number) => number {
  const edge = 1 / (params.lrMultiplier * params.lambda);
  return (t) => (t % 2 === 0 ? 1 : rng.uniform(0, edge));
}

// --- the checks ----------------------------------------------------------------------------------

/** lion-k.md section 7: one program step on the test-vector inputs against the Lion-K formula. */
export function checkOneStepReference(program: Program, params: LionKParams): CheckResult {
  const id: CheckId = 'one-step-reference';
  const name = 'one step matches the Lion-K formula (lion-k.md section 7 inputs)';
  const k = kFunctions(kEntryOf(params).id, kOptionsOf(params));
  const vectors = [
    { name: 'V1', lr: 0.1, w: [1.0, -2.0, 0.5], g: [0.3, -0.1, 0.0], m: [0, 0, 0] },
    { name: 'V2', lr: 0.01, w: [0.2, -0.3, 3.0, -1.0], g: [1.0, 1.0, -0.01, 0.0], m: [-0.05, -0.115, 0.0, 0.0] },
    { name: 'V3', lr: 0.1, w: [5.0, -5.0, 1.0], g: [-1.0, 1.0, -2.0], m: [-1.0, 1.0, 0.0] },
  ];
  let worst = 0;
  let where = '';
  let worstMomentum = 0;
  for (const v of vectors) {
    const r = makeRunner(program, params, v.w.length);
    const w = Float64Array.from(v.w);
    const g = Float64Array.from(v.g);
    const m = Float64Array.from(v.m);
    const got = runOne(r, w, g, stateOf(r, m), scheduleFor(params, v.lr));
    const want = referenceStep(k, r.layout, w, g, m, params.b1, params.b2, v.lr, params.lambda);
    for (let i = 0; i < w.length; i++) {
      const err = Math.abs((got.w[i] as number) - (want.w[i] as number)) / Math.max(1, Math.abs(want.w[i] as number));
      if (!(err <= worst)) {
        worst = Number.isNaN(err) ? Infinity : err;
        where = `${v.name} coordinate ${i}: program ${got.w[i]}, formula ${want.w[i]}`;
      }
    }
    // Some returned slot must hold the b2 EMA.
    let bestSlot = Infinity;
    for (const s of got.state) {
      let e = 0;
      for (let i = 0; i < s.length; i++) e = Math.max(e, Math.abs((s[i] as number) - (want.m[i] as number)));
      bestSlot = Math.min(bestSlot, e);
    }
    if (!stateless(params)) worstMomentum = Math.max(worstMomentum, Number.isNaN(bestSlot) ? Infinity : bestSlot);
  }
  const detail =
    `largest |w' program - w' formula| / max(1, |w'|) over V1-V3 at their learning rates with lambda = ${params.lambda}` +
    (worst > 0 ? ` (worst: ${where})` : '') +
    (stateless(params) ? '; no momentum (b1 = b2 = 0)' : `; closest returned state slot to b2*m + (1 - b2)*g differs by ${fmt(worstMomentum)}`);
  return verdict(id, name, Math.max(worst, worstMomentum), TOLERANCES.oneStep, detail);
}

/** Prediction 1: started inside {lambda w in dom K*}, no step leaves it when eta * lambda <= 1. */
export function checkBoxInvariance(program: Program, params: LionKParams, opts: CheckOptions = {}): CheckResult {
  const id: CheckId = 'box-invariance';
  const entry = kEntryOf(params);
  const name = `feasible-set invariance (${entry.feasibleSet})`;
  const na = constraintNotApplicable(id, name, entry, params);
  if (na) return na;
  const dim = opts.dim ?? 8;
  const rng = new Rng(opts.seed ?? 1);
  const r = 1 / params.lambda;
  const runner = makeRunner(program, params, dim);
  const steps = 400;
  let worst = 0;
  let worstKind = '';
  for (const kind of GRADIENT_KINDS) {
    const q = makeBoxQuadratic(rng, dim, params.lambda);
    const grad = gradientSource(kind, q, rng);
    const schedule = constraintSchedule(params, rng);
    let w = pointAtScale(rng, entry.feasibleSet, dim, r, 0.8, 1);
    let state: readonly Float64Array[] = zeroState(runner);
    for (let t = 0; t < steps; t++) {
      const out = runOne(runner, w, grad(w, t), state, schedule(t));
      w = out.w;
      state = out.state;
      for (const e of feasibleExcess(entry.feasibleSet, w, params.lambda, runner.layout)) {
        const rel = Number.isNaN(e) ? Infinity : e / r;
        if (rel > worst) {
          worst = rel;
          worstKind = `${kind} gradients, step ${t}`;
        }
      }
      if (!Number.isFinite(worst)) break;
    }
  }
  const peak = params.lrMultiplier * params.lambda;
  return verdict(
    id,
    name,
    worst,
    TOLERANCES.boxInvariance,
    `largest excess outside the set / (1/lambda) over ${GRADIENT_KINDS.length} gradient sequences x ${steps} steps, ` +
      `started inside near the bound; steps alternate the program's peak lr (eta*lambda = ${fmt(peak)}) and random eta*lambda in [0, 1]` +
      (worst > 0 ? ` (worst: ${worstKind})` : ''),
  );
}

/** Prediction 2: started outside, each excess shrinks at least by 1 - eta * lambda per step. */
export function checkPhase1Contraction(program: Program, params: LionKParams, opts: CheckOptions = {}): CheckResult {
  const id: CheckId = 'phase1-contraction';
  const entry = kEntryOf(params);
  const name = 'phase-1 contraction by 1 - eta*lambda per step';
  const na = constraintNotApplicable(id, name, entry, params);
  if (na) return na;
  const dim = opts.dim ?? 8;
  const rng = new Rng((opts.seed ?? 1) + 1);
  const r = 1 / params.lambda;
  const runner = makeRunner(program, params, dim);
  const steps = 300;
  let worstViolation = 0;
  let worstRatio = 0;
  let measuredSteps = 0;
  for (const kind of GRADIENT_KINDS) {
    const q = makeBoxQuadratic(rng, dim, params.lambda);
    const grad = gradientSource(kind, q, rng);
    const schedule = constraintSchedule(params, rng);
    let w = pointAtScale(rng, entry.feasibleSet, dim, r, 1.5, 5);
    let state: readonly Float64Array[] = zeroState(runner);
    let before = feasibleExcess(entry.feasibleSet, w, params.lambda, runner.layout);
    for (let t = 0; t < steps; t++) {
      const s = schedule(t);
      const factor = 1 - s * params.lrMultiplier * params.lambda;
      const out = runOne(runner, w, grad(w, t), state, s);
      w = out.w;
      state = out.state;
      const after = feasibleExcess(entry.feasibleSet, w, params.lambda, runner.layout);
      for (let i = 0; i < after.length; i++) {
        const e0 = before[i] as number;
        const e1 = after[i] as number;
        if (e0 <= 0) continue;
        measuredSteps++;
        const violation = Number.isNaN(e1) ? Infinity : (e1 - factor * e0) / r;
        worstViolation = Math.max(worstViolation, violation);
        if (factor * e0 > 1e-6 * r) worstRatio = Math.max(worstRatio, e1 / (factor * e0));
      }
      before = after;
    }
  }
  return verdict(
    id,
    name,
    worstViolation,
    TOLERANCES.contraction,
    `largest e(t+1) - (1 - eta*lambda) e(t), relative to 1/lambda, over ${measuredSteps} (step, coordinate) pairs started 1.5-5x outside; ` +
      `worst ratio e(t+1) / ((1 - eta*lambda) e(t)) = ${Number(worstRatio.toPrecision(6))} (1 is the outward-push equality of lion-k.md V3)`,
  );
}

/** Prediction 3: with a decaying lr the iterate converges to argmin f + (1/lambda) K*(lambda x). */
export function checkConstrainedOptimum(program: Program, params: LionKParams, opts: CheckOptions = {}): CheckResult {
  const id: CheckId = 'constrained-optimum';
  const entry = kEntryOf(params);
  const name = 'converges to the constrained optimum';
  if (!(params.lambda > 0)) return notApplicable(id, name, 'no weight decay (lambda = 0): the composite objective is undefined');
  const dim = opts.dim ?? 8;
  const rng = new Rng((opts.seed ?? 1) + 2);
  const r = 1 / params.lambda;
  const k = kFunctions(entry.id, kOptionsOf(params));
  if (!hasCompositeMinimizer(k)) return notApplicable(id, name, `no independent solver for the ${entry.feasibleSet} set`);
  const runner = makeRunner(program, params, dim);
  const q = makeBoxQuadratic(rng, dim, params.lambda);
  const target = compositeMinimizer(k, q, params.lambda, runner.layout);
  const steps = 20_000;
  const eta0 = SMALL_ETA_LAMBDA * r;
  let w: Float64Array = new Float64Array(dim);
  let state: readonly Float64Array[] = zeroState(runner);
  for (let t = 0; t < steps; t++) {
    const eta = eta0 * (1 - t / steps);
    const out = runOne(runner, w, quadGradient(q, w), state, scheduleFor(params, eta));
    w = out.w;
    state = out.state;
  }
  let err = 0;
  for (let i = 0; i < dim; i++) {
    const e = Math.abs((w[i] as number) - (target[i] as number)) / r;
    err = Number.isNaN(e) ? Infinity : Math.max(err, e);
  }
  const active = target.filter((x) => Math.abs(Math.abs(x) - r) < 1e-9 * r).length;
  return verdict(
    id,
    name,
    err,
    TOLERANCES.constrainedOptimum,
    `largest |w_T - x*| / (1/lambda) after ${steps} steps, eta decayed linearly from ${fmt(eta0)} to 0, on a ${dim}-D box quadratic; ` +
      `x* computed independently (${entry.separable ? 'bisection on each coordinate\'s derivative' : 'projected gradient'}); ${active} of ${dim} coordinates on the bound`,
  );
}

/**
 * The discrete Lyapunov function of lion-k.md section 4.2 (implementation sign convention):
 * H_d = f(x) + (1/lambda) K*(lambda x) + kappa [K*(lambda x) + K(m) + lambda <m, x>],
 * kappa = eta b1 / ((1 - b2) + eta lambda (1 - b1)), m the b2 EMA of the gradients.
 */
export function discreteLyapunov(
  k: KFunctions,
  layout: Layout,
  q: BoxQuadratic,
  x: Float64Array,
  m: Float64Array,
  params: LionKParams,
  eta: number,
): number {
  const { b1, b2, lambda } = params;
  const kappa = (eta * b1) / (1 - b2 + eta * lambda * (1 - b1));
  const lx = x.map((v) => lambda * v);
  const ks = k.Kstar(lx, layout);
  let mx = 0;
  for (let i = 0; i < x.length; i++) mx += (m[i] as number) * (x[i] as number);
  return quadValue(q, x) + ks / lambda + kappa * (ks + k.K(m, layout) + lambda * mx);
}

/** Prediction 4 (discrete): H_d non-increasing up to 2 L eta^2 d per step, and H_T < H_0. */
export function checkDiscreteLyapunov(program: Program, params: LionKParams, opts: CheckOptions = {}): CheckResult {
  const id: CheckId = 'lyapunov-discrete';
  const entry = kEntryOf(params);
  const name = 'discrete Lyapunov H_d non-increasing';
  if (!(params.lambda > 0)) return notApplicable(id, name, 'no weight decay (lambda = 0)');
  const dim = opts.dim ?? 8;
  const rng = new Rng((opts.seed ?? 1) + 3);
  const r = 1 / params.lambda;
  const k = kFunctions(entry.id, kOptionsOf(params));
  const runner = makeRunner(program, params, dim);
  const steps = 3000;
  const eta = SMALL_ETA_LAMBDA * r;
  const s = scheduleFor(params, eta);
  let worstIncrease = -Infinity;
  let worstAllowance = 0;
  let worstExcess = -Infinity;
  let endDrop = true;
  const runs = 3;
  for (let run = 0; run < runs; run++) {
    const q = makeBoxQuadratic(rng, dim, params.lambda, LYAPUNOV_CURVATURE);
    const allowance = 2 * quadLipschitz(q) * eta * eta * dim;
    let w = entry.feasibleSet === 'none' ? pointAtScale(rng, 'box', dim, r, 0, 0.9) : pointAtScale(rng, entry.feasibleSet, dim, r, 0, 0.9);
    let state: readonly Float64Array[] = zeroState(runner);
    let m = new Float64Array(dim);
    let h = discreteLyapunov(k, runner.layout, q, w, m, params, eta);
    const h0 = h;
    for (let t = 0; t < steps; t++) {
      const g = quadGradient(q, w);
      const out = runOne(runner, w, g, state, s);
      w = out.w;
      state = out.state;
      m = m.map((v, i) => params.b2 * v + (1 - params.b2) * (g[i] as number));
      const h1 = discreteLyapunov(k, runner.layout, q, w, m, params, eta);
      const inc = Number.isNaN(h1) ? Infinity : h1 - h;
      const tol = allowance + 1e-12 * (Math.abs(h) + 1);
      if (inc - tol > worstExcess) {
        worstExcess = inc - tol;
        worstIncrease = inc;
        worstAllowance = tol;
      }
      h = h1;
    }
    if (!(h < h0)) endDrop = false;
  }
  // Measured: the largest increase relative to the allowance 2 L eta^2 d (+ rounding); must be <= 1.
  const measured = worstAllowance > 0 ? Math.max(0, worstIncrease) / worstAllowance : Infinity;
  return verdict(
    id,
    name,
    endDrop ? measured : Infinity,
    1,
    `largest per-step increase of H_d / (2 L eta^2 d) over ${runs} quadratics x ${steps} steps at eta*lambda = ${SMALL_ETA_LAMBDA} ` +
      `(largest increase ${fmt(worstIncrease)}, allowance ${fmt(worstAllowance)}); H_T < H_0 in every run: ${endDrop ? 'yes' : 'no'}; ` +
      `b1 = ${params.b1}, b2 = ${params.b2}`,
  );
}

/**
 * Prediction 4 (continuous time): dH/dt = <grad H, velocity> <= 0 at random states. The velocity is
 * read off one program step: x' = -update / eta and m' = (m_next - m) / eta are exactly the ODE of
 * lion-k.md section 2.3 with alpha = gamma = (1 - b2) / eta and eps * gamma = 1 - b1.
 */
export function checkContinuousLyapunov(program: Program, params: LionKParams, opts: CheckOptions = {}): CheckResult {
  const id: CheckId = 'lyapunov-continuous';
  const entry = kEntryOf(params);
  const name = 'continuous-time dH/dt <= 0 at random states';
  if (!entry.smooth) return notApplicable(id, name, `K = ${entry.kFormula.replace('K(y) = ', '')} is not differentiable (the theorem is for smooth K)`);
  if (!(params.lambda > 0)) return notApplicable(id, name, 'no weight decay (lambda = 0)');
  const dim = opts.dim ?? 8;
  const rng = new Rng((opts.seed ?? 1) + 4);
  const r = 1 / params.lambda;
  const k = kFunctions(entry.id, kOptionsOf(params));
  const runner = makeRunner(program, params, dim);
  const eta = SMALL_ETA_LAMBDA * r;
  const s = scheduleFor(params, eta);
  const { b1, b2, lambda } = params;
  const alpha = (1 - b2) / eta;
  const gamma = alpha;
  const eps = (eta * (1 - b1)) / (1 - b2);
  const coef = (1 - eps * gamma) / (1 + eps * lambda);
  const states = 4000;
  let worst = -Infinity;
  let positive = 0;
  let problem: BoxQuadratic = makeBoxQuadratic(rng, dim, lambda);
  for (let n = 0; n < states; n++) {
    if (n % 100 === 0) problem = makeBoxQuadratic(rng, dim, lambda);
    const inside = entry.feasibleSet === 'none' ? 3 : 0.98;
    const x = Float64Array.from({ length: dim }, () => r * rng.uniform(-inside, inside));
    const scale = Math.exp(rng.uniform(-3, 2));
    const m = Float64Array.from({ length: dim }, () => scale * rng.normal());
    const g = quadGradient(problem, x);
    const out = runOne(runner, x, g, stateOf(runner, m), s);
    // Momentum velocity from the returned slot that moved like the b2 EMA (the first slot if none did);
    // without momentum (b2 = 0) the "EMA" is g itself.
    let mNext = stateless(params) ? g : (out.state[0] ?? m);
    let best = Infinity;
    for (const slot of stateless(params) ? [] : out.state) {
      let e = 0;
      for (let i = 0; i < dim; i++) e = Math.max(e, Math.abs((slot[i] as number) - (b2 * (m[i] as number) + (1 - b2) * (g[i] as number))));
      if (e < best) {
        best = e;
        mNext = slot;
      }
    }
    const lx = x.map((v) => lambda * v);
    const gks = k.gradKstar(lx, runner.layout);
    const gk = k.gradK(m, runner.layout);
    let dHdt = 0;
    let normX = 0;
    let normV = 0;
    for (let i = 0; i < dim; i++) {
      const xdot = ((out.w[i] as number) - (x[i] as number)) / eta;
      const mdot = ((mNext[i] as number) - (m[i] as number)) / eta;
      const hx = alpha * (g[i] as number) + gamma * (gks[i] as number) + coef * lambda * ((gks[i] as number) + (m[i] as number));
      const hm = coef * ((gk[i] as number) + lambda * (x[i] as number));
      dHdt += hx * xdot + hm * mdot;
      normX += hx * hx + hm * hm;
      normV += xdot * xdot + mdot * mdot;
    }
    const rel = dHdt / (Math.sqrt(normX * normV) || 1);
    const v = Number.isNaN(rel) ? Infinity : rel;
    if (v > 0) positive++;
    worst = Math.max(worst, v);
  }
  return verdict(
    id,
    name,
    worst,
    TOLERANCES.continuous,
    `largest dH/dt / (|grad H| |velocity|) over ${states} random states (lambda*x inside the set, |m| from 0.05 to 7) at eta*lambda = ${SMALL_ETA_LAMBDA}; ` +
      `${positive} states with dH/dt > 0; eps*gamma = 1 - b1 = ${Number((1 - b1).toPrecision(6))}, H coefficient (1 - eps*gamma)/(1 + eps*lambda) = ${Number(coef.toPrecision(4))}`,
  );
}

/** Prediction 6: multiplying every gradient by s > 0 leaves the trajectory bit-identical. */
export function checkScaleInvariance(program: Program, params: LionKParams, opts: CheckOptions = {}): CheckResult {
  const id: CheckId = 'scale-invariance';
  const entry = kEntryOf(params);
  const name = 'gradient-scale invariance (bit-identical trajectory)';
  if (entry.scaleInvariance === 'none') {
    return notApplicable(id, name, `grad K = ${entry.gradFormula} is not invariant to the gradient's scale`);
  }
  const dim = opts.dim ?? 8;
  const rng = new Rng((opts.seed ?? 1) + 5);
  const lambda = params.lambda > 0 ? params.lambda : 1;
  const runner = makeRunner(program, params, dim);
  const q = makeBoxQuadratic(rng, dim, lambda);
  const steps = 300;
  const noise = Array.from({ length: steps }, () => Float64Array.from({ length: dim }, () => rng.normal()));
  const s = scheduleFor(params, SMALL_ETA_LAMBDA / lambda);
  const factors = entry.scaleInvariance === 'exact' ? [2 ** -20, 0.37, 3, 1e4] : [2 ** -20, 0.5, 8, 2 ** 14];
  const trajectory = (scale: number): Float64Array[] => {
    let w = pointAtScale(new Rng(99), entry.feasibleSet === 'none' ? 'box' : entry.feasibleSet, dim, 1 / lambda, 0.2, 1.5);
    let state: readonly Float64Array[] = zeroState(runner);
    const out: Float64Array[] = [];
    for (let t = 0; t < steps; t++) {
      const g = quadGradient(q, w).map((v, i) => scale * (v + ((noise[t] as Float64Array)[i] as number)));
      const o = runOne(runner, w, g, state, s);
      w = o.w;
      state = o.state;
      out.push(w);
    }
    return out;
  };
  const base = trajectory(1);
  let worst = 0;
  let differing = 0;
  for (const f of factors) {
    const t2 = trajectory(f);
    for (let t = 0; t < steps; t++) {
      const a = base[t] as Float64Array;
      const b = t2[t] as Float64Array;
      for (let i = 0; i < dim; i++) {
        if (!Object.is(a[i], b[i])) {
          differing++;
          const d = Math.abs((a[i] as number) - (b[i] as number));
          worst = Math.max(worst, Number.isNaN(d) ? Infinity : d);
        }
      }
    }
  }
  return verdict(
    id,
    name,
    worst,
    0,
    `largest |w(s*g) - w(g)| over ${steps} steps for s in {${factors.map((f) => Number(f.toPrecision(3))).join(', ')}}; ` +
      `${differing} of ${factors.length * steps * dim} weights differ`,
  );
}

export const ALL_CHECKS: readonly { id: CheckId; run(p: Program, params: LionKParams, opts?: CheckOptions): CheckResult }[] = [
  { id: 'one-step-reference', run: (p, params) => checkOneStepReference(p, params) },
  { id: 'box-invariance', run: checkBoxInvariance },
  { id: 'phase1-contraction', run: checkPhase1Contraction },
  { id: 'constrained-optimum', run: checkConstrainedOptimum },
  { id: 'lyapunov-discrete', run: checkDiscreteLyapunov },
  { id: 'lyapunov-continuous', run: checkContinuousLyapunov },
  { id: 'scale-invariance', run: checkScaleInvariance },
];

/** Every check, in a fixed order. */
export function runLionKChecks(program: Program, params: LionKParams, opts: CheckOptions = {}): CheckResult[] {
  return ALL_CHECKS.map((c) => c.run(program, params, opts));
}

