/**
 * Plain-data types shared by the proxy trainer, the worker pool and their callers. Everything here
 * crosses worker boundaries and goes into the store, so it is structured-clone and JSON friendly
 * (unknown numbers are null, never NaN).
 */
import type { BackendName } from './backend.ts';

export type TaskKind = 'quadratic' | 'classifier' | 'convnet' | 'charlm' | 'teacher-student';
export type Fidelity = 1 | 10 | 100;
export const FIDELITIES: readonly Fidelity[] = [1, 10, 100];

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

export type EvalStatus = 'ok' | 'diverged' | 'hurdle' | 'timeout' | 'failed';

/** Baseline figures a candidate is compared with during training (hurdles). */
export interface BaselineReference {
  readonly checkpointStep: number;
  readonly checkpointLoss: number;
}

/** One evaluation request: plain data, sent to a worker. */
export interface EvalJob {
  readonly programText: string;
  /** A task name from proxy-tasks/, or a full spec. */
  readonly task: string | TaskSpec;
  readonly fidelity: Fidelity;
  readonly seed: number;
  readonly backend: BackendName | 'auto';
  readonly baseline?: BaselineReference;
  /** Overrides the task's wall-clock limit (seconds). */
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
