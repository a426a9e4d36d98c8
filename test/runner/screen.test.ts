/**
 * A search with a screen: every child is first scored on one seed; those below the population's
 * threshold stop there (lineage fitness NULL, no seat in the population, only the screen seed's runs
 * stored), the others are scored on the whole suite; the counts agree everywhere, and a resumed run
 * keeps the same rules.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvaluationPool, type EvaluationPool } from '../../src/pool/pool.ts';
import { resumeSearch, startSearch, type Progress, type SearchConfig } from '../../src/runner/search.ts';
import { loadSearchSpace, SPACES_DIR } from '../../src/search/space.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { loadRunState, runIndividuals } from '../../src/store/queries.ts';

let dir: string;
let pool: EvaluationPool;
let spacePath: string;

function writeSpace(name: string, screen: unknown): string {
  const base = JSON.parse(readFileSync(join(SPACES_DIR, 'replay-lion.json'), 'utf8'));
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ ...base, warmStart: join(SPACES_DIR, 'programs/adamw.prog'), screen }));
  return path;
}

const config = (space: string, over: Partial<SearchConfig> = {}): SearchConfig => ({
  space,
  tasks: null,
  budget: 24,
  timeLimitSeconds: null,
  workers: 2,
  seed: 3,
  deterministic: true,
  backend: 'simd',
  funnelEntrants: 0,
  funnelFidelities: [],
  ...over,
});

interface Row {
  birth: number;
  program_id: number;
  fitness: number | null;
  source: string;
  screen: string | null;
  screen_fitness: number | null;
  screen_threshold: number | null;
}

function checkInvariants(store: Store, runId: number): { stopped: number; passed: number } {
  const rows = store.db.prepare('SELECT birth, program_id, fitness, source, screen, screen_fitness, screen_threshold FROM lineage WHERE run_id = ? AND birth > 0').all(runId) as Row[];
  const seats = new Set((store.db.prepare('SELECT birth FROM population WHERE run_id = ?').pluck().all(runId) as number[]));
  const seedsOf = (programId: number): number[] =>
    store.db.prepare('SELECT DISTINCT seed FROM evaluations WHERE program_id = ? ORDER BY seed').pluck().all(programId) as number[];
  let stopped = 0;
  let passed = 0;
  for (const r of rows) {
    if (r.screen === 'stopped') {
      stopped++;
      expect(r.fitness).toBeNull();
      expect(seats.has(r.birth)).toBe(false);
      expect(r.screen_fitness ?? -2).toBeLessThan(r.screen_threshold as number);
      // Trained here, or a twin of a child trained earlier: either way only the screen seed exists.
      if (r.source === 'trained') expect(seedsOf(r.program_id)).toEqual([1]);
    } else {
      expect(r.fitness).not.toBeNull();
      expect(seats.has(r.birth)).toBe(true);
      if (r.screen === 'passed') {
        passed++;
        expect(r.screen_fitness ?? -2).toBeGreaterThanOrEqual(r.screen_threshold as number);
        expect(seedsOf(r.program_id)).toEqual([1, 2, 3, 4]);
      } else {
        expect(r.source).not.toBe('trained'); // a trained child of a screened search always has a verdict
      }
    }
  }
  const state = loadRunState<{ counters: { screened: number } }>(store, runId);
  expect(state?.evolutionState.counters.screened).toBe(stopped);
  return { stopped, passed };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'optsearch-screen-'));
  pool = createEvaluationPool({ size: 2 });
  spacePath = writeSpace('screened', { seeds: 1, keepFraction: 0.5 });
});

afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a search space with a screen', () => {
  it('is read and checked', () => {
    expect(loadSearchSpace(spacePath).screen).toEqual({ seeds: 1, keepFraction: 0.5 });
    expect(loadSearchSpace(join(SPACES_DIR, 'replay-lion.json')).screen).toBeNull();
    expect(() => loadSearchSpace(writeSpace('all-seeds', { seeds: 4, keepFraction: 0.5 }))).toThrow(/screen.seeds must be less than seedsPerEvaluation \(4\)/);
    expect(() => loadSearchSpace(writeSpace('keep-none', { seeds: 1, keepFraction: 0 }))).toThrow(/screen.keepFraction must be above 0/);
    expect(() => loadSearchSpace(writeSpace('keep-many', { seeds: 1, keepFraction: 2 }))).toThrow(/screen.keepFraction must be a number in \[0, 1\]/);
  });
});

describe('search with a screen', () => {
  it('stops children below the threshold at the screen and scores the rest on the whole suite; resume keeps the rules', async () => {
    const store = openStore(join(dir, 'screened.sqlite'));
    try {
      const seen: Progress[] = [];
      const out = await startSearch(store, config(spacePath), undefined, { pool, onProgress: (p) => seen.push(p) });
      expect(out.status).toBe('done');
      expect(out.run.trained).toBe(24);
      const first = checkInvariants(store, out.run.id);
      expect(first.stopped).toBeGreaterThan(0);
      expect(first.stopped + first.passed).toBeLessThanOrEqual(runIndividuals(store, out.run.id).length - 1);
      expect(seen.at(-1)?.screened).toBe(first.stopped);

      const resumed: Progress[] = [];
      const more = await resumeSearch(store, out.run.id, { pool, onProgress: (p) => resumed.push(p) }, { budget: 40 });
      expect(more.run.trained).toBe(40);
      // rates count this process's work only
      expect(resumed.at(-1)?.trained).toBe(40);
      expect(resumed.at(-1)?.session.trained).toBe(16);
      expect(seen.at(-1)?.session.trained).toBe(24);
      const second = checkInvariants(store, out.run.id);
      expect(second.stopped).toBeGreaterThanOrEqual(first.stopped);
    } finally {
      store.close();
    }
  });

  it('with the screen turned off, every child is scored on the whole suite', async () => {
    const store = openStore(join(dir, 'unscreened.sqlite'));
    try {
      const out = await startSearch(store, config(spacePath, { screen: false, budget: 8 }), undefined, { pool });
      const verdicts = store.db.prepare('SELECT COUNT(*) FROM lineage WHERE run_id = ? AND screen IS NOT NULL').pluck().get(out.run.id);
      expect(verdicts).toBe(0);
      expect(store.db.prepare("SELECT COUNT(*) FROM lineage WHERE run_id = ? AND fitness IS NULL").pluck().get(out.run.id)).toBe(0);
    } finally {
      store.close();
    }
  });
});
