/**
 * The reference trainer (Float64 interpreter, closed-form gradients) against the tfjs cpu backend on
 * the same task and seed, its refusal of tasks it cannot train, and the heavy-tailed noise draws.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/proxy/backend.ts';
import type { Tf } from '../../src/proxy/tf.ts';
import { runEvalJob } from '../../src/proxy/job.ts';
import { trainReference } from '../../src/proxy/reference.ts';
import { loadTaskSpec } from '../../src/tasks/spec.ts';
import { trainProgram } from '../../src/proxy/train.ts';
import type { TaskSpec } from '../../src/vocabulary/index.ts';
import { lionText } from '../../src/replay/methods.ts';
import { Rng } from '../../src/util/rng.ts';

const prog = (name: string) => readFileSync(`search-spaces/programs/${name}.prog`, 'utf8');

/** Lion with constants suited to these short runs: lr 0.003, decay 0.1. */
const LION_SHORT = lionText(0.003, 0.1);

function variant(name: string, params: Record<string, unknown>, steps?: number): TaskSpec {
  const spec = loadTaskSpec(name);
  return { ...spec, name: `${name}-variant`, params: { ...spec.params, ...params }, steps: steps ?? spec.steps };
}

describe('reference trainer against tfjs cpu', () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await initBackend('cpu')).tf;
  });

  const programs: [string, string][] = [
    ['adamw', prog('adamw')],
    ['sgd', prog('sgd')],
    ['momentum', prog('momentum')],
    ['lion (short constants)', LION_SHORT],
  ];
  const tasks: [string, () => TaskSpec][] = [
    ['noisy-quadratic-16', () => loadTaskSpec('noisy-quadratic-16')],
    ['quadratic (64-dim, rotated)', () => loadTaskSpec('quadratic')],
    ['heavy-tailed noise (Student-t, 2 degrees of freedom)', () => variant('noisy-quadratic-16', { noiseTail: 2 })],
    ['box-quadratic', () => loadTaskSpec('box-quadratic')],
    ['logreg-cancer (softmax regression)', () => loadTaskSpec('logreg-cancer')],
    ['digits-mlp (relu MLP 64-32-10, 100 steps)', () => ({ ...loadTaskSpec('digits-mlp'), steps: 100 })],
    ['teacher-student (relu student 32-64-16, 100 steps)', () => ({ ...loadTaskSpec('teacher-student'), steps: 100 })],
  ];
  for (const [taskLabel, specOf] of tasks) {
    for (const [label, text] of programs) {
      it(`${label} on ${taskLabel}: same status, curve and final loss up to float32 rounding`, async () => {
        const spec = specOf();
        const ref = trainReference({ program: text, spec, fidelity: 1, seed: 3 });
        const tfr = await trainProgram({ tf, backend: 'cpu', program: text, spec, fidelity: 1, seed: 3 });
        expect(ref.status, ref.reason).toBe(tfr.status);
        expect(ref.lossFloor).toBeCloseTo(tfr.lossFloor, 12);
        expect(ref.steps).toBe(tfr.steps);
        expect(ref.backend).toBe('reference');
        const close = (a: number | null, b: number | null, what: string): void => {
          expect(a, what).not.toBeNull();
          expect(Math.abs((a as number) - (b as number)), `${what}: reference ${a}, cpu ${b}`).toBeLessThanOrEqual(2e-3 * Math.max(Math.abs(b as number), 1e-4));
        };
        close(ref.initialLoss, tfr.initialLoss, 'initial loss');
        close(ref.finalLoss, tfr.finalLoss, 'final loss');
        close(ref.metric, tfr.metric, 'metric');
        expect(ref.lossCurve.map(([s]) => s)).toEqual(tfr.lossCurve.map(([s]) => s));
        ref.lossCurve.forEach(([, l], i) => close(l, (tfr.lossCurve[i] as [number, number])[1], `training loss at point ${i}`));
      });
    }
  }

  it('is deterministic for a seed and changes with it', () => {
    const spec = variant('noisy-quadratic-16', { noiseTail: 2 });
    const a = trainReference({ program: LION_SHORT, spec, fidelity: 1, seed: 5 });
    const b = trainReference({ program: LION_SHORT, spec, fidelity: 1, seed: 5 });
    const c = trainReference({ program: LION_SHORT, spec, fidelity: 1, seed: 6 });
    expect(b.finalLoss).toBe(a.finalLoss);
    expect(b.lossCurve).toEqual(a.lossCurve);
    expect(c.finalLoss).not.toBe(a.finalLoss);
  });

  it('stops a diverging program as diverged, like the tfjs loop', async () => {
    const bad = 'def train(w, g, lr):\n  u = g * -10\n  return u\n';
    const spec = loadTaskSpec('quadratic');
    const ref = trainReference({ program: bad, spec, fidelity: 1, seed: 0 });
    const tfr = await trainProgram({ tf, backend: 'cpu', program: bad, spec, fidelity: 1, seed: 0 });
    expect(ref.status).toBe('diverged');
    expect(tfr.status).toBe('diverged');
    expect(ref.steps).toBe(tfr.steps);
  });
});

describe('reference trainer refusals', () => {
  it('a task kind without a hand-written gradient is a failed result naming the kinds it trains', () => {
    const r = trainReference({ program: prog('adamw'), spec: loadTaskSpec('digits-conv'), fidelity: 1, seed: 0 });
    expect(r.status).toBe('failed');
    expect(r.reason).toMatch(/quadratic, classifier, teacher-student.*digits-conv is convnet/);
  });

  it('a bad program is a failed result with the parser message', () => {
    const r = trainReference({ program: 'def train(w, g, lr):\n  u = nosuchop(g)\n  return u\n', spec: loadTaskSpec('quadratic'), fidelity: 1, seed: 0 });
    expect(r.status).toBe('failed');
    expect(r.reason).toMatch(/nosuchop/);
  });

  it('a job naming the reference backend runs through runEvalJob', async () => {
    const r = await runEvalJob({ programText: prog('adamw'), task: 'noisy-quadratic-16', fidelity: 1, seed: 2, backend: 'reference' });
    expect(r.status).toBe('ok');
    expect(r.backend).toBe('reference');
    const direct = trainReference({ program: prog('adamw'), spec: loadTaskSpec('noisy-quadratic-16'), fidelity: 1, seed: 2 });
    expect(r.finalLoss).toBe(direct.finalLoss);
  });
});

describe('Rng.gamma and Rng.studentT', () => {
  const moments = (xs: number[]): { mean: number; variance: number } => {
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    return { mean, variance: xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (xs.length - 1) };
  };
  it.each([0.5, 1, 2.5, 9])('gamma(%s) has mean and variance equal to the shape', (shape) => {
    const rng = new Rng(11);
    const { mean, variance } = moments(Array.from({ length: 200_000 }, () => rng.gamma(shape)));
    // standard errors: sqrt(k / n) for the mean; the variance's is larger, allow 3%
    expect(Math.abs(mean - shape)).toBeLessThan(5 * Math.sqrt(shape / 200_000));
    expect(Math.abs(variance / shape - 1)).toBeLessThan(0.03);
  });

  it('studentT(5) is symmetric with variance df / (df - 2); studentT(2) has heavier tails than a normal', () => {
    const rng = new Rng(12);
    const xs = Array.from({ length: 200_000 }, () => rng.studentT(5));
    const { mean, variance } = moments(xs);
    expect(Math.abs(mean)).toBeLessThan(0.015);
    expect(Math.abs(variance - 5 / 3)).toBeLessThan(0.06);
    // P(|t_2| > 4) = 1 - 4 / sqrt(18) = 0.0572; P(|N| > 4) = 6.3e-5
    const t2 = Array.from({ length: 100_000 }, () => rng.studentT(2));
    const tail = t2.filter((x) => Math.abs(x) > 4).length / t2.length;
    expect(Math.abs(tail - (1 - 4 / Math.sqrt(18)))).toBeLessThan(0.004);
  });

  it('rejects a bad shape', () => {
    expect(() => new Rng(1).gamma(0)).toThrow(RangeError);
    expect(() => new Rng(1).gamma(Number.NaN)).toThrow(RangeError);
  });
});
