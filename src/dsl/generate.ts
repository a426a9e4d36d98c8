/**
 * Random valid programs and statements, driven by the op table. Used by tests now and by mutation.
 */
import type { Arg, Program, Statement } from './ast.ts';
import { argAccepts, COMPUTING_OPS, getOp, resultKind, type Kind, type OpName, type OpSpec } from './ops.ts';
import type { Rng } from '../util/rng.ts';

export interface GenerateOptions {
  /** Number of statements. */
  readonly length: number;
  /** Ops to draw from (default: the whole table). */
  readonly ops?: readonly OpName[];
  /** State slot names (default m, v). */
  readonly slots?: readonly string[];
  /** Probability that an argument that may be a Scalar is a fresh constant. */
  readonly constantProb?: number;
  /** Probability that a statement assigns to an existing variable of the same kind. */
  readonly reuseProb?: number;
  /** How constants are drawn (default: N(0, 1) or 10^U(-4, 0) with a random sign). */
  readonly constant?: (rng: Rng) => number;
}

export function defaultConstant(rng: Rng): number {
  if (rng.next() < 0.5) return round6(rng.normal());
  const mag = Math.pow(10, rng.uniform(-4, 0));
  return round6(rng.next() < 0.8 ? mag : -mag);
}

function round6(x: number): number {
  return Number(x.toPrecision(6));
}

/** A scope: variable names with their kinds, in order of definition. */
export type Scope = Map<string, Kind>;

export function scopeOfInputs(inputs: readonly string[]): Scope {
  const m: Scope = new Map();
  inputs.forEach((n, i) => m.set(n, i === inputs.length - 1 ? 'scalar' : 'tensor'));
  return m;
}

/** Random arguments for `spec` from `scope`, or undefined if some argument cannot be filled. */
export function randomArgs(rng: Rng, spec: OpSpec, scope: Scope, constantProb: number, constant: (r: Rng) => number): Arg[] | undefined {
  const names = [...scope.keys()];
  const args: Arg[] = [];
  for (const expected of spec.args) {
    const candidates = names.filter((n) => argAccepts(expected, scope.get(n) as Kind));
    const canBeConst = expected !== 'T';
    if (canBeConst && (candidates.length === 0 || rng.next() < constantProb)) {
      args.push({ kind: 'num', value: constant(rng) });
    } else if (candidates.length > 0) {
      args.push({ kind: 'var', name: rng.pick(candidates) });
    } else return undefined;
  }
  // An op on constants only (`v1 = add(0.5, 2)`) is legal and kept: mutation may later turn a constant into a variable.
  return args;
}

export function argKindsOf(args: readonly Arg[], scope: Scope): Kind[] {
  return args.map((a) => (a.kind === 'num' ? 'scalar' : (scope.get(a.name) as Kind)));
}


/** A random valid statement over `scope` (which is not modified). */
export function randomStatement(
  rng: Rng,
  scope: Scope,
  opts: { ops?: readonly OpName[]; constantProb?: number; reuseProb?: number; constant?: (r: Rng) => number; taken?: Set<string> },
): Statement {
  const ops = opts.ops ?? COMPUTING_OPS;
  const constantProb = opts.constantProb ?? 0.3;
  const constant = opts.constant ?? defaultConstant;
  for (let attempt = 0; attempt < 1000; attempt++) {
    const spec = getOp(rng.pick(ops)) as OpSpec;
    const args = randomArgs(rng, spec, scope, constantProb, constant);
    if (!args) continue;
    const kind = resultKind(spec, argKindsOf(args, scope));
    const sameKind = [...scope.keys()].filter((n) => scope.get(n) === kind);
    let target: string;
    if (sameKind.length > 0 && rng.next() < (opts.reuseProb ?? 0.3)) target = rng.pick(sameKind);
    else target = freshName(rng, scope, opts.taken);
    return { target, op: spec.name, args };
  }
  throw new Error('could not generate a statement: no op in the list can be filled from this scope');
}

/** A variable name v<k> not in scope (k drawn from [0, 1000) as in the paper's tool, widened on collision). */
export function freshName(rng: Rng, scope: Scope, taken?: Set<string>): string {
  for (let range = 1000; ; range *= 10) {
    for (let i = 0; i < 20; i++) {
      const name = `v${rng.int(range)}`;
      if (!scope.has(name) && !taken?.has(name)) return name;
    }
  }
}

/** A random valid program: `length` statements, then the update and the state slots returned. */
export function randomProgram(rng: Rng, opts: GenerateOptions): Program {
  const slots = opts.slots ?? ['m', 'v'];
  const inputs = ['w', 'g', ...slots, 'lr'];
  const scope = scopeOfInputs(inputs);
  const statements: Statement[] = [];
  for (let i = 0; i < opts.length; i++) {
    const s = randomStatement(rng, scope, {
      ...(opts.ops ? { ops: opts.ops } : {}),
      constantProb: opts.constantProb ?? 0.3,
      reuseProb: opts.reuseProb ?? 0.3,
      ...(opts.constant ? { constant: opts.constant } : {}),
    });
    statements.push(s);
    scope.set(s.target, resultKind(getOp(s.op) as OpSpec, argKindsOf(s.args, scope)));
  }
  const tensors = [...scope.keys()].filter((n) => scope.get(n) === 'tensor');
  const assigned = statements.map((s) => s.target).filter((n) => scope.get(n) === 'tensor');
  const update = assigned.length > 0 ? (assigned[assigned.length - 1] as string) : rng.pick(tensors);
  const outputs = [update, ...slots.map(() => rng.pick(tensors))];
  return { name: 'train', inputs, statements, outputs };
}
