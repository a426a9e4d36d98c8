/**
 * The reference trainer: a program trains a task in the Float64 reference interpreter instead of
 * tfjs. Only for tasks whose gradient has a closed form (the quadratic kind), where a step costs a
 * few microseconds instead of tfjs's per-op overhead, so a search can train tens of thousands of
 * programs on a laptop. Same contract as trainProgram: same random draws in the same order (start
 * point, then the noise of each step), same schedule, hurdles and TrainResult; it never throws.
 * Results agree with the tfjs backends up to float32 rounding (a test compares them).
 */
import type { Program } from '../dsl/ast.ts';
import { applyUpdate, prepare, step } from '../dsl/interpret.ts';
import { makeLayout } from '../dsl/ops.ts';
import { parseProgram } from '../dsl/parse.ts';
import { Rng } from '../util/rng.ts';
import { noiseDraw, quadraticProblem } from './tasks/quadratic.ts';
import { checkpointStepOf, scheduleValue } from './train.ts';
import type { BaselineReference, EvalStatus, TaskKind, TaskSpec, TrainResult } from './types.ts';

/** Task kinds the reference trainer can run. */
export const REFERENCE_KINDS: readonly TaskKind[] = ['quadratic'];

export interface ReferenceTrainOptions {
  readonly program: Program | string;
  /** The task already resolved at its fidelity. */
  readonly spec: TaskSpec;
  readonly fidelity: number;
  readonly seed: number;
  readonly baseline?: BaselineReference;
  readonly timeLimitSeconds?: number;
}

const finiteOrNull = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);

export function trainReference(opts: ReferenceTrainOptions): TrainResult {
  const { spec, seed } = opts;
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
  const lossFloor = spec.lossFloor ?? 0;
  let steps = 0;
  const stop = (s: EvalStatus, r: string): void => {
    status = s;
    reason = r;
  };
  try {
    if (!REFERENCE_KINDS.includes(spec.kind)) {
      throw new Error(`the reference backend trains only tasks with a closed-form gradient (kind ${REFERENCE_KINDS.join(', ')}); ${spec.name} is ${spec.kind}`);
    }
    const program = typeof opts.program === 'string' ? parseProgram(opts.program) : opts.program;
    const prep = prepare(program);
    const q = quadraticProblem(spec);
    const { d, a, c, target, noise, noiseTail } = q;
    const layout = makeLayout([d]);
    const rng = new Rng(seed);
    let w: Float64Array = Float64Array.from({ length: d }, () => q.startScale * rng.normal());
    const r = new Float64Array(d);
    const ar = new Float64Array(d);
    /** f(w) = 0.5 r^T A r with r = w - c; leaves r and A r in the scratch arrays. */
    const objective = (x: Float64Array): number => {
      for (let i = 0; i < d; i++) r[i] = (x[i] as number) - (c[i] as number);
      let f = 0;
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += (a[i * d + j] as number) * (r[j] as number);
        ar[i] = s;
        f += (r[i] as number) * s;
      }
      return 0.5 * f;
    };
    const evaluate = (x: Float64Array): { loss: number; metric: number } => {
      const loss = objective(x);
      let m = 0;
      for (let i = 0; i < d; i++) m = Math.max(m, Math.abs((x[i] as number) - (target[i] as number)));
      return { loss, metric: Number.isNaN(loss) ? NaN : m };
    };
    let state: readonly Float64Array[] = Array.from({ length: prep.slotCount }, () => new Float64Array(d));
    initialLoss = evaluate(w).loss;
    const every = Math.max(1, Math.floor(spec.steps / (spec.curvePoints ?? 10)));
    let firstTrainLoss: number | undefined;
    for (let t = 0; t < spec.steps; t++) {
      const lr = scheduleValue(t, spec.steps, spec.warmupFraction);
      let loss = objective(w);
      const g = new Float64Array(d);
      for (let i = 0; i < d; i++) {
        const xi = noise * noiseDraw(rng, noiseTail);
        g[i] = (ar[i] as number) + xi;
        loss += xi * (w[i] as number);
      }
      const out = step(prep, { w, g, state, lr }, layout);
      w = applyUpdate(w, out.update);
      state = out.state;
      steps = t + 1;
      if (t === 0 || steps % every === 0 || steps === spec.steps) curve.push([steps, loss]);
      if (!Number.isFinite(loss)) {
        stop('diverged', `training loss is ${loss} at step ${steps}`);
        break;
      }
      firstTrainLoss ??= loss;
      if (Math.abs(loss) > spec.hurdles.divergeRatio * Math.max(Math.abs(firstTrainLoss), 1e-12)) {
        stop('diverged', `training loss ${loss.toPrecision(4)} at step ${steps} is over ${spec.hurdles.divergeRatio}x the first (${firstTrainLoss.toPrecision(4)})`);
        break;
      }
      if (steps === checkpointStep && steps < spec.steps) {
        checkpointLoss = evaluate(w).loss;
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
      const ev = evaluate(w);
      finalLoss = ev.loss;
      metric = ev.metric;
      if (!Number.isFinite(ev.loss)) stop('diverged', `final held-out loss is ${ev.loss}`);
      if (steps === checkpointStep) checkpointLoss = ev.loss;
    }
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    stop('failed', (m.split('\n')[0] ?? m).slice(0, 500));
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
    backend: 'reference',
  };
}
