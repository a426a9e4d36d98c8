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
import type { BaselineReference, EvalStatus, TaskSpec, TrainResult } from './types.ts';

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

export async function trainProgram(opts: TrainOptions): Promise<TrainResult> {
  const { tf, spec, seed } = opts;
  const start = performance.now();
  const limitMs = (opts.timeLimitSeconds ?? spec.hurdles.timeLimitSeconds) * 1000;
  const checkpointStep = checkpointStepOf(spec);
  const curve: [number, number][] = [];
  let status: EvalStatus = 'ok';
  let reason = '';
  let initialLoss: number | undefined;
  let finalLoss: number | undefined;
  let metric: number | undefined;
  let checkpointLoss: number | undefined;
  let lossFloor = spec.lossFloor ?? 0;
  let steps = 0;
  let task: TaskInstance | undefined;
  let compiled: CompiledStep | undefined;
  const stop = (s: EvalStatus, r: string): void => {
    status = s;
    reason = r;
  };
  try {
    const program = typeof opts.program === 'string' ? parseProgram(opts.program) : opts.program;
    const lowered = lowerProgram(program);
    task = getTaskBuilder(spec.kind)(tf, spec, seed);
    lossFloor = task.lossFloor ?? lossFloor;
    compiled = compileProgram(tf, lowered, task.params);
    const params = [...task.params] as Variable[];
    initialLoss = (await task.evaluate()).loss;
    const every = Math.max(1, Math.floor(spec.steps / (spec.curvePoints ?? 10)));
    // On CPU backends reading the loss is nearly free, so every step is checked and a diverging run
    // stops at once; on GPU backends a read waits for the queue, so only the curve points are read.
    const checkEveryStep = opts.backend === 'wasm' || opts.backend === 'cpu';
    let firstTrainLoss: number | undefined;
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
      steps = t + 1;
      const onCurve = t === 0 || steps % every === 0 || steps === spec.steps;
      if (onCurve || checkEveryStep) {
        const loss = (await value.data())[0] as number;
        value.dispose();
        if (onCurve) curve.push([steps, loss]);
        if (!Number.isFinite(loss)) {
          stop('diverged', `training loss is ${loss} at step ${steps}`);
          break;
        }
        firstTrainLoss ??= loss;
        if (Math.abs(loss) > spec.hurdles.divergeRatio * Math.max(Math.abs(firstTrainLoss), 1e-12)) {
          stop('diverged', `training loss ${loss.toPrecision(4)} at step ${steps} is over ${spec.hurdles.divergeRatio}x the first (${firstTrainLoss.toPrecision(4)})`);
          break;
        }
      } else {
        value.dispose();
      }
      if (steps === checkpointStep && steps < spec.steps) {
        checkpointLoss = (await task.evaluate()).loss;
        if (!Number.isFinite(checkpointLoss)) {
          stop('diverged', `held-out loss is ${checkpointLoss} at step ${steps}`);
          break;
        }
        const b = opts.baseline;
        if (b && b.checkpointStep === steps) {
          const behind = spec.hurdles.behindRatio * Math.max(b.checkpointLoss - lossFloor, 1e-12);
          if (checkpointLoss - lossFloor > behind) {
            stop('hurdle', `held-out loss ${checkpointLoss.toPrecision(4)} at step ${steps} is over ${spec.hurdles.behindRatio}x behind the baseline's ${b.checkpointLoss.toPrecision(4)}`);
            break;
          }
        }
      }
      if (performance.now() - start > limitMs) {
        stop('timeout', `wall-clock limit of ${(limitMs / 1000).toFixed(1)} s reached at step ${steps} of ${spec.steps}`);
        break;
      }
    }
    if (status === 'ok') {
      const ev = await task.evaluate();
      finalLoss = ev.loss;
      metric = ev.metric;
      if (!Number.isFinite(ev.loss)) stop('diverged', `final held-out loss is ${ev.loss}`);
      if (steps === checkpointStep) checkpointLoss = ev.loss;
    }
  } catch (e) {
    stop('failed', oneLine(e));
  } finally {
    try {
      compiled?.dispose();
      task?.dispose();
    } catch {
      // disposal problems must not mask the result
    }
  }
  return {
    status,
    reason,
    task: spec.name,
    fidelity: opts.fidelity,
    seed,
    initialLoss: finiteOrNull(initialLoss),
    finalLoss: finiteOrNull(finalLoss),
    lossFloor,
    metric: finiteOrNull(metric),
    metricName: spec.metric.name,
    higherIsBetter: spec.metric.higherIsBetter,
    checkpointStep,
    checkpointLoss: finiteOrNull(checkpointLoss),
    lossCurve: curve,
    steps,
    seconds: (performance.now() - start) / 1000,
    backend: opts.backend,
  };
}
