/**
 * Chooses the multi-fidelity screen from figures. A search scores every child on its whole suite
 * (screen off); then, for each candidate screen (its seeds, the share of the population it keeps),
 * every trained child is judged as the screen would have judged it on arrival, against the
 * population it met, and the verdict is compared with the child's full fitness:
 *
 *   stopped       children the screen would have stopped
 *   steps saved   training steps of the stopped children's other seeds / all training steps
 *   false neg.    stopped children whose full fitness beat the population's median full fitness,
 *                 over all children that beat it
 *
 * Then the same test over the proxy study's grid of tuned programs (AdamW, signum, Lion, SGD,
 * momentum over lr x weight decay), against the search's final population.
 *
 *   npx tsx bench/screening.ts [--space replay-teacher-student] [--budget 320] [--seed 1] [--workers 2] [--backend simd] [--db kept.sqlite] [--no-methods]
 *
 * --db reads a database kept from an earlier run of this benchmark (or any search run with the
 * screen off) instead of searching again.
 *
 * --live db.sqlite audits a search that ran with its screen on instead: the children it stopped
 * (up to --limit, default 200) are trained on the rest of the suite (not stored), and each one whose
 * full fitness beat the median of the population it met is a false negative of the live screen; it
 * also prints the training steps per trained child beside those of --db's unscreened run, if given.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Evaluator, pairedSeeds, screenSuite, screenThreshold, type Suite } from '../src/evaluator/evaluator.ts';
import { createEvaluationPool } from '../src/pool/pool.ts';
import { methodPrograms, STUDY_GRID } from '../src/replay/methods.ts';
import { startSearch } from '../src/runner/search.ts';
import { loadSearchSpace } from '../src/search/space.ts';
import { openStore } from '../src/store/db.ts';
import { evaluationsOf, findEvaluation, listRuns, populationAt, runIndividuals } from '../src/store/queries.ts';
import { resolveTaskList } from '../src/tasks/spec.ts';
import { isBackendName, type BackendName } from '../src/vocabulary/index.ts';
import { median } from '../src/util/stats.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}
const spaceName = arg('space', 'replay-teacher-student');
const budget = Number(arg('budget', '320'));
const seed = Number(arg('seed', '1'));
const workers = Number(arg('workers', '2'));
const backendArg = arg('backend', 'simd');
if (backendArg !== 'auto' && !isBackendName(backendArg)) throw new Error(`unknown backend ${backendArg}`);
const backend = backendArg as BackendName | 'auto';
const kept = arg('db', '');
const SCREENS: { seeds: number; keep: number }[] = [
  { seeds: 1, keep: 0.25 },
  { seeds: 1, keep: 0.5 },
  { seeds: 1, keep: 0.75 },
  { seeds: 2, keep: 0.5 },
];

const space = loadSearchSpace(spaceName);
const suite: Suite = {
  tasks: resolveTaskList(space.tasks.join(',')),
  seeds: pairedSeeds(space.seedsPerEvaluation),
  lrMultipliers: space.lrMultipliers,
  fidelity: 1,
  backend,
  timeLimitSeconds: space.limits.timeoutSeconds,
};
const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
/** Training steps of a run's evaluations per trained child. */
function stepsPerChild(path: string): { steps: number; children: number } {
  const store = openStore(path, { readonly: true });
  try {
    const run = listRuns(store)[0];
    if (!run) throw new Error(`${path} holds no run`);
    const steps = store.db.prepare('SELECT metrics FROM evaluations WHERE run_id = ?').pluck().all(run.id) as string[];
    const total = steps.reduce((a, m) => a + (Number(JSON.parse(m).steps) || 0), 0);
    const children = runIndividuals(store, run.id).filter((c) => c.birth > 0 && c.source === 'trained').length;
    return { steps: total, children };
  } finally {
    store.close();
  }
}

const live = arg('live', '');
if (live) {
  const limit = Number(arg('limit', '200'));
  const pool = createEvaluationPool({ size: workers });
  const store = openStore(live, { readonly: true });
  try {
    const run = listRuns(store)[0];
    if (!run) throw new Error(`${live} holds no run`);
    const evaluator = new Evaluator(pool.run.bind(pool), { workers });
    const all = runIndividuals(store, run.id).filter((c) => c.birth > 0 && c.source === 'trained');
    const stopped = all.filter((c) => c.screen?.outcome === 'stopped');
    const passed = all.filter((c) => c.screen?.outcome === 'passed');
    const audited = stopped.slice(0, limit);
    const t0 = performance.now();
    let falseNeg = 0;
    let beatBest = 0;
    const programs = new Map(store.db.prepare('SELECT id, raw FROM programs').all().map((r) => [(r as { id: number }).id, (r as { raw: string }).raw]));
    await Promise.all(
      audited.map(async (c) => {
        const full = await evaluator.score(programs.get(c.programId) as string, suite, { known: (key) => findEvaluation(store, { programId: c.programId }, key) });
        const pop = populationAt(store, run.id, c.birth - 1).map((m) => m.fitness ?? -Infinity);
        if (full.fitness > median(pop)) falseNeg++;
        if (full.fitness > Math.max(...pop)) beatBest++;
      }),
    );
    console.log(`live screen of ${live} (run ${run.id}): ${all.length} trained children, ${stopped.length} stopped (${pct(stopped.length / all.length)}), ${passed.length} went on`);
    console.log(`  ${audited.length} stopped children trained on the whole suite (${((performance.now() - t0) / 1000).toFixed(0)} s): ${falseNeg} beat the median of the population they met (false negatives ${pct(falseNeg / audited.length)}), ${beatBest} beat its best`);
    const mine = stepsPerChild(live);
    console.log(`  training steps per trained child: ${(mine.steps / mine.children).toFixed(0)}`);
    if (kept) {
      const theirs = stepsPerChild(kept);
      console.log(`  unscreened run ${kept}: ${(theirs.steps / theirs.children).toFixed(0)} steps per trained child; the screen trains ${pct(mine.steps / mine.children / (theirs.steps / theirs.children))} of that`);
    }
  } finally {
    store.close();
    await pool.close();
  }
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'optsearch-screening-'));
const dbPath = kept || join(dir, 'screening.sqlite');
const pool = createEvaluationPool({ size: workers });
try {
  const store = openStore(dbPath);
  try {
    if (!kept) {
      const t0 = performance.now();
      await startSearch(
        store,
        { space: spaceName, tasks: null, budget, timeLimitSeconds: null, workers, seed, deterministic: false, backend, funnelEntrants: 0, funnelFidelities: [], screen: false },
        `screening-audit-${seed}`,
        { pool },
      );
      console.log(`search with the screen off: ${spaceName}, budget ${budget}, seed ${seed}, ${workers} workers, ${backend}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
    const run = listRuns(store)[0];
    if (!run) throw new Error(`${dbPath} holds no run`);
    const evaluator = new Evaluator(pool.run.bind(pool), { workers });
    const hashes = new Set(suite.tasks.map((t) => evaluator.configHash(t, suite.fidelity)));

    const partialMemo = new Map<string, number | undefined>();
    const partial = (programId: number, seeds: number): number | undefined => {
      const k = `${programId}|${seeds}`;
      if (!partialMemo.has(k)) partialMemo.set(k, evaluator.scoreFromStore(screenSuite(suite, seeds), (key) => findEvaluation(store, { programId }, key))?.fitness);
      return partialMemo.get(k);
    };
    /** Training steps of the program's runs on seeds after the screen's (what stopping it saves). */
    const steps = (programId: number, afterSeed: number): { all: number; saved: number } => {
      let all = 0;
      let saved = 0;
      for (const e of evaluationsOf(store, programId)) {
        if (e.configHash === null || !hashes.has(e.configHash)) continue;
        const n = typeof e.metrics.steps === 'number' ? e.metrics.steps : 0;
        all += n;
        if (e.seed > afterSeed) saved += n;
      }
      return { all, saved };
    };

    const children = runIndividuals(store, run.id).filter((c) => c.birth > 0 && c.source === 'trained' && c.fitness !== null);
    console.log(`\nrun ${run.id}: ${children.length} trained children, each scored on the whole suite (${suite.seeds.length} seeds x lr ${suite.lrMultipliers.join('/')})`);
    console.log('screen                      stopped          steps saved   false neg. (stopped / beat the median)');
    for (const sc of SCREENS) {
      let stopped = 0;
      let beat = 0;
      let falseNeg = 0;
      let allSteps = 0;
      let savedSteps = 0;
      for (const c of children) {
        const pop = populationAt(store, run.id, c.birth - 1);
        const scores = pop.map((m) => partial(m.programId, sc.seeds)).filter((x): x is number => x !== undefined);
        const threshold = screenThreshold(scores, sc.keep);
        const mine = partial(c.programId, sc.seeds);
        const s = steps(c.programId, sc.seeds);
        allSteps += s.all;
        const drop = mine === undefined || !(mine >= threshold);
        const beats = (c.fitness as number) > median(pop.map((m) => m.fitness ?? -Infinity));
        if (drop) {
          stopped++;
          savedSteps += s.saved;
        }
        if (beats) {
          beat++;
          if (drop) falseNeg++;
        }
      }
      console.log(
        `${`${sc.seeds} seed(s), keep top ${pct(sc.keep)}`.padEnd(27)} ${`${stopped}/${children.length} (${pct(stopped / children.length)})`.padEnd(16)} ${pct(savedSteps / allSteps).padStart(11)}   ${falseNeg}/${beat}${beat ? ` (${pct(falseNeg / beat)})` : ''}`,
      );
    }

    if (!process.argv.includes('--no-methods')) {
      const last = populationAt(store, run.id, runIndividuals(store, run.id).length - 1);
      const methods = methodPrograms(STUDY_GRID);
      const t0 = performance.now();
      const scored = await Promise.all(methods.map(async (m) => ({ m, score: await evaluator.score(m.text, suite) })));
      console.log(`\nthe proxy study's grid (${methods.length} tuned programs, ${((performance.now() - t0) / 1000).toFixed(0)} s) against the final population (median full fitness ${median(last.map((p) => p.fitness ?? -Infinity)).toFixed(4)}):`);
      console.log('screen                      stopped   false neg. (stopped / beat the median)   stopped among the best 10');
      const ranked = [...scored].sort((a, b) => b.score.fitness - a.score.fitness);
      for (const sc of SCREENS) {
        const threshold = screenThreshold(last.map((p) => partial(p.programId, sc.seeds)).filter((x): x is number => x !== undefined), sc.keep);
        const med = median(last.map((p) => p.fitness ?? -Infinity));
        const partialOf = (x: (typeof scored)[number]): number => x.score.pairs.filter((p) => p.seed <= sc.seeds).reduce((a, p, _, all) => a + p.fitness / all.length, 0);
        const stopped = scored.filter((x) => !(partialOf(x) >= threshold));
        const beat = scored.filter((x) => x.score.fitness > med);
        const fn = beat.filter((x) => !(partialOf(x) >= threshold));
        const top10 = ranked.slice(0, 10).filter((x) => !(partialOf(x) >= threshold));
        console.log(
          `${`${sc.seeds} seed(s), keep top ${pct(sc.keep)}`.padEnd(27)} ${`${stopped.length}/${scored.length}`.padEnd(9)} ${`${fn.length}/${beat.length}`.padEnd(40)} ${top10.length}/10${top10.length ? ` (${top10.map((x) => `${x.m.method} ${x.m.label}`).join('; ')})` : ''}`,
        );
      }
    }
  } finally {
    store.close();
  }
} finally {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
}
