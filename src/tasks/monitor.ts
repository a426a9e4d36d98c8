/**
 * What every trainer of a task shares, however it computes: the learning-rate schedule, the hurdle
 * checkpoint, and the RunMonitor that applies the hurdles and writes the TrainResult.
 */
import type { BaselineReference, EvalStatus, TaskSpec, TrainResult } from '../vocabulary/index.ts';

/** Linear warm-up over warmupFraction of the steps to 1.0, then cosine decay towards 0. */
export function scheduleValue(t: number, steps: number, warmupFraction: number): number {
  const warm = Math.round(steps * warmupFraction);
  if (t < warm) return (t + 1) / warm;
  const p = (t - warm) / Math.max(1, steps - warm);
  return 0.5 * (1 + Math.cos(Math.PI * p));
}

/** The schedule's value at step t of a task: warm-up then cosine, or 1.0 throughout for schedule 'constant'. */
export function taskScheduleValue(spec: TaskSpec, t: number): number {
  return spec.schedule === 'constant' ? 1 : scheduleValue(t, spec.steps, spec.warmupFraction);
}

export function checkpointStepOf(spec: TaskSpec): number {
  return Math.max(1, Math.min(spec.steps, Math.round(spec.steps * spec.hurdles.checkpointFraction)));
}

/** A training run apart from its program and how it is computed. */
export interface RunSettings {
  /** The task already resolved at its fidelity (see atFidelity). */
  readonly spec: TaskSpec;
  readonly fidelity: number;
  readonly seed: number;
  readonly baseline?: BaselineReference;
  /** Overrides spec.hurdles.timeLimitSeconds. */
  readonly timeLimitSeconds?: number;
}

const finiteOrNull = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);

/**
 * The bookkeeping and hurdles of one training run, shared by every trainer (src/proxy/train.ts,
 * src/proxy/reference.ts), so all stop runs by the same rules and report them alike.
 */
export class RunMonitor {
  readonly checkpointStep: number;
  readonly curve: [number, number][] = [];
  status: EvalStatus = 'ok';
  reason = '';
  initialLoss: number | undefined;
  finalLoss: number | undefined;
  metric: number | undefined;
  checkpointLoss: number | undefined;
  lossFloor: number;
  steps = 0;
  private firstTrainLoss: number | undefined;
  private readonly every: number;
  private readonly start = performance.now();
  private readonly limitMs: number;

  constructor(
    private readonly spec: TaskSpec,
    private readonly baseline: BaselineReference | undefined,
    timeLimitSeconds: number | undefined,
  ) {
    this.checkpointStep = checkpointStepOf(spec);
    this.lossFloor = spec.lossFloor ?? 0;
    this.every = Math.max(1, Math.floor(spec.steps / (spec.curvePoints ?? 10)));
    this.limitMs = (timeLimitSeconds ?? spec.hurdles.timeLimitSeconds) * 1000;
  }

  stop(status: EvalStatus, reason: string): void {
    this.status = status;
    this.reason = reason;
  }

  /** Whether the training loss after `steps` steps is a point of the loss curve. */
  onCurve(steps: number): boolean {
    return steps === 1 || steps % this.every === 0 || steps === this.spec.steps;
  }

  /** A training loss read after `steps` steps: the curve point, and the divergence hurdle. False: stop. */
  trainLoss(steps: number, loss: number): boolean {
    if (this.onCurve(steps)) this.curve.push([steps, loss]);
    if (!Number.isFinite(loss)) {
      this.stop('diverged', `training loss is ${loss} at step ${steps}`);
      return false;
    }
    const first = (this.firstTrainLoss ??= loss);
    const ratio = this.spec.hurdles.divergeRatio;
    if (Math.abs(loss) > ratio * Math.max(Math.abs(first), 1e-12)) {
      this.stop('diverged', `training loss ${loss.toPrecision(4)} at step ${steps} is over ${ratio}x the first (${first.toPrecision(4)})`);
      return false;
    }
    return true;
  }

  /** Whether the held-out loss is due after `steps` steps (the checkpoint, unless it is the last step). */
  checkpointDue(steps: number): boolean {
    return steps === this.checkpointStep && steps < this.spec.steps;
  }

  /** The held-out loss at the checkpoint: divergence, and the hurdle against the baseline. False: stop. */
  checkpoint(steps: number, loss: number): boolean {
    this.checkpointLoss = loss;
    if (!Number.isFinite(loss)) {
      this.stop('diverged', `held-out loss is ${loss} at step ${steps}`);
      return false;
    }
    const b = this.baseline;
    if (b && b.checkpointStep === steps) {
      const behindRatio = this.spec.hurdles.behindRatio;
      if (loss - this.lossFloor > behindRatio * Math.max(b.checkpointLoss - this.lossFloor, 1e-12)) {
        this.stop('hurdle', `held-out loss ${loss.toPrecision(4)} at step ${steps} is over ${behindRatio}x behind the baseline's ${b.checkpointLoss.toPrecision(4)}`);
        return false;
      }
    }
    return true;
  }

  /** The wall-clock limit after `steps` steps. False: stop. */
  inTime(steps: number): boolean {
    if (performance.now() - this.start <= this.limitMs) return true;
    this.stop('timeout', `wall-clock limit of ${(this.limitMs / 1000).toFixed(1)} s reached at step ${steps} of ${this.spec.steps}`);
    return false;
  }

  /** The final held-out evaluation of a run that was not stopped. */
  finish(ev: { loss: number; metric: number }): void {
    this.finalLoss = ev.loss;
    this.metric = ev.metric;
    if (!Number.isFinite(ev.loss)) this.stop('diverged', `final held-out loss is ${ev.loss}`);
    if (this.steps === this.checkpointStep) this.checkpointLoss = ev.loss;
  }

  /** A run that could not go on: `reason` is one line (see errorLine in src/dsl/errors.ts). */
  fail(reason: string): void {
    this.stop('failed', reason);
  }

  result(fidelity: number, seed: number, backend: string): TrainResult {
    return {
      status: this.status,
      reason: this.reason,
      task: this.spec.name,
      fidelity,
      seed,
      initialLoss: finiteOrNull(this.initialLoss),
      finalLoss: finiteOrNull(this.finalLoss),
      lossFloor: this.lossFloor,
      metric: finiteOrNull(this.metric),
      metricName: this.spec.metric.name,
      higherIsBetter: this.spec.metric.higherIsBetter,
      checkpointStep: this.checkpointStep,
      checkpointLoss: finiteOrNull(this.checkpointLoss),
      lossCurve: this.curve,
      steps: this.steps,
      seconds: (performance.now() - this.start) / 1000,
      backend,
    };
  }
}
