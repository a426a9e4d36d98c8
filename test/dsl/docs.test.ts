/** docs/dsl.md against the code: the op table, the diagnostic codes, the counts. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES } from '../../src/dsl/errors.ts';
import { OPS, PAPER_OPS, type OpSpec } from '../../src/dsl/ops.ts';

const DOC = readFileSync('docs/dsl.md', 'utf8');

interface Row {
  readonly name: string;
  readonly args: string;
  readonly result: string;
  readonly cells: number;
}

/** Rows of the function table: `| \`name\` | args | result | semantics | description |`. */
function opRows(): Row[] {
  const start = DOC.indexOf('| op | arguments | result | semantics | description |');
  expect(start, 'the function table header').toBeGreaterThan(0);
  const rows: Row[] = [];
  for (const line of DOC.slice(start).split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    // split on pipes that are not escaped
    const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim());
    const name = /^`([a-z0-9_]+)`$/.exec(cells[0] ?? '')?.[1];
    expect(name, `op cell of: ${line}`).toBeDefined();
    rows.push({ name: name as string, args: cells[1] ?? '', result: cells[2] ?? '', cells: cells.length });
  }
  return rows;
}

const RESULT_TEXT: Record<OpSpec['result'], string> = { same: 'same', join: 'T or S', T: 'T', S: 'S' };

describe('docs/dsl.md', () => {
  const rows = opRows();

  it('has one row per op of OPS, and no row for an op that does not exist', () => {
    const documented = rows.map((r) => r.name);
    const missing = OPS.map((o) => o.name).filter((n) => !documented.includes(n));
    expect(missing, 'ops missing from docs/dsl.md').toEqual([]);
    expect(documented.filter((n) => !OPS.some((o) => o.name === n)), 'rows for unknown ops').toEqual([]);
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('gives every op its argument kinds, arity and result kind as in ops.ts, in five cells', () => {
    for (const spec of OPS as readonly OpSpec[]) {
      const row = rows.find((r) => r.name === spec.name);
      if (!row) continue; // reported by the test above
      expect(row.cells, spec.name).toBe(5);
      const kinds = row.args === '–' ? [] : row.args.split(',').map((a) => a.trim().split(':')[1]?.trim());
      expect(kinds, `${spec.name} arguments`).toEqual([...spec.args]);
      expect(row.result, `${spec.name} result`).toBe(RESULT_TEXT[spec.result]);
    }
  });

  it('states the op counts that ops.ts has', () => {
    const lionK = OPS.filter((o) => o.group === 'lionk').length;
    expect(DOC).toContain(`${OPS.length} ops: the paper's 45 functions with \`invert\` dropped (${PAPER_OPS.length}), ${lionK} Lion-K direction maps, and \`copy\``);
    expect(OPS.length).toBe(PAPER_OPS.length + lionK + 1);
  });

  it('lists every diagnostic code', () => {
    for (const code of DIAGNOSTIC_CODES) expect(DOC, code).toContain(`| \`${code}\` |`);
  });
});
