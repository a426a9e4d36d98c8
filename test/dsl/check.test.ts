import { describe, expect, it } from 'vitest';
import { numArg, varArg, type Program } from '../../src/dsl/ast.ts';
import { assertValid, checkProgram, variableKinds } from '../../src/dsl/check.ts';
import { DIAGNOSTIC_CODES, DslError, formatDiagnostic, type Diagnostic, type DiagnosticCode } from '../../src/dsl/errors.ts';
import { randomProgram } from '../../src/dsl/generate.ts';
import { prepare, step } from '../../src/dsl/interpret.ts';
import { makeLayout, OP_NAMES } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { Rng } from '../../src/util/rng.ts';

/** Diagnostics of a source text: the parser's error, or else the checker's list. */
function diagnosticsOf(source: string): readonly Diagnostic[] {
  let p: Program;
  try {
    p = parseProgram(source);
  } catch (e) {
    if (e instanceof DslError) return e.diagnostics;
    throw e;
  }
  return checkProgram(p).diagnostics;
}

interface Example {
  readonly source: string;
  readonly message: string;
  readonly line: number;
  readonly col: number;
}

const EXAMPLES: Record<DiagnosticCode, Example> = {
  syntax: {
    source: 'def train(w, g, lr):\n  x = g +\n  return x\n',
    message: 'expected a variable or a number after the operator, found end of line',
    line: 2,
    col: 10,
  },
  'unknown-op': {
    source: 'def train(w, g, lr):\n  x = frobnicate(g)\n  return x\n',
    message: "unknown function 'frobnicate'",
    line: 2,
    col: 7,
  },
  'unknown-name': {
    source: 'def train(w, g, lr):\n  x = g + q\n  return x\n',
    message: "unknown name 'q' (not an input and not assigned before)",
    line: 2,
    col: 11,
  },
  arity: {
    source: 'def train(w, g, lr):\n  x = sign(g, g)\n  return x\n',
    message: "'sign' takes 1 argument, got 2",
    line: 2,
    col: 7,
  },
  'arg-kind': {
    source: 'def train(w, g, lr):\n  x = dot(g, lr)\n  return g\n',
    message: "argument 2 of 'dot' must be a Tensor, got a Scalar ('lr')",
    line: 2,
    col: 14,
  },
  'reassign-kind': {
    source: 'def train(w, g, lr):\n  lr = g * 2\n  return g\n',
    message: "'lr' is a Scalar and cannot be reassigned a Tensor",
    line: 2,
    col: 10,
  },
  'state-kind': {
    source: 'def train(w, g, m, lr):\n  u = sign(g)\n  s = lr * 2\n  return u, s\n',
    message: "state slot 'm' came in as a Tensor but 's' returned for it is a Scalar",
    line: 4,
    col: 13,
  },
  'output-count': {
    source: 'def train(w, g, m, v, lr):\n  u = sign(g)\n  return u, m\n',
    message: 'return must list the update and 2 state slots (update, m, v); got 2 values',
    line: 3,
    col: 3,
  },
  'missing-return': {
    source: 'def train(w, g, lr):\n  u = sign(g)\n\n# trailing comment\n',
    message: "missing 'return' at the end of 'train'",
    line: 3,
    col: 1,
  },
  'duplicate-input': {
    source: 'def train(w, g, g, lr):\n  u = sign(g)\n  return u, g\n',
    message: "input 'g' is listed twice",
    line: 1,
    col: 17,
  },
  signature: {
    source: 'def train(w, lr):\n  u = w * lr\n  return u\n',
    message: "'train' needs at least the inputs (w, g, lr); found 2",
    line: 1,
    col: 1,
  },
};

describe('diagnostics', () => {
  it('every diagnostic code has an example', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual([...DIAGNOSTIC_CODES].sort());
  });

  for (const code of DIAGNOSTIC_CODES) {
    it(`${code}: code, message, line and column`, () => {
      const ex = EXAMPLES[code];
      const diags = diagnosticsOf(ex.source);
      expect(diags.length, JSON.stringify(diags)).toBe(1);
      expect(diags[0]).toEqual({ code, message: ex.message, pos: { line: ex.line, col: ex.col } });
    });
  }

  it('missing-return from the checker for a program built without outputs', () => {
    const p: Program = { name: 'train', inputs: ['w', 'g', 'lr'], statements: [], outputs: [] };
    expect(checkProgram(p).diagnostics.map((d) => d.code)).toEqual(['missing-return']);
  });

  it('collects every problem once, in source order, and assertValid throws them all', () => {
    // a, b and c are rejected; their later uses are not reported again, an unrelated unknown name is
    const src = 'def train(w, g, m, lr):\n  a = nope(g)\n  b = g + zz\n  c = dot(lr, g)\n  d = a + b\n  return c, yy\n';
    const diags = diagnosticsOf(src);
    expect(diags.map((d) => [d.code, d.pos.line, d.pos.col])).toEqual([
      ['unknown-op', 2, 7],
      ['unknown-name', 3, 11],
      ['arg-kind', 4, 11],
      ['unknown-name', 6, 13],
    ]);
    try {
      assertValid(parseProgram(src));
      expect.fail('assertValid should throw');
    } catch (e) {
      expect(e).toBeInstanceOf(DslError);
      expect((e as DslError).diagnostics).toEqual(diags);
      expect((e as DslError).message).toBe("<program>:2:7: unknown function 'nope'");
    }
  });

  it('formatDiagnostic writes file:line:col: message', () => {
    const d: Diagnostic = { code: 'arity', message: 'x', pos: { line: 3, col: 9 } };
    expect(formatDiagnostic(d, 'a.prog')).toBe('a.prog:3:9: x');
    expect(formatDiagnostic(d)).toBe('<program>:3:9: x');
  });

  it('a long name is cut in the message so that it stays one short line', () => {
    const long = 'x'.repeat(5000);
    const diags = diagnosticsOf(`def train(w, g, lr):\n  u = g + ${long}\n  return u\n`);
    expect(diags[0]?.code).toBe('unknown-name');
    expect(diags[0]?.message.length).toBeLessThan(100);
  });

  it('the output-count message stays short with many or long slot names', () => {
    const slots = Array.from({ length: 40 }, (_, i) => `slot_${i}_${'s'.repeat(30)}`);
    const diags = diagnosticsOf(`def train(w, g, ${slots.join(', ')}, lr):\n  u = sign(g)\n  return u\n`);
    expect(diags.map((d) => d.message)).toEqual(['return must list the update and 40 state slots; got 1 value']);
  });

  it('positions fall back to the header when a program was built without them', () => {
    const p: Program = { name: 'train', inputs: ['w', 'g', 'lr'], statements: [{ target: 'u', op: 'nope', args: [varArg('g'), numArg(1)] }], outputs: ['u'] };
    expect(checkProgram(p).diagnostics[0]?.pos).toEqual({ line: 1, col: 1 });
  });
});

describe('kinds', () => {
  it('the last input is a Scalar, the others Tensors; results follow the op table', () => {
    const p = parseProgram(
      'def train(w, g, m, lr):\n  n = global_norm(g)\n  s = n * lr\n  t = g * s\n  c = clip(g, 1.0)\n  k = get_pi()\n  i = interp(n, k, 0.5)\n  return t, c\n',
    );
    const r = checkProgram(p);
    expect(r.ok).toBe(true);
    expect(r.statementKinds).toEqual(['scalar', 'scalar', 'tensor', 'tensor', 'scalar', 'scalar']);
    expect(Object.fromEntries(variableKinds(p, r))).toEqual({ w: 'tensor', g: 'tensor', m: 'tensor', lr: 'scalar', n: 'scalar', s: 'scalar', t: 'tensor', c: 'tensor', k: 'scalar', i: 'scalar' });
  });

  it("interp's weight must be a Scalar: a Tensor weight is rejected", () => {
    expect(diagnosticsOf('def train(w, g, m, lr):\n  m = interp(g, m, g)\n  return m, m\n').map((d) => d.code)).toEqual(['arg-kind']);
  });

  it('a Scalar update is allowed (it broadcasts), a Scalar state is not', () => {
    expect(diagnosticsOf('def train(w, g, m, lr):\n  u = lr * 2\n  return u, m\n')).toEqual([]);
  });

  it('a variable may be reassigned with the same kind, and an op name may be a variable name', () => {
    expect(diagnosticsOf('def train(w, g, lr):\n  sign = sign(g)\n  sign = sign * 2\n  return sign\n')).toEqual([]);
  });
});

describe('checked programs run', () => {
  it('on 3,000 randomly corrupted programs the checker never throws, and whatever it accepts the interpreter runs', () => {
    const layout = makeLayout([2, 3]);
    const rng = new Rng(555);
    let accepted = 0;
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const p = randomProgram(rng, { length: 1 + rng.int(8) });
      const statements = [...p.statements];
      const at = rng.int(statements.length);
      const s = statements[at]!;
      let outputs = [...p.outputs];
      switch (rng.int(5)) {
        case 0: // another op, same arguments
          statements[at] = { ...s, op: rng.pick(OP_NAMES) };
          break;
        case 1: // drop or add an argument
          statements[at] = { ...s, args: rng.next() < 0.5 ? s.args.slice(1) : [...s.args, varArg('g')] };
          break;
        case 2: // an argument becomes another name (maybe unknown, maybe of the other kind)
          statements[at] = { ...s, args: s.args.map((a) => (rng.next() < 0.5 ? varArg(rng.pick(['w', 'lr', 'nope', s.target])) : a)) };
          break;
        case 3: // a different return
          outputs = outputs.map((o) => (rng.next() < 0.3 ? rng.pick(['lr', 'w', 'zz', o]) : o)).slice(0, 1 + rng.int(outputs.length + 1));
          break;
        default: // a constant where a name was
          statements[at] = { ...s, args: s.args.map((a) => (rng.next() < 0.5 ? numArg(rng.normal()) : a)) };
      }
      const q: Program = { ...p, statements, outputs };
      const r = checkProgram(q);
      if (!r.ok) {
        rejected++;
        expect(r.diagnostics.length).toBeGreaterThan(0);
        continue;
      }
      accepted++;
      const out = step(prepare(q), { w: new Float64Array(5).fill(0.5), g: new Float64Array(5).fill(-0.25), state: [new Float64Array(5), new Float64Array(5)], lr: 1 }, layout);
      expect(out.state.length).toBe(2);
      for (const st of out.state) expect(st).toHaveLength(5);
      if (typeof out.update !== 'number') expect(out.update).toHaveLength(5);
    }
    expect(accepted).toBeGreaterThan(300);
    expect(rejected).toBeGreaterThan(300);
  });
});
