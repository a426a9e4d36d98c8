import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { structuralHash } from '../../src/analysis/hash.ts';
import type { Arg, Program, Statement } from '../../src/dsl/ast.ts';
import { checkProgram } from '../../src/dsl/check.ts';
import { randomProgram } from '../../src/dsl/generate.ts';
import { argAccepts, getOp, type Kind } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { formatArg, printProgram } from '../../src/dsl/print.ts';
import { MUTATION_KINDS, mutate, mutateConstant, MutationFailure } from '../../src/search/mutate.ts';
import { loadSearchSpace, MUTATION_KIND_NAMES, type MutationKind, type SearchSpace } from '../../src/search/space.ts';
import { Rng } from '../../src/util/rng.ts';

const REPO = resolve(import.meta.dirname, '../..');

// The search passes the structural hash (src/analysis/hash.ts): dead code, names and operand order do not count.
const hash = (p: Program): string => structuralHash(p);

/** Sees every change: for tests of a kind's outcome distribution, which a dead-code-blind hash reshapes. */
const exact = printProgram;

const laptop = loadSearchSpace('laptop');
const lionK = loadSearchSpace('lion-k');
const adamw = parseProgram(readFileSync(resolve(REPO, 'search-spaces/programs/adamw.prog'), 'utf8'));

/** A copy of a space with some fields replaced (spaces are frozen, so tests build new objects). */
function withSpace(space: SearchSpace, patch: Partial<{ weights: Partial<Record<MutationKind, number>>; length: { min: number; max: number }; multiplyProb: number; constants: SearchSpace['constants']['insert']; maxTries: number }>): SearchSpace {
  const weights = { insert: 0, delete: 0, modifyArgument: 0, modifyConstant: 0, ...(patch.weights ?? space.mutation.weights) };
  return {
    ...space,
    length: patch.length ?? space.length,
    mutation: { ...space.mutation, weights, maxTries: patch.maxTries ?? space.mutation.maxTries },
    constants: {
      mutation: { ...space.constants.mutation, multiplyProb: patch.multiplyProb ?? space.constants.mutation.multiplyProb },
      insert: patch.constants ?? space.constants.insert,
    },
  };
}

function only(space: SearchSpace, kind: MutationKind, extra: Parameters<typeof withSpace>[1] = {}): SearchSpace {
  return withSpace(space, { ...extra, weights: { [kind]: 1 } });
}

/** Kind of each variable in scope before statement `index` (computed here from the checker alone). */
function scopeBefore(p: Program, index: number): Map<string, Kind> {
  const r = checkProgram(p);
  const scope = new Map<string, Kind>();
  p.inputs.forEach((n, i) => scope.set(n, i === p.inputs.length - 1 ? 'scalar' : 'tensor'));
  for (let i = 0; i < index; i++) scope.set(p.statements[i]!.target, r.statementKinds[i]!);
  return scope;
}

function sameStatement(a: Statement, b: Statement): boolean {
  return a.target === b.target && a.op === b.op && a.args.length === b.args.length && a.args.every((x, i) => formatArg(x) === formatArg(b.args[i]!));
}

/** A plain assertion for hot loops (expect() per check would dominate the 100,000-child test). */
function must(condition: boolean, message: () => string): void {
  if (!condition) throw new Error(message());
}

/** The edit that turns parent into child, found by comparing statement lists. */
function diff(parent: Program, child: Program): { kind: 'insert' | 'delete' | 'modify'; index: number; arg?: number } {
  const a = parent.statements;
  const b = child.statements;
  const show = () => `\n${printProgram(parent)}->\n${printProgram(child)}`;
  let i = 0;
  while (i < Math.min(a.length, b.length) && sameStatement(a[i]!, b[i]!)) i++;
  if (b.length === a.length + 1) {
    must(b.slice(i + 1).every((s, k) => sameStatement(s, a[i + k]!)), () => `not one insertion${show()}`);
    return { kind: 'insert', index: i };
  }
  if (b.length === a.length - 1) {
    must(b.slice(i).every((s, k) => sameStatement(s, a[i + 1 + k]!)), () => `not one deletion${show()}`);
    return { kind: 'delete', index: i };
  }
  must(b.length === a.length && i < a.length, () => `not one edit${show()}`);
  const s = a[i]!;
  const t = b[i]!;
  must(t.target === s.target && t.op === s.op, () => `target or op changed${show()}`);
  const changed = s.args.map((x, k) => (formatArg(x) === formatArg(t.args[k]!) ? -1 : k)).filter((k) => k >= 0);
  must(changed.length === 1, () => `${changed.length} arguments changed${show()}`);
  must(a.slice(i + 1).every((x, k) => sameStatement(x, b[i + 1 + k]!)), () => `more than one statement changed${show()}`);
  return { kind: 'modify', index: i, arg: changed[0]! };
}

describe('mutation invariants over many random parents', () => {
  it('100,000 children: each type-checks, differs from its parent by hash, and is one edit of the kind reported', () => {
    const rng = new Rng(20260);
    const kinds: Record<string, number> = {};
    // Distinct children by hash: a generator stuck on a few outcomes would pass every per-child check.
    const distinct = new Set<string>();
    let parent: Program = adamw;
    let parentHash = hash(parent);
    let chain = 0;
    const start = performance.now();
    for (let n = 0; n < 100_000; n++) {
      const space = n % 2 === 0 ? laptop : lionK;
      if (chain >= 300) {
        // Half fresh random programs, half new chains from the warm start.
        const length = space.length.min + rng.int(Math.min(space.length.max, 25) - space.length.min + 1);
        parent = rng.next() < 0.5 ? randomProgram(rng, { length, ops: lionK.ops }) : space.warmStart.program;
        chain = 0;
        parentHash = hash(parent);
      }
      if (parent.statements.length > laptop.length.max) {
        parent = adamw;
        parentHash = hash(parent);
      }
      const { child, kind, detail, childHash } = mutate(parent, rng, space, hash, { parentHash });
      const where = () => `child ${n} (${kind}: ${detail})\n${printProgram(parent)}->\n${printProgram(child)}`;
      must(checkProgram(child).ok, () => `invalid ${where()}`);
      must(childHash !== parentHash, () => `same hash ${where()}`);
      // The reported hash is the child's (checked on a sample: recomputing doubles the test's cost).
      if (n % 97 === 0) must(hash(child) === childHash, () => `wrong childHash ${where()}`);
      must(child.inputs === parent.inputs || child.inputs.join() === parent.inputs.join(), () => `inputs changed ${where()}`);
      must(child.outputs.join() === parent.outputs.join(), () => `outputs changed ${where()}`);
      must(
        child.statements.length >= Math.min(space.length.min, parent.statements.length) &&
          child.statements.length <= Math.max(space.length.max, parent.statements.length),
        () => `length limits ${where()}`,
      );
      const d = diff(parent, child);
      if (kind === 'insert') {
        must(d.kind === 'insert' && space.ops.includes(child.statements[d.index]!.op as never), () => `bad insert ${where()}`);
        // The reported position reproduces the child (it may differ from d.index next to a twin statement).
        const at = Number(/^insert at (\d+): /.exec(detail)?.[1]) - 1;
        const statements = parent.statements.slice();
        statements.splice(at, 0, child.statements[at]!);
        must(printProgram({ ...parent, statements }) === printProgram(child), () => `insert detail ${where()}`);
      } else if (kind === 'delete') {
        const at = Number(/^delete statement (\d+): /.exec(detail)?.[1]) - 1;
        must(d.kind === 'delete', () => `bad delete ${where()}`);
        must(printProgram({ ...parent, statements: parent.statements.filter((_, k) => k !== at) }) === printProgram(child), () => `delete detail ${where()}`);
      } else {
        must(d.kind === 'modify', () => `bad modify ${where()}`);
        const before = parent.statements[d.index]!.args[d.arg!]!;
        const after = child.statements[d.index]!.args[d.arg!]!;
        if (kind === 'modifyConstant') {
          must(before.kind === 'num' && after.kind === 'num' && Number.isFinite(after.value) && after.value !== before.value, () => `not a new finite constant ${where()}`);
        } else {
          // The new argument is a constant where a Scalar fits, or a variable in scope there of a kind the op accepts.
          const expected = getOp(child.statements[d.index]!.op)!.args[d.arg!]!;
          if (after.kind === 'num') must(expected !== 'T' && before.kind === 'var', () => `constant where a Tensor is needed ${where()}`);
          else {
            const k = scopeBefore(parent, d.index).get(after.name);
            must(k !== undefined && argAccepts(expected, k), () => `argument out of scope or of the wrong kind ${where()}`);
          }
        }
      }
      kinds[kind] = (kinds[kind] ?? 0) + 1;
      distinct.add(childHash);
      parent = child;
      parentHash = childHash;
      chain++;
    }
    const seconds = (performance.now() - start) / 1000;
    console.log(`${distinct.size} distinct of 100,000 valid children (hash: structuralHash) in ${seconds.toFixed(1)} s; kinds ${JSON.stringify(kinds)}`);
    expect(distinct.size).toBeGreaterThan(50_000);
    for (const k of MUTATION_KIND_NAMES) expect(kinds[k]).toBeGreaterThan(5000);
  }, 120_000);

  it('the same seed gives the same children', () => {
    const run = (seed: number) => {
      const rng = new Rng(seed);
      let p = adamw;
      const out: string[] = [];
      for (let i = 0; i < 200; i++) {
        const m = mutate(p, rng, laptop, hash);
        out.push(`${m.kind} ${m.detail}`);
        p = m.child;
      }
      return out;
    };
    expect(run(5)).toEqual(run(5));
    expect(run(5)).not.toEqual(run(6));
  });
});

describe('insert', () => {
  it('covers every position and every op of the space, with fresh names that clash with nothing', () => {
    const space = only(laptop, 'insert', { constants: { kind: 'fixed', value: 1.0 } });
    const rng = new Rng(1);
    const positions = new Map<number, number>();
    const ops = new Set<string>();
    let fresh = 0;
    let reused = 0;
    const N = 6000;
    const parentNames = new Set([...adamw.inputs, ...adamw.statements.map((s) => s.target)]);
    for (let i = 0; i < N; i++) {
      const { child, kind } = mutate(adamw, rng, space, exact);
      expect(kind).toBe('insert');
      const d = diff(adamw, child);
      expect(d.kind).toBe('insert');
      positions.set(d.index, (positions.get(d.index) ?? 0) + 1);
      const s = child.statements[d.index]!;
      ops.add(s.op);
      // Every argument is in scope at that position (or a constant from the configured distribution).
      const scope = scopeBefore(adamw, d.index);
      for (const a of s.args) {
        if (a.kind === 'num') expect(a.value).toBe(1.0);
        else expect(scope.has(a.name)).toBe(true);
      }
      if (parentNames.has(s.target)) {
        reused++;
        // A name of the parent is only ever reused where it is already in scope (never a later one).
        expect(scope.has(s.target)).toBe(true);
      } else {
        fresh++;
        expect(s.target).toMatch(/^v\d+$/);
      }
    }
    // 10 positions (before each of 9 statements, and at the end), each near 1/10 of the draws.
    expect([...positions.keys()].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const c of positions.values()) expect(Math.abs(c / N - 0.1)).toBeLessThan(0.02);
    expect([...ops].sort()).toEqual([...laptop.ops].sort());
    expect(fresh).toBeGreaterThan(N * 0.5);
    expect(reused).toBeGreaterThan(N * 0.1);
  });

  it('stops at length.max: a full program is only ever shortened', () => {
    const space = withSpace(laptop, { weights: { insert: 5, delete: 1 }, length: { min: 1, max: adamw.statements.length } });
    const rng = new Rng(2);
    for (let i = 0; i < 300; i++) expect(mutate(adamw, rng, space, hash).kind).toBe('delete');
    expect(() => mutate(adamw, rng, only(space, 'insert'), hash)).toThrow(/no mutation kind with a positive weight applies/);
    expect(() => mutate(adamw, rng, only(space, 'insert'), hash)).toThrow(MutationFailure);
  });
});

describe('delete', () => {
  it('removes exactly the statements whose removal leaves a valid program with a new hash, each of them', () => {
    const rng = new Rng(3);
    const space = only(laptop, 'delete');
    const allowed = new Set<number>();
    adamw.statements.forEach((_, i) => {
      const child = { ...adamw, statements: adamw.statements.filter((__, k) => k !== i) };
      if (checkProgram(child).ok && hash(child) !== hash(adamw)) allowed.add(i);
    });
    // Removing `g2 = square(g)` or `wd = w * 0.01` leaves a use of an undefined name.
    expect(allowed.has(0)).toBe(false);
    expect(allowed.has(5)).toBe(false);
    expect(allowed.size).toBeGreaterThan(3);
    const seen = new Map<number, number>();
    const N = 3000;
    for (let i = 0; i < N; i++) {
      const d = diff(adamw, mutate(adamw, rng, space, hash).child);
      expect(d.kind).toBe('delete');
      seen.set(d.index, (seen.get(d.index) ?? 0) + 1);
    }
    expect(new Set(seen.keys())).toEqual(allowed);
    for (const c of seen.values()) expect(Math.abs(c / N - 1 / allowed.size)).toBeLessThan(0.04);
  });

  it('stops at length.min', () => {
    const space = withSpace(laptop, { weights: { delete: 5, modifyConstant: 1 }, length: { min: adamw.statements.length, max: 30 } });
    const rng = new Rng(4);
    for (let i = 0; i < 300; i++) expect(mutate(adamw, rng, space, hash).kind).toBe('modifyConstant');
  });
});

describe('modifyArgument', () => {
  it('every outcome is an in-scope variable of an accepted kind or a constant, and every valid one is seen', () => {
    const space = only(laptop, 'modifyArgument', { constants: { kind: 'fixed', value: 0.5 } });
    // Independent enumeration of the valid outcomes: (statement, argument, replacement).
    const allowed = new Set<string>();
    adamw.statements.forEach((s, i) => {
      const spec = getOp(s.op)!;
      const scope = scopeBefore(adamw, i);
      s.args.forEach((a, j) => {
        const options: Arg[] = [...scope].filter(([, k]) => argAccepts(spec.args[j]!, k)).map(([name]) => ({ kind: 'var', name }));
        if (spec.args[j] !== 'T' && a.kind === 'var') options.push({ kind: 'num', value: 0.5 });
        for (const o of options) {
          if (formatArg(o) === formatArg(a)) continue;
          const args = s.args.slice();
          args[j] = o;
          const statements = adamw.statements.slice();
          statements[i] = { ...s, args };
          const child = { ...adamw, statements };
          if (checkProgram(child).ok && hash(child) !== hash(adamw)) allowed.add(`${i}:${j}:${formatArg(o)}`);
        }
      });
    });
    expect(allowed.size).toBeGreaterThan(50);
    const rng = new Rng(5);
    const seen = new Set<string>();
    for (let n = 0; n < 30000; n++) {
      const { child } = mutate(adamw, rng, space, hash);
      const d = diff(adamw, child);
      expect(d.kind).toBe('modify');
      const key = `${d.index}:${d.arg}:${formatArg(child.statements[d.index]!.args[d.arg!]!)}`;
      expect(allowed.has(key)).toBe(true);
      seen.add(key);
    }
    expect(seen).toEqual(allowed);
  });
});

describe('modifyConstant', () => {
  const constantsOf = (p: Program) => p.statements.flatMap((s) => s.args.filter((a) => a.kind === 'num').map((a) => (a as { value: number }).value));

  function draws(multiplyProb: number, seed: number, n: number) {
    const space = only(laptop, 'modifyConstant', { multiplyProb });
    const rng = new Rng(seed);
    const out: { old: number; now: number; site: number; detail: string }[] = [];
    for (let i = 0; i < n; i++) {
      const { child, detail } = mutate(adamw, rng, space, hash);
      const d = diff(adamw, child);
      const old = adamw.statements[d.index]!.args[d.arg!] as { value: number };
      const now = child.statements[d.index]!.args[d.arg!] as { kind: string; value: number };
      expect(now.kind).toBe('num');
      out.push({ old: old.value, now: now.value, site: d.index, detail });
    }
    return out;
  }

  const meanStd = (xs: number[]) => {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1));
    return { mean, std };
  };

  it('with multiplyProb 1 the ratio is 2^a with a ~ N(0, 1), at every constant', () => {
    const out = draws(1, 6, 6000);
    expect(new Set(out.map((o) => o.old))).toEqual(new Set(constantsOf(adamw)));
    const logs = out.map((o) => Math.log2(o.now / o.old));
    const { mean, std } = meanStd(logs);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(std - 1)).toBeLessThan(0.05);
    expect(logs.filter((x) => Math.abs(x) < 1).length / logs.length).toBeGreaterThan(0.66);
    expect(logs.filter((x) => Math.abs(x) < 1).length / logs.length).toBeLessThan(0.71);
    for (const o of out) expect(o.detail).toMatch(/^constant \S+ -> \S+ in statement \d+ \(x 2\^-?[\d.]+\)$/);
  });

  it('with multiplyProb 0 the new value is N(0, 1), whatever the old one', () => {
    const out = draws(0, 7, 6000);
    const { mean, std } = meanStd(out.map((o) => o.now));
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(std - 1)).toBeLessThan(0.05);
    for (const o of out) expect(o.detail).toMatch(/\(replaced by N\(0,1\)\)$/);
  });

  it('with multiplyProb 0.3 about 30% of the changes are multiplications', () => {
    const out = draws(0.3, 8, 6000);
    const mult = out.filter((o) => o.detail.includes('x 2^'));
    expect(Math.abs(mult.length / out.length - 0.3)).toBeLessThan(0.025);
    // A multiplication keeps the sign; a replacement flips it about half the time (all AdamW constants are positive).
    for (const o of mult) expect(Math.sign(o.now)).toBe(Math.sign(o.old));
    const flipped = out.filter((o) => !o.detail.includes('x 2^') && o.now < 0).length / (out.length - mult.length);
    expect(Math.abs(flipped - 0.5)).toBeLessThan(0.04);
  });

  it('clamps to the configured bound and keeps the configured digits', () => {
    const m = { multiplyProb: 1, log2Std: 1, clamp: 1e10, digits: 4 };
    const rng = new Rng(9);
    let clamped = 0;
    for (let i = 0; i < 2000; i++) {
      const r = mutateConstant(9e9, rng, m);
      expect(Math.abs(r.value)).toBeLessThanOrEqual(1e10);
      if (r.value === 1e10) clamped++;
      expect(Number(r.value.toPrecision(4))).toBe(r.value);
    }
    expect(clamped).toBeGreaterThan(500);
  });
});

describe('kind choice and the hash guard', () => {
  it('kinds are drawn by weight when all of them apply', () => {
    const space = withSpace(laptop, { weights: { insert: 3, modifyConstant: 1 } });
    const rng = new Rng(10);
    let inserts = 0;
    const N = 8000;
    for (let i = 0; i < N; i++) if (mutate(adamw, rng, space, exact).kind === 'insert') inserts++;
    expect(Math.abs(inserts / N - 0.75)).toBeLessThan(0.02);
  });

  it('a change the hash does not see is never returned', () => {
    // A hash blind to constants: constant changes can never pass the guard.
    const blind = (p: Program) => printProgram(p).replace(/-?\d[\d.e+-]*/g, '#');
    const rng = new Rng(11);
    const space = withSpace(laptop, { weights: { insert: 1, modifyConstant: 1 } });
    for (let i = 0; i < 500; i++) expect(mutate(adamw, rng, space, blind).kind).toBe('insert');
    expect(() => mutate(adamw, rng, only(laptop, 'modifyConstant', { maxTries: 50 }), blind)).toThrow(/no valid child with a new hash after 50 attempts/);
    expect(() => mutate(adamw, rng, only(laptop, 'modifyConstant', { maxTries: 50 }), blind)).toThrow(MutationFailure);
  });

  it('refuses an invalid parent', () => {
    const bad = { ...adamw, outputs: ['nope', 'm', 'v'] };
    expect(() => mutate(bad, new Rng(1), laptop, hash)).toThrow(/parent program is invalid/);
    // An invalid parent is the caller's bug, not a parent without children: not a MutationFailure.
    let thrown: unknown;
    try {
      mutate(bad, new Rng(1), laptop, hash);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).not.toBeInstanceOf(MutationFailure);
  });

  it('MUTATION_KINDS has one handler per kind of the space format', () => {
    expect(Object.keys(MUTATION_KINDS).sort()).toEqual([...MUTATION_KIND_NAMES].sort());
  });
});

describe('neutral mutations (dead code kept as a stepping stone)', () => {
  it('without neutral every child has a new hash; with it, dead-code-only children come too, each with a new genome', () => {
    const rng = new Rng(21);
    const parentText = printProgram(adamw);
    const parentHash = hash(adamw);
    const neutralSpace = { ...laptop, mutation: { ...laptop.mutation, neutral: true } };
    let sameHash = 0;
    for (let i = 0; i < 400; i++) {
      const plain = mutate(adamw, rng, laptop, hash, { hashIgnoresDeadCode: true });
      expect(plain.childHash).not.toBe(parentHash);
      const m = mutate(adamw, rng, neutralSpace, hash, { hashIgnoresDeadCode: true, neutral: true });
      expect(printProgram(m.child)).not.toBe(parentText);
      expect(m.childHash).toBe(hash(m.child));
      if (m.childHash === parentHash) sameHash++;
    }
    // an insertion into a fresh variable is dead at birth: about a sixth of insertions are
    expect(sameHash).toBeGreaterThan(10);
    expect(sameHash).toBeLessThan(200);
  });

  it('a space turns it on with mutation.neutral, off by default', () => {
    expect(laptop.mutation.neutral).toBe(false);
  });
});
