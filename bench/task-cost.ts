/**
 * Cost of one evaluation of each proxy task (AdamW, x1 unless --fidelity, wasm unless --backend),
 * in seconds: the faster of two runs in this process (the first also loads the data).
 *
 *   npx tsx bench/task-cost.ts [--fidelity 1] [--backend wasm] [--tasks all] [--write]
 *
 * --write records the x1 figures as costSeconds in proxy-tasks/<task>.json (shown by `optsearch tasks`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../src/proxy/backend.ts';
import { isBackendName } from '../src/vocabulary/index.ts';
import { PROXY_TASKS_DIR } from '../src/tasks/data.ts';
import { defaultBaselineProgram } from '../src/evaluator/fitness.ts';
import { atFidelity, isFidelity, resolveTaskList } from '../src/tasks/spec.ts';
import { trainProgram } from '../src/proxy/train.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}
const fidelity = Number(arg('fidelity', '1'));
if (!isFidelity(fidelity)) throw new Error('--fidelity must be 1, 10 or 100');
const backendName = arg('backend', 'wasm');
if (!isBackendName(backendName)) throw new Error(`unknown backend ${backendName}`);
const write = process.argv.includes('--write');
const { tf, backend } = await initBackend(backendName);
const program = defaultBaselineProgram();
console.log(`AdamW, x${fidelity}, ${backend}`);
console.log('task             steps   seconds  ms/step  final loss  status');
const costs: Record<string, number> = {};
for (const spec0 of resolveTaskList(arg('tasks', 'all'))) {
  const spec = atFidelity(spec0, fidelity);
  let best = Infinity;
  let last;
  for (let r = 0; r < 2; r++) {
    last = await trainProgram({ tf, backend, program, spec, fidelity, seed: spec.seed, timeLimitSeconds: 3600 });
    best = Math.min(best, last.seconds);
  }
  costs[spec.name] = best;
  console.log(
    `${spec.name.padEnd(16)} ${String(spec.steps).padStart(6)} ${best.toFixed(2).padStart(9)} ${((best * 1000) / spec.steps).toFixed(2).padStart(8)} ${(last?.finalLoss ?? NaN).toFixed(4).padStart(11)}  ${last?.status}`,
  );
}
if (write && fidelity === 1 && backend === 'wasm') {
  for (const [name, seconds] of Object.entries(costs)) {
    const file = join(PROXY_TASKS_DIR, `${name}.json`);
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    json.costSeconds = Number(seconds.toFixed(2));
    writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  }
  console.log(`costSeconds written to ${Object.keys(costs).length} task files`);
}
