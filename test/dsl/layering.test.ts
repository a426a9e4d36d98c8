/** src/dsl is the lowest layer: it imports only itself and src/util, and never runs program text as code. */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const DIR = 'src/dsl';
const files = readdirSync(DIR).filter((f) => f.endsWith('.ts'));

describe('src/dsl layering', () => {
  it('has its files', () => {
    expect(files).toEqual(expect.arrayContaining(['ast.ts', 'ops.ts', 'parse.ts', 'print.ts', 'check.ts', 'interpret.ts', 'generate.ts', 'errors.ts']));
  });

  for (const f of files) {
    it(`${f} imports only src/dsl and src/util, and uses no eval, new Function or Math.random`, () => {
      const text = readFileSync(`${DIR}/${f}`, 'utf8');
      const specifiers = [...text.matchAll(/^\s*import\s[^;]*?from\s+'([^']+)'/gm)].map((m) => m[1] as string);
      for (const s of specifiers) expect(s, `${f} imports ${s}`).toMatch(/^\.\/[a-z]+\.ts$|^\.\.\/util\/[a-z]+\.ts$/);
      expect(text).not.toMatch(/\beval\s*\(|new\s+Function\s*\(|Math\.random/);
    });
  }
});
