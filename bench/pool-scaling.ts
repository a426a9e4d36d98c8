/**
 * Pool scaling: trained programs per minute on the default suite with 2 workers against 1.
 * A trained program = one program trained on every task of the suite (x1, wasm): one batch job per
 * task holding its seeds.
 *
 *   npx tsx bench/pool-scaling.ts [--programs 6] [--seeds 4] [--suite default]
 *
 * Workers are started and warmed (tfjs loaded, wasm initialised) before timing.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { createEvaluationPool } from '../src/pool/pool.ts';
import { loadTaskSpec, resolveTaskList } from '../src/tasks/spec.ts';
import type { BatchJob } from '../src/vocabulary/index.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}
const suite = arg('suite', 'default');
const names = ['adamw', 'lion', 'sgd', 'momentum', 'signum', 'signsgd'].slice(0, Number(arg('programs', '6')));
const programs = names.map((n) => readFileSync(new URL(`../search-spaces/programs/${n}.prog`, import.meta.url), 'utf8'));
const specs = resolveTaskList(suite);
const seeds = Number(arg('seeds', '4'));
const runs = Array.from({ length: seeds }, (_, seed) => ({ seed, lrMultiplier: 1 }));
const jobs: BatchJob[] = programs.flatMap((programText) => specs.map((task) => ({ programText, task: task.name, fidelity: 1 as const, runs, backend: 'wasm' as const })));
// Warm-up: every task, a few steps, once per worker (data sets and kernels are built once per worker).
const warmJobs = (workers: number): BatchJob[] =>
  specs.flatMap((spec) =>
    Array.from({ length: workers }, () => ({ programText: programs[0] as string, task: { ...loadTaskSpec(spec.name), steps: 5 }, fidelity: 1 as const, runs: [{ seed: 0, lrMultiplier: 1 }], backend: 'wasm' as const })),
  );

async function measure(workers: number): Promise<number> {
  const pool = createEvaluationPool({ size: workers });
  try {
    await Promise.all(warmJobs(workers).map((j) => pool.run(j)));
    const t0 = performance.now();
    const results = (await Promise.all(jobs.map((j) => pool.run(j)))).flat();
    const seconds = (performance.now() - t0) / 1000;
    const bad = results.filter((r) => r.status === 'failed');
    if (bad.length > 0) throw new Error(`failed evaluations: ${bad.map((r) => r.reason).join('; ')}`);
    const perMinute = ((programs.length * seeds) / seconds) * 60;
    console.log(`${workers} worker${workers > 1 ? 's' : ' '}: ${results.length} evaluations (${jobs.length} batch jobs) in ${seconds.toFixed(1)} s = ${perMinute.toFixed(1)} trained programs per minute`);
    return perMinute;
  } finally {
    await pool.close();
  }
}

console.log(`${availableParallelism()} cores, load average before: ${loadavg().map((x) => x.toFixed(1)).join(' ')} (other processes compete for the same cores)`);
console.log(`suite ${suite} (${specs.map((s) => s.name).join(', ')}), programs ${names.join(', ')}, wasm, x1`);
const one = await measure(1);
const two = await measure(2);
console.log(`ratio 2 workers / 1 worker: ${(two / one).toFixed(2)}x (load average after: ${loadavg().map((x) => x.toFixed(1)).join(' ')})`);
