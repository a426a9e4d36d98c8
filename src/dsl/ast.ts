/**
 * The optimizer-program AST. Programs are immutable plain data: passes build new programs.
 *
 * Signature convention (the paper's): inputs are (w, g, slot_1..slot_k, lr).
 * inputs[0] is the weights, inputs[1] the gradient, the last input the learning-rate schedule's value,
 * everything in between a state slot (a Tensor, zero at step 0).
 * outputs[0] is the update (the caller applies w = w - update); outputs[i] for i >= 1 is the new value
 * of state slot i.
 */

export interface Pos {
  line: number;
  col: number;
}

export type Arg = VarArg | NumArg;

export interface VarArg {
  readonly kind: 'var';
  readonly name: string;
  readonly pos?: Pos;
}

export interface NumArg {
  readonly kind: 'num';
  readonly value: number;
  readonly pos?: Pos;
}

export interface Statement {
  readonly target: string;
  /** An op name from ops.ts. Kept as string here; check.ts validates it. */
  readonly op: string;
  readonly args: readonly Arg[];
  readonly pos?: Pos;
}

export interface Program {
  readonly name: string;
  readonly inputs: readonly string[];
  readonly statements: readonly Statement[];
  readonly outputs: readonly string[];
  /** Position of the `def` line, when parsed from text. */
  readonly pos?: Pos;
  /** Position of the `return` line, when parsed from text. */
  readonly returnPos?: Pos;
  /** Position of each input name in the `def` line, when parsed from text (index-aligned with inputs). */
  readonly inputPositions?: readonly Pos[];
  /** Position of each name in the `return` line, when parsed from text (index-aligned with outputs). */
  readonly outputPositions?: readonly Pos[];
}

/** Words the syntax reserves; they cannot name a program, an input or a variable. */
export const KEYWORDS: ReadonlySet<string> = new Set(['def', 'return']);

/** A name the parser reads back as one name: letters, digits and '_', not starting with a digit, not a keyword. */
export function isIdentifier(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !KEYWORDS.has(name);
}

export const varArg = (name: string): VarArg => ({ kind: 'var', name });
export const numArg = (value: number): NumArg => ({ kind: 'num', value });

/** Names of the state slots (inputs between g and lr). */
export function stateSlots(p: Program): readonly string[] {
  return p.inputs.slice(2, -1);
}

export function weightsInput(p: Program): string {
  return p.inputs[0] as string;
}

export function gradientInput(p: Program): string {
  return p.inputs[1] as string;
}

export function lrInput(p: Program): string {
  return p.inputs[p.inputs.length - 1] as string;
}

function argEqual(a: Arg, b: Arg): boolean {
  if (a.kind === 'var') return b.kind === 'var' && a.name === b.name;
  return b.kind === 'num' && Object.is(a.value, b.value);
}

/** Structural equality that ignores source positions. */
export function programsEqual(a: Program, b: Program): boolean {
  if (a.name !== b.name) return false;
  if (a.inputs.length !== b.inputs.length || a.inputs.some((x, i) => x !== b.inputs[i])) return false;
  if (a.outputs.length !== b.outputs.length || a.outputs.some((x, i) => x !== b.outputs[i])) return false;
  if (a.statements.length !== b.statements.length) return false;
  for (let i = 0; i < a.statements.length; i++) {
    const s = a.statements[i] as Statement;
    const t = b.statements[i] as Statement;
    if (s.target !== t.target || s.op !== t.op || s.args.length !== t.args.length) return false;
    for (let j = 0; j < s.args.length; j++) {
      if (!argEqual(s.args[j] as Arg, t.args[j] as Arg)) return false;
    }
  }
  return true;
}

/** A copy without source positions (useful for comparison and storage). */
export function stripPositions(p: Program): Program {
  return {
    name: p.name,
    inputs: [...p.inputs],
    outputs: [...p.outputs],
    statements: p.statements.map((s) => ({
      target: s.target,
      op: s.op,
      args: s.args.map((a) => (a.kind === 'var' ? varArg(a.name) : numArg(a.value))),
    })),
  };
}
