/**
 * The part shared by the Python exports (NumPy, PyTorch, optax): a checked program becomes the body
 * of a Python function `rule(w, g, slot..., lr)` in which a Tensor is a Python list with one array per
 * leaf (one per parameter tensor) and a Scalar is a scalar of the target library. Element-wise ops
 * become list comprehensions over the leaves; reductions call helpers that sum over every leaf.
 *
 * Each target supplies a Dialect: its lowering of every op (a Record keyed by OpName, so an op without
 * a lowering is a type error) and the helper functions those lowerings call. Code is generated from
 * the checked AST only: names come from the op table and the program's identifiers (renamed where they
 * would clash with Python), numbers are printed from the parsed doubles.
 */
import type { Arg, Program } from '../dsl/ast.ts';
import { assertValid, variableKinds } from '../dsl/check.ts';
import { isOpName, type Kind, type OpName } from '../dsl/ops.ts';
import { formatNumber, printProgram } from '../dsl/print.ts';
import { pythonNames } from './names.ts';

/**
 * How one op becomes Python.
 * - map: an element-wise expression, applied per leaf when the result is a Tensor (arguments are then
 *   per-leaf arrays or scalars) and once when it is a Scalar (`scalar` overrides the form for that case).
 * - whole: an expression over whole values: Tensor arguments are the lists of leaves.
 * `infix` marks expressions built from Python operators only (they accept plain float literals);
 * `helpers` names the helper functions of the dialect the expression calls.
 */
export type PyLowering =
  | {
      readonly type: 'map';
      readonly expr: (a: readonly string[]) => string;
      readonly scalar?: (a: readonly string[]) => string;
      readonly infix?: boolean;
      readonly helpers?: readonly string[];
    }
  | { readonly type: 'whole'; readonly expr: (a: readonly string[]) => string; readonly helpers?: readonly string[] };

/** Constructors for the per-format op tables (numpy, pytorch, optax). */
export const call = (fn: string): PyLowering => ({ type: 'map', expr: ([a]) => `${fn}(${a})` });
export const call2 = (fn: string): PyLowering => ({ type: 'map', expr: ([a, b]) => `${fn}(${a}, ${b})` });
export const helper = (fn: string): PyLowering => ({ type: 'map', expr: (a) => `${fn}(${a.join(', ')})`, helpers: [fn] });
export const infix = (expr: (a: readonly string[]) => string): PyLowering => ({ type: 'map', expr, infix: true });
export const whole = (fn: string): PyLowering => ({ type: 'whole', expr: (a) => `${fn}(${a.join(', ')})`, helpers: [fn] });
export const constant = (code: string): PyLowering => ({ type: 'whole', expr: () => code });
/** The value itself (`x = y` binds the same list; lists are never changed in place). */
export const same: PyLowering = { type: 'whole', expr: ([a]) => a as string };

export interface PyDialect {
  readonly ops: Record<OpName, PyLowering>;
  /** Helper name -> Python source of its definition. */
  readonly helpers: Readonly<Record<string, string>>;
  /** Helpers a helper itself calls. */
  readonly helperDeps?: Readonly<Record<string, readonly string[]>>;
  /** A literal as a scalar of the target library (for ops whose arguments are all literals). */
  readonly typedConstant: (literal: string) => string;
  /** The target's functions reject plain floats, so literals passed to a non-infix lowering are typed. */
  readonly typeLiteralsInCalls: boolean;
  /**
   * Typed constants are made once per call, before the statements, and named _k0, _k1, ... (for
   * PyTorch: a constant built inside a per-leaf comprehension would be copied to the device per leaf).
   */
  readonly hoistTypedConstants?: boolean;
  /** Lines at the start of rule's body (for example a maker of typed constants), given the input names and the body. */
  readonly prologue?: (inputNames: readonly string[], body: readonly string[]) => readonly string[];
}

/** A double as a Python float literal that reads back as the same double (`float(s)`). */
export function pythonFloat(x: number): string {
  const s = formatNumber(x);
  return /^-?[0-9]+$/.test(s) ? `${s}.0` : s;
}

export function pyString(s: string): string {
  return JSON.stringify(s);
}

export interface PythonRule {
  /** `def rule(...):` and its indented body, ending with the return. */
  readonly lines: readonly string[];
  /** Helper definitions the body needs, in a stable order. */
  readonly helperSources: readonly string[];
  /** Python names of the inputs, in program order (w, g, slots..., lr). */
  readonly inputNames: readonly string[];
  /** Python names of the returned values (update, slots...). */
  readonly outputNames: readonly string[];
  /** Python names of the state slots (inputs between g and lr). */
  readonly slotNames: readonly string[];
  /** The program's own names of the state slots (used as state keys, which need not be identifiers). */
  readonly slotLabels: readonly string[];
  /** Whether the update is a Scalar (it then broadcasts over every weight). */
  readonly scalarUpdate: boolean;
}

/** The program listing as Python comment lines. */
export function programComment(p: Program, indent = ''): string[] {
  return printProgram(p)
    .trimEnd()
    .split('\n')
    .map((l) => `${indent}#   ${l}`);
}

/** Generates `def rule(...)` for a checked program in the given dialect. */
export function emitRule(p: Program, dialect: PyDialect, indent = ''): PythonRule {
  const check = assertValid(p);
  const kinds = variableKinds(p, check);
  const names = pythonNames([...p.inputs, ...p.statements.map((s) => s.target)]);
  const py = (n: string): string => names.get(n) as string;
  const kindOf = (a: Arg): Kind => (a.kind === 'num' ? 'scalar' : (kinds.get(a.name) as Kind));
  const used = new Set<string>();
  const body: string[] = [];
  const hoisted = new Map<string, string>(); // literal -> name
  const typedConstant = (lit: string): string => {
    if (!dialect.hoistTypedConstants) return dialect.typedConstant(lit);
    let name = hoisted.get(lit);
    if (name === undefined) {
      name = `_k${hoisted.size}`;
      hoisted.set(lit, name);
    }
    return name;
  };

  for (const s of p.statements) {
    if (!isOpName(s.op)) throw new Error(`unknown op '${s.op}'`); // unreachable after assertValid
    const low = dialect.ops[s.op];
    for (const h of low.helpers ?? []) used.add(h);
    const hasVar = s.args.some((a) => a.kind === 'var');
    const firstLiteral = s.args.findIndex((a) => a.kind === 'num');
    const infix = low.type === 'map' && low.infix === true;
    const tensorResult = kinds.get(s.target) === 'tensor';
    const loopVars: string[] = [];
    const lists: string[] = [];
    const args = s.args.map((a, j) => {
      if (a.kind === 'num') {
        const lit = pythonFloat(a.value);
        const typed = (!hasVar && j === firstLiteral) || (dialect.typeLiteralsInCalls && !infix);
        return typed ? typedConstant(lit) : lit;
      }
      const name = py(a.name);
      if (low.type === 'map' && tensorResult && kindOf(a) === 'tensor') {
        if (!lists.includes(name)) {
          lists.push(name);
          loopVars.push(`${name}_`);
        }
        return `${name}_`;
      }
      return name;
    });
    let rhs: string;
    if (low.type === 'whole') rhs = low.expr(args);
    else if (!tensorResult) rhs = (low.scalar ?? low.expr)(args);
    else {
      const source = lists.length === 1 ? (lists[0] as string) : `zip(${lists.join(', ')})`;
      rhs = `[${low.expr(args)} for ${loopVars.join(', ')} in ${source}]`;
    }
    body.push(`${py(s.target)} = ${rhs}`);
  }

  const outputNames = p.outputs.map(py);
  const inputNames = p.inputs.map(py);

  // helpers in a stable order, with their own dependencies
  const order = Object.keys(dialect.helpers);
  const need = new Set<string>();
  const visit = (h: string): void => {
    if (need.has(h)) return;
    need.add(h);
    for (const d of dialect.helperDeps?.[h] ?? []) visit(d);
  };
  for (const h of used) visit(h);
  const helperSources = order.filter((h) => need.has(h)).map((h) => dialect.helpers[h] as string);

  const statements = [...[...hoisted].map(([lit, name]) => `${name} = ${dialect.typedConstant(lit)}`), ...body];
  const inner = `${indent}    `;
  const lines = [
    `${indent}def rule(${inputNames.join(', ')}):`,
    `${inner}"""One call of the program: returns the update (w_new = w - update) and the new state."""`,
    ...(dialect.prologue?.(p.inputs.map(py), statements) ?? []).map((l) => (l.length > 0 ? inner + l : l)),
    ...statements.map((l) => inner + l),
    // a trailing comma keeps a lone update a tuple, so callers can always unpack
    `${inner}return ${outputNames.join(', ')}${outputNames.length === 1 ? ',' : ''}`,
  ];
  return {
    lines,
    helperSources,
    inputNames,
    outputNames,
    slotNames: inputNames.slice(2, -1),
    slotLabels: p.inputs.slice(2, -1),
    scalarUpdate: kinds.get(p.outputs[0] as string) === 'scalar',
  };
}

/** Indents every line of a multi-line block. */
export function indentBlock(src: string, indent: string): string {
  return src
    .split('\n')
    .map((l) => (l.length > 0 ? indent + l : l))
    .join('\n');
}
