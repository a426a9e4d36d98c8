/**
 * Cache hit rate per tier over a search of 2,000 generated programs on the laptop preset.
 *
 * The search is the real one (regularized evolution, the space's mutations, analysis of every child,
 * the tiered cache); only the training is replaced by a cheap Float64 proxy so the figure can be
 * measured in seconds: 200 steps of the program on a noisy ill-conditioned quadratic (d = 20) in the
 * reference interpreter, fitness = log-progress relative to AdamW's, as the tfjs proxies compute it.
 * The stored-evaluation tier is not exercised here (no database; it answers across runs).
 *
 *   npx tsx bench/cache.ts [generated=2000] [seed=1]
 */
import { analyze } from '../src/analysis/simplify.ts';
import { structuralHash } from '../src/analysis/hash.ts';
import type { Program } from '../src/dsl/ast.ts';
import { prepare, runSteps } from '../src/dsl/interpret.ts';
import { makeLayout } from '../src/dsl/ops.ts';
import { EvaluationCache } from '../src/search/cache.ts';
import { evolve, initialState, type Child, type Scored } from '../src/search/evolution.ts';
import { mutate } from '../src/search/mutate.ts';
import { loadSearchSpace } from '../src/search/space.ts';
import { Rng } from '../src/util/rng.ts';

const GENERATED = Number(process.argv[2] ?? 2000);
const SEED = Number(process.argv[3] ?? 1);
const D = 20;
const layout = makeLayout([D]);
const curv = Float64Array.from({ length: D }, (_, i) => Math.pow(100, i / (D - 1)));
const target = Float64Array.from({ length: D }, (_, i) => Math.sin(i + 1));

function finalLoss(p: Program): number {
  const noise = new Rng(99);
  const prep = prepare(p);
  const r = runSteps(prep, {
    layout,
    w0: new Float64Array(D),
    steps: 200,
    schedule: (t) => Math.min(1, (t + 1) / 20) * 0.5 * (1 + Math.cos((Math.PI * t) / 200)),
    gradient: (w) => Float64Array.from(w, (x, i) => (curv[i] as number) * (x - (target[i] as number)) + 0.1 * noise.normal()),
  });
  let loss = 0;
  r.w.forEach((x, i) => (loss += 0.5 * (curv[i] as number) * (x - (target[i] as number)) ** 2));
  return Number.isFinite(loss) ? loss : Infinity;
}

const space = loadSearchSpace('laptop');
const initial = finalLoss(space.warmStart.program);
let l0 = 0;
target.forEach((c, i) => (l0 += 0.5 * (curv[i] as number) * c * c));
const progress = (l: number) => Math.log(Math.max(l0, 1e-12) / Math.max(l, 1e-12));
const fitnessOf = (p: Program) => {
  const l = finalLoss(p);
  return Number.isFinite(l) ? Math.max(-1, Math.min(10, progress(l) / progress(initial))) : -2;
};

const cache = new EvaluationCache();
const programs = new Map<number, Program>([[0, space.warmStart.program]]);
const info = new Map<Child, { id: number; hash: string; fingerprint: string }>();
let nextId = 1;
let analysisSeconds = 0;
const warm = analyze(space.warmStart.program);
cache.remember(warm.hash, warm.fingerprint, { fitness: 1, sourceProgramId: 0 });
const t0 = performance.now();
const state = await evolve(
  initialState({ programId: 0, fitness: 1 }, space.population.size),
  { populationSize: space.population.size, tournamentSize: space.population.tournament, parallelism: 1, deterministic: true, budget: Infinity, maxGenerated: GENERATED, restartAfter: 0 },
  {
    rng: new Rng(SEED),
    makeChild(parent, rng) {
      const m = mutate(programs.get(parent.programId) as Program, rng, space, (p) => structuralHash(p));
      const id = nextId++;
      programs.set(id, m.child);
      const a0 = performance.now();
      const a = analyze(m.child);
      analysisSeconds += (performance.now() - a0) / 1000;
      const child: Child = { program: m.child, parent, mutation: m.kind, detail: m.detail };
      info.set(child, { id, hash: a.hash, fingerprint: a.fingerprint });
      return child;
    },
    lookup(child) {
      const i = info.get(child)!;
      const hit = cache.lookup(i.hash, i.fingerprint);
      return hit ? { programId: i.id, fitness: hit.fitness, source: hit.tier } : undefined;
    },
    async train(child): Promise<Scored> {
      const i = info.get(child)!;
      const fitness = fitnessOf(child.program);
      cache.remember(i.hash, i.fingerprint, { fitness, sourceProgramId: i.id });
      return { programId: i.id, fitness, source: 'trained' };
    },
    onArrival: (child) => void info.delete(child),
    shouldStop: () => false,
  },
);
const seconds = (performance.now() - t0) / 1000;
const c = cache.counts;
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const n = c.structural.lookups;
console.log(`cache over a search of ${state.counters.generated} generated programs (laptop preset, seed ${SEED}, Float64 quadratic proxy)`);
console.log(`  structural-hash hits : ${c.structural.hits} (${pct(c.structural.hits / n)} of lookups)`);
console.log(`  fingerprint hits     : ${c.fingerprint.hits} (${pct(c.fingerprint.hits / n)} of lookups; structurally new, behaviourally known)`);
console.log(`  overall hit rate     : ${pct(cache.hitRate())}   (the Lion paper reports 89.1% over whole searches)`);
console.log(`  trained              : ${state.counters.trained} (${pct(state.counters.trained / state.counters.generated)} of generated)`);
console.log(`  best fitness ${state.best.fitness.toFixed(3)} (AdamW = 1); analysis ${(1e6 * analysisSeconds / state.counters.generated).toFixed(1)} us/child; ${seconds.toFixed(1)} s in all`);
