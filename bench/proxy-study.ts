/**
 * Which proxy rewards which optimizer: AdamW, signum (sign of the momentum, decoupled decay) and
 * Lion proper (two interpolation constants), each tuned the same way on every candidate proxy
 * (lr x weight decay grid, plus Lion's two beta pairs), with paired seeds. Prints, per proxy, the
 * best configuration of each method with its fitness (the search's: AdamW defaults = 1) and held-out
 * loss, mean +- standard error over the seeds, and Lion's and signum's paired difference to AdamW.
 *
 *   npx tsx bench/proxy-study.ts [--tasks teacher-student,quadratic] [--seeds 3] [--workers 2]
 *                                [--variants 'quadratic:dim=16,steps=200,noise=0.1;...']
 *                                [--fidelity 1] [--backend auto] [--lrs 0.01,0.003,0.001,0.0003] [--wds 0.01,0.1,1]
 */
import { availableParallelism } from 'node:os';
import { parseProgram } from '../src/dsl/parse.ts';
import { isBackendName, type BackendName, type TaskSpec } from '../src/vocabulary/index.ts';
import { createEvaluationPool } from '../src/pool/pool.ts';
import { Evaluator, pairedSeeds, type SuiteScore } from '../src/evaluator/evaluator.ts';
import { isFidelity, resolveTaskList } from '../src/tasks/spec.ts';
import { taskVariant } from './task-variant.ts';
import { mean, pairedDifference, standardError } from '../src/util/stats.ts';
import { bestPerMethod, methodPrograms, STUDY_GRID, type MethodConfig } from '../src/replay/methods.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}
const numbers = (s: string): number[] => s.split(',').map(Number);
const tasks: TaskSpec[] = [
  ...(process.argv.includes('--tasks') || !process.argv.includes('--variants') ? resolveTaskList(arg('tasks', 'teacher-student,quadratic,digits-mlp')) : []),
  ...(process.argv.includes('--variants') ? arg('variants', '').split(';').filter(Boolean).map(taskVariant) : []),
];
const seeds = pairedSeeds(Number(arg('seeds', '3')));
const fidelity = Number(arg('fidelity', '1'));
if (!isFidelity(fidelity)) throw new Error('--fidelity must be 1, 10 or 100');
const backendArg = arg('backend', 'auto');
if (backendArg !== 'auto' && !isBackendName(backendArg)) throw new Error(`unknown backend ${backendArg}`);
const backend = backendArg as BackendName | 'auto';
const workers = Number(arg('workers', String(Math.min(2, availableParallelism()))));
const configs = methodPrograms({ lrs: numbers(arg('lrs', STUDY_GRID.lrs.join(','))), wds: numbers(arg('wds', STUDY_GRID.wds.join(','))) });

const pool = createEvaluationPool({ size: workers });
const evaluator = new Evaluator((j) => pool.run(j));
const t0 = performance.now();
const fmt = (x: number, d = 4): string => (Number.isFinite(x) ? x.toFixed(d) : String(x));
try {
  console.log(`proxy study: ${configs.length} configurations x ${seeds.length} paired seeds (${seeds.join(', ')}), fidelity x${fidelity}, ${workers} workers`);
  for (const spec of tasks) {
    const t1 = performance.now();
    const suite = { tasks: [spec], seeds, lrMultipliers: [1], fidelity, backend };
    const scored: { c: MethodConfig; s: SuiteScore }[] = await Promise.all(
      configs.map(async (c) => ({ c, s: await evaluator.score(parseProgram(c.text), suite) })),
    );
    const secs = (performance.now() - t1) / 1000;
    console.log(`\n${spec.name} (${spec.steps * fidelity} steps, batch ${spec.batchSize}): ${configs.length * seeds.length} runs in ${secs.toFixed(0)} s (${((secs * workers) / (configs.length * seeds.length)).toFixed(2)} s per run per worker)`);
    console.log('method   best configuration                         fitness (+- se)     held-out loss (+- se)  vs AdamW (paired, +- se)');
    const best = bestPerMethod(scored);
    const adamw = best.get('adamw');
    const signed = (d: { mean: number; se: number }): string => `${d.mean >= 0 ? '+' : ''}${fmt(d.mean)} +- ${fmt(d.se)}`;
    for (const [method, x] of best) {
      const losses = x.s.pairs.map((p) => p.finalLoss ?? NaN);
      const vs = adamw && method !== 'adamw' && x.s.perSeed.length > 0 ? signed(pairedDifference(x.s.perSeed, adamw.s.perSeed)) : '';
      console.log(`${method.padEnd(8)} ${x.c.label.padEnd(42)} ${fmt(x.s.fitness)} +- ${fmt(standardError(x.s.perSeed))}  ${fmt(mean(losses))} +- ${fmt(standardError(losses))}    ${vs}`);
    }
    const lion = best.get('lion');
    if (lion) {
      const vs = [...best].filter(([m]) => m !== 'lion').map(([m, x]) => `${m} ${signed(pairedDifference(lion.s.perSeed, x.s.perSeed))}`);
      console.log(`Lion proper against each (paired, +- se): ${vs.join('; ')}`);
    }
  }
  console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(0)} s; fitness 1 = AdamW with its default constants (adamw.prog) on the same seed`);
} finally {
  await pool.close();
}
