/**
 * The proxy study on teacher-student-16, trained on the simd engine, ranks the methods as the
 * Float64 reference trainer does (docs/replay.md, 6 paired seeds): Lion proper ahead of tuned
 * AdamW and of tuned signum, AdamW best at lr 0.01, Lion and signum at 0.003, SGD and momentum
 * failing the hurdles.
 */
import { describe, expect, it } from 'vitest';
import { Evaluator, pairedSeeds, type Suite } from '../../src/evaluator/evaluator.ts';
import { runBatchJob } from '../../src/proxy/job.ts';
import { bestPerMethod, methodPrograms } from '../../src/replay/methods.ts';
import { loadTaskSpec } from '../../src/tasks/spec.ts';
import { pairedDifference } from '../../src/util/stats.ts';

describe('proxy study on the simd engine', () => {
  it('teacher-student-16: Lion proper leads tuned AdamW and signum, as on the reference backend', async () => {
    const suite: Suite = { tasks: [loadTaskSpec('teacher-student-16')], seeds: pairedSeeds(6), lrMultipliers: [1], fidelity: 1, backend: 'simd' };
    const evaluator = new Evaluator(runBatchJob);
    const configs = methodPrograms({ lrs: [0.01, 0.003], wds: [0.1] });
    const scored = [];
    for (const c of configs) scored.push({ c, s: await evaluator.score(c.text, suite) });
    const best = bestPerMethod(scored);
    const adamw = best.get('adamw')!;
    const signum = best.get('signum')!;
    const lion = best.get('lion')!;
    expect(adamw.c.label).toBe('lr 0.01, wd 0.1');
    expect(lion.c.label).toMatch(/lr 0\.003, wd 0\.1$/);
    expect(signum.c.label).toMatch(/lr 0\.003, wd 0\.1$/);
    for (const m of ['sgd', 'momentum'] as const) expect(best.get(m)!.s.fitness).toBe(-2);
    const vsAdamw = pairedDifference(lion.s.perSeed, adamw.s.perSeed);
    const vsSignum = pairedDifference(lion.s.perSeed, signum.s.perSeed);
    console.log(`simd study: Lion ${lion.c.label} vs AdamW ${vsAdamw.mean.toFixed(4)} +- ${vsAdamw.se.toFixed(4)}, vs signum ${vsSignum.mean.toFixed(4)} +- ${vsSignum.se.toFixed(4)}`);
    // ahead by more than one paired standard error, as the reference study found (+0.0475 +- 0.0178, +0.0405 +- 0.0151)
    expect(vsAdamw.mean).toBeGreaterThan(vsAdamw.se);
    expect(vsSignum.mean).toBeGreaterThan(vsSignum.se);
  }, 240_000);
});
