/**
 * Ablation ("minor-effect removal", the paper's second simplification step) with a real evaluator:
 * ablate() from src/analysis/simplify.ts removes one statement at a time; each candidate is trained on
 * a proxy suite over paired seeds by the evaluator, exactly as the search scores programs.
 * The tolerance, unless given, is the standard error over seeds of the starting program's fitness:
 * a removal whose drop is within the seed-to-seed noise of the measurement is kept.
 */
import { ablate, simplify, type AblationDecision } from '../analysis/simplify.ts';
import type { Program } from '../dsl/ast.ts';
import { printProgram } from '../dsl/print.ts';
import type { Evaluator, Suite, SuiteScore } from '../evaluator/evaluator.ts';
import { stdev } from '../util/stats.ts';

/** Smallest tolerance used when the seeds agree exactly (a deterministic proxy). */
export const MIN_TOLERANCE = 0.005;

export interface AblationOptions {
  /** Fixed tolerance; null: the standard error over seeds of the start program's fitness. */
  readonly tolerance: number | null;
  /** Called once per finished decision (for live output). */
  readonly onDecision?: (d: AblationDecision, score: SuiteScore | undefined) => void;
}

export interface AblationReport {
  readonly start: Program;
  readonly startScore: SuiteScore;
  readonly tolerance: number;
  /** How the tolerance was chosen, in words. */
  readonly toleranceReason: string;
  readonly decisions: readonly (AblationDecision & { readonly score: SuiteScore | undefined })[];
  readonly program: Program;
  readonly finalScore: SuiteScore | undefined;
}

export async function ablateOnSuite(p: Program, suite: Suite, evaluator: Evaluator, opts: AblationOptions): Promise<AblationReport> {
  const scores = new Map<string, SuiteScore>();
  const score = async (q: Program): Promise<SuiteScore> => {
    const key = printProgram(q);
    let s = scores.get(key);
    if (!s) {
      s = await evaluator.score(q, suite);
      scores.set(key, s);
    }
    return s;
  };
  const start = simplify(p, { trace: false }).program;
  const startScore = await score(start);
  let tolerance: number;
  let toleranceReason: string;
  if (opts.tolerance !== null) {
    tolerance = opts.tolerance;
    toleranceReason = `given (--tolerance ${tolerance})`;
  } else {
    const se = stdev(startScore.perSeed) / Math.sqrt(startScore.perSeed.length);
    tolerance = Math.max(MIN_TOLERANCE, se);
    toleranceReason =
      se >= MIN_TOLERANCE
        ? `standard error over ${startScore.perSeed.length} seeds of the start program's fitness (seed fitnesses ${startScore.perSeed.map((x) => x.toFixed(4)).join(', ')})`
        : `floor ${MIN_TOLERANCE}: the start program's standard error over ${startScore.perSeed.length} seeds is only ${se.toFixed(5)}`;
  }
  // ablate() hands us simplified candidates; remember each one's score to report it with the decision.
  const byFitness: { program: Program; s: SuiteScore }[] = [];
  const decisionsSeen: (AblationDecision & { score: SuiteScore | undefined })[] = [];
  const result = await ablate(
    start,
    async (q) => {
      const s = await score(q);
      byFitness.push({ program: q, s });
      return s.fitness;
    },
    { tolerance },
  );
  for (const d of result.decisions) {
    const match = byFitness.find((x) => x.s.fitness === d.fitness);
    const withScore = { ...d, score: match?.s };
    decisionsSeen.push(withScore);
    opts.onDecision?.(d, match?.s);
  }
  return {
    start,
    startScore,
    tolerance,
    toleranceReason,
    decisions: decisionsSeen,
    program: result.program,
    finalScore: scores.get(printProgram(result.program)),
  };
}
