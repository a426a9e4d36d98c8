/**
 * The reference trainer's teacher-student batch cache changes nothing but time: every run equals the
 * same run with the cache off, whatever ran before it (other seeds and programs, runs cut short by a
 * hurdle, evictions).
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { setTeacherStreamCache, trainReference } from '../../src/proxy/reference.ts';
import { loadTaskSpec } from '../../src/tasks/spec.ts';
import type { TaskSpec, TrainResult } from '../../src/vocabulary/index.ts';

const prog = (name: string) => readFileSync(`search-spaces/programs/${name}.prog`, 'utf8');
/** Gradient ascent: the divergence hurdle stops it after a few steps, having drawn only those batches. */
const ASCENT = 'def train(w, g, m, v, lr):\n  update = g * -1000\n  return update, m, v\n';

const base = loadTaskSpec('teacher-student');
const spec: TaskSpec = { ...base, name: 'teacher-student-tiny', params: { ...base.params, inputs: 4, hidden: 8, classes: 3, studentHidden: 8, heldOut: 50 }, batchSize: 8, steps: 80 };
const run = (program: string, seed: number): TrainResult => trainReference({ program, spec, fidelity: 1, seed, timeLimitSeconds: 60 });
const trace = (r: TrainResult) => ({ status: r.status, steps: r.steps, initialLoss: r.initialLoss, finalLoss: r.finalLoss, curve: r.lossCurve, metric: r.metric });

/** One sequence of runs, as a search would interleave them. */
const SEQUENCE: [string, number][] = [
  ['ascent', 1],
  ['adamw', 1],
  ['lion', 2],
  ['ascent', 2],
  ['adamw', 2],
  ['lion', 1],
  ['signum', 3],
  ['adamw', 1],
];
const programs: Record<string, string> = { ascent: ASCENT, adamw: prog('adamw'), lion: prog('lion'), signum: prog('signum') };

describe('teacher-student batch cache (reference backend)', () => {
  afterAll(() => setTeacherStreamCache(256 * 2 ** 20));

  setTeacherStreamCache(0);
  const uncached = SEQUENCE.map(([p, seed]) => trace(run(programs[p] as string, seed)));

  it('the ascent program is stopped early, so the cache is filled lazily in the runs below', () => {
    expect(uncached[0]?.status).not.toBe('ok');
    expect(uncached[0]?.steps).toBeLessThan(spec.steps);
    expect(uncached[1]?.status).toBe('ok');
  });

  it.each([
    ['large enough for every seed', 256 * 2 ** 20],
    ['room for one seed only (evictions)', (8 * 4 * 4 + 8 * 4) * 80],
  ])('with a cache %s, every run equals its uncached twin', (_label, bytes) => {
    setTeacherStreamCache(bytes);
    const cached = SEQUENCE.map(([p, seed]) => trace(run(programs[p] as string, seed)));
    expect(cached).toEqual(uncached);
  });

  it('different seeds draw different batches (the cache key includes the seed)', () => {
    setTeacherStreamCache(256 * 2 ** 20);
    const a = trace(run(programs.adamw as string, 1));
    const b = trace(run(programs.adamw as string, 2));
    expect(a.finalLoss).not.toBe(b.finalLoss);
  });
});
