/**
 * Which statements matter. Single-call liveness is the paper's: a statement is live when a returned
 * value depends on it. Cross-step liveness treats the state returned by call t as the state read
 * by call t + 1: a slot whose returned value the next call overwrites before reading is dead, and
 * so is everything only it fed (this removes `m = cosh(update)` from the paper's Program 4).
 *
 * Representation of a dead slot: it stays in the signature and returns its own input unchanged
 * (`return update, m, v` with `m` never assigned). Its value is then zero at every step, but no
 * live statement reads it, so the update sequence over any number of steps is unchanged.
 */
import type { Program } from '../dsl/ast.ts';
import { buildGraph, liveness as graphLiveness } from './graph.ts';

export interface ProgramLiveness {
  /** Per statement: a returned value of this call depends on it (the paper's liveness). */
  readonly singleCall: readonly boolean[];
  /** Per statement: the update of this or a later call depends on it. */
  readonly crossStep: readonly boolean[];
  /** Per state slot: its returned value is read by a later call. */
  readonly liveSlots: readonly boolean[];
}

/**
 * Liveness of every statement. A statement that computes the same value as an earlier live one is
 * reported live only at its first occurrence when its own result is never read (it is merged).
 */
export function analyzeLiveness(p: Program): ProgramLiveness {
  const { graph, outputs, statementNodes } = buildGraph(p);
  const lv = graphLiveness(graph, outputs);
  // A statement is live when its node is live and some later read (or the return) sees this
  // statement's binding rather than an earlier or later one of the same name.
  const used = readBindings(p);
  const singleCall = statementNodes.map((n, i) => lv.singleCall[n] === 1 && used[i] === true);
  const crossStep = statementNodes.map((n, i) => lv.crossStep[n] === 1 && used[i] === true);
  return { singleCall, crossStep, liveSlots: lv.liveSlots };
}

/** Per statement: whether any later argument or the return reads the name it binds. */
function readBindings(p: Program): boolean[] {
  const used = new Array<boolean>(p.statements.length).fill(false);
  const binding = new Map<string, number>();
  p.statements.forEach((s, i) => {
    for (const a of s.args) if (a.kind === 'var') {
      const b = binding.get(a.name);
      if (b !== undefined) used[b] = true;
    }
    binding.set(s.target, i);
  });
  for (const o of p.outputs) {
    const b = binding.get(o);
    if (b !== undefined) used[b] = true;
  }
  return used;
}

/**
 * The program with dead statements removed (names and order otherwise kept). With `crossStep`
 * (the default) dead state slots return their input unchanged, as described above.
 */
export function removeDeadCode(p: Program, opts: { crossStep?: boolean } = {}): { program: Program; removed: number[] } {
  const lv = analyzeLiveness(p);
  const cross = opts.crossStep !== false;
  const keep = cross ? lv.crossStep : lv.singleCall;
  const removed: number[] = [];
  const statements = p.statements.filter((_, i) => {
    if (!keep[i]) removed.push(i);
    return keep[i];
  });
  const slots = p.inputs.slice(2, -1);
  const outputs = cross ? p.outputs.map((o, i) => (i === 0 || lv.liveSlots[i - 1] ? o : (slots[i - 1] as string))) : [...p.outputs];
  return { program: { ...p, statements, outputs }, removed };
}
