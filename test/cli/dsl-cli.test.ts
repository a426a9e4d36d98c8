/** The check and fmt commands, run as a user runs them: `node bin/optsearch.mjs ...` in a child process. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { programsEqual } from '../../src/dsl/ast.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { printProgram } from '../../src/dsl/print.ts';

const LION = 'search-spaces/programs/lion.prog';

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function optsearch(...args: string[]): Run {
  const r = spawnSync(process.execPath, ['bin/optsearch.mjs', ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir = '';
const file = (name: string): string => join(dir, name);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'optsearch-cli-'));
  writeFileSync(file('empty.prog'), '');
  writeFileSync(file('parse-error.prog'), 'def train(w, g, lr):\n  x = g +\n  return x\n');
  writeFileSync(file('type-error.prog'), 'def train(w, g, m, lr):\n  x = sign(g)\n  y = dot(g, lr)\n  return x, zz\n');
  writeFileSync(file('binary.prog'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]));
  writeFileSync(file('latin1.prog'), Buffer.concat([Buffer.from('def train(w, g, lr):\n  u = g * 2  # caf'), Buffer.from([0xe9]), Buffer.from('\n  return u\n')]));
  writeFileSync(file('messy.prog'), '# a comment\r\ndef train(w,g,m,lr):\r\n\tm=interp(g,m,0.90)   # ema\r\n\tu=mul( m , lr )\r\n\treturn u,m\r\n');
  mkdirSync(file('a-directory.prog'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('optsearch check', () => {
  it('prints every variable with its kind and exits 0 on lion.prog', () => {
    const r = optsearch('check', LION);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('def train(w: Tensor, g: Tensor, m: Tensor, v: Tensor, lr: Scalar):');
    expect(lines[1]).toMatch(/^ {2}update = interp\(g, m, 0\.9\) +# update: Tensor$/);
    expect(lines).toContainEqual(expect.stringMatching(/^ {2}lr = lr \* 0\.0003 +# lr: Scalar$/));
    expect(lines.at(-2)).toBe('  return update, m, v');
    expect(lines.at(-1)).toBe('ok: 7 statements, 2 state slots');
  });

  it('prints what docs/dsl.md shows for lion.prog', () => {
    const doc = readFileSync('docs/dsl.md', 'utf8');
    const marker = '    $ node bin/optsearch.mjs check search-spaces/programs/lion.prog\n';
    const at = doc.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    const shown: string[] = [];
    for (const line of doc.slice(at + marker.length).split('\n')) {
      if (!line.startsWith('    ')) break;
      shown.push(line.slice(4));
    }
    expect(optsearch('check', LION).stdout).toBe(shown.join('\n') + '\n');
  });

  it('--json gives the same kinds as data', () => {
    const r = optsearch('check', '--json', LION);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { ok: boolean; inputs: { name: string; kind: string }[]; statements: { target: string; kind: string }[] };
    expect(j.ok).toBe(true);
    expect(j.inputs.map((i) => `${i.name}:${i.kind}`)).toEqual(['w:tensor', 'g:tensor', 'm:tensor', 'v:tensor', 'lr:scalar']);
    expect(j.statements.find((s) => s.target === 'lr')?.kind).toBe('scalar');
  });

  it('--help shows an example', () => {
    const r = optsearch('check', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Example:');
    expect(r.stdout).toContain('$ optsearch check search-spaces/programs/lion.prog');
  });
});

describe('optsearch fmt', () => {
  it('prints the canonical form, which parses back equal to the file', () => {
    const r = optsearch('fmt', LION);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const original = parseProgram(readFileSync(LION, 'utf8'));
    expect(programsEqual(parseProgram(r.stdout), original)).toBe(true);
    expect(r.stdout).toBe(printProgram(original));
  });

  it('normalises comments, spacing, CRLF and call spelling', () => {
    const r = optsearch('fmt', file('messy.prog'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('def train(w, g, m, lr):\n  m = interp(g, m, 0.9)\n  u = m * lr\n  return u, m\n');
  });

  it('--help shows an example', () => {
    const r = optsearch('fmt', '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Example:');
    expect(r.stdout).toContain('$ optsearch fmt ');
  });
});

describe('bad input: one line on stderr, nothing on stdout, exit code 2', () => {
  const cases: [string, () => string, (path: string) => string][] = [
    ['a missing file', () => file('does-not-exist.prog'), (p) => `${p}: no such program file`],
    ['a directory', () => file('a-directory.prog'), (p) => `${p}: is a directory, expected a program file`],
    ['a binary file', () => file('binary.prog'), (p) => `${p}: binary file (contains NUL bytes), expected a text program file`],
    ['a file that is not UTF-8', () => file('latin1.prog'), (p) => `${p}: not valid UTF-8 text, expected a text program file`],
    ['an empty file', () => file('empty.prog'), (p) => `${p}:1:1: empty program: expected 'def train(w, g, ..., lr):'`],
    ['a parse error', () => file('parse-error.prog'), (p) => `${p}:2:10: expected a variable or a number after the operator, found end of line`],
  ];
  for (const command of ['check', 'fmt']) {
    for (const [what, path, message] of cases) {
      it(`${command}: ${what}`, () => {
        const p = path();
        const r = optsearch(command, p);
        expect(r.stdout).toBe('');
        expect(r.stderr).toBe(`optsearch: ${message(p)}\n`);
        expect(r.code).toBe(2);
      });
    }
  }

  it('a path with a newline in it is quoted, so that the message stays one line', () => {
    const p = file('two\nlines.prog');
    writeFileSync(p, 'def train(w, g, lr):\n  x = g +\n  return x\n');
    const r = optsearch('check', p);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`optsearch: ${JSON.stringify(p)}:2:10: expected a variable or a number after the operator, found end of line\n`);
    expect(r.code).toBe(2);
  });

  it('check: a type error (the first problem, with a count of the others)', () => {
    const p = file('type-error.prog');
    const r = optsearch('check', p);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`optsearch: ${p}:3:14: argument 2 of 'dot' must be a Tensor, got a Scalar ('lr') (and 1 more problem)\n`);
    expect(r.code).toBe(2);
  });
});
