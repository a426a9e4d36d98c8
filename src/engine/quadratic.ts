/**
 * The quadratic kind in the lanes: f(w) = 0.5 (w - c)^T A (w - c), gradient A (w - c) + xi with a
 * fresh noise draw xi per step (drawn in JS from each run's Rng exactly as the reference trainer
 * draws it, after the start point). The objective's sums are in f64, the rest in float32.
 */
import type { Program } from '../dsl/ast.ts';
import { noiseDraw, quadraticProblem } from '../tasks/quadratic.ts';
import { taskScheduleValue, type RunMonitor } from '../tasks/monitor.ts';
import { Rng } from '../util/rng.ts';
import type { BatchRun } from '../vocabulary/index.ts';
import { laneGroups, replaySteps, type SimdJob } from './batch.ts';
import { MathLib } from './math.ts';
import { emitUpdate } from './program.ts';
import { Arena, ModuleBuilder, PAGE_BYTES, type Code, type Local } from './wasm.ts';

const CHUNK = 100;

interface QuadraticLayout {
  readonly lrTable: number;
  readonly a: number;
  readonly centre: number;
  readonly target: number;
  readonly w: number;
  readonly multiplier: number;
  readonly noise: number;
  readonly record: number;
  readonly evalLoss: number;
  readonly evalMetric: number;
  readonly regionBytes: number;
  readonly sharedBytes: number;
}

function buildQuadraticModule(program: Program, d: number, steps: number, chunk: number): { bytes: Uint8Array<ArrayBuffer>; layout: QuadraticLayout } {
  const shared = new Arena();
  const lrTable = shared.take(steps * 4);
  const a = shared.take(d * d * 4);
  const centre = shared.take(d * 4);
  const target = shared.take(d * 4);
  const region = new Arena();
  const w = region.take(d * 16);
  const g = region.take(d * 16);
  const slots = Array.from({ length: program.inputs.length - 3 }, () => region.take(d * 16));
  const multiplier = region.take(16);
  const flag = region.take(16);
  const noise = region.take(chunk * d * 16);
  const r = region.take(d * 16);
  const ar = region.take(d * 16);
  const record = region.take(chunk * 32);
  const evalLoss = region.take(32);
  const evalMetric = region.take(16);
  const mb = new ModuleBuilder(1);
  const lib = new MathLib(mb);
  const update = emitUpdate(mb, lib, program, { leaves: [d], w, g, slots, multiplier, flag, alloc: (bytes) => region.take(bytes) });

  // objective(base) -> leaves r = w - c and A r in the region; returns nothing, f in two f64x2 locals of the caller
  const objective = mb.func('objective', ['i32'], ['v128', 'v128']);
  {
    const c = objective;
    const base = c.param(0);
    const i = c.local('i32');
    const j = c.local('i32');
    const acc = c.local('v128');
    const lo = c.local('v128');
    const hi = c.local('v128');
    const prod = c.local('v128');
    c.for(i, 0, d * 16, 16, () => {
      c.get(base).get(i).op('i32.add');
      c.get(base).get(i).op('i32.add').vmem('v128.load', w);
      c.get(i).i32(2).op('i32.shr_u').vmem('v128.load32_splat', centre);
      c.simd('f32x4.sub').vmem('v128.store', r);
    });
    c.f64x2(0).set(lo).f64x2(0).set(hi);
    c.for(i, 0, d, 1, () => {
      c.f32x4(0).set(acc);
      c.for(j, 0, d, 1, () => {
        c.get(acc);
        c.get(i).i32(d).op('i32.mul').get(j).op('i32.add').i32(4).op('i32.mul').vmem('v128.load32_splat', a);
        c.get(base).get(j).i32(16).op('i32.mul').op('i32.add').vmem('v128.load', r);
        c.simd('f32x4.mul').simd('f32x4.add').set(acc);
      });
      c.get(base).get(i).i32(16).op('i32.mul').op('i32.add').get(acc).vmem('v128.store', ar);
      c.get(base).get(i).i32(16).op('i32.mul').op('i32.add').vmem('v128.load', r).get(acc).simd('f32x4.mul').set(prod);
      addHalves(c, prod, lo, hi);
    });
    c.get(lo).f64x2(0.5).simd('f64x2.mul').get(hi).f64x2(0.5).simd('f64x2.mul');
  }

  const train = mb.func('train', ['i32', 'i32', 'i32'], [], true);
  {
    const c = train;
    const base = c.param(0);
    const t0 = c.param(1);
    const count = c.param(2);
    const s = c.local('i32');
    const i = c.local('i32');
    const lo = c.local('v128');
    const hi = c.local('v128');
    const xi = c.local('v128');
    const prod = c.local('v128');
    const at = c.local('i32');
    c.for(s, 0, count, 1, () => {
      c.get(base).call(mb.index('objective')).set(hi).set(lo);
      // g = A r + xi; the loss adds xi . w
      c.for(i, 0, d * 16, 16, () => {
        c.get(base).get(i).op('i32.add').set(at);
        c.get(at).get(s).i32(d * 16).op('i32.mul').op('i32.add').vmem('v128.load', noise).set(xi);
        c.get(at).get(at).vmem('v128.load', ar).get(xi).simd('f32x4.add').vmem('v128.store', g);
        c.get(at).vmem('v128.load', w).get(xi).simd('f32x4.mul').set(prod);
        addHalves(c, prod, lo, hi);
      });
      c.get(base).get(s).i32(32).op('i32.mul').op('i32.add');
      packHalves(c, lo, hi);
      c.vmem('v128.store', record);
      c.get(base);
      c.get(t0).get(s).op('i32.add').i32(4).op('i32.mul').mem('f32.load', lrTable);
      c.call(update.fn);
      c.get(base).get(s).i32(32).op('i32.mul').op('i32.add');
      c.get(base).vmem('v128.load', flag);
      c.vmem('v128.store', record + 16);
    });
  }

  const evaluate = mb.func('evaluate', ['i32'], [], true);
  {
    const c = evaluate;
    const base = c.param(0);
    const i = c.local('i32');
    const m = c.local('v128');
    c.get(base).call(mb.index('objective'));
    const hi = c.local('v128');
    const lo = c.local('v128');
    c.set(hi).set(lo);
    c.get(base).get(lo).vmem('v128.store', evalLoss);
    c.get(base).get(hi).vmem('v128.store', evalLoss + 16);
    // max |w - target|
    c.f32x4(0).set(m);
    c.for(i, 0, d, 1, () => {
      c.get(m);
      c.get(base).get(i).i32(16).op('i32.mul').op('i32.add').vmem('v128.load', w);
      c.get(i).i32(4).op('i32.mul').vmem('v128.load32_splat', target);
      c.simd('f32x4.sub').simd('f32x4.abs').simd('f32x4.max').set(m);
    });
    c.get(base).get(m).vmem('v128.store', evalMetric);
  }
  return {
    bytes: mb.bytes(),
    layout: { lrTable, a, centre, target, w, multiplier, noise, record, evalLoss, evalMetric, regionBytes: region.size, sharedBytes: shared.size },
  };
}

/** lo, hi += the f64 halves of an f32x4. */
function addHalves(c: Code, x: Local, lo: Local, hi: Local): void {
  c.get(lo).get(x).simd('f64x2.promote_low_f32x4').simd('f64x2.add').set(lo);
  c.get(hi).get(x).get(x).shuffle([8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7]).simd('f64x2.promote_low_f32x4').simd('f64x2.add').set(hi);
}

function packHalves(c: Code, lo: Local, hi: Local): void {
  c.get(lo).simd('f32x4.demote_f64x2_zero').get(hi).simd('f32x4.demote_f64x2_zero');
  c.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23]);
}

export function trainQuadraticBatch(program: Program, job: SimdJob, monitors: RunMonitor[]): void {
  const { spec } = job;
  const q = quadraticProblem(spec);
  const d = q.d;
  const chunk = Math.min(CHUNK, spec.steps);
  const { bytes, layout } = buildQuadraticModule(program, d, spec.steps, chunk);
  const groups = laneGroups(job.runs.length);
  const regionStride = Math.ceil(layout.regionBytes / 64) * 64;
  const sharedBytes = Math.ceil(layout.sharedBytes / 64) * 64;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((sharedBytes + groups.length * regionStride) / PAGE_BYTES) + 1 });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  const train = instance.exports.train as (base: number, t0: number, count: number) => void;
  const evaluate = instance.exports.evaluate as (base: number) => void;
  const f32 = new Float32Array(memory.buffer);
  const f64 = new Float64Array(memory.buffer);
  for (let t = 0; t < spec.steps; t++) f32[layout.lrTable / 4 + t] = taskScheduleValue(spec, t);
  f32.set(Float32Array.from(q.a), layout.a / 4);
  f32.set(Float32Array.from(q.c), layout.centre / 4);
  f32.set(Float32Array.from(q.target), layout.target / 4);
  const baseOf = (g: number): number => sharedBytes + g * regionStride;
  // each run's Rng: the start point, then one noise vector per step
  const rngs = job.runs.map((r) => new Rng(r.seed));
  groups.forEach((group, g) => {
    group.forEach((run, lane) => {
      const r = job.runs[run] as BatchRun;
      const first = group.indexOf(run) === lane;
      const w0 = first ? Float64Array.from({ length: d }, () => q.startScale * (rngs[run] as Rng).normal()) : undefined;
      for (let j = 0; j < d; j++) {
        const at = (baseOf(g) + layout.w) / 4 + 4 * j;
        f32[at + lane] = w0 ? (w0[j] as number) : (f32[at + group.indexOf(run)] as number);
      }
      f32[(baseOf(g) + layout.multiplier) / 4 + lane] = r.lrMultiplier;
    });
  });
  const active = job.runs.map(() => true);
  const groupActive = (group: readonly number[]): boolean => group.some((r) => active[r]);
  const evaluateGroup = (g: number): { loss: number; metric: number }[] => {
    const base = baseOf(g);
    evaluate(base);
    return [0, 1, 2, 3].map((lane) => {
      const loss = f64[(base + layout.evalLoss) / 8 + lane] as number;
      return { loss, metric: Number.isNaN(loss) ? NaN : (f32[(base + layout.evalMetric) / 4 + lane] as number) };
    });
  };
  const forEachRun = (g: number, f: (m: RunMonitor, lane: number, run: number) => void): void => {
    const group = groups[g] as number[];
    group.forEach((run, lane) => {
      if (group.indexOf(run) === lane && active[run]) f(monitors[run] as RunMonitor, lane, run);
    });
  };
  groups.forEach((_, g) => {
    const ev = evaluateGroup(g);
    forEachRun(g, (m, lane) => (m.initialLoss = ev[lane]!.loss));
  });
  const checkpoint = (monitors[0] as RunMonitor).checkpointStep;
  for (let t0 = 0; t0 < spec.steps && active.some((x) => x); ) {
    const t1 = Math.min(t0 + chunk, spec.steps, t0 < checkpoint ? checkpoint : spec.steps);
    groups.forEach((group, g) => {
      if (!groupActive(group)) return;
      const base = baseOf(g);
      // noise of every step of the chunk, drawn run by run in the reference's order
      const noiseAt = (base + layout.noise) / 4;
      group.forEach((run, lane) => {
        const first = group.indexOf(run);
        for (let s = 0; s < t1 - t0; s++)
          for (let j = 0; j < d; j++) {
            const at = noiseAt + (s * d + j) * 4;
            f32[at + lane] = first === lane ? q.noise * noiseDraw(rngs[run] as Rng, q.noiseTail) : (f32[at + first] as number);
          }
      });
      train(base, t0, t1 - t0);
      const rec = (base + layout.record) / 4;
      replaySteps(monitors, group, active, t0, t1, (s, lane) => f32[rec + 8 * s + lane] as number, (s, lane) => !Number.isNaN(f32[rec + 8 * s + 4 + lane] as number));
      if ((monitors[group[0] as number] as RunMonitor).checkpointDue(t1) && groupActive(group)) {
        const ev = evaluateGroup(g);
        forEachRun(g, (m, lane, run) => {
          if (!m.checkpoint(t1, ev[lane]!.loss)) active[run] = false;
        });
      }
      forEachRun(g, (m, _lane, run) => {
        if (!m.inTime(t1)) active[run] = false;
      });
    });
    t0 = t1;
  }
  groups.forEach((group, g) => {
    if (!groupActive(group)) return;
    const ev = evaluateGroup(g);
    forEachRun(g, (m, lane) => m.finish(ev[lane]!));
  });
}
