/**
 * The proxy training loop: a program's compiled step trains a task's model, with hurdles that stop
 * hopeless runs early. Every outcome is a TrainResult; nothing here throws for a bad program or task.
 *
 * Determinism: the task draws its batches and initial weights from Rng(seed), and the same ops run
 * in the same order, so on one backend the same (program, task, fidelity, seed) gives the same
 * losses bit for bit. Tensors are only read asynchronously (await t.data()), which also works on webgpu.
 */
import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import type { Program } from '../dsl/ast.ts';
import { DslError } from '../dsl/errors.ts';
import { parseProgram } from '../dsl/parse.ts';
import type { Tf } from './backend.ts';
import { compileProgram, lowerProgram, type CompiledStep } from './compile.ts';
import type { TaskInstance } from './tasks/common.ts';
import { getTaskBuilder } from './tasks/index.ts';
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

export interface TrainOptions {
  readonly tf: Tf;
  /** Recorded in the result. */
  readonly backend: string;
  readonly program: Program | string;
  /** The task already resolved at its fidelity (see atFidelity). */
  readonly spec: TaskSpec;
  readonly fidelity: number;
  readonly seed: number;
  readonly baseline?: BaselineReference;
  /** Overrides spec.hurdles.timeLimitSeconds. */
  readonly timeLimitSeconds?: number;
}

function oneLine(e: unknown): string {
  if (e instanceof DslError) return e.diagnostics.map((d) => `${d.pos.line}:${d.pos.col}: ${d.message}`).join('; ');
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n')[0] ?? m).slice(0, 500);
}

const finiteOrNull = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);

/**
 * The bookkeeping and hurdles of one training run, shared by the tfjs loop below and the reference
 * trainer (src/proxy/reference.ts), so both stop runs by the same rules and report them alike.
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

  fail(e: unknown): void {
    this.stop('failed', oneLine(e));
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

export async function trainProgram(opts: TrainOptions): Promise<TrainResult> {
  const { tf, spec, seed } = opts;
  const run = new RunMonitor(spec, opts.baseline, opts.timeLimitSeconds);
  let task: TaskInstance | undefined;
  let compiled: CompiledStep | undefined;
  try {
    const program = typeof opts.program === 'string' ? parseProgram(opts.program) : opts.program;
    const lowered = lowerProgram(program);
    task = getTaskBuilder(spec.kind)(tf, spec, seed);
    run.lossFloor = task.lossFloor ?? run.lossFloor;
    compiled = compileProgram(tf, lowered, task.params);
    const params = [...task.params] as Variable[];
    run.initialLoss = (await task.evaluate()).loss;
    // On CPU backends reading the loss is nearly free, so every step is checked and a diverging run
    // stops at once; on GPU backends a read waits for the queue, so only the curve points are read.
    const checkEveryStep = opts.backend === 'wasm' || opts.backend === 'cpu';
    for (let t = 0; t < spec.steps; t++) {
      const lr = taskScheduleValue(spec, t);
      const { value, grads } = tf.variableGrads(() => task!.batchLoss(t) as Scalar, params);
      try {
        compiled.apply(
          params.map((p) => grads[p.name] as Tensor),
          lr,
        );
      } finally {
        for (const k of Object.keys(grads)) grads[k]?.dispose();
      }
      const steps = (run.steps = t + 1);
      if (run.onCurve(steps) || checkEveryStep) {
        const loss = (await value.data())[0] as number;
        value.dispose();
        if (!run.trainLoss(steps, loss)) break;
      } else {
        value.dispose();
      }
      if (run.checkpointDue(steps) && !run.checkpoint(steps, (await task.evaluate()).loss)) break;
      if (!run.inTime(steps)) break;
    }
    if (run.status === 'ok') run.finish(await task.evaluate());
  } catch (e) {
    run.fail(e);
  } finally {
    try {
      compiled?.dispose();
      task?.dispose();
    } catch {
      // disposal problems must not mask the result
    }
  }
  return run.result(opts.fidelity, seed, opts.backend);
}
