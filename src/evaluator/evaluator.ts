/**
 * Fitness, defined once: a program scored on a suite (tasks x paired seeds x lr multipliers at one
 * fidelity on one backend). The search, the funnel, the replay, ablation and `optsearch eval` all
 * score through here.
 *
 *   per run:   fitness against the baseline (AdamW) on the same task, seed, fidelity and backend
 *   per pair:  the best lr multiplier's fitness for each (task, seed)
 *   program:   the mean over pairs
 *
 * Work leaves as batch jobs (one program, one task, its runs) through an injected transport (the
 * worker pool, or this thread), so the evaluator knows nothing of where training happens. The
 * baseline of each (task, seed) is trained once per evaluator and shared. Stored evaluations enter
 * through the `known` hook (a run already stored is not trained again) and leave through `record`.
 */
import type { Program } from '../dsl/ast.ts';
import { printProgram } from '../dsl/print.ts';
import { atFidelity } from '../tasks/spec.ts';
import { mean } from '../util/stats.ts';
import {
  numericClassOf,
  type BatchJob,
  type BatchRun,
  type Fidelity,
  type NumericClass,
  type RequestedBackend,
  type TaskSpec,
  type TrainResult,
} from '../vocabulary/index.ts';
import { BaselineCache, baselineKey, baselineReference, computeFitness, defaultBaselineProgram, FAILED_FITNESS, scoringConfigHash } from './fitness.ts';

/** Seeds of the paired evaluations: the same for every candidate and every run, so results are shared. */
export function pairedSeeds(count: number): number[] {
  return Array.from({ length: count }, (_, i) => i + 1);
}

/** Seeds no search evaluates on (101, 102, ...): a found program is checked there, away from the seeds it was fitted to. */
export function freshSeeds(count: number): number[] {
  return Array.from({ length: count }, (_, i) => 101 + i);
}

export interface Suite {
  readonly tasks: readonly TaskSpec[];
  /** Paired seeds: the same for every program scored, so differences are not seed noise. */
  readonly seeds: readonly number[];
  readonly lrMultipliers: readonly number[];
  readonly fidelity: Fidelity;
  readonly backend: RequestedBackend;
  /** Per-run wall-clock limit, seconds (default: the task's own at the fidelity). */
  readonly timeLimitSeconds?: number;
}

/** A suite that cannot be scored: one line naming the problem. */
export class SuiteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SuiteError';
  }
}

export function validateSuite(suite: Suite): void {
  if (suite.tasks.length === 0) throw new SuiteError('a suite needs at least one task');
  if (suite.seeds.length === 0) throw new SuiteError('a suite needs at least one seed');
  for (const s of suite.seeds) if (!Number.isSafeInteger(s) || s < 0) throw new SuiteError(`seeds must be non-negative integers, got ${s}`);
  if (suite.lrMultipliers.length === 0) throw new SuiteError('a suite needs at least one lr multiplier');
  for (const c of suite.lrMultipliers) if (!(c > 0 && Number.isFinite(c))) throw new SuiteError(`lr multipliers must be positive numbers, got ${c}`);
  if (suite.timeLimitSeconds !== undefined && !(suite.timeLimitSeconds > 0)) throw new SuiteError(`the time limit must be positive, got ${suite.timeLimitSeconds}`);
}

/** The transport: runs a batch job somewhere and returns one result per run, in order; never rejects. */
export type BatchRunner = (job: BatchJob) => Promise<readonly TrainResult[]>;

/** Identifies one stored evaluation (with the program's id, hash or fingerprint, kept by the caller). */
export interface RunKey {
  readonly task: string;
  readonly configHash: string;
  readonly numericClass: NumericClass;
  readonly fidelity: Fidelity;
  readonly seed: number;
  readonly lrMultiplier: number;
}

export interface TrainedRun {
  readonly key: RunKey;
  /** Against the baseline; null when the baseline did not finish. */
  readonly fitness: number | null;
  readonly result: TrainResult;
  readonly baselineLoss: number | null;
  readonly baselineStatus: string;
}

export interface EvaluationHooks {
  /** A stored evaluation of this program under this key: its fitness (null: stored unscored). */
  known?(key: RunKey): { readonly fitness: number | null } | undefined;
  /** Called once per run as soon as it is trained and scored. */
  record?(run: TrainedRun): void;
}

export interface MultiplierScore {
  readonly lrMultiplier: number;
  /** FAILED_FITNESS when the run did not finish. */
  readonly fitness: number;
  readonly source: 'trained' | 'stored';
  /** Absent for runs read from the store. */
  readonly result?: TrainResult;
  readonly baselineLoss?: number | null;
}

export interface PairScore {
  readonly task: string;
  readonly seed: number;
  /** Fitness at the best lr multiplier (FAILED_FITNESS when no multiplier finished). */
  readonly fitness: number;
  readonly lrMultiplier: number;
  readonly finalLoss: number | null;
  readonly status: string;
  readonly perMultiplier: readonly MultiplierScore[];
}

export interface SuiteScore {
  /** Mean over (task, seed) pairs of the best lr multiplier's fitness. */
  readonly fitness: number;
  readonly pairs: readonly PairScore[];
  /** Mean over tasks of each seed's fitness, in seed order (the seed-to-seed spread lives here). */
  readonly perSeed: readonly number[];
}

function bestOf(perMultiplier: readonly MultiplierScore[]): MultiplierScore {
  let best = perMultiplier[0] as MultiplierScore;
  for (const m of perMultiplier) if (m.fitness > best.fitness) best = m;
  return best;
}

function summarize(suite: Suite, pairs: PairScore[]): SuiteScore {
  const perSeed = suite.seeds.map((s) => mean(pairs.filter((p) => p.seed === s).map((p) => p.fitness)));
  return { fitness: mean(pairs.map((p) => p.fitness)), pairs, perSeed };
}

/** The suite cut to its first `seeds` paired seeds (every task, every lr multiplier): a screen's part. */
export function screenSuite(suite: Suite, seeds: number): Suite {
  return { ...suite, seeds: suite.seeds.slice(0, seeds) };
}

/**
 * Multi-fidelity screening: a program is first scored on its first `seeds` seeds, and goes on to the
 * rest of the suite only when that partial score reaches `threshold()`, read once the partial score
 * is known (a search reads it from its population at that moment).
 */
export interface ScreenPolicy {
  readonly seeds: number;
  threshold(): number;
}

export interface ScreenedScore {
  /** The score on the screen's part of the suite. */
  readonly partial: SuiteScore;
  readonly threshold: number;
  readonly passed: boolean;
  /** The whole suite's score; absent when the program stopped at the screen. */
  readonly full?: SuiteScore;
}

/**
 * The partial score a program needs to place in the top `keepFraction` of `scores` (the
 * population's own partial scores): the ceil(keepFraction x n)-th highest of them.
 */
export function screenThreshold(scores: readonly number[], keepFraction: number): number {
  if (scores.length === 0) return -Infinity;
  const desc = [...scores].sort((a, b) => b - a);
  const rank = Math.min(desc.length, Math.max(1, Math.ceil(keepFraction * desc.length)));
  return desc[rank - 1] as number;
}

/**
 * Most runs in one batch job when the evaluator splits work for several workers: one f32x4 lane
 * group of the simd engine, so split jobs keep its vectors full.
 */
export const RUNS_PER_SPLIT_JOB = 4;

export interface EvaluatorOptions {
  /** Baseline program text (default: search-spaces/programs/adamw.prog). */
  readonly baselineText?: string;
  /**
   * Workers behind the transport. When given, a program's runs on one task are split into jobs of
   * at most RUNS_PER_SPLIT_JOB runs, and fewer runs than workers into one run each, so a single
   * program (the warm start, the baseline, the last candidate of a search) can occupy every worker.
   * Absent: one batch job per task.
   */
  readonly workers?: number;
  /** Share baseline results with another evaluator. */
  readonly baselines?: BaselineCache;
}

export class Evaluator {
  readonly baselineText: string;
  private readonly baselines: BaselineCache;
  private readonly workers: number | undefined;
  private readonly hashes = new Map<string, string>();

  constructor(
    private readonly runBatch: BatchRunner,
    opts: EvaluatorOptions = {},
  ) {
    this.baselineText = opts.baselineText ?? defaultBaselineProgram();
    this.baselines = opts.baselines ?? new BaselineCache();
    this.workers = opts.workers;
  }

  /** The stored-evaluation key of one run of any program on this suite. */
  runKey(suite: Suite, spec: TaskSpec, seed: number, lrMultiplier: number): RunKey {
    return { task: spec.name, configHash: this.configHash(spec, suite.fidelity), numericClass: numericClassOf(suite.backend), fidelity: suite.fidelity, seed, lrMultiplier };
  }

  configHash(spec: TaskSpec, fidelity: Fidelity): string {
    const memo = `${fidelity}|${JSON.stringify(spec)}`;
    let h = this.hashes.get(memo);
    if (h === undefined) {
      h = scoringConfigHash(atFidelity(spec, fidelity), this.baselineText);
      this.hashes.set(memo, h);
    }
    return h;
  }

  /**
   * The suite score from stored fitness alone (`lookup` gives a run's stored fitness, undefined
   * when it is not stored), or undefined when any run of the suite is missing.
   */
  scoreFromStore(suite: Suite, lookup: (key: RunKey) => { readonly fitness: number | null } | undefined): SuiteScore | undefined {
    validateSuite(suite);
    const pairs: PairScore[] = [];
    for (const spec of suite.tasks) {
      for (const seed of suite.seeds) {
        const perMultiplier: MultiplierScore[] = [];
        for (const lr of suite.lrMultipliers) {
          const k = lookup(this.runKey(suite, spec, seed, lr));
          if (!k) return undefined;
          perMultiplier.push({ lrMultiplier: lr, fitness: k.fitness ?? FAILED_FITNESS, source: 'stored' });
        }
        const best = bestOf(perMultiplier);
        pairs.push({ task: spec.name, seed, fitness: best.fitness, lrMultiplier: best.lrMultiplier, finalLoss: null, status: 'stored', perMultiplier });
      }
    }
    return summarize(suite, pairs);
  }

  /** Trains what is not already known and scores the program on the suite. Rejects only on a bad suite. */
  async score(program: Program | string, suite: Suite, hooks: EvaluationHooks = {}): Promise<SuiteScore> {
    validateSuite(suite);
    const programText = typeof program === 'string' ? program : printProgram(program);
    const perTask = await Promise.all(suite.tasks.map((spec) => this.scoreTask(programText, spec, suite, hooks)));
    return summarize(suite, perTask.flat());
  }

  /**
   * Screens, then (when the partial score reaches the threshold) scores the whole suite. The screen's
   * runs are part of the suite, so a program that goes on trains only the remaining seeds. With no
   * seed left over for the screen to save, this is `score`.
   */
  async scoreScreened(program: Program | string, suite: Suite, screen: ScreenPolicy, hooks: EvaluationHooks = {}): Promise<ScreenedScore> {
    validateSuite(suite);
    if (!(Number.isInteger(screen.seeds) && screen.seeds >= 1)) throw new SuiteError(`a screen needs a positive whole number of seeds, got ${screen.seeds}`);
    const programText = typeof program === 'string' ? program : printProgram(program);
    if (screen.seeds >= suite.seeds.length) {
      const full = await this.score(programText, suite, hooks);
      return { partial: full, threshold: -Infinity, passed: true, full };
    }
    const screened = new Map<string, { readonly fitness: number | null }>();
    const keyText = (k: RunKey): string => `${k.task}|${k.configHash}|${k.numericClass}|${k.fidelity}|${k.seed}|${k.lrMultiplier}`;
    const partial = await this.score(programText, screenSuite(suite, screen.seeds), {
      ...hooks,
      record: (run) => {
        screened.set(keyText(run.key), { fitness: run.fitness });
        hooks.record?.(run);
      },
    });
    const threshold = screen.threshold();
    if (!(partial.fitness >= threshold)) return { partial, threshold, passed: false };
    const full = await this.score(programText, suite, { ...hooks, known: (k) => screened.get(keyText(k)) ?? hooks.known?.(k) });
    return { partial, threshold, passed: true, full };
  }

  private async scoreTask(programText: string, spec: TaskSpec, suite: Suite, hooks: EvaluationHooks): Promise<PairScore[]> {
    const scores = new Map<string, MultiplierScore>();
    const at = (seed: number, lr: number): string => `${seed}|${lr}`;
    const toTrain: { seed: number; lr: number; key: RunKey }[] = [];
    for (const seed of suite.seeds) {
      for (const lr of suite.lrMultipliers) {
        const key = this.runKey(suite, spec, seed, lr);
        const known = hooks.known?.(key);
        if (known) scores.set(at(seed, lr), { lrMultiplier: lr, fitness: known.fitness ?? FAILED_FITNESS, source: 'stored' });
        else toTrain.push({ seed, lr, key });
      }
    }
    if (toTrain.length > 0) {
      const seeds = [...new Set(toTrain.map((r) => r.seed))];
      const baselines = await this.baselineResults(spec, suite, seeds);
      const runs: BatchRun[] = toTrain.map((r) => {
        const ref = baselineReference(baselines.get(r.seed) as TrainResult);
        return { seed: r.seed, lrMultiplier: r.lr, ...(ref ? { baseline: ref } : {}) };
      });
      const results = await this.runSplit(this.batchJob(programText, spec, suite, runs));
      toTrain.forEach((r, i) => {
        const result = results[i] as TrainResult;
        const baseline = baselines.get(r.seed) as TrainResult;
        const fitness = computeFitness(result, baseline);
        hooks.record?.({ key: r.key, fitness, result, baselineLoss: baseline.finalLoss, baselineStatus: baseline.status });
        scores.set(at(r.seed, r.lr), { lrMultiplier: r.lr, fitness: fitness ?? FAILED_FITNESS, source: 'trained', result, baselineLoss: baseline.finalLoss });
      });
    }
    return suite.seeds.map((seed) => {
      const perMultiplier = suite.lrMultipliers.map((lr) => scores.get(at(seed, lr)) as MultiplierScore);
      const best = bestOf(perMultiplier);
      return {
        task: spec.name,
        seed,
        fitness: best.fitness,
        lrMultiplier: best.lrMultiplier,
        finalLoss: best.result?.finalLoss ?? null,
        status: best.result?.status ?? 'stored',
        perMultiplier,
      };
    });
  }

  private batchJob(programText: string, spec: TaskSpec, suite: Suite, runs: readonly BatchRun[]): BatchJob {
    return {
      programText,
      task: spec,
      fidelity: suite.fidelity,
      runs,
      backend: suite.backend,
      ...(suite.timeLimitSeconds !== undefined ? { timeLimitSeconds: suite.timeLimitSeconds } : {}),
    };
  }

  /** The job as sent: whole, or split for several workers (results joined back in run order). */
  private async runSplit(job: BatchJob): Promise<readonly TrainResult[]> {
    const n = job.runs.length;
    if (this.workers === undefined || this.workers <= 1 || n <= 1) return this.runChecked(job);
    const size = Math.min(RUNS_PER_SPLIT_JOB, Math.ceil(n / this.workers));
    if (size >= n) return this.runChecked(job);
    const parts: Promise<readonly TrainResult[]>[] = [];
    for (let i = 0; i < n; i += size) parts.push(this.runChecked({ ...job, runs: job.runs.slice(i, i + size) }));
    return (await Promise.all(parts)).flat();
  }

  /** The transport's results, one per run even when a transport misbehaves. */
  private async runChecked(job: BatchJob): Promise<readonly TrainResult[]> {
    const results = await this.runBatch(job);
    if (results.length === job.runs.length) return results;
    const reason = results[0]?.reason || `the worker returned ${results.length} results for ${job.runs.length} runs`;
    return job.runs.map((r) => ({ ...(results[0] as TrainResult), status: 'failed' as const, reason, seed: r.seed }));
  }

  /** The baseline's result on each seed, trained once per (task, fidelity, seed, backend); missing seeds go in one batch job. */
  private async baselineResults(spec: TaskSpec, suite: Suite, seeds: readonly number[]): Promise<Map<number, TrainResult>> {
    const keyOf = (seed: number): string => baselineKey(this.baselineText, spec, suite.fidelity, seed, suite.backend);
    const missing = seeds.filter((s) => !this.baselines.has(keyOf(s)));
    let batch: Promise<readonly TrainResult[]> | undefined;
    const trainMissing = (): Promise<readonly TrainResult[]> =>
      (batch ??= this.runSplit(this.batchJob(this.baselineText, spec, suite, missing.map((seed) => ({ seed, lrMultiplier: 1 })))));
    const results = await Promise.all(
      seeds.map(async (seed) => {
        const i = missing.indexOf(seed);
        const r = await this.baselines.get(keyOf(seed), async () =>
          i >= 0 ? ((await trainMissing())[i] as TrainResult) : ((await this.runChecked(this.batchJob(this.baselineText, spec, suite, [{ seed, lrMultiplier: 1 }])))[0] as TrainResult),
        );
        return [seed, r] as const;
      }),
    );
    return new Map(results);
  }
}
