/**
 * The Lion-K reading of a program: which K it uses, which problem it solves, whether it meets the
 * theory's conditions, and the numerical checks. Takes a Program (from a file or the database).
 */
import type { FamilyName, FamilyReading } from '../analysis/family.ts';
import { recognizeFamily } from '../analysis/family.ts';
import type { Program } from '../dsl/ast.ts';
import { runLionKChecks, type CheckOptions, type CheckResult } from './checks.ts';
import { formatBound, impliedConstraint, impliedProblem, kEntryForDirection, type DirectionName, type KEntry } from './kfamily.ts';
import { theoryConditions, type Condition, type LionKParams } from './params.ts';

/** Families whose form is Lion-K: a direction map of the b1 look-ahead of a b2 EMA, plus decoupled decay. */
const LION_K_FAMILIES: readonly FamilyName[] = ['lion', 'signum', 'lion-k', 'momentum', 'signsgd', 'sgd'];

/** Differences from the family's form that do not change the Lion-K reading. */
const HARMLESS_DIFFERENCES = ['no momentum (b1 = 0)'];

export interface LionKReading {
  readonly family: FamilyReading;
  /** The Lion-K hyperparameters, or null when the program is not of Lion-K form. */
  readonly params: LionKParams | null;
  /** Why the program is not of Lion-K form (empty when it is). */
  readonly reasons: readonly string[];
  /**
   * For a program that is Lion-K except that it transforms the gradient first (the paper's discovered
   * program): the parameters it would have. Its constraint still holds, since box invariance holds
   * for any gradient sequence, but the checks feed the raw gradient and are not run.
   */
  readonly transformedGradient?: { readonly transform: string; readonly params: LionKParams };
}

/**
 * Adapter from the family reading (src/analysis/family.ts) to LionKParams. A program without momentum
 * (SGD, signSGD, a memoryless direction) reads as b1 = b2 = 0: the look-ahead and the EMA are g itself.
 */
export function lionKParamsFromFamily(reading: FamilyReading): LionKReading {
  const hp = reading.hyperparameters;
  const reasons: string[] = [];
  if (!LION_K_FAMILIES.includes(reading.family)) {
    reasons.push(reading.family === 'unknown' ? 'the family is not recognised' : `the family is ${reading.family}`);
  }
  for (const d of reading.differences) if (!HARMLESS_DIFFERENCES.includes(d)) reasons.push(d);
  const direction = hp.direction;
  if (direction === undefined) reasons.push('no direction map was read');
  if (hp.lrMultiplier === undefined || !(hp.lrMultiplier > 0)) reasons.push(`the lr multiplier is ${hp.lrMultiplier ?? 'missing'}, not positive`);
  const params = (): LionKParams => ({
    direction: direction as DirectionName,
    b1: hp.b1 ?? 0,
    b2: hp.b2 ?? 0,
    lambda: hp.weightDecay ?? 0,
    lrMultiplier: hp.lrMultiplier as number,
    ...(hp.threshold === undefined ? {} : { threshold: hp.threshold }),
  });
  if (reasons.length === 0) return { family: reading, params: params(), reasons: [] };
  const transforms = reasons.filter((r) => r.startsWith(GRADIENT_TRANSFORMED));
  if (transforms.length === 1 && reasons.length === 1 && LION_K_FAMILIES.includes(reading.family)) {
    const transform = (transforms[0] as string).slice(GRADIENT_TRANSFORMED.length).trim();
    return { family: reading, params: null, reasons, transformedGradient: { transform, params: params() } };
  }
  return { family: reading, params: null, reasons };
}

/** How the family reading words a gradient transform (followed by ': <expression>'). */
const GRADIENT_TRANSFORMED = 'the gradient is transformed:';

export function readLionK(program: Program): LionKReading {
  return lionKParamsFromFamily(recognizeFamily(program));
}

export interface LionKAnalysis {
  readonly programName: string;
  readonly family: string;
  readonly familySummary: string;
  readonly isLionK: boolean;
  /** Nearest family and what differs, for programs not of Lion-K form. */
  readonly nearestFamily: string;
  readonly reasons: readonly string[];
  /** For a Lion-K program applied to a transformed gradient: the constraint that still holds. */
  readonly transformedGradient?: { readonly transform: string; readonly params: LionKParams; readonly problem: string };
  readonly params?: LionKParams;
  readonly k?: KEntry;
  /** The implied problem with lambda substituted. */
  readonly problem?: string;
  /** 1/lambda, when lambda > 0. */
  readonly bound?: number;
  /** How the program's constants map to the theory's eta and lambda. */
  readonly mapping?: string;
  readonly conditions?: readonly Condition[];
  readonly checks?: readonly CheckResult[];
  readonly counts?: { readonly passed: number; readonly failed: number; readonly notApplicable: number };
}

export interface AnalyzeOptions extends CheckOptions {
  /** Skip the numerical checks (the reading and conditions only). */
  readonly skipChecks?: boolean;
}

export function analyzeProgram(program: Program, opts: AnalyzeOptions = {}): LionKAnalysis {
  const reading = readLionK(program);
  const base = {
    programName: program.name,
    family: reading.family.family,
    familySummary: reading.family.summary,
    nearestFamily: reading.family.nearest,
    reasons: reading.reasons,
  };
  const params = reading.params;
  if (!params) {
    const t = reading.transformedGradient;
    if (t && t.params.lambda > 0) {
      const problem = impliedProblem(kEntryForDirection(t.params.direction), t.params.lambda, t.params.threshold);
      return { ...base, isLionK: false, transformedGradient: { ...t, problem } };
    }
    return { ...base, isLionK: false };
  }
  const k = kEntryForDirection(params.direction);
  const lambda = params.lambda;
  const mapping =
    `update = (${params.direction === 'identity' ? 'c' : `${params.direction}(c)`} + w * ${params.lambda}) * (lr * ${params.lrMultiplier}), ` +
    `c = interp(g, m, ${params.b1}), m' = interp(g, m, ${params.b2}); eta = lr * ${params.lrMultiplier} (lr = the schedule's value, peak 1.0), ` +
    `lambda = ${params.lambda} (the weight-decay constant as written), per-step decay factor 1 - eta * lambda`;
  const checks = opts.skipChecks ? undefined : runLionKChecks(program, params, opts);
  return {
    ...base,
    isLionK: true,
    params,
    k,
    problem: lambda > 0 ? impliedProblem(k, lambda, params.threshold) : 'no weight decay (lambda = 0): f itself, no constraint',
    ...(lambda > 0 ? { bound: 1 / lambda } : {}),
    mapping,
    conditions: theoryConditions(params),
    ...(checks
      ? {
          checks,
          counts: {
            passed: checks.filter((c) => c.status === 'pass').length,
            failed: checks.filter((c) => c.status === 'fail').length,
            notApplicable: checks.filter((c) => c.status === 'n/a').length,
          },
        }
      : {}),
  };
}

function figure(x: number | null): string {
  if (x === null) return '-';
  if (x === 0) return '0';
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e4 ? Number(x.toPrecision(4)).toString() : x.toExponential(2);
}

/** The human-readable report printed by `optsearch analyze`. */
export function formatAnalysis(a: LionKAnalysis): string {
  const lines: string[] = [];
  lines.push(`family: ${a.familySummary}`);
  if (!a.isLionK || !a.params || !a.k) {
    lines.push('not a Lion-K program');
    lines.push(`nearest family: ${a.nearestFamily}`);
    for (const r of a.reasons) lines.push(`  - ${r}`);
    const t = a.transformedGradient;
    if (t) {
      const k = kEntryForDirection(t.params.direction);
      const etaLambda = t.params.lrMultiplier * t.params.lambda;
      lines.push(
        `note: apart from the transform ${t.transform}, this is Lion-K with ${k.kFormula} (b1 ${t.params.b1}, b2 ${t.params.b2}, lambda ${t.params.lambda}, lr x ${t.params.lrMultiplier}).`,
      );
      const constraint = impliedConstraint(k, t.params.lambda);
      if (constraint) {
        lines.push(
          `  Its constraint ${constraint} does not depend on the gradient: with eta*lambda <= 1 (here ${formatBound(etaLambda)} at the peak lr) ` +
            'it is invariant and entered at the rate 1 - eta*lambda per step (lion-k.md predictions 1 and 2).',
        );
      }
      lines.push('  The checks feed the raw gradient, so they are not run.');
    }
    return lines.join('\n') + '\n';
  }
  const p = a.params;
  const k = a.k;
  lines.push(`Lion-K: ${k.kFormula}, grad K = ${k.gradFormula} (${k.op ? `op ${k.op}` : 'no op'}${p.threshold !== undefined ? `, e = ${p.threshold}` : ''}): ${k.optimizer}`);
  lines.push(`conjugate: ${k.conjugateFormula}`);
  lines.push(`objective: f(x) + (1/lambda) K*(lambda x), that is: ${k.objectiveFormula}`);
  lines.push(`  in words: ${k.objectiveWords}`);
  lines.push(`with lambda = ${formatBound(p.lambda)} read from the program: ${a.problem}`);
  if (a.bound !== undefined && k.feasibleSet !== 'none') lines.push(`bound: 1/lambda = ${formatBound(a.bound)}`);
  lines.push(`mapping: ${a.mapping}`);
  lines.push('conditions of the theory:');
  for (const c of a.conditions ?? []) lines.push(`  [${c.holds ? 'met' : 'NOT MET'}] ${c.name}: ${c.detail}`);
  const unmet = (a.conditions ?? []).filter((c) => !c.holds);
  if (unmet.length > 0) lines.push(`  outside the theory: ${unmet.map((c) => c.name).join(', ')}`);
  if (a.checks) {
    lines.push('checks:');
    const width = Math.max(...a.checks.map((c) => c.name.length));
    for (const c of a.checks) {
      const tag = c.status === 'pass' ? 'PASS' : c.status === 'fail' ? 'FAIL' : 'n/a ';
      const fig = c.status === 'n/a' ? '' : `${figure(c.measured)} (threshold ${figure(c.threshold)})`;
      lines.push(`  ${tag} ${c.name.padEnd(width)}  ${fig}`);
      lines.push(`       ${c.detail}`);
    }
    const n = a.counts;
    if (n) lines.push(`${n.passed} passed, ${n.failed} failed, ${n.notApplicable} not applicable`);
  }
  return lines.join('\n') + '\n';
}
