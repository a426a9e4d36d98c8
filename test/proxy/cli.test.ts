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
  type Report = {
    program: string;
    task: string;
    fitness: number;
    seeds: { seed: number; fitness: number; lrMultiplier: number; perMultiplier: { lrMultiplier: number; fitness: number; status: string; finalLoss: number | null; metric: number | null; backend: string; seconds: number }[] }[];
  };

  it('scores the baseline program itself at fitness 1 at its own lr, and prints per-multiplier figures', () => {
    const r = cli('eval', 'search-spaces/programs/adamw.prog', 'search-spaces/programs/lion.prog', '--tasks', 'quadratic', '--backend', 'wasm', '--workers', '0', '--lr-multipliers', '1', '--seeds', '1,2', '--json');
    expect(r.code, r.err).toBe(0);
    const rows = JSON.parse(r.out) as Report[];
    expect(rows).toHaveLength(2);
    const adamw = rows.find((x) => x.program.endsWith('adamw.prog'))!;
    expect(adamw.fitness).toBe(1);
    expect(adamw.seeds.map((s) => s.seed)).toEqual([1, 2]);
    const run = adamw.seeds[0]!.perMultiplier[0]!;
    expect(run).toMatchObject({ lrMultiplier: 1, fitness: 1, status: 'ok', backend: 'wasm' });
    expect(run.seconds).toBeGreaterThan(0);
    const text = cli('eval', 'search-spaces/programs/adamw.prog', '--tasks', 'quadratic', '--backend', 'wasm', '--workers', '1', '--lr-multipliers', '3,1');
    expect(text.code, text.err).toBe(0);
    expect(text.out).toMatch(/program\s+task\s+seed\s+lr\s+status\s+final loss\s+baseline\s+metric\s+fitness\s+seconds\s+backend/);
    expect(text.out).toMatch(/quadratic\s+1\s+x1( \*)?\s+ok\s+\d\.\d{4}\s+\d\.\d{4}\s+\S+ max \|w - w\*\|\s+1\.000\s+\d+\.\d\d\s+wasm/);
    expect(text.out).toMatch(/adamw\.prog on quadratic: fitness \d\.\d{3} \(AdamW = 1; mean over 1 seed\(s\) of the best multiplier: x[31]\)/);
  });

  it('scores Lion on digits-mlp as the search does: its best multiplier (x10) reaches real accuracy, not the hurdle', () => {
    const r = cli('eval', 'search-spaces/programs/lion.prog', '--tasks', 'digits-mlp', '--workers', '0', '--json');
    expect(r.code, r.err).toBe(0);
    const [report] = JSON.parse(r.out) as Report[];
    const seed = report!.seeds[0]!;
    expect(seed.perMultiplier.map((m) => m.lrMultiplier)).toEqual([10, 3, 1]);
    expect(seed.lrMultiplier).toBe(10);
    const best = seed.perMultiplier.find((m) => m.lrMultiplier === 10)!;
    expect(best.status).toBe('ok');
    expect(best.metric).toBeGreaterThan(0.9);
    expect(report!.fitness).toBe(best.fitness);
    expect(report!.fitness).toBeGreaterThan(0);
  });

  it('rejects bad input with one line and exit code 2', () => {
    const dir = mkdtempSync(join(tmpdir(), 'optsearch-eval-'));
    const broken = join(dir, 'broken.prog');
    writeFileSync(broken, 'def train(w, g, lr):\n  u = g +\n  return u\n');
    const cases: [string[], RegExp][] = [
      [['eval', 'search-spaces/programs/lion.prog', '--tasks', 'no-such-task'], /unknown task 'no-such-task'/],
      [['eval', 'search-spaces/programs/lion.prog', '--fidelity', '3'], /--fidelity must be 1, 10 or 100/],
      [['eval', 'search-spaces/programs/lion.prog', '--seeds', 'x'], /--seeds must be a comma-separated list of non-negative integers/],
      [['eval', 'search-spaces/programs/lion.prog', '--seeds', '-1'], /--seeds must be/],
      [['eval', 'search-spaces/programs/lion.prog', '--lr-multipliers', '0'], /--lr-multipliers must be a comma-separated list of positive numbers, got '0'/],
      [['eval', 'search-spaces/programs/lion.prog', '--lr-multipliers', '1,,3'], /--lr-multipliers must be/],
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
