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
import { errorLine } from '../dsl/errors.ts';
import { parseProgram } from '../dsl/parse.ts';
import { RunMonitor, taskScheduleValue, type RunSettings } from '../tasks/monitor.ts';
import type { TrainResult } from '../vocabulary/index.ts';
import type { TaskInstance } from './builders/common.ts';
import { getTaskBuilder } from './builders/index.ts';
import { compileProgram, lowerProgram, type CompiledStep } from './compile.ts';
import type { Tf } from './tf.ts';

export interface TrainOptions extends RunSettings {
  readonly tf: Tf;
  /** Recorded in the result. */
  readonly backend: string;
  readonly program: Program | string;
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
    run.fail(errorLine(e));
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
