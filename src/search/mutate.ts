/**
 * The paper's mutations over the raw genome (dead code is kept: it is a stepping stone).
 * One table, MUTATION_KINDS, holds each kind's applicability test and its handler. mutate() draws a
 * kind by the space's weights and retries until the child type-checks and its hash differs from the
 * parent's (Hero's mutate_function_until guard). The hash is injected so that this layer does not fix
 * the equivalence notion; the search passes the structural hash of src/analysis/hash.ts.
 */
import type { Arg, Program, Statement } from '../dsl/ast.ts';
import { checkProgram } from '../dsl/check.ts';
import { defaultConstant, randomStatement, type Scope } from '../dsl/generate.ts';
import { argAccepts, getOp, type Kind } from '../dsl/ops.ts';
import { formatArg, formatNumber, formatStatement, printProgram } from '../dsl/print.ts';
import type { Rng } from '../util/rng.ts';
import { MUTATION_KIND_NAMES, type ConstantDistribution, type ConstantMutation, type MutationKind, type SearchSpace } from './space.ts';

export type { MutationKind } from './space.ts';

export interface Mutation {
  readonly child: Program;
  readonly kind: MutationKind;
  /** One readable line; statement numbers count from 1 ("insert at 3: v12 = tanh(m)"). */
  readonly detail: string;
  /** hash(child), already computed by the guard (the cache needs it next). */
  readonly childHash: string;
}

/** What a handler needs to know about the parent, computed once per mutate() call. */
export interface ParentInfo {
  readonly program: Program;
  /** Kind of each statement's result (the parent is valid, so all are known). */
  readonly kinds: readonly Kind[];
  /** Every name the program uses: inputs and targets (fresh names must avoid all of them). */
  readonly names: ReadonlySet<string>;
  /** Indices of statements that take at least one argument. */
  readonly withArgs: readonly number[];
  /** Every constant argument as [statement, argument]. */
  readonly constants: readonly (readonly [number, number])[];
}

export interface MutationHandler {
  /** Whether this kind can change this parent at all within the space's limits. */
  applies(info: ParentInfo, space: SearchSpace): boolean;
  /**
   * One attempt; undefined when the drawn change is impossible (the caller retries). `deadAtBirth`
   * marks a change that only adds a statement nothing reads (an insertion into a fresh variable).
   */
  apply(info: ParentInfo, rng: Rng, space: SearchSpace): { child: Program; detail: string; deadAtBirth?: boolean } | undefined;
}

/** Inputs and the targets of statements [0, position) with their kinds: the scope at `position`. */
export function scopeAt(info: ParentInfo, position: number): Scope {
  const p = info.program;
  const scope: Scope = new Map();
  p.inputs.forEach((n, i) => scope.set(n, i === p.inputs.length - 1 ? 'scalar' : 'tensor'));
  for (let i = 0; i < position; i++) scope.set((p.statements[i] as Statement).target, info.kinds[i] as Kind);
  return scope;
}

function roundTo(x: number, digits: number): number {
  return digits >= 17 ? x : Number(x.toPrecision(digits));
}

/** A fresh constant from the space's insert distribution. */
export function drawConstant(rng: Rng, dist: ConstantDistribution, digits: number): number {
  switch (dist.kind) {
    case 'fixed':
      return dist.value;
    case 'normal':
      return roundTo(dist.mean + dist.std * rng.normal(), digits);
    case 'mixed':
      return defaultConstant(rng);
  }
}

/**
 * The paper's constant mutation: with probability multiplyProb multiply by 2^(log2Std * N(0, 1)),
 * else replace by N(0, 1); clamp and round. Returns the new value and which rule fired.
 */
export function mutateConstant(value: number, rng: Rng, m: ConstantMutation): { value: number; rule: 'multiply' | 'replace'; exponent?: number } {
  let v: number;
  let exponent: number | undefined;
  const multiply = rng.next() < m.multiplyProb;
  if (multiply) {
    exponent = m.log2Std * rng.normal();
    v = value * Math.pow(2, exponent);
  } else v = rng.normal();
  v = Math.min(m.clamp, Math.max(-m.clamp, v));
  v = roundTo(v, m.digits);
  if (Object.is(v, -0)) v = 0;
  return multiply ? { value: v, rule: 'multiply', exponent: exponent as number } : { value: v, rule: 'replace' };
}

function withStatements(p: Program, statements: Statement[]): Program {
  return { name: p.name, inputs: p.inputs, statements, outputs: p.outputs };
}

function replaceArg(s: Statement, index: number, arg: Arg): Statement {
  const args = s.args.slice();
  args[index] = arg;
  return { target: s.target, op: s.op, args };
}

export const MUTATION_KINDS: { readonly [K in MutationKind]: MutationHandler } = {
  insert: {
    applies: (info, space) => info.program.statements.length < space.length.max && space.ops.length > 0,
    apply(info, rng, space) {
      const p = info.program;
      const position = rng.int(p.statements.length + 1);
      const { digits } = space.constants.mutation;
      let statement: Statement;
      try {
        statement = randomStatement(rng, scopeAt(info, position), {
          ops: space.ops,
          constantProb: space.insert.constantProb,
          reuseProb: space.insert.reuseProb,
          constant: (r) => drawConstant(r, space.constants.insert, digits),
          taken: info.names as Set<string>,
        });
      } catch {
        return undefined;
      }
      const statements = p.statements.slice();
      statements.splice(position, 0, statement);
      // A fresh target is a name no statement reads: the new statement is dead code.
      const deadAtBirth = !info.names.has(statement.target);
      return { child: withStatements(p, statements), detail: `insert at ${position + 1}: ${formatStatement(statement)}`, deadAtBirth };
    },
  },

  delete: {
    applies: (info, space) => info.program.statements.length > space.length.min,
    apply(info, rng) {
      const p = info.program;
      const index = rng.int(p.statements.length);
      const statements = p.statements.slice();
      const [removed] = statements.splice(index, 1);
      return { child: withStatements(p, statements), detail: `delete statement ${index + 1}: ${formatStatement(removed as Statement)}` };
    },
  },

  modifyArgument: {
    applies: (info) => info.withArgs.length > 0,
    apply(info, rng, space) {
      const p = info.program;
      const index = rng.pick(info.withArgs);
      const s = p.statements[index] as Statement;
      const argIndex = rng.int(s.args.length);
      const current = s.args[argIndex] as Arg;
      const expected = getOp(s.op)?.args[argIndex];
      if (expected === undefined) return undefined;
      const scope = scopeAt(info, index);
      const options: (string | null)[] = [];
      for (const [name, kind] of scope) {
        if (argAccepts(expected, kind) && !(current.kind === 'var' && current.name === name)) options.push(name);
      }
      // A constant is one more option where a Scalar fits and the argument is not already a constant.
      if (expected !== 'T' && current.kind === 'var') options.push(null);
      if (options.length === 0) return undefined;
      const choice = rng.pick(options);
      const arg: Arg =
        choice === null
          ? { kind: 'num', value: drawConstant(rng, space.constants.insert, space.constants.mutation.digits) }
          : { kind: 'var', name: choice };
      const statements = p.statements.slice();
      const changed = replaceArg(s, argIndex, arg);
      statements[index] = changed;
      return {
        child: withStatements(p, statements),
        detail: `argument ${argIndex + 1} of statement ${index + 1}: ${formatArg(current)} -> ${formatArg(arg)} (${formatStatement(changed)})`,
      };
    },
  },

  modifyConstant: {
    applies: (info) => info.constants.length > 0,
    apply(info, rng, space) {
      const p = info.program;
      const [index, argIndex] = rng.pick(info.constants);
      const s = p.statements[index] as Statement;
      const current = s.args[argIndex] as Arg;
      if (current.kind !== 'num') return undefined;
      const m = mutateConstant(current.value, rng, space.constants.mutation);
      if (Object.is(m.value, current.value) || !Number.isFinite(m.value)) return undefined;
      const statements = p.statements.slice();
      statements[index] = replaceArg(s, argIndex, { kind: 'num', value: m.value });
      const how = m.rule === 'multiply' ? `x 2^${formatNumber(roundTo(m.exponent as number, 3))}` : 'replaced by N(0,1)';
      return {
        child: withStatements(p, statements),
        detail: `constant ${formatNumber(current.value)} -> ${formatNumber(m.value)} in statement ${index + 1} (${how})`,
      };
    },
  },
};

/**
 * No child for this parent: no mutation kind applies within the space's limits, or every attempt
 * failed the check or the hash guard. A search skips the parent; any other error from mutate() is a bug.
 */
export class MutationFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MutationFailure';
  }
}

/** Parent facts by program object: a parent is mutated many times, and a child's check is reused when it becomes one. */
const INFO_CACHE = new WeakMap<Program, ParentInfo>();

function infoFromCheck(parent: Program, kinds: readonly (Kind | undefined)[]): ParentInfo {
  const names = new Set<string>(parent.inputs);
  const withArgs: number[] = [];
  const constants: [number, number][] = [];
  parent.statements.forEach((s, i) => {
    names.add(s.target);
    if (s.args.length > 0) withArgs.push(i);
    s.args.forEach((a, j) => {
      if (a.kind === 'num') constants.push([i, j]);
    });
  });
  const info: ParentInfo = { program: parent, kinds: kinds as Kind[], names, withArgs, constants };
  INFO_CACHE.set(parent, info);
  return info;
}

/** Facts about a valid parent; throws when the parent does not type-check. */
export function parentInfo(parent: Program): ParentInfo {
  const cached = INFO_CACHE.get(parent);
  if (cached) return cached;
  const checked = checkProgram(parent);
  if (!checked.ok) throw new Error(`mutate: the parent program is invalid: ${checked.diagnostics[0]?.message ?? 'unknown problem'}`);
  return infoFromCheck(parent, checked.statementKinds);
}

/** The kinds that can apply to this parent, with the space's weights (0 where a kind cannot apply). */
export function kindWeights(info: ParentInfo, space: SearchSpace): number[] {
  return MUTATION_KIND_NAMES.map((k) => (MUTATION_KINDS[k].applies(info, space) ? space.mutation.weights[k] : 0));
}

/** What the caller of mutate() knows about the parent and the hash. */
export interface MutateOptions {
  /** hash(parent), when the caller knows it (saves one hash call). */
  readonly parentHash?: string;
  /**
   * The hash ignores dead code (the structural hash does): a change that only adds dead code cannot
   * change it, so such attempts are retried without checking or hashing.
   */
  readonly hashIgnoresDeadCode?: boolean;
  /**
   * Accept a neutral child too: one whose change the hash does not see (dead code) but whose genome
   * differs. The paper keeps such statements as stepping stones for later mutations.
   */
  readonly neutral?: boolean;
}

/**
 * One mutation of `parent`: a child that type-checks, stays within the space's limits and op list,
 * and has a different hash (or, with `neutral`, a different genome). Throws MutationFailure when no kind can apply, or after space.mutation.maxTries
 * attempts; an invalid parent is the caller's bug (a plain Error).
 *
 * With a hash blind to dead code (the structural hash), an insertion into a fresh variable is dead
 * at birth and is retried; dead code still enters the genome when a later change stops its use.
 */
export function mutate(parent: Program, rng: Rng, space: SearchSpace, hash: (p: Program) => string, opts: MutateOptions = {}): Mutation {
  const info = parentInfo(parent);
  const weights = kindWeights(info, space);
  if (!weights.some((w) => w > 0)) {
    throw new MutationFailure(`mutate: no mutation kind with a positive weight applies to a ${parent.statements.length}-statement program in space '${space.name}'`);
  }
  const before = opts.parentHash ?? hash(parent);
  const parentText = opts.neutral ? printProgram(parent) : '';
  for (let attempt = 0; attempt < space.mutation.maxTries; attempt++) {
    const kind = MUTATION_KIND_NAMES[rng.weighted(weights)] as MutationKind;
    const made = MUTATION_KINDS[kind].apply(info, rng, space);
    if (made === undefined || (made.deadAtBirth && opts.hashIgnoresDeadCode && !opts.neutral)) continue;
    const checked = checkProgram(made.child);
    if (!checked.ok) continue;
    const childHash = hash(made.child);
    if (childHash === before && !(opts.neutral && printProgram(made.child) !== parentText)) continue;
    infoFromCheck(made.child, checked.statementKinds);
    return { child: made.child, kind, detail: made.detail, childHash };
  }
  throw new MutationFailure(`mutate: no valid child with a new hash after ${space.mutation.maxTries} attempts`);
}
