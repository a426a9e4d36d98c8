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
import { parseProgram } from '../src/dsl/parse.ts';
import { createEvaluationPool } from '../src/pool/pool.ts';
import { Evaluator, pairedSeeds, type SuiteScore } from '../src/evaluator/evaluator.ts';
import { isFidelity } from '../src/tasks/spec.ts';
import { mean, pairedDifference, standardError } from '../src/util/stats.ts';
import { bestPerMethod, methodPrograms, STUDY_GRID, type MethodConfig } from '../src/replay/methods.ts';
import { arg, backendOption, fmt, numbers, proxyTasks, signed, workersOption } from './proxy-args.ts';

const tasks = proxyTasks('teacher-student,quadratic,digits-mlp');
const seeds = pairedSeeds(Number(arg('seeds', '3')));
const fidelity = Number(arg('fidelity', '1'));
if (!isFidelity(fidelity)) throw new Error('--fidelity must be 1, 10 or 100');
const backend = backendOption();
const workers = workersOption();
const configs = methodPrograms({ lrs: numbers(arg('lrs', STUDY_GRID.lrs.join(','))), wds: numbers(arg('wds', STUDY_GRID.wds.join(','))) });

const pool = createEvaluationPool({ size: workers });
const evaluator = new Evaluator((j) => pool.run(j));
const t0 = performance.now();
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
