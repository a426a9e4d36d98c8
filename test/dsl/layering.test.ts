/**
 * The layer diagram of docs/architecture.md checked against the code: every import in src/ (type
 * imports and dynamic import() with a literal path included) follows the doc's table of which folder
 * may import which, no files of src/ form an import cycle, the lowest layers never load tfjs, and
 * no program text is ever run as code.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = 'src';
const DOC = 'docs/architecture.md';
const TABLE_HEADER = /^\|\s*folder\s*\|\s*may import\s*\|\s*$/;
/** Folders that must never load TensorFlow.js, nor any folder that does (checked through the table). */
const TFJS_FREE = ['vocabulary', 'util', 'dsl', 'analysis', 'tasks'];

type Graph = ReadonlyMap<string, ReadonlySet<string>>;

interface Import {
  readonly file: string;
  readonly line: number;
  readonly specifier: string;
  /** The imported file under src/ (relative to the repository root), or undefined for a package. */
  readonly target: string | undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((f) => {
      const p = join(dir, f);
      return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
    });
}

/** Every import of a file as the TypeScript scanner sees it: comments and strings are not imports. */
function importsOf(file: string, text: string): Import[] {
  const lineAt = (pos: number): number => text.slice(0, pos).split('\n').length;
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => {
    const local = f.fileName.startsWith('.');
    const target = local ? relative('.', resolve(dirname(file), f.fileName)).split(sep).join('/') : undefined;
    return { file, line: lineAt(f.pos), specifier: f.fileName, target };
  });
}

/** The src/ folder a file belongs to (its first path segment under src/). */
function folderOf(file: string): string {
  return file.split('/')[1] as string;
}

/** The doc's "| folder | may import |" table: folder -> the folders it may import. */
function parseLayerTable(markdown: string): Map<string, Set<string>> {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => TABLE_HEADER.test(l));
  if (start < 0) throw new Error(`no "| folder | may import |" table`);
  const table = new Map<string, Set<string>>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const folder = /^`([a-z-]+)`$/.exec(cells[0] ?? '')?.[1];
    if (folder === undefined || cells.length !== 2) throw new Error(`malformed row: ${line}`);
    if (table.has(folder)) throw new Error(`${folder} has two rows`);
    const allowed = cells[1] === 'nothing' ? [] : (cells[1] as string).split(',').map((c) => /^`([a-z-]+)`$/.exec(c.trim())?.[1]);
    if (allowed.some((a) => a === undefined)) throw new Error(`malformed row: ${line}`);
    table.set(folder, new Set(allowed as string[]));
  }
  return table;
}

/** One cycle (its nodes in order, the first repeated at the end) per strongly connected part of more than one node or with a self-edge. */
function findCycles(graph: Graph): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const parts: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const part: string[] = [];
    let w: string;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      part.push(w);
    } while (w !== v);
    if (part.length > 1 || graph.get(v)?.has(v)) parts.push(part.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  // a shortest cycle through the part's first node: breadth first, inside the part
  return parts.map((part) => {
    const inPart = new Set(part);
    const start = part[0] as string;
    const previous = new Map<string, string>();
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i] as string;
      for (const w of [...(graph.get(v) ?? [])].sort()) {
        if (!inPart.has(w)) continue;
        if (w === start) {
          const path = [start];
          for (let u: string | undefined = v; u !== start && u !== undefined; u = previous.get(u)) path.splice(1, 0, u);
          if (v !== start) return [...path, start];
          return [start, start];
        }
        if (!previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    throw new Error(`no cycle through ${start}`);
  });
}

/** Imports from one src/ folder into another that the table does not allow, one line each. */
function folderViolations(imports: readonly Import[], table: Graph): string[] {
  const out: string[] = [];
  for (const imp of imports) {
    if (imp.target === undefined || !imp.target.startsWith(`${SRC}/`)) continue;
    const from = folderOf(imp.file);
    const to = folderOf(imp.target);
    if (from === to || table.get(from)?.has(to)) continue;
    out.push(`${imp.file}:${imp.line} imports '${imp.specifier}': ${from} -> ${to} is not in ${DOC}'s layer table`);
  }
  return out;
}

const files = sourceFiles(SRC);
const texts = new Map(files.map((f) => [f, readFileSync(f, 'utf8')]));
const imports = files.flatMap((f) => importsOf(f, texts.get(f) as string));
const table = parseLayerTable(readFileSync(DOC, 'utf8'));
const folders = [...new Set(files.map(folderOf))].sort();

describe('the layering checks themselves', () => {
  it('read a layer table, nothing and lists included', () => {
    const t = parseLayerTable('# x\n\n| folder | may import |\n|---|---|\n| `a` | nothing |\n| `b` | `a` |\n| `c` | `a`, `b` |\n\ntext');
    expect([...t].map(([k, v]) => [k, [...v]])).toEqual([
      ['a', []],
      ['b', ['a']],
      ['c', ['a', 'b']],
    ]);
    expect(() => parseLayerTable('| folder | may import |\n|---|---|\n| a | b |')).toThrow(/malformed/);
  });

  it('find a cycle and print it in order, and none in a layered graph', () => {
    const g = (edges: Record<string, string[]>): Graph => new Map(Object.entries(edges).map(([k, v]) => [k, new Set(v)]));
    expect(findCycles(g({ a: ['b'], b: ['c'], c: ['a', 'd'], d: [] }))).toEqual([['a', 'b', 'c', 'a']]);
    expect(findCycles(g({ a: ['a'] }))).toEqual([['a', 'a']]);
    expect(findCycles(g({ a: ['b', 'c'], b: ['c'], c: [] }))).toEqual([]);
  });

  it('flag an import between folders that the table does not allow, with its file and line', () => {
    const text = "import type { X } from '../b/x.ts';\nconst m = await import('../c/y.ts');\n";
    const found = importsOf('src/a/f.ts', text);
    expect(found.map((i) => [i.target, i.line])).toEqual([
      ['src/b/x.ts', 1],
      ['src/c/y.ts', 2],
    ]);
    const t: Graph = new Map([['a', new Set(['b'])]]);
    expect(folderViolations(found, t)).toEqual([`src/a/f.ts:2 imports '../c/y.ts': a -> c is not in ${DOC}'s layer table`]);
  });
});

describe('src/ layering (docs/architecture.md)', () => {
  it('the layer table has a row for every folder of src/ and names only folders with a row', () => {
    expect(folders.filter((f) => !table.has(f)), 'folders of src/ without a row').toEqual([]);
    for (const [folder, allowed] of table) {
      for (const a of allowed) {
        expect(table.has(a), `${folder} may import ${a}, which has no row`).toBe(true);
        expect(a, `${folder} lists itself`).not.toBe(folder);
      }
    }
  });

  it('the layer table is a layer order: no cycle among folders', () => {
    expect(findCycles(table).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('every import between folders of src/ is in the table', () => {
    expect(imports.length).toBeGreaterThan(100);
    expect(folderViolations(imports, table)).toEqual([]);
  });

  it('no files of src/ import each other in a cycle', () => {
    const graph = new Map(files.map((f) => [f, new Set<string>()]));
    for (const imp of imports) if (imp.target !== undefined && graph.has(imp.target)) graph.get(imp.file)?.add(imp.target);
    expect(findCycles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it(`${TFJS_FREE.join(', ')} never import TensorFlow.js, and may import only each other`, () => {
    for (const folder of TFJS_FREE) {
      for (const a of table.get(folder) ?? []) expect(TFJS_FREE, `${folder} may import ${a}`).toContain(a);
    }
    const tfjs = imports.filter((i) => TFJS_FREE.includes(folderOf(i.file)) && i.specifier.startsWith('@tensorflow/'));
    expect(tfjs.map((i) => `${i.file}:${i.line} imports ${i.specifier}`)).toEqual([]);
  });

  it('src/vocabulary imports nothing at all', () => {
    expect(imports.filter((i) => folderOf(i.file) === 'vocabulary').map((i) => `${i.file}:${i.line} imports ${i.specifier}`)).toEqual([]);
  });

  it('no file of src/ uses eval or new Function', () => {
    for (const [f, text] of texts) expect(text, f).not.toMatch(/\beval\s*\(|new\s+Function\s*\(/);
  });
});

describe('src/dsl layering', () => {
  const DIR = 'src/dsl';
  const dslFiles = readdirSync(DIR).filter((f) => f.endsWith('.ts'));

  it('has its files', () => {
    expect(dslFiles).toEqual(expect.arrayContaining(['ast.ts', 'ops.ts', 'parse.ts', 'print.ts', 'check.ts', 'interpret.ts', 'generate.ts', 'errors.ts']));
  });

  for (const f of dslFiles) {
    it(`${f} imports only src/dsl and src/util, and uses no Math.random`, () => {
      const path = `${DIR}/${f}`;
      expect(existsSync(path)).toBe(true);
      for (const i of imports.filter((x) => x.file === path)) expect(i.specifier, `${f} imports ${i.specifier}`).toMatch(/^\.\/[a-z]+\.ts$|^\.\.\/util\/[a-z]+\.ts$/);
      expect(texts.get(path)).not.toMatch(/Math\.random/);
    });
  }
});
