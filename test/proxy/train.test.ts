/**
 * The training loop: schedule, determinism, hurdles, failures, real accuracy on digits, and compiled
 * AdamW / Lion against hand-written tfjs steps.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import { parseProgram } from '../../src/dsl/parse.ts';
import { initBackend } from '../../src/proxy/backend.ts';
import { compileProgram } from '../../src/proxy/compile.ts';
import { getTaskBuilder } from '../../src/proxy/builders/index.ts';
import type { Tf } from '../../src/proxy/tf.ts';
import { loadTaskSpec, atFidelity, validateTaskSpec } from '../../src/tasks/spec.ts';
import { trainProgram } from '../../src/proxy/train.ts';
import { checkpointStepOf, scheduleValue, taskScheduleValue } from '../../src/tasks/monitor.ts';
import { trainReference } from '../../src/proxy/reference.ts';
import type { TaskSpec } from '../../src/vocabulary/index.ts';

const prog = (name: string) => readFileSync(`search-spaces/programs/${name}.prog`, 'utf8');
const withSteps = (spec: TaskSpec, steps: number): TaskSpec => ({ ...spec, steps });

/** Lion with constants suited to a few hundred steps (lr 3e-3, decay 0.01). */
const LION_SHORT = `def train(w, g, m, v, lr):
  update = interp(g, m, 0.9)
  update = sign(update)
  m = interp(g, m, 0.99)
  wd = w * 0.01
  update = update + wd
  lr = lr * 0.003
  update = update * lr
  return update, m, v
`;

describe('schedule', () => {
  it('warms up linearly to 1.0, then decays by a cosine towards 0', () => {
    expect(scheduleValue(0, 100, 0.1)).toBeCloseTo(0.1, 12);
    expect(scheduleValue(4, 100, 0.1)).toBeCloseTo(0.5, 12);
    expect(scheduleValue(9, 100, 0.1)).toBe(1);
    expect(scheduleValue(10, 100, 0.1)).toBe(1);
    expect(scheduleValue(55, 100, 0.1)).toBeCloseTo(0.5, 12); // halfway through the 90 decay steps
    expect(scheduleValue(99, 100, 0.1)).toBeCloseTo(0.5 * (1 + Math.cos((Math.PI * 89) / 90)), 12);
    expect(scheduleValue(0, 10, 0)).toBe(1);
  });

  it("a task with schedule 'constant' gets 1.0 at every step; an unknown schedule is rejected", () => {
    const spec = { ...loadTaskSpec('quadratic'), schedule: 'constant' as const };
    for (const t of [0, 1, 150, 299]) expect(taskScheduleValue(spec, t)).toBe(1);
    const plain = loadTaskSpec('quadratic');
    expect(taskScheduleValue(plain, 0)).toBe(scheduleValue(0, plain.steps, plain.warmupFraction));
    expect(taskScheduleValue(plain, 299)).toBeLessThan(0.01);
    expect(() => validateTaskSpec({ ...plain, schedule: 'linear' }, 'x.json')).toThrow(/'schedule' must be 'warmup-cosine' or 'constant'/);
  });

  it('a program that reads lr trains differently under the two schedules (the trainer passes the value on)', () => {
    const base = loadTaskSpec('very-noisy-quadratic-16');
    const text = readFileSync('search-spaces/programs/adamw.prog', 'utf8');
    const cosine = trainReference({ program: text, spec: base, fidelity: 1, seed: 1 });
    const constant = trainReference({ program: text, spec: { ...base, schedule: 'constant' }, fidelity: 1, seed: 1 });
    // a program that ignores lr (a constant step) is the same under both
    const fixed = text.replace('  lr = lr * 0.001\n', '  lr = abs(0.001)\n');
    const a = trainReference({ program: fixed, spec: base, fidelity: 1, seed: 1 });
    const b = trainReference({ program: fixed, spec: { ...base, schedule: 'constant' }, fidelity: 1, seed: 1 });
    expect(constant.finalLoss).not.toBe(cosine.finalLoss);
    expect(b.finalLoss).toBe(a.finalLoss);
  });
});

describe('trainProgram on wasm', () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await initBackend('wasm')).tf;
  });
  const run = (program: string, spec: TaskSpec, seed = 0, extra: Partial<Parameters<typeof trainProgram>[0]> = {}) =>
    trainProgram({ tf, backend: 'wasm', program, spec, fidelity: 1, seed, ...extra });

  it('gives the same losses bit for bit for the same seed, and different ones for another seed', async () => {
    const spec = withSteps(loadTaskSpec('digits-mlp'), 60);
    const before = tf.memory().numTensors;
    const a = await run(prog('lion'), spec, 3);
    const b = await run(prog('lion'), spec, 3);
    const c = await run(prog('lion'), spec, 4);
    expect(a.status).toBe('ok');
    expect(b.lossCurve).toEqual(a.lossCurve);
    expect(Object.is(b.finalLoss, a.finalLoss)).toBe(true);
    expect(c.lossCurve).not.toEqual(a.lossCurve);
    expect(tf.memory().numTensors).toBe(before); // nothing leaks across whole runs
  });

  it('is deterministic on every task kind', async () => {
    for (const name of ['quadratic', 'box-quadratic', 'logreg-cancer', 'digits-conv', 'charlm', 'teacher-student']) {
      const spec = withSteps(loadTaskSpec(name), 12);
      const a = await run(prog('adamw'), spec, 1);
      const b = await run(prog('adamw'), spec, 1);
      expect(a.status, `${name}: ${a.reason}`).toBe('ok');
      expect(b.lossCurve, name).toEqual(a.lossCurve);
      expect(b.finalLoss, name).toBe(a.finalLoss);
      expect(a.finalLoss!, name).toBeLessThan(a.initialLoss!);
    }
  });

  it('stops a diverging program with status diverged', async () => {
    const bad = 'def train(w, g, lr):\n  u = exp(g)\n  u = exp(u)\n  u = u * -100\n  return u\n';
    const r = await run(bad, withSteps(loadTaskSpec('digits-mlp'), 100));
    expect(r.status).toBe('diverged');
    expect(r.finalLoss).toBeNull();
    expect(r.steps).toBeLessThan(100);
    const r2 = await run('def train(w, g, lr):\n  u = g * -10\n  return u\n', withSteps(loadTaskSpec('quadratic'), 200));
    expect(r2.status).toBe('diverged');
    expect(r2.reason).toMatch(/over 100x the first|Infinity|NaN/);
  });

  it('stops at the checkpoint a run far behind the baseline (hurdle)', async () => {
    const spec = withSteps(loadTaskSpec('digits-mlp'), 80);
    const step = checkpointStepOf(spec);
    const idle = 'def train(w, g, lr):\n  u = g * 0\n  return u\n';
    const r = await run(idle, spec, 0, { baseline: { checkpointStep: step, checkpointLoss: 0.3 } });
    expect(r.status).toBe('hurdle');
    expect(r.steps).toBe(step);
    // the same run with a lenient baseline completes
    const ok = await run(idle, spec, 0, { baseline: { checkpointStep: step, checkpointLoss: 2.3 } });
    expect(ok.status).toBe('ok');
  });

  it('stops at the wall-clock limit with status timeout', async () => {
    const r = await run(prog('adamw'), loadTaskSpec('digits-mlp'), 0, { timeLimitSeconds: 0.05 });
    expect(r.status).toBe('timeout');
    expect(r.steps).toBeGreaterThan(0);
    expect(r.steps).toBeLessThan(400);
  });

  it('reports a bad program or task as failed, with the reason', async () => {
    const r = await run('def train(w, g, lr):\n  u = frobnicate(g)\n  return u\n', loadTaskSpec('quadratic'));
    expect(r.status).toBe('failed');
    expect(r.reason).toMatch(/2:\d+: unknown function 'frobnicate'/);
    const bad = { ...loadTaskSpec('digits-mlp'), params: { dataset: 'nope' } };
    const r2 = await run(prog('adamw'), bad);
    expect(r2.status).toBe('failed');
    expect(r2.reason).toMatch(/unknown dataset 'nope'/);
  });

  it('reaches validation accuracy above 90% on digits-mlp with AdamW and with Lion', async () => {
    const spec = loadTaskSpec('digits-mlp');
    const adamw = await run(prog('adamw'), spec);
    const lion = await run(LION_SHORT, spec);
    console.log(`digits-mlp validation accuracy: AdamW ${adamw.metric?.toFixed(4)} (loss ${adamw.finalLoss?.toFixed(4)}), Lion ${lion.metric?.toFixed(4)} (loss ${lion.finalLoss?.toFixed(4)})`);
    expect(adamw.status).toBe('ok');
    expect(lion.status).toBe('ok');
    expect(adamw.metric!).toBeGreaterThan(0.9);
    expect(lion.metric!).toBeGreaterThan(0.9);
  });

  it('builds and trains every task at x10 and x100 (a few steps each)', async () => {
    for (const name of ['quadratic', 'box-quadratic', 'logreg-cancer', 'digits-mlp', 'digits-conv', 'charlm', 'teacher-student']) {
      for (const f of [10, 100] as const) {
        const spec = withSteps(atFidelity(loadTaskSpec(name), f), 3);
        const r = await trainProgram({ tf, backend: 'wasm', program: prog('adamw'), spec, fidelity: f, seed: 0 });
        expect(r.status, `${name} x${f}: ${r.reason}`).toBe('ok');
        expect(r.fidelity).toBe(f);
      }
    }
  });

  it('box-quadratic: Lion with decay 10 ends at the box-constrained optimum, AdamW at the unconstrained one', async () => {
    const spec = loadTaskSpec('box-quadratic');
    const lion10 = LION_SHORT.replace('w * 0.01', 'w * 10.0').replace('lr * 0.003', 'lr * 0.001');
    const lion = await run(lion10, spec);
    const adamw = await run(prog('adamw'), spec);
    console.log(`box-quadratic distance to clip(c, -0.1, 0.1): Lion (decay 10) ${lion.metric?.toExponential(2)}, AdamW ${adamw.metric?.toExponential(2)}`);
    expect(lion.status).toBe('ok');
    expect(lion.metric!).toBeLessThan(0.005); // lion-k.md section 6, prediction 3 (tolerance about the final lr)
    expect(adamw.metric!).toBeGreaterThan(0.1); // AdamW's weak decay implies no such box
  });

  it('makes x10 variants more expensive than x1', () => {
    const s = loadTaskSpec('digits-mlp');
    const s10 = atFidelity(s, 10);
    expect(s10.steps).toBeGreaterThanOrEqual(5 * s.steps);
    expect(s10.params.hidden).toEqual([128, 64]);
    expect(s10.params.dataset).toBe('digits');
    expect(s10.hurdles.timeLimitSeconds).toBe(10 * s.hurdles.timeLimitSeconds);
    expect(() => atFidelity(s, 3 as never)).toThrow(/fidelity/);
  });
});

/** Hand-written tfjs steps, written from the update rules (lion-k.md 1.1 and 9; adamw.prog). */
function handAdamW(tf: Tf, params: readonly Variable[]) {
  const m = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  const v = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  return {
    apply(grads: readonly Tensor[], lr: number) {
      tf.tidy(() => {
        params.forEach((p, i) => {
          const g = grads[i] as Tensor;
          const mi = m[i] as Variable;
          const vi = v[i] as Variable;
          const m1 = tf.add(tf.mul(g, 0.1), tf.mul(mi, 0.9));
          const v1 = tf.add(tf.mul(tf.square(g), 1 - 0.999), tf.mul(vi, 0.999));
          const u = tf.add(tf.div(m1, tf.add(tf.sqrt(v1), 1e-8)), tf.mul(p, 0.01));
          p.assign(tf.sub(p, tf.mul(u, lr * 0.001)));
          mi.assign(m1);
          vi.assign(v1);
        });
      });
    },
    dispose: () => [...m, ...v].forEach((x) => x.dispose()),
  };
}

function handLion(tf: Tf, params: readonly Variable[], lrScale: number, wd: number, exactSign: boolean) {
  const m = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  return {
    apply(grads: readonly Tensor[], lr: number) {
      const eta = lr * lrScale;
      tf.tidy(() => {
        params.forEach((p, i) => {
          const g = grads[i] as Tensor;
          const mi = m[i] as Variable;
          const c = tf.add(tf.mul(mi, 0.9), tf.mul(g, 1 - 0.9));
          // wasm's tf.sign returns 0 for |c| < ~1e-6, so there the sign is written as step(c) - step(-c)
          const s = exactSign ? tf.sub(tf.step(c), tf.step(tf.neg(c))) : tf.sign(c);
          p.assign(tf.sub(tf.mul(p, 1 - eta * wd), tf.mul(s, eta)));
          mi.assign(tf.add(tf.mul(mi, 0.99), tf.mul(g, 1 - 0.99)));
        });
      });
    },
    dispose: () => m.forEach((x) => x.dispose()),
  };
}

describe.each(['cpu', 'wasm'] as const)('compiled AdamW and Lion against hand-written tfjs steps on %s', (backend) => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await initBackend(backend)).tf;
  });

  async function trajectory(kind: 'compiled' | 'hand', which: 'adamw' | 'lion'): Promise<{ losses: number[]; weights: Float32Array[] }> {
    const spec = loadTaskSpec('digits-mlp');
    const task = getTaskBuilder(spec.kind)(tf, spec, 5);
    const params = [...task.params] as Variable[];
    const stepper =
      kind === 'compiled'
        ? compileProgram(tf, parseProgram(prog(which)), params)
        : which === 'adamw'
          ? handAdamW(tf, params)
          : handLion(tf, params, 0.0003, 0.1, backend === 'wasm');
    const losses: number[] = [];
    for (let t = 0; t < 100; t++) {
      const { value, grads } = tf.variableGrads(() => task.batchLoss(t) as Scalar, params);
      stepper.apply(params.map((p) => grads[p.name] as Tensor), scheduleValue(t, 100, 0.05));
      losses.push((await value.data())[0] as number);
      value.dispose();
      Object.values(grads).forEach((g) => g.dispose());
    }
    const weights = await Promise.all(params.map(async (p) => Float32Array.from(await p.data())));
    stepper.dispose();
    task.dispose();
    return { losses, weights };
  }

  it.each(['adamw', 'lion'] as const)('%s: 100 steps of digits-mlp agree', async (which) => {
    await initBackend(backend);
    const a = await trajectory('compiled', which);
    const b = await trajectory('hand', which);
    for (let t = 0; t < 100; t++) expect(Math.abs((a.losses[t] as number) - (b.losses[t] as number))).toBeLessThanOrEqual(1e-4 * Math.abs(b.losses[t] as number));
    let maxDiff = 0;
    a.weights.forEach((w, l) => w.forEach((x, i) => (maxDiff = Math.max(maxDiff, Math.abs(x - ((b.weights[l] as Float32Array)[i] as number))))));
    expect(maxDiff).toBeLessThan(1e-5);
  });
});
