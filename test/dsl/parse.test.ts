import { describe, expect, it } from 'vitest';
import { DslError } from '../../src/dsl/errors.ts';
import { randomProgram } from '../../src/dsl/generate.ts';
import { MAX_CALL_ARGS, MAX_NAME_LIST, parseProgram, parseProgramDetailed } from '../../src/dsl/parse.ts';
import { printProgram } from '../../src/dsl/print.ts';
import { Rng } from '../../src/util/rng.ts';

type Outcome = { ok: true } | { ok: false; error: DslError };

/** Parse; any exception other than a DslError fails the test. */
function parseOutcome(source: string): Outcome {
  try {
    parseProgram(source);
    return { ok: true };
  } catch (e) {
    if (e instanceof DslError) return { ok: false, error: e };
    throw new Error(`parser threw a ${(e as Error)?.name}, not a DslError: ${(e as Error)?.message}`);
  }
}

/** A clean error: one diagnostic, a position inside the text, a short one-line message. */
function expectCleanError(source: string, o: Outcome): DslError {
  expect(o.ok, 'expected a DslError').toBe(false);
  const err = (o as { error: DslError }).error;
  expect(err.diagnostics.length).toBe(1);
  const d = err.diagnostics[0]!;
  const lines = source.split('\n');
  expect(d.pos.line).toBeGreaterThanOrEqual(1);
  expect(d.pos.line).toBeLessThanOrEqual(lines.length + 1);
  expect(d.pos.col).toBeGreaterThanOrEqual(1);
  const lineText = lines[d.pos.line - 1] ?? '';
  expect(d.pos.col).toBeLessThanOrEqual(lineText.length + 1);
  expect(d.message).not.toContain('\n');
  expect(d.message.length).toBeLessThan(160);
  expect(err.message).toBe(`<program>:${d.pos.line}:${d.pos.col}: ${d.message}`);
  return err;
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

const HEADER = 'def train(w, g, m, v, lr):\n';

describe('the parser survives hostile input', () => {
  it('random bytes, 500 seeds, decoded as UTF-8 and as Latin-1', () => {
    for (let seed = 0; seed < 500; seed++) {
      const rng = new Rng(seed);
      const bytes = randomBytes(rng, 1 + rng.int(400));
      for (const text of [bytes.toString('utf8'), bytes.toString('latin1')]) {
        const o = parseOutcome(text);
        // random bytes essentially never form a program; if they ever do, that is fine too
        if (!o.ok) expectCleanError(text, o);
      }
    }
  });

  it('token soup after a valid header, 2,000 seeds (reaches deep into the statement grammar)', () => {
    const pieces = ['x', 'g', 'm', 'lr', 'return', 'def', '=', '(', ')', ',', '+', '-', '*', '/', ':', '1', '-2.5', '1e3', '.5', '1e', '1.2.3', 'sign', 'interp', ' ', '  ', '\t', '\n', '\n  ', '#', '\r\n', '@', '\u00e9', '\u{1F600}'];
    let errors = 0;
    for (let seed = 0; seed < 2000; seed++) {
      const rng = new Rng(100_000 + seed);
      let body = '  ';
      const n = 1 + rng.int(30);
      for (let i = 0; i < n; i++) body += rng.pick(pieces);
      const text = HEADER + body + '\n';
      const o = parseOutcome(text);
      if (!o.ok) {
        expectCleanError(text, o);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(1000);
  });

  it('valid programs with one character deleted or inserted, 1,000 seeds', () => {
    for (let seed = 0; seed < 1000; seed++) {
      const rng = new Rng(200_000 + seed);
      const text = printProgram(randomProgram(rng, { length: 1 + rng.int(8) }));
      const at = rng.int(text.length);
      const edited = rng.next() < 0.5 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + rng.pick(['(', ',', '=', '-', 'x', '9', '.', ' ', '\n', '%']) + text.slice(at);
      const o = parseOutcome(edited);
      if (!o.ok) expectCleanError(edited, o);
    }
  });

  it('an empty file, and one with only blank lines and comments', () => {
    for (const text of ['', '\n\n', '# nothing here\n   \n\t# still nothing\n']) {
      const err = expectCleanError(text, parseOutcome(text));
      expect(err.diagnostics[0]).toEqual({ code: 'syntax', message: "empty program: expected 'def train(w, g, ..., lr):'", pos: { line: 1, col: 1 } });
    }
  });

  it('a 10 MB file of statements without a return: missing-return on the line after the last one', () => {
    const lines = Math.ceil(10_000_000 / 14);
    const text = HEADER + '  x = g + 1.5\n'.repeat(lines);
    expect(text.length).toBeGreaterThanOrEqual(10_000_000);
    const err = expectCleanError(text, parseOutcome(text));
    expect(err.diagnostics[0]?.code).toBe('missing-return');
    expect(err.diagnostics[0]?.pos).toEqual({ line: lines + 2, col: 1 });
  });

  it('a 10 MB file of random printable junk on many lines', () => {
    const rng = new Rng(9);
    const chars = 'abcxyz0123456789 =(),+-*/:#.\n\t';
    const parts: string[] = [HEADER];
    for (let i = 0; i < 10_000; i++) {
      let s = '';
      for (let j = 0; j < 1000; j++) s += chars[rng.int(chars.length)];
      parts.push(s);
    }
    const text = parts.join('');
    expect(text.length).toBeGreaterThanOrEqual(10_000_000);
    expectCleanError(text, parseOutcome(text));
  });

  it('a 10 MB single line of call arguments stops at the argument cap', () => {
    const text = HEADER + '  x = add(' + 'g, '.repeat(3_400_000) + 'g)\n  return x, m, v\n';
    expect(text.length).toBeGreaterThanOrEqual(10_000_000);
    const err = expectCleanError(text, parseOutcome(text));
    expect(err.diagnostics[0]?.message).toBe(`too many arguments in a call (more than ${MAX_CALL_ARGS})`);
    expect(err.diagnostics[0]?.pos.line).toBe(2);
  });

  it('a 10 MB return line and a 10 MB input list stop at the name-list cap', () => {
    for (const text of [HEADER + '  x = sign(g)\n  return ' + 'x, '.repeat(3_400_000) + 'x\n', 'def train(' + 'w, '.repeat(3_400_000) + 'lr):\n']) {
      expect(text.length).toBeGreaterThanOrEqual(10_000_000);
      const err = expectCleanError(text, parseOutcome(text));
      expect(err.diagnostics[0]?.message).toBe(`too many names in a list (more than ${MAX_NAME_LIST})`);
    }
  });

  describe('100,000-character lines', () => {
    const long = 100_000;
    it('a long name followed by a bad character: the column is exact, the message short', () => {
      const text = HEADER + '  ' + 'x'.repeat(long) + ' ? 1\n';
      const err = expectCleanError(text, parseOutcome(text));
      expect(err.diagnostics[0]?.pos).toEqual({ line: 2, col: long + 4 });
    });
    it('a long number is read whole and reported as too large', () => {
      const text = HEADER + '  x = g * ' + '9'.repeat(long) + '\n  return x, m, v\n';
      const err = expectCleanError(text, parseOutcome(text));
      expect(err.diagnostics[0]?.pos).toEqual({ line: 2, col: 11 });
      expect(err.diagnostics[0]?.message).toMatch(/^number '9{24}\.\.\.' is too large/);
    });
    it('a long number that is finite parses to its value', () => {
      const text = HEADER + '  x = g * 0.' + '0'.repeat(long) + '1\n  return x, m, v\n';
      const p = parseProgram(text);
      expect(p.statements[0]?.args[1]).toMatchObject({ kind: 'num', value: 0 });
    });
    it('a long comment, then an error on the next line', () => {
      const text = HEADER + '  # ' + 'c'.repeat(long) + '\n  x = g +\n';
      const err = expectCleanError(text, parseOutcome(text));
      expect(err.diagnostics[0]?.pos).toEqual({ line: 3, col: 10 });
    });
    it('a long run of spaces before a statement keeps columns exact', () => {
      const text = HEADER + ' '.repeat(long) + 'x = g $ 1\n';
      const err = expectCleanError(text, parseOutcome(text));
      expect(err.diagnostics[0]?.pos).toEqual({ line: 2, col: long + 7 });
    });
  });
});

describe('syntax errors name line, column and what was expected', () => {
  const cases: [string, string, number, number, string][] = [
    ['missing def', 'train(w, g, lr):\n', 1, 1, "expected 'def' to start the program, found 'train'"],
    ['missing colon', 'def train(w, g, lr)\n', 1, 20, "expected ':' after the input list, found end of line"],
    ['unindented body', HEADER + 'x = sign(g)\n', 2, 1, "expected an indented statement in the body of 'train'"],
    ['statement after return', HEADER + '  return g, m, v\n  x = sign(g)\n', 3, 3, "unexpected statement after 'return' (the return must be the last statement)"],
    ['two operands, no operator', HEADER + '  x = g m\n', 2, 9, "expected a binary operator (+ - * /) or the end of the line, found 'm'"],
    ['a negated name', HEADER + '  x = -g\n', 2, 7, "expected a function call, a variable or a number, found '-'"],
    ['unknown operator', HEADER + '  x = g ^ 2\n', 2, 9, "unexpected character '^'"],
    ['keyword as target', HEADER + '  def = sign(g)\n', 2, 3, "'def' is a keyword, expected a variable to assign"],
    ['exponent without digits', HEADER + '  x = g * 1e\n', 2, 11, "malformed number '1e': the exponent has no digits"],
    ['two decimal points', HEADER + '  x = g * 1.2.3\n', 2, 14, "unexpected character '.' after a number"],
    ['a lone dot', HEADER + '  x = g * .\n', 2, 11, "malformed number '.'"],
    ['letters after a number', HEADER + '  x = g * 2x\n', 2, 12, "unexpected character 'x' after a number"],
    ['unclosed call', HEADER + '  x = sign(g\n', 2, 13, "expected ')' or ',' in the argument list, found end of line"],
    ['control character', HEADER + '  x = g\u0007\n', 2, 8, "unexpected character '\\u0007'"],
    ['missing return names', HEADER + '  return\n', 2, 9, 'expected a variable to return, found end of line'],
  ];
  for (const [name, text, line, col, message] of cases) {
    it(name, () => {
      const err = expectCleanError(text, parseOutcome(text));
      expect(err.diagnostics[0]).toEqual({ code: 'syntax', message, pos: { line, col } });
    });
  }
});

describe('accepted syntax', () => {
  it('CRLF line ends, tabs, comments, a byte-order mark, negative literals, scientific notation', () => {
    const text = '\uFEFF# header comment\r\ndef train(w, g, m, lr):\r\n\tx = g * -2.5e-3  # trailing\r\n\ty = interp(x, m, .5)\r\n\tz = -1 - y\r\n\treturn z, y\r\n';
    const { program, inputPositions, outputPositions } = parseProgramDetailed(text);
    expect(program.statements.map((s) => [s.target, s.op, s.args.map((a) => (a.kind === 'num' ? a.value : a.name))])).toEqual([
      ['x', 'mul', ['g', -0.0025]],
      ['y', 'interp', ['x', 'm', 0.5]],
      ['z', 'sub', [-1, 'y']],
    ]);
    expect(program.pos).toEqual({ line: 2, col: 1 });
    expect(inputPositions).toEqual([{ line: 2, col: 11 }, { line: 2, col: 14 }, { line: 2, col: 17 }, { line: 2, col: 20 }]);
    expect(outputPositions).toEqual([{ line: 6, col: 9 }, { line: 6, col: 12 }]);
    expect(program.statements[0]?.pos).toEqual({ line: 3, col: 8 });
    expect(program.statements[0]?.args[1]?.pos).toEqual({ line: 3, col: 10 });
  });

  it('a call with no arguments and one with exactly the argument cap', () => {
    const args = Array.from({ length: MAX_CALL_ARGS }, () => 'g').join(', ');
    const p = parseProgram(`${HEADER}  k = get_pi()\n  x = add(${args})\n  return x, m, v\n`);
    expect(p.statements[0]?.args).toEqual([]);
    expect(p.statements[1]?.args.length).toBe(MAX_CALL_ARGS);
  });
});
