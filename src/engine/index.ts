/**
 * The simd engine: one program trains a batch of runs (seeds x lr multipliers) of one task, four runs
 * per f32x4 lane group, the whole training loop inside WebAssembly emitted at run time for that
 * program and task shape. Same contract as the reference trainer (trainReference): the same draws,
 * schedule, checkpoints and hurdles through RunMonitor, one TrainResult per run, never throws. A run
 * that stops (diverged, hurdle, timeout) leaves its batch-mates going; its lane's later steps are
 * computed but ignored, and lanes never mix, so a run's numbers do not depend on its batch-mates.
 *
 * Beyond the reference: a non-finite value in a run's scaled update stops it as diverged at that step.
 */
import type { Program } from '../dsl/ast.ts';
import { errorLine } from '../dsl/errors.ts';
import { parseProgram } from '../dsl/parse.ts';
import { RunMonitor, taskScheduleValue } from '../tasks/monitor.ts';
import type { BatchRun, TaskKind, TrainResult } from '../vocabulary/index.ts';
import { LANES, laneGroups, replaySteps, type SimdJob } from './batch.ts';
import { buildMlpModule, buildUpdateModule, type MlpLayout, type MlpShape } from './mlp.ts';
import { trainQuadraticBatch } from './quadratic.ts';
import { classifierSource, teacherStudentSource, type MlpSource } from './sources.ts';
import { PAGE_BYTES } from './wasm.ts';

export { DEFAULT_STREAM_CACHE_BYTES, setStreamCache } from './sources.ts';
export type { SimdJob } from './batch.ts';


export const BACKEND = 'simd';
/** Steps per call into WebAssembly (also the granularity of the wall-clock check). */
const CHUNK = 100;

type Trainer = (program: Program, job: SimdJob, monitors: RunMonitor[]) => void;

const TRAINERS: Partial<Record<TaskKind, Trainer>> = {
  'teacher-student': (p, job, m) => trainMlpBatch(p, job, m, teacherStudentSource(job.spec)),
  classifier: (p, job, m) => trainMlpBatch(p, job, m, classifierSource(job.spec)),
  quadratic: (p, job, m) => trainQuadraticBatch(p, job, m),
};

/** The task kinds the engine trains. */
export const SIMD_KINDS = Object.keys(TRAINERS) as readonly TaskKind[];

export function trainBatchSimd(job: SimdJob): TrainResult[] {
  const monitors = job.runs.map((r) => new RunMonitor(job.spec, r.baseline, job.timeLimitSeconds));
  if (monitors.length === 0) return [];
  try {
    const trainer = TRAINERS[job.spec.kind];
    if (!trainer) throw new Error(`the simd engine trains the task kinds ${SIMD_KINDS.join(', ')}; ${job.spec.name} is ${job.spec.kind}`);
    for (const r of job.runs) if (!(Number.isFinite(r.lrMultiplier) && Number.isSafeInteger(r.seed))) throw new Error(`a run needs a safe integer seed and a finite lr multiplier, got ${r.seed} and ${r.lrMultiplier}`);
    const program = parseProgram(job.programText);
    trainer(program, job, monitors);
  } catch (e) {
    const reason = errorLine(e);
    for (const m of monitors) if (m.status === 'ok') m.fail(reason);
  }
  return monitors.map((m, i) => m.result(job.fidelity, (job.runs[i] as BatchRun).seed, BACKEND));
}

/**
 * Compiled kernels by task shape: they do not depend on the program, so later candidates skip
 * emitting them and find V8's optimized code already there (a fresh module runs its first tens of
 * steps in the baseline tier).
 */
const kernels = new Map<string, { module: WebAssembly.Module; layout: MlpLayout }>();
const KERNELS_KEPT = 8;

function kernelsFor(shape: MlpShape): { module: WebAssembly.Module; layout: MlpLayout } {
  const key = JSON.stringify(shape);
  let hit = kernels.get(key);
  if (!hit) {
    const { bytes, layout } = buildMlpModule(shape);
    hit = { module: new WebAssembly.Module(bytes), layout };
    if (kernels.size >= KERNELS_KEPT) kernels.delete(kernels.keys().next().value as string);
    kernels.set(key, hit);
  }
  return hit;
}

function trainMlpBatch(program: Program, job: SimdJob, monitors: RunMonitor[], source: MlpSource): void {
  const { spec } = job;
  const chunk = Math.min(CHUNK, spec.steps);
  const shape: MlpShape = { sizes: source.sizes, batch: source.batch, chunk, steps: spec.steps, heldOut: source.heldOut };
  const { module, layout } = kernelsFor(shape);
  const step = buildUpdateModule(program, layout.leaves, layout, layout.regionBytes);
  let groups = laneGroups(job.runs.length);
  const regionStride = Math.ceil(step.end / 64) * 64;
  const sharedBytes = Math.ceil(layout.sharedBytes / 64) * 64;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((sharedBytes + groups.length * regionStride) / PAGE_BYTES) + 1 });
  const update = new WebAssembly.Instance(new WebAssembly.Module(step.bytes), { env: { memory } }).exports.step as (base: number, lr: number) => void;
  const instance = new WebAssembly.Instance(module, { env: { memory, update } });
  const train = instance.exports.train as (base: number, t0: number, count: number) => void;
  const evaluate = instance.exports.evaluate as (base: number) => void;
  const buf = memory.buffer;
  const f32 = new Float32Array(buf);
  const i32 = new Int32Array(buf);
  const f64 = new Float64Array(buf);
  const d0 = source.sizes[0] as number;
  const classes = source.sizes[source.sizes.length - 1] as number;
  for (let t = 0; t < spec.steps; t++) f32[layout.lrTable / 4 + t] = taskScheduleValue(spec, t);
  // the held-out rows, the same in every lane
  for (let n = 0; n < source.heldOut; n++)
    for (let j = 0; j < d0; j++) {
      const v = source.hx[n * d0 + j] as number;
      const at = layout.heldX / 4 + (n * d0 + j) * 4;
      f32.fill(v, at, at + 4);
    }
  f32.set(source.hp.subarray(0, source.heldOut * classes), layout.heldP / 4);
  i32.set(source.hy.subarray(0, source.heldOut), layout.heldY / 4);
  const baseOf = (g: number): number => sharedBytes + g * regionStride;
  const total = layout.leaves.reduce((a, b) => a + b, 0);
  groups.forEach((group, g) => {
    const base = baseOf(g);
    group.forEach((run, lane) => {
      const r = job.runs[run] as BatchRun;
      const w0 = source.initialWeights(r.seed);
      for (let j = 0; j < total; j++) f32[(base + layout.w) / 4 + 4 * j + lane] = w0[j] as number;
      f32[(base + layout.multiplier) / 4 + lane] = r.lrMultiplier;
    });
  });
  for (const m of monitors) m.lossFloor = source.lossFloor ?? m.lossFloor;
  const active = job.runs.map(() => true);
  const groupActive = (group: readonly number[]): boolean => group.some((r) => active[r]);
  /** Held-out loss and metric of every lane of a group. */
  const evaluateGroup = (g: number): { loss: number; metric: number }[] => {
    const base = baseOf(g);
    evaluate(base);
    return [0, 1, 2, 3].map((lane) => ({
      loss: -(f64[(base + layout.evalLoss) / 8 + lane] as number) / source.heldOut,
      metric: (f32[(base + layout.evalAgree) / 4 + lane] as number) / source.heldOut,
    }));
  };
  const forEachRun = (g: number, f: (m: RunMonitor, lane: number) => void): void => {
    const group = groups[g] as number[];
    group.forEach((run, lane) => {
      if (group.indexOf(run) === lane && active[run]) f(monitors[run] as RunMonitor, lane);
    });
  };
  groups.forEach((_, g) => {
    const ev = evaluateGroup(g);
    forEachRun(g, (m, lane) => (m.initialLoss = ev[lane]!.loss));
  });
  /**
   * Runs still going moved into as few lane groups as they need (stopped runs leave gaps): a run's
   * weights, state and multiplier go with it; lanes are independent, so its numbers do not change.
   */
  const repack = (): void => {
    const live = job.runs.map((_, r) => r).filter((r) => active[r]);
    if (Math.ceil(live.length / LANES) >= groups.filter(groupActive).length) return;
    const kept = [layout.w, ...step.slots];
    const saved = live.map((run) => {
      const g = groups.findIndex((group) => group.includes(run));
      const lane = (groups[g] as number[]).indexOf(run);
      const base = baseOf(g);
      return {
        buffers: kept.map((off) => Float32Array.from({ length: total }, (_, j) => f32[(base + off) / 4 + 4 * j + lane] as number)),
        multiplier: f32[(base + layout.multiplier) / 4 + lane] as number,
      };
    });
    groups = laneGroups(live.length).map((group) => group.map((k) => live[k] as number));
    groups.forEach((group, g) => {
      const base = baseOf(g);
      group.forEach((run, lane) => {
        const s = saved[live.indexOf(run)]!;
        kept.forEach((off, b) => {
          for (let j = 0; j < total; j++) f32[(base + off) / 4 + 4 * j + lane] = s.buffers[b]![j] as number;
        });
        f32[(base + layout.multiplier) / 4 + lane] = s.multiplier;
      });
    });
  };
  const checkpoint = (monitors[0] as RunMonitor).checkpointStep;
  for (let t0 = 0; t0 < spec.steps && active.some((a) => a); ) {
    const t1 = Math.min(t0 + chunk, spec.steps, t0 < checkpoint ? checkpoint : spec.steps);
    groups.forEach((group, g) => {
      if (!groupActive(group)) return;
      const base = baseOf(g);
      // one staging slot per distinct seed of the group
      const seeds = group.map((run) => (job.runs[run] as BatchRun).seed);
      seeds.forEach((seed, lane) => {
        const slot = seeds.indexOf(seed);
        i32[(base + layout.laneSlots) / 4 + lane] = slot;
        if (slot !== lane) return;
        const x = new Float32Array(buf, base + layout.stagingX + slot * layout.laneX, (t1 - t0) * source.batch * d0);
        const y = new Int32Array(buf, base + layout.stagingY + slot * layout.laneY, (t1 - t0) * source.batch);
        source.fill(seed, t0, t1, x, y);
      });
      train(base, t0, t1 - t0);
      const rec = (base + layout.record) / 4;
      replaySteps(monitors, group, active, t0, t1, (s, lane) => f32[rec + 8 * s + lane] as number, (s, lane) => !Number.isNaN(f32[rec + 8 * s + 4 + lane] as number));
      if ((monitors[group[0] as number] as RunMonitor).checkpointDue(t1) && groupActive(group)) {
        const ev = evaluateGroup(g);
        forEachRun(g, (m, lane) => {
          if (!m.checkpoint(t1, ev[lane]!.loss)) active[group[lane] as number] = false;
        });
      }
      forEachRun(g, (m, lane) => {
        if (!m.inTime(t1)) active[group[lane] as number] = false;
      });
    });
    repack();
    t0 = t1;
  }
  groups.forEach((group, g) => {
    if (!groupActive(group)) return;
    const ev = evaluateGroup(g);
    forEachRun(g, (m, lane) => m.finish(ev[lane]!));
  });
}
