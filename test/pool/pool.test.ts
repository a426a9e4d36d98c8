/**
 * The evaluation pool: real evaluations in workers, equal to in-process runs; crashing, exiting,
 * hanging and out-of-memory jobs become failed results and the pool goes on.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvaluationPool, type EvaluationPool } from '../../src/pool/pool.ts';
import { runEvalJob } from '../../src/proxy/job.ts';
import { loadTaskSpec } from '../../src/tasks/spec.ts';
import type { EvalJob, TaskSpec } from '../../src/vocabulary/index.ts';

const CRASH_WORKER = fileURLToPath(new URL('./crash-worker.ts', import.meta.url));
const prog = (name: string) => readFileSync(`search-spaces/programs/${name}.prog`, 'utf8');
const quick: TaskSpec = { ...loadTaskSpec('quadratic'), steps: 60 };
const job = (programText: string, seed = 0): EvalJob => ({ programText, task: quick, fidelity: 1, seed, backend: 'wasm' });

describe('evaluation pool', () => {
  let pool: EvaluationPool;
  beforeAll(() => {
    pool = createEvaluationPool({ size: 2, filename: CRASH_WORKER, timeoutSeconds: 20, maxHeapMb: 256 });
  });
  afterAll(async () => {
    await pool.close();
  });

  it('returns the same result as an in-process run (same backend, bit for bit)', async () => {
    const [a, b] = await Promise.all([pool.evaluate(job(prog('lion'), 2)), runEvalJob(job(prog('lion'), 2))]);
    expect(a.status).toBe('ok');
    expect(a.backend).toBe('wasm');
    expect(a.lossCurve).toEqual(b.lossCurve);
    expect(a.finalLoss).toBe(b.finalLoss);
  });

  it('turns a program error, a throwing worker, an exiting worker and an out-of-memory worker into failed results', async () => {
    const bad = await pool.evaluate(job('def train(w, g, lr):\n  u = g +\n  return u\n'));
    expect(bad.status).toBe('failed');
    expect(bad.reason).toMatch(/^2:/);
    const unknown = await pool.evaluate({ ...job(prog('sgd')), task: 'no-such-task' });
    expect(unknown.status).toBe('failed');
    expect(unknown.reason).toMatch(/unknown task 'no-such-task'/);
    const thrown = await pool.evaluate(job('#throw'));
    expect(thrown.status).toBe('failed');
    expect(thrown.reason).toMatch(/deliberate crash/);
    const exited = await pool.evaluate(job('#exit'));
    expect(exited.status).toBe('failed');
    expect(exited.reason).toMatch(/worker died/);
    const oom = await pool.evaluate(job('#oom'));
    expect(oom.status).toBe('failed');
    expect(oom.reason).toMatch(/worker died/);
    // the pool still works afterwards
    const after = await pool.evaluate(job(prog('adamw')));
    expect(after.status).toBe('ok');
  });

  it('stops a hung evaluation at the hard timeout and replaces its worker', async () => {
    const short = createEvaluationPool({ size: 1, filename: CRASH_WORKER });
    try {
      const hung = await short.evaluate(job('#hang'), { timeoutSeconds: 4 });
      expect(hung.status).toBe('timeout');
      expect(hung.reason).toMatch(/hard limit/);
      const next = await short.evaluate(job(prog('sgd')));
      expect(next.status).toBe('ok');
      expect(short.stats().workerFailures).toBe(1);
    } finally {
      await short.close();
    }
  });

  it('returns 15 good results from a batch of 20 with 5 bad jobs', async () => {
    const good = ['adamw', 'lion', 'sgd', 'momentum', 'signum'].map(prog);
    const badTexts = ['#throw', '#exit', 'def train(w, g, lr):\n  return nope\n', 'def train(w, g, lr):\n  u = exp(g)\n  u = exp(u)\n  u = u * -1000\n  return u\n', '#throw'];
    const jobs: EvalJob[] = [];
    for (let i = 0; i < 20; i++) jobs.push(i % 4 === 3 ? job(badTexts[(i - 3) / 4] as string, i) : job(good[i % 5] as string, i));
    const results = await Promise.all(jobs.map((j) => pool.evaluate(j)));
    expect(results).toHaveLength(20);
    const ok = results.filter((r) => r.status === 'ok');
    expect(ok).toHaveLength(15);
    results.forEach((r, i) => {
      if (i % 4 === 3) expect(r.status).not.toBe('ok');
      expect(r.seed).toBe(i);
    });
    expect(results.filter((r) => r.status === 'diverged')).toHaveLength(1);
  });
});
