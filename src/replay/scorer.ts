/**
 * Fitness of one program on a proxy suite, computed the way the search computes it
 * (src/runner/search.ts): every (task, seed) pair is trained at each lr multiplier, the best
 * multiplier counts, and fitness is the mean over pairs. Used by ablation and by the benchmarks,
 * which need the figure without a store or a run.
 */
import type { Program } from '../dsl/ast.ts';
import { printProgram } from '../dsl/print.ts';
import type { BackendName, EvalJob, Fidelity, TaskSpec, TrainResult } from '../vocabulary/index.ts';
import { BaselineCache, evaluateScored, FAILED_FITNESS } from '../proxy/fitness.ts';
import { scaleUpdate } from '../runner/search.ts';

export interface ProxySuite {
  readonly tasks: readonly TaskSpec[];
  /** Paired seeds: the same for every program scored, so differences are not seed noise. */
  readonly seeds: readonly number[];
  readonly lrMultipliers: readonly number[];
  readonly fidelity: Fidelity;
  readonly backend: BackendName | 'auto';
  /** Per-evaluation wall-clock limit, seconds (default: the task's own). */
  readonly timeLimitSeconds?: number;
}

export interface PairScore {
  readonly task: string;
  readonly seed: number;
  /** Fitness at the best lr multiplier (FAILED_FITNESS when no multiplier finished). */
  readonly fitness: number;
  readonly lrMultiplier: number;
  readonly finalLoss: number | null;
  readonly status: string;
}

export interface SuiteScore {
  /** Mean over (task, seed) pairs of the best lr multiplier's fitness. */
  readonly fitness: number;
  readonly pairs: readonly PairScore[];
  /** Mean over tasks of each seed's fitness, in seed order (the seed-to-seed spread lives here). */
  readonly perSeed: readonly number[];
}

export type JobRunner = (job: EvalJob) => Promise<TrainResult>;

export function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation (0 for fewer than two values). */
export function stdev(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** Standard error of the mean: stdev / sqrt(n). */
export function standardError(xs: readonly number[]): number {
  return stdev(xs) / Math.sqrt(xs.length);
}

/** Mean and standard error of a[i] - b[i] over paired seeds. */
export function pairedDifference(a: readonly number[], b: readonly number[]): { mean: number; se: number } {
  const diff = a.map((x, i) => x - (b[i] as number));
  return { mean: mean(diff), se: standardError(diff) };
}

export async function scoreOnSuite(program: Program, suite: ProxySuite, run: JobRunner, baselines: BaselineCache): Promise<SuiteScore> {
  const pending: Promise<PairScore>[] = [];
  for (const spec of suite.tasks) {
    for (const seed of suite.seeds) {
      const perLr = suite.lrMultipliers.map(async (lr) => {
        const job: EvalJob = {
          programText: printProgram(scaleUpdate(program, lr)),
          task: spec,
          fidelity: suite.fidelity,
          seed,
          backend: suite.backend,
          ...(suite.timeLimitSeconds !== undefined ? { timeLimitSeconds: suite.timeLimitSeconds } : {}),
        };
        const r = await evaluateScored(run, job, { cache: baselines, spec });
        return { lr, r };
      });
      pending.push(
        Promise.all(perLr).then((xs) => {
          let best = xs[0]!;
          for (const x of xs) if ((x.r.fitness ?? FAILED_FITNESS) > (best.r.fitness ?? FAILED_FITNESS)) best = x;
          return { task: spec.name, seed, fitness: best.r.fitness ?? FAILED_FITNESS, lrMultiplier: best.lr, finalLoss: best.r.finalLoss, status: best.r.status };
        }),
      );
    }
  }
  const pairs = await Promise.all(pending);
  const perSeed = suite.seeds.map((s) => mean(pairs.filter((p) => p.seed === s).map((p) => p.fitness)));
  return { fitness: mean(pairs.map((p) => p.fitness)), pairs, perSeed };
}
