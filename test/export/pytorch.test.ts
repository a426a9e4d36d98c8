import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { randomProgram } from '../../src/dsl/generate.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { Rng } from '../../src/util/rng.ts';
import {
  compareAll,
  EDGE_PROGRAMS,
  LAYOUTS,
  makeCase,
  perOpPrograms,
  SLOT_SETS,
  specialCase,
  specialPrograms,
  STEPS,
  torchStatus,
  torchTrajectories,
  type Case,
} from './harness.ts';
import { skipWithout } from '../tools.ts';

// Runs with the first of python3 and /usr/bin/python3 that imports torch (Debian's python3-torch; docs/export.md).
const status = torchStatus();
const skip = skipWithout('a python3 with torch', status.ok ? undefined : status.reason);
const run = (cases: readonly Case[]) => torchTrajectories(cases, status.python as string);

describe.skipIf(skip)(`PyTorch export, run as an optimizer on float64 parameters (${status.reason})`, () => {
  it('every op, in its Tensor and Scalar forms, matches the Float64 interpreter over 5 steps', () => {
    const rng = new Rng(2025);
    const cases = perOpPrograms().flatMap((p) => LAYOUTS.slice(0, 2).map((shapes) => makeCase(rng, p, shapes, STEPS)));
    expect(compareAll(cases, run)).toEqual([]);
  });

  it('every op on NaN, infinities, signed zeros, +-1, huge and tiny values: same values and NaN/Inf patterns', () => {
    const cases = specialPrograms().flatMap((p) => [0, 7].map((offset) => specialCase(p, LAYOUTS[0] as number[][], offset)));
    expect(compareAll(cases, run)).toEqual([]);
  });

  it('edges of the calling convention: inputs returned as update or state, a Scalar update, no slots', () => {
    const rng = new Rng(404);
    const cases = EDGE_PROGRAMS.flatMap((src) => LAYOUTS.slice(0, 3).map((shapes) => makeCase(rng, parseProgram(src), shapes, STEPS)));
    expect(compareAll(cases, run)).toEqual([]);
  });

  it('the shipped programs match the interpreter', () => {
    const rng = new Rng(6);
    const dir = 'search-spaces/programs';
    const cases = readdirSync(dir)
      .filter((f) => f.endsWith('.prog'))
      .map((f) => makeCase(rng, parseProgram(readFileSync(`${dir}/${f}`, 'utf8')), LAYOUTS[1] as number[][], STEPS));
    expect(compareAll(cases, run)).toEqual([]);
  });

  it('100 random programs match the interpreter (state per parameter, reductions over the param group)', () => {
    const rng = new Rng(78);
    const cases: Case[] = [];
    for (let i = 0; i < 100; i++) {
      const p = randomProgram(rng, { length: 3 + rng.int(12), slots: SLOT_SETS[i % SLOT_SETS.length] as string[] });
      cases.push(makeCase(rng, p, LAYOUTS[i % LAYOUTS.length] as number[][], STEPS));
    }
    expect(compareAll(cases, run)).toEqual([]);
  });
});
