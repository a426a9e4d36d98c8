/**
 * Does Lion proper still lead when every method is tuned as broadly as a search tunes it? The
 * proxy study (bench/proxy-study.ts) tunes lr and decay on a small grid; a search also moves the
 * betas, drops the decay and leaves the grid (docs/replay.md: on teacher-student-16 its best
 * programs are AdamW relatives with b1 near 0 and no decay that beat Lion on fresh seeds). Here
 * AdamW (b1 down to 0, i.e. RMSprop), signum and Lion are each tuned over betas x lr x decay on the
 * search's paired seeds, and each method's best configuration is then scored on fresh seeds that
 * the tuning never saw, with paired differences there.
 *
 *   npx tsx bench/broad-tuning.ts [--tasks teacher-student-16] [--variants 'teacher-student-16:batchSize=512,steps=1000;...']
 *                                 [--seeds 4] [--fresh 8] [--workers 2] [--backend auto]
 *                                 [--lrs 0.1,0.03,...] [--wds 0,0.1,...]
 */
import { parseProgram } from '../src/dsl/parse.ts';
import { formatNumber as n } from '../src/dsl/print.ts';
import { createEvaluationPool } from '../src/pool/pool.ts';
import { Evaluator, freshSeeds, pairedSeeds, type SuiteScore } from '../src/evaluator/evaluator.ts';
import { mean, pairedDifference, standardError } from '../src/util/stats.ts';
import { adamwText, bestPerMethod, lionText, signumText, type MethodConfig } from '../src/replay/methods.ts';
import { arg, backendOption, fmt, numbers, proxyTasks, signed, workersOption } from './proxy-args.ts';

/**
 * Half-decade lr steps from 0.3 down, decay 0 to 1: every method's optimum on the teacher-student-16
 * variants lies inside (grids that stopped at lr 0.03, then 0.1, had AdamW's optimum on their edge).
 */
const GRID = {
  lrs: [0.3, 0.17, 0.1, 0.056, 0.03, 0.017, 0.01, 0.0056, 0.003, 0.0017, 0.001, 0.00056, 0.0003, 0.0001],
  wds: [0, 0.01, 0.1, 0.3, 1],
  adamwBetas: [0, 0.5, 0.9, 0.95].flatMap((b1) => [0.9, 0.99, 0.999].map((b2) => [b1, b2] as const)),
  signumBetas: [0.5, 0.7, 0.8, 0.9, 0.95, 0.99],
  lionBetas: [0.5, 0.7, 0.8, 0.9, 0.95, 0.99].flatMap((b1) => [0.8, 0.9, 0.98, 0.99, 0.999].map((b2) => [b1, b2] as const)),
};

function broadConfigs(lrs: readonly number[], wds: readonly number[]): MethodConfig[] {
  const out: MethodConfig[] = [];
  for (const lr of lrs) {
    for (const wd of wds) {
      const tail = `lr ${n(lr)}, wd ${n(wd)}`;
      for (const [b1, b2] of GRID.adamwBetas) out.push({ method: 'adamw', label: `b1 ${n(b1)}, b2 ${n(b2)}, ${tail}`, text: adamwText(lr, wd, b1, b2) });
      for (const beta of GRID.signumBetas) out.push({ method: 'signum', label: `beta ${n(beta)}, ${tail}`, text: signumText(lr, wd, beta) });
      for (const [b1, b2] of GRID.lionBetas) {
        if (b1 !== b2) out.push({ method: 'lion', label: `b1 ${n(b1)}, b2 ${n(b2)}, ${tail}`, text: lionText(lr, wd, b1, b2) });
      }
    }
  }
  return out;
}

const tasks = proxyTasks('teacher-student-16');
const tuningSeeds = pairedSeeds(Number(arg('seeds', '4')));
const heldOutSeeds = freshSeeds(Number(arg('fresh', '8')));
const backend = backendOption();
const workers = workersOption();
const configs = broadConfigs(numbers(arg('lrs', GRID.lrs.join(','))), numbers(arg('wds', GRID.wds.join(','))));

const pool = createEvaluationPool({ size: workers });
const evaluator = new Evaluator((j) => pool.run(j));
const t0 = performance.now();
try {
  console.log(`broad tuning: ${configs.length} configurations x tuning seeds ${tuningSeeds.join(', ')}, then each method's best on fresh seeds ${heldOutSeeds[0]}-${heldOutSeeds[heldOutSeeds.length - 1]}, ${workers} workers`);
  for (const spec of tasks) {
    const t1 = performance.now();
    const suite = { tasks: [spec], seeds: tuningSeeds, lrMultipliers: [1], fidelity: 1 as const, backend };
    const scored: { c: MethodConfig; s: SuiteScore }[] = await Promise.all(
      configs.map(async (c) => ({ c, s: await evaluator.score(parseProgram(c.text), suite) })),
    );
    const best = bestPerMethod(scored);
    const freshSuite = { ...suite, seeds: heldOutSeeds };
    const fresh = new Map<string, SuiteScore>();
    for (const [method, x] of best) fresh.set(method, await evaluator.score(parseProgram(x.c.text), freshSuite));
    const secs = (performance.now() - t1) / 1000;
    console.log(`\n${spec.name} (${spec.steps} steps, batch ${spec.batchSize}): ${configs.length * tuningSeeds.length + best.size * heldOutSeeds.length} runs in ${secs.toFixed(0)} s`);
    console.log('method   best configuration (tuning seeds)               tuning fitness   fresh fitness (+- se)  fresh vs AdamW (paired)  fresh vs Lion (paired)');
    const adamw = fresh.get('adamw');
    const lion = fresh.get('lion');
    for (const [method, x] of best) {
      const f = fresh.get(method) as SuiteScore;
      const vsAdamw = adamw && method !== 'adamw' ? signed(pairedDifference(f.perSeed, adamw.perSeed)) : '';
      const vsLion = lion && method !== 'lion' ? signed(pairedDifference(f.perSeed, lion.perSeed)) : '';
      console.log(`${method.padEnd(8)} ${x.c.label.padEnd(46)} ${fmt(x.s.fitness)}           ${fmt(f.fitness)} +- ${fmt(standardError(f.perSeed))}   ${vsAdamw.padEnd(24)} ${vsLion}`);
    }
    const ranked = [...scored].sort((a, b) => b.s.fitness - a.s.fitness).slice(0, 5);
    console.log(`top 5 on the tuning seeds: ${ranked.map((x) => `${x.c.method} (${x.c.label}) ${fmt(x.s.fitness)}`).join('; ')}`);
    const failed = scored.filter((x) => !(x.s.fitness > 0)).length;
    console.log(`configurations failing a hurdle on some seed: ${failed} of ${scored.length}; mean tuning fitness ${fmt(mean(scored.map((x) => x.s.fitness)))}`);
  }
  console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(0)} s; fitness 1 = AdamW with its default constants (adamw.prog) on the same seed`);
} finally {
  await pool.close();
}
