import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import type { Arg, Program, Statement } from '../../src/dsl/ast.ts';
import { randomProgram } from '../../src/dsl/generate.ts';
import { OPS } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { Rng } from '../../src/util/rng.ts';
import { firstMismatch, interpreterTrajectory, makeCase, numpyStatus, numpyTrajectories, type Case } from './harness.ts';

const STEPS = 5;
const REL = 1e-9;
const LAYOUTS: readonly (readonly (readonly number[])[])[] = [
  [[2, 3], [4]],
  [[3], [1], [2, 2]],
  [[5], [2]],
  [[], [3], [2, 1]],
  [[1], [1], [1], [4]],
];
const SLOT_SETS: readonly (readonly string[])[] = [['m', 'v'], ['m', 'v'], ['m'], [], ['m', 'v', 's']];

const status = numpyStatus();
if (!status.ok) console.log(`skipping the NumPy export runs: ${status.reason}`);

/** Ops whose value reaches an output (update or a state slot) of the program. */
function liveOps(p: Program): Set<string> {
  const need = new Set(p.outputs);
  const ops = new Set<string>();
  for (let i = p.statements.length - 1; i >= 0; i--) {
    const s = p.statements[i] as Statement;
    if (!need.has(s.target)) continue;
    need.delete(s.target);
    ops.add(s.op);
    for (const a of s.args) if (a.kind === 'var') need.add(a.name);
  }
  return ops;
}

function compareAll(cases: readonly Case[]): string[] {
  const actual = numpyTrajectories(cases);
  const failures: string[] = [];
  cases.forEach((k, i) => {
    const a = actual[i]!;
    if ('error' in a) {
      failures.push(`case ${i}: python raised ${a.error}`);
      return;
    }
    const m = firstMismatch(interpreterTrajectory(k), a, REL);
    if (m) failures.push(`case ${i} (${k.program.statements.map((s) => s.op).join(' ')}): ${m}`);
  });
  return failures;
}

const v = (name: string): Arg => ({ kind: 'var', name });
const n = (value: number): Arg => ({ kind: 'num', value });

/**
 * One program per op and argument form, with the op's result flowing into the update: the Tensor form
 * on tensors (m, g, w) and, where the op accepts Scalars, the Scalar form on two data-dependent scalars.
 */
function perOpPrograms(): Program[] {
  const out: Program[] = [];
  for (const spec of OPS) {
    const forms: ('tensor' | 'scalar')[] = spec.args.every((k) => k !== 'T') && spec.args.length > 0 ? ['tensor', 'scalar'] : ['tensor'];
    for (const form of forms) {
      const tensors = ['m', 'g', 'w'];
      const scalars = ['s', 't', 'lr'];
      let ti = 0;
      let si = 0;
      const args: Arg[] = spec.args.map((k) =>
        k === 'T' || (k === 'N' && form === 'tensor') ? v(tensors[ti++ % 3] as string) : v(scalars[si++ % 3] as string),
      );
      const result = spec.result === 'S' || (form === 'scalar' && spec.result !== 'T') ? 'scalar' : 'tensor';
      const statements: Statement[] = [
        { target: 'm', op: 'interp', args: [v('g'), v('m'), n(0.5)] },
        { target: 's', op: 'global_norm', args: [v('m')] },
        { target: 't', op: 'dot', args: [v('g'), v('w')] },
        { target: 'x', op: spec.name, args },
      ];
      if (result === 'scalar') statements.push({ target: 'u', op: 'mul', args: [v('g'), v('x')] });
      out.push({ name: 'train', inputs: ['w', 'g', 'm', 'lr'], statements, outputs: [result === 'scalar' ? 'u' : 'x', 'm'] });
    }
  }
  return out;
}

describe('NumPy export matches the Float64 interpreter', () => {
  it.skipIf(!status.ok)('every op, in its Tensor and Scalar forms, over 5 steps on several leaf layouts', () => {
    const rng = new Rng(2024);
    const programs = perOpPrograms();
    const covered = new Set(programs.map((p) => p.statements[3]!.op));
    expect([...covered].sort()).toEqual(OPS.map((o) => o.name).sort());
    const cases = programs.flatMap((p) => LAYOUTS.slice(0, 2).map((shapes) => makeCase(rng, p, shapes, STEPS)));
    expect(compareAll(cases)).toEqual([]);
  });

  it.skipIf(!status.ok)('200 random programs over 5 steps with state carried (relative 1e-9, NaN/Inf patterns equal)', () => {
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

  it.skipIf(!status.ok)('names that clash with Python (keywords, builtins, module names, underscores) keep their meaning', () => {
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

  it.skipIf(!status.ok)('the shipped programs', () => {
    const rng = new Rng(5);
    const dir = 'search-spaces/programs';
    const cases = readdirSync(dir)
      .filter((f) => f.endsWith('.prog'))
      .map((f) => makeCase(rng, parseProgram(readFileSync(`${dir}/${f}`, 'utf8')), LAYOUTS[0] as number[][], STEPS));
    expect(cases.length).toBeGreaterThanOrEqual(7);
    expect(compareAll(cases)).toEqual([]);
  });
});
