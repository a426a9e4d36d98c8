import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, StoreError, type Store } from '../../src/store/db.ts';
import {
  addLineage,
  addPopulationSnapshot,
  createRun,
  decodeJson,
  encodeJson,
  evaluationsOf,
  findEvaluation,
  funnelResults,
  getCacheCounts,
  getProgram,
  getRun,
  lineageChain,
  listEvaluations,
  listRuns,
  loadRunState,
  populationAt,
  populationHistory,
  programDetail,
  recordBirthDeath,
  recordEvaluation,
  recordEvaluations,
  recordFunnelResult,
  runIndividuals,
  saveRunState,
  setCacheCounts,
  setFitness,
  topPrograms,
  updateRunStatus,
  upsertProgram,
  type EvaluationInput,
} from '../../src/store/queries.ts';
import { Rng } from '../../src/util/rng.ts';

const dir = mkdtempSync(join(tmpdir(), 'optsearch-q-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const open = (): Store => openStore(join(dir, `q${n++}.sqlite`));
const count = (s: Store, table: string): number => s.db.prepare(`SELECT COUNT(*) FROM ${table}`).pluck().get() as number;

const evaluation = (programId: number, over: Partial<EvaluationInput> = {}): EvaluationInput => ({
  programId,
  task: 'quadratic',
  configHash: 'cfg-a',
  numericClass: 'float64',
  fidelity: 1,
  seed: 0,
  fitness: 0.5,
  metrics: { loss: 0.1, curve: [3, 2, 1] },
  status: 'ok',
  backend: 'wasm',
  seconds: 1.25,
  ...over,
});

describe('runs', () => {
  it('create, name, status, and listing with best fitness and cache counters', () => {
    const s = open();
    const a = createRun(s, { space: 'laptop', seed: 7, config: { budget: 100, tasks: ['default'] } });
    expect(a.name).toBe(`laptop-7-${a.id}`);
    expect(a.status).toBe('running');
    const b = createRun(s, { name: 'mine', space: 'lion', seed: 1, config: {} });
    expect(() => createRun(s, { name: 'mine', space: 'lion', seed: 2, config: {} })).toThrow(/a run named 'mine' already exists/);
    updateRunStatus(s, b.id, 'interrupted', 'SIGINT');
    expect(getRun(s, 'mine')).toMatchObject({ status: 'interrupted', statusReason: 'SIGINT' });
    expect(() => updateRunStatus(s, 999, 'done')).toThrow(StoreError);
    expect(() => updateRunStatus(s, b.id, 'paused' as 'done')).toThrow(/CHECK constraint/);

    const p1 = upsertProgram(s, { raw: 'p1', size: 1 });
    const p2 = upsertProgram(s, { raw: 'p2', size: 2 });
    addLineage(s, a.id, { birth: 0, programId: p1, parentBirth: null, mutation: 'warm-start', detail: '', fitness: 0.2 });
    addLineage(s, a.id, { birth: 1, programId: p2, parentBirth: 0, mutation: 'insert', detail: 'insert at 1: x = g', fitness: 0.7 });
    setCacheCounts(s, a.id, { structural: { hits: 5, lookups: 10 }, fingerprint: { hits: 1, lookups: 5 }, stored: { hits: 0, lookups: 4 } });
    const runs = listRuns(s);
    expect(runs.map((r) => r.id)).toEqual([b.id, a.id]);
    expect(runs[1]).toMatchObject({ bestFitness: 0.7, bestProgramId: p2, individuals: 2 });
    expect(runs[1]!.cache.structural).toEqual({ hits: 5, lookups: 10, misses: 5 });
    expect(runs[0]).toMatchObject({ bestFitness: null, bestProgramId: null, individuals: 0 });
    expect(getCacheCounts(s, b.id).stored).toEqual({ hits: 0, lookups: 0, misses: 0 });
    s.close();
  });

  it('run state round-trips, non-finite numbers included', () => {
    const s = open();
    const run = createRun(s, { space: 'laptop', seed: 1, config: {} });
    expect(loadRunState(s, run.id)).toBeUndefined();
    const rng = new Rng(5);
    rng.normal();
    const state = {
      rngState: rng.getState(),
      evolutionState: { population: [{ birth: 3, fitness: -Infinity }, { birth: 4, fitness: 0.5 }], best: { birth: 4, fitness: 0.5 }, nan: NaN, inf: Infinity },
      generated: 40,
      trained: 9,
      timings: { mutate: 0.5, evaluate: 12 },
    };
    saveRunState(s, run.id, state);
    const back = loadRunState<typeof state.evolutionState>(s, run.id)!;
    expect(back).toEqual(state);
    expect(back.evolutionState.population[0]!.fitness).toBe(-Infinity);
    expect(Number.isNaN(back.evolutionState.nan)).toBe(true);
    // The restored generator continues exactly where the saved one stopped.
    const restored = Rng.fromState(back.rngState as ReturnType<Rng['getState']>);
    expect(restored.next()).toBe(rng.next());
    expect(getRun(s, run.id)).toMatchObject({ generated: 40, trained: 9, timings: { mutate: 0.5, evaluate: 12 } });
    s.close();
  });

  it('encodeJson keeps what JSON.stringify would lose and nothing else changes', () => {
    const v = { a: [1, -Infinity, Infinity, NaN, 0.1], b: { c: 'x', d: null, e: { $float: 'not-alone', f: 1 } } };
    const back = decodeJson<typeof v>(encodeJson(v));
    expect(back).toEqual(v);
    expect(JSON.parse(JSON.stringify(v)).a[1]).toBeNull();
  });
});

describe('programs', () => {
  it('one row per raw text, shared across runs; missing analysis fields are filled, known ones kept', () => {
    const s = open();
    const id = upsertProgram(s, { raw: 'raw A', size: 3, structuralHash: 'h1' });
    expect(upsertProgram(s, { raw: 'raw A', size: 3, structuralHash: 'OTHER', fingerprint: 'f1', family: 'lion', familyParams: { beta1: 0.9 } })).toBe(id);
    expect(upsertProgram(s, { raw: 'raw B', size: 4 })).not.toBe(id);
    expect(count(s, 'programs')).toBe(2);
    expect(getProgram(s, id)).toMatchObject({ raw: 'raw A', size: 3, structuralHash: 'h1', fingerprint: 'f1', family: 'lion', familyParams: { beta1: 0.9 } });
    expect(getProgram(s, 12345)).toBeUndefined();
    s.close();
  });
});

describe('evaluations', () => {
  it('the same evaluation twice is one row; the first result stays', () => {
    const s = open();
    const p = upsertProgram(s, { raw: 'p', size: 1, structuralHash: 'hp', fingerprint: 'fp' });
    const first = recordEvaluation(s, evaluation(p, { fitness: 0.5 }));
    const second = recordEvaluation(s, evaluation(p, { fitness: 0.9 }));
    expect(first.inserted).toBe(true);
    expect(second).toEqual({ id: first.id, inserted: false });
    const batch = recordEvaluations(s, [evaluation(p), evaluation(p, { seed: 1 }), evaluation(p, { seed: 1 })]);
    expect(batch.map((b) => b.inserted)).toEqual([false, true, false]);
    expect(count(s, 'evaluations')).toBe(2);
    expect(evaluationsOf(s, p).map((e) => [e.seed, e.fitness])).toEqual([
      [0, 0.5],
      [1, 0.5],
    ]);
    s.close();
  });

  it('found by program id, structural hash or fingerprint, only under the same configuration', () => {
    const s = open();
    const run = createRun(s, { space: 'x', seed: 1, config: {} });
    const p = upsertProgram(s, { raw: 'p', size: 1, structuralHash: 'hp', fingerprint: 'fp' });
    const twin = upsertProgram(s, { raw: 'p with dead code', size: 2, structuralHash: 'hp', fingerprint: 'fp' });
    recordEvaluation(s, evaluation(p, { fitness: 0.25, lrMultiplier: 1 / 3, runId: run.id, status: 'hurdle', reason: 'loss above start' }));
    const cfg = { task: 'quadratic', configHash: 'cfg-a', numericClass: 'float64' as const, fidelity: 1, seed: 0, lrMultiplier: 1 / 3 };
    for (const key of [{ programId: p }, { structuralHash: 'hp' }, { fingerprint: 'fp' }]) {
      expect(findEvaluation(s, key, cfg)).toMatchObject({ programId: p, fitness: 0.25, status: 'hurdle', reason: 'loss above start', backend: 'wasm', seconds: 1.25, runId: run.id, metrics: { loss: 0.1, curve: [3, 2, 1] } });
    }
    expect(findEvaluation(s, { programId: twin }, cfg)).toBeUndefined();
    expect(findEvaluation(s, { structuralHash: 'other' }, cfg)).toBeUndefined();
    expect(findEvaluation(s, { fingerprint: 'fp' }, { ...cfg, lrMultiplier: 1 })).toBeUndefined();
    expect(findEvaluation(s, { fingerprint: 'fp' }, { ...cfg, seed: 1 })).toBeUndefined();
    expect(findEvaluation(s, { fingerprint: 'fp' }, { ...cfg, fidelity: 10 })).toBeUndefined();
    expect(findEvaluation(s, { fingerprint: 'fp' }, { ...cfg, task: 'digits' })).toBeUndefined();
    expect(findEvaluation(s, { fingerprint: 'fp' }, { ...cfg, configHash: 'cfg-b' })).toBeUndefined();
    expect(findEvaluation(s, { fingerprint: 'fp' }, { ...cfg, numericClass: 'float32' })).toBeUndefined();
    expect(listEvaluations(s, { runId: run.id })).toHaveLength(1);
    expect(listEvaluations(s, { runId: run.id + 1 })).toHaveLength(0);
    expect(listEvaluations(s)).toHaveLength(1);
    s.close();
  });

  it('a failed evaluation keeps its reason and a null fitness', () => {
    const s = open();
    const p = upsertProgram(s, { raw: 'p', size: 1 });
    recordEvaluation(s, evaluation(p, { fitness: null, status: 'failed', reason: 'NaN at step 3', metrics: {} }));
    expect(evaluationsOf(s, p)[0]).toMatchObject({ fitness: null, status: 'failed', reason: 'NaN at step 3' });
    s.close();
  });
});

describe('lineage', () => {
  it('the chain from the warm start to a program, with the mutation at each step', () => {
    const s = open();
    const run = createRun(s, { space: 'x', seed: 1, config: {} });
    const other = createRun(s, { space: 'x', seed: 2, config: {} });
    const ids = ['A', 'B', 'C', 'D', 'E'].map((r, i) => upsertProgram(s, { raw: r, size: i }));
    const [A, B, C, D, E] = ids as [number, number, number, number, number];
    addLineage(s, run.id, { birth: 0, programId: A, parentBirth: null, mutation: 'warm-start', detail: 'adamw.prog' });
    addLineage(s, run.id, { birth: 1, programId: B, parentBirth: 0, mutation: 'insert', detail: 'insert at 2: v1 = sign(m)' });
    addLineage(s, run.id, { birth: 2, programId: C, parentBirth: 0, mutation: 'delete', detail: 'delete statement 4: wd = w * 0.01' });
    addLineage(s, run.id, { birth: 3, programId: D, parentBirth: 1, mutation: 'modifyConstant', detail: 'constant 0.9 -> 0.95 in statement 2 (x 2^0.078)' });
    addLineage(s, run.id, { birth: 4, programId: B, parentBirth: 2, mutation: 'insert', detail: 'same text again' });
    addLineage(s, run.id, { birth: 5, programId: E, parentBirth: 3, mutation: 'modifyArgument', detail: 'argument 1 of statement 1: g -> m' });
    const chain = lineageChain(s, E, run.id);
    expect(chain.map((c) => [c.birth, c.raw, c.mutation, c.parentId])).toEqual([
      [0, 'A', 'warm-start', null],
      [1, 'B', 'insert', A],
      [3, 'D', 'modifyConstant', B],
      [5, 'E', 'modifyArgument', D],
    ]);
    // A program born twice: its chain follows its first birth.
    expect(lineageChain(s, B, run.id).map((c) => c.birth)).toEqual([0, 1]);
    expect(lineageChain(s, E, other.id)).toEqual([]);
    expect(runIndividuals(s, run.id).map((i) => i.programId)).toEqual([A, B, C, D, B, E]);
    // A parent must exist and be older: cycles cannot be stored.
    expect(() => addLineage(s, run.id, { birth: 6, programId: A, parentBirth: 9, mutation: 'insert', detail: '' })).toThrow();
    expect(() => addLineage(s, run.id, { birth: 7, programId: A, parentBirth: 99, mutation: 'insert', detail: '' })).toThrow(/FOREIGN KEY|CHECK/);
    expect(() => addLineage(s, run.id, { birth: 5, programId: A, parentBirth: 0, mutation: 'insert', detail: '' })).toThrow(/UNIQUE|PRIMARY/);
    s.close();
  });

  it('top programs and program detail', () => {
    const s = open();
    const run = createRun(s, { space: 'x', seed: 1, config: {} });
    const other = createRun(s, { name: 'other', space: 'x', seed: 2, config: {} });
    const [A, B, C] = ['A', 'B', 'C'].map((r) => upsertProgram(s, { raw: r, size: 1, ...(r === 'C' ? { family: 'lion' } : {}) })) as [number, number, number];
    addLineage(s, run.id, { birth: 0, programId: A, parentBirth: null, mutation: 'warm-start', detail: '', fitness: 0.1 });
    addLineage(s, run.id, { birth: 1, programId: B, parentBirth: 0, mutation: 'insert', detail: '', fitness: 0.5 });
    addLineage(s, run.id, { birth: 2, programId: C, parentBirth: 1, mutation: 'insert', detail: '' });
    addLineage(s, run.id, { birth: 3, programId: A, parentBirth: 2, mutation: 'delete', detail: '', fitness: 0.6 });
    setFitness(s, run.id, 2, 0.5, 'trained');
    expect(() => setFitness(s, run.id, 99, 1)).toThrow(/no individual with birth 99/);
    addLineage(s, other.id, { birth: 0, programId: C, parentBirth: null, mutation: 'warm-start', detail: '', fitness: 0.9 });
    const top = topPrograms(s, run.id, 10);
    expect(top.map((t) => [t.raw, t.fitness, t.firstBirth, t.births])).toEqual([
      ['A', 0.6, 0, 2],
      ['B', 0.5, 1, 1],
      ['C', 0.5, 2, 1],
    ]);
    expect(topPrograms(s, run.id, 1)).toHaveLength(1);
    recordEvaluation(s, evaluation(C, { runId: run.id }));
    const d = programDetail(s, C)!;
    expect(d.program.family).toBe('lion');
    expect(d.evaluations).toHaveLength(1);
    expect(d.runs).toEqual([
      { runId: run.id, runName: run.name, firstBirth: 2, births: 1, bestFitness: 0.5 },
      { runId: other.id, runName: 'other', firstBirth: 0, births: 1, bestFitness: 0.9 },
    ]);
    expect(programDetail(s, 999)).toBeUndefined();
    s.close();
  });
});

describe('population', () => {
  it('rebuilds the exact aging queue at every step, through arrivals and restarts', () => {
    const s = open();
    const run = createRun(s, { space: 'x', seed: 1, config: {} });
    const rng = new Rng(3);
    const P = 6;
    const programs = Array.from({ length: 20 }, (_, i) => upsertProgram(s, { raw: `prog${i}`, size: i }));
    // Reference: an in-memory queue of births, as regularized evolution keeps it.
    let queue: number[] = Array.from({ length: P }, () => 0);
    const expected: number[][] = [];
    addLineage(s, run.id, { birth: 0, programId: programs[0]!, parentBirth: null, mutation: 'warm-start', detail: '', fitness: 0 });
    addPopulationSnapshot(s, run.id, 0, queue);
    expected[0] = [...queue];
    let best = 0;
    for (let birth = 1; birth <= 60; birth++) {
      const parent = rng.pick(queue);
      const fitness = rng.next();
      s.transaction(() => {
        addLineage(s, run.id, { birth, programId: rng.pick(programs), parentBirth: parent, mutation: 'insert', detail: '', fitness });
        queue.push(birth);
        const died = queue.shift();
        recordBirthDeath(s, run.id, { step: birth, birth, died });
      });
      if (fitness > 0.9) best = birth;
      if (birth % 17 === 0) {
        queue = Array.from({ length: P }, () => best);
        addPopulationSnapshot(s, run.id, birth, queue);
      }
      expected[birth] = [...queue];
    }
    for (let step = 0; step <= 60; step++) {
      expect(populationAt(s, run.id, step).map((m) => m.birth)).toEqual(expected[step]);
    }
    const history = populationHistory(s, run.id);
    expect(history.filter((h) => h.leftStep === null)).toHaveLength(P);
    for (const h of history) if (h.leftStep !== null) expect(h.leftStep).toBeGreaterThanOrEqual(h.joinedStep);
    s.close();
  });

  it('refuses a death that does not match the oldest member, writing nothing', () => {
    const s = open();
    const run = createRun(s, { space: 'x', seed: 1, config: {} });
    const p = upsertProgram(s, { raw: 'p', size: 1 });
    addLineage(s, run.id, { birth: 0, programId: p, parentBirth: null, mutation: 'warm-start', detail: '' });
    addLineage(s, run.id, { birth: 1, programId: p, parentBirth: 0, mutation: 'insert', detail: '' });
    addPopulationSnapshot(s, run.id, 0, [0, 0]);
    const before = count(s, 'population');
    expect(() => recordBirthDeath(s, run.id, { step: 1, birth: 1, died: 1 })).toThrow(/the oldest member is birth 0, not birth 1/);
    expect(count(s, 'population')).toBe(before);
    s.close();
  });
});

describe('funnel and cache counters', () => {
  it('funnel results are kept per (program, fidelity), replaced when recorded again', () => {
    const s = open();
    const run = createRun(s, { space: 'x', seed: 1, config: {} });
    const p = upsertProgram(s, { raw: 'p', size: 1 });
    recordFunnelResult(s, run.id, { programId: p, fidelity: 10, fitness: 0.4, baselineFitness: 0.3, beatBaseline: true, searchFitness: 0.8 });
    recordFunnelResult(s, run.id, { programId: p, fidelity: 100, fitness: 0.1, baselineFitness: 0.3, beatBaseline: false });
    recordFunnelResult(s, run.id, { programId: p, fidelity: 10, fitness: 0.45, baselineFitness: 0.3, beatBaseline: true, searchFitness: 0.8 });
    expect(funnelResults(s, run.id)).toEqual([
      { programId: p, fidelity: 10, fitness: 0.45, baselineFitness: 0.3, beatBaseline: true, searchFitness: 0.8 },
      { programId: p, fidelity: 100, fitness: 0.1, baselineFitness: 0.3, beatBaseline: false, searchFitness: null },
    ]);
    s.close();
  });

  it('cache counters are absolute: saving twice keeps the last totals; hits above lookups are refused', () => {
    const s = open();
    const run = createRun(s, { space: 'x', seed: 1, config: {} });
    const c = { structural: { hits: 1, lookups: 2 }, fingerprint: { hits: 0, lookups: 1 }, stored: { hits: 0, lookups: 1 } };
    setCacheCounts(s, run.id, c);
    setCacheCounts(s, run.id, { ...c, structural: { hits: 8, lookups: 9 } });
    expect(getCacheCounts(s, run.id).structural).toEqual({ hits: 8, lookups: 9, misses: 1 });
    expect(() => setCacheCounts(s, run.id, { ...c, stored: { hits: 5, lookups: 1 } })).toThrow(/CHECK/);
    expect(getCacheCounts(s, run.id).stored).toEqual({ hits: 0, lookups: 1, misses: 1 });
    s.close();
  });
});
