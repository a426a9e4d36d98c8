/**
 * Worker utilization of a real search: busy worker-seconds / (workers x wall seconds), measured by
 * the pool over a whole search (warm start included) in a scratch database.
 *
 *   npx tsx bench/utilization.ts [--space replay-lion] [--budget 200] [--workers 2] [--backend reference] [--seed 1] [--json]
 *
 * Two presets worth comparing: the quadratic proxy (replay-lion, milliseconds per candidate: the
 * coordinator's own work shows) and teacher-student-16 (replay-teacher-student-lion, about 25
 * core-seconds per candidate on the reference backend: whether workers wait for work shows).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvaluationPool } from '../src/pool/pool.ts';
import { startSearch } from '../src/runner/search.ts';
import { openStore } from '../src/store/db.ts';
import { isBackendName, type RequestedBackend } from '../src/vocabulary/index.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}
const space = arg('space', 'replay-lion');
const budget = Number(arg('budget', '200'));
const workers = Number(arg('workers', '2'));
const seed = Number(arg('seed', '1'));
const backend = arg('backend', 'reference');
if (backend !== 'auto' && !isBackendName(backend)) throw new Error(`unknown backend ${backend}`);
const json = process.argv.includes('--json');

const dir = mkdtempSync(join(tmpdir(), 'optsearch-utilization-'));
const store = openStore(join(dir, 'u.sqlite'));
const pool = createEvaluationPool({ size: workers });
try {
  const load = loadavg()[0] as number;
  const t0 = performance.now();
  const outcome = await startSearch(
    store,
    { space, tasks: null, budget, timeLimitSeconds: null, workers, seed, deterministic: false, backend: backend as RequestedBackend, funnelEntrants: 0, funnelFidelities: [] },
    undefined,
    { pool },
  );
  const wall = (performance.now() - t0) / 1000;
  const s = pool.stats();
  const utilization = s.busySeconds / (workers * s.wallSeconds);
  const figures = {
    space,
    backend,
    workers,
    budget,
    trained: outcome.run.trained,
    generated: outcome.run.generated,
    batchJobs: s.completed,
    wallSeconds: wall,
    busyWorkerSeconds: s.busySeconds,
    utilization,
    cores: availableParallelism(),
    loadAverageBefore: load,
  };
  if (json) console.log(JSON.stringify(figures));
  else {
    console.log(`${space} on ${backend}, ${workers} workers, budget ${budget}: ${outcome.run.trained} trained, ${outcome.run.generated} generated, ${s.completed} batch jobs in ${wall.toFixed(1)} s`);
    console.log(`busy worker-seconds ${s.busySeconds.toFixed(1)} / (${workers} x ${s.wallSeconds.toFixed(1)} s) = utilization ${utilization.toFixed(3)} (load average before ${load.toFixed(1)} on ${availableParallelism()} cores)`);
  }
} finally {
  await pool.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
