/**
 * The evaluation pool: real evaluations in workers, equal to in-process runs; crashing, exiting,
 * hanging and out-of-memory jobs become failed results and the pool goes on.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvaluationPool, type EvaluationPool } from '../../src/pool/pool.ts';
import { runBatchJob } from '../../src/proxy/job.ts';
import { loadTaskSpec } from '../../src/tasks/spec.ts';
import type { BatchJob, TaskSpec, TrainResult } from '../../src/vocabulary/index.ts';

const CRASH_WORKER = fileURLToPath(new URL('./crash-worker.ts', import.meta.url));
const prog = (name: string) => readFileSync(`search-spaces/programs/${name}.prog`, 'utf8');
const quick: TaskSpec = { ...loadTaskSpec('quadratic'), steps: 60 };
const job = (programText: string, seed = 0): BatchJob => ({ programText, task: quick, fidelity: 1, runs: [{ seed, lrMultiplier: 1 }], backend: 'wasm' });
/** The result of a one-run batch job. */
const single = async (results: Promise<TrainResult[]>): Promise<TrainResult> => {
  const rs = await results;
  expect(rs).toHaveLength(1);
  return rs[0] as TrainResult;
};

describe('evaluation pool', () => {
  let pool: EvaluationPool;
  beforeAll(() => {
    pool = createEvaluationPool({ size: 2, filename: CRASH_WORKER, timeoutSeconds: 20, maxHeapMb: 256 });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('returns the same result as an in-process run (same backend, bit for bit)', async () => {
    const [a, b] = await Promise.all([single(pool.run(job(prog('lion'), 2))), single(runBatchJob(job(prog('lion'), 2)))]);
    expect(a.status).toBe('ok');
    expect(a.backend).toBe('wasm');
    expect(a.lossCurve).toEqual(b.lossCurve);
    expect(a.finalLoss).toBe(b.finalLoss);
  });

  it('turns a program error, a throwing worker, an exiting worker and an out-of-memory worker into failed results', async () => {
    const bad = await single(pool.run(job('def train(w, g, lr):\n  u = g +\n  return u\n')));
    expect(bad.status).toBe('failed');
    expect(bad.reason).toMatch(/^2:/);
    const unknown = await single(pool.run({ ...job(prog('sgd')), task: 'no-such-task' }));
    expect(unknown.status).toBe('failed');
    expect(unknown.reason).toMatch(/unknown task 'no-such-task'/);
    const thrown = await single(pool.run(job('#throw')));
    expect(thrown.status).toBe('failed');
    expect(thrown.reason).toMatch(/deliberate crash/);
    const exited = await single(pool.run(job('#exit')));
    expect(exited.status).toBe('failed');
    expect(exited.reason).toMatch(/worker died/);
    const oom = await single(pool.run(job('#oom')));
    expect(oom.status).toBe('failed');
    expect(oom.reason).toMatch(/worker died/);
    // the pool still works afterwards
    const after = await single(pool.run(job(prog('adamw'))));
    expect(after.status).toBe('ok');
  });

  it('stops a hung evaluation at the hard timeout and replaces its worker', async () => {
    const short = createEvaluationPool({ size: 1, filename: CRASH_WORKER });
    try {
      const hung = await single(short.run(job('#hang'), { timeoutSeconds: 4 }));
      expect(hung.status).toBe('timeout');
      expect(hung.reason).toMatch(/hard limit/);
      const next = await single(short.run(job(prog('sgd'))));
      expect(next.status).toBe('ok');
      expect(short.stats().workerFailures).toBe(1);
    } finally {
      await short.close();
    }
  });

  it('returns 15 good results from a batch of 20 with 5 bad jobs', async () => {
    const good = ['adamw', 'lion', 'sgd', 'momentum', 'signum'].map(prog);
    const badTexts = ['#throw', '#exit', 'def train(w, g, lr):\n  return nope\n', 'def train(w, g, lr):\n  u = exp(g)\n  u = exp(u)\n  u = u * -1000\n  return u\n', '#throw'];
    const jobs: BatchJob[] = [];
    for (let i = 0; i < 20; i++) jobs.push(i % 4 === 3 ? job(badTexts[(i - 3) / 4] as string, i) : job(good[i % 5] as string, i));
    const results = await Promise.all(jobs.map((j) => single(pool.run(j))));
    expect(results).toHaveLength(20);
    const ok = results.filter((r) => r.status === 'ok');
    expect(ok).toHaveLength(15);
    results.forEach((r, i) => {
      if (i % 4 === 3) expect(r.status).not.toBe('ok');
      expect(r.seed).toBe(i);
    });
    expect(results.filter((r) => r.status === 'diverged')).toHaveLength(1);
  });

  it('a batch job comes back one result per run, in order, each equal to the same run alone', async () => {
    const batch: BatchJob = { ...job(prog('lion')), runs: [{ seed: 3, lrMultiplier: 2 }, { seed: 1, lrMultiplier: 1 }, { seed: 3, lrMultiplier: 1 }] };
    const together = await pool.run(batch);
    expect(together.map((r) => r.seed)).toEqual([3, 1, 3]);
    for (const [i, run] of batch.runs.entries()) {
      const alone = await single(runBatchJob({ ...batch, runs: [run] }));
      expect(together[i]?.lossCurve).toEqual(alone.lossCurve);
    }
    // the multiplier scales the update: x2 is another run than x1 on the same seed
    expect(together[0]?.finalLoss).not.toBe(together[2]?.finalLoss);
  });

  it('a batch job with no runs, a bad multiplier, a bad seed or a bad program fails with one line per run, without crashing the worker', async () => {
    const none = await pool.run({ ...job(prog('sgd')), runs: [] });
    expect(none).toHaveLength(1);
    expect(none[0]).toMatchObject({ status: 'failed', reason: expect.stringMatching(/at least one run/) });
    const zero = await pool.run({ ...job(prog('sgd')), runs: [{ seed: 1, lrMultiplier: 1 }, { seed: 2, lrMultiplier: 0 }] });
    expect(zero.map((r) => r.status)).toEqual(['failed', 'failed']);
    expect(zero[0]?.reason).toMatch(/lr multiplier must be a positive number, got 0/);
    const badSeed = await pool.run({ ...job(prog('sgd')), runs: [{ seed: 1.5, lrMultiplier: 1 }] });
    expect(badSeed[0]?.reason).toMatch(/seed must be an integer/);
    const badProgram = await pool.run({ ...job('def train(w, g, lr):\n  return nope\n'), runs: [{ seed: 1, lrMultiplier: 1 }, { seed: 2, lrMultiplier: 1 }] });
    expect(badProgram.map((r) => [r.status, r.seed])).toEqual([['failed', 1], ['failed', 2]]);
    expect(badProgram[0]?.reason.split('\n')).toHaveLength(1);
    expect((await single(pool.run(job(prog('adamw'))))).status).toBe('ok');
  });

  it('counts busy worker-seconds, never more than workers x wall time', async () => {
    const before = pool.stats();
    await Promise.all([1, 2, 3, 4].map((seed) => pool.run(job(prog('adamw'), seed))));
    const after = pool.stats();
    expect(after.busySeconds).toBeGreaterThan(before.busySeconds);
    expect(after.busySeconds - before.busySeconds).toBeLessThanOrEqual(pool.size * (after.wallSeconds - before.wallSeconds) + 1e-6);
    expect(after.running).toBe(0);
    expect(after.queued).toBe(0);
  });
});
