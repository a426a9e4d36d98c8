/**
 * The evaluator: batch jobs as the unit of work, the baseline trained once per seed, the best lr
 * multiplier per (task, seed), the mean over pairs, stored runs not retrained, and the same figure
 * as hand-applied normalisation of independently trained runs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProgram } from '../../src/dsl/parse.ts';
import { Evaluator, SuiteError, type RunKey, type Suite } from '../../src/evaluator/evaluator.ts';
import { baselineReference, computeFitness, defaultBaselineProgram, FAILED_FITNESS } from '../../src/evaluator/fitness.ts';
import { failedResult, runBatchJob, scaleUpdate } from '../../src/proxy/job.ts';
import { trainReference } from '../../src/proxy/reference.ts';
import { atFidelity, loadTaskSpec } from '../../src/tasks/spec.ts';
import { printProgram } from '../../src/dsl/print.ts';
import type { BatchJob, TaskSpec, TrainResult } from '../../src/vocabulary/index.ts';

const prog = (name: string): string => readFileSync(`search-spaces/programs/${name}.prog`, 'utf8');

/** A finished run whose final loss is `final` from an initial loss of 1 (floor 0). */
function finished(seed: number, final: number): TrainResult {
  return { ...failedResult({ task: 't', fidelity: 1, seed }, ''), status: 'ok', initialLoss: 1, finalLoss: final, lossFloor: 0, checkpointStep: 3, checkpointLoss: final * 2 };
}

const fakeSpec = (name: string): TaskSpec => ({ ...loadTaskSpec('quadratic'), name });

/**
 * A transport that trains nothing: the baseline ends at 0.01 on every seed (2 decades of progress);
 * the candidate ends at 10^-(seed x lr multiplier / 10) on task a and twice that exponent on task b,
 * except at multiplier 10, which fails the hurdle.
 */
function fakeTransport(jobs: BatchJob[]): (job: BatchJob) => Promise<TrainResult[]> {
  return async (job) => {
    jobs.push(job);
    const spec = job.task as TaskSpec;
    return job.runs.map((r) => {
      if (job.programText === defaultBaselineProgram()) return finished(r.seed, 0.01);
      if (r.lrMultiplier === 10) return { ...finished(r.seed, 1), status: 'hurdle' as const, finalLoss: null };
      const decades = (r.seed * r.lrMultiplier) / 10 * (spec.name === 'b' ? 2 : 1);
      return finished(r.seed, 10 ** -decades);
    });
  };
}

const suiteOf = (over: Partial<Suite> = {}): Suite => ({
  tasks: [fakeSpec('a'), fakeSpec('b')],
  seeds: [1, 2],
  lrMultipliers: [10, 3, 1],
  fidelity: 1,
  backend: 'reference',
  ...over,
});

describe('Evaluator with a hand-checkable transport', () => {
  it('sends one batch job per task (all seeds x multipliers) after one baseline batch per task, and scores by hand', async () => {
    const jobs: BatchJob[] = [];
    const evaluator = new Evaluator(fakeTransport(jobs));
    const score = await evaluator.score(prog('lion'), suiteOf());
    // per run: fitness = decades / 2; best multiplier is 3 (10 fails the hurdle)
    // task a: seed 1 -> 0.3/2, seed 2 -> 0.6/2; task b doubles them
    expect(score.pairs.map((p) => [p.task, p.seed, p.lrMultiplier])).toEqual([
      ['a', 1, 3],
      ['a', 2, 3],
      ['b', 1, 3],
      ['b', 2, 3],
    ]);
    const expected = [0.15, 0.3, 0.3, 0.6];
    score.pairs.forEach((p, i) => expect(p.fitness).toBeCloseTo(expected[i] as number, 12));
    expect(score.fitness).toBeCloseTo((0.15 + 0.3 + 0.3 + 0.6) / 4, 12);
    expect(score.perSeed[0]).toBeCloseTo((0.15 + 0.3) / 2, 12);
    expect(score.pairs[0]?.perMultiplier.map((m) => m.fitness)).toEqual([FAILED_FITNESS, expect.closeTo(0.15, 12), expect.closeTo(0.05, 12)]);
    // two baseline batch jobs (one per task, both seeds, multiplier 1) and two candidate batch jobs
    expect(jobs).toHaveLength(4);
    const baselineJobs = jobs.filter((j) => j.programText === defaultBaselineProgram());
    expect(baselineJobs.map((j) => j.runs)).toEqual([
      [{ seed: 1, lrMultiplier: 1 }, { seed: 2, lrMultiplier: 1 }],
      [{ seed: 1, lrMultiplier: 1 }, { seed: 2, lrMultiplier: 1 }],
    ]);
    const candidate = jobs.find((j) => j.programText !== defaultBaselineProgram()) as BatchJob;
    expect(candidate.programText).toBe(prog('lion'));
    expect(candidate.runs.map((r) => [r.seed, r.lrMultiplier])).toEqual([[1, 10], [1, 3], [1, 1], [2, 10], [2, 3], [2, 1]]);
    // each candidate run carries the baseline's hurdle figures of its own seed
    expect(candidate.runs.every((r) => r.baseline?.checkpointStep === 3 && r.baseline.checkpointLoss === 0.02)).toBe(true);

    // a second program trains no baseline again
    await evaluator.score(prog('sgd'), suiteOf());
    expect(jobs).toHaveLength(6);
  });

  it('split for several workers: jobs of at most one lane group, results joined in run order, the same score', async () => {
    const whole: BatchJob[] = [];
    const split: BatchJob[] = [];
    const a = await new Evaluator(fakeTransport(whole)).score(prog('lion'), suiteOf({ tasks: [fakeSpec('a')], seeds: [1, 2, 3, 4] }));
    const b = await new Evaluator(fakeTransport(split), { workers: 2 }).score(prog('lion'), suiteOf({ tasks: [fakeSpec('a')], seeds: [1, 2, 3, 4] }));
    expect(b.pairs).toEqual(a.pairs);
    // the baseline's 4 seeds in 2 jobs of 2, the candidate's 12 runs in 3 jobs of 4
    expect(whole.map((j) => j.runs.length)).toEqual([4, 12]);
    expect(split.map((j) => j.runs.length)).toEqual([2, 2, 4, 4, 4]);
    const candidateRuns = split.slice(2).flatMap((j) => j.runs.map((r) => [r.seed, r.lrMultiplier]));
    expect(candidateRuns).toEqual(whole[1]!.runs.map((r) => [r.seed, r.lrMultiplier]));
  });

  it('trains only what the store does not know, records each trained run once, and scores stored runs like trained ones', async () => {
    const jobs: BatchJob[] = [];
    const evaluator = new Evaluator(fakeTransport(jobs));
    const stored = new Map<string, number | null>();
    const id = (k: RunKey): string => `${k.task}|${k.configHash}|${k.numericClass}|${k.fidelity}|${k.seed}|${k.lrMultiplier}`;
    const hooks = {
      known: (k: RunKey) => (stored.has(id(k)) ? { fitness: stored.get(id(k)) as number | null } : undefined),
      record: (r: { key: RunKey; fitness: number | null }) => {
        expect(stored.has(id(r.key))).toBe(false);
        stored.set(id(r.key), r.fitness);
      },
    };
    const first = await evaluator.score(prog('lion'), suiteOf(), hooks);
    expect(stored.size).toBe(12);
    const before = jobs.length;
    const again = await evaluator.score(prog('lion'), suiteOf(), hooks);
    expect(jobs.length).toBe(before); // nothing trained
    expect(again.fitness).toBe(first.fitness);
    // the same score from the store alone, through the tier-3 path
    expect(evaluator.scoreFromStore(suiteOf(), hooks.known)?.fitness).toBe(first.fitness);
    // one run missing: no stored score, and scoring trains exactly that run
    const missing = [...stored.keys()][4] as string;
    stored.delete(missing);
    expect(evaluator.scoreFromStore(suiteOf(), hooks.known)).toBeUndefined();
    await evaluator.score(prog('lion'), suiteOf(), hooks);
    const last = jobs[jobs.length - 1] as BatchJob;
    expect(last.runs).toHaveLength(1);
    expect(stored.size).toBe(12);
  });

  it('keys runs on the task definition, the baseline and the numeric class', () => {
    const evaluator = new Evaluator(fakeTransport([]));
    const spec = fakeSpec('a');
    const k = evaluator.runKey(suiteOf(), spec, 1, 3);
    expect(k).toMatchObject({ task: 'a', numericClass: 'float64', fidelity: 1, seed: 1, lrMultiplier: 3 });
    expect(evaluator.runKey(suiteOf({ backend: 'wasm' }), spec, 1, 3).numericClass).toBe('float32');
    expect(evaluator.runKey(suiteOf({ backend: 'auto' }), spec, 1, 3).numericClass).toBe('float32');
    expect(evaluator.runKey(suiteOf(), { ...spec, steps: spec.steps + 1 }, 1, 3).configHash).not.toBe(k.configHash);
    expect(new Evaluator(fakeTransport([]), { baselineText: prog('sgd') }).runKey(suiteOf(), spec, 1, 3).configHash).not.toBe(k.configHash);
  });

  it('refuses a suite with no seed, no task or a non-positive multiplier, before any training', async () => {
    const jobs: BatchJob[] = [];
    const evaluator = new Evaluator(fakeTransport(jobs));
    await expect(evaluator.score(prog('lion'), suiteOf({ seeds: [] }))).rejects.toThrow(SuiteError);
    await expect(evaluator.score(prog('lion'), suiteOf({ tasks: [] }))).rejects.toThrow(/at least one task/);
    await expect(evaluator.score(prog('lion'), suiteOf({ lrMultipliers: [1, 0] }))).rejects.toThrow(/positive/);
    expect(jobs).toHaveLength(0);
  });

  it('a transport that returns the wrong number of results fails every run of the job instead of misattributing them', async () => {
    const evaluator = new Evaluator(async (job) => (job.programText === defaultBaselineProgram() ? job.runs.map((r) => finished(r.seed, 0.01)) : [finished(1, 0.001)]));
    const s = await evaluator.score(prog('lion'), suiteOf({ tasks: [fakeSpec('a')] }));
    expect(s.pairs.every((p) => p.fitness === FAILED_FITNESS)).toBe(true);
  });
});

describe('Evaluator with real training (reference backend)', () => {
  const spec = { ...loadTaskSpec('noisy-quadratic-16'), steps: 120 };
  const suite: Suite = { tasks: [spec], seeds: [1, 2], lrMultipliers: [1], fidelity: 1, backend: 'reference' };

  it('scores the baseline exactly 1, and AdamW at twice its lr as the formula applied to independently trained runs', async () => {
    let batches = 0;
    const evaluator = new Evaluator((job) => {
      batches++;
      return runBatchJob(job);
    });
    expect((await evaluator.score(defaultBaselineProgram(), suite)).fitness).toBe(1);
    const faster = scaleUpdate(parseProgram(defaultBaselineProgram()), 2);
    const got = await evaluator.score(faster, suite);
    expect(batches).toBe(3); // the baseline once, each program once
    // by hand: each seed trained on its own through the reference trainer, normalised, averaged
    const resolved = atFidelity(spec, 1);
    const perSeed = [1, 2].map((seed) => {
      const base = trainReference({ program: defaultBaselineProgram(), spec: resolved, fidelity: 1, seed });
      const ref = baselineReference(base);
      const mine = trainReference({ program: printProgram(faster), spec: resolved, fidelity: 1, seed, ...(ref ? { baseline: ref } : {}) });
      return computeFitness(mine, base) as number;
    });
    expect(got.fitness).toBeCloseTo((perSeed[0]! + perSeed[1]!) / 2, 12);
    expect(got.fitness).not.toBe(1);
    // with multipliers 2 and 1 the baseline program's best per seed is the better of the two
    const both = await evaluator.score(defaultBaselineProgram(), { ...suite, lrMultipliers: [2, 1] });
    both.pairs.forEach((p, i) => expect(p.fitness).toBeCloseTo(Math.max(1, perSeed[i]!), 12));
  });
});
