/**
 * A search space as data: search-spaces/<name>.json, validated on load. Every problem is reported as
 * one line naming the file and the field ("search-spaces/foo.json: mutation.weights.insert must be a
 * non-negative number"). The loaded space is deeply frozen, so nothing downstream can change it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Program } from '../dsl/ast.ts';
import { stateSlots } from '../dsl/ast.ts';
import { checkProgram } from '../dsl/check.ts';
import { DslError, formatDiagnostic } from '../dsl/errors.ts';
import { COPY_OP, getOp, isOpName, type OpName } from '../dsl/ops.ts';
import { parseProgram } from '../dsl/parse.ts';
import { FIDELITIES } from '../vocabulary/index.ts';

/** The mutation kinds, in the order used by weights and tables everywhere. */
export const MUTATION_KIND_NAMES = ['insert', 'delete', 'modifyArgument', 'modifyConstant'] as const;
export type MutationKind = (typeof MUTATION_KIND_NAMES)[number];

/** How a fresh constant is drawn when an insertion needs one. */
export type ConstantDistribution =
  | { readonly kind: 'normal'; readonly mean: number; readonly std: number }
  | { readonly kind: 'fixed'; readonly value: number }
  /** Half N(0, 1), half +-10^U(-4, 0) (80% positive): src/dsl/generate.ts defaultConstant. */
  | { readonly kind: 'mixed' };

export interface ConstantMutation {
  /** Probability of multiplying by 2^(scale * N(0, 1)); otherwise the constant is replaced by N(0, 1). */
  readonly multiplyProb: number;
  /** Standard deviation of the exponent a in 2^a (the paper: 1). */
  readonly log2Std: number;
  /** Results are clamped to [-clamp, clamp] (Hero: 1e10). */
  readonly clamp: number;
  /** Significant digits kept after a mutation (readable constants; 17 keeps every bit). */
  readonly digits: number;
}

export interface SearchSpace {
  /** The file's base name without .json (or the file name given). */
  readonly name: string;
  /** The file it was loaded from, as displayed in messages. */
  readonly file: string;
  readonly description: string;
  /** Ops that insertions may draw from. */
  readonly ops: readonly OpName[];
  /** State slot names, between g and lr in the signature. */
  readonly slots: readonly string[];
  /** Statement-count limits: insertion stops at max, deletion at min. */
  readonly length: { readonly min: number; readonly max: number };
  readonly constants: {
    readonly mutation: ConstantMutation;
    /** Distribution of a constant created by an insertion or by modifyArgument. */
    readonly insert: ConstantDistribution;
  };
  readonly insert: {
    /** Probability that an argument that may be a Scalar becomes a fresh constant. */
    readonly constantProb: number;
    /** Probability that an inserted statement assigns to an existing variable of the same kind. */
    readonly reuseProb: number;
  };
  readonly mutation: {
    /** Relative weights of the kinds; a kind that cannot apply to a parent is skipped. */
    readonly weights: { readonly [K in MutationKind]: number };
    /** Attempts before giving up on a parent (Hero: 1000). */
    readonly maxTries: number;
    /**
     * Accept neutral children: changes that only add dead code (same hash, another genome). They are
     * answered by the cache at the parent's fitness and kept as stepping stones, as in the paper.
     */
    readonly neutral: boolean;
  };
  readonly population: { readonly size: number; readonly tournament: number };
  readonly warmStart: {
    /** Path as written in the space file (relative to that file's folder). */
    readonly path: string;
    /** Resolved absolute path. */
    readonly resolved: string;
    readonly text: string;
    readonly program: Program;
  };
  readonly restart: {
    /** Restart from the best program after this many generated programs without improvement; null: never. */
    readonly afterWithoutImprovement: number | null;
  };
  /** Task names, resolved by the proxy layer. */
  readonly tasks: readonly string[];
  /** Task size relative to the proxy: 1 (the proxy itself), 10 or 100 (the funnel's sizes). */
  readonly fidelity: number;
  readonly seedsPerEvaluation: number;
  /** Learning-rate multipliers tried for each candidate (its best one counts). */
  readonly lrMultipliers: readonly number[];
  readonly limits: { readonly timeoutSeconds: number };
  /**
   * Multi-fidelity screening: each child is first scored on its first `seeds` paired seeds and goes
   * on only when that partial score places it in the top `keepFraction` of the population's own
   * partial scores; null: every child is scored on the whole suite.
   */
  readonly screen: { readonly seeds: number; readonly keepFraction: number } | null;
}

/** A bad search space file: the message is one line naming the file and the field. */
export class SpaceError extends Error {
  readonly file: string;
  readonly field: string | undefined;
  constructor(file: string, field: string | undefined, problem: string) {
    super(field === undefined ? `${file}: ${problem}` : `${file}: ${field} ${problem}`);
    this.name = 'SpaceError';
    this.file = file;
    this.field = field;
  }
}

/** The folder of the shipped spaces (search-spaces/ at the repository root). */
export const SPACES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../search-spaces');

/** Defaults for every optional field (documented in docs/search-spaces.md). */
export const SPACE_DEFAULTS = {
  description: '',
  slots: ['m', 'v'],
  length: { min: 1, max: 30 },
  constantMutation: { multiplyProb: 0.5, log2Std: 1, clamp: 1e10, digits: 6 },
  constantInsert: { kind: 'normal', mean: 0, std: 1 } as ConstantDistribution,
  insert: { constantProb: 0.3, reuseProb: 0.3 },
  weights: { insert: 1, delete: 1, modifyArgument: 0.5, modifyConstant: 0.5 },
  maxTries: 1000,
  restart: { afterWithoutImprovement: null },
  fidelity: 1,
  seedsPerEvaluation: 1,
  lrMultipliers: [1],
  timeoutSeconds: 600,
  screen: null,
} as const;

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

/** Field-aware reading of one JSON object, with the error messages the loader promises. */
class Reader {
  constructor(readonly file: string) {}

  fail(field: string | undefined, problem: string): never {
    throw new SpaceError(this.file, field, problem);
  }

  object(v: Json | undefined, field: string | undefined, allowed: readonly string[]): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(field, 'must be an object');
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) {
        const where = field === undefined ? k : `${field}.${k}`;
        this.fail(where, `is not a known field (known: ${allowed.join(', ')})`);
      }
    }
    return v;
  }

  number(v: Json | undefined, field: string, rule: 'any' | 'positive' | 'non-negative' | 'probability', def?: number): number {
    if (v === undefined) {
      if (def === undefined) this.fail(field, 'is required');
      return def;
    }
    const what = { any: 'a finite number', positive: 'a positive number', 'non-negative': 'a non-negative number', probability: 'a number in [0, 1]' }[rule];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(field, `must be ${what}`);
    if (rule === 'positive' && !(v > 0)) this.fail(field, `must be ${what}`);
    if (rule === 'non-negative' && !(v >= 0)) this.fail(field, `must be ${what}`);
    if (rule === 'probability' && !(v >= 0 && v <= 1)) this.fail(field, `must be ${what}`);
    return v;
  }

  integer(v: Json | undefined, field: string, min: number, def?: number): number {
    if (v === undefined) {
      if (def === undefined) this.fail(field, 'is required');
      return def;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(field, `must be an integer >= ${min}`);
    return v;
  }

  string(v: Json | undefined, field: string, def?: string): string {
    if (v === undefined) {
      if (def === undefined) this.fail(field, 'is required');
      return def;
    }
    if (typeof v !== 'string') this.fail(field, 'must be a string');
    return v;
  }

  stringList(v: Json | undefined, field: string, def?: readonly string[]): string[] {
    if (v === undefined) {
      if (def === undefined) this.fail(field, 'is required');
      return [...def];
    }
    if (!Array.isArray(v)) this.fail(field, 'must be a list of strings');
    if (v.length === 0) this.fail(field, 'must not be empty');
    const seen = new Set<string>();
    return v.map((x, i) => {
      if (typeof x !== 'string' || x.length === 0) this.fail(`${field}[${i}]`, 'must be a non-empty string');
      if (seen.has(x)) this.fail(`${field}[${i}]`, `repeats '${x}'`);
      seen.add(x);
      return x;
    });
  }
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function readConstantDistribution(r: Reader, v: Json | undefined, field: string): ConstantDistribution {
  if (v === undefined) return SPACE_DEFAULTS.constantInsert;
  const o = r.object(v, field, ['kind', 'mean', 'std', 'value']);
  const kind = r.string(o.kind, `${field}.kind`);
  switch (kind) {
    case 'normal':
      r.object(v, field, ['kind', 'mean', 'std']);
      return { kind, mean: r.number(o.mean, `${field}.mean`, 'any', 0), std: r.number(o.std, `${field}.std`, 'positive', 1) };
    case 'fixed':
      r.object(v, field, ['kind', 'value']);
      return { kind, value: r.number(o.value, `${field}.value`, 'any') };
    case 'mixed':
      r.object(v, field, ['kind']);
      return { kind };
    default:
      return r.fail(`${field}.kind`, `must be one of normal, fixed, mixed (got '${kind}')`);
  }
}

/** Validate parsed JSON as a search space. `file` is how the file is named in messages. */
export function parseSearchSpace(json: unknown, file: string, name: string, baseDir: string): SearchSpace {
  const r: Reader = new Reader(file);
  const top = r.object(json as Json, undefined, [
    '$comment', 'description', 'ops', 'slots', 'length', 'constants', 'insert', 'mutation', 'population',
    'warmStart', 'restart', 'tasks', 'fidelity', 'seedsPerEvaluation', 'lrMultipliers', 'limits', 'screen',
  ]);
  const description = r.string(top.description, 'description', SPACE_DEFAULTS.description);

  const ops = r.stringList(top.ops, 'ops');
  ops.forEach((op, i) => {
    if (!isOpName(op)) r.fail(`ops[${i}]`, `names the unknown op '${op}' (see src/dsl/ops.ts)`);
  });

  const slots = r.stringList(top.slots, 'slots', SPACE_DEFAULTS.slots);
  slots.forEach((s, i) => {
    if (!IDENT.test(s)) r.fail(`slots[${i}]`, `'${s}' is not a valid variable name`);
  });

  const lengthObj = top.length === undefined ? {} : r.object(top.length, 'length', ['min', 'max']);
  const min = r.integer(lengthObj.min, 'length.min', 0, SPACE_DEFAULTS.length.min);
  const max = r.integer(lengthObj.max, 'length.max', 1, SPACE_DEFAULTS.length.max);
  if (max < min) r.fail('length.max', `must be >= length.min (${min})`);

  const constObj = top.constants === undefined ? {} : r.object(top.constants, 'constants', ['mutation', 'insert']);
  const cm = constObj.mutation === undefined ? {} : r.object(constObj.mutation, 'constants.mutation', ['multiplyProb', 'log2Std', 'clamp', 'digits']);
  const d = SPACE_DEFAULTS.constantMutation;
  const mutationOfConstants: ConstantMutation = {
    multiplyProb: r.number(cm.multiplyProb, 'constants.mutation.multiplyProb', 'probability', d.multiplyProb),
    log2Std: r.number(cm.log2Std, 'constants.mutation.log2Std', 'positive', d.log2Std),
    clamp: r.number(cm.clamp, 'constants.mutation.clamp', 'positive', d.clamp),
    digits: r.integer(cm.digits, 'constants.mutation.digits', 1, d.digits),
  };
  if (mutationOfConstants.digits > 17) r.fail('constants.mutation.digits', 'must be an integer <= 17');
  const constantInsert = readConstantDistribution(r, constObj.insert, 'constants.insert');

  const ins = top.insert === undefined ? {} : r.object(top.insert, 'insert', ['constantProb', 'reuseProb']);
  const insert = {
    constantProb: r.number(ins.constantProb, 'insert.constantProb', 'probability', SPACE_DEFAULTS.insert.constantProb),
    reuseProb: r.number(ins.reuseProb, 'insert.reuseProb', 'probability', SPACE_DEFAULTS.insert.reuseProb),
  };

  const mut = top.mutation === undefined ? {} : r.object(top.mutation, 'mutation', ['weights', 'maxTries', 'neutral']);
  const w = mut.weights === undefined ? {} : r.object(mut.weights, 'mutation.weights', MUTATION_KIND_NAMES);
  const weights = {} as Record<MutationKind, number>;
  for (const k of MUTATION_KIND_NAMES) weights[k] = r.number(w[k], `mutation.weights.${k}`, 'non-negative', SPACE_DEFAULTS.weights[k]);
  if (MUTATION_KIND_NAMES.every((k) => weights[k] === 0)) r.fail('mutation.weights', 'must have at least one positive weight');
  const maxTries = r.integer(mut.maxTries, 'mutation.maxTries', 1, SPACE_DEFAULTS.maxTries);
  if (mut.neutral !== undefined && typeof mut.neutral !== 'boolean') r.fail('mutation.neutral', 'must be true or false');
  const neutral = mut.neutral === true;

  const pop = r.object(top.population, 'population', ['size', 'tournament']);
  const size = r.integer(pop.size, 'population.size', 2);
  const tournament = r.integer(pop.tournament, 'population.tournament', 1);
  if (tournament > size) r.fail('population.tournament', `must be <= population.size (${size})`);

  const warmPath = r.string(top.warmStart, 'warmStart');
  const warmStart = loadWarmStart(r, warmPath, baseDir, slots, ops, max);

  const rs = top.restart === undefined ? {} : r.object(top.restart, 'restart', ['afterWithoutImprovement']);
  let afterWithoutImprovement: number | null = SPACE_DEFAULTS.restart.afterWithoutImprovement;
  if (rs.afterWithoutImprovement !== undefined && rs.afterWithoutImprovement !== null) {
    afterWithoutImprovement = r.integer(rs.afterWithoutImprovement, 'restart.afterWithoutImprovement', 1);
  }

  const tasks = r.stringList(top.tasks, 'tasks');
  const fidelity = r.number(top.fidelity, 'fidelity', 'positive', SPACE_DEFAULTS.fidelity);
  if (!(FIDELITIES as readonly number[]).includes(fidelity)) r.fail('fidelity', `must be one of ${FIDELITIES.join(', ')} (got ${fidelity})`);
  const seedsPerEvaluation = r.integer(top.seedsPerEvaluation, 'seedsPerEvaluation', 1, SPACE_DEFAULTS.seedsPerEvaluation);

  let lrMultipliers: number[] = [...SPACE_DEFAULTS.lrMultipliers];
  if (top.lrMultipliers !== undefined) {
    const v = top.lrMultipliers;
    if (!Array.isArray(v) || v.length === 0) r.fail('lrMultipliers', 'must be a non-empty list of positive numbers');
    lrMultipliers = v.map((x, i) => r.number(x, `lrMultipliers[${i}]`, 'positive'));
  }

  const lim = top.limits === undefined ? {} : r.object(top.limits, 'limits', ['timeoutSeconds']);
  const timeoutSeconds = r.number(lim.timeoutSeconds, 'limits.timeoutSeconds', 'positive', SPACE_DEFAULTS.timeoutSeconds);

  let screen: SearchSpace['screen'] = SPACE_DEFAULTS.screen;
  if (top.screen !== undefined && top.screen !== null) {
    const sc = r.object(top.screen, 'screen', ['seeds', 'keepFraction']);
    const seeds = r.integer(sc.seeds, 'screen.seeds', 1);
    if (seeds >= seedsPerEvaluation) r.fail('screen.seeds', `must be less than seedsPerEvaluation (${seedsPerEvaluation}), or the screen saves nothing`);
    const keepFraction = r.number(sc.keepFraction, 'screen.keepFraction', 'probability');
    if (keepFraction === 0) r.fail('screen.keepFraction', 'must be above 0 (0 would stop every child)');
    screen = { seeds, keepFraction };
  }

  return deepFreeze({
    name,
    file,
    description,
    ops: ops as OpName[],
    slots,
    length: { min, max },
    constants: { mutation: mutationOfConstants, insert: constantInsert },
    insert,
    mutation: { weights, maxTries, neutral },
    population: { size, tournament },
    warmStart,
    restart: { afterWithoutImprovement },
    tasks,
    fidelity,
    seedsPerEvaluation,
    lrMultipliers,
    limits: { timeoutSeconds },
    screen,
  });
}

function loadWarmStart(r: Reader, path: string, baseDir: string, slots: readonly string[], ops: readonly string[], maxLength: number): SearchSpace['warmStart'] {
  const field = 'warmStart';
  if (path.length === 0) r.fail(field, 'must be a path to a .prog file');
  const resolved = isAbsolute(path) ? path : resolve(baseDir, path);
  if (!existsSync(resolved) || !statSync(resolved).isFile()) r.fail(field, `names '${path}', which is not a file (looked for ${resolved})`);
  let text: string;
  try {
    text = readFileSync(resolved, 'utf8');
  } catch (e) {
    return r.fail(field, `cannot read '${path}': ${(e as Error).message}`);
  }
  let program: Program;
  try {
    program = parseProgram(text);
  } catch (e) {
    if (e instanceof DslError) r.fail(field, `program does not parse: ${formatDiagnostic(e.diagnostics[0]!, path)}`);
    throw e;
  }
  const checked = checkProgram(program);
  if (!checked.ok) r.fail(field, `program is invalid: ${formatDiagnostic(checked.diagnostics[0]!, path)}`);
  const progSlots = stateSlots(program);
  if (progSlots.length !== slots.length || progSlots.some((s, i) => s !== slots[i])) {
    r.fail(field, `program's state slots (${progSlots.join(', ')}) differ from slots (${slots.join(', ')})`);
  }
  for (const s of program.statements) {
    // a copy (`eps = 1e-8`) computes nothing, so it needs no place in ops
    if (s.op !== COPY_OP && !ops.includes(s.op)) r.fail(field, `program uses '${getOp(s.op)?.name ?? s.op}', which is not in ops`);
  }
  if (program.statements.length > maxLength) r.fail(field, `program has ${program.statements.length} statements, more than length.max (${maxLength})`);
  return { path, resolved, text, program };
}

function deepFreeze<T>(x: T): T {
  if (x !== null && typeof x === 'object' && !Object.isFrozen(x)) {
    Object.freeze(x);
    for (const v of Object.values(x as object)) deepFreeze(v);
  }
  return x;
}

/** How a path is shown in messages: relative to the working directory when it lies inside it. */
function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel.length > 0 && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

/**
 * Load and validate a space. A bare name ("lion") means search-spaces/<name>.json; anything with a
 * slash or ending in .json is a path. Throws SpaceError (one line: file and field) on any problem.
 */
export function loadSearchSpace(nameOrPath: string): SearchSpace {
  const isPath = nameOrPath.includes('/') || nameOrPath.includes('\\') || nameOrPath.endsWith('.json');
  const abs = isPath ? resolve(nameOrPath) : resolve(SPACES_DIR, `${nameOrPath}.json`);
  const file = isPath ? nameOrPath : displayPath(abs);
  if (!isPath && !/^[A-Za-z0-9_.-]+$/.test(nameOrPath)) throw new SpaceError(nameOrPath, undefined, 'is not a space name or a path to a .json file');
  if (!existsSync(abs)) {
    const hint = isPath ? '' : ` (shipped spaces: ${listSearchSpaces().join(', ')})`;
    throw new SpaceError(file, undefined, `no such search space file${hint}`);
  }
  if (!statSync(abs).isFile()) throw new SpaceError(file, undefined, 'is not a file');
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new SpaceError(file, undefined, `cannot be read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SpaceError(file, undefined, `is not valid JSON: ${(e as Error).message}`);
  }
  const name = abs.replace(/^.*[\\/]/, '').replace(/\.json$/, '');
  return parseSearchSpace(json, file, name, dirname(abs));
}

/** Names of the spaces shipped in search-spaces/. */
export function listSearchSpaces(): string[] {
  try {
    return readdirSync(SPACES_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
  } catch {
    return [];
  }
}
