/**
 * Population and tournament size from figures: the same search (a space, from its warm start) with
 * each (population, tournament) setting over several seeds, each in a fresh database. Prints per
 * run the best fitness, the trained programs and seconds until that best first arrived, and the
 * trained programs until the first Lion-family program; then per setting the medians.
 *
 *   npx tsx bench/population.ts [--space replay] [--settings 32x4,100x2,...] [--seeds 1,2,3] [--budget 2000] [--workers 2] [--backend simd] [--keep dir]
 *
 * --keep writes the databases (<P>x<T>-<seed>.sqlite) and their space files to dir and leaves them there.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createEvaluationPool } from '../src/pool/pool.ts';
import { firstLionFamily } from '../src/replay/lion.ts';
import { startSearch } from '../src/runner/search.ts';
import { loadSearchSpace } from '../src/search/space.ts';
import { openStore } from '../src/store/db.ts';
import { runIndividuals } from '../src/store/queries.ts';
import { isBackendName, type BackendName } from '../src/vocabulary/index.ts';
import { median } from '../src/util/stats.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}
const spaceName = arg('space', 'replay');
const settings = arg('settings', '32x4,100x2,100x10,300x2,1000x2').split(',').map((s) => s.split('x').map(Number) as [number, number]);
const seeds = arg('seeds', '1,2,3').split(',').map(Number);
const budget = Number(arg('budget', '2000'));
const workers = Number(arg('workers', '2'));
const backendArg = arg('backend', 'simd');
if (backendArg !== 'auto' && !isBackendName(backendArg)) throw new Error(`unknown backend ${backendArg}`);
const backend = backendArg as BackendName | 'auto';

const space = loadSearchSpace(spaceName);
const base = JSON.parse(readFileSync(space.file, 'utf8'));
const keep = arg('keep', '');
if (keep) mkdirSync(keep, { recursive: true });
const dir = keep || mkdtempSync(join(tmpdir(), 'optsearch-population-'));
const pool = createEvaluationPool({ size: workers });
console.log(`population study: space ${space.name} (warm start ${space.warmStart.path}), budget ${budget} trained, seeds ${seeds.join(', ')}, ${workers} workers, ${backend}`);
console.log('P     T   seed  best      trained-to-best  s-to-best  Lion-family-at  seconds');
const summary: string[] = [];
try {
  for (const [P, T] of settings) {
    const file = join(dir, `space-${P}x${T}.json`);
    writeFileSync(file, JSON.stringify({ ...base, population: { size: P, tournament: T }, warmStart: resolve(dirname(space.file), base.warmStart) }));
    const rows: { best: number; trainedToBest: number; secondsToBest: number; lion: number | null }[] = [];
    for (const seed of seeds) {
      const store = openStore(join(dir, `${P}x${T}-${seed}.sqlite`));
      try {
        const t0 = Date.now();
        const out = await startSearch(
          store,
          { space: file, tasks: null, budget, timeLimitSeconds: null, workers, seed, deterministic: true, backend, funnelEntrants: 0, funnelFidelities: [] },
          `population-${P}x${T}-${seed}`,
          { pool },
        );
        const seconds = (Date.now() - t0) / 1000;
        let trained = 0;
        let best = -Infinity;
        let trainedToBest = 0;
        let atBest = t0;
        for (const ind of runIndividuals(store, out.run.id)) {
          if (ind.source === 'trained' && ind.birth > 0) trained++;
          if (ind.fitness !== null && ind.fitness > best) {
            best = ind.fitness;
            trainedToBest = trained;
            atBest = Date.parse(ind.createdAt);
          }
        }
        const lion = firstLionFamily(store, out.run.id);
        const row = { best, trainedToBest, secondsToBest: (atBest - t0) / 1000, lion: lion ? lion.trained : null };
        rows.push(row);
        console.log(
          `${String(P).padEnd(5)} ${String(T).padEnd(3)} ${String(seed).padEnd(5)} ${best.toFixed(4).padEnd(9)} ${String(trainedToBest).padStart(15)}  ${row.secondsToBest.toFixed(0).padStart(9)}  ${String(lion ? `${lion.trained} (${lion.kind})` : '-').padStart(14)}  ${seconds.toFixed(0)}`,
        );
      } finally {
        store.close();
      }
    }
    summary.push(
      `P ${P}, T ${T}: median best ${median(rows.map((r) => r.best)).toFixed(4)}, median trained to it ${median(rows.map((r) => r.trainedToBest))}, ` +
        `median seconds to it ${median(rows.map((r) => r.secondsToBest)).toFixed(0)}, Lion family in ${rows.filter((r) => r.lion !== null).length}/${rows.length}`,
    );
  }
} finally {
  await pool.close();
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
console.log('');
for (const s of summary) console.log(s);
