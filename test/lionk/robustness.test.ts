/**
 * analyze never throws: random programs, and Lion-K programs with constants outside the theory
 * (negative or huge decay, b2 = 1, negative b1, negative thresholds, huge lr) give a report.
 */
import { describe, expect, it } from 'vitest';
import { randomProgram } from '../../src/dsl/generate.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { analyzeProgram, formatAnalysis } from '../../src/lionk/analyze.ts';
import { Rng } from '../../src/util/rng.ts';

describe('analyze on arbitrary programs', () => {
  it('random programs: a report, never an exception', () => {
    const rng = new Rng(31);
    let lionK = 0;
    for (let i = 0; i < 300; i++) {
      const p = randomProgram(rng, { length: 1 + rng.int(10) });
      const a = analyzeProgram(p, { skipChecks: true });
      if (a.isLionK) lionK++;
      const text = formatAnalysis(a);
      expect(text.startsWith('family: ')).toBe(true);
      expect(text.includes('not a Lion-K program')).toBe(!a.isLionK);
    }
    // Almost no random program has Lion-K form.
    expect(lionK).toBeLessThan(30);
  });

  it('Lion-K programs with constants outside the theory: a report with the unmet conditions', () => {
    const rng = new Rng(37);
    const dirs = ['sign(u)', 'tanh(u)', 'unit_clip(u)', 'rel_sign(u)', 'l2_normalize(u)', 'thresh_sign(u, E)', 'u * 1'];
    const pick = (xs: readonly number[]): number => xs[rng.int(xs.length)] as number;
    let read = 0;
    for (let i = 0; i < 24; i++) {
      const b1 = pick([-1.5, -0.5, 0, 0.5, 0.9, 0.99, 1, 1.2]);
      const b2 = pick([0, 0.5, 0.9, 0.99, 1, 1.5]);
      const wd = pick([-1, 0, 1e-4, 0.5, 1, 50]);
      const c = pick([1e-6, 3e-4, 0.5, 3, 1e3]);
      const dir = (dirs[rng.int(dirs.length)] as string).replace('E', String(pick([-0.5, 0, 0.01, 2])));
      const p = parseProgram(`def train(w, g, m, v, lr):
  u = interp(g, m, ${b1})
  u = ${dir}
  m = interp(g, m, ${b2})
  d = w * ${wd}
  u = u + d
  lr = lr * ${c}
  u = u * lr
  return u, m, v
`);
      const a = analyzeProgram(p);
      const text = formatAnalysis(a);
      expect(text.length).toBeGreaterThan(0);
      if (a.isLionK) {
        read++;
        expect(a.params?.lambda).toBe(wd);
        expect(a.checks?.length).toBe(7);
        const unmet = (a.conditions ?? []).filter((k) => !k.holds).map((k) => k.name);
        if (b1 > b2) expect(unmet).toContain('b1 <= b2');
        if (c * wd > 1) expect(unmet).toContain('lr*lambda <= 1');
        if (wd <= 0) expect(unmet).toContain('lambda > 0');
      }
    }
    expect(read).toBeGreaterThan(12);
  });
});
