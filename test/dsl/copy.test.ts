/**
 * Constant assignments (`eps = 1e-8`) and copies (`m_prev = m`): the op `copy`, read and printed as
 * a bare operand. Parser, printer, checker and interpreter, then the invariant that the analyses see
 * through copies (hash, fingerprint and canonical form of a program with copies added are those of
 * the program without), then generation, mutation and the search-space loader.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/analysis/fingerprint.ts';
import { structuralHash } from '../../src/analysis/hash.ts';
import { removeDeadCode } from '../../src/analysis/liveness.ts';
import { analyze } from '../../src/analysis/simplify.ts';
import { programsEqual, type Arg, type Program, type Statement } from '../../src/dsl/ast.ts';
import { checkProgram } from '../../src/dsl/check.ts';
import { DslError } from '../../src/dsl/errors.ts';
import { randomProgram, randomStatement } from '../../src/dsl/generate.ts';
import { prepare, step } from '../../src/dsl/interpret.ts';
import { COPY_OP, makeLayout, type Value } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { printProgram } from '../../src/dsl/print.ts';
import { mutate } from '../../src/search/mutate.ts';
import { loadSearchSpace } from '../../src/search/space.ts';
import { Rng } from '../../src/util/rng.ts';

const REPO = resolve(import.meta.dirname, '../..');
const ADAMW_TEXT = readFileSync(join(REPO, 'search-spaces/programs/adamw.prog'), 'utf8');

/** Adam as Python code writes it: a named epsilon, beta constants and a saved first moment. */
const NAMED_ADAM = `def train(w, g, m, v, lr):
  eps = 1e-8
  beta1 = 0.9
  beta2 = 0.999
  m_prev = m
  m = interp(g, m, beta1)
  g2 = g * g
  v = interp(g2, v, beta2)
  s = sqrt(v)
  s = s + eps
  update = m / s
  drift = m - m_prev
  lr = lr * 0.001
  update = update * lr
  return update, m, v
`;

/** The same rule with every name replaced by its value, written by hand. */
const INLINE_ADAM = `def train(w, g, m, v, lr):
  m2 = interp(g, m, 0.9)
  g2 = g * g
  v = interp(g2, v, 0.999)
  s = sqrt(v)
  s = s + 1e-8
  update = m2 / s
  lr = lr * 0.001
  update = update * lr
  return update, m2, v
`;

const HEADER = 'def train(w, g, m, v, lr):\n';

function diagnosticsOf(text: string) {
  return checkProgram(parseProgram(text)).diagnostics.map((d) => ({ code: d.code, message: d.message, line: d.pos.line, col: d.pos.col }));
}

describe('parser and printer', () => {
  it('read `name = number` and `name = name` as copy statements, with positions', () => {
    const p = parseProgram(HEADER + '  eps = 1e-8\n  neg = -0.5\n  m_prev = m\n  return m_prev, m, v\n');
    expect(p.statements.map((s) => [s.target, s.op, s.args.map((a) => (a.kind === 'num' ? a.value : a.name))])).toEqual([
      ['eps', COPY_OP, [1e-8]],
      ['neg', COPY_OP, [-0.5]],
      ['m_prev', COPY_OP, ['m']],
    ]);
    expect(p.statements.map((s) => s.pos)).toEqual([
      { line: 2, col: 9 },
      { line: 3, col: 9 },
      { line: 4, col: 12 },
    ]);
  });

  it('print a copy as a bare operand, and read the print back as the same program', () => {
    const p = parseProgram(NAMED_ADAM);
    const text = printProgram(p);
    expect(text.split('\n').slice(1, 6)).toEqual(['  eps = 1e-8', '  beta1 = 0.9', '  beta2 = 0.999', '  m_prev = m', '  m = interp(g, m, beta1)']);
    expect(programsEqual(parseProgram(text), p)).toBe(true);
    expect(printProgram(parseProgram(text))).toBe(text);
    // The call form means the same and prints as the short form.
    expect(printProgram(parseProgram(HEADER + '  x = copy(g)\n  return x, m, v\n'))).toBe(HEADER + '  x = g\n  return x, m, v\n');
  });

  it('still refuses what is really wrong, with line and column', () => {
    const cases: [string, number, string][] = [
      ['  x = g m\n', 9, "expected a binary operator (+ - * /) or the end of the line, found 'm'"],
      ['  x = -g\n', 7, "expected a function call, a variable or a number, found '-'"],
      ['  x =\n', 6, 'expected a function call, a variable or a number, found end of line'],
      ['  x = 1e\n', 7, "malformed number '1e': the exponent has no digits"],
      ['  x = return\n', 7, "'return' is a keyword, expected a function call, a variable or a number"],
    ];
    for (const [line, col, message] of cases) {
      let error: unknown;
      try {
        parseProgram(HEADER + line + '  return g, m, v\n');
      } catch (e) {
        error = e;
      }
      expect(error, line).toBeInstanceOf(DslError);
      expect((error as DslError).diagnostics[0]).toEqual({ code: 'syntax', message, pos: { line: 2, col } });
    }
  });
});

describe('checker', () => {
  it('gives a constant the Scalar kind and a copy the kind of its source', () => {
    const p = parseProgram(HEADER + '  eps = 1e-8\n  k = lr\n  t = g\n  t2 = t\n  return t2, m, v\n');
    const r = checkProgram(p);
    expect(r.diagnostics).toEqual([]);
    expect(r.statementKinds).toEqual(['scalar', 'scalar', 'tensor', 'tensor']);
  });

  it('reports a copy of the other kind, an unknown source and a Scalar state as the usual errors', () => {
    expect(diagnosticsOf(HEADER + '  g = 0.5\n  return g, m, v\n')).toEqual([
      { code: 'reassign-kind', message: "'g' is a Tensor and cannot be reassigned a Scalar", line: 2, col: 7 },
    ]);
    expect(diagnosticsOf(HEADER + '  x = q\n  return x, m, v\n')).toEqual([
      { code: 'unknown-name', message: "unknown name 'q' (not an input and not assigned before)", line: 2, col: 7 },
    ]);
    expect(diagnosticsOf(HEADER + '  eps = 1e-8\n  return g, eps, v\n')[0]).toMatchObject({ code: 'state-kind', message: "state slot 'm' came in as a Tensor but 'eps' returned for it is a Scalar" });
  });
});

describe('interpreter', () => {
  const layout = makeLayout([3, 2]);
  const vector = (rng: Rng) => Float64Array.from({ length: layout.total }, () => rng.normal());

  it('a copy keeps the value its source had at that line', () => {
    const p = parseProgram(HEADER + '  m_prev = m\n  m = m * 2\n  d = m - m_prev\n  return d, m, v\n');
    const m = Float64Array.from([1, -2, 0.5, 3, 0]);
    const out = step(prepare(p), { w: new Float64Array(5), g: new Float64Array(5), state: [m, new Float64Array(5)], lr: 1 }, makeLayout([5]));
    // d = 2m - m = m
    expect(Array.from(out.update as Float64Array)).toEqual([1, -2, 0.5, 3, 0]);
    expect(Array.from(out.state[0]!)).toEqual([2, -4, 1, 6, 0]);
  });

  it('Adam with named constants computes what the hand-inlined Adam computes, bit for bit, over 20 steps', () => {
    const named = prepare(parseProgram(NAMED_ADAM));
    const inline = prepare(parseProgram(INLINE_ADAM));
    const rng = new Rng(3);
    let a: Float64Array[] = [new Float64Array(layout.total), new Float64Array(layout.total)];
    let b = a;
    for (let t = 0; t < 20; t++) {
      const input = { w: vector(rng), g: vector(rng), lr: 0.5 + rng.next() };
      const x = step(named, { ...input, state: a }, layout);
      const y = step(inline, { ...input, state: b }, layout);
      expect(Array.from(x.update as Float64Array)).toEqual(Array.from(y.update as Float64Array));
      expect(x.state.map((s) => Array.from(s))).toEqual(y.state.map((s) => Array.from(s)));
      a = [...x.state];
      b = [...y.state];
    }
  });
});

/**
 * The program with copies added that change nothing: an argument of a statement is moved into a
 * fresh name assigned just before it (a variable copied, a constant named). The fresh names are
 * new, so no other reading changes.
 */
function withCopies(p: Program, rng: Rng, count: number): Program {
  let statements: Statement[] = [...p.statements];
  let fresh = 0;
  for (let k = 0; k < count; k++) {
    const candidates = statements.map((s, i) => [s, i] as const).filter(([s]) => s.op !== COPY_OP && s.args.length > 0);
    if (candidates.length === 0) break;
    const [s, i] = rng.pick(candidates);
    const j = rng.int(s.args.length);
    const name = `copy_${fresh++}`;
    const args: Arg[] = s.args.slice();
    const copied = args[j]!;
    args[j] = { kind: 'var', name };
    statements = [...statements.slice(0, i), { target: name, op: COPY_OP, args: [copied] }, { ...s, args }, ...statements.slice(i + 1)];
  }
  return { name: p.name, inputs: p.inputs, statements, outputs: p.outputs };
}

function outputsOf(p: Program, seed: number): number[] {
  const layout = makeLayout([3, 2]);
  const rng = new Rng(seed);
  const v = () => Float64Array.from({ length: layout.total }, () => rng.normal());
  const slots = p.inputs.length - 3;
  const out = step(prepare(p), { w: v(), g: v(), state: Array.from({ length: slots }, v), lr: 0.7 }, layout);
  const flat = (x: Value) => (typeof x === 'number' ? [x] : Array.from(x));
  return [...flat(out.update), ...out.state.flatMap(flat)];
}

describe('the analyses see through copies', () => {
  it('named Adam and inline Adam: same structural hash, fingerprint and canonical form', () => {
    const named = parseProgram(NAMED_ADAM);
    const inline = parseProgram(INLINE_ADAM);
    expect(structuralHash(named)).toBe(structuralHash(inline));
    expect(fingerprint(named)).toBe(fingerprint(inline));
    expect(printProgram(analyze(named).program)).toBe(printProgram(analyze(inline).program));
    expect(analyze(named).program.statements.some((s) => s.op === COPY_OP)).toBe(false);
    // The unused copy and the unused `drift` are dead code.
    const { removed } = removeDeadCode(named);
    expect(removed.map((i) => named.statements[i]!.target)).toEqual(['m_prev', 'drift']);
  });

  it('400 random programs with 1 to 6 copies added: hash, fingerprint, canonical text and outputs unchanged', () => {
    const rng = new Rng(77);
    let withSomeCopy = 0;
    for (let n = 0; n < 400; n++) {
      const p = randomProgram(rng, { length: 1 + rng.int(14), slots: n % 2 === 0 ? ['m', 'v'] : ['m'] });
      const q = withCopies(p, rng, 1 + rng.int(6));
      const where = `\n${printProgram(p)}->\n${printProgram(q)}`;
      expect(checkProgram(q).ok, where).toBe(true);
      if (q.statements.length > p.statements.length) withSomeCopy++;
      expect(programsEqual(parseProgram(printProgram(q)), q), where).toBe(true);
      expect(structuralHash(q), where).toBe(structuralHash(p));
      expect(fingerprint(q), where).toBe(fingerprint(p));
      expect(printProgram(analyze(q).program), where).toBe(printProgram(analyze(p).program));
      expect(outputsOf(q, n), where).toEqual(outputsOf(p, n));
    }
    expect(withSomeCopy).toBeGreaterThan(380);
  });

  it('a copy that changes the dataflow changes the hash', () => {
    // `x = m` then reading x after m changes is the old m: not the same program as reading m.
    const saved = parseProgram(HEADER + '  x = m\n  m = interp(g, m, 0.9)\n  u = sign(x)\n  return u, m, v\n');
    const fresh = parseProgram(HEADER + '  m = interp(g, m, 0.9)\n  u = sign(m)\n  return u, m, v\n');
    expect(structuralHash(saved)).not.toBe(structuralHash(fresh));
    expect(fingerprint(saved)).not.toBe(fingerprint(fresh));
  });
});

describe('generation and mutation', () => {
  const laptop = loadSearchSpace('laptop');

  it('random programs and statements draw copy only when asked to', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 300; i++) expect(randomProgram(rng, { length: 12 }).statements.some((s) => s.op === COPY_OP)).toBe(false);
    const scope = new Map([['g', 'tensor' as const], ['lr', 'scalar' as const]]);
    const drawn = Array.from({ length: 200 }, () => randomStatement(rng, scope, { ops: [COPY_OP, 'sign'] }));
    const copies = drawn.filter((s) => s.op === COPY_OP);
    expect(copies.length).toBeGreaterThan(50);
    for (const s of copies) expect(s.args).toHaveLength(1);
  });

  it('mutating Adam with named constants: 3,000 children in a chain, each valid, one edit and a new hash', () => {
    const rng = new Rng(12);
    let parent = parseProgram(NAMED_ADAM);
    let parentHash = structuralHash(parent);
    let copiesSeen = 0;
    for (let n = 0; n < 3000; n++) {
      const m = mutate(parent, rng, laptop, structuralHash, { parentHash, hashIgnoresDeadCode: true });
      expect(checkProgram(m.child).ok).toBe(true);
      expect(m.childHash).not.toBe(parentHash);
      expect(Math.abs(m.child.statements.length - parent.statements.length)).toBeLessThanOrEqual(1);
      if (m.child.statements.some((s) => s.op === COPY_OP)) copiesSeen++;
      parent = n % 500 === 499 ? parseProgram(NAMED_ADAM) : m.child;
      parentHash = structuralHash(parent);
    }
    // The copies are part of the genome: they stay in most children (only deletion removes them).
    expect(copiesSeen).toBeGreaterThan(1500);
  });
});

describe('search spaces', () => {
  const dir = mkdtempSync(join(tmpdir(), 'optsearch-copy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('Adam written with a named epsilon loads as a warm start, with the hash of the same rule written inline', () => {
    const space = JSON.parse(readFileSync(join(REPO, 'search-spaces/laptop.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'adam-eps.prog'), NAMED_ADAM);
    writeFileSync(join(dir, 'space.json'), JSON.stringify({ ...space, warmStart: 'adam-eps.prog' }));
    const loaded = loadSearchSpace(join(dir, 'space.json'));
    expect(loaded.ops).not.toContain(COPY_OP);
    expect(printProgram(loaded.warmStart.program)).toBe(printProgram(parseProgram(NAMED_ADAM)));
    expect(structuralHash(loaded.warmStart.program)).toBe(structuralHash(parseProgram(INLINE_ADAM)));
    // A warm start still may not use an op that the space leaves out.
    writeFileSync(join(dir, 'tan.prog'), NAMED_ADAM.replace('  s = sqrt(v)\n', '  s = tan(v)\n'));
    writeFileSync(join(dir, 'space-tan.json'), JSON.stringify({ ...space, warmStart: 'tan.prog' }));
    expect(() => loadSearchSpace(join(dir, 'space-tan.json'))).toThrow(/program uses 'tan', which is not in ops/);
  });

  it('the shipped AdamW and its named-constant form are one program to the search', () => {
    expect(structuralHash(parseProgram(ADAMW_TEXT))).toBe(
      structuralHash(parseProgram(ADAMW_TEXT.replace('  wd = w * 0.01\n', '  decay = 0.01\n  wd = w * decay\n'))),
    );
  });
});
