/**
 * The store's share of a real search: a laptop-preset search on the cheapest proxy task
 * (quadratic, so the store's relative cost is at its largest), timing every store write the search
 * makes (programs, evaluations, the per-arrival transaction). Slowdown = store time / the rest.
 *
 *   npx tsx bench/store-overhead.ts [budget=24] [tasks=quadratic]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSearch } from '../src/runner/search.ts';
import { openStore } from '../src/store/db.ts';
import { listEvaluations } from '../src/store/queries.ts';

const budget = Number(process.argv[2] ?? 24);
const tasks = process.argv[3] ?? 'quadratic';
const dir = mkdtempSync(join(tmpdir(), 'optsearch-store-bench-'));
const store = openStore(join(dir, 'bench.sqlite'));
try {
  const out = await startSearch(
    store,
    { space: 'laptop', tasks, budget, timeLimitSeconds: null, workers: 2, seed: 11, deterministic: false, backend: 'wasm', funnelEntrants: 0, funnelFidelities: [] },
    undefined,
  );
  const { total = 0, store: storeSeconds = 0 } = out.run.timings;
  const rows = listEvaluations(store, { runId: out.run.id }).length;
  console.log(`search on ${tasks}: ${out.run.trained} trained, ${out.run.generated} generated, ${rows} evaluation rows, ${total.toFixed(1)} s`);
  console.log(`store writes: ${(1000 * storeSeconds).toFixed(1)} ms in all, ${((1000 * storeSeconds) / Math.max(1, out.run.generated)).toFixed(3)} ms per generated program`);
  console.log(`slowdown from the store: ${((100 * storeSeconds) / Math.max(1e-9, total - storeSeconds)).toFixed(3)}% (target: under 2%)`);
} finally {
  store.close();
  rmSync(dir, { recursive: true, force: true });
}
