import { describe, expect, it } from 'vitest';
import { checkProgram } from '../../src/dsl/check.ts';
import { DslError } from '../../src/dsl/errors.ts';
import { randomProgram } from '../../src/dsl/generate.ts';
import { applyUpdate, prepare, runSteps, step } from '../../src/dsl/interpret.ts';
import { makeLayout } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { Rng } from '../../src/util/rng.ts';

const layout = makeLayout([3, 2]);
const gradient = (w: Float64Array, t: number): Float64Array => Float64Array.from(w, (x, i) => Math.sin(x * (i + 1)) + 0.1 * t);
const schedule = (t: number): number => Math.pow(0.8, t);

function sameBits(a: Float64Array, b: Float64Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

describe('runSteps', () => {
  it('k steps with a schedule equal k manual step() + applyUpdate calls, for random programs', () => {
    const rng = new Rng(2024);
    let moved = 0;
    for (let trial = 0; trial < 60; trial++) {
      const prog = randomProgram(rng, { length: 3 + rng.int(10) });
      const prep = prepare(prog);
      const w0 = Float64Array.from({ length: layout.total }, () => rng.normal());
      const k = 1 + rng.int(6);
      const seen: number[] = [];
      const run = runSteps(prep, { layout, w0, steps: k, gradient, schedule, onStep: (t) => seen.push(t) });
      let w: Float64Array = w0;
      let state = [new Float64Array(layout.total), new Float64Array(layout.total)] as readonly Float64Array[];
      for (let t = 0; t < k; t++) {
        const out = step(prep, { w, g: gradient(w, t), state, lr: schedule(t) }, layout);
        w = applyUpdate(w, out.update);
        state = out.state;
      }
      expect(sameBits(run.w, w), `trial ${trial}`).toBe(true);
      run.state.forEach((s, i) => expect(sameBits(s, state[i] as Float64Array)).toBe(true));
      expect(seen).toEqual(Array.from({ length: k }, (_, t) => t));
      if (!sameBits(run.w, w0)) moved++;
    }
    expect(moved).toBeGreaterThan(10);
  });

  it('accepts a Program as well as a PreparedProgram, and defaults the schedule to 1', () => {
    const prog = parseProgram('def train(w, g, m, lr):\n  m = interp(g, m, 0.5)\n  u = m * lr\n  return u, m\n');
    const w0 = Float64Array.from([1, 2, 3, 4, 5]);
    const grad = (): Float64Array => Float64Array.from([2, 2, 2, 2, 2]);
    const a = runSteps(prog, { layout, w0, steps: 2, gradient: grad });
    // m1 = 1, w1 = w0 - 1; m2 = 1.5, w2 = w0 - 2.5
    expect(Array.from(a.w)).toEqual([-1.5, -0.5, 0.5, 1.5, 2.5]);
    expect(Array.from(a.state[0] as Float64Array)).toEqual([1.5, 1.5, 1.5, 1.5, 1.5]);
  });

  it('starts the state at zero and never mutates its inputs', () => {
    const prog = parseProgram('def train(w, g, m, v, lr):\n  m = m + g\n  v = v - g\n  return m, m, v\n');
    const prep = prepare(prog);
    const w = Float64Array.from([1, 1, 1, 1, 1]);
    const g = Float64Array.from([1, 2, 3, 4, 5]);
    const m = new Float64Array(5).fill(10);
    const v = new Float64Array(5);
    const out = step(prep, { w, g, state: [m, v], lr: 1 }, layout);
    expect(Array.from(out.state[0] as Float64Array)).toEqual([11, 12, 13, 14, 15]);
    expect(Array.from(m)).toEqual([10, 10, 10, 10, 10]);
    expect(Array.from(v)).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(w)).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('step', () => {
  const prog = prepare(parseProgram('def train(w, g, m, lr):\n  u = g * lr\n  return u, m\n'));

  it('a Scalar update broadcasts over every weight', () => {
    const p = prepare(parseProgram('def train(w, g, lr):\n  u = lr * 2\n  return u\n'));
    const out = step(p, { w: new Float64Array(5), g: new Float64Array(5), state: [], lr: 0.25 }, layout);
    expect(out.update).toBe(0.5);
    expect(Array.from(applyUpdate(Float64Array.from([1, 2, 3, 4, 5]), out.update))).toEqual([0.5, 1.5, 2.5, 3.5, 4.5]);
  });

  it('rejects a wrong number of state slots', () => {
    expect(() => step(prog, { w: new Float64Array(5), g: new Float64Array(5), state: [], lr: 1 }, layout)).toThrow(/1 state slots, got 0/);
  });

  it('rejects arrays whose length differs from the layout instead of producing NaN', () => {
    const ok = new Float64Array(5);
    expect(() => step(prog, { w: new Float64Array(4), g: ok, state: [ok], lr: 1 }, layout)).toThrow(/w has 4 elements, the layout has 5/);
    expect(() => step(prog, { w: ok, g: new Float64Array(6), state: [ok], lr: 1 }, layout)).toThrow(/g has 6 elements/);
    expect(() => step(prog, { w: ok, g: ok, state: [new Float64Array(2)], lr: 1 }, layout)).toThrow(/state slot 1 has 2 elements/);
  });

  it('prepare rejects an invalid program with a DslError', () => {
    expect(() => prepare(parseProgram('def train(w, g, lr):\n  u = nope(g)\n  return u\n'))).toThrow(DslError);
  });

  it('a variable reassigned later is read with its value at that point', () => {
    const p = prepare(parseProgram('def train(w, g, lr):\n  a = g + 1\n  b = a * 2\n  a = b * 10\n  u = a - b\n  return u\n'));
    const out = step(p, { w: new Float64Array(5), g: Float64Array.from([0, 1, 2, 3, 4]), state: [], lr: 1 }, layout);
    // a = g+1, b = 2(g+1), a = 20(g+1), u = 18(g+1)
    expect(Array.from(out.update as Float64Array)).toEqual([18, 36, 54, 72, 90]);
  });
});

describe('the checker and the interpreter agree', () => {
  it("every statement's checked kind is the kind of the value the interpreter computes for it (300 random programs)", () => {
    const rng = new Rng(77);
    let compared = 0;
    for (let trial = 0; trial < 300; trial++) {
      const prog = randomProgram(rng, { length: 1 + rng.int(12) });
      const kinds = checkProgram(prog).statementKinds;
      prog.statements.forEach((s, i) => {
        // the program cut after statement i, returning its target as the update
        const cut = { ...prog, statements: prog.statements.slice(0, i + 1), outputs: [s.target, 'm', 'v'] };
        const w = Float64Array.from({ length: layout.total }, () => rng.normal());
        const out = step(prepare(cut), { w, g: gradient(w, 0), state: [new Float64Array(layout.total), new Float64Array(layout.total)], lr: 0.5 }, layout);
        expect(typeof out.update === 'number' ? 'scalar' : 'tensor', `${s.target} = ${s.op}(...)`).toBe(kinds[i]);
        compared++;
      });
    }
    expect(compared).toBeGreaterThan(1000);
  });
});
