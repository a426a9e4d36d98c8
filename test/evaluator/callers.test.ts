/**
 * Fitness is defined once: the search, the evaluator the replay and benchmarks use, ablation and
 * `optsearch eval` give one program on one suite the same figure; and a stored evaluation is reused
 * only under the task definition it was scored on.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseProgram } from '../../src/dsl/parse.ts';
import { printProgram } from '../../src/dsl/print.ts';
import { Evaluator, pairedSeeds, type Suite } from '../../src/evaluator/evaluator.ts';
import type { EvaluationPool } from '../../src/pool/pool.ts';
import { runBatchJob } from '../../src/proxy/job.ts';
import { ablateOnSuite } from '../../src/replay/ablation.ts';
import { startSearch, type SearchConfig } from '../../src/runner/search.ts';
import { loadSearchSpace } from '../../src/search/space.ts';
import { openStore } from '../../src/store/db.ts';
import { loadTaskSpec, resolveTaskList } from '../../src/tasks/spec.ts';
import type { BatchJob } from '../../src/vocabulary/index.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/optsearch.mjs');
const dir = mkdtempSync(join(tmpdir(), 'optsearch-callers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A pool that trains in this thread and counts what it was given. */
function inProcessPool(jobs: BatchJob[] = []): EvaluationPool {
  return {
    size: 1,
    run: (job) => {
      jobs.push(job);
      return runBatchJob(job);
    },
    stats: () => ({ submitted: jobs.length, completed: jobs.length, workerFailures: 0, running: 0, queued: 0, busySeconds: 0, wallSeconds: 0 }),
    close: async () => {},
  };
}

const searchConfig = (over: Partial<SearchConfig>): SearchConfig => ({
  space: 'replay-lion',
  tasks: null,
  budget: 1,
  timeLimitSeconds: null,
  workers: 1,
  seed: 3,
  deterministic: true,
  backend: 'reference',
  funnelEntrants: 0,
  funnelFidelities: [],
  ...over,
});

describe('one fitness for every caller', () => {
  it('the search, the evaluator, ablation and optsearch eval agree on Lion on the replay proxy', async () => {
    const space = loadSearchSpace('replay-lion');
    const suite: Suite = {
      tasks: resolveTaskList(space.tasks.join(',')),
      seeds: pairedSeeds(space.seedsPerEvaluation),
      lrMultipliers: space.lrMultipliers,
      fidelity: 1,
      backend: 'reference',
    };
    const lion = space.warmStart.program;

    // the search: the warm start's fitness in the lineage
    const store = openStore(join(dir, 'callers.sqlite'));
    const outcome = await startSearch(store, searchConfig({}), 'callers', { pool: inProcessPool() });
    const searchFitness = store.db.prepare('SELECT fitness FROM lineage WHERE run_id = ? AND birth = 0').pluck().get(outcome.run.id) as number;
    store.close();

    // the evaluator (what the replay's comparison and the benchmarks call)
    const direct = await new Evaluator(runBatchJob).score(lion, suite);

    // ablation scores its start program: Lion through the simplifier (the same program)
    const ablation = await ablateOnSuite(lion, suite, new Evaluator(runBatchJob), { tolerance: 1 });

    // the command line
    const cli = spawnSync(
      process.execPath,
      [BIN, 'eval', join(ROOT, 'search-spaces', space.warmStart.path), '--tasks', space.tasks.join(','), '--seeds', suite.seeds.join(','), '--lr-multipliers', space.lrMultipliers.join(','), '--backend', 'reference', '--workers', '0', '--json'],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
    );
    expect(cli.status, cli.stderr).toBe(0);
    const reports = JSON.parse(cli.stdout) as { task: string; fitness: number; seeds: { lrMultiplier: number }[] }[];
    const cliFitness = reports.reduce((a, r) => a + r.fitness, 0) / reports.length;

    expect(direct.fitness).toBeGreaterThan(0);
    expect(searchFitness).toBe(direct.fitness);
    expect(ablation.startScore.fitness).toBe(direct.fitness);
    expect(cliFitness).toBeCloseTo(direct.fitness, 12);
    expect(reports[0]?.seeds.map((s) => s.lrMultiplier)).toEqual(direct.pairs.map((p) => p.lrMultiplier));
  });
});

describe('stored evaluations and the task definition', () => {
  it('a second search reuses the stored evaluations; after the task file is edited it trains again', async () => {
    const taskFile = join(dir, 'my-quadratic.json');
    const spec = { ...loadTaskSpec('very-noisy-quadratic-16'), name: 'my-quadratic', steps: 120 };
    writeFileSync(taskFile, JSON.stringify(spec));
    const dbPath = join(dir, 'edited.sqlite');
    const config = searchConfig({ tasks: taskFile, budget: 2 });
    const evaluationsOfWarmStart = (s: ReturnType<typeof openStore>): number =>
      s.db.prepare("SELECT COUNT(*) FROM evaluations e JOIN lineage l ON l.program_id = e.program_id WHERE l.birth = 0 AND l.run_id = 1 AND e.task = 'my-quadratic'").pluck().get() as number;

    const store = openStore(dbPath);
    const jobs1: BatchJob[] = [];
    await startSearch(store, config, 'first', { pool: inProcessPool(jobs1) });
    const perProgram = 4 * 3; // seeds x lr multipliers of the preset
    expect(evaluationsOfWarmStart(store)).toBe(perProgram);

    // unchanged definition: the warm start is not trained again
    const jobs2: BatchJob[] = [];
    await startSearch(store, config, 'second', { pool: inProcessPool(jobs2) });
    const warmText = printProgram(parseProgram(readFileSync(join(ROOT, 'search-spaces/programs/lion.prog'), 'utf8')));
    expect(jobs2.some((j) => j.programText === warmText)).toBe(false);
    expect(evaluationsOfWarmStart(store)).toBe(perProgram);

    // edited definition: the old evaluations stay, and are not reused
    writeFileSync(taskFile, JSON.stringify({ ...spec, steps: 130 }));
    const jobs3: BatchJob[] = [];
    await startSearch(store, config, 'third', { pool: inProcessPool(jobs3) });
    expect(jobs3.some((j) => j.programText === warmText)).toBe(true);
    expect(evaluationsOfWarmStart(store)).toBe(2 * perProgram);
    const hashes = store.db.prepare("SELECT COUNT(DISTINCT config_hash) FROM evaluations WHERE task = 'my-quadratic'").pluck().get();
    expect(hashes).toBe(2);
    store.close();
  });
});
