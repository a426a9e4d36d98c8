import { describe, expect, it } from 'vitest';
import { applyOp } from '../../src/dsl/interpret.ts';
import { getOp, makeLayout, type OpSpec } from '../../src/dsl/ops.ts';
import {
  compositeObjective,
  feasibleExcess,
  flatLayout,
  impliedProblem,
  K_TABLE,
  kEntryForDirection,
  kFunctions,
  type KFunctions,
  type KId,
} from '../../src/lionk/kfamily.ts';
import { compositeMinimizer, hasCompositeMinimizer, quadValue, type BoxQuadratic } from '../../src/lionk/reference.ts';
import { Rng } from '../../src/util/rng.ts';

const OPTIONS = { threshold: 0.3, p: 1.5 };
const ALL: KFunctions[] = K_TABLE.map((e) => kFunctions(e.id, OPTIONS));
const layout = makeLayout([3, 2]);

function randomVector(rng: Rng, n: number, scale = 2): Float64Array {
  return Float64Array.from({ length: n }, () => scale * rng.normal());
}

const dot = (a: Float64Array, b: Float64Array): number => a.reduce((s, v, i) => s + v * (b[i] as number), 0);

describe('K table', () => {
  it('names the ops that exist in ops.ts, and each op computes grad K', () => {
    const rng = new Rng(3);
    for (const k of ALL) {
      if (k.entry.op === null) continue;
      const spec = getOp(k.entry.op) as OpSpec;
      expect(spec, k.entry.op).toBeDefined();
      for (let trial = 0; trial < 20; trial++) {
        const y = randomVector(rng, layout.total);
        const args = k.entry.op === 'thresh_sign' ? [y, OPTIONS.threshold] : [y];
        const viaOp = applyOp(spec, args, layout) as Float64Array;
        const viaTable = k.gradK(y, layout);
        // l2_normalize is over the whole tensor: the table's K = ||y||_2 has the same gradient.
        for (let i = 0; i < y.length; i++) expect(viaOp[i]).toBeCloseTo(viaTable[i] as number, 14);
      }
    }
  });

  it('grad K is the derivative of K (central differences at random points)', () => {
    const rng = new Rng(5);
    for (const k of ALL) {
      for (let trial = 0; trial < 10; trial++) {
        const y = randomVector(rng, layout.total);
        // Keep away from kinks: |y_i| = threshold, |y_i| = 1 (Huber), ties of |y_j| (linf), y = 0.
        const g = k.gradK(y, layout);
        const h = 1e-6;
        for (let i = 0; i < y.length; i++) {
          const yp = Float64Array.from(y);
          const ym = Float64Array.from(y);
          yp[i] = (yp[i] as number) + h;
          ym[i] = (ym[i] as number) - h;
          const fd = (k.K(yp, layout) - k.K(ym, layout)) / (2 * h);
          expect(Math.abs(fd - (g[i] as number)), `${k.entry.id} coordinate ${i}`).toBeLessThan(1e-6);
        }
      }
    }
  });

  it('Fenchel-Young holds with equality at z = grad K(y): K(y) + K*(z) = <y, z>', () => {
    const rng = new Rng(7);
    for (const k of ALL) {
      for (let trial = 0; trial < 50; trial++) {
        const y = randomVector(rng, layout.total, 3);
        const z = k.gradK(y, layout);
        const lhs = k.K(y, layout) + k.Kstar(z, layout);
        expect(lhs, k.entry.id).toBeCloseTo(dot(y, z), 9);
      }
    }
  });

  it('K*(z) >= <y, z> - K(y) for random y, z (the conjugate is the supremum)', () => {
    const rng = new Rng(11);
    for (const k of ALL) {
      for (let trial = 0; trial < 200; trial++) {
        const y = randomVector(rng, layout.total, 3);
        const z = randomVector(rng, layout.total, 0.4);
        expect(k.Kstar(z, layout) + 1e-12, k.entry.id).toBeGreaterThanOrEqual(dot(y, z) - k.K(y, layout));
      }
    }
  });

  it('the conjugate is +inf outside dom K*: <y, z> - K(y) grows without bound along some y', () => {
    const rng = new Rng(13);
    for (const k of ALL) {
      if (k.entry.feasibleSet === 'none') {
        expect(Number.isFinite(k.Kstar(Float64Array.of(1e3, -1e3, 5, 5, 5), layout))).toBe(true);
        continue;
      }
      const z = randomVector(rng, layout.total);
      // Scale z far outside every unit ball of the table.
      const big = z.map((v) => v * 10 + (v >= 0 ? 10 : -10));
      expect(k.Kstar(big, layout), k.entry.id).toBe(Infinity);
      const y = big.map((v) => 1e6 * v);
      expect(dot(y, big) - k.K(y, layout), k.entry.id).toBeGreaterThan(1e6);
    }
  });

  it('separable conjugates match a brute-force 1-D supremum', () => {
    for (const k of ALL) {
      const kstar1 = k.kstar1;
      if (!kstar1) continue;
      const one = flatLayout(1);
      for (const z of [-0.95, -0.5, -0.1, 0, 0.2, 0.7, 0.99]) {
        let sup = -Infinity;
        for (let y = -60; y <= 60; y += 1e-3) sup = Math.max(sup, z * y - k.K(Float64Array.of(y), one));
        expect(kstar1(z), `${k.entry.id} at ${z}`).toBeCloseTo(sup, 4);
      }
    }
  });

  it('grad K* inverts grad K for the strictly convex smooth K', () => {
    const rng = new Rng(17);
    for (const id of ['half_sq_l2', 'logcosh', 'relativistic'] as KId[]) {
      const k = kFunctions(id);
      for (let trial = 0; trial < 20; trial++) {
        const y = randomVector(rng, layout.total, 1.5);
        const back = k.gradKstar(k.gradK(y, layout), layout);
        for (let i = 0; i < y.length; i++) expect(back[i]).toBeCloseTo(y[i] as number, 8);
      }
    }
  });

  it('every direction of the table maps back to its entry', () => {
    for (const e of K_TABLE) expect(kEntryForDirection(e.direction).id).toBe(e.id);
  });

  it('feasibleExcess measures the distance outside box and ball', () => {
    const x = Float64Array.of(3, -0.5, -2.5);
    expect(Array.from(feasibleExcess('box', x, 0.5, flatLayout(3)))).toEqual([1, 0, 0.5]);
    const n = Math.sqrt(9 + 0.25 + 6.25);
    expect(feasibleExcess('l2-ball', x, 1, flatLayout(3))[0]).toBeCloseTo(n - 1, 14);
    expect(feasibleExcess('l1-ball', x, 1, flatLayout(3))[0]).toBeCloseTo(5, 14);
    expect(feasibleExcess('none', x, 1, flatLayout(3)).length).toBe(0);
  });

  it('implied problems quote 1/lambda', () => {
    expect(impliedProblem(kEntryForDirection('sign'), 1)).toBe('minimize f(w) subject to |w_i| <= 1/lambda = 1 for every i');
    expect(impliedProblem(kEntryForDirection('sign'), 4)).toContain('1/lambda = 0.25');
    expect(impliedProblem(kEntryForDirection('l2_normalize'), 0.5)).toContain('||w||_2 <= 1/lambda = 2');
    expect(impliedProblem(kEntryForDirection('unit_clip'), 2)).toContain('(2/2) ||w||^2');
    expect(impliedProblem(kEntryForDirection('thresh_sign'), 1, 0.01)).toContain('0.01 ||w||_1');
  });
});

describe('reference minimiser of f + (1/lambda) K*(lambda x)', () => {
  const q: BoxQuadratic = { a: Float64Array.of(1, 2, 0.5, 1.5), c: Float64Array.of(3, -0.4, -5, 0.8) };

  it('is clip(c, -1/lambda, 1/lambda) for Lion (lion-k.md section 5)', () => {
    const x = compositeMinimizer(kFunctions('l1'), q, 2, flatLayout(4));
    const want = [0.5, -0.4, -0.5, 0.5];
    for (let i = 0; i < 4; i++) expect(x[i]).toBeCloseTo(want[i] as number, 10);
  });

  it('is a c / (a + lambda) for the plain L2 penalty (K = |y|^2 / 2)', () => {
    const x = compositeMinimizer(kFunctions('half_sq_l2'), q, 0.5, flatLayout(4));
    for (let i = 0; i < 4; i++) expect(x[i]).toBeCloseTo(((q.a[i] as number) * (q.c[i] as number)) / ((q.a[i] as number) + 0.5), 12);
  });

  it('is the radial projection-like KKT point for the L2 ball', () => {
    const lambda = 0.5;
    const x = compositeMinimizer(kFunctions('l2'), q, lambda, flatLayout(4));
    const norm = Math.hypot(...x);
    expect(norm).toBeCloseTo(1 / lambda, 9);
    // KKT: grad f = -mu x with mu >= 0.
    const g = x.map((v, i) => (q.a[i] as number) * (v - (q.c[i] as number)));
    const mu = -dot(g, x) / (norm * norm);
    expect(mu).toBeGreaterThan(0);
    for (let i = 0; i < 4; i++) expect(g[i]).toBeCloseTo(-mu * (x[i] as number), 8);
  });

  it('is no worse than random feasible points, for every K', () => {
    const rng = new Rng(23);
    const solvable = ALL.filter(hasCompositeMinimizer);
    expect(solvable.map((k) => k.entry.id)).not.toContain('lp');
    expect(solvable.length).toBe(ALL.length - 1);
    for (const k of solvable) {
      for (const lambda of [0.5, 1, 3]) {
        const lay = flatLayout(4);
        const x = compositeMinimizer(k, q, lambda, lay);
        const F = (v: Float64Array): number => compositeObjective(k, quadValue(q, v), v, lambda, lay);
        const best = F(x);
        expect(Number.isFinite(best), k.entry.id).toBe(true);
        for (let trial = 0; trial < 300; trial++) {
          const y = x.map((v) => v + rng.normal() * 0.05 / lambda);
          expect(F(y) + 1e-9, `${k.entry.id} lambda ${lambda}`).toBeGreaterThanOrEqual(best);
        }
      }
    }
  });
});

describe('thresholded K with e <= 0', () => {
  it('is the L1 norm plus a constant: Fenchel-Young holds and the problem is the plain box', () => {
    const rng = new Rng(41);
    for (const e of [-0.5, 0]) {
      const k = kFunctions('threshold', { threshold: e });
      for (let trial = 0; trial < 20; trial++) {
        const y = randomVector(rng, 5);
        const z = k.gradK(y, flatLayout(5));
        expect(k.K(y, flatLayout(5)) + k.Kstar(z, flatLayout(5))).toBeCloseTo(dot(y, z), 10);
      }
      expect(impliedProblem(kEntryForDirection('thresh_sign'), 2, e)).toBe(`minimize f(w) subject to |w_i| <= 1/lambda = 0.5 for every i (e = ${e} <= 0: plain Lion)`);
    }
  });
});
