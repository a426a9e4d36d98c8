import { describe, expect, it } from 'vitest';
import { programsEqual } from '../../src/dsl/ast.ts';
import { checkProgram, variableKinds } from '../../src/dsl/check.ts';
import { freshName, randomProgram, randomStatement, scopeOfInputs } from '../../src/dsl/generate.ts';
import { COPY_OP, OP_NAMES, type OpName } from '../../src/dsl/ops.ts';
import { Rng } from '../../src/util/rng.ts';

describe('randomProgram', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = randomProgram(new Rng(1), { length: 12 });
    const b = randomProgram(new Rng(1), { length: 12 });
    const c = randomProgram(new Rng(2), { length: 12 });
    expect(programsEqual(a, b)).toBe(true);
    expect(programsEqual(a, c)).toBe(false);
  });

  it('gives valid programs of the requested length and slots, with a Tensor update, and uses every op but copy', () => {
    const rng = new Rng(31);
    const used = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const slots = i % 3 === 0 ? ['m'] : ['m', 'v'];
      const length = rng.int(20);
      const p = randomProgram(rng, { length, slots });
      const r = checkProgram(p);
      expect(r.diagnostics).toEqual([]);
      expect(p.statements.length).toBe(length);
      expect(p.inputs).toEqual(['w', 'g', ...slots, 'lr']);
      expect(p.outputs.length).toBe(slots.length + 1);
      expect(variableKinds(p, r).get(p.outputs[0] as string)).toBe('tensor');
      for (const s of p.statements) used.add(s.op);
    }
    expect([...OP_NAMES].filter((n) => !used.has(n))).toEqual([COPY_OP]);
  });

  it('draws only from the ops it is given, and no constants when constantProb is 0', () => {
    const ops: OpName[] = ['add', 'interp', 'sign', 'global_norm'];
    const rng = new Rng(8);
    for (let i = 0; i < 200; i++) {
      const p = randomProgram(rng, { length: 10, ops, constantProb: 0 });
      for (const s of p.statements) {
        expect(ops).toContain(s.op);
        expect(s.args.every((a) => a.kind === 'var')).toBe(true);
      }
    }
  });

  it('uses the constant generator it is given', () => {
    const p = randomProgram(new Rng(4), { length: 30, constantProb: 1, constant: () => -0.125 });
    const constants = p.statements.flatMap((s) => s.args.filter((a) => a.kind === 'num').map((a) => (a.kind === 'num' ? a.value : 0)));
    expect(constants.length).toBeGreaterThan(5);
    expect(new Set(constants)).toEqual(new Set([-0.125]));
  });
});

describe('randomStatement and freshName', () => {
  it('randomStatement leaves the scope alone and its arguments come from it', () => {
    const rng = new Rng(12);
    const scope = scopeOfInputs(['w', 'g', 'm', 'lr']);
    const before = [...scope.entries()];
    for (let i = 0; i < 300; i++) {
      const s = randomStatement(rng, scope, {});
      for (const a of s.args) if (a.kind === 'var') expect(scope.has(a.name)).toBe(true);
    }
    expect([...scope.entries()]).toEqual(before);
  });

  it('freshName avoids names in scope and taken names', () => {
    const rng = new Rng(3);
    const scope = scopeOfInputs(['w', 'g', 'lr']);
    const taken = new Set(Array.from({ length: 990 }, (_, i) => `v${i}`));
    for (let i = 0; i < 100; i++) {
      const n = freshName(rng, scope, taken);
      expect(n).toMatch(/^v\d+$/);
      expect(taken.has(n) || scope.has(n)).toBe(false);
    }
  });
});
