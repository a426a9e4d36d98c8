/** The proxy study's reference optimizers: each program text is the method and constants its label claims. */
import { describe, expect, it } from 'vitest';
import { recognizeFamily } from '../../src/analysis/family.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { bestPerMethod, methodPrograms, SGD_LR_FACTOR, STUDY_GRID } from '../../src/replay/methods.ts';
import { pairedDifference, standardError } from '../../src/util/stats.ts';

const labelNumber = (label: string, key: string): number | undefined => {
  const m = new RegExp(`(?:^|, )${key} ([0-9.e-]+)`).exec(label);
  return m ? Number(m[1]) : undefined;
};

describe('methodPrograms', () => {
  const configs = methodPrograms(STUDY_GRID);

  it('covers the grid: every method at every lr x weight decay, signum at two betas, Lion at two beta pairs', () => {
    const cells = STUDY_GRID.lrs.length * STUDY_GRID.wds.length;
    const count = (m: string): number => configs.filter((c) => c.method === m).length;
    expect({ adamw: count('adamw'), signum: count('signum'), lion: count('lion'), sgd: count('sgd'), momentum: count('momentum') }).toEqual({
      adamw: cells,
      signum: 2 * cells,
      lion: 2 * cells,
      sgd: cells,
      momentum: cells,
    });
    expect(new Set(configs.map((c) => `${c.method} ${c.label}`)).size).toBe(configs.length);
  });

  it.each(methodPrograms(STUDY_GRID).map((c) => [`${c.method} ${c.label}`, c] as const))('%s reads back as its family with its constants', (_name, c) => {
    const f = recognizeFamily(parseProgram(c.text));
    expect(f.family).toBe(c.method);
    expect(f.exact).toBe(true);
    const hp = f.hyperparameters as Record<string, number | undefined>;
    expect(hp.lrMultiplier).toBeCloseTo(labelNumber(c.label, 'lr') as number, 12);
    expect(hp.weightDecay).toBeCloseTo(labelNumber(c.label, 'wd') as number, 12);
    const beta = labelNumber(c.label, 'beta');
    if (beta !== undefined) expect([hp.b1, hp.b2]).toEqual([beta, beta]);
    if (c.method === 'lion') expect([hp.b1, hp.b2]).toEqual([labelNumber(c.label, 'b1'), labelNumber(c.label, 'b2')]);
    if (c.method === 'sgd' || c.method === 'momentum') expect(STUDY_GRID.lrs.map((lr) => lr * SGD_LR_FACTOR).some((lr) => Math.abs(lr - (hp.lrMultiplier as number)) < 1e-12)).toBe(true);
  });
});

describe('the study statistics', () => {
  it('pairedDifference: mean and standard error of the per-seed differences, by hand', () => {
    // differences 1, 3, 2: mean 2, sample stdev 1, standard error 1 / sqrt(3)
    const d = pairedDifference([2, 5, 4], [1, 2, 2]);
    expect(d.mean).toBeCloseTo(2, 15);
    expect(d.se).toBeCloseTo(1 / Math.sqrt(3), 15);
    // 4 and 8: sample stdev 2 sqrt(2), standard error 2
    expect(standardError([4, 8])).toBeCloseTo(2, 15);
  });

  it('bestPerMethod keeps the highest fitness of each method, the first on ties', () => {
    const [adamw, signum9, signum99] = methodPrograms({ lrs: [0.01], wds: [0.1] }).filter((x) => x.method === 'adamw' || x.method === 'signum');
    const tie = bestPerMethod([
      { c: adamw!, s: { fitness: 1 } },
      { c: signum9!, s: { fitness: 3 } },
      { c: signum99!, s: { fitness: 3 } },
    ]);
    expect([...tie.keys()]).toEqual(['adamw', 'signum']);
    expect(tie.get('adamw')?.s.fitness).toBe(1);
    expect(tie.get('signum')?.c).toBe(signum9);
    const later = bestPerMethod([
      { c: signum9!, s: { fitness: 2 } },
      { c: signum99!, s: { fitness: 2.5 } },
    ]);
    expect(later.get('signum')?.c).toBe(signum99);
  });
});
