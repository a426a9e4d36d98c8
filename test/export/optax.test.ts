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
  optaxRuntime,
  optaxTrajectories,
  perOpPrograms,
  SLOT_SETS,
  STEPS,
  type Case,
} from './harness.ts';
import { skipWithout } from '../tools.ts';

// With real jax and optax (x64 enabled) this checks the numerics too; without them, NumPy stand-ins
// run the exported transformation's plumbing: pytree flattening, the rule, -update, state, schedule by count.
const runtime = optaxRuntime();
const skip = skipWithout('python3 with numpy (the optax stand-ins)', runtime.ok ? undefined : runtime.reason);
const run = (cases: readonly Case[]) => optaxTrajectories(cases, runtime.real);

describe.skipIf(skip)(`optax export, run as a GradientTransformation on nested params (${runtime.reason})`, () => {
  it('every op, in its Tensor and Scalar forms, matches the Float64 interpreter over 5 steps', () => {
    const rng = new Rng(2026);
    const cases = perOpPrograms().map((p, i) => makeCase(rng, p, LAYOUTS[i % 2] as number[][], STEPS));
    expect(compareAll(cases, run)).toEqual([]);
  });

  it('edges of the calling convention: inputs returned as update or state, a Scalar update, no slots', () => {
    const rng = new Rng(404);
    const cases = EDGE_PROGRAMS.flatMap((src) => LAYOUTS.slice(0, 3).map((shapes) => makeCase(rng, parseProgram(src), shapes, STEPS)));
    expect(compareAll(cases, run)).toEqual([]);
  });

  it('the shipped programs and 50 random programs match the interpreter', () => {
    const rng = new Rng(79);
    const dir = 'search-spaces/programs';
    const cases: Case[] = readdirSync(dir)
      .filter((f) => f.endsWith('.prog'))
      .map((f) => makeCase(rng, parseProgram(readFileSync(`${dir}/${f}`, 'utf8')), LAYOUTS[2] as number[][], STEPS));
    for (let i = 0; i < 50; i++) {
      const p = randomProgram(rng, { length: 3 + rng.int(12), slots: SLOT_SETS[i % SLOT_SETS.length] as string[] });
      cases.push(makeCase(rng, p, LAYOUTS[i % LAYOUTS.length] as number[][], STEPS));
    }
    expect(compareAll(cases, run)).toEqual([]);
  });
});
