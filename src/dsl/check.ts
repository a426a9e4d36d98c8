/**
 * Abstract execution over kinds (Tensor / Scalar): finds unknown ops and names, wrong arity,
 * wrong argument kinds, reassignment with another kind, wrong return shape. Collects every issue.
 */
import { stateSlots, type Pos, type Program } from './ast.ts';
import { DslError, quoteText as q, type Diagnostic } from './errors.ts';
import { argAccepts, getOp, resultKind, type Kind } from './ops.ts';

export interface CheckResult {
  readonly ok: boolean;
  readonly diagnostics: readonly Diagnostic[];
  /** Kind of each statement's result, index-aligned with program.statements (undefined when unknown). */
  readonly statementKinds: readonly (Kind | undefined)[];
  /** Kind of every input. */
  readonly inputKinds: ReadonlyMap<string, Kind>;
}

const NOWHERE: Pos = { line: 1, col: 1 };

function kindName(k: Kind): string {
  return k === 'tensor' ? 'Tensor' : 'Scalar';
}

export function inputKind(p: Program, index: number): Kind {
  return index === p.inputs.length - 1 ? 'scalar' : 'tensor';
}

/** ' (update, m, v)' for a few short slot names; nothing when the list would make a long message. */
function expectedList(slots: readonly string[]): string {
  const names = ['update', ...slots];
  const text = names.join(', ');
  return text.length <= 60 ? ` (${text})` : '';
}

export function checkProgram(p: Program): CheckResult {
  const diags: Diagnostic[] = [];
  const env = new Map<string, Kind>();
  const inputKinds = new Map<string, Kind>();
  const headerPos = p.pos ?? NOWHERE;

  if (p.inputs.length < 3) {
    diags.push({
      code: 'signature',
      message: `${q(p.name)} needs at least the inputs (w, g, lr); found ${p.inputs.length}`,
      pos: headerPos,
    });
  }
  p.inputs.forEach((name, i) => {
    if (env.has(name)) {
      diags.push({ code: 'duplicate-input', message: `input ${q(name)} is listed twice`, pos: p.inputPositions?.[i] ?? headerPos });
      return;
    }
    const k = inputKind(p, i);
    env.set(name, k);
    inputKinds.set(name, k);
  });

  const statementKinds: (Kind | undefined)[] = [];
  // Targets of rejected statements: their kind is unknown, so later uses are not reported again.
  const poisoned = new Set<string>();
  const reject = (target: string): void => {
    statementKinds.push(undefined);
    if (!env.has(target)) poisoned.add(target);
  };
  for (const s of p.statements) {
    const pos = s.pos ?? NOWHERE;
    const spec = getOp(s.op);
    if (!spec) {
      diags.push({ code: 'unknown-op', message: `unknown function ${q(s.op)}`, pos });
      reject(s.target);
      continue;
    }
    let bad = false;
    if (s.args.length !== spec.args.length) {
      diags.push({
        code: 'arity',
        message: `${q(s.op)} takes ${spec.args.length} argument${spec.args.length === 1 ? '' : 's'}, got ${s.args.length}`,
        pos,
      });
      reject(s.target);
      continue;
    }
    const argKinds: Kind[] = [];
    s.args.forEach((a, i) => {
      const apos = a.pos ?? pos;
      let k: Kind | undefined;
      if (a.kind === 'num') k = 'scalar';
      else {
        k = env.get(a.name);
        if (k === undefined && poisoned.has(a.name)) {
          bad = true;
          return;
        }
        if (k === undefined) {
          diags.push({ code: 'unknown-name', message: `unknown name ${q(a.name)} (not an input and not assigned before)`, pos: apos });
          bad = true;
          return;
        }
      }
      const expected = spec.args[i]!;
      if (!argAccepts(expected, k)) {
        diags.push({
          code: 'arg-kind',
          message: `argument ${i + 1} of '${s.op}' must be a ${expected === 'T' ? 'Tensor' : 'Scalar'}, got a ${kindName(k)}${a.kind === 'var' ? ` (${q(a.name)})` : ''}`,
          pos: apos,
        });
        bad = true;
      }
      argKinds.push(k);
    });
    if (bad) {
      reject(s.target);
      continue;
    }
    const rk = resultKind(spec, argKinds);
    const prev = env.get(s.target);
    if (prev !== undefined && prev !== rk) {
      diags.push({
        code: 'reassign-kind',
        message: `${q(s.target)} is a ${kindName(prev)} and cannot be reassigned a ${kindName(rk)}`,
        pos,
      });
      statementKinds.push(undefined);
      continue;
    }
    env.set(s.target, rk);
    poisoned.delete(s.target);
    statementKinds.push(rk);
  }

  const retPos = p.returnPos ?? NOWHERE;
  const slots = stateSlots(p);
  if (p.outputs.length === 0) {
    diags.push({ code: 'missing-return', message: `${q(p.name)} returns nothing; expected the update and the state`, pos: retPos });
  } else if (p.outputs.length !== slots.length + 1) {
    diags.push({
      code: 'output-count',
      message: `return must list the update and ${slots.length} state slot${slots.length === 1 ? '' : 's'}${expectedList(slots)}; got ${p.outputs.length} value${p.outputs.length === 1 ? '' : 's'}`,
      pos: retPos,
    });
  }
  p.outputs.forEach((name, i) => {
    const k = env.get(name);
    const pos = p.outputPositions?.[i] ?? retPos;
    if (k === undefined && poisoned.has(name)) return;
    if (k === undefined) {
      diags.push({ code: 'unknown-name', message: `unknown name ${q(name)} in return`, pos });
      return;
    }
    if (i >= 1 && i <= slots.length && k !== 'tensor') {
      diags.push({
        code: 'state-kind',
        message: `state slot ${q(slots[i - 1] as string)} came in as a Tensor but ${q(name)} returned for it is a Scalar`,
        pos,
      });
    }
  });

  return { ok: diags.length === 0, diagnostics: diags, statementKinds, inputKinds };
}

/** Throws a DslError listing every diagnostic when the program is invalid. */
export function assertValid(p: Program): CheckResult {
  const r = checkProgram(p);
  if (!r.ok) throw new DslError(r.diagnostics);
  return r;
}

/** Final kind of every variable after the whole body runs (inputs included). */
export function variableKinds(p: Program, r: CheckResult): Map<string, Kind> {
  const m = new Map(r.inputKinds);
  p.statements.forEach((s, i) => {
    const k = r.statementKinds[i];
    if (k) m.set(s.target, k);
  });
  return m;
}
