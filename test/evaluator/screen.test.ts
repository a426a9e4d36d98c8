/**
 * Multi-fidelity screening in the evaluator: the partial score is the first seeds' part of the
 * suite, the threshold is read once that score is in, a stopped program trains nothing more, and a
 * program that goes on trains only the remaining seeds and gets exactly the full suite's score.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Evaluator, screenSuite, screenThreshold, SuiteError, type Suite } from '../../src/evaluator/evaluator.ts';
import { defaultBaselineProgram } from '../../src/evaluator/fitness.ts';
import { failedResult } from '../../src/proxy/job.ts';
import { loadTaskSpec } from '../../src/tasks/spec.ts';
import type { BatchJob, TrainResult } from '../../src/vocabulary/index.ts';

const lion = readFileSync('search-spaces/programs/lion.prog', 'utf8');

/** Baseline: 2 decades of progress on every seed; candidate: seed x lr / 10 decades, so fitness = seed x lr / 20. */
function transport(jobs: BatchJob[]): (job: BatchJob) => Promise<TrainResult[]> {
  return async (job) => {
    jobs.push(job);
    return job.runs.map((r) => {
      const decades = job.programText === defaultBaselineProgram() ? 2 : (r.seed * r.lrMultiplier) / 10;
      const final = 10 ** -decades;
      return { ...failedResult({ task: typeof job.task === 'string' ? job.task : job.task.name, fidelity: 1, seed: r.seed }, ''), status: 'ok' as const, initialLoss: 1, finalLoss: final, lossFloor: 0, checkpointStep: 3, checkpointLoss: final * 2 };
    });
  };
}

const suite: Suite = { tasks: [loadTaskSpec('quadratic')], seeds: [1, 2, 3, 4], lrMultipliers: [3, 1], fidelity: 1, backend: 'reference' };
const candidateRuns = (jobs: BatchJob[]) => jobs.filter((j) => j.programText !== defaultBaselineProgram()).flatMap((j) => j.runs.map((r) => [r.seed, r.lrMultiplier]));

describe('screenThreshold', () => {
  it('is the ceil(keep x n)-th highest score', () => {
    expect(screenThreshold([5, 1, 3, 2], 0.5)).toBe(3);
    expect(screenThreshold([5, 1, 3, 2], 0.3)).toBe(3);
    expect(screenThreshold([5, 1, 3, 2], 0.25)).toBe(5);
    expect(screenThreshold([5, 1, 3, 2], 1)).toBe(1);
    expect(screenThreshold([2, 2, 2], 0.5)).toBe(2);
    expect(screenThreshold([], 0.5)).toBe(-Infinity);
  });
});

describe('Evaluator.scoreScreened', () => {
  it('stops below the threshold after training only the screen seeds, reading the threshold once the partial score is in', async () => {
    const jobs: BatchJob[] = [];
    const ev = new Evaluator(transport(jobs));
    let runsSentWhenAsked = -1;
    const s = await ev.scoreScreened(lion, suite, {
      seeds: 1,
      threshold: () => {
        runsSentWhenAsked = candidateRuns(jobs).length;
        return 0.2;
      },
    });
    expect(runsSentWhenAsked).toBe(2);
    expect(s.partial.fitness).toBeCloseTo(0.15, 12); // seed 1, best lr 3: 1 x 3 / 20
    expect(s.passed).toBe(false);
    expect(s.threshold).toBe(0.2);
    expect(s.full).toBeUndefined();
    expect(candidateRuns(jobs)).toEqual([[1, 3], [1, 1]]);
  });

  it('goes on at the threshold itself, trains only the other seeds and scores exactly as the whole suite does', async () => {
    const jobs: BatchJob[] = [];
    const recorded: number[][] = [];
    const ev = new Evaluator(transport(jobs));
    const s = await ev.scoreScreened(lion, suite, { seeds: 1, threshold: () => 0.15 }, { record: (r) => recorded.push([r.key.seed, r.key.lrMultiplier]) });
    expect(s.passed).toBe(true);
    const runs = candidateRuns(jobs);
    expect(runs).toHaveLength(8);
    expect(new Set(runs.map((r) => r.join('|'))).size).toBe(8);
    expect(recorded).toHaveLength(8);
    // seeds 1..4 at lr 3: (1 + 2 + 3 + 4) x 3 / 20 / 4
    expect(s.full?.fitness).toBeCloseTo(0.375, 12);
    const whole = await new Evaluator(transport([])).score(lion, suite);
    expect(s.full?.fitness).toBe(whole.fitness);
    expect(s.full?.perSeed).toEqual(whole.perSeed);
  });

  it('with two screen seeds, the partial score is their mean', async () => {
    const s = await new Evaluator(transport([])).scoreScreened(lion, suite, { seeds: 2, threshold: () => Infinity });
    expect(s.partial.fitness).toBeCloseTo((0.15 + 0.3) / 2, 12);
    expect(s.partial.pairs.map((p) => p.seed)).toEqual([1, 2]);
    expect(s.passed).toBe(false);
  });

  it('a screen as large as the suite saves nothing and is the whole suite', async () => {
    const jobs: BatchJob[] = [];
    const s = await new Evaluator(transport(jobs)).scoreScreened(lion, suite, { seeds: 4, threshold: () => Infinity });
    expect(s.passed).toBe(true);
    expect(s.full?.fitness).toBeCloseTo(0.375, 12);
    expect(screenSuite(suite, 1).seeds).toEqual([1]);
  });

  it('refuses a screen without a whole number of seeds', async () => {
    await expect(new Evaluator(transport([])).scoreScreened(lion, suite, { seeds: 0, threshold: () => 0 })).rejects.toThrow(SuiteError);
  });
});
