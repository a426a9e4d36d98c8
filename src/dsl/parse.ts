/**
 * Parser for the paper's listing syntax:
 *
 *   def train(w, g, m, v, lr):
 *     g2 = square(g)          # one call per statement
 *     update = m / sqrt_v     # the arithmetic ops may be written infix
 *     return update, m, v
 *
 * Line-oriented and linear in the input size. Stops at the first error, which names line, column
 * and what was expected. Produces positions on every statement and argument.
 */
import type { Arg, Pos, Program, Statement } from './ast.ts';
import { DslError } from './errors.ts';
import { opByInfix } from './ops.ts';

type TokKind = 'ident' | 'number' | 'punct' | 'end';
interface Token {
  kind: TokKind;
  text: string;
  col: number;
}

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
const NUMBER_RE = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/;
const PUNCT = new Set(['(', ')', ',', '=', ':', '+', '-', '*', '/']);

function fail(line: number, col: number, message: string): never {
  throw new DslError([{ code: 'syntax', message, pos: { line, col } }]);
}

function describe(t: Token): string {
  if (t.kind === 'end') return 'end of line';
  return `'${t.text.length > 20 ? t.text.slice(0, 20) + '...' : t.text}'`;
}

function tokenize(text: string, line: number, startCol: number): Token[] {
  const toks: Token[] = [];
  let i = startCol;
  const n = text.length;
  while (i < n) {
    const c = text[i] as string;
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    if (c === '#') break;
    if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < n && IDENT_PART.test(text[j] as string)) j++;
      toks.push({ kind: 'ident', text: text.slice(i, j), col: i + 1 });
      i = j;
      continue;
    }
    if ((c >= '0' && c <= '9') || c === '.') {
      const m = NUMBER_RE.exec(text.slice(i, Math.min(n, i + 400)));
      if (!m) fail(line, i + 1, `malformed number`);
      const j = i + m[0].length;
      if (j < n && IDENT_PART.test(text[j] as string)) fail(line, j + 1, `unexpected character '${text[j]}' after a number`);
      toks.push({ kind: 'number', text: m[0], col: i + 1 });
      i = j;
      continue;
    }
    if (PUNCT.has(c)) {
      toks.push({ kind: 'punct', text: c, col: i + 1 });
      i++;
      continue;
    }
    const code = c.charCodeAt(0);
    const shown = code < 32 || code > 126 ? `\\u${code.toString(16).padStart(4, '0')}` : c;
    fail(line, i + 1, `unexpected character '${shown}'`);
  }
  toks.push({ kind: 'end', text: '', col: n + 1 });
  return toks;
}

class LineParser {
  private i = 0;
  constructor(
    private readonly toks: Token[],
    private readonly line: number,
  ) {}

  peek(offset = 0): Token {
    return this.toks[Math.min(this.i + offset, this.toks.length - 1)] as Token;
  }
  next(): Token {
    const t = this.peek();
    if (this.i < this.toks.length - 1) this.i++;
    return t;
  }
  pos(t: Token): Pos {
    return { line: this.line, col: t.col };
  }
  expectPunct(p: string, what: string): Token {
    const t = this.next();
    if (t.kind !== 'punct' || t.text !== p) fail(this.line, t.col, `expected ${what}, found ${describe(t)}`);
    return t;
  }
  expectIdent(what: string): Token {
    const t = this.next();
    if (t.kind !== 'ident') fail(this.line, t.col, `expected ${what}, found ${describe(t)}`);
    if (t.text === 'def' || t.text === 'return') fail(this.line, t.col, `'${t.text}' is a keyword, expected ${what}`);
    return t;
  }
  expectEnd(): void {
    const t = this.peek();
    if (t.kind !== 'end') fail(this.line, t.col, `expected end of line, found ${describe(t)}`);
  }
  /** A variable name or a number literal (with an optional leading minus). */
  operand(what: string): Arg {
    const t = this.peek();
    if (t.kind === 'punct' && t.text === '-' && this.peek(1).kind === 'number') {
      this.next();
      const num = this.next();
      return { kind: 'num', value: -parseNumber(num, this.line), pos: this.pos(t) };
    }
    if (t.kind === 'number') {
      this.next();
      return { kind: 'num', value: parseNumber(t, this.line), pos: this.pos(t) };
    }
    if (t.kind === 'ident') {
      const id = this.expectIdent(what);
      return { kind: 'var', name: id.text, pos: this.pos(id) };
    }
    fail(this.line, t.col, `expected ${what}, found ${describe(t)}`);
  }
  identList(what: string): { names: string[]; positions: Pos[] } {
    const names: string[] = [];
    const positions: Pos[] = [];
    const first = this.expectIdent(what);
    names.push(first.text);
    positions.push(this.pos(first));
    while (this.peek().kind === 'punct' && this.peek().text === ',') {
      this.next();
      const t = this.expectIdent(what);
      names.push(t.text);
      positions.push(this.pos(t));
    }
    return { names, positions };
  }
}

function parseNumber(t: Token, line: number): number {
  const v = Number(t.text);
  if (!Number.isFinite(v)) fail(line, t.col, `number '${t.text}' is not finite`);
  return v;
}

export interface ParseResult {
  program: Program;
  /** Positions of the inputs in the `def` line, for diagnostics. */
  inputPositions: Pos[];
  outputPositions: Pos[];
}

/** Parse one program. Throws DslError (code 'syntax') at the first error. */
export function parseProgramDetailed(source: string): ParseResult {
  const lines = source.split('\n');
  let name: string | undefined;
  let inputs: string[] = [];
  let inputPositions: Pos[] = [];
  const statements: Statement[] = [];
  let outputs: string[] | undefined;
  let outputPositions: Pos[] = [];
  let returnPos: Pos | undefined;
  let defPos: Pos | undefined;

  for (let li = 0; li < lines.length; li++) {
    const lineNo = li + 1;
    let text = lines[li] as string;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    let start = 0;
    while (start < text.length && (text[start] === ' ' || text[start] === '\t')) start++;
    if (start === text.length || text[start] === '#') continue;
    const toks = tokenize(text, lineNo, start);
    const p = new LineParser(toks, lineNo);

    if (name === undefined) {
      const kw = p.next();
      if (kw.kind !== 'ident' || kw.text !== 'def') fail(lineNo, kw.col, `expected 'def' to start the program, found ${describe(kw)}`);
      defPos = { line: lineNo, col: kw.col };
      const id = p.expectIdent('the function name');
      name = id.text;
      p.expectPunct('(', "'(' after the function name");
      const list = p.identList('an input name');
      inputs = list.names;
      inputPositions = list.positions;
      p.expectPunct(')', "')' or ',' in the input list");
      p.expectPunct(':', "':' after the input list");
      p.expectEnd();
      continue;
    }
    if (outputs !== undefined) {
      fail(lineNo, start + 1, `unexpected statement after 'return' (the return must be the last statement)`);
    }
    if (start === 0) fail(lineNo, 1, `expected an indented statement in the body of '${name}'`);
    const first = p.peek();
    if (first.kind === 'ident' && first.text === 'return') {
      p.next();
      returnPos = { line: lineNo, col: first.col };
      const list = p.identList('a variable to return');
      outputs = list.names;
      outputPositions = list.positions;
      p.expectEnd();
      continue;
    }
    const target = p.expectIdent('a variable to assign');
    p.expectPunct('=', `'=' after '${target.text}'`);
    const head = p.peek();
    let stmt: Statement;
    if (head.kind === 'ident' && p.peek(1).kind === 'punct' && p.peek(1).text === '(') {
      // function call
      p.next();
      p.next();
      const args: Arg[] = [];
      if (!(p.peek().kind === 'punct' && p.peek().text === ')')) {
        args.push(p.operand('an argument (a variable or a number)'));
        while (p.peek().kind === 'punct' && p.peek().text === ',') {
          p.next();
          args.push(p.operand('an argument (a variable or a number)'));
        }
      }
      p.expectPunct(')', "')' or ',' in the argument list");
      p.expectEnd();
      stmt = { target: target.text, op: head.text, args, pos: { line: lineNo, col: head.col } };
    } else {
      const left = p.operand('a function call, a variable or a number');
      const opTok = p.peek();
      if (opTok.kind === 'end') {
        fail(lineNo, opTok.col, `expected a binary operator (+ - * /) or a function call; a plain copy is not a statement`);
      }
      const spec = opTok.kind === 'punct' ? opByInfix(opTok.text) : undefined;
      if (!spec) fail(lineNo, opTok.col, `expected a binary operator (+ - * /), found ${describe(opTok)}`);
      p.next();
      const right = p.operand('a variable or a number after the operator');
      p.expectEnd();
      stmt = { target: target.text, op: spec.name, args: [left, right], pos: { line: lineNo, col: opTok.col } };
    }
    statements.push(stmt);
  }

  if (name === undefined) fail(1, 1, `empty program: expected 'def train(w, g, ..., lr):'`);
  if (outputs === undefined) {
    throw new DslError([
      {
        code: 'missing-return',
        message: `missing 'return' at the end of '${name}'`,
        pos: { line: lines.length, col: 1 },
      },
    ]);
  }
  const program: Program = {
    name,
    inputs,
    statements,
    outputs,
    ...(defPos ? { pos: defPos } : {}),
    ...(returnPos ? { returnPos } : {}),
  };
  return { program, inputPositions, outputPositions };
}

export function parseProgram(source: string): Program {
  return parseProgramDetailed(source).program;
}

