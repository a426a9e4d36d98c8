/**
 * The Float64 reference interpreter: the ground truth that tfjs compilation, simplification and
 * fingerprints are tested against. Values are plain numbers (Scalar) or flat Float64Arrays (Tensor)
 * laid out as in ops.ts; values are never mutated after creation.
 */
import { stateSlots, type Program } from './ast.ts';
import { assertValid } from './check.ts';
import { getOp, makeLayout, type Layout, type OpSpec, type Value } from './ops.ts';

interface PreparedStatement {
  readonly spec: OpSpec;
  /** Register index per argument, or -1 for a constant. */
  readonly argRegs: readonly number[];
  readonly constants: readonly number[];
  readonly target: number;
}

/** A checked program with variables resolved to registers, ready to run many times. */
export interface PreparedProgram {
  readonly program: Program;
  readonly registerCount: number;
  readonly statements: readonly PreparedStatement[];
  readonly outputRegs: readonly number[];
  readonly slotCount: number;
}

export function prepare(p: Program): PreparedProgram {
  assertValid(p);
  const regs = new Map<string, number>();
  const reg = (name: string): number => {
    let r = regs.get(name);
    if (r === undefined) {
      r = regs.size;
      regs.set(name, r);
    }
    return r;
  };
  p.inputs.forEach(reg);
  const statements = p.statements.map((s) => {
    const argRegs = s.args.map((a) => (a.kind === 'var' ? (regs.get(a.name) as number) : -1));
    const constants = s.args.map((a) => (a.kind === 'num' ? a.value : 0));
    return { spec: getOp(s.op) as OpSpec, argRegs, constants, target: reg(s.target) };
  });
  return {
    program: p,
    registerCount: regs.size,
    statements,
    outputRegs: p.outputs.map((o) => regs.get(o) as number),
    slotCount: stateSlots(p).length,
  };
}

function applyElementwise(f: (...x: number[]) => number, args: readonly Value[], total: number): Value {
  let anyTensor = false;
  for (const a of args) if (typeof a !== 'number') anyTensor = true;
  if (!anyTensor) return f(...(args as number[]));
  const out = new Float64Array(total);
  if (args.length === 1) {
    const a = args[0] as Float64Array;
    for (let i = 0; i < total; i++) out[i] = f(a[i] as number);
    return out;
  }
  if (args.length === 2) {
    const a = args[0] as Value;
    const b = args[1] as Value;
    if (typeof a === 'number') {
      const bt = b as Float64Array;
      for (let i = 0; i < total; i++) out[i] = f(a, bt[i] as number);
    } else if (typeof b === 'number') {
      for (let i = 0; i < total; i++) out[i] = f(a[i] as number, b);
    } else {
      for (let i = 0; i < total; i++) out[i] = f(a[i] as number, b[i] as number);
    }
    return out;
  }
  if (args.length === 3) {
    // interp, clip-like ternaries: no spread per element (the generic path below is 3x slower)
    const a = args[0] as Value;
    const b = args[1] as Value;
    const c = args[2] as Value;
    const sa = typeof a === 'number';
    const sb = typeof b === 'number';
    const sc = typeof c === 'number';
    for (let i = 0; i < total; i++) {
      out[i] = f(sa ? a : (a[i] as number), sb ? b : (b[i] as number), sc ? c : (c[i] as number));
    }
    return out;
  }
  const buf: number[] = new Array(args.length);
  for (let i = 0; i < total; i++) {
    for (let j = 0; j < args.length; j++) {
      const a = args[j] as Value;
      buf[j] = typeof a === 'number' ? a : (a[i] as number);
    }
    out[i] = f(...buf);
  }
  return out;
}

export function applyOp(spec: OpSpec, args: readonly Value[], layout: Layout): Value {
  const sem = spec.semantics;
  return sem.type === 'elementwise' ? applyElementwise(sem.f, args, layout.total) : sem.f(args, layout);
}

export interface StepInput {
  readonly w: Float64Array;
  readonly g: Float64Array;
  /** One Float64Array per state slot, in the order of the program's inputs. */
  readonly state: readonly Float64Array[];
  readonly lr: number;
}

export interface StepOutput {
  /** The update; a Scalar update broadcasts over every weight. */
  readonly update: Value;
  readonly state: readonly Float64Array[];
}

/** One call of the program: (w, g, state, lr) -> (update, state'). */
export function step(prep: PreparedProgram, input: StepInput, layout: Layout): StepOutput {
  if (input.state.length !== prep.slotCount) {
    throw new RangeError(`program has ${prep.slotCount} state slots, got ${input.state.length}`);
  }
  // A length mismatch would otherwise read undefined elements and turn silently into NaN.
  const checkLength = (what: string, x: Float64Array): void => {
    if (x.length !== layout.total) throw new RangeError(`${what} has ${x.length} elements, the layout has ${layout.total}`);
  };
  checkLength('w', input.w);
  checkLength('g', input.g);
  input.state.forEach((s, i) => checkLength(`state slot ${i + 1}`, s));
  const r: Value[] = new Array(prep.registerCount);
  r[0] = input.w;
  r[1] = input.g;
  for (let i = 0; i < prep.slotCount; i++) r[2 + i] = input.state[i] as Float64Array;
  r[2 + prep.slotCount] = input.lr;
  const args: Value[] = [];
  for (const s of prep.statements) {
    args.length = s.argRegs.length;
    for (let j = 0; j < s.argRegs.length; j++) {
      const ri = s.argRegs[j] as number;
      args[j] = ri < 0 ? (s.constants[j] as number) : (r[ri] as Value);
    }
    r[s.target] = applyOp(s.spec, args, layout);
  }
  const update = r[prep.outputRegs[0] as number] as Value;
  const state: Float64Array[] = [];
  for (let i = 1; i < prep.outputRegs.length; i++) state.push(r[prep.outputRegs[i] as number] as Float64Array);
  return { update, state };
}

/** w - update, broadcasting a Scalar update. */
export function applyUpdate(w: Float64Array, update: Value): Float64Array {
  const out = new Float64Array(w.length);
  if (typeof update === 'number') for (let i = 0; i < w.length; i++) out[i] = (w[i] as number) - update;
  else for (let i = 0; i < w.length; i++) out[i] = (w[i] as number) - (update[i] as number);
  return out;
}

export interface RunOptions {
  readonly layout: Layout;
  readonly w0: Float64Array;
  readonly steps: number;
  /** Gradient at the current weights for step t (0-based). */
  readonly gradient: (w: Float64Array, t: number) => Float64Array;
  /** Learning-rate schedule value for step t; defaults to 1. */
  readonly schedule?: (t: number) => number;
  /** Called after each step with the new weights. */
  readonly onStep?: (t: number, w: Float64Array, state: readonly Float64Array[]) => void;
}

export interface RunResult {
  readonly w: Float64Array;
  readonly state: readonly Float64Array[];
}

/** k steps of w = w - update with state carried, starting from zero state. */
export function runSteps(p: Program | PreparedProgram, opts: RunOptions): RunResult {
  const prep = 'registerCount' in p ? p : prepare(p);
  let w = opts.w0;
  let state: readonly Float64Array[] = Array.from({ length: prep.slotCount }, () => new Float64Array(opts.layout.total));
  for (let t = 0; t < opts.steps; t++) {
    const g = opts.gradient(w, t);
    const lr = opts.schedule ? opts.schedule(t) : 1;
    const out = step(prep, { w, g, state, lr }, opts.layout);
    w = applyUpdate(w, out.update);
    state = out.state;
    opts.onStep?.(t, w, state);
  }
  return { w, state };
}

/** Convenience for a single leaf of n weights. */
export function singleLeaf(n: number): Layout {
  return makeLayout([n]);
}
