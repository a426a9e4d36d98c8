/**
 * A search whose space accepts neutral mutations: dead-code-only children arrive answered by the
 * cache at their parent's fitness (not trained), join the population, and later children descend
 * from them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEvaluationPool, type EvaluationPool } from '../../src/pool/pool.ts';
import { startSearch } from '../../src/runner/search.ts';
import { SPACES_DIR } from '../../src/search/space.ts';
import { openStore } from '../../src/store/db.ts';

let dir: string;
let pool: EvaluationPool;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'optsearch-neutral-'));
  pool = createEvaluationPool({ size: 2 });
});

afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

it('neutral children arrive at their parent fitness without training, and are parents in turn', async () => {
  const base = JSON.parse(readFileSync(join(SPACES_DIR, 'replay.json'), 'utf8'));
  const space = join(dir, 'neutral.json');
  writeFileSync(space, JSON.stringify({ ...base, warmStart: join(SPACES_DIR, 'programs/adamw.prog'), mutation: { ...base.mutation, neutral: true } }));
  const store = openStore(join(dir, 'n.sqlite'));
  try {
    const out = await startSearch(
      store,
      { space, tasks: null, budget: 16, timeLimitSeconds: null, workers: 2, seed: 4, deterministic: true, backend: 'simd', funnelEntrants: 0, funnelFidelities: [] },
      undefined,
      { pool },
    );
    expect(out.run.trained).toBe(16);
    const rows = store.db
      .prepare(
        `SELECT l.birth, l.fitness, l.source, p.raw, p.structural_hash AS hash, pl.fitness AS parentFitness, pp.raw AS parentRaw, pp.structural_hash AS parentHash
         FROM lineage l JOIN programs p ON p.id = l.program_id
         JOIN lineage pl ON pl.run_id = l.run_id AND pl.birth = l.parent_birth JOIN programs pp ON pp.id = pl.program_id
         WHERE l.run_id = ?`,
      )
      .all(out.run.id) as { birth: number; fitness: number; source: string; raw: string; hash: string; parentFitness: number; parentRaw: string; parentHash: string }[];
    const neutral = rows.filter((r) => r.hash === r.parentHash);
    expect(neutral.length).toBeGreaterThan(0);
    for (const r of neutral) {
      expect(r.raw).not.toBe(r.parentRaw);
      expect(r.source).not.toBe('trained');
      expect(r.fitness).toBe(r.parentFitness);
    }
    const neutralBirths = new Set(neutral.map((r) => r.birth));
    const parents = store.db.prepare('SELECT parent_birth FROM lineage WHERE run_id = ? AND parent_birth IS NOT NULL').pluck().all(out.run.id) as number[];
    expect(parents.some((b) => neutralBirths.has(b))).toBe(true);
  } finally {
    store.close();
  }
});
