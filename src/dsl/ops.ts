/**
 * The one function table of the language: every op's name, arity, argument kinds, result kind,
 * Float64 semantics and description. Every other layer (checker, interpreter, tfjs lowering,
 * printer, docs) is keyed by OpName, so an op missing from a consumer fails to compile or fails a test.
 *
 * A Tensor is the whole set of weight tensors of a model, stored flat: `Layout.sizes` gives the
 * length of each leaf (one per weight tensor). Element-wise ops ignore leaves; `norm` works per leaf;
 * `global_norm`, `dot`, `cosine_sim`, `clip` and `l2_normalize` reduce over all leaves.
 */

export type Kind = 'tensor' | 'scalar';
/** T = Tensor only, S = Scalar only, N = either. */
export type ArgKind = 'T' | 'S' | 'N';
/**
 * same: kind of the first argument; join: Tensor if any argument is a Tensor, else Scalar;
 * T / S: always that kind.
 */
export type ResultRule = 'same' | 'join' | 'T' | 'S';

export type Value = number | Float64Array;

export interface Layout {
  readonly sizes: readonly number[];
  readonly offsets: readonly number[];
  readonly total: number;
}

export function makeLayout(sizes: readonly number[]): Layout {
  const offsets: number[] = [];
  let total = 0;
  for (const s of sizes) {
    if (!Number.isInteger(s) || s < 1) throw new RangeError(`leaf sizes must be positive integers, got ${s}`);
    offsets.push(total);
    total += s;
  }
  return { sizes: [...sizes], offsets, total };
}

export type Semantics =
  | { readonly type: 'elementwise'; readonly f: (...x: number[]) => number }
  | { readonly type: 'custom'; readonly f: (args: readonly Value[], layout: Layout) => Value };

/** copy: `x = y` and `x = 0.5`, a name for a value (kept last in OPS so that op ids, and so hashes, stay as they were). */
export type OpGroup = 'constant' | 'binary' | 'unary' | 'reduction' | 'lionk' | 'copy';

export interface OpSpec {
  readonly name: string;
  readonly group: OpGroup;
  readonly args: readonly ArgKind[];
  readonly result: ResultRule;
  /** Infix symbol for the binary arithmetic ops (`a * b`). */
  readonly infix?: string;
  /** Operands may be swapped without changing the result. */
  readonly commutative?: boolean;
  readonly description: string;
  readonly semantics: Semantics;
}

/** Protected division adds this to the denominator; it is also get_eps(). */
export const EPS = 1e-8;

const ew = (f: (...x: number[]) => number): Semantics => ({ type: 'elementwise', f });
const custom = (f: (args: readonly Value[], layout: Layout) => Value): Semantics => ({ type: 'custom', f });

function tensorArg(v: Value | undefined): Float64Array {
  if (!(v instanceof Float64Array)) throw new TypeError('expected a tensor value');
  return v;
}

function sumSquares(x: Float64Array, from = 0, to = x.length): number {
  let s = 0;
  for (let i = from; i < to; i++) {
    const v = x[i] as number;
    s += v * v;
  }
  return s;
}

function dotFlat(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function scaleFlat(x: Float64Array, c: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] as number) * c;
  return out;
}

/** ln|x| style guard used by the log family; log1p uses the accurate form where it can. */
function log1pGuarded(x: number): number {
  return x > -1 ? Math.log1p(x) : Math.log(Math.abs(1 + x));
}

function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : NaN;
}

/** x / sqrt(1 + x^2) without overflow: for |x| > 1 the form sign(x) / sqrt(1 + 1/x^2) keeps huge x at +-1. */
function relSign(x: number): number {
  return Math.abs(x) <= 1 ? x / Math.sqrt(1 + x * x) : sign(x) / Math.sqrt(1 + 1 / (x * x));
}

export const OPS = [
  // --- constants -------------------------------------------------------------------------------
  { name: 'get_pi', group: 'constant', args: [], result: 'S', description: 'the constant pi', semantics: custom(() => Math.PI) },
  { name: 'get_e', group: 'constant', args: [], result: 'S', description: "Euler's number e", semantics: custom(() => Math.E) },
  { name: 'get_eps', group: 'constant', args: [], result: 'S', description: 'the constant 1e-8', semantics: custom(() => EPS) },

  // --- binary arithmetic (scalars broadcast) -----------------------------------------------------
  { name: 'add', group: 'binary', infix: '+', commutative: true, args: ['N', 'N'], result: 'join', description: 'a + b', semantics: ew((a, b) => a! + b!) },
  { name: 'sub', group: 'binary', infix: '-', args: ['N', 'N'], result: 'join', description: 'a - b', semantics: ew((a, b) => a! - b!) },
  { name: 'mul', group: 'binary', infix: '*', commutative: true, args: ['N', 'N'], result: 'join', description: 'a * b', semantics: ew((a, b) => a! * b!) },
  { name: 'div', group: 'binary', infix: '/', args: ['N', 'N'], result: 'join', description: 'protected division a / (b + 1e-8)', semantics: ew((a, b) => a! / (b! + EPS)) },
  { name: 'max', group: 'binary', commutative: true, args: ['N', 'N'], result: 'join', description: 'element-wise maximum', semantics: ew((a, b) => Math.max(a!, b!)) },
  { name: 'min', group: 'binary', commutative: true, args: ['N', 'N'], result: 'join', description: 'element-wise minimum', semantics: ew((a, b) => Math.min(a!, b!)) },
  { name: 'power', group: 'binary', args: ['N', 'N'], result: 'join', description: 'x ** y (NaN for a negative base with a fractional exponent)', semantics: ew((a, b) => Math.pow(a!, b!)) },

  // --- element-wise unary ----------------------------------------------------------------------
  { name: 'abs', group: 'unary', args: ['N'], result: 'same', description: '|x|', semantics: ew((x) => Math.abs(x!)) },
  { name: 'cos', group: 'unary', args: ['N'], result: 'same', description: 'cosine', semantics: ew((x) => Math.cos(x!)) },
  { name: 'sin', group: 'unary', args: ['N'], result: 'same', description: 'sine', semantics: ew((x) => Math.sin(x!)) },
  { name: 'tan', group: 'unary', args: ['N'], result: 'same', description: 'tangent', semantics: ew((x) => Math.tan(x!)) },
  { name: 'arcsin', group: 'unary', args: ['N'], result: 'same', description: 'inverse sine (NaN outside [-1, 1])', semantics: ew((x) => Math.asin(x!)) },
  { name: 'arccos', group: 'unary', args: ['N'], result: 'same', description: 'inverse cosine (NaN outside [-1, 1])', semantics: ew((x) => Math.acos(x!)) },
  { name: 'arctan', group: 'unary', args: ['N'], result: 'same', description: 'inverse tangent', semantics: ew((x) => Math.atan(x!)) },
  { name: 'sinh', group: 'unary', args: ['N'], result: 'same', description: 'hyperbolic sine', semantics: ew((x) => Math.sinh(x!)) },
  { name: 'cosh', group: 'unary', args: ['N'], result: 'same', description: 'hyperbolic cosine', semantics: ew((x) => Math.cosh(x!)) },
  { name: 'tanh', group: 'unary', args: ['N'], result: 'same', description: 'hyperbolic tangent (also the Lion-K direction of K = sum log cosh)', semantics: ew((x) => Math.tanh(x!)) },
  { name: 'arcsinh', group: 'unary', args: ['N'], result: 'same', description: 'inverse hyperbolic sine', semantics: ew((x) => Math.asinh(x!)) },
  { name: 'arccosh', group: 'unary', args: ['N'], result: 'same', description: 'inverse hyperbolic cosine (NaN below 1)', semantics: ew((x) => Math.acosh(x!)) },
  { name: 'arctanh', group: 'unary', args: ['N'], result: 'same', description: 'inverse hyperbolic tangent (NaN outside [-1, 1])', semantics: ew((x) => Math.atanh(x!)) },
  { name: 'exp', group: 'unary', args: ['N'], result: 'same', description: 'e ** x', semantics: ew((x) => Math.exp(x!)) },
  { name: 'exp2', group: 'unary', args: ['N'], result: 'same', description: '2 ** x', semantics: ew((x) => Math.pow(2, x!)) },
  { name: 'exp10', group: 'unary', args: ['N'], result: 'same', description: '10 ** x', semantics: ew((x) => Math.pow(10, x!)) },
  { name: 'expm1', group: 'unary', args: ['N'], result: 'same', description: 'e ** x - 1', semantics: ew((x) => Math.expm1(x!)) },
  { name: 'log', group: 'unary', args: ['N'], result: 'same', description: 'abs-guarded natural log: ln|x|', semantics: ew((x) => Math.log(Math.abs(x!))) },
  { name: 'log10', group: 'unary', args: ['N'], result: 'same', description: 'abs-guarded log10|x|', semantics: ew((x) => Math.log10(Math.abs(x!))) },
  { name: 'log2', group: 'unary', args: ['N'], result: 'same', description: 'abs-guarded log2|x|', semantics: ew((x) => Math.log2(Math.abs(x!))) },
  { name: 'log1p', group: 'unary', args: ['N'], result: 'same', description: 'abs-guarded ln|1 + x|', semantics: ew((x) => log1pGuarded(x!)) },
  { name: 'square', group: 'unary', args: ['N'], result: 'same', description: 'x * x', semantics: ew((x) => x! * x!) },
  { name: 'sqrt', group: 'unary', args: ['N'], result: 'same', description: 'abs-guarded square root: sqrt(|x|)', semantics: ew((x) => Math.sqrt(Math.abs(x!))) },
  { name: 'cube', group: 'unary', args: ['N'], result: 'same', description: 'x * x * x', semantics: ew((x) => x! * x! * x!) },
  { name: 'cbrt', group: 'unary', args: ['N'], result: 'same', description: 'cube root (real, keeps the sign)', semantics: ew((x) => Math.cbrt(x!)) },
  { name: 'sign', group: 'unary', args: ['N'], result: 'same', description: 'sign of x, sign(0) = 0 (the Lion direction, K = L1 norm)', semantics: ew((x) => sign(x!)) },
  { name: 'reciprocal', group: 'unary', args: ['N'], result: 'same', description: '1 / x (unprotected: 1/0 = Inf)', semantics: ew((x) => 1 / x!) },
  { name: 'negative', group: 'unary', args: ['N'], result: 'same', description: '-x', semantics: ew((x) => -x!) },
  {
    name: 'norm',
    group: 'unary',
    args: ['N'],
    result: 'same',
    description: 'Euclidean norm of each leaf, broadcast over that leaf (|x| for a scalar)',
    semantics: custom(([x], layout) => {
      if (typeof x === 'number') return Math.abs(x);
      const t = tensorArg(x);
      const out = new Float64Array(t.length);
      for (let l = 0; l < layout.sizes.length; l++) {
        const from = layout.offsets[l] as number;
        const to = from + (layout.sizes[l] as number);
        out.fill(Math.sqrt(sumSquares(t, from, to)), from, to);
      }
      return out;
    }),
  },

  // --- interpolation and reductions ------------------------------------------------------------
  {
    name: 'interp',
    group: 'reduction',
    args: ['N', 'N', 'S'],
    result: 'join',
    description: 'interp(x, y, w) = (1 - w) * x + w * y; the weight w (a scalar) weighs the second argument',
    semantics: ew((x, y, w) => (1 - w!) * x! + w! * y!),
  },
  {
    name: 'clip',
    group: 'reduction',
    args: ['T', 'S'],
    result: 'T',
    description: 'clip_by_global_norm: t * min(1, c / global_norm(t)); t unchanged when its norm is 0 or at most c',
    semantics: custom(([t, c]) => {
      const x = tensorArg(t);
      const gn = Math.sqrt(sumSquares(x));
      const cv = c as number;
      if (gn === 0 || gn <= cv) return Float64Array.from(x);
      return scaleFlat(x, cv / gn);
    }),
  },
  {
    name: 'global_norm',
    group: 'reduction',
    args: ['T'],
    result: 'S',
    description: 'sqrt of the sum of squares over all leaves',
    semantics: custom(([t]) => Math.sqrt(sumSquares(tensorArg(t)))),
  },
  {
    name: 'dot',
    group: 'reduction',
    commutative: true,
    args: ['T', 'T'],
    result: 'S',
    description: 'sum over all leaves of a * b',
    semantics: custom(([a, b]) => dotFlat(tensorArg(a), tensorArg(b))),
  },
  {
    name: 'cosine_sim',
    group: 'reduction',
    commutative: true,
    args: ['T', 'T'],
    result: 'S',
    description: 'protected cosine similarity dot(a, b) / (|a| * |b| + 1e-8)',
    semantics: custom(([a, b]) => {
      const x = tensorArg(a);
      const y = tensorArg(b);
      return dotFlat(x, y) / (Math.sqrt(sumSquares(x)) * Math.sqrt(sumSquares(y)) + EPS);
    }),
  },

  // --- Lion-K direction maps (gradients of convex K; see docs/lionk.md) --------------------------
  {
    name: 'unit_clip',
    group: 'lionk',
    args: ['N'],
    result: 'same',
    description: 'clip x to [-1, 1] element-wise (K = sum of Huber losses)',
    semantics: ew((x) => (x! > 1 ? 1 : x! < -1 ? -1 : x!)),
  },
  {
    name: 'rel_sign',
    group: 'lionk',
    args: ['N'],
    result: 'same',
    description: 'x / sqrt(1 + x^2) (K = sum sqrt(1 + y^2), relativistic)',
    semantics: ew((x) => relSign(x!)),
  },
  {
    name: 'l2_normalize',
    group: 'lionk',
    args: ['T'],
    result: 'T',
    description: 'x / global_norm(x), 0 when x is 0 (K = L2 norm of the whole tensor)',
    semantics: custom(([t]) => {
      const x = tensorArg(t);
      const gn = Math.sqrt(sumSquares(x));
      return gn === 0 ? new Float64Array(x.length) : scaleFlat(x, 1 / gn);
    }),
  },
  {
    name: 'thresh_sign',
    group: 'lionk',
    args: ['N', 'S'],
    result: 'join',
    description: 'sign(x) where |x| > e, else 0 (K = sum max(|y| - e, 0))',
    semantics: ew((x, e) => (Math.abs(x!) > e! ? sign(x!) : Math.abs(x!) <= e! ? 0 : NaN)),
  },

  // --- a name for a value: written `x = y` or `x = 1e-8`; the analyses see through it ---------------
  { name: 'copy', group: 'copy', args: ['N'], result: 'same', description: 'the value itself, written `x = y` or `x = 1e-8`', semantics: ew((x) => x!) },
] as const satisfies readonly OpSpec[];

export type OpName = (typeof OPS)[number]['name'];

export const OP_NAMES: readonly OpName[] = OPS.map((o) => o.name);

const BY_NAME = new Map<string, OpSpec>(OPS.map((o) => [o.name, o as OpSpec]));
const BY_INFIX = new Map<string, OpSpec>(
  (OPS as readonly OpSpec[]).filter((o) => o.infix !== undefined).map((o) => [o.infix as string, o]),
);

export function isOpName(name: string): name is OpName {
  return BY_NAME.has(name);
}

export function getOp(name: string): OpSpec | undefined {
  return BY_NAME.get(name);
}

export function opByInfix(symbol: string): OpSpec | undefined {
  return BY_INFIX.get(symbol);
}

/** The paper's function library (44: invert dropped), without the Lion-K additions and copy. */
export const PAPER_OPS: readonly OpName[] = OPS.filter((o) => o.group !== 'lionk' && o.group !== 'copy').map((o) => o.name);

/** The op behind `x = y` and `x = 1e-8`. */
export const COPY_OP = 'copy' satisfies OpName;

/** Ops a random program draws from by default: every op but copy, which computes nothing. */
export const COMPUTING_OPS: readonly OpName[] = OP_NAMES.filter((n) => n !== COPY_OP);

/** Result kind of an op given the kinds of its arguments (assumes the arguments passed the kind check). */
export function resultKind(op: OpSpec, argKinds: readonly Kind[]): Kind {
  switch (op.result) {
    case 'T':
      return 'tensor';
    case 'S':
      return 'scalar';
    case 'same':
      return argKinds[0] ?? 'scalar';
    case 'join':
      return argKinds.some((k) => k === 'tensor') ? 'tensor' : 'scalar';
  }
}

export function argAccepts(expected: ArgKind, actual: Kind): boolean {
  return expected === 'N' || (expected === 'T') === (actual === 'tensor');
}
