import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseProgram } from '../../src/dsl/parse.ts';
import { EXPORT_FORMATS, exportProgram } from '../../src/export/index.ts';

describe('docs/export.md', () => {
  const doc = readFileSync('docs/export.md', 'utf8');
  const lion = parseProgram(readFileSync('search-spaces/programs/lion.prog', 'utf8'));

  for (const format of EXPORT_FORMATS) {
    it(`shows the current ${format} output for lion.prog`, () => {
      expect(doc).toContain(`## ${format}`);
      expect(doc).toContain(exportProgram(lion, format, { name: 'lion' }).trimEnd());
    });
  }
});
