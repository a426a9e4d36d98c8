import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/optsearch.mjs'), ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const tmp = mkdtempSync(join(tmpdir(), 'optsearch-analyze-'));

describe('optsearch analyze', () => {
  it('lion.prog: the box |w_i| <= 1/lambda with lambda read from the program, every check passes', () => {
    const r = cli('analyze', 'search-spaces/programs/lion.prog');
    expect(r.code).toBe(0);
    expect(r.out).toContain('K(y) = ||y||_1, grad K = sign(y) (op sign)');
    expect(r.out).toContain('with lambda = 0.1 read from the program: minimize f(w) subject to |w_i| <= 1/lambda = 10 for every i');
    expect(r.out).toMatch(/\[met\] lr\*lambda <= 1: .*eta\*lambda = 0\.00003/);
    expect(r.out).toMatch(/PASS feasible-set invariance \(box\)/);
    expect(r.out).toContain('6 passed, 0 failed, 1 not applicable');
    expect(r.out).not.toContain('FAIL');
  });

  it('reads lambda from the program: wd 0.25 gives the box 1/lambda = 4', () => {
    const file = join(tmp, 'lion-wd.prog');
    writeFileSync(
      file,
      `def train(w, g, m, v, lr):
  update = interp(g, m, 0.95)
  update = sign(update)
  m = interp(g, m, 0.98)
  wd = w * 0.25
  update = update + wd
  lr = lr * 0.001
  update = update * lr
  return update, m, v
`,
    );
    const r = cli('analyze', file, '--json');
    expect(r.code).toBe(0);
    const a = JSON.parse(r.out);
    expect(a.isLionK).toBe(true);
    expect(a.params).toEqual({ direction: 'sign', b1: 0.95, b2: 0.98, lambda: 0.25, lrMultiplier: 0.001 });
    expect(a.bound).toBe(4);
    expect(a.problem).toContain('|w_i| <= 1/lambda = 4');
    expect(a.counts).toEqual({ passed: 6, failed: 0, notApplicable: 1 });
    for (const c of a.checks) expect(typeof c.detail).toBe('string');
  });

  it('lion-tanh.prog: the entropy-barrier objective, the continuous-time check runs and passes', () => {
    const r = cli('analyze', 'search-spaces/programs/lion-tanh.prog');
    expect(r.code).toBe(0);
    expect(r.out).toContain('grad K = tanh(y) (op tanh): tanh Lion (smooth sign)');
    expect(r.out).toMatch(/PASS continuous-time dH\/dt <= 0/);
    expect(r.out).toContain('6 passed, 0 failed, 1 not applicable');
  });

  it('reports lr*lambda > 1 as outside the theory, with the failing checks', () => {
    const file = join(tmp, 'lion-big-lr.prog');
    writeFileSync(
      file,
      `def train(w, g, m, v, lr):
  update = interp(g, m, 0.9)
  update = sign(update)
  m = interp(g, m, 0.99)
  wd = w * 1.0
  update = update + wd
  lr = lr * 2.0
  update = update * lr
  return update, m, v
`,
    );
    const r = cli('analyze', file);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\[NOT MET\] lr\*lambda <= 1/);
    expect(r.out).toContain('outside the theory: lr*lambda <= 1');
    expect(r.out).toMatch(/FAIL feasible-set invariance/);
    expect(cli('analyze', file, '--strict').code).toBe(1);
  });

  it('a program not of Lion-K form: the nearest family, exit 0, no checks', () => {
    for (const [file, nearest] of [['adamw', 'adamw'], ['lion-coupled', 'lion']]) {
      const r = cli('analyze', `search-spaces/programs/${file}.prog`);
      expect(r.code).toBe(0);
      expect(r.out).toContain('not a Lion-K program');
      expect(r.out).toContain(`nearest family: ${nearest}`);
      expect(r.out).not.toContain('checks:');
    }
  });

  it('bad input: one line, exit 2', () => {
    const missing = cli('analyze', join(tmp, 'missing.prog'));
    expect(missing.code).toBe(2);
    expect(missing.err.trim().split('\n')).toHaveLength(1);
    expect(missing.err).toContain('no such program file');
    const broken = join(tmp, 'broken.prog');
    writeFileSync(broken, 'def train(w, g, m, v, lr):\n  update = sign(\n  return update, m, v\n');
    const parsed = cli('analyze', broken);
    expect(parsed.code).toBe(2);
    expect(parsed.err).toContain('broken.prog:2');
    expect(cli('analyze', 'search-spaces/programs/lion.prog', '--seed', '-3').code).toBe(2);
  });
});
