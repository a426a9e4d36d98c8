import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Program } from '../../src/dsl/ast.ts';
import { randomProgram } from '../../src/dsl/generate.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { exportProgram } from '../../src/export/index.ts';
import { Rng } from '../../src/util/rng.ts';
import { python3Status } from './harness.ts';
import { skipWithout } from '../tools.ts';

const status = python3Status();
const skip = skipWithout('python3', status.ok ? undefined : status.reason);

const DIR = 'search-spaces/programs';
const shipped: [string, Program][] = readdirSync(DIR)
  .filter((f) => f.endsWith('.prog'))
  .map((f) => [f.replace(/\.prog$/, ''), parseProgram(readFileSync(`${DIR}/${f}`, 'utf8'))]);

const rng = new Rng(4242);
const random: [string, Program][] = Array.from({ length: 50 }, (_, i) => [
  `random-${i}`,
  randomProgram(rng, { length: 1 + rng.int(20), slots: [['m', 'v'], ['m'], [], ['m', 'v', 's']][i % 4] as string[], constantProb: 0.5 }),
]);

/** Names that are Python keywords, builtins, module names or underscore forms, all in one program. */
const awkward: Program = {
  name: 'train',
  inputs: ['lambda', 'np', '_state', 'x_', 'None'],
  statements: [
    { target: 'sum', op: 'interp', args: [{ kind: 'var', name: 'np' }, { kind: 'var', name: '_state' }, { kind: 'num', value: 0.9 }] },
    { target: 'torch', op: 'sign', args: [{ kind: 'var', name: 'sum' }] },
    { target: 'self', op: 'global_norm', args: [{ kind: 'var', name: 'torch' }] },
    { target: 'rule', op: 'mul', args: [{ kind: 'var', name: 'torch' }, { kind: 'var', name: 'None' }] },
    { target: 'x_', op: 'clip', args: [{ kind: 'var', name: 'lambda' }, { kind: 'var', name: 'self' }] },
  ],
  outputs: ['rule', 'sum', 'x_'],
};

const dir = mkdtempSync(join(tmpdir(), 'optsearch-parse-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs python3 -m py_compile on every file at once; returns its exit status and messages. */
function pyCompile(files: readonly string[]): { status: number | null; stderr: string } {
  const r = spawnSync('python3', ['-m', 'py_compile', ...files], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

/** Top-level classes (with bases) and functions of each module, read with Python's own ast. */
function outline(files: readonly string[]): Record<string, { classes: Record<string, string[]>; functions: string[] }> {
  const script = String.raw`
import ast, json, sys
out = {}
for f in sys.argv[1:]:
    tree = ast.parse(open(f).read(), f)
    classes = {n.name: [ast.unparse(b) for b in n.bases] for n in tree.body if isinstance(n, ast.ClassDef)}
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    out[f] = {'classes': classes, 'functions': functions}
print(json.dumps(out))
`;
  const r = spawnSync('python3', ['-c', script, ...files], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

describe.skipIf(skip)('PyTorch and optax exports are valid Python', () => {
  const all: [string, Program][] = [...shipped, ...random, ['awkward-names', awkward]];

  for (const format of ['pytorch', 'optax', 'numpy'] as const) {
    it(`${format}: ${shipped.length} shipped programs, 50 random programs and one with awkward names compile`, () => {
      const files = all.map(([label, p]) => {
        const file = join(dir, `${format}_${label.replace(/-/g, '_')}.py`);
        writeFileSync(file, exportProgram(p, format, { name: label }));
        return file;
      });
      const r = pyCompile(files);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);

      const shapes = outline(files);
      all.forEach(([label], i) => {
        const o = shapes[files[i] as string]!;
        expect(o.functions).toContain('rule');
        if (format === 'pytorch') {
          const bases = Object.values(o.classes);
          expect(bases).toContainEqual(['torch.optim.Optimizer']);
        } else if (format === 'optax') {
          // the factory is named after the label (paper-discovered -> paper_discovered)
          expect(o.functions).toContain(label.replace(/-/g, '_'));
          expect(Object.values(o.classes)).toContainEqual(['NamedTuple']);
        } else {
          expect(o.functions).toEqual(expect.arrayContaining(['init_state', 'step']));
        }
      });
    });
  }

  it('a broken module is reported by the same check (the check can fail)', () => {
    const file = join(dir, 'broken.py');
    writeFileSync(file, exportProgram(shipped[0]![1], 'pytorch').replace('def rule(', 'def rule(('));
    const r = pyCompile([file]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/SyntaxError|broken\.py/);
  });
});
