/** Fitness normalisation, the baseline cache and its persistence hook. */
import { describe, expect, it } from 'vitest';
import {
  BaselineCache,
  baselineKey,
  computeFitness,
  defaultBaselineProgram,
  evaluateScored,
  FAILED_FITNESS,
  type BaselineStore,
} from '../../src/proxy/fitness.ts';
import { failedResult, runEvalJob } from '../../src/proxy/job.ts';
import { loadTaskSpec } from '../../src/tasks/spec.ts';
import type { EvalJob, TrainResult } from '../../src/vocabulary/index.ts';

function result(initialLoss: number, finalLoss: number | null, floor = 0, status: TrainResult['status'] = 'ok'): TrainResult {
  return { ...failedResult({ task: 't', fidelity: 1, seed: 0 }, ''), status, initialLoss, finalLoss, lossFloor: floor, checkpointStep: 5, checkpointLoss: finalLoss };
}

describe('computeFitness', () => {
  it('scores by orders of magnitude of excess loss relative to the baseline (hand-computed)', () => {
    const base = result(1, 0.01); // baseline: 2 decades of progress
    expect(computeFitness(base, base)).toBe(1);
    expect(computeFitness(result(1, 0.001), base)).toBeCloseTo(1.5, 12); // 3 decades / 2
    expect(computeFitness(result(1, 0.1), base)).toBeCloseTo(0.5, 12);
    expect(computeFitness(result(1, 1), base)).toBe(0);
    expect(computeFitness(result(1, 10), base)).toBeCloseTo(-0.5, 12);
    expect(computeFitness(result(1, 1e9), base)).toBe(-1); // clamped
    expect(computeFitness(result(1, 0), base)).toBeCloseTo(6, 12); // excess floored at 1e-12: 12 decades / 2
    expect(computeFitness(result(1e12, 0), result(1e12, 1e11))).toBe(10); // clamped at the top
  });

  it('measures excess over the task floor', () => {
    const base = result(3, 1.5, 1); // excess 2 -> 0.5: ln 4
    expect(computeFitness(result(3, 1.25, 1), base)).toBeCloseTo(Math.log(8) / Math.log(4), 12);
  });

  it('gives unfinished runs the failure score and returns null without a finished baseline', () => {
    const base = result(1, 0.01);
    for (const s of ['diverged', 'hurdle', 'timeout', 'failed'] as const) expect(computeFitness(result(1, null, 0, s), base)).toBe(FAILED_FITNESS);
    expect(computeFitness(result(1, 0.5), result(1, null, 0, 'diverged'))).toBeNull();
  });
});

describe('BaselineCache', () => {
  it('computes each key once, also for concurrent callers, and persists through the hook', async () => {
    const saved = new Map<string, TrainResult>();
    const store: BaselineStore = { get: (k) => saved.get(k), put: (k, r) => void saved.set(k, r) };
    const cache = new BaselineCache(store);
    let calls = 0;
    const compute = async () => {
      calls++;
      return result(1, 0.1);
    };
    const [a, b] = await Promise.all([cache.get('k', compute), cache.get('k', compute)]);
    expect(calls).toBe(1);
    expect(a).toBe(b);
    expect(saved.get('k')).toEqual(a);
    // a fresh cache over the same store does not recompute
    const again = await new BaselineCache(store).get('k', compute);
    expect(calls).toBe(1);
    expect(again).toEqual(a);
  });

  it('retries a baseline that failed', async () => {
    const cache = new BaselineCache();
    let calls = 0;
    const compute = async () => (++calls === 1 ? result(1, null, 0, 'failed') : result(1, 0.1));
    expect((await cache.get('k', compute)).status).toBe('failed');
    await new Promise((r) => setTimeout(r, 0));
    expect((await cache.get('k', compute)).status).toBe('ok');
    expect(calls).toBe(2);
  });

  it('keys on the task definition, fidelity, seed, backend and baseline text', () => {
    const spec = loadTaskSpec('quadratic');
    const k = baselineKey('p', spec, 1, 0, 'wasm');
    expect(baselineKey('p', { ...spec, steps: 301 }, 1, 0, 'wasm')).not.toBe(k);
    expect(baselineKey('p', spec, 10, 0, 'wasm')).not.toBe(k);
    expect(baselineKey('p', spec, 1, 1, 'wasm')).not.toBe(k);
    expect(baselineKey('p', spec, 1, 0, 'cpu')).not.toBe(k);
    expect(baselineKey('q', spec, 1, 0, 'wasm')).not.toBe(k);
    expect(baselineKey('p', spec, 1, 0, 'wasm')).toBe(k);
  });
});

describe('evaluateScored with real training', () => {
  it('scores the baseline program 1 and a stronger or weaker rule accordingly', async () => {
    const spec = { ...loadTaskSpec('quadratic'), steps: 150 };
    const cache = new BaselineCache();
    let runs = 0;
    const run = (j: EvalJob) => {
      runs++;
      return runEvalJob(j);
    };
    const job = (programText: string): EvalJob => ({ programText, task: spec, fidelity: 1, seed: 0, backend: 'wasm' });
    const self = await evaluateScored(run, job(defaultBaselineProgram()), { cache, spec });
    expect(self.fitness).toBe(1);
    // AdamW with twice the learning rate: a different, finished run
    const faster = defaultBaselineProgram().replace('lr * 0.001', 'lr * 0.002');
    expect(faster).not.toBe(defaultBaselineProgram());
    const sgd = await evaluateScored(run, job(faster), { cache, spec });
    expect(runs).toBe(3); // the baseline ran once
    expect(sgd.status).toBe('ok');
    expect(sgd.fitness).not.toBe(1);
    const idle = await evaluateScored(run, job('def train(w, g, lr):\n  u = g * 0\n  return u\n'), { cache, spec });
    // no progress at all: stopped at the hurdle, or 0 if it got past it
    expect(idle.fitness === FAILED_FITNESS || idle.fitness === 0).toBe(true);
    console.log(`quadratic (150 steps) fitness: adamw ${self.fitness}, adamw lr x2 ${sgd.fitness?.toFixed(3)}, idle ${idle.fitness} (${idle.status})`);
  });
});
