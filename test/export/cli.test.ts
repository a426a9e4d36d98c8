import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { simplify } from '../../src/analysis/simplify.ts';
import { main } from '../../src/cli/main.ts';
import { register } from '../../src/cli/commands/export.ts';
import { CliError } from '../../src/cli/errors.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { printProgram } from '../../src/dsl/print.ts';
import { exportProgram } from '../../src/export/index.ts';

const LION = 'search-spaces/programs/lion.prog';
const lion = parseProgram(readFileSync(LION, 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'optsearch-export-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((err += String(s)), true));
});
afterEach(() => vi.restoreAllMocks());

const run = (...args: string[]): Promise<number> => main(['node', 'optsearch', 'export', ...args]);

describe('optsearch export', () => {
  it('writes each format to a file, equal to exportProgram named after the file', async () => {
    for (const format of ['pytorch', 'optax', 'numpy', 'latex', 'text'] as const) {
      const file = join(dir, `lion.${format}.out`);
      expect(await run(LION, '--to', format, '-o', file)).toBe(0);
      expect(readFileSync(file, 'utf8')).toBe(exportProgram(lion, format, { name: 'lion' }));
    }
    expect(readFileSync(join(dir, 'lion.pytorch.out'), 'utf8')).toContain('class Lion(torch.optim.Optimizer):');
    expect(out).toBe('');
    expect(err).toBe('');
    // no temporary files left behind
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('writes to standard output without -o; --name sets the class name', async () => {
    expect(await run(LION, '--to', 'pytorch', '--name', 'my-lion')).toBe(0);
    expect(out).toBe(exportProgram(lion, 'pytorch', { name: 'my-lion' }));
    expect(out).toContain('class MyLion(torch.optim.Optimizer):');
  });

  it('--simplified exports the simplified program', async () => {
    const file = 'search-spaces/programs/paper-discovered.prog';
    const p = parseProgram(readFileSync(file, 'utf8'));
    expect(await run(file, '--to', 'text', '--simplified')).toBe(0);
    const simplified = simplify(p).program;
    expect(out).toBe(printProgram(simplified));
    expect(simplified.statements.length).toBeLessThan(p.statements.length);
    out = '';
    expect(await run(file, '--to', 'text', '--simplified', '--exact')).toBe(0);
    expect(out).toBe(printProgram(simplify(p, { allowEps: false }).program));
  });

  const bad: [string, string[], RegExp][] = [
    ['an unknown format', [LION, '--to', 'keras'], /unknown format 'keras'.*pytorch, optax, numpy, tfjs, latex, text/],
    ['a missing --to', [LION], /missing --to/],
    ['a missing input file', [join(dir, 'missing.prog'), '--to', 'numpy'], /missing\.prog: no such program file/],
    ['an output path in a missing folder', [LION, '--to', 'numpy', '-o', join(dir, 'no-such-folder', 'x.py')], /no-such-folder.*does not exist/],
    ['an output path that is a folder', [LION, '--to', 'numpy', '-o', dir], /is a folder/],
    ['--exact without --simplified', [LION, '--to', 'text', '--exact'], /--exact only applies together with --simplified/],
  ];
  for (const [what, args, message] of bad) {
    it(`${what}: exit 2, one line, nothing written`, async () => {
      const before = readdirSync(dir).sort();
      const outFile = join(dir, 'should-not-exist.py');
      const withOutput = args.includes('-o') ? args : [...args, '-o', outFile];
      expect(await run(...withOutput)).toBe(2);
      expect(err).toMatch(message);
      expect(err.trimEnd().split('\n')).toHaveLength(1);
      expect(out).toBe('');
      expect(existsSync(outFile)).toBe(false);
      expect(existsSync(join(dir, 'no-such-folder'))).toBe(false);
      expect(readdirSync(dir).sort()).toEqual(before);
    });
  }

  it('a program with a parse error: exit 2, file:line:col, nothing written', async () => {
    const src = join(dir, 'broken.prog');
    writeFileSync(src, 'def train(w, g, lr):\n  u = sign(g\n  return u\n');
    const outFile = join(dir, 'broken.py');
    expect(await run(src, '--to', 'numpy', '-o', outFile)).toBe(2);
    expect(err).toMatch(/broken\.prog:2:\d+: /);
    expect(err.trimEnd().split('\n')).toHaveLength(1);
    expect(existsSync(outFile)).toBe(false);
  });

  it('an existing output file is replaced whole', async () => {
    const file = join(dir, 'replace.py');
    writeFileSync(file, 'old content that is much longer than nothing '.repeat(200));
    expect(await run(LION, '--to', 'text', '-o', file)).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(printProgram(lion));
  });

  it('takes a pluggable resolver for program references', async () => {
    const program = new Command().exitOverride();
    register(program, (ref) => {
      if (ref !== 'run1/42') throw new CliError(`no program '${ref}'`);
      return lion;
    });
    await program.parseAsync(['node', 'x', 'export', 'run1/42', '--to', 'text']);
    expect(out).toBe(printProgram(lion));
    await expect(program.parseAsync(['node', 'x', 'export', 'run1/43', '--to', 'text'])).rejects.toThrow("no program 'run1/43'");
  });

  it('the installed command exits 2 with one line for a bad format', () => {
    mkdirSync(join(dir, 'bin-check'), { recursive: true });
    const r = spawnSync('node', ['bin/optsearch.mjs', 'export', LION, '--to', 'tfjs-nope', '-o', join(dir, 'bin-check', 'x.py')], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      "optsearch: unknown format 'tfjs-nope' for --to: expected one of pytorch, optax, numpy, tfjs, latex, text",
    ]);
    expect(readdirSync(join(dir, 'bin-check'))).toEqual([]);
  });
});
