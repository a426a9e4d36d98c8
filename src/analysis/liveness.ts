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
  // A statement is live when its node is live and the return or a live statement reads this
  // statement's binding (not an earlier or later one of the same name): readers come later, so one
  // backward pass decides. A copy or a duplicate shares a live node and still dies with its readers.
  const reads = bindingReads(p);
  const decide = (nodeLive: Uint8Array): boolean[] => {
    const live = new Array<boolean>(p.statements.length).fill(false);
    const readByLive = reads.byReturn.slice();
    for (let i = p.statements.length - 1; i >= 0; i--) {
      live[i] = nodeLive[statementNodes[i] as number] === 1 && readByLive[i] === true;
      if (live[i]) for (const b of reads.byStatement[i] as number[]) readByLive[b] = true;
    }
    return live;
  };
  return { singleCall: decide(lv.singleCall), crossStep: decide(lv.crossStep), liveSlots: lv.liveSlots };
}

/** Which earlier statement's binding each statement's arguments read, and which bindings the return reads. */
function bindingReads(p: Program): { byStatement: number[][]; byReturn: boolean[] } {
  const byReturn = new Array<boolean>(p.statements.length).fill(false);
  const binding = new Map<string, number>();
  const byStatement = p.statements.map((s, i) => {
    const read: number[] = [];
    for (const a of s.args) if (a.kind === 'var') {
      const b = binding.get(a.name);
      if (b !== undefined) read.push(b);
    }
    binding.set(s.target, i);
    return read;
  });
  for (const o of p.outputs) {
    const b = binding.get(o);
    if (b !== undefined) byReturn[b] = true;
  }
  return { byStatement, byReturn };
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
