/** optsearch simplify and optsearch hash, run as a user runs them (a child process). */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/analysis/fingerprint.ts';
import { structuralHash } from '../../src/analysis/hash.ts';
import { loadProgram } from './helpers.ts';

function optsearch(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/optsearch.mjs', ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'optsearch-analysis-'));
  writeFileSync(join(dir, 'bad.prog'), 'def train(w, g, m, v, lr):\n  u = frobnicate(g)\n  return u, m, v\n');
  writeFileSync(join(dir, 'syntax.prog'), 'def train(w, g, lr):\n  u = g +\n  return u\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PAPER = 'search-spaces/programs/paper-discovered.prog';

describe('optsearch simplify', () => {
  it('prints the simplified Program 4, its family and the removed statements', () => {
    const r = optsearch('simplify', PAPER);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('clip(g, lr)');
    expect(r.stdout).toContain('sign(');
    expect(r.stdout.slice(0, r.stdout.indexOf('#'))).not.toContain('cosh');
    expect(r.stdout).toContain('# 12 -> 9 statements');
    expect(r.stdout).toMatch(/# family: lion \(variant\): b1 0\.899, b2 0\.996991, weight decay 0\.4602, lr x 0\.0002/);
    expect(r.stdout).toContain('line 13: m = cosh(update)  (removed: dead-state)');
    expect(r.stdout).not.toContain('(interp-fusion)');
  });

  it('--trace lists every rule application; --exact keeps the protected division', () => {
    expect(optsearch('simplify', PAPER, '--trace').stdout).toContain('interp(g, m, 1.109)  ->  interp(g, v, 0.996991)  (interp-fusion)');
    const exact = optsearch('simplify', PAPER, '--exact').stdout;
    expect(exact).toContain(' / ');
    expect(exact).toContain('abs(');
  });

  it('--json gives the program, the family and the steps', () => {
    const r = optsearch('simplify', PAPER, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.statements).toEqual({ before: 12, after: 9 });
    expect(j.family.family).toBe('lion');
    expect(j.family.hyperparameters.b1).toBe(0.899);
    expect(j.steps.some((s: { rule: string }) => s.rule === 'dead-state')).toBe(true);
    expect(j.hash).toBe(structuralHash(loadProgram('paper-discovered')));
  });

  it('bad input: one line naming the problem, exit 2', () => {
    for (const args of [['nope.prog'], [join(dir, 'bad.prog')], [join(dir, 'syntax.prog')], [dir]]) {
      const r = optsearch('simplify', ...args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^optsearch: /);
    }
    expect(optsearch('simplify', join(dir, 'bad.prog')).stderr).toContain("unknown function 'frobnicate'");
  });
});

describe('optsearch hash', () => {
  it('prints the structural hash and the fingerprint the library computes', () => {
    const r = optsearch('hash', 'search-spaces/programs/lion.prog');
    expect(r.code).toBe(0);
    const lion = loadProgram('lion');
    expect(r.stdout).toBe(`structural  ${structuralHash(lion)}\nfingerprint ${fingerprint(lion)}\n`);
    const j = JSON.parse(optsearch('hash', 'search-spaces/programs/lion.prog', '--json').stdout);
    expect(j).toEqual({ structuralHash: structuralHash(lion), fingerprint: fingerprint(lion), liveStatements: 7 });
  });

  it('bad input exits 2 with one line', () => {
    const r = optsearch('hash', join(dir, 'syntax.prog'));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/syntax\.prog:2:\d+: /);
  });
});
