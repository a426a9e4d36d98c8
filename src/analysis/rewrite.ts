/**
 * Algebraic rewrite rules, as data, applied bottom-up through a smart constructor: every node is
 * built through `Rewriter.build`, which tries the rules for its op on already-normalised arguments
 * and builds any replacement through `build` again. One bottom-up pass therefore reaches the normal
 * form; the pipeline (simplify.ts) still repeats passes until nothing changes, with a cap.
 *
 * Exactness, under the interpreter's Float64 semantics (ops.ts):
 * - 'exact': equal in real arithmetic on the program's own constants; in Float64 the two forms may
 *   differ by rounding (a few ulps, e.g. reassociated constant products) and at the edges of the
 *   range (x*x overflowing to Inf where |x| does not). Rules that would change NaN/Inf behaviour
 *   for ordinary inputs (x*0 -> 0, x-x -> 0, interp(x, x, w) -> x) are left out on purpose.
 * - 'eps': exact up to the 1e-8 guard of protected division (x / (|x| + 1e-8) vs sign(x)).
 * Approximations (arcsin(x) ~ x) are never rules: they belong to ablation.
 */
import { applyOp } from '../dsl/interpret.ts';
import { EPS, makeLayout, type OpName } from '../dsl/ops.ts';
import { CONST, Graph, OP, OP_SPECS, opId, type NodeMaker } from './graph.ts';

export type Exactness = 'exact' | 'eps';

/** What a rule can do: inspect the graph and build (normalised) nodes. */
export interface RuleContext {
  readonly graph: Graph;
  build(op: number, args: readonly number[]): number;
  constant(v: number): number;
}

export interface RewriteRule {
  readonly name: string;
  readonly description: string;
  readonly exactness: Exactness;
  /** The ops whose nodes the rule looks at, or 'any'. */
  readonly on: readonly OpName[] | 'any';
  /** The replacement node for op(args), or undefined when the rule does not apply. */
  readonly apply: (r: RuleContext, op: number, args: readonly number[]) => number | undefined;
}

const SCALAR_LAYOUT = makeLayout([1]);

const isConst = (g: Graph, n: number): boolean => g.op[n] === CONST;
const isConstValue = (g: Graph, n: number, v: number): boolean => g.op[n] === CONST && g.value[n] === v;
const val = (g: Graph, n: number): number => g.value[n] as number;
const opOf = (g: Graph, n: number): number => g.op[n] as number;
const arg = (g: Graph, n: number, i: number): number => (g.args[n] as readonly number[])[i] as number;

/** Index of the constant among two arguments (the first if both), or -1. */
function constIndex(g: Graph, args: readonly number[]): number {
  if (isConst(g, args[1] as number)) return 1;
  if (isConst(g, args[0] as number)) return 0;
  return -1;
}

/** x*c or c*x: [x, c] or undefined. */
function scaled(g: Graph, n: number): [number, number] | undefined {
  if (opOf(g, n) !== OP.mul) return undefined;
  const a = g.args[n] as readonly number[];
  const ci = constIndex(g, a);
  if (ci < 0) return undefined;
  const x = a[1 - ci] as number;
  if (isConst(g, x)) return undefined;
  return [x, a[ci] as number];
}

const finite = (x: number): boolean => Number.isFinite(x);

/** Ops whose result is never negative (or NaN), so abs() of them is the identity. */
const NON_NEGATIVE = new Set<number>([OP.abs, OP.square, OP.sqrt, OP.exp, OP.exp2, OP.exp10, OP.cosh, OP.norm, OP.global_norm, OP.arccos]);

/** NON_NEGATIVE without arccos (NaN outside [-1, 1]): never negative or NaN on finite input, so d + 1e-8 > 0. */
const POSITIVE_DIVISOR = new Set<number>([...NON_NEGATIVE].filter((op) => op !== OP.arccos));

export const RULES: readonly RewriteRule[] = [
  {
    name: 'constant-fold',
    description: 'an op whose arguments are all constants becomes its (finite) value, computed by the interpreter',
    exactness: 'exact',
    on: 'any',
    apply(r, op, args) {
      const g = r.graph;
      for (let i = 0; i < args.length; i++) if (!isConst(g, args[i] as number)) return undefined;
      const values: number[] = [];
      for (let i = 0; i < args.length; i++) values.push(val(g, args[i] as number));
      const v = applyOp(OP_SPECS[op]!, values, SCALAR_LAYOUT);
      return typeof v === 'number' && finite(v) ? r.constant(v) : undefined;
    },
  },
  {
    name: 'add-zero',
    description: 'x + 0 -> x',
    exactness: 'exact',
    on: ['add'],
    apply(r, _op, args) {
      const a = args[0];
      const b = args[1];
      const g = r.graph;
      if (isConstValue(g, b!, 0)) return a;
      if (isConstValue(g, a!, 0)) return b;
      return undefined;
    },
  },
  {
    name: 'add-self',
    description: 'x + x -> x * 2 (bit-identical in Float64)',
    exactness: 'exact',
    on: ['add'],
    apply(r, _op, args) {
      const a = args[0];
      const b = args[1];
      return a === b ? r.build(OP.mul, [a!, r.constant(2)]) : undefined;
    },
  },
  {
    name: 'add-negative',
    description: 'x + negative(y) -> x - y',
    exactness: 'exact',
    on: ['add'],
    apply(r, _op, args) {
      const a = args[0];
      const b = args[1];
      const g = r.graph;
      if (opOf(g, b!) === OP.negative) return r.build(OP.sub, [a!, arg(g, b!, 0)]);
      if (opOf(g, a!) === OP.negative) return r.build(OP.sub, [b!, arg(g, a!, 0)]);
      return undefined;
    },
  },
  {
    name: 'add-constant-chain',
    description: '(x + a) + b -> x + (a + b) for constants a, b',
    exactness: 'exact',
    on: ['add'],
    apply(r, _op, args) {
      const g = r.graph;
      const ci = constIndex(g, args);
      if (ci < 0) return undefined;
      const inner = args[1 - ci] as number;
      if (opOf(g, inner) !== OP.add) return undefined;
      const ia = g.args[inner] as readonly number[];
      const cj = constIndex(g, ia);
      if (cj < 0) return undefined;
      const sum = r.build(OP.add, [ia[cj] as number, args[ci] as number]);
      if (!isConst(g, sum)) return undefined;
      return r.build(OP.add, [ia[1 - cj] as number, sum]);
    },
  },
  {
    name: 'interp-from-arithmetic',
    description: 'x * c1 + y * c2 -> interp(x, y, c2) when c1 + c2 = 1 (to within rounding of the constants); the weight is the larger coefficient',
    exactness: 'exact',
    on: ['add'],
    apply(r, _op, args) {
      const a = args[0];
      const b = args[1];
      const g = r.graph;
      const sa = scaled(g, a!);
      const sb = scaled(g, b!);
      if (!sa || !sb || sa[0] === sb[0]) return undefined;
      const ca = val(g, sa[1]);
      const cb = val(g, sb[1]);
      if (Math.abs(ca + cb - 1) > 4e-16 || ca === cb) return undefined;
      // Weight on the argument with the larger coefficient (the EMA convention: interp(g, m, 0.9)).
      return ca > cb ? r.build(OP.interp, [sb[0], sa[0], sa[1]]) : r.build(OP.interp, [sa[0], sb[0], sb[1]]);
    },
  },
  {
    name: 'sub-constant',
    description: 'x - c -> x + (-c) (bit-identical in Float64)',
    exactness: 'exact',
    on: ['sub'],
    apply(r, _op, args) {
      const a = args[0];
      const b = args[1];
      const g = r.graph;
      return isConst(g, b!) && !isConst(g, a!) ? r.build(OP.add, [a!, r.constant(-val(g, b!))]) : undefined;
    },
  },
  {
    name: 'sub-negative',
    description: 'x - negative(y) -> x + y',
    exactness: 'exact',
    on: ['sub'],
    apply(r, _op, args) {
      const a = args[0];
      const b = args[1];
      const g = r.graph;
      return opOf(g, b!) === OP.negative ? r.build(OP.add, [a!, arg(g, b!, 0)]) : undefined;
    },
  },
  {
    name: 'sub-from-zero',
    description: '0 - x -> negative(x) (equal up to the sign of a zero result)',
    exactness: 'exact',
    on: ['sub'],
    apply(r, _op, args) {
      const a = args[0];
      const b = args[1];
      return isConstValue(r.graph, a!, 0) && !isConst(r.graph, b!) ? r.build(OP.negative, [b!]) : undefined;
    },
  },
  {
    name: 'mul-one',
    description: 'x * 1 -> x',
    exactness: 'exact',
    on: ['mul'],
    apply(r, _op, args) {
      const a = args[0];
      const b = args[1];
      const g = r.graph;
      if (isConstValue(g, b!, 1)) return a;
      if (isConstValue(g, a!, 1)) return b;
      return undefined;
    },
  },
  {
    name: 'mul-minus-one',
    description: 'x * -1 -> negative(x)',
    exactness: 'exact',
    on: ['mul'],
    apply(r, _op, args) {
      const a = args[0];
      const b = args[1];
      const g = r.graph;
      if (isConstValue(g, b!, -1) && !isConst(g, a!)) return r.build(OP.negative, [a!]);
      if (isConstValue(g, a!, -1) && !isConst(g, b!)) return r.build(OP.negative, [b!]);
      return undefined;
    },
  },
  {
    name: 'mul-self',
    description: 'x * x -> square(x)',
    exactness: 'exact',
    on: ['mul'],
    apply(r, _op, args) {
      const a = args[0];
      const b = args[1];
      return a === b ? r.build(OP.square, [a!]) : undefined;
    },
  },
  {
    name: 'mul-constant-chain',
    description: '(x * a) * b -> x * (a * b) for constants a, b',
    exactness: 'exact',
    on: ['mul'],
    apply(r, _op, args) {
      const g = r.graph;
      const ci = constIndex(g, args);
      if (ci < 0) return undefined;
      const inner = scaled(g, args[1 - ci] as number);
      if (!inner) return undefined;
      const prod = r.build(OP.mul, [inner[1], args[ci] as number]);
      if (!isConst(g, prod)) return undefined;
      return r.build(OP.mul, [inner[0], prod]);
    },
  },
  {
    name: 'mul-negative',
    description: 'negative(x) * c -> x * (-c) for a constant c',
    exactness: 'exact',
    on: ['mul'],
    apply(r, _op, args) {
      const g = r.graph;
      const ci = constIndex(g, args);
      if (ci < 0) return undefined;
      const other = args[1 - ci] as number;
      if (opOf(g, other) !== OP.negative) return undefined;
      return r.build(OP.mul, [arg(g, other, 0), r.constant(-val(g, args[ci] as number))]);
    },
  },
  {
    name: 'div-constant',
    description: 'x / c -> x * (1 / (c + 1e-8)): protected division by a constant is a multiplication',
    exactness: 'exact',
    on: ['div'],
    apply(r, _op, args) {
      const a = args[0];
      const b = args[1];
      const g = r.graph;
      if (!isConst(g, b!) || isConst(g, a!)) return undefined;
      const k = 1 / (val(g, b!) + EPS);
      return finite(k) && k !== 0 ? r.build(OP.mul, [a!, r.constant(k)]) : undefined;
    },
  },
  {
    name: 'div-abs-sign',
    description: 'x / abs(x) -> sign(x) (so also x / sqrt(x * x) and x / sqrt(square(x))); protected division makes the left side x / (|x| + 1e-8)',
    exactness: 'eps',
    on: ['div'],
    apply(r, _op, args) {
      const a = args[0];
      const b = args[1];
      const g = r.graph;
      return opOf(g, b!) === OP.abs && arg(g, b!, 0) === a ? r.build(OP.sign, [a!]) : undefined;
    },
  },
  {
    name: 'negative-negative',
    description: 'negative(negative(x)) -> x',
    exactness: 'exact',
    on: ['negative'],
    apply(r, _op, args) {
      const a = args[0];
      return opOf(r.graph, a!) === OP.negative ? arg(r.graph, a!, 0) : undefined;
    },
  },
  {
    name: 'negative-scaled',
    description: 'negative(x * c) -> x * (-c) for a constant c',
    exactness: 'exact',
    on: ['negative'],
    apply(r, _op, args) {
      const a = args[0];
      const s = scaled(r.graph, a!);
      return s ? r.build(OP.mul, [s[0], r.constant(-val(r.graph, s[1]))]) : undefined;
    },
  },
  {
    name: 'abs-non-negative',
    description: 'abs(f(x)) -> f(x) when f never returns a negative number (abs, square, sqrt, exp, exp2, exp10, cosh, norm, global_norm, arccos)',
    exactness: 'exact',
    on: ['abs'],
    apply(r, _op, args) {
      const a = args[0];
      return NON_NEGATIVE.has(opOf(r.graph, a!)) ? a : undefined;
    },
  },
  {
    name: 'abs-negative',
    description: 'abs(negative(x)) -> abs(x)',
    exactness: 'exact',
    on: ['abs'],
    apply(r, _op, args) {
      const a = args[0];
      return opOf(r.graph, a!) === OP.negative ? r.build(OP.abs, [arg(r.graph, a!, 0)]) : undefined;
    },
  },
  {
    name: 'guarded-abs',
    description: 'sqrt(abs(x)) -> sqrt(x), and the same for log, log2, log10: these ops already take |x|',
    exactness: 'exact',
    on: ['sqrt', 'log', 'log2', 'log10'],
    apply(r, op, args) {
      const a = args[0];
      return opOf(r.graph, a!) === OP.abs ? r.build(op, [arg(r.graph, a!, 0)]) : undefined;
    },
  },
  {
    name: 'sqrt-square',
    description: 'sqrt(square(x)) -> abs(x) (and so sqrt(x * x)); differs only where x * x overflows or underflows',
    exactness: 'exact',
    on: ['sqrt'],
    apply(r, _op, args) {
      const a = args[0];
      return opOf(r.graph, a!) === OP.square ? r.build(OP.abs, [arg(r.graph, a!, 0)]) : undefined;
    },
  },
  {
    name: 'sign-sign',
    description: 'sign(sign(x)) -> sign(x)',
    exactness: 'exact',
    on: ['sign'],
    apply(r, _op, args) {
      const a = args[0];
      return opOf(r.graph, a!) === OP.sign ? a : undefined;
    },
  },
  {
    name: 'sign-negative',
    description: 'sign(negative(x)) -> negative(sign(x))',
    exactness: 'exact',
    on: ['sign'],
    apply(r, _op, args) {
      const a = args[0];
      return opOf(r.graph, a!) === OP.negative ? r.build(OP.negative, [r.build(OP.sign, [arg(r.graph, a!, 0)])]) : undefined;
    },
  },
  {
    name: 'sign-scaled',
    description: 'sign(x * c) -> sign(x) for a constant c > 0, negative(sign(x)) for c < 0; differs only where x * c underflows to 0',
    exactness: 'exact',
    on: ['sign'],
    apply(r, _op, args) {
      const a = args[0];
      const s = scaled(r.graph, a!);
      if (!s) return undefined;
      const c = val(r.graph, s[1]);
      if (c > 0) return r.build(OP.sign, [s[0]]);
      if (c < 0) return r.build(OP.negative, [r.build(OP.sign, [s[0]])]);
      return undefined;
    },
  },
  {
    name: 'sign-positive-divisor',
    description: 'sign(x / d) -> sign(x) when d is never negative (abs, square, sqrt, exp, exp2, exp10, cosh, norm, global_norm): protected division divides by d + 1e-8 > 0; differs only where the quotient underflows to 0 or d overflows to Inf',
    exactness: 'exact',
    on: ['sign'],
    apply(r, _op, args) {
      const g = r.graph;
      const a = args[0]!;
      if (opOf(g, a) !== OP.div || !POSITIVE_DIVISOR.has(opOf(g, arg(g, a, 1)))) return undefined;
      return r.build(OP.sign, [arg(g, a, 0)]);
    },
  },
  {
    name: 'max-min-self',
    description: 'max(x, x) -> x and min(x, x) -> x',
    exactness: 'exact',
    on: ['max', 'min'],
    apply(_r, _op, args) {
      const a = args[0];
      const b = args[1];
      return a === b ? a : undefined;
    },
  },
  {
    name: 'interp-fusion',
    description: 'interp(x, interp(x, y, a), b) -> interp(x, y, a * b): two EMAs of the same x chained are one EMA with weight a * b',
    exactness: 'exact',
    on: ['interp'],
    apply(r, _op, args) {
      const x = args[0];
      const inner = args[1];
      const b = args[2];
      const g = r.graph;
      if (opOf(g, inner!) !== OP.interp || arg(g, inner!, 0) !== x) return undefined;
      return r.build(OP.interp, [x!, arg(g, inner!, 1), r.build(OP.mul, [arg(g, inner!, 2), b!])]);
    },
  },
  {
    name: 'interp-fusion-first',
    description: 'interp(interp(x, y, a), y, b) -> interp(x, y, 1 - (1 - a)(1 - b)) for constants a, b',
    exactness: 'exact',
    on: ['interp'],
    apply(r, _op, args) {
      const inner = args[0];
      const y = args[1];
      const b = args[2];
      const g = r.graph;
      if (opOf(g, inner!) !== OP.interp || arg(g, inner!, 1) !== y) return undefined;
      const a = arg(g, inner!, 2);
      if (!isConst(g, a) || !isConst(g, b!)) return undefined;
      const w = 1 - (1 - val(g, a)) * (1 - val(g, b!));
      return finite(w) ? r.build(OP.interp, [arg(g, inner!, 0), y!, r.constant(w)]) : undefined;
    },
  },
];

/** One rule application, for the simplifier's trace. Node ids are those of the rewriter's graph. */
export interface RewriteEvent {
  readonly rule: RewriteRule;
  readonly op: number;
  readonly args: readonly number[];
  readonly result: number;
  /** Index of the statement being rebuilt when the rule fired (-1 when unknown). */
  readonly statement: number;
}

export interface RewriteOptions {
  /** Also apply the 'eps' rules (default true). */
  readonly allowEps?: boolean;
  /** Restrict to these rule names (default: all). */
  readonly only?: readonly string[];
}

/** Rules for each op id, in table order, after option filtering. */
export function rulesByOp(opts: RewriteOptions = {}): readonly (readonly RewriteRule[])[] {
  const allowEps = opts.allowEps !== false;
  const table: RewriteRule[][] = OP_SPECS.map(() => []);
  for (const rule of RULES) {
    if (!allowEps && rule.exactness === 'eps') continue;
    if (opts.only && !opts.only.includes(rule.name)) continue;
    if (rule.on === 'any') for (const list of table) list.push(rule);
    else
      for (const name of rule.on) {
        const i = opId(name);
        if (i < 0) throw new Error(`rule '${rule.name}' names unknown op '${name}'`);
        table[i]!.push(rule);
      }
  }
  return table;
}

const DEFAULT_TABLE = rulesByOp();
const EXACT_TABLE = rulesByOp({ allowEps: false });

export function defaultRuleTable(allowEps: boolean): readonly (readonly RewriteRule[])[] {
  return allowEps ? DEFAULT_TABLE : EXACT_TABLE;
}

/** The smart constructor: builds normalised nodes into `graph`. */
export class Rewriter implements RuleContext {
  /** Number of rule applications so far. */
  fired = 0;
  /** Statement index reported in events. */
  statement = -1;
  readonly make: NodeMaker;
  private depth = 0;

  constructor(
    readonly graph: Graph,
    private readonly table: readonly (readonly RewriteRule[])[],
    private readonly events?: RewriteEvent[],
  ) {
    this.make = (op, args) => this.build(op, args);
  }

  constant(v: number): number {
    return this.graph.constant(v);
  }

  build(op: number, args: readonly number[]): number {
    const rules = this.table[op] as readonly RewriteRule[];
    if (++this.depth > 10_000) throw new RewriteLimitError('rewrite recursion deeper than 10000: a rule set that does not terminate');
    try {
      for (let i = 0; i < rules.length; i++) {
        const rule = rules[i] as RewriteRule;
        const out = rule.apply(this, op, args);
        if (out !== undefined) {
          this.fired++;
          this.events?.push({ rule, op, args: [...args], result: out, statement: this.statement });
          return out;
        }
      }
      return this.graph.node(op, args);
    } finally {
      this.depth--;
    }
  }
}

/** Rewriting did not reach a fixpoint within its cap (a rule set that cycles). */
export class RewriteLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RewriteLimitError';
  }
}
