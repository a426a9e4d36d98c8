/**
 * The simplifier: cross-step liveness, rewrites to a fixpoint, canonical form; with a trace of
 * what removed or rewrote each statement. Also the one-call `analyze` used by the search (one
 * reduction for the canonical program, structural hash and fingerprint) and the ablation loop
 * ("minor-effect removal"), whose evaluator comes from a higher layer.
 */
import type { Arg, Program, Statement } from '../dsl/ast.ts';
import { formatNumber, formatStatement } from '../dsl/print.ts';
import { toProgram } from './canonical.ts';
import { recognizeFamily, type FamilyReading } from './family.ts';
import { fingerprintReduced } from './fingerprint.ts';
import { CONST, INPUT, markReachable, OP_SPECS } from './graph.ts';
import { reduce, type Reduced } from './pipeline.ts';
import type { RewriteEvent } from './rewrite.ts';

export interface SimplifyOptions {
  /** Apply the 'eps' rules too (default true; false keeps results exact up to rounding). */
  readonly allowEps?: boolean;
  /** Build the step list (default true; the search turns it off). */
  readonly trace?: boolean;
}

/**
 * One thing the simplifier did. `rule` is a rewrite rule name (rewrite.ts) or one of:
 * 'dead-code' (nothing returned depends on the statement), 'dead-state' (only a state slot that the
 * next call overwrites before reading depends on it; also used for the slot itself),
 * 'common-subexpression' (computes the same value as an earlier statement). A live statement whose
 * value disappears because a rewrite folded it into another one is reported under that rule's name
 * with `after: null` ('absorbed' when no single rule can be named).
 */
export interface SimplifyStep {
  readonly rule: string;
  /** Index of the statement in the input program, or null for a step about a state slot. */
  readonly statement: number | null;
  /** Source line of that statement when the program was parsed from text. */
  readonly line: number | null;
  readonly before: string;
  /** What it became; null when it was removed. */
  readonly after: string | null;
}

export interface SimplifyResult {
  readonly program: Program;
  readonly steps: SimplifyStep[];
}

export function simplify(p: Program, opts: SimplifyOptions = {}): SimplifyResult {
  const trace = opts.trace !== false;
  const events: RewriteEvent[] | undefined = trace ? [] : undefined;
  const r = reduce(p, { allowEps: opts.allowEps !== false, ...(events ? { events } : {}) });
  const program = toProgram(r.graph, r.outputs, p.inputs, p.name, r.hashes);
  return { program, steps: trace ? explain(p, r, events as RewriteEvent[]) : [] };
}

export interface Analysis {
  /** The canonical simplified program (built on first access). */
  readonly program: Program;
  readonly hash: string;
  /** Computed on first access (a mutation attempt rejected for its hash never needs it). */
  readonly fingerprint: string;
  readonly liveSlots: readonly boolean[];
  /** The family reading, from the same reduction (computed on first access). */
  readonly family: FamilyReading;
}

/**
 * Canonical program, structural hash, fingerprint and family from one reduction (the search's hot
 * path: each child is reduced once).
 */
export function analyze(p: Program, opts: Pick<SimplifyOptions, 'allowEps'> = {}): Analysis {
  return new LazyAnalysis(reduce(p, { allowEps: opts.allowEps !== false }), p);
}

/** Built on first use: the search needs the hash of every mutation attempt, the rest of few. */
class LazyAnalysis implements Analysis {
  readonly hash: string;
  readonly liveSlots: readonly boolean[];
  private built: Program | undefined;
  private fp: string | undefined;
  private reading: FamilyReading | undefined;
  constructor(
    private readonly r: Reduced,
    private readonly source: Program,
  ) {
    this.hash = r.hash;
    this.liveSlots = r.liveSlots;
  }
  get program(): Program {
    return (this.built ??= toProgram(this.r.graph, this.r.outputs, this.source.inputs, this.source.name, this.r.hashes));
  }
  get fingerprint(): string {
    return (this.fp ??= fingerprintReduced(this.r));
  }
  get family(): FamilyReading {
    return (this.reading ??= recognizeFamily(this.source, this.r));
  }
}

function explain(p: Program, r: Reduced, events: readonly RewriteEvent[]): SimplifyStep[] {
  const steps: SimplifyStep[] = [];
  const rawNodes = r.raw.statementNodes;
  const lineOf = (i: number): number | null => p.statements[i]?.pos?.line ?? null;
  const text = (i: number): string => formatStatement(p.statements[i] as Statement);

  // Names of first-pass nodes: the statement that produced them, else printed inline.
  const fp = r.firstPassGraph;
  const names: (string | undefined)[] = new Array(fp.size);
  for (let i = 0; i < fp.inputCount; i++) names[i] = p.inputs[i];
  rawNodes.forEach((n, i) => {
    const m = r.firstPassMap[n] as number;
    if (m >= 0 && names[m] === undefined && fp.op[m] !== CONST) names[m] = (p.statements[i] as Statement).target;
  });
  const describe = (n: number, depth = 0): string => {
    if (fp.op[n] === CONST) return formatNumber(fp.value[n] as number);
    if (fp.op[n] === INPUT) return p.inputs[fp.value[n] as number] as string;
    const name = names[n];
    if (name !== undefined && depth > 0) return name;
    return expression(fp.op[n] as number, fp.args[n] as readonly number[], (c) => describe(c, depth + 1), depth > 3);
  };

  const finalReachable = markReachable(r.graph, r.outputs);
  const firstStatementOf = new Map<number, number>();
  rawNodes.forEach((n, i) => {
    const lv = r.rawLiveness;
    if (firstStatementOf.has(n)) {
      const j = firstStatementOf.get(n) as number;
      if (lv.crossStep[n]) steps.push({ rule: 'common-subexpression', statement: i, line: lineOf(i), before: text(i), after: `same value as line ${lineOf(j) ?? j + 1}` });
      return;
    }
    firstStatementOf.set(n, i);
    if (!lv.singleCall[n]) steps.push({ rule: 'dead-code', statement: i, line: lineOf(i), before: text(i), after: null });
    else if (!lv.crossStep[n]) steps.push({ rule: 'dead-state', statement: i, line: lineOf(i), before: text(i), after: null });
  });
  r.rawLiveness.liveSlots.forEach((live, i) => {
    const slot = p.inputs[2 + i] as string;
    const returned = p.outputs[1 + i] as string;
    if (!live && r.raw.outputs[1 + i] !== 2 + i) {
      steps.push({ rule: 'dead-state', statement: null, line: p.returnPos?.line ?? null, before: `return ... ${returned} (state slot ${slot})`, after: `${slot} returned unchanged: no later call reads it before overwriting it` });
    }
  });

  for (const e of events) {
    const i = e.statement;
    steps.push({
      rule: e.rule.name,
      statement: i >= 0 ? i : null,
      line: i >= 0 ? lineOf(i) : null,
      before: expression(e.op, e.args, (c) => describe(c, 1), false),
      after: describe(e.result, 0),
    });
  }

  // Live statements whose value no longer appears after rewriting were absorbed by a rule.
  rawNodes.forEach((n, i) => {
    if (firstStatementOf.get(n) !== i || !r.rawLiveness.crossStep[n]) return;
    const m = r.firstPassMap[n] as number;
    const f = m >= 0 ? (r.finalMap[m] as number) : -1;
    const survives = f >= 0 && r.graph.op[f] !== INPUT && r.graph.op[f] !== CONST && finalReachable[f] === 1;
    if (survives) return;
    // Rewritten into an existing value by a rule on this statement, or consumed by a rule on a reader.
    const byItself = m >= 0 && (fp.op[m] === INPUT || fp.op[m] === CONST);
    const by = byItself ? events.find((e) => e.statement === i) : events.find((e) => e.args.includes(m));
    steps.push({ rule: by ? by.rule.name : 'absorbed', statement: i, line: lineOf(i), before: text(i), after: null });
  });
  steps.sort((a, b) => (a.statement ?? Infinity) - (b.statement ?? Infinity));
  return steps;
}

function expression(op: number, args: readonly number[], show: (n: number) => string, elide: boolean): string {
  const spec = OP_SPECS[op] as { name: string; infix?: string };
  if (elide) return `${spec.name}(...)`;
  const parts = args.map(show);
  if (spec.infix !== undefined && parts.length === 2) return `${parts[0]} ${spec.infix} ${parts[1]}`;
  return `${spec.name}(${parts.join(', ')})`;
}

// ---------------------------------------------------------------------------------------------
// Ablation ("minor-effect removal", the paper's second simplification step).

export interface AblationDecision {
  /** The statement tried (text of the canonical program it was removed from). */
  readonly statement: string;
  /** What its uses were rewired to. */
  readonly replacedBy: string;
  readonly fitness: number;
  /** Fitness of the program ablation started from. */
  readonly reference: number;
  /** Fitness of the program the statement was removed from (the start, or the last kept removal). */
  readonly previous: number;
  readonly kept: boolean;
}

/**
 * Removes one statement at a time (its uses read its first argument of the same kind instead, and
 * everything only it fed disappears with it), keeping a removal when fitness (higher is better)
 * stays within `tolerance` of both the starting program's fitness and the current program's.
 * Repeats until no single removal is kept. The bound against the start keeps small drops from
 * adding up; the bound against the current program keeps a gain from one removal from paying for a
 * real loss in a later one (a removal must itself be minor). Evaluations are cached by structural hash.
 */
export async function ablate(
  p: Program,
  evaluate: (candidate: Program) => Promise<number>,
  opts: { tolerance: number },
): Promise<{ program: Program; decisions: AblationDecision[] }> {
  if (!(opts.tolerance >= 0)) throw new RangeError(`ablation tolerance must be >= 0, got ${opts.tolerance}`);
  let current = simplify(p, { trace: false }).program;
  const cache = new Map<string, number>();
  const score = async (q: Program): Promise<number> => {
    const h = reduce(q).hash;
    let f = cache.get(h);
    if (f === undefined) {
      f = await evaluate(q);
      cache.set(h, f);
    }
    return f;
  };
  const reference = await score(current);
  let previous = reference;
  const decisions: AblationDecision[] = [];
  for (let changed = true; changed; ) {
    changed = false;
    for (let i = 0; i < current.statements.length; i++) {
      const removal = bypass(current, i);
      if (!removal) continue;
      const candidate = simplify(removal.program, { trace: false }).program;
      const fitness = await score(candidate);
      const kept = Number.isFinite(fitness) && fitness >= reference - opts.tolerance && fitness >= previous - opts.tolerance;
      decisions.push({ statement: formatStatement(current.statements[i] as Statement), replacedBy: removal.replacedBy, fitness, reference, previous, kept });
      if (kept) {
        current = candidate;
        previous = fitness;
        changed = true;
        break;
      }
    }
  }
  return { program: current, decisions };
}

/** The program with statement i removed and its uses reading its first same-kind variable argument. */
function bypass(p: Program, i: number): { program: Program; replacedBy: string } | undefined {
  const s = p.statements[i] as Statement;
  const r = reduce(p);
  // Kinds of names in a canonical program: each target once, so look them up in the graph.
  const kindOfName = new Map<string, number>();
  p.inputs.forEach((n, k) => kindOfName.set(n, k === p.inputs.length - 1 ? 1 : 0));
  const built = r.raw;
  p.statements.forEach((t, k) => kindOfName.set(t.target, built.graph.kind[built.statementNodes[k] as number] as number));
  const want = kindOfName.get(s.target);
  const sub = s.args.find((a): a is Extract<Arg, { kind: 'var' }> => a.kind === 'var' && kindOfName.get(a.name) === want);
  if (!sub) return undefined;
  const rename = (a: Arg): Arg => (a.kind === 'var' && a.name === s.target ? { kind: 'var', name: sub.name } : a);
  const statements = p.statements.filter((_, k) => k !== i).map((t) => ({ ...t, args: t.args.map(rename) }));
  const outputs = p.outputs.map((o) => (o === s.target ? sub.name : o));
  return { program: { ...p, statements, outputs }, replacedBy: sub.name };
}
