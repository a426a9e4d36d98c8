/**
 * A checked program becomes a tfjs update step. The program's Tensor is the list of a model's weight
 * tensors (one leaf per weight tensor); element-wise ops run per leaf, reductions over all leaves.
 * Semantics follow src/dsl/ops.ts (the Float64 interpreter is the ground truth); values are float32.
 *
 * Values during a step:
 *  - a JS number for a Scalar known on the host (literals, lr and anything computed from them only:
 *    those are evaluated with the op table's own Float64 semantics, so they match the interpreter);
 *  - a rank-0 tf tensor for a Scalar that depends on tensors (global_norm, dot, ...);
 *  - an array of tf tensors, one per leaf, for a Tensor.
 * Nothing from the program text is evaluated as code: the AST is resolved to register indices and
 * op lowerings looked up by name in LOWERING.
 */
import type { Tensor, Variable } from '@tensorflow/tfjs';
import type { Program } from '../dsl/ast.ts';
import { applyOp, prepare } from '../dsl/interpret.ts';
import { EPS, makeLayout, type Layout, type OpName, type OpSpec } from '../dsl/ops.ts';
import type { Tf } from './tf.ts';

export type TensorValue = { readonly kind: 'tensor'; readonly leaves: readonly Tensor[] };
export type ScalarTensorValue = { readonly kind: 'scalar'; readonly t: Tensor };
export type StepValue = number | ScalarTensorValue | TensorValue;

/** Host number -> a scalar tensor, created once per step and shared by every leaf. */
export type ScalarMemo = (n: number) => Tensor;

export type Lowering =
  /** Element-wise: called once per leaf (or once on scalar tensors); host numbers arrive as scalar tensors. */
  | { readonly type: 'ew'; readonly f: (tf: Tf, ...x: Tensor[]) => Tensor }
  /** Whole-value ops (reductions, per-leaf norms, ops that fold host constants). Arguments are never all host numbers. */
  | { readonly type: 'custom'; readonly f: (tf: Tf, args: readonly StepValue[], k: ScalarMemo) => StepValue };

const ew = (f: (tf: Tf, ...x: Tensor[]) => Tensor): Lowering => ({ type: 'ew', f });
const custom = (f: (tf: Tf, args: readonly StepValue[], k: ScalarMemo) => StepValue): Lowering => ({ type: 'custom', f });

/** Applies f leaf by leaf (or once when no argument is a Tensor); numbers become memoised scalars. */
function mapLeaves(args: readonly StepValue[], k: ScalarMemo, f: (...x: Tensor[]) => Tensor): StepValue {
  let leafCount = -1;
  for (const a of args) if (typeof a !== 'number' && a.kind === 'tensor') leafCount = a.leaves.length;
  const ops: Tensor[] = args.map((a) => (typeof a === 'number' ? k(a) : a.kind === 'scalar' ? a.t : (a.leaves[0] as Tensor)));
  if (leafCount < 0) return { kind: 'scalar', t: f(...ops) };
  const leaves: Tensor[] = new Array(leafCount);
  for (let l = 0; l < leafCount; l++) {
    for (let j = 0; j < args.length; j++) {
      const a = args[j] as StepValue;
      if (typeof a !== 'number' && a.kind === 'tensor') ops[j] = a.leaves[l] as Tensor;
    }
    leaves[l] = f(...ops);
  }
  return { kind: 'tensor', leaves };
}

function leavesOf(v: StepValue | undefined): readonly Tensor[] {
  if (v === undefined || typeof v === 'number' || v.kind !== 'tensor') throw new TypeError('expected a Tensor value');
  return v.leaves;
}

/** A Scalar argument as a tensor. */
function scalarOperand(v: StepValue | undefined, k: ScalarMemo): Tensor {
  if (typeof v === 'number') return k(v);
  if (v === undefined || v.kind !== 'scalar') throw new TypeError('expected a Scalar value');
  return v.t;
}

function sumSquaresAll(tf: Tf, leaves: readonly Tensor[]): Tensor {
  const parts = leaves.map((l) => tf.sum(tf.square(l)));
  return parts.length === 1 ? (parts[0] as Tensor) : tf.addN(parts);
}

function dotAll(tf: Tf, a: readonly Tensor[], b: readonly Tensor[]): Tensor {
  const parts = a.map((l, i) => tf.sum(tf.mul(l, b[i] as Tensor)));
  return parts.length === 1 ? (parts[0] as Tensor) : tf.addN(parts);
}

/**
 * sign with sign(0) = 0 and NaN kept NaN. tf.sign is not used: it maps NaN to 0 on every backend,
 * and on wasm it returns 0 for |x| below about 1e-6 (measured), which would stall Lion-like rules.
 * step(x) is 1 for x > 0, 0 otherwise, and keeps NaN.
 */
function signExact(tf: Tf, x: Tensor): Tensor {
  return tf.sub(tf.step(x), tf.step(tf.neg(x)));
}

const LN2 = Math.LN2;
const LN10 = Math.LN10;

/** The tfjs lowering of every op. Keyed by OpName: an op missing here is a type error. */
export const LOWERING: Record<OpName, Lowering> = {
  get_pi: custom(() => Math.PI),
  get_e: custom(() => Math.E),
  get_eps: custom(() => EPS),

  add: ew((tf, a, b) => tf.add(a, b)),
  sub: ew((tf, a, b) => tf.sub(a, b)),
  mul: ew((tf, a, b) => tf.mul(a, b)),
  // a constant divisor is folded on the host: one op per leaf
  div: custom((tf, [a, b], k) =>
    typeof b === 'number'
      ? mapLeaves([a as StepValue], k, (x) => tf.div(x, k(b + EPS)))
      : mapLeaves([a as StepValue, b as StepValue], k, (x, y) => tf.div(x, tf.add(y, EPS))),
  ),
  max: ew((tf, a, b) => tf.maximum(a, b)),
  min: ew((tf, a, b) => tf.minimum(a, b)),
  power: ew((tf, a, b) => tf.pow(a, b)),

  abs: ew((tf, x) => tf.abs(x)),
  cos: ew((tf, x) => tf.cos(x)),
  sin: ew((tf, x) => tf.sin(x)),
  tan: ew((tf, x) => tf.tan(x)),
  arcsin: ew((tf, x) => tf.asin(x)),
  arccos: ew((tf, x) => tf.acos(x)),
  arctan: ew((tf, x) => tf.atan(x)),
  sinh: ew((tf, x) => tf.sinh(x)),
  cosh: ew((tf, x) => tf.cosh(x)),
  tanh: ew((tf, x) => tf.tanh(x)),
  arcsinh: ew((tf, x) => tf.asinh(x)),
  arccosh: ew((tf, x) => tf.acosh(x)),
  arctanh: ew((tf, x) => tf.atanh(x)),
  exp: ew((tf, x) => tf.exp(x)),
  exp2: ew((tf, x) => tf.exp(tf.mul(x, LN2))),
  exp10: ew((tf, x) => tf.exp(tf.mul(x, LN10))),
  expm1: ew((tf, x) => tf.expm1(x)),
  log: ew((tf, x) => tf.log(tf.abs(x))),
  log10: ew((tf, x) => tf.div(tf.log(tf.abs(x)), LN10)),
  log2: ew((tf, x) => tf.div(tf.log(tf.abs(x)), LN2)),
  // ln|1 + x|: log1p where it is accurate (x > -1), the guarded form below.
  log1p: ew((tf, x) => {
    const t = x;
    return tf.where(tf.greater(t, -1), tf.log1p(t), tf.log(tf.abs(tf.add(t, 1))));
  }),
  square: ew((tf, x) => tf.square(x)),
  sqrt: ew((tf, x) => tf.sqrt(tf.abs(x))),
  cube: ew((tf, x) => tf.mul(tf.mul(x, x), x)),
  cbrt: ew((tf, x) => {
    const t = x;
    return tf.mul(signExact(tf, t), tf.pow(tf.abs(t), 1 / 3));
  }),
  sign: ew((tf, x) => signExact(tf, x)),
  reciprocal: ew((tf, x) => tf.reciprocal(x)),
  negative: ew((tf, x) => tf.neg(x)),
  norm: custom((tf, [x]) => {
    if (typeof x === 'number') return Math.abs(x);
    if (x?.kind === 'scalar') return { kind: 'scalar', t: tf.abs(x.t) };
    return { kind: 'tensor', leaves: leavesOf(x).map((l) => tf.broadcastTo(tf.norm(l), l.shape)) };
  }),

  interp: custom((tf, [x, y, w], k) => {
    // a constant weight is folded on the host: (1 - w) and w are memoised scalars
    const wt = typeof w === 'number' ? k(w) : scalarOperand(w, k);
    const vt = typeof w === 'number' ? k(1 - w) : tf.sub(1, wt);
    return mapLeaves([x as StepValue, y as StepValue], k, (a, b) => tf.add(tf.mul(a, vt), tf.mul(b, wt)));
  }),
  clip: custom((tf, [t, c], k) => {
    const leaves = leavesOf(t);
    const cv = scalarOperand(c, k);
    const gn = tf.sqrt(sumSquaresAll(tf, leaves));
    // unchanged when the norm is 0 or at most c (a NaN c scales by NaN, as in the interpreter)
    const keep = tf.logicalOr(tf.equal(gn, 0), tf.lessEqual(gn, cv));
    const factor = tf.where(keep, tf.onesLike(gn), tf.div(cv, gn));
    return { kind: 'tensor', leaves: leaves.map((l) => tf.mul(l, factor)) };
  }),
  global_norm: custom((tf, [t]) => ({ kind: 'scalar', t: tf.sqrt(sumSquaresAll(tf, leavesOf(t))) })),
  dot: custom((tf, [a, b]) => ({ kind: 'scalar', t: dotAll(tf, leavesOf(a), leavesOf(b)) })),
  cosine_sim: custom((tf, [a, b]) => {
    const x = leavesOf(a);
    const y = leavesOf(b);
    const denom = tf.add(tf.mul(tf.sqrt(sumSquaresAll(tf, x)), tf.sqrt(sumSquaresAll(tf, y))), EPS);
    return { kind: 'scalar', t: tf.div(dotAll(tf, x, y), denom) };
  }),

  unit_clip: ew((tf, x) => {
    const t = x;
    // clipByValue maps NaN to a bound on some backends; keep NaN as the interpreter does.
    return tf.where(tf.isNaN(t), t, tf.clipByValue(t, -1, 1));
  }),
  rel_sign: ew((tf, x) => tf.div(x, tf.sqrt(tf.add(tf.square(x), 1)))),
  l2_normalize: custom((tf, [t]) => {
    const leaves = leavesOf(t);
    const gn = tf.sqrt(sumSquaresAll(tf, leaves));
    const factor = tf.where(tf.equal(gn, 0), tf.zerosLike(gn), tf.div(1, gn));
    return { kind: 'tensor', leaves: leaves.map((l) => tf.mul(l, factor)) };
  }),
  thresh_sign: ew((tf, x, e) => {
    const a = tf.abs(x);
    const inside = tf.where(tf.lessEqual(a, e), tf.zerosLike(a), tf.fill(a.shape, NaN));
    return tf.where(tf.greater(a, e), signExact(tf, x), inside);
  }),
  // the same value under another name; a clone (no copy of the data) keeps every op's result a tensor of its own
  copy: custom((tf, [x]) => {
    const v = x as StepValue;
    if (typeof v === 'number') return v;
    return v.kind === 'scalar' ? { kind: 'scalar', t: tf.clone(v.t) } : { kind: 'tensor', leaves: v.leaves.map((l) => tf.clone(l)) };
  }),
};

interface CompiledStatement {
  readonly spec: OpSpec;
  readonly lowering: Lowering;
  /** Register index per argument, or -1 for a literal. */
  readonly argRegs: readonly number[];
  readonly literals: readonly number[];
  readonly target: number;
}

/** A checked program resolved to registers; independent of any tensors. */
export interface LoweredProgram {
  readonly program: Program;
  readonly slotCount: number;
  readonly registerCount: number;
  readonly statements: readonly CompiledStatement[];
  readonly outputRegs: readonly number[];
}

export function lowerProgram(program: Program): LoweredProgram {
  // Registers as the reference interpreter assigns them (it also checks the program).
  const prep = prepare(program);
  const statements = prep.statements.map((st) => {
    const lowering = (LOWERING as Record<string, Lowering | undefined>)[st.spec.name];
    if (!lowering) throw new Error(`op '${st.spec.name}' has no tfjs lowering`);
    return { spec: st.spec, lowering, argRegs: st.argRegs, literals: st.constants, target: st.target };
  });
  return { program, slotCount: prep.slotCount, registerCount: prep.registerCount, statements, outputRegs: prep.outputRegs };
}

const SCALAR_LAYOUT: Layout = makeLayout([1]);

function applyLowering(tf: Tf, st: CompiledStatement, args: readonly StepValue[], k: ScalarMemo): StepValue {
  // All-host scalars: the op table's own Float64 semantics (exactly the interpreter's).
  if (args.every((a) => typeof a === 'number')) return applyOp(st.spec, args as number[], SCALAR_LAYOUT) as number;
  const low = st.lowering;
  if (low.type === 'custom') return low.f(tf, args, k);
  return mapLeaves(args, k, (...x) => low.f(tf, ...x));
}

export interface StepInputs {
  readonly w: readonly Tensor[];
  readonly g: readonly Tensor[];
  /** state[slot][leaf] */
  readonly state: readonly (readonly Tensor[])[];
  readonly lr: number;
}

export interface StepOutputs {
  readonly update: StepValue;
  /** state[slot][leaf] */
  readonly state: readonly (readonly Tensor[])[];
}

/**
 * One call of the program on tf tensors. Call inside tf.tidy: intermediate tensors are not
 * disposed here.
 */
export function runLowered(tf: Tf, lp: LoweredProgram, inputs: StepInputs): StepOutputs {
  if (inputs.state.length !== lp.slotCount) throw new RangeError(`program has ${lp.slotCount} state slots, got ${inputs.state.length}`);
  const r: StepValue[] = new Array(lp.registerCount);
  r[0] = { kind: 'tensor', leaves: inputs.w };
  r[1] = { kind: 'tensor', leaves: inputs.g };
  for (let i = 0; i < lp.slotCount; i++) r[2 + i] = { kind: 'tensor', leaves: inputs.state[i] as Tensor[] };
  r[2 + lp.slotCount] = inputs.lr;
  // keyed so that -0 and 0 stay distinct (1 / -0 is -Infinity)
  const memo = new Map<number | string, Tensor>();
  const k: ScalarMemo = (n) => {
    const key = Object.is(n, -0) ? '-0' : n;
    let t = memo.get(key);
    if (t === undefined) {
      t = tf.scalar(n);
      memo.set(key, t);
    }
    return t;
  };
  const args: StepValue[] = [];
  for (const st of lp.statements) {
    args.length = st.argRegs.length;
    for (let j = 0; j < st.argRegs.length; j++) {
      const ri = st.argRegs[j] as number;
      args[j] = ri < 0 ? (st.literals[j] as number) : (r[ri] as StepValue);
    }
    r[st.target] = applyLowering(tf, st, args, k);
  }
  const update = r[lp.outputRegs[0] as number] as StepValue;
  const state: (readonly Tensor[])[] = [];
  for (let i = 1; i < lp.outputRegs.length; i++) state.push(leavesOf(r[lp.outputRegs[i] as number]));
  return { update, state };
}

/** A program bound to a model's weight variables, with its own state variables. */
export interface CompiledStep {
  readonly slotCount: number;
  /** One step: runs the program on (w, g, state, lr), then w = w - update and state = state'. */
  apply(grads: readonly Tensor[], lr: number): void;
  /** Current state variables, state[slot][leaf]. */
  readonly state: readonly (readonly Variable[])[];
  dispose(): void;
}

export function compileProgram(tf: Tf, program: Program | LoweredProgram, weights: readonly Variable[]): CompiledStep {
  const lp = 'registerCount' in program ? program : lowerProgram(program);
  // Created inside tidy so the zero initialisers do not leak (platform.md 3.5).
  const state: Variable[][] = Array.from({ length: lp.slotCount }, () =>
    weights.map((w) => tf.tidy(() => tf.variable(tf.zerosLike(w), false))),
  );
  let disposed = false;
  const live = new Set<Tensor>([...weights, ...state.flat()]);
  return {
    slotCount: lp.slotCount,
    state,
    apply(grads, lr) {
      if (disposed) throw new Error('compiled step used after dispose');
      if (grads.length !== weights.length) throw new RangeError(`expected ${weights.length} gradients, got ${grads.length}`);
      tf.tidy(() => {
        const out = runLowered(tf, lp, { w: weights, g: grads, state, lr });
        const u = out.update;
        // Compute every new value before assigning any: an output may be an input variable itself
        // (return update, v, m swaps slots; a slot may return w), and must keep its old value.
        const newState = out.state.map((leaves, s) =>
          leaves.map((t, l) => {
            const v = (state[s] as Variable[])[l] as Variable;
            if (t === v) return undefined;
            if (t.shape.length !== v.shape.length) return tf.broadcastTo(t, v.shape);
            return live.has(t) ? tf.clone(t) : t;
          }),
        );
        const newWeights = weights.map((w, l) =>
          tf.sub(w, typeof u === 'number' ? u : u.kind === 'scalar' ? u.t : (u.leaves[l] as Tensor)),
        );
        newWeights.forEach((t, l) => (weights[l] as Variable).assign(t));
        newState.forEach((leaves, s) =>
          leaves.forEach((t, l) => {
            if (t) ((state[s] as Variable[])[l] as Variable).assign(t);
          }),
        );
      });
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const vars of state) for (const v of vars) v.dispose();
    },
  };
}
