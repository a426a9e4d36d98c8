import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Program } from '../../src/dsl/ast.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { readLionK } from '../../src/lionk/analyze.ts';
import {
  checkBoxInvariance,
  checkConstrainedOptimum,
  checkContinuousLyapunov,
  checkDiscreteLyapunov,
  checkOneStepReference,
  checkPhase1Contraction,
  checkScaleInvariance,
  runLionKChecks,
  type CheckId,
  type CheckResult,
} from '../../src/lionk/checks.ts';
import { theoryConditions, type LionKParams } from '../../src/lionk/params.ts';

const load = (name: string): Program => parseProgram(readFileSync(new URL(`../../search-spaces/programs/${name}.prog`, import.meta.url), 'utf8'));

/** A Lion-K program with the given direction statement and constants. */
function lionK(direction: string, b1: number, b2: number, wd: number, lrMultiplier: number): Program {
  return parseProgram(`def train(w, g, m, v, lr):
  update = interp(g, m, ${b1})
  update = ${direction}
  m = interp(g, m, ${b2})
  wd = w * ${wd}
  update = update + wd
  lr = lr * ${lrMultiplier}
  update = update * lr
  return update, m, v
`);
}

const LION: LionKParams = { direction: 'sign', b1: 0.9, b2: 0.99, lambda: 1, lrMultiplier: 0.0003 };
/** The shipped Lion programs: wd 0.1. */
const SHIPPED: LionKParams = { ...LION, lambda: 0.1 };

const byId = (rs: readonly CheckResult[], id: CheckId): CheckResult => rs.find((r) => r.id === id) as CheckResult;

describe('Lion-K checks on the shipped programs', () => {
  // Expected readings written by hand from the program files, independent of the family recogniser.
  const cases: { file: string; params: LionKParams; notApplicable: CheckId[] }[] = [
    { file: 'lion', params: SHIPPED, notApplicable: ['lyapunov-continuous'] },
    { file: 'lion-tanh', params: { ...SHIPPED, direction: 'tanh' }, notApplicable: ['scale-invariance'] },
    { file: 'lion-huber', params: { ...SHIPPED, direction: 'unit_clip' }, notApplicable: ['scale-invariance'] },
    { file: 'lion-rel', params: { ...SHIPPED, direction: 'rel_sign' }, notApplicable: ['scale-invariance'] },
    { file: 'lion-l2', params: { ...SHIPPED, direction: 'l2_normalize' }, notApplicable: ['lyapunov-continuous'] },
    { file: 'lion-thresh', params: { ...SHIPPED, direction: 'thresh_sign', threshold: 0.01 }, notApplicable: ['lyapunov-continuous', 'scale-invariance'] },
  ];

  for (const c of cases) {
    it(`${c.file}: the family reading gives the expected parameters and every applicable check passes`, () => {
      const program = load(c.file);
      const reading = readLionK(program);
      expect(reading.params).toEqual(c.params);
      const results = runLionKChecks(program, c.params);
      expect(results.length).toBe(7);
      for (const r of results) {
        if (c.notApplicable.includes(r.id)) {
          expect(r.status, `${c.file} ${r.id}`).toBe('n/a');
        } else {
          expect(r.status, `${c.file} ${r.id}: ${r.detail}`).toBe('pass');
          expect(r.measured as number).toBeLessThanOrEqual(r.threshold as number);
        }
      }
      expect(theoryConditions(c.params).every((k) => k.holds)).toBe(true);
    });
  }

  it('is deterministic for a seed', () => {
    const a = runLionKChecks(load('lion-tanh'), { ...LION, direction: 'tanh' }, { seed: 5 });
    const b = runLionKChecks(load('lion-tanh'), { ...LION, direction: 'tanh' }, { seed: 5 });
    expect(a).toEqual(b);
  });

  it('passes at other seeds, dimensions and decay strengths (lambda 0.1 and 10)', () => {
    for (const [wd, c] of [[0.1, 0.001], [10, 0.00003]] as const) {
      for (const dir of ['sign', 'tanh', 'l2_normalize'] as const) {
        const program = lionK(`${dir}(update)`, 0.9, 0.99, wd, c);
        const params = readLionK(program).params as LionKParams;
        expect(params.lambda).toBe(wd);
        for (const r of runLionKChecks(program, params, { seed: 9, dim: 5 })) {
          expect(r.status === 'fail', `${dir} lambda ${wd} ${r.id}: ${r.detail}`).toBe(false);
        }
      }
    }
  });
});

describe('negative controls: each check catches a program that is not what the parameters claim', () => {
  it('b1 > b2 breaks the discrete Lyapunov check (smooth K, as lion-k.md 4.2 reports)', () => {
    for (const dir of ['tanh', 'rel_sign', 'unit_clip'] as const) {
      const params: LionKParams = { ...LION, direction: dir, b1: 0.99, b2: 0.9 };
      const r = checkDiscreteLyapunov(lionK(`${dir}(update)`, 0.99, 0.9, 1, 0.0003), params);
      expect(r.status, `${dir}: ${r.detail}`).toBe('fail');
      expect(r.measured as number).toBeGreaterThan(1);
      expect(theoryConditions(params).find((c) => c.name === 'b1 <= b2')?.holds).toBe(false);
      // The same K with b1 <= b2 passes.
      expect(checkDiscreteLyapunov(lionK(`${dir}(update)`, 0.9, 0.99, 1, 0.0003), { ...params, b1: 0.9, b2: 0.99 }).status).toBe('pass');
    }
  });

  it('eps*gamma > 1 (b1 < 0) breaks the continuous-time check', () => {
    for (const dir of ['tanh', 'rel_sign', 'unit_clip'] as const) {
      const params: LionKParams = { ...LION, direction: dir, b1: -0.5 };
      const r = checkContinuousLyapunov(lionK(`${dir}(update)`, -0.5, 0.99, 1, 0.0003), params);
      expect(r.status, `${dir}: ${r.detail}`).toBe('fail');
      expect(theoryConditions(params).find((c) => c.name === 'eps*gamma <= 1')?.holds).toBe(false);
    }
  });

  it('coupled decay inside the sign is not read as Lion-K, and claimed as Lion it fails box invariance, contraction, the step formula and scale invariance', () => {
    const coupled = load('lion-coupled');
    const reading = readLionK(coupled);
    expect(reading.params).toBeNull();
    expect(reading.reasons.join(' ')).toMatch(/coupled/);
    const results = runLionKChecks(coupled, LION);
    for (const id of ['one-step-reference', 'box-invariance', 'phase1-contraction', 'constrained-optimum', 'scale-invariance'] as CheckId[]) {
      expect(byId(results, id).status, id).toBe('fail');
    }
  });

  it('lr*lambda > 1 at the peak is reported outside the theory, and the box is not invariant', () => {
    const params: LionKParams = { ...LION, lrMultiplier: 2 };
    const program = lionK('sign(update)', 0.9, 0.99, 1, 2);
    expect(readLionK(program).params).toEqual(params);
    const cond = theoryConditions(params).find((c) => c.name === 'lr*lambda <= 1');
    expect(cond?.holds).toBe(false);
    expect(cond?.detail).toContain('eta*lambda = 2');
    expect(checkBoxInvariance(program, params).status).toBe('fail');
    expect(checkPhase1Contraction(program, params).status).toBe('fail');
  });

  it('a program without the decay, claimed with lambda = 1, fails contraction and the optimum', () => {
    const noDecay = parseProgram(`def train(w, g, m, v, lr):
  update = interp(g, m, 0.9)
  update = sign(update)
  m = interp(g, m, 0.99)
  lr = lr * 0.0003
  update = update * lr
  return update, m, v
`);
    expect(checkPhase1Contraction(noDecay, LION).status).toBe('fail');
    expect(checkConstrainedOptimum(noDecay, LION).status).toBe('fail');
    expect(checkBoxInvariance(noDecay, LION).status).toBe('fail');
  });

  it('a decay of 0.5 claimed as 1 converges to the wrong box', () => {
    const r = checkConstrainedOptimum(lionK('sign(update)', 0.9, 0.99, 0.5, 0.0003), LION);
    expect(r.status).toBe('fail');
    expect(r.measured as number).toBeGreaterThan(0.1);
  });

  it('tanh claimed as sign fails scale invariance and the step formula', () => {
    const tanh = load('lion-tanh');
    expect(checkScaleInvariance(tanh, LION).status).toBe('fail');
    expect(checkOneStepReference(tanh, LION).status).toBe('fail');
  });

  it('swapped b1 and b2 fail the step formula', () => {
    expect(checkOneStepReference(load('lion'), { ...LION, b1: 0.99, b2: 0.9 }).status).toBe('fail');
  });
});

describe('a Lion-K program applied to a transformed gradient (the paper\'s discovered program)', () => {
  it('is reported with its constraint, and the interpreter keeps |w| <= 1/0.4602 under adversarial gradients', async () => {
    const { analyzeProgram } = await import('../../src/lionk/analyze.ts');
    const { runSteps } = await import('../../src/dsl/interpret.ts');
    const { makeLayout } = await import('../../src/dsl/ops.ts');
    const { Rng } = await import('../../src/util/rng.ts');
    const program = load('paper-discovered');
    const a = analyzeProgram(program);
    expect(a.isLionK).toBe(false);
    expect(a.checks).toBeUndefined();
    expect(a.transformedGradient?.transform).toBe('arcsin(clip(g, lr))');
    expect(a.transformedGradient?.params).toMatchObject({ direction: 'sign', lambda: 0.4602, lrMultiplier: 0.0002 });
    const bound = 1 / 0.4602;
    const rng = new Rng(4);
    const n = 6;
    let worst = -Infinity;
    // Start on the bound, push outward hard; the schedule stays in the program's own range [0, 1]
    // (it is also clip's threshold).
    runSteps(program, {
      layout: makeLayout([n]),
      w0: Float64Array.from({ length: n }, (_, i) => (i % 2 === 0 ? bound : -bound * rng.uniform(0.9, 1))),
      steps: 3000,
      gradient: (w, t) => (t % 50 < 40 ? w.map((v) => -1e3 * v) : w.map(() => rng.normal())),
      schedule: () => rng.uniform(0, 1),
      onStep: (_t, w) => {
        for (const v of w) worst = Math.max(worst, Math.abs(v) - bound);
      },
    });
    expect(worst).toBeLessThanOrEqual(1e-12 * bound);
    expect(worst).toBeGreaterThan(-1e-3 * bound); // the weights do press on the bound
  });
});

describe('the eta/lambda mapping when the decay is written after the lr scaling', () => {
  it('update = sign(c)*(lr*0.001) + w*(lr*0.002) is lambda = 2 (box 0.5), and the checks confirm it', () => {
    const program = parseProgram(`def train(w, g, m, v, lr):
  c = interp(g, m, 0.9)
  s = sign(c)
  m = interp(g, m, 0.99)
  step = lr * 0.001
  s = s * step
  k = lr * 0.002
  d = w * k
  update = s + d
  return update, m, v
`);
    const params = readLionK(program).params as LionKParams;
    expect(params.lrMultiplier).toBeCloseTo(0.001, 15);
    expect(params.lambda).toBeCloseTo(2, 12);
    const results = runLionKChecks(program, params);
    for (const r of results) expect(r.status === 'fail', `${r.id}: ${r.detail}`).toBe(false);
    // Claiming the decay constant itself (0.002) as lambda puts the box at 500: the optimum check sees it.
    expect(checkConstrainedOptimum(program, { ...params, lambda: 0.002 }).status).toBe('fail');
  });
});
