/**
 * The dataflow graph every analysis works on: one node per distinct value (SSA with hash-consing),
 * so renaming, reassignment, copies and duplicate statements disappear on construction. Node ids are
 * topological: a node's arguments always have smaller ids.
 *
 * Node 0..inputCount-1 are the program inputs (w, g, slots..., lr), in signature order.
 */
import type { Program } from '../dsl/ast.ts';
import { assertValid } from '../dsl/check.ts';
import { DslError } from '../dsl/errors.ts';
import { COPY_OP, OPS, type OpSpec } from '../dsl/ops.ts';

/** Pseudo-op of an input node (value = input index). */
export const INPUT = -1;
/** Pseudo-op of a constant node (value = the number). */
export const CONST = -2;

export const TENSOR = 0;
export const SCALAR = 1;

export const OP_SPECS: readonly OpSpec[] = OPS as readonly OpSpec[];
const OP_INDEX = new Map<string, number>(OP_SPECS.map((s, i) => [s.name, i]));
const COMMUTATIVE: readonly boolean[] = OP_SPECS.map((s) => s.commutative === true);

/** Op id of an op name, or -1 when the name is not in the table. */
export function opId(name: string): number {
  return OP_INDEX.get(name) ?? -1;
}

function mustOp(name: string): number {
  const i = opId(name);
  if (i < 0) throw new Error(`op table has no '${name}'`);
  return i;
}

/** Ids of the ops the analyses refer to by name. */
export const OP = {
  add: mustOp('add'),
  sub: mustOp('sub'),
  mul: mustOp('mul'),
  div: mustOp('div'),
  max: mustOp('max'),
  min: mustOp('min'),
  abs: mustOp('abs'),
  negative: mustOp('negative'),
  sign: mustOp('sign'),
  square: mustOp('square'),
  sqrt: mustOp('sqrt'),
  log: mustOp('log'),
  log2: mustOp('log2'),
  log10: mustOp('log10'),
  exp: mustOp('exp'),
  exp2: mustOp('exp2'),
  exp10: mustOp('exp10'),
  cosh: mustOp('cosh'),
  arccos: mustOp('arccos'),
  norm: mustOp('norm'),
  global_norm: mustOp('global_norm'),
  clip: mustOp('clip'),
  dot: mustOp('dot'),
  cosine_sim: mustOp('cosine_sim'),
  interp: mustOp('interp'),
  tanh: mustOp('tanh'),
  unit_clip: mustOp('unit_clip'),
  rel_sign: mustOp('rel_sign'),
  l2_normalize: mustOp('l2_normalize'),
  thresh_sign: mustOp('thresh_sign'),
} as const;

const COPY = mustOp(COPY_OP);

export function isCommutative(op: number): boolean {
  return op >= 0 && COMMUTATIVE[op] === true;
}

function mixKey(h: number, x: number): number {
  h = Math.imul(h ^ x, 0x5bd1e995);
  return (h ^ (h >>> 15)) | 0;
}

/** Result rule per op id: 0 same as the first argument, 1 join, 2 always Tensor, 3 always Scalar. */
const RESULT_RULE: readonly number[] = OP_SPECS.map((s) => (s.result === 'same' ? 0 : s.result === 'join' ? 1 : s.result === 'T' ? 2 : 3));

const NO_ARGS: readonly number[] = [];
const EMPTY_TABLE: number[] = [];

function newTable(size: number): number[] {
  const t: number[] = new Array(size);
  for (let i = 0; i < size; i++) t[i] = -1;
  return t;
}

/**
 * An append-only dataflow graph. With `hashCons` (the default) op(args) returns an existing
 * identical node when there is one (operands of commutative ops unordered); without, every call
 * makes a new node (the as-written graph, where only reachability matters).
 */
export class Graph {
  readonly op: number[] = [];
  readonly args: (readonly number[])[] = [];
  /** Constant value for CONST nodes, input index for INPUT nodes, 0 otherwise. */
  readonly value: number[] = [];
  /** TENSOR or SCALAR. */
  readonly kind: number[] = [];
  /** Open-addressing table of node ids (-1: empty), keyed by a hash of op and arguments. */
  private table: number[] = EMPTY_TABLE;
  private entries = 0;
  private readonly consts = new Map<number, number>();
  private negZero = -1;

  constructor(
    readonly inputCount: number,
    private readonly hashCons = true,
  ) {
    for (let i = 0; i < inputCount; i++) {
      this.op.push(INPUT);
      this.args.push(NO_ARGS);
      this.value.push(i);
      this.kind.push(i === inputCount - 1 ? SCALAR : TENSOR);
    }
  }

  get size(): number {
    return this.op.length;
  }

  isConst(n: number): boolean {
    return this.op[n] === CONST;
  }

  constant(v: number): number {
    if (v === 0 && Object.is(v, -0)) {
      if (this.negZero < 0) this.negZero = this.push(CONST, NO_ARGS, v, SCALAR);
      return this.negZero;
    }
    let id = this.consts.get(v);
    if (id === undefined) {
      id = this.push(CONST, NO_ARGS, v, SCALAR);
      this.consts.set(v, id);
    }
    return id;
  }

  /** The node for op(args). A new node keeps `args` itself: callers pass a fresh array. */
  node(op: number, args: readonly number[]): number {
    const n = args.length;
    let a0 = n > 0 ? (args[0] as number) : -1;
    let a1 = n > 1 ? (args[1] as number) : -1;
    if (n === 2 && COMMUTATIVE[op] === true && a0 > a1) {
      const t = a0;
      a0 = a1;
      a1 = t;
    }
    let slot = -1;
    if (this.hashCons) {
      if (this.table === EMPTY_TABLE) this.table = newTable(64);
      let h = mixKey(op + 0x9e37, a0);
      h = mixKey(h, a1);
      if (n > 2) for (let i = 2; i < n; i++) h = mixKey(h, args[i] as number);
      const mask = this.table.length - 1;
      slot = h & mask;
      for (;;) {
        const id = this.table[slot] as number;
        if (id < 0) break;
        if (this.op[id] === op) {
          const b = this.args[id] as readonly number[];
          if (b.length === n && (n < 1 || b[0] === a0) && (n < 2 || b[1] === a1)) {
            let same = true;
            for (let i = 2; i < n; i++) if (b[i] !== args[i]) same = false;
            if (same) return id;
          }
        }
        slot = (slot + 1) & mask;
      }
    }
    const own = n === 2 && a0 !== args[0] ? [a0, a1] : args;
    const kind = this.resultKind(op, own);
    const id = this.push(op, own, 0, kind);
    if (this.hashCons) {
      this.table[slot] = id;
      if (++this.entries * 2 > this.table.length) this.rehash();
    }
    return id;
  }

  private resultKind(op: number, args: readonly number[]): number {
    switch (RESULT_RULE[op]) {
      case 0:
        return args.length > 0 ? (this.kind[args[0] as number] as number) : SCALAR;
      case 1:
        for (let i = 0; i < args.length; i++) if (this.kind[args[i] as number] === TENSOR) return TENSOR;
        return SCALAR;
      case 2:
        return TENSOR;
      default:
        return SCALAR;
    }
  }

  private rehash(): void {
    const old = this.table;
    this.table = newTable(old.length * 2);
    const mask = this.table.length - 1;
    for (let i = 0; i < old.length; i++) {
      const id = old[i] as number;
      if (id < 0) continue;
      const b = this.args[id] as readonly number[];
      let h = mixKey((this.op[id] as number) + 0x9e37, b.length > 0 ? (b[0] as number) : -1);
      h = mixKey(h, b.length > 1 ? (b[1] as number) : -1);
      for (let k = 2; k < b.length; k++) h = mixKey(h, b[k] as number);
      let slot = h & mask;
      while ((this.table[slot] as number) >= 0) slot = (slot + 1) & mask;
      this.table[slot] = id;
    }
  }

  private push(op: number, args: readonly number[], value: number, kind: number): number {
    this.op.push(op);
    this.args.push(args);
    this.value.push(value);
    this.kind.push(kind);
    return this.op.length - 1;
  }
}

/** Makes the node for one op application; a rewriter plugs its rules in here. */
export type NodeMaker = (op: number, args: readonly number[]) => number;

export interface BuiltGraph {
  readonly graph: Graph;
  /** outputs[0] is the update, outputs[1 + i] the new value of slot i. */
  readonly outputs: number[];
  /** Node of each statement's result (index-aligned with program.statements). */
  readonly statementNodes: number[];
}

/**
 * The dataflow graph of a program. Validates as it goes; an invalid program throws the checker's
 * DslError with every diagnostic.
 */
export function buildGraph(p: Program, make?: NodeMaker, onStatement?: (index: number) => void, hashCons = true): BuiltGraph {
  const n = p.inputs.length;
  if (n < 3) invalid(p);
  const g = new Graph(n, make !== undefined || hashCons);
  const env = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const name = p.inputs[i] as string;
    if (env.has(name)) invalid(p);
    env.set(name, i);
  }
  const mk: NodeMaker = make ?? ((op, args) => g.node(op, args));
  const statementNodes: number[] = [];
  const stmts = p.statements;
  for (let si = 0; si < stmts.length; si++) {
    const s = stmts[si]!;
    const op = opId(s.op);
    if (op < 0) invalid(p);
    const spec = OP_SPECS[op] as OpSpec;
    if (s.args.length !== spec.args.length) invalid(p);
    const args: number[] = new Array(s.args.length);
    for (let j = 0; j < s.args.length; j++) {
      const a = s.args[j]!;
      let id: number;
      if (a.kind === 'num') id = g.constant(a.value);
      else {
        const found = env.get(a.name);
        if (found === undefined) invalid(p);
        id = found;
      }
      const expected = spec.args[j];
      if ((expected === 'T' && g.kind[id] !== TENSOR) || (expected === 'S' && g.kind[id] !== SCALAR)) invalid(p);
      args[j] = id;
    }
    onStatement?.(si);
    // A copy names an existing value: no node, so hashes and fingerprints do not see it.
    const id = op === COPY ? (args[0] as number) : mk(op, args);
    const prev = env.get(s.target);
    if (prev !== undefined && g.kind[prev] !== g.kind[id]) invalid(p);
    env.set(s.target, id);
    statementNodes.push(id);
  }
  if (p.outputs.length !== n - 2) invalid(p);
  const outputs: number[] = [];
  for (let i = 0; i < p.outputs.length; i++) {
    const id = env.get(p.outputs[i] as string);
    if (id === undefined) invalid(p);
    if (i >= 1 && g.kind[id] !== TENSOR) invalid(p);
    outputs.push(id);
  }
  return { graph: g, outputs, statementNodes };
}

function invalid(p: Program): never {
  assertValid(p);
  // assertValid accepted what the graph builder rejected: a bug in one of the two.
  throw new DslError([{ code: 'syntax', message: 'program rejected by the analysis but not by the checker', pos: p.pos ?? { line: 1, col: 1 } }]);
}

/** Marks every node the roots depend on (roots included). */
export function markReachable(g: Graph, roots: readonly number[], mark: Uint8Array = new Uint8Array(g.size)): Uint8Array {
  const stack: number[] = [];
  for (const r of roots) {
    if (mark[r] === 0) {
      mark[r] = 1;
      stack.push(r);
    }
  }
  while (stack.length > 0) {
    const n = stack.pop() as number;
    const a = g.args[n] as readonly number[];
    for (let i = 0; i < a.length; i++) {
      const c = a[i] as number;
      if (mark[c] === 0) {
        mark[c] = 1;
        stack.push(c);
      }
    }
  }
  return mark;
}

export interface Liveness {
  /** Nodes live within one call (everything the returned values depend on). */
  readonly singleCall: Uint8Array;
  /** Nodes live across calls: what the update depends on, through live state slots. */
  readonly crossStep: Uint8Array;
  /** Per state slot: whether the slot's returned value is ever read by a later call's live code. */
  readonly liveSlots: boolean[];
}

/**
 * Cross-step liveness to a fixpoint: the update is live; a slot is live when its input node is
 * read by live code, and then everything its returned value depends on is live.
 */
export function liveness(g: Graph, outputs: readonly number[]): Liveness {
  const singleCall = markReachable(g, outputs);
  const slots = outputs.length - 1;
  const crossStep = markReachable(g, [outputs[0] as number]);
  const liveSlots: boolean[] = new Array(slots).fill(false);
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < slots; i++) {
      if (!liveSlots[i] && crossStep[2 + i] === 1) {
        liveSlots[i] = true;
        markReachable(g, [outputs[1 + i] as number], crossStep);
        changed = true;
      }
    }
  }
  return { singleCall, crossStep, liveSlots };
}

/** Outputs with every dead slot returning its own input unchanged. */
export function liveOutputs(outputs: readonly number[], liveSlots: readonly boolean[]): number[] {
  return outputs.map((o, i) => (i === 0 || liveSlots[i - 1] ? o : 1 + i));
}

/**
 * A copy of the part of `g` reachable from `outputs`, node by node through `make` (which may
 * rewrite). Returns the new graph, the mapped outputs and the old-to-new node map (-1: not copied).
 */
export function copyReachable(
  g: Graph,
  outputs: readonly number[],
  makeFor: (target: Graph) => NodeMaker,
  beforeNode?: (oldNode: number) => void,
): { graph: Graph; outputs: number[]; map: number[] } {
  const mark = markReachable(g, outputs);
  const out = new Graph(g.inputCount);
  const make = makeFor(out);
  const map: number[] = new Array(g.size);
  for (let i = 0; i < g.size; i++) map[i] = -1;
  for (let i = 0; i < g.inputCount; i++) map[i] = i;
  for (let n = g.inputCount; n < g.size; n++) {
    if (mark[n] === 0) continue;
    const op = g.op[n] as number;
    if (op === CONST) {
      map[n] = out.constant(g.value[n] as number);
      continue;
    }
    const a = g.args[n] as readonly number[];
    const args: number[] = new Array(a.length);
    for (let j = 0; j < a.length; j++) args[j] = map[a[j] as number] as number;
    beforeNode?.(n);
    map[n] = make(op, args);
  }
  return { graph: out, outputs: outputs.map((o) => map[o] as number), map };
}
