/**
 * Parser for the paper's listing syntax:
 *
 *   def train(w, g, m, v, lr):
 *     g2 = square(g)          # one call per statement
 *     update = m / sqrt_v     # the arithmetic ops may be written infix
 *     eps = 1e-8              # a name for a value (the op copy)
 *     return update, m, v
 *
 * Line-oriented and linear in the input size. Stops at the first error, which names line, column
 * and what was expected. Produces positions on every statement and argument.
 */
import { KEYWORDS, type Arg, type Pos, type Program, type Statement } from './ast.ts';
import { DslError, quoteText } from './errors.ts';
import { COPY_OP, opByInfix } from './ops.ts';

type TokKind = 'ident' | 'number' | 'punct' | 'end';
interface Token {
  kind: TokKind;
  text: string;
  col: number;
}

const PUNCT = new Set(['(', ')', ',', '=', ':', '+', '-', '*', '/']);
/** More arguments than any op takes by far; stops a pathological line from building a huge list. */
export const MAX_CALL_ARGS = 64;
/** Most names in the input list or the return list (a program has a few state slots, not hundreds). */
export const MAX_NAME_LIST = 256;

function fail(line: number, col: number, message: string): never {
  throw new DslError([{ code: 'syntax', message, pos: { line, col } }]);
}

function describe(t: Token): string {
  if (t.kind === 'end') return 'end of line';
  return quoteText(t.text);
}

const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isIdentStart = (c: string): boolean => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
const isIdentPart = (c: string): boolean => isIdentStart(c) || isDigit(c);

/**
 * Tokens of one line, produced on demand: a long line never turns into a large token array,
 * and scanning stops at the first error.
 */
class LineLexer {
  private i: number;
  private readonly ahead: Token[] = [];
  constructor(
    private readonly text: string,
    private readonly line: number,
    startCol: number,
  ) {
    this.i = startCol;
  }

  peek(offset = 0): Token {
    while (this.ahead.length <= offset) {
      const last = this.ahead[this.ahead.length - 1];
      if (last && last.kind === 'end') return last;
      this.ahead.push(this.scan());
    }
    return this.ahead[offset] as Token;
  }

  next(): Token {
    const t = this.peek();
    if (t.kind !== 'end') this.ahead.shift();
    return t;
  }

  private scan(): Token {
    const text = this.text;
    const n = text.length;
    let i = this.i;
    while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
    if (i >= n || text[i] === '#') {
      this.i = n;
      return { kind: 'end', text: '', col: n + 1 };
    }
    const c = text[i] as string;
    const start = i;
    if (isIdentStart(c)) {
      i++;
      while (i < n && isIdentPart(text[i] as string)) i++;
      this.i = i;
      return { kind: 'ident', text: text.slice(start, i), col: start + 1 };
    }
    if (isDigit(c) || c === '.') {
      // digits [. digits] [e [+-] digits], or . digits [e ...]
      while (i < n && isDigit(text[i] as string)) i++;
      const intDigits = i - start;
      if (text[i] === '.') {
        i++;
        const from = i;
        while (i < n && isDigit(text[i] as string)) i++;
        if (intDigits === 0 && i === from) fail(this.line, start + 1, `malformed number '.'`);
      }
      if (text[i] === 'e' || text[i] === 'E') {
        let j = i + 1;
        if (text[j] === '+' || text[j] === '-') j++;
        const from = j;
        while (j < n && isDigit(text[j] as string)) j++;
        if (j === from) fail(this.line, start + 1, `malformed number ${quoteText(text.slice(start, j))}: the exponent has no digits`);
        i = j;
      }
      if (i < n && (isIdentPart(text[i] as string) || text[i] === '.')) {
        fail(this.line, i + 1, `unexpected character '${text[i]}' after a number`);
      }
      this.i = i;
      return { kind: 'number', text: text.slice(start, i), col: start + 1 };
    }
    if (PUNCT.has(c)) {
      this.i = i + 1;
      return { kind: 'punct', text: c, col: start + 1 };
    }
    const code = c.charCodeAt(0);
    const shown = code < 32 || code > 126 ? `\\u${code.toString(16).padStart(4, '0')}` : c;
    fail(this.line, start + 1, `unexpected character '${shown}'`);
  }
}

class LineParser {
  constructor(
    private readonly lex: LineLexer,
    private readonly line: number,
  ) {}

  peek(offset = 0): Token {
    return this.lex.peek(offset);
  }
  next(): Token {
    return this.lex.next();
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
    if (KEYWORDS.has(t.text)) fail(this.line, t.col, `'${t.text}' is a keyword, expected ${what}`);
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
      const comma = this.next();
      if (names.length >= MAX_NAME_LIST) fail(this.line, comma.col, `too many names in a list (more than ${MAX_NAME_LIST})`);
      const t = this.expectIdent(what);
      names.push(t.text);
      positions.push(this.pos(t));
    }
    return { names, positions };
  }
}

function parseNumber(t: Token, line: number): number {
  const v = Number(t.text);
  if (!Number.isFinite(v)) fail(line, t.col, `number ${quoteText(t.text)} is too large (not a finite double)`);
  return v;
}

export interface ParseResult {
  program: Program;
  /** Positions of the inputs in the `def` line, for diagnostics. */
  inputPositions: Pos[];
  outputPositions: Pos[];
}

/** Parse one program. Throws a DslError at the first error (code 'syntax', or 'missing-return' when the text ends without one). */
export function parseProgramDetailed(source: string): ParseResult {
  // A byte-order mark some editors write is not part of the program (columns are counted without it).
  const lines = (source.charCodeAt(0) === 0xfeff ? source.slice(1) : source).split('\n');
  let lastContentLine = 0;
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
    lastContentLine = lineNo;
    const p = new LineParser(new LineLexer(text, lineNo, start), lineNo);

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
    if (start === 0) fail(lineNo, 1, `expected an indented statement in the body of ${quoteText(name)}`);
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
    p.expectPunct('=', `'=' after ${quoteText(target.text)}`);
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
          const comma = p.next();
          if (args.length >= MAX_CALL_ARGS) fail(lineNo, comma.col, `too many arguments in a call (more than ${MAX_CALL_ARGS})`);
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
        // `eps = 1e-8`, `m_prev = m`: a name for a value (the op copy)
        stmt = { target: target.text, op: COPY_OP, args: [left], pos: left.pos ?? { line: lineNo, col: head.col } };
      } else {
        const spec = opTok.kind === 'punct' ? opByInfix(opTok.text) : undefined;
        if (!spec) fail(lineNo, opTok.col, `expected a binary operator (+ - * /) or the end of the line, found ${describe(opTok)}`);
        p.next();
        const right = p.operand('a variable or a number after the operator');
        p.expectEnd();
        stmt = { target: target.text, op: spec.name, args: [left, right], pos: { line: lineNo, col: opTok.col } };
      }
    }
    statements.push(stmt);
  }

  if (name === undefined) fail(1, 1, `empty program: expected 'def train(w, g, ..., lr):'`);
  if (outputs === undefined) {
    throw new DslError([
      {
        code: 'missing-return',
        message: `missing 'return' at the end of ${quoteText(name)}`,
        // where the return should have been: the line after the last statement
        pos: { line: lastContentLine + 1, col: 1 },
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
    inputPositions,
    outputPositions,
  };
  return { program, inputPositions, outputPositions };
}

export function parseProgram(source: string): Program {
  return parseProgramDetailed(source).program;
}

