import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { randomProgram } from '../../src/dsl/generate.ts';
import { OPS } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { Rng } from '../../src/util/rng.ts';
import {
  compareAll,
  EDGE_PROGRAMS,
  LAYOUTS,
  liveOps,
  makeCase,
  numpyStatus,
  perOpPrograms,
  SLOT_SETS,
  specialCase,
  specialPrograms,
  STEPS,
  type Case,
} from './harness.ts';
import { skipWithout } from '../tools.ts';

const status = numpyStatus();
const skip = skipWithout('python3 with numpy', status.ok ? undefined : status.reason);

describe('NumPy export matches the Float64 interpreter', () => {
  it.skipIf(skip)('every op, in its Tensor and Scalar forms, over 5 steps on several leaf layouts', () => {
    const rng = new Rng(2024);
    const programs = perOpPrograms();
    const covered = new Set(programs.map((p) => p.statements[3]!.op));
    expect([...covered].sort()).toEqual(OPS.map((o) => o.name).sort());
    const cases = programs.flatMap((p) => LAYOUTS.slice(0, 2).map((shapes) => makeCase(rng, p, shapes, STEPS)));
    expect(compareAll(cases)).toEqual([]);
  });

  it.skipIf(skip)('every op on NaN, infinities, signed zeros, +-1, huge and tiny values: same values and NaN/Inf patterns', () => {
    const cases = specialPrograms().flatMap((p) => [0, 7].map((offset) => specialCase(p, LAYOUTS[0] as number[][], offset)));
    expect(compareAll(cases)).toEqual([]);
  });

  it.skipIf(skip)('200 random programs over 5 steps with state carried (relative 1e-9, NaN/Inf patterns equal)', () => {
    const rng = new Rng(77);
    const cases: Case[] = [];
    const live = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const p = randomProgram(rng, { length: 3 + rng.int(12), slots: SLOT_SETS[i % SLOT_SETS.length] as string[] });
      for (const op of liveOps(p)) live.add(op);
      cases.push(makeCase(rng, p, LAYOUTS[i % LAYOUTS.length] as number[][], STEPS));
    }
    expect(compareAll(cases)).toEqual([]);
    // the random programs exercise most of the table on values that reach the outputs
    expect(live.size).toBeGreaterThan(OPS.length * 0.8);
  });

  it.skipIf(skip)('names that clash with Python (keywords, builtins, module names, underscores) keep their meaning', () => {
    const p = parseProgram(
      [
        'def train(lambda, np, _state, x_, None):',
        '  sum = interp(np, _state, 0.9)',
        '  torch = sign(sum)',
        '  self = global_norm(torch)',
        '  rule = torch * None',
        '  x_ = clip(lambda, self)',
        '  step = rule + x_',
        '  return step, sum, x_',
        '',
      ].join('\n'),
    );
    const rng = new Rng(11);
    const cases = LAYOUTS.map((shapes) => makeCase(rng, p, shapes, STEPS));
    expect(compareAll(cases)).toEqual([]);
  });

  it.skipIf(skip)('edges of the calling convention: inputs returned as update or state, a Scalar update, no slots', () => {
    const rng = new Rng(404);
    const cases = EDGE_PROGRAMS.flatMap((src) => LAYOUTS.slice(0, 3).map((shapes) => makeCase(rng, parseProgram(src), shapes, STEPS)));
    expect(compareAll(cases)).toEqual([]);
  });

  it.skipIf(skip)('the shipped programs', () => {
    const rng = new Rng(5);
    const dir = 'search-spaces/programs';
    const cases = readdirSync(dir)
      .filter((f) => f.endsWith('.prog'))
      .map((f) => makeCase(rng, parseProgram(readFileSync(`${dir}/${f}`, 'utf8')), LAYOUTS[0] as number[][], STEPS));
    expect(cases.length).toBeGreaterThanOrEqual(7);
    expect(compareAll(cases)).toEqual([]);
  });
});
