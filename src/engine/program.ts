/**
 * A checked program as one WebAssembly update step over every parameter of four runs at once (the
 * four lanes of each f32x4): (base, lr) -> (), reading w, g and the state slots from a lane group's
 * region at `base` and writing w - c * update and the new state back. c is each lane's lr multiplier,
 * so one compiled program serves every lane (as scaleUpdate appends `update = update * c`).
 *
 * Element-wise statements are fused into loops over the parameters (per leaf, so per-leaf norms
 * broadcast); a reduction accumulates (in f64) inside the loop that computes its argument and its
 * result is ready for the next loop. Values live in locals within a loop; a Tensor needed by a
 * later loop is kept in a buffer of the region. Every op follows the Float64 interpreter's formula
 * (protected division adds 1e-8 to the denominator, sign(NaN) is NaN, ...), in float32; the
 * transcendental ones go through math.ts.
 */
import type { Program } from '../dsl/ast.ts';
import { assertValid } from '../dsl/check.ts';
import { EPS, type Kind, type OpName } from '../dsl/ops.ts';
import { f32s, get, op, select, type Ex, MathLib, type UnaryMath } from './math.ts';
import { ModuleBuilder, type Code, type Local } from './wasm.ts';

/** Where a lane group's update reads and writes, relative to its base address (bytes, 16-aligned). */
export interface UpdateRegion {
  /** Elements per leaf (one per weight tensor); each element is one v128 (four lanes). */
  readonly leaves: readonly number[];
  readonly w: number;
  readonly g: number;
  readonly slots: readonly number[];
  /** The lanes' lr multipliers (one v128). */
  readonly multiplier: number;
  /** After a step: each lane's sum of update * 0 (NaN when the update had a NaN or an infinity). */
  readonly flag: number;
  /** Reserves a buffer of the region for a value that lives across loops; returns its offset. */
  alloc(bytes: number): number;
}

const add32 = (a: Ex, b: Ex) => op('f32x4.add', a, b);
const sub32 = (a: Ex, b: Ex) => op('f32x4.sub', a, b);
const mul32 = (a: Ex, b: Ex) => op('f32x4.mul', a, b);
const div32 = (a: Ex, b: Ex) => op('f32x4.div', a, b);
const gt32 = (a: Ex, b: Ex) => op('f32x4.gt', a, b);
const lt32 = (a: Ex, b: Ex) => op('f32x4.lt', a, b);
const and = (a: Ex, b: Ex) => op('v128.and', a, b);
const or = (a: Ex, b: Ex) => op('v128.or', a, b);
const isNan32 = (x: Ex) => op('f32x4.ne', x, x);

/** sign(x) as the interpreter defines it: 1, -1, 0 for +-0, NaN for NaN. */
function sign32(x: Ex): Ex {
  return select(isNan32(x), x, or(and(gt32(x, f32s(0)), f32s(1)), and(lt32(x, f32s(0)), f32s(-1))));
}

type Elementwise = (args: readonly Ex[], lib: MathLib) => Ex;
type Reduction = 'global_norm' | 'dot' | 'cosine_sim' | 'norm' | 'clip' | 'l2_normalize';
type Lowering = { readonly type: 'elementwise'; readonly emit: Elementwise } | { readonly type: 'reduction'; readonly reduction: Reduction };

const ew = (emit: Elementwise): Lowering => ({ type: 'elementwise', emit });
const mathOp = (name: UnaryMath): Lowering =>
  ew(([x], lib) => {
    const idx = lib.unary(name);
    return (c) => {
      x!(c);
      c.call(idx);
    };
  });
const red = (reduction: Reduction): Lowering => ({ type: 'reduction', reduction });

/** How every op of the language becomes code; keyed by OpName, so an op missing here fails to compile. */
export const LOWERING: Record<OpName, Lowering> = {
  get_pi: ew(() => f32s(Math.PI)),
  get_e: ew(() => f32s(Math.E)),
  get_eps: ew(() => f32s(EPS)),
  add: ew(([a, b]) => add32(a!, b!)),
  sub: ew(([a, b]) => sub32(a!, b!)),
  mul: ew(([a, b]) => mul32(a!, b!)),
  div: ew(([a, b]) => div32(a!, add32(b!, f32s(EPS)))),
  max: ew(([a, b]) => op('f32x4.max', a!, b!)),
  min: ew(([a, b]) => op('f32x4.min', a!, b!)),
  power: ew(([a, b], lib) => {
    const idx = lib.pow();
    return (c) => {
      a!(c);
      b!(c);
      c.call(idx);
    };
  }),
  abs: ew(([x]) => op('f32x4.abs', x!)),
  cos: mathOp('cos'),
  sin: mathOp('sin'),
  tan: mathOp('tan'),
  arcsin: mathOp('arcsin'),
  arccos: mathOp('arccos'),
  arctan: mathOp('arctan'),
  sinh: mathOp('sinh'),
  cosh: mathOp('cosh'),
  tanh: mathOp('tanh'),
  arcsinh: mathOp('arcsinh'),
  arccosh: mathOp('arccosh'),
  arctanh: mathOp('arctanh'),
  exp: mathOp('exp'),
  exp2: mathOp('exp2'),
  exp10: mathOp('exp10'),
  expm1: mathOp('expm1'),
  log: mathOp('log'),
  log10: mathOp('log10'),
  log2: mathOp('log2'),
  log1p: mathOp('log1p'),
  square: ew(([x]) => mul32(x!, x!)),
  sqrt: ew(([x]) => op('f32x4.sqrt', op('f32x4.abs', x!))),
  cube: ew(([x]) => mul32(mul32(x!, x!), x!)),
  cbrt: mathOp('cbrt'),
  sign: ew(([x]) => sign32(x!)),
  reciprocal: ew(([x]) => div32(f32s(1), x!)),
  negative: ew(([x]) => op('f32x4.neg', x!)),
  norm: red('norm'),
  interp: ew(([x, y, w]) => add32(mul32(sub32(f32s(1), w!), x!), mul32(w!, y!))),
  clip: red('clip'),
  global_norm: red('global_norm'),
  dot: red('dot'),
  cosine_sim: red('cosine_sim'),
  unit_clip: ew(([x]) => op('f32x4.min', op('f32x4.max', x!, f32s(-1)), f32s(1))),
  rel_sign: ew(([x]) =>
    select(
      op('f32x4.le', op('f32x4.abs', x!), f32s(1)),
      div32(x!, op('f32x4.sqrt', add32(f32s(1), mul32(x!, x!)))),
      div32(sign32(x!), op('f32x4.sqrt', add32(f32s(1), div32(f32s(1), mul32(x!, x!))))),
    ),
  ),
  l2_normalize: red('l2_normalize'),
  thresh_sign: ew(([x, e]) => {
    // sign(x) above e, 0 within, NaN when neither comparison holds (a NaN x or e)
    const ax = op('f32x4.abs', x!);
    return select(gt32(ax, e!), sign32(x!), select(op('f32x4.le', ax, e!), f32s(0), f32s(NaN)));
  }),
  copy: ew(([x]) => x!),
};

// --- scheduling ---------------------------------------------------------------------------------

interface Value {
  readonly kind: Kind;
  /** Tensor: the loop that computes it (inputs: 0). Scalar: the first loop before which it is ready. */
  level: number;
  /** Tensor inputs and buffered values: offset in the region. */
  buffer?: number;
  /** Scalar: its local. */
  local?: Local;
  /** Tensor produced by a per-leaf broadcast (norm): the per-leaf scalars. */
  perLeaf?: Local[];
  /** Last loop that reads it. */
  lastRead: number;
}

interface Accumulator {
  readonly lo: Local;
  readonly hi: Local;
}

type Node =
  | { type: 'tensor' | 'scalar'; out: number; args: number[]; emit: (args: readonly Ex[]) => Ex }
  /**
   * Sums in f64 over all leaves or per leaf: of[k] = [x] sums x^2, [a, b] sums a b; finish writes
   * the finished scalars (per leaf: the leaf's) from the accumulators.
   */
  | { type: 'reduce'; args: number[]; perLeaf: boolean; of: number[][]; finish: (c: Code, acc: readonly Accumulator[], leaf: number) => void };

export interface CompiledUpdate {
  /** Index of the update function: (base: i32, lr: f32) -> (). */
  readonly fn: number;
  readonly slotCount: number;
}

const f64k = (v: number): Ex => (c) => void c.f64x2(v);
const halfOf = (a: Accumulator, h: 0 | 1): Ex => get(h === 0 ? a.lo : a.hi);

/**
 * Emits the update step of `program` (checked here; throws a DslError when invalid) into the module
 * as function `name`. All buffers hold sum(leaves) v128 elements.
 */
export function emitUpdate(mb: ModuleBuilder, lib: MathLib, program: Program, region: UpdateRegion, name = 'update'): CompiledUpdate {
  const check = assertValid(program);
  const slotCount = program.inputs.length - 3;
  if (region.slots.length !== slotCount) throw new Error(`the region has ${region.slots.length} state slots, the program ${slotCount}`);
  const c = mb.func(name, ['i32', 'f32'], []);
  const base = c.param(0);
  const lrParam = c.param(1);
  const total = region.leaves.reduce((a, b) => a + b, 0);
  const values: Value[] = [];
  const names = new Map<string, number>();
  const newValue = (kind: Kind, level: number): number => {
    values.push({ kind, level, lastRead: -1, local: kind === 'scalar' ? c.local('v128') : undefined });
    return values.length - 1;
  };
  const val = (id: number): Value => values[id] as Value;
  // inputs: w, g, slots (tensors in the region), lr (a scalar); then the lanes' multipliers
  program.inputs.forEach((input, i) => {
    const isLr = i === program.inputs.length - 1;
    const id = newValue(isLr ? 'scalar' : 'tensor', 0);
    if (!isLr) val(id).buffer = i === 0 ? region.w : i === 1 ? region.g : (region.slots[i - 2] as number);
    names.set(input, id);
  });
  const lrId = program.inputs.length - 1;
  const multiplierId = newValue('scalar', 0);

  const nodes: Node[] = [];
  const levelOf = (ids: readonly number[]): number => Math.max(0, ...ids.map((i) => val(i).level));
  const tensorsOf = (ids: readonly number[]): number[] => ids.filter((a) => val(a).kind === 'tensor');

  /** A reduction of Tensor arguments: accumulated in their loop, its scalars ready for the next. */
  const reduce = (args: number[], of: number[][], perLeaf: boolean, finish: (c: Code, acc: readonly Accumulator[], leaf: number) => void): number => {
    nodes.push({ type: 'reduce', args, perLeaf, of, finish });
    return levelOf(args) + 1;
  };
  const lowerReduction = (r: Reduction, args: number[], kind: Kind): number => {
    if (r === 'norm' && kind === 'scalar') {
      const out = newValue('scalar', levelOf(args));
      nodes.push({ type: 'scalar', out, args, emit: ([x]) => op('f32x4.abs', x!) });
      return out;
    }
    const [a, b] = args as [number, number | undefined];
    if (r === 'global_norm' || r === 'dot' || r === 'cosine_sim') {
      const out = newValue('scalar', 0);
      const of = r === 'global_norm' ? [[a]] : r === 'dot' ? [[a, b!]] : [[a, b!], [a], [b!]];
      val(out).level = reduce(tensorsOf(args), of, false, (cc, acc) => {
        const result = (h: 0 | 1): Ex => {
          if (r === 'global_norm') return op('f64x2.sqrt', halfOf(acc[0]!, h));
          if (r === 'dot') return halfOf(acc[0]!, h);
          const norms = op('f64x2.mul', op('f64x2.sqrt', halfOf(acc[1]!, h)), op('f64x2.sqrt', halfOf(acc[2]!, h)));
          return op('f64x2.div', halfOf(acc[0]!, h), op('f64x2.add', norms, f64k(EPS)));
        };
        pack(cc, result(0), result(1));
        cc.set(val(out).local!);
      });
      return out;
    }
    if (r === 'norm') {
      // each leaf's norm, broadcast over the leaf
      const leafNorms = region.leaves.map(() => c.local('v128'));
      const out = newValue('tensor', 0);
      val(out).perLeaf = leafNorms;
      val(out).level = reduce([a], [[a]], true, (cc, acc, leaf) => {
        pack(cc, op('f64x2.sqrt', halfOf(acc[0]!, 0)), op('f64x2.sqrt', halfOf(acc[0]!, 1)));
        cc.set(leafNorms[leaf]!);
      });
      return out;
    }
    // clip and l2_normalize: the global norm (kept in f64), a per-lane factor, then t * factor
    const gn = [c.local('v128'), c.local('v128')] as const;
    const normReady = reduce([a], [[a]], false, (cc, acc) => {
      for (const h of [0, 1] as const) {
        op('f64x2.sqrt', halfOf(acc[0]!, h))(cc);
        cc.set(gn[h]);
      }
    });
    const factor = newValue('scalar', Math.max(normReady, levelOf(args.slice(1))));
    const out = newValue('tensor', val(factor).level);
    if (r === 'clip') {
      // factor 1 (t unchanged) when the norm is 0 or at most c, else c / norm, decided in f64
      nodes.push({
        type: 'scalar',
        out: factor,
        args: [b!],
        emit: ([cl]) => (cc) => {
          const half = (h: 0 | 1): Ex => {
            const c64 = promoteHalf(cl!, h);
            const keep = op('v128.or', op('f64x2.eq', get(gn[h]), f64k(0)), op('f64x2.le', get(gn[h]), c64));
            return select(keep, f64k(1), op('f64x2.div', c64, get(gn[h])));
          };
          pack(cc, half(0), half(1));
        },
      });
      nodes.push({ type: 'tensor', out, args: [a, factor], emit: ([t, f]) => mul32(t!, f!) });
      return out;
    }
    // l2_normalize: 1 / norm, and every element +0 where the norm is 0 (a fresh zero tensor)
    const nonzero = newValue('scalar', val(factor).level);
    nodes.push({
      type: 'scalar',
      out: factor,
      args: [],
      emit: () => (cc) => pack(cc, op('f64x2.div', f64k(1), get(gn[0])), op('f64x2.div', f64k(1), get(gn[1]))),
    });
    nodes.push({
      type: 'scalar',
      out: nonzero,
      args: [],
      emit: () => (cc) => pack(cc, op('f64x2.ne', get(gn[0]), f64k(0)), op('f64x2.ne', get(gn[1]), f64k(0))),
    });
    nodes.push({ type: 'tensor', out, args: [a, factor, nonzero], emit: ([t, f, nz]) => and(mul32(t!, f!), nz!) });
    return out;
  };

  program.statements.forEach((s, si) => {
    const lowering = LOWERING[s.op as OpName];
    const kind = check.statementKinds[si] as Kind;
    const args = s.args.map((a) => {
      if (a.kind === 'var') return names.get(a.name) as number;
      const id = newValue('scalar', 0);
      nodes.push({ type: 'scalar', out: id, args: [], emit: () => f32s(a.value) });
      return id;
    });
    let out: number;
    if (lowering.type === 'elementwise') {
      out = newValue(kind, levelOf(args));
      nodes.push({ type: kind, out, args, emit: (xs) => lowering.emit(xs, lib) });
    } else {
      out = lowerReduction(lowering.reduction, args, kind);
    }
    names.set(s.target, out);
  });

  // --- the outputs: scaled update, new weights, new state --------------------------------------
  const updateId = names.get(program.outputs[0] as string) as number;
  const updateKind = val(updateId).kind;
  const scaled = newValue(updateKind, levelOf([updateId, multiplierId]));
  nodes.push({ type: updateKind, out: scaled, args: [updateId, multiplierId], emit: ([u, m]) => mul32(u!, m!) });
  const stores: { buffer: number; value: number; subtract?: number }[] = [{ buffer: region.w, value: 0, subtract: scaled }];
  program.outputs.slice(1).forEach((o, k) => {
    const id = names.get(o) as number;
    if (id !== 2 + k) stores.push({ buffer: region.slots[k] as number, value: id });
  });

  const nodeLevel = (n: Node): number => (n.type === 'reduce' ? levelOf(n.args) : val(n.out).level);
  for (const n of nodes) for (const a of n.args) if (val(a).kind === 'tensor') val(a).lastRead = Math.max(val(a).lastRead, nodeLevel(n));
  // every store waits for the last loop that reads an input it overwrites (w and the slots)
  const overwritten = [0, ...program.outputs.slice(1).map((_, k) => 2 + k)];
  const storeLevel = Math.max(levelOf([scaled, ...stores.map((s) => s.value)]), ...overwritten.map((id) => val(id).lastRead));
  for (const s of stores) for (const id of [s.value, s.subtract]) if (id !== undefined && val(id).kind === 'tensor') val(id).lastRead = Math.max(val(id).lastRead, storeLevel);
  // a Tensor read by a later loop than its own is kept in a buffer
  for (const v of values) if (v.kind === 'tensor' && v.buffer === undefined && v.perLeaf === undefined && v.lastRead > v.level) v.buffer = region.alloc(total * 16);
  const lastLevel = Math.max(storeLevel, ...nodes.map(nodeLevel));

  // --- emission --------------------------------------------------------------------------------
  c.get(lrParam).simd('f32x4.splat').set(val(lrId).local!);
  c.get(base).vmem('v128.load', region.multiplier).set(val(multiplierId).local!);
  const flag = c.local('v128');
  c.f32x4(0).set(flag);
  const i = c.local('i32');
  const addr = c.local('i32');
  const accumulators = new Map<Node, Accumulator[]>();
  const accOf = (n: Node & { type: 'reduce' }): Accumulator[] => {
    let acc = accumulators.get(n);
    if (!acc) accumulators.set(n, (acc = n.of.map(() => ({ lo: c.local('v128'), hi: c.local('v128') }))));
    return acc;
  };
  const zeroAccumulators = (n: Node & { type: 'reduce' }): void => {
    for (const a of accOf(n)) for (const l of [a.lo, a.hi]) c.f64x2(0).set(l);
  };

  for (let level = 0; level <= lastLevel; level++) {
    for (const n of nodes) {
      if (n.type !== 'scalar' || val(n.out).level !== level) continue;
      n.emit(n.args.map((id) => get(val(id).local!)))(c);
      c.set(val(n.out).local!);
    }
    const loopNodes = nodes.filter((n) => n.type !== 'scalar' && nodeLevel(n) === level);
    const storesHere = level === storeLevel;
    if (loopNodes.length === 0 && !storesHere) continue;
    const reduces = loopNodes.filter((n): n is Node & { type: 'reduce' } => n.type === 'reduce');
    for (const n of reduces) if (!n.perLeaf) zeroAccumulators(n);
    let from = 0;
    region.leaves.forEach((size, leaf) => {
      for (const n of reduces) if (n.perLeaf) zeroAccumulators(n);
      c.for(i, from * 16, (from + size) * 16, 16, () => {
        c.get(base).get(i).op('i32.add').set(addr);
        const locals = new Map<number, Local>();
        const tensorExpr = (id: number): Ex => {
          const v = val(id);
          if (v.kind === 'scalar') return get(v.local!);
          if (v.perLeaf) return get(v.perLeaf[leaf]!);
          let l = locals.get(id);
          if (!l) {
            l = c.local('v128');
            c.get(addr).vmem('v128.load', v.buffer!).set(l);
            locals.set(id, l);
          }
          return get(l);
        };
        for (const n of loopNodes) {
          if (n.type === 'tensor') {
            const args = n.args.map(tensorExpr);
            const l = c.local('v128');
            n.emit(args)(c);
            c.set(l);
            locals.set(n.out, l);
            const v = val(n.out);
            if (v.buffer !== undefined) c.get(addr).get(l).vmem('v128.store', v.buffer);
            if (n.out === scaled) c.get(flag).get(l).f32x4(0).simd('f32x4.mul').simd('f32x4.add').set(flag);
          } else if (n.type === 'reduce') {
            n.of.forEach((terms, k) => {
              const acc = accOf(n)[k]!;
              const xs = terms.map(tensorExpr);
              for (const h of [0, 1] as const) {
                const target = h === 0 ? acc.lo : acc.hi;
                op('f64x2.add', get(target), op('f64x2.mul', promoteHalf(xs[0]!, h), promoteHalf(xs[1] ?? xs[0]!, h)))(c);
                c.set(target);
              }
            });
          }
        }
        if (storesHere) {
          // load everything first: a store may overwrite what another one reads (swapped slots)
          const staged = stores.map((s) => {
            const l = c.local('v128');
            if (s.subtract !== undefined) sub32(tensorExpr(s.value), tensorExpr(s.subtract))(c);
            else tensorExpr(s.value)(c);
            c.set(l);
            return l;
          });
          stores.forEach((s, k) => c.get(addr).get(staged[k]!).vmem('v128.store', s.buffer));
        }
      });
      for (const n of reduces) if (n.perLeaf) n.finish(c, accOf(n), leaf);
      from += size;
    });
    for (const n of reduces) if (!n.perLeaf) n.finish(c, accOf(n), 0);
  }
  // a Scalar update broadcasts: its NaN check is on the scalar itself
  if (updateKind === 'scalar') c.get(flag).get(val(scaled).local!).f32x4(0).simd('f32x4.mul').simd('f32x4.add').set(flag);
  c.get(base).get(flag).vmem('v128.store', region.flag);
  return { fn: mb.index(name), slotCount };
}

/** The f64x2 of lanes 0-1 (half 0) or 2-3 (half 1) of an f32x4. */
function promoteHalf(x: Ex, half: 0 | 1): Ex {
  return (c) => {
    x(c);
    if (half === 1) {
      x(c);
      c.shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]);
    }
    c.simd('f64x2.promote_low_f32x4');
  };
}

/** Two f64x2 halves rounded to one f32x4. */
function pack(c: Code, lo: Ex, hi: Ex): void {
  lo(c);
  c.simd('f32x4.demote_f64x2_zero');
  hi(c);
  c.simd('f32x4.demote_f64x2_zero');
  c.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
}

/** One lane's inputs to a standalone update step. */
export interface LaneStep {
  readonly w: Float64Array;
  readonly g: Float64Array;
  readonly state: readonly Float64Array[];
  readonly multiplier: number;
}

/** One lane's results: new weights and state, and whether the scaled update was all finite. */
export interface LaneResult {
  readonly w: Float32Array;
  readonly state: readonly Float32Array[];
  readonly finite: boolean;
}

/**
 * A program's update step in a module of its own, for checking it against the interpreter: up to
 * four lanes, each with its own weights, gradient, state and multiplier, one call.
 */
export function standaloneUpdate(program: Program, leaves: readonly number[]): (lanes: readonly LaneStep[], lr: number) => LaneResult[] {
  const total = leaves.reduce((a, b) => a + b, 0);
  const slotCount = program.inputs.length - 3;
  const bufferBytes = total * 16;
  let next = 0;
  const take = (bytes: number): number => {
    const at = next;
    next += Math.ceil(bytes / 16) * 16;
    return at;
  };
  const w = take(bufferBytes);
  const g = take(bufferBytes);
  const slots = Array.from({ length: slotCount }, () => take(bufferBytes));
  const multiplier = take(16);
  const flag = take(16);
  const mb = new ModuleBuilder(1);
  const lib = new MathLib(mb);
  const region: UpdateRegion = { leaves, w, g, slots, multiplier, flag, alloc: take };
  const compiled = emitUpdate(mb, lib, program, region);
  const run = mb.func('run', ['i32', 'f32'], [], true);
  run.get(run.param(0)).get(run.param(1)).call(compiled.fn);
  const pages = Math.ceil(next / 65536) + 1;
  const memory = new WebAssembly.Memory({ initial: pages });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(mb.bytes()), { env: { memory } });
  const exec = instance.exports.run as (base: number, lr: number) => void;
  return (lanes, lr) => {
    if (lanes.length < 1 || lanes.length > 4) throw new RangeError('one to four lanes');
    const f = new Float32Array(memory.buffer);
    const put = (offset: number, lane: number, x: Float64Array): void => {
      for (let j = 0; j < total; j++) f[offset / 4 + 4 * j + lane] = x[j] as number;
    };
    for (let l = 0; l < 4; l++) {
      const s = lanes[Math.min(l, lanes.length - 1)] as LaneStep;
      put(w, l, s.w);
      put(g, l, s.g);
      s.state.forEach((x, k) => put(slots[k] as number, l, x));
      f[multiplier / 4 + l] = s.multiplier;
    }
    exec(0, lr);
    const read = (offset: number, lane: number): Float32Array => Float32Array.from({ length: total }, (_, j) => f[offset / 4 + 4 * j + lane] as number);
    return lanes.map((_, l) => ({
      w: read(w, l),
      state: slots.map((o) => read(o, l)),
      finite: !Number.isNaN(f[flag / 4 + l] as number),
    }));
  };
}
