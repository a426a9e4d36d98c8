/** Fitness normalisation, the baseline cache and its persistence hook, the scoring configuration's hash. */
import { describe, expect, it } from 'vitest';
import {
  BaselineCache,
  baselineKey,
  computeFitness,
  FAILED_FITNESS,
  scoringConfigHash,
  type BaselineStore,
} from '../../src/evaluator/fitness.ts';
import { failedResult } from '../../src/proxy/job.ts';
import { atFidelity, loadTaskSpec } from '../../src/tasks/spec.ts';
import type { TrainResult } from '../../src/vocabulary/index.ts';

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

describe('scoringConfigHash', () => {
  it('changes with anything that can change a result, not with the words describing the task', () => {
    const spec = loadTaskSpec('quadratic');
    const h = scoringConfigHash(spec, 'adamw');
    expect(scoringConfigHash({ ...spec }, 'adamw')).toBe(h);
    // key order does not matter
    expect(scoringConfigHash(Object.fromEntries(Object.entries(spec).reverse()) as typeof spec, 'adamw')).toBe(h);
    expect(scoringConfigHash({ ...spec, description: 'other words', purpose: 'other', costSeconds: 9 }, 'adamw')).toBe(h);
    expect(scoringConfigHash({ ...spec, steps: spec.steps + 1 }, 'adamw')).not.toBe(h);
    expect(scoringConfigHash({ ...spec, params: { ...spec.params, noise: 0.5 } }, 'adamw')).not.toBe(h);
    expect(scoringConfigHash({ ...spec, hurdles: { ...spec.hurdles, behindRatio: 7 } }, 'adamw')).not.toBe(h);
    expect(scoringConfigHash(spec, 'another baseline')).not.toBe(h);
    // a fidelity variant is another definition
    expect(scoringConfigHash(atFidelity(spec, 10), 'adamw')).not.toBe(h);
  });
});
