/** Single-call and cross-step liveness, against hand-worked programs and the interpreter. */
import { describe, expect, it } from 'vitest';
import { analyzeLiveness, removeDeadCode } from '../../src/analysis/liveness.ts';
import { formatStatement } from '../../src/dsl/print.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { randomProgram } from '../../src/dsl/generate.ts';
import { Rng } from '../../src/util/rng.ts';
import { compareRuns, loadProgram } from './helpers.ts';

describe('liveness on the paper program (Program 4)', () => {
  const p = loadProgram('paper-discovered');
  const coshIndex = p.statements.findIndex((s) => s.op === 'cosh');

  it('single-call liveness keeps m = cosh(update): m is returned', () => {
    const lv = analyzeLiveness(p);
    expect(coshIndex).toBe(10);
    expect(lv.singleCall[coshIndex]).toBe(true);
    expect(lv.singleCall.every(Boolean)).toBe(true);
  });

  it('Program 4 is a fixpoint of single-call dead-code removal (the paper ran it)', () => {
    const { removed, program } = removeDeadCode(p, { crossStep: false });
    expect(removed).toEqual([]);
    expect(program.statements.length).toBe(p.statements.length);
  });

  it('cross-step liveness removes exactly m = cosh(update) and finds that only v is real state', () => {
    const lv = analyzeLiveness(p);
    expect(lv.liveSlots).toEqual([false, true]);
    expect(lv.crossStep.map((l, i) => (l ? null : formatStatement(p.statements[i]!))).filter(Boolean)).toEqual(['m = cosh(update)']);
    const { removed, program } = removeDeadCode(p);
    expect(removed).toEqual([coshIndex]);
    expect(program.statements.length).toBe(11);
  });

  it('removing it leaves the update sequence over 20 steps unchanged', () => {
    const { program } = removeDeadCode(p);
    for (const seed of [1, 2, 3]) {
      const c = compareRuns(p, program, { seed, steps: 20, slots: [false, true] });
      expect(c.patternMismatches).toBe(0);
      expect(c.worstRelative).toBe(0);
    }
  });
});

describe('liveness on small programs', () => {
  it('an unused statement is dead in both senses', () => {
    const p = parseProgram('def f(w, g, m, lr):\n  x = exp(g)\n  u = g * lr\n  return u, m\n');
    const lv = analyzeLiveness(p);
    expect(lv.singleCall).toEqual([false, true]);
    expect(lv.crossStep).toEqual([false, true]);
    expect(lv.liveSlots).toEqual([false]);
  });

  it('a slot read before it is overwritten is live', () => {
    const p = parseProgram('def f(w, g, m, lr):\n  u = m + g\n  m = g * 2.0\n  return u, m\n');
    const lv = analyzeLiveness(p);
    expect(lv.liveSlots).toEqual([true]);
    expect(lv.crossStep).toEqual([true, true]);
  });

  it('a slot overwritten before it is read is dead, with everything only it fed', () => {
    const p = parseProgram('def f(w, g, m, lr):\n  a = exp(g)\n  b = a * 3.0\n  m = g * 2.0\n  u = m + g\n  m = b + w\n  return u, m\n');
    const lv = analyzeLiveness(p);
    expect(lv.liveSlots).toEqual([false]);
    expect(lv.singleCall).toEqual([true, true, true, true, true]);
    expect(lv.crossStep).toEqual([false, false, true, true, false]);
  });

  it('reaches a fixpoint through a chain of slots: v is live only because m is', () => {
    // update reads m; m' is computed from v; v' from g. Liveness of v needs m to be found live first.
    const p = parseProgram('def f(w, g, m, v, s, lr):\n  u = sign(m)\n  m = v * 0.5\n  v = g * 2.0\n  s = exp(g)\n  return u, m, v, s\n');
    const lv = analyzeLiveness(p);
    expect(lv.liveSlots).toEqual([true, true, false]);
    expect(lv.crossStep).toEqual([true, true, true, false]);
  });

  it('slots returned swapped are followed through the swap', () => {
    const p = parseProgram('def f(w, g, m, v, lr):\n  u = m + g\n  return u, v, m\n');
    // m' = v and v' = m: m is read, so v (which becomes m) is live too.
    expect(analyzeLiveness(p).liveSlots).toEqual([true, true]);
  });
});

describe('removing dead code preserves the update sequence on random programs', () => {
  it('1,000 random programs, 8 steps, exact equality of update and live state', () => {
    const rng = new Rng(41);
    let removedSome = 0;
    for (let i = 0; i < 1000; i++) {
      const p = randomProgram(rng, { length: 1 + rng.int(30) });
      const { program, removed } = removeDeadCode(p);
      if (removed.length > 0) removedSome++;
      const c = compareRuns(p, program, { seed: i, steps: 8, slots: analyzeLiveness(p).liveSlots });
      expect(c.patternMismatches, c.where).toBe(0);
      expect(c.worstRelative, c.where).toBe(0);
    }
    expect(removedSome).toBeGreaterThan(300);
  });
});
