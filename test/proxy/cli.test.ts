/** optsearch tasks and optsearch eval, run as a user would. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['bin/optsearch.mjs', ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('optsearch tasks', () => {
  it('lists every task with kind, steps and cost, and the suites', () => {
    const r = cli('tasks', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as { tasks: { name: string; steps: { x1: number; x10: number }; costSeconds: number | null }[]; suites: Record<string, string[]> };
    const names = j.tasks.map((t) => t.name);
    for (const n of ['quadratic', 'box-quadratic', 'logreg-cancer', 'digits-mlp', 'digits-conv', 'charlm', 'teacher-student']) expect(names).toContain(n);
    for (const t of j.tasks) expect(t.steps.x10).toBeGreaterThan(t.steps.x1);
    expect(j.suites.default!.every((n) => names.includes(n))).toBe(true);
    const text = cli('tasks');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^task\s+kind\s+steps/);
    expect(text.out).toMatch(/digits-mlp\s+classifier/);
  });
});

describe('optsearch eval', () => {
  it('scores the baseline program itself at fitness 1 and prints per-task figures', () => {
    const r = cli('eval', 'search-spaces/programs/adamw.prog', 'search-spaces/programs/lion.prog', '--tasks', 'quadratic', '--backend', 'wasm', '--workers', '0', '--json');
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out) as { program: string; task: string; status: string; fitness: number; finalLoss: number; backend: string; seconds: number }[];
    expect(rows).toHaveLength(2);
    const adamw = rows.find((x) => x.program.endsWith('adamw.prog'))!;
    expect(adamw.status).toBe('ok');
    expect(adamw.fitness).toBe(1);
    expect(adamw.backend).toBe('wasm');
    expect(adamw.seconds).toBeGreaterThan(0);
    const text = cli('eval', 'search-spaces/programs/adamw.prog', '--tasks', 'quadratic', '--backend', 'wasm', '--workers', '1', '--seed', '3');
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/program\s+task\s+status\s+final loss\s+baseline\s+metric\s+fitness\s+seconds\s+backend/);
    expect(text.out).toMatch(/quadratic\s+ok\s+\d\.\d{4}\s+\d\.\d{4}\s+\S+ max \|w - w\*\|\s+1\.000\s+\d+\.\d\d\s+wasm/);
  });

  it('rejects bad input with one line and exit code 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'optsearch-eval-'));
    const broken = join(dir, 'broken.prog');
    writeFileSync(broken, 'def train(w, g, lr):\n  u = g +\n  return u\n');
    const cases: [string[], RegExp][] = [
      [['eval', 'search-spaces/programs/lion.prog', '--tasks', 'no-such-task'], /unknown task 'no-such-task'/],
      [['eval', 'search-spaces/programs/lion.prog', '--fidelity', '3'], /--fidelity must be 1, 10 or 100/],
      [['eval', 'search-spaces/programs/lion.prog', '--seed', '-1'], /--seed must be an integer/],
      [['eval', 'search-spaces/programs/lion.prog', '--workers', 'two'], /--workers must be an integer/],
      [['eval', 'search-spaces/programs/lion.prog', '--backend', 'tpu'], /--backend must be/],
      [['eval', join(dir, 'missing.prog')], /no such program file/],
      [['eval', broken], /broken\.prog:2:/],
    ];
    for (const [args, re] of cases) {
      const r = cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.err).toMatch(re);
    }
  });
});
