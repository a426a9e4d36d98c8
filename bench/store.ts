/**
 * What the store costs a search, measured in one run on a fresh database file:
 *   1. evaluation rows written per second: one transaction per row (autocommit) vs batches of 500;
 *   2. one arrival as the search writes it (program upsert, lineage row, population seat, evaluation,
 *      cache counters, resume state with the whole population) in one transaction, for P = 48 and
 *      P = 1000, against the time the search itself spends making one child (mutate + check +
 *      structural hash + fingerprint, measured here too, no training).
 *
 *   npx tsx bench/store.ts [--rows 5000] [--arrivals 2000] [--dir /tmp]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprint } from '../src/analysis/fingerprint.ts';
import { structuralHash } from '../src/analysis/hash.ts';
import type { Program } from '../src/dsl/ast.ts';
import { printProgram } from '../src/dsl/print.ts';
import { mutate } from '../src/search/mutate.ts';
import { loadSearchSpace } from '../src/search/space.ts';
import { openStore, type Store } from '../src/store/db.ts';
import {
  addLineage,
  addPopulationSnapshot,
  createRun,
  recordBirthDeath,
  recordEvaluation,
  saveRunState,
  setCacheCounts,
  upsertProgram,
  type EvaluationInput,
} from '../src/store/queries.ts';
import { Rng } from '../src/util/rng.ts';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}
const rows = Number(option('rows', '5000'));
const arrivals = Number(option('arrivals', '2000'));
if (!(rows >= 500) || !(arrivals >= 100)) throw new Error('--rows must be >= 500 and --arrivals >= 100');
const dir = mkdtempSync(join(option('dir', tmpdir()), 'optsearch-bench-store-'));

const space = loadSearchSpace('laptop');
const rng = new Rng(99);

// Children as the search makes them; their cost is the yardstick.
const children: { program: Program; raw: string; hash: string; fp: string; detail: string; kind: string }[] = [];
let parent = space.warmStart.program;
let parentHash = structuralHash(parent);
const searchStart = performance.now();
for (let i = 0; i < arrivals; i++) {
  if (i % 200 === 0) {
    parent = space.warmStart.program;
    parentHash = structuralHash(parent);
  }
  const m = mutate(parent, rng, space, structuralHash, { parentHash });
  children.push({ program: m.child, raw: printProgram(m.child), hash: m.childHash, fp: fingerprint(m.child), detail: m.detail, kind: m.kind });
  parent = m.child;
  parentHash = m.childHash;
}
const searchMicros = ((performance.now() - searchStart) * 1000) / arrivals;

function evaluationRow(programId: number, seed: number): EvaluationInput {
  return { programId, task: 'quadratic', configHash: 'c', numericClass: 'float64', fidelity: 1, seed, fitness: rng.next(), metrics: { loss: rng.next(), steps: 200 }, status: 'ok', backend: 'wasm', seconds: 1.5 };
}

function rowsPerSecond(store: Store, batch: number): number {
  const programId = upsertProgram(store, { raw: `batch ${batch}`, size: 1 });
  const start = performance.now();
  for (let i = 0; i < rows; i += batch) {
    store.transaction(() => {
      for (let k = i; k < Math.min(rows, i + batch); k++) recordEvaluation(store, evaluationRow(programId, k));
    });
  }
  return rows / ((performance.now() - start) / 1000);
}

function arrivalMicros(store: Store, populationSize: number): number {
  const run = createRun(store, { space: space.name, seed: populationSize, config: { populationSize } });
  const warm = upsertProgram(store, { raw: printProgram(space.warmStart.program), size: space.warmStart.program.statements.length });
  addLineage(store, run.id, { birth: 0, programId: warm, parentBirth: null, mutation: 'warm-start', detail: '', fitness: 0 });
  addPopulationSnapshot(store, run.id, 0, Array.from({ length: populationSize }, () => 0));
  const population = Array.from({ length: populationSize }, () => ({ programId: warm, fitness: 0, birth: 0 }));
  const start = performance.now();
  children.forEach((c, i) => {
    const birth = i + 1;
    store.transaction(() => {
      const programId = upsertProgram(store, { raw: c.raw, size: c.program.statements.length, structuralHash: c.hash, fingerprint: c.fp });
      const parentBirth = population[rng.int(population.length)]!.birth;
      const fitness = rng.next();
      if (i % 9 === 0) recordEvaluation(store, { ...evaluationRow(programId, 0), runId: run.id });
      addLineage(store, run.id, { birth, programId, parentBirth, mutation: c.kind, detail: c.detail, fitness, source: i % 9 === 0 ? 'trained' : 'structural' });
      population.push({ programId, fitness, birth });
      const died = population.shift()!;
      recordBirthDeath(store, run.id, { step: birth, birth, died: died.birth });
      setCacheCounts(store, run.id, { structural: { hits: i, lookups: i + 1 }, fingerprint: { hits: 0, lookups: 1 }, stored: { hits: 0, lookups: 1 } });
      saveRunState(store, run.id, { rngState: rng.getState(), evolutionState: { population, best: population[0] }, generated: birth, trained: Math.ceil(birth / 9) });
    });
  });
  return ((performance.now() - start) * 1000) / children.length;
}

const store = openStore(join(dir, 'bench.sqlite'));
rowsPerSecond(store, 500); // warm-up
const autocommit = rowsPerSecond(store, 1);
const batched = rowsPerSecond(store, 500);
console.log(`evaluation rows: ${Math.round(autocommit).toLocaleString('en-US')}/s autocommit, ${Math.round(batched).toLocaleString('en-US')}/s in batches of 500 (${(batched / autocommit).toFixed(1)}x)`);

console.log(`a child (mutate + check + structural hash + fingerprint, no training): ${searchMicros.toFixed(0)} us`);
for (const p of [48, 1000]) {
  const micros = arrivalMicros(store, p);
  // The paper trains about 1 in 9 children (89% cache hits); the store stays under 2% of the search
  // once a training costs more than this.
  const breakEvenMs = (micros / 0.02 - searchMicros) / (1 / 9) / 1000;
  console.log(
    `one arrival, P = ${p}: ${micros.toFixed(0)} us in one transaction = ${((100 * micros) / (micros + searchMicros)).toFixed(1)}% of store + child without training; ` +
      `under 2% once a training takes > ${Math.max(0, breakEvenMs).toFixed(1)} ms at 1 trained per 9 children`,
  );
}
store.close();
rmSync(dir, { recursive: true, force: true });
