/**
 * Structural hash: invariant under renaming, dead code, commutative operand order and the order
 * of independent statements; sensitive to any change of op, constant or wiring in live code.
 */
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/analysis/fingerprint.ts';
import { structuralHash } from '../../src/analysis/hash.ts';
import { simplify } from '../../src/analysis/simplify.ts';
import type { Arg, Program, Statement } from '../../src/dsl/ast.ts';
import { checkProgram } from '../../src/dsl/check.ts';
import { argKindsOf, randomProgram, randomStatement, scopeOfInputs } from '../../src/dsl/generate.ts';
import { getOp, OPS, resultKind, type Kind, type OpSpec } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { Rng } from '../../src/util/rng.ts';
import { loadProgram, programText } from './helpers.ts';

function rename(p: Program, rng: Rng): Program {
  const inputs = new Set(p.inputs);
  const map = new Map<string, string>();
  for (const s of p.statements) if (!inputs.has(s.target) && !map.has(s.target)) map.set(s.target, `r${rng.int(1e6)}_${map.size}`);
  const n = (x: string): string => map.get(x) ?? x;
  return {
    ...p,
    statements: p.statements.map((s) => ({ target: n(s.target), op: s.op, args: s.args.map((a) => (a.kind === 'var' ? { kind: 'var', name: n(a.name) } : a)) })),
    outputs: p.outputs.map(n),
  };
}

function scopeBefore(p: Program, index: number): Map<string, Kind> {
  const scope = scopeOfInputs(p.inputs);
  for (const s of p.statements.slice(0, index)) scope.set(s.target, resultKind(getOp(s.op) as OpSpec, argKindsOf(s.args, scope)));
  return scope;
}

function insertDead(p: Program, rng: Rng): Program {
  const at = rng.int(p.statements.length + 1);
  const scope = scopeBefore(p, at);
  const taken = new Set([...p.inputs, ...p.statements.map((s) => s.target)]);
  const s = randomStatement(rng, scope, { reuseProb: 0, taken });
  const statements = [...p.statements];
  statements.splice(at, 0, s);
  return { ...p, statements };
}

function swapCommutative(p: Program): Program {
  return { ...p, statements: p.statements.map((s) => (getOp(s.op)?.commutative && s.args.length === 2 ? { ...s, args: [s.args[1]!, s.args[0]!] } : s)) };
}

const reads = (s: Statement, name: string): boolean => s.args.some((a) => a.kind === 'var' && a.name === name);

/** Swaps every adjacent pair that is independent (scanning left to right, no overlaps). */
function reorderIndependent(p: Program): { program: Program; swaps: number } {
  const st = [...p.statements];
  let swaps = 0;
  for (let i = 0; i + 1 < st.length; i++) {
    const a = st[i]!;
    const b = st[i + 1]!;
    if (a.target !== b.target && !reads(b, a.target) && !reads(a, b.target)) {
      st[i] = b;
      st[i + 1] = a;
      swaps++;
      i++;
    }
  }
  return { program: { ...p, statements: st }, swaps };
}

describe('structural hash invariance on 500 random programs', () => {
  const rng = new Rng(77);
  const programs = Array.from({ length: 500 }, () => randomProgram(rng, { length: 1 + rng.int(30) }));

  it('renaming variables', () => {
    for (const p of programs) expect(structuralHash(rename(p, rng))).toBe(structuralHash(p));
  });

  it('inserting dead statements (one, or three)', () => {
    for (const p of programs) {
      const one = insertDead(p, rng);
      expect(checkProgram(one).ok).toBe(true);
      expect(structuralHash(one)).toBe(structuralHash(p));
      expect(structuralHash(insertDead(insertDead(one, rng), rng))).toBe(structuralHash(p));
    }
  });

  it('swapping operands of commutative ops', () => {
    let swapped = 0;
    for (const p of programs) {
      const q = swapCommutative(p);
      if (q.statements.some((s, i) => s !== p.statements[i])) swapped++;
      expect(structuralHash(q)).toBe(structuralHash(p));
    }
    expect(swapped).toBeGreaterThan(200);
  });

  it('reordering independent statements', () => {
    let reordered = 0;
    for (const p of programs) {
      const { program, swaps } = reorderIndependent(p);
      if (swaps > 0) reordered++;
      expect(checkProgram(program).ok).toBe(true);
      expect(structuralHash(program)).toBe(structuralHash(p));
    }
    expect(reordered).toBeGreaterThan(300);
  });

  it('all four at once', () => {
    for (const p of programs) {
      const q = rename(reorderIndependent(swapCommutative(insertDead(p, rng))).program, rng);
      expect(structuralHash(q)).toBe(structuralHash(p));
    }
  });
});

describe('structural hash sensitivity on the simplified forms of 500 random programs', () => {
  const rng = new Rng(78);
  const bases = Array.from({ length: 500 }, () => simplify(randomProgram(rng, { length: 5 + rng.int(26) }), { trace: false }).program).filter(
    (s) => s.statements.length > 0,
  );

  const mutations: Record<string, (p: Program) => Program | undefined> = {
    constant(p) {
      const idx = p.statements.map((s, i) => (s.args.some((a) => a.kind === 'num') ? i : -1)).filter((i) => i >= 0);
      if (idx.length === 0) return undefined;
      const i = rng.pick(idx);
      const s = p.statements[i]!;
      const j = rng.pick(s.args.map((a, k) => (a.kind === 'num' ? k : -1)).filter((k) => k >= 0));
      const old = (s.args[j] as { value: number }).value;
      let value = old;
      while (value === old) value = Number((old * Math.pow(2, rng.normal())).toPrecision(8));
      const args = s.args.map((a, k) => (k === j ? { kind: 'num' as const, value } : a));
      return { ...p, statements: p.statements.map((t, k) => (k === i ? { ...t, args } : t)) };
    },
    op(p) {
      const i = rng.int(p.statements.length);
      const s = p.statements[i]!;
      const spec = getOp(s.op) as OpSpec;
      const same = (OPS as readonly OpSpec[]).filter((o) => o.name !== s.op && o.result === spec.result && o.args.join() === spec.args.join());
      if (same.length === 0) return undefined;
      return { ...p, statements: p.statements.map((t, k) => (k === i ? { ...t, op: rng.pick(same).name } : t)) };
    },
    argument(p) {
      const i = rng.int(p.statements.length);
      const s = p.statements[i]!;
      const vars = s.args.map((a, k) => (a.kind === 'var' ? k : -1)).filter((k) => k >= 0);
      if (vars.length === 0) return undefined;
      const j = rng.pick(vars);
      const scope = scopeBefore(p, i);
      const current = (s.args[j] as { name: string }).name;
      const kind = scope.get(current);
      const others = [...scope.keys()].filter((n) => n !== current && scope.get(n) === kind);
      if (others.length === 0) return undefined;
      const args: Arg[] = s.args.map((a, k) => (k === j ? { kind: 'var', name: rng.pick(others) } : a));
      return { ...p, statements: p.statements.map((t, k) => (k === i ? { ...t, args } : t)) };
    },
  };

  it.each(Object.keys(mutations).map((k) => [k]))('changing one %s: the hash changes whenever behaviour does, and almost always', (kind) => {
    let tried = 0;
    let changed = 0;
    for (const base of bases) {
      const q = mutations[kind]!(base);
      if (!q || !checkProgram(q).ok) continue;
      tried++;
      const differs = structuralHash(q) !== structuralHash(base);
      if (differs) changed++;
      else expect(fingerprint(q), `equal hashes must mean equal behaviour`).toBe(fingerprint(base));
    }
    expect(tried).toBeGreaterThan(200);
    expect(changed / tried).toBeGreaterThan(0.9);
  });
});

describe('structural hash by hand', () => {
  const lion = loadProgram('lion');

  it('is 16 hex digits and stable', () => {
    expect(structuralHash(lion)).toMatch(/^[0-9a-f]{16}$/);
    expect(structuralHash(lion)).toBe(structuralHash(parseProgram(programText('lion'))));
  });

  it('ignores the names of inputs (position is what counts)', () => {
    const renamed = parseProgram(programText('lion').replace(/\bm\b/g, 'mom').replace(/\bg\b/g, 'grad').replace(/\blr\b/g, 'eta'));
    expect(structuralHash(renamed)).toBe(structuralHash(lion));
  });

  it('x + x and 2 * x hash the same; interp argument order does not', () => {
    const a = parseProgram('def f(w, g, m, lr):\n  u = g + g\n  return u, m\n');
    const b = parseProgram('def f(w, g, m, lr):\n  u = 2.0 * g\n  return u, m\n');
    expect(structuralHash(a)).toBe(structuralHash(b));
    const c = parseProgram('def f(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  u = sign(m)\n  return u, m\n');
    const d = parseProgram('def f(w, g, m, lr):\n  m = interp(m, g, 0.9)\n  u = sign(m)\n  return u, m\n');
    expect(structuralHash(c)).not.toBe(structuralHash(d));
  });

  it('Lion and signum differ; Program 4 with and without m = cosh(update) agree', () => {
    expect(structuralHash(lion)).not.toBe(structuralHash(loadProgram('signum')));
    const paper = programText('paper-discovered');
    const withoutCosh = paper.replace('  m = cosh(update)\n', '');
    expect(structuralHash(parseProgram(withoutCosh))).toBe(structuralHash(parseProgram(paper)));
  });

  it('the number of state slots is part of the hash', () => {
    const a = parseProgram('def f(w, g, m, lr):\n  u = sign(g)\n  return u, m\n');
    const b = parseProgram('def f(w, g, m, v, lr):\n  u = sign(g)\n  return u, m, v\n');
    expect(structuralHash(a)).not.toBe(structuralHash(b));
  });
});
