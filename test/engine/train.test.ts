/**
 * The simd engine against the reference trainer (Float64, hand-written gradients): the same draws,
 * so loss curves, held-out losses and metrics agree up to float32 rounding; the same hurdle and
 * divergence decisions; and runs in one batch do not affect each other.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProgram } from '../../src/dsl/parse.ts';
import { printProgram } from '../../src/dsl/print.ts';
import { DEFAULT_STREAM_CACHE_BYTES, setStreamCache, SIMD_KINDS, trainBatchSimd } from '../../src/engine/index.ts';
import { scaleUpdate } from '../../src/proxy/job.ts';
import { trainReference } from '../../src/proxy/reference.ts';
import { loadTaskSpec } from '../../src/tasks/spec.ts';
import type { BatchRun, TaskSpec, TrainResult } from '../../src/vocabulary/index.ts';

const METHODS = ['adamw', 'lion', 'signum', 'sgd', 'momentum'];
const programText = (name: string): string => readFileSync(`search-spaces/programs/${name}.prog`, 'utf8');
/** Relative tolerance of losses: float32 against Float64 over 150 steps (measured up to 4e-5). */
const LOSS_TOLERANCE = 2e-4;

function reference(text: string, spec: TaskSpec, run: BatchRun): TrainResult {
  return trainReference({ program: printProgram(scaleUpdate(parseProgram(text), run.lrMultiplier)), spec, fidelity: 1, seed: run.seed, baseline: run.baseline });
}

/**
 * metricTolerance: absolute (accuracy-like metrics: two held-out rows). Training losses are compared
 * relative to themselves, floored at a hundredth of the curve's largest: the quadratic's loss (f + xi . w)
 * may cross zero, where a relative difference means nothing.
 */
function expectClose(simd: TrainResult, ref: TrainResult, what: string, metricTolerance: number): void {
  expect(simd.status, `${what}: status (${simd.reason} / ${ref.reason})`).toBe(ref.status);
  expect(simd.steps, `${what}: steps`).toBe(ref.steps);
  expect(simd.backend).toBe('simd');
  expect(simd.lossCurve.map(([s]) => s)).toEqual(ref.lossCurve.map(([s]) => s));
  const floor = 0.01 * Math.max(0, ...ref.lossCurve.map(([, l]) => (Number.isFinite(l) ? Math.abs(l) : 0)));
  simd.lossCurve.forEach(([s, l], k) => {
    const r = ref.lossCurve[k]![1];
    expect(Math.abs(l - r), `${what}: training loss at step ${s}`).toBeLessThanOrEqual(LOSS_TOLERANCE * Math.max(Math.abs(r), floor));
  });
  for (const key of ['initialLoss', 'finalLoss', 'checkpointLoss'] as const) {
    const a = simd[key];
    const b = ref[key];
    if (b === null) expect(a, `${what}: ${key}`).toBeNull();
    else expect(Math.abs(a! - b), `${what}: ${key}`).toBeLessThanOrEqual(LOSS_TOLERANCE * Math.abs(b));
  }
  if (ref.metric !== null) expect(Math.abs(simd.metric! - ref.metric), `${what}: metric`).toBeLessThanOrEqual(metricTolerance);
  expect(simd.lossFloor).toBeCloseTo(ref.lossFloor, 6);
}

/** metric: agreement or accuracy on the held-out rows (two rows may flip), or the quadratic's max |w - w*|. */
const TASKS: { name: string; metricTolerance: number }[] = [
  { name: 'teacher-student-16', metricTolerance: 2 / 1000 },
  { name: 'digits-mlp', metricTolerance: 2 / 359 },
  { name: 'logreg-cancer', metricTolerance: 2 / 114 },
  { name: 'quadratic', metricTolerance: 1e-5 },
  { name: 'box-quadratic', metricTolerance: 1e-4 },
  { name: 'very-noisy-quadratic-16', metricTolerance: 1e-5 },
];

describe('simd engine vs the reference trainer', () => {
  for (const task of TASKS) {
    const spec: TaskSpec = { ...loadTaskSpec(task.name), steps: 150, curvePoints: 15 };
    for (const method of METHODS) {
      it(`${task.name}, ${method}: loss curves, held-out loss and metric`, () => {
        const runs: BatchRun[] = [
          { seed: 1, lrMultiplier: 10 },
          { seed: 2, lrMultiplier: 1 },
          { seed: 3, lrMultiplier: 3 },
        ];
        const text = programText(method);
        const simd = trainBatchSimd({ programText: text, spec, fidelity: 1, runs });
        expect(simd).toHaveLength(runs.length);
        runs.forEach((r, i) => expectClose(simd[i]!, reference(text, spec, r), `${method} seed ${r.seed} x${r.lrMultiplier}`, task.metricTolerance));
      });
    }
  }

  it('hurdles and divergence: the same decisions at the same steps', () => {
    const spec: TaskSpec = { ...loadTaskSpec('teacher-student-16'), steps: 200, curvePoints: 20 };
    const text = programText('sgd');
    const runs: BatchRun[] = [
      // behind a baseline that reached a much lower held-out loss: stopped at the checkpoint
      { seed: 1, lrMultiplier: 1, baseline: { checkpointStep: 50, checkpointLoss: spec.lossFloor ?? 0.5 } },
      // far too large a step: the training loss runs away
      { seed: 2, lrMultiplier: 3000 },
      // within the hurdle
      { seed: 3, lrMultiplier: 1, baseline: { checkpointStep: 50, checkpointLoss: 100 } },
    ];
    const simd = trainBatchSimd({ programText: text, spec, fidelity: 1, runs });
    const statuses = simd.map((r) => r.status);
    expect(statuses.slice().sort()).toEqual(['diverged', 'hurdle', 'ok']);
    runs.forEach((r, i) => expectClose(simd[i]!, reference(text, spec, r), `run ${i}`, 2 / 1000));
  });

  it('runs do not affect each other: alone, or beside seven others including a diverging one', () => {
    const spec: TaskSpec = { ...loadTaskSpec('teacher-student-16'), steps: 120, curvePoints: 12 };
    const text = programText('lion');
    const probe: BatchRun = { seed: 5, lrMultiplier: 3 };
    const alone = trainBatchSimd({ programText: text, spec, fidelity: 1, runs: [probe] })[0]!;
    const others: BatchRun[] = [1, 2, 3, 4, 6, 7].map((seed) => ({ seed, lrMultiplier: seed % 3 === 0 ? 1 : 10 }));
    const diverging: BatchRun = { seed: 8, lrMultiplier: 1e6 };
    const crowd = trainBatchSimd({ programText: text, spec, fidelity: 1, runs: [others[0]!, diverging, probe, ...others.slice(1)] });
    expect(crowd[1]!.status).toBe('diverged');
    expect(alone.status).toBe('ok');
    const { seconds: _a, ...aloneRest } = alone;
    const { seconds: _b, ...crowdRest } = crowd[2]!;
    expect(crowdRest).toEqual(aloneRest);
  });

  it('runs still going after others stop move into fewer lane groups, their numbers unchanged', () => {
    const spec: TaskSpec = { ...loadTaskSpec('digits-mlp'), steps: 200, curvePoints: 10 };
    const text = programText('adamw');
    const behind = { checkpointStep: 50, checkpointLoss: 0 };
    // eight runs in two groups; six stop at the checkpoint, one survivor in each group
    const runs: BatchRun[] = [1, 2, 3, 4, 5, 6, 7, 8].map((seed) => ({ seed, lrMultiplier: 3, baseline: seed === 2 || seed === 7 ? undefined : behind }));
    const batch = trainBatchSimd({ programText: text, spec, fidelity: 1, runs });
    expect(batch.map((r) => r.status)).toEqual(['hurdle', 'ok', 'hurdle', 'hurdle', 'hurdle', 'hurdle', 'ok', 'hurdle']);
    for (const i of [1, 6]) {
      const { seconds: _a, ...alone } = trainBatchSimd({ programText: text, spec, fidelity: 1, runs: [runs[i]!] })[0]!;
      const { seconds: _b, ...inBatch } = batch[i]!;
      expect(inBatch).toEqual(alone);
    }
  });

  for (const name of ['teacher-student-16', 'digits-mlp']) {
    it(`${name}: batches kept whole or drawn a chunk at a time, the same results`, () => {
      const spec: TaskSpec = { ...loadTaskSpec(name), steps: 250, curvePoints: 10 };
      const text = programText('adamw');
      // seed 1 in both lane groups, so a held chunk serves several lanes and groups
      const runs: BatchRun[] = [1, 2, 3, 1, 2, 1].map((seed, i) => ({ seed, lrMultiplier: [10, 3, 1][i % 3] as number }));
      const strip = (rs: TrainResult[]) => rs.map(({ seconds: _s, ...r }) => r);
      setStreamCache(0);
      const chunked = strip(trainBatchSimd({ programText: text, spec, fidelity: 1, runs }));
      setStreamCache(DEFAULT_STREAM_CACHE_BYTES);
      const whole = strip(trainBatchSimd({ programText: text, spec, fidelity: 1, runs }));
      expect(chunked).toEqual(whole);
      expect(whole[0]!.status).toBe('ok');
      expectClose(trainBatchSimd({ programText: text, spec, fidelity: 1, runs: [runs[3]!] })[0]!, reference(text, spec, runs[3]!), 'seed 1 alone', 0.01);
    });
  }

  it('a program without state and with a Scalar update, and no runs at all', () => {
    const spec: TaskSpec = { ...loadTaskSpec('digits-mlp'), steps: 120, curvePoints: 12 };
    const texts = ['def f(w, g, lr):\n  u = g * 0.05\n  return u\n', 'def f(w, g, m, lr):\n  n = global_norm(g)\n  u = n * 0.001\n  u = u * lr\n  return u, m\n'];
    for (const text of texts) {
      const runs: BatchRun[] = [{ seed: 1, lrMultiplier: 1 }, { seed: 2, lrMultiplier: 3 }];
      const simd = trainBatchSimd({ programText: text, spec, fidelity: 1, runs });
      runs.forEach((r, i) => expectClose(simd[i]!, reference(text, spec, r), text.split('\n')[1]!, 2 / 359));
    }
    expect(trainBatchSimd({ programText: texts[0]!, spec, fidelity: 1, runs: [] })).toEqual([]);
  });

  it('a network collapsed to huge, equal logits scores the uniform loss log C held out, not 0', () => {
    // Every parameter gets the same huge step (-0.23 / m / lr, m alternating between tiny and huge):
    // in float32 the logits become equal, and max + log(sum) rounds to max, which once scored this
    // program's held-out loss 0 (fitness 10, the cap).
    const spec: TaskSpec = { ...loadTaskSpec('teacher-student-16'), steps: 400, curvePoints: 4 };
    const text = 'def train(w, g, m, v, lr):\n  t1 = -0.231635 / m\n  t2 = t1 / lr\n  return t2, t1, v\n';
    const [r] = trainBatchSimd({ programText: text, spec, fidelity: 1, runs: [{ seed: 1, lrMultiplier: 3 }] });
    expect(r?.status).toBe('ok');
    expect(r?.lossCurve.at(-1)?.[1]).toBeCloseTo(Math.log(8), 4);
    expect(r?.finalLoss).toBeCloseTo(Math.log(8), 4);
  });

  it('the wall-clock limit stops every run as timeout', () => {
    const spec = loadTaskSpec('teacher-student-16');
    const results = trainBatchSimd({ programText: programText('lion'), spec, fidelity: 1, runs: [{ seed: 1, lrMultiplier: 1 }, { seed: 2, lrMultiplier: 1 }], timeLimitSeconds: 1e-6 });
    expect(results.map((r) => r.status)).toEqual(['timeout', 'timeout']);
    expect(results[0]!.steps).toBeLessThan(spec.steps);
    expect(results[0]!.reason).toMatch(/wall-clock limit/);
  });

  it('a kind it does not cover, and a bad program, give failed results with one-line reasons', () => {
    const conv = trainBatchSimd({ programText: programText('adamw'), spec: loadTaskSpec('digits-conv'), fidelity: 1, runs: [{ seed: 1, lrMultiplier: 1 }] });
    expect(conv[0]!.status).toBe('failed');
    for (const k of SIMD_KINDS) expect(conv[0]!.reason).toContain(k);
    const bad = trainBatchSimd({ programText: 'def f(w, g, lr):\n  u = nosuch(g)\n  return u\n', spec: loadTaskSpec('digits-mlp'), fidelity: 1, runs: [{ seed: 1, lrMultiplier: 1 }, { seed: 2, lrMultiplier: 3 }] });
    expect(bad.map((r) => r.status)).toEqual(['failed', 'failed']);
    expect(bad[0]!.reason).toMatch(/nosuch/);
    expect(bad[0]!.reason).not.toContain('\n');
  });
});
