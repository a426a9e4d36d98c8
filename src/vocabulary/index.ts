/**
 * The words every layer shares, each list written once: task definitions, fidelities, backends and
 * their numeric classes, run and batch jobs with their results, evaluation statuses, cache tiers and
 * the default database path. Types and constants only; this module imports nothing, so any layer
 * (and any worker thread) may import it.
 *
 * Everything that crosses a worker or machine boundary is plain, structured-clone and JSON friendly
 * data (unknown numbers are null, never NaN).
 */

export type TaskKind = 'quadratic' | 'classifier' | 'convnet' | 'charlm' | 'teacher-student';
export const TASK_KINDS: readonly TaskKind[] = ['quadratic', 'classifier', 'convnet', 'charlm', 'teacher-student'];

export type Fidelity = 1 | 10 | 100;
export const FIDELITIES: readonly Fidelity[] = [1, 10, 100];

/**
 * 'simd' is the WebAssembly engine (src/engine; 'auto' picks it for the task kinds it trains),
 * 'reference' the Float64 interpreter (never picked by 'auto'); the others are tfjs backends.
 */
export type BackendName = 'simd' | 'gpu' | 'webgpu' | 'webgpu-software' | 'node' | 'wasm' | 'cpu' | 'reference';
export const BACKEND_NAMES: readonly BackendName[] = ['simd', 'gpu', 'webgpu', 'webgpu-software', 'node', 'wasm', 'cpu', 'reference'];
export type RequestedBackend = BackendName | 'auto';

export function isBackendName(s: string): s is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(s);
}

/** The --backend values, for help texts and messages. */
export const BACKEND_CHOICES = `auto, ${BACKEND_NAMES.slice(0, -1).join(', ')} or ${BACKEND_NAMES[BACKEND_NAMES.length - 1]}`;

/**
 * Results computed in different floating-point widths are different measurements: a stored
 * evaluation is reused only under the same class. tfjs and the SIMD engine compute in Float32.
 */
export type NumericClass = 'float64' | 'float32';
export function numericClassOf(backend: RequestedBackend): NumericClass {
  return backend === 'reference' ? 'float64' : 'float32';
}

export interface HurdleSpec {
  /** Stop as diverged when the training loss exceeds this multiple of the initial loss. */
  readonly divergeRatio: number;
  /** Fraction of the steps at which the held-out loss is compared with the baseline's. */
  readonly checkpointFraction: number;
  /** Stop as 'hurdle' when (loss - floor) at the checkpoint exceeds this multiple of the baseline's. */
  readonly behindRatio: number;
  /** Wall-clock limit of one evaluation, seconds, at fidelity 1 (scaled by the fidelity). */
  readonly timeLimitSeconds: number;
}

/** A task definition as stored in proxy-tasks/<name>.json. Kind-specific fields live in `params`. */
export interface TaskSpec {
  readonly name: string;
  readonly kind: TaskKind;
  /** What the task is, in words. */
  readonly description: string;
  /** What the task is for in the search, in words. */
  readonly purpose: string;
  readonly params: Readonly<Record<string, unknown>>;
  readonly batchSize: number;
  readonly steps: number;
  /** Linear warm-up over this fraction of the steps, then cosine to 0; the peak value is 1.0. */
  readonly warmupFraction: number;
  /**
   * 'warmup-cosine' (the default): the schedule above. 'constant': lr is 1.0 at every step, so a
   * program gains nothing by ignoring its lr input (warmupFraction is then unused).
   */
  readonly schedule?: 'warmup-cosine' | 'constant';
  /** Name of the held-out loss (lower is better). */
  readonly loss: string;
  /** Known lower bound of the held-out loss (0, or the Bayes loss where one is known). */
  readonly lossFloor?: number;
  readonly metric: { readonly name: string; readonly higherIsBetter: boolean };
  /** Default evaluation seed. */
  readonly seed: number;
  readonly hurdles: HurdleSpec;
  /** Points of the training-loss curve kept in a result. */
  readonly curvePoints?: number;
  /** Overrides for the x10 and x100 variants (merged into the top level; params merged one level deep). */
  readonly fidelity?: Readonly<Partial<Record<'10' | '100', Readonly<Record<string, unknown>>>>>;
  /** Measured seconds per evaluation at fidelity 1 on wasm (documentation for `optsearch tasks`). */
  readonly costSeconds?: number;
}

/** How a training run ended. 'ok' finished; the others stopped early or never ran. */
export type EvalStatus = 'ok' | 'diverged' | 'hurdle' | 'timeout' | 'failed';
export const EVAL_STATUSES: readonly EvalStatus[] = ['ok', 'diverged', 'hurdle', 'timeout', 'failed'];

/** Baseline figures a candidate is compared with during training (hurdles). */
export interface BaselineReference {
  readonly checkpointStep: number;
  readonly checkpointLoss: number;
}

/** One training run: plain data, run by a trainer in the current thread. */
export interface EvalJob {
  readonly programText: string;
  /** A task name from proxy-tasks/, or a full spec. */
  readonly task: string | TaskSpec;
  readonly fidelity: Fidelity;
  readonly seed: number;
  readonly backend: RequestedBackend;
  readonly baseline?: BaselineReference;
  /** Overrides the task's wall-clock limit (seconds). */
  readonly timeLimitSeconds?: number;
}

/** One run of a batch job: a seed and the factor the program's update is scaled by. */
export interface BatchRun {
  readonly seed: number;
  readonly lrMultiplier: number;
  /** The baseline's hurdle figures on this seed (absent for the baseline itself). */
  readonly baseline?: BaselineReference;
}

/**
 * The unit of work handed to a worker (the pool, later a distributed queue): one program, one task
 * at one fidelity, its runs. A worker may train the runs one after the other or together; results
 * come back one per run, in the order of `runs`.
 */
export interface BatchJob {
  /** The program as written (unscaled); each run scales its update by its lr multiplier. */
  readonly programText: string;
  readonly task: string | TaskSpec;
  readonly fidelity: Fidelity;
  readonly runs: readonly BatchRun[];
  readonly backend: RequestedBackend;
  /** Overrides the task's wall-clock limit of each run (seconds). */
  readonly timeLimitSeconds?: number;
}

export interface TrainResult {
  readonly status: EvalStatus;
  /** Empty for ok; otherwise why the run stopped or failed, in one line. */
  readonly reason: string;
  readonly task: string;
  readonly fidelity: number;
  readonly seed: number;
  /** Held-out loss before training. */
  readonly initialLoss: number | null;
  /** Held-out loss at the end (null when the run did not reach it). */
  readonly finalLoss: number | null;
  readonly lossFloor: number;
  readonly metric: number | null;
  readonly metricName: string;
  readonly higherIsBetter: boolean;
  /** Held-out loss at the hurdle checkpoint (null when not reached). */
  readonly checkpointStep: number;
  readonly checkpointLoss: number | null;
  /** [step, training loss] pairs. */
  readonly lossCurve: readonly (readonly [number, number])[];
  /** Steps completed. */
  readonly steps: number;
  readonly seconds: number;
  readonly backend: string;
}

/** The evaluation cache's tiers, cheapest first. */
export type CacheTier = 'structural' | 'fingerprint' | 'stored';
export const CACHE_TIERS: readonly CacheTier[] = ['structural', 'fingerprint', 'stored'];

export const DEFAULT_DB_PATH = 'results/optsearch.sqlite';
