/**
 * Behavioural fingerprint: equal for equal behaviour (x + x vs 2 * x), different for different
 * behaviour, and on 100,000 random programs no two structurally different programs share a
 * fingerprint while behaving differently on a second, independent probe set.
 */
import { describe, expect, it } from 'vitest';
import { countConflations, DEFAULT_PROBE_SEED, fingerprint, fingerprintWithSeed, hashQuantised, probeInputs, probeReduced, SECOND_PROBE_SEED } from '../../src/analysis/fingerprint.ts';
import { simplify } from '../../src/analysis/simplify.ts';
import { prepare, step } from '../../src/dsl/interpret.ts';
import { reduce } from '../../src/analysis/pipeline.ts';
import { randomProgram } from '../../src/dsl/generate.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { Rng } from '../../src/util/rng.ts';
import { loadProgram, programText, shippedProgramNames } from './helpers.ts';

const prog = (body: string, ret = 'u, m'): ReturnType<typeof parseProgram> => parseProgram(`def f(w, g, m, lr):\n${body}\n  return ${ret}\n`);

/** Fraction of positions where the outputs differ beyond 1e-6 relative or in NaN/Inf pattern. */
describe('fingerprint by hand', () => {
  it('x + x and 2 * x collide, and so do differently written equal programs', () => {
    expect(fingerprint(prog('  u = g + g'))).toBe(fingerprint(prog('  u = g * 2.0')));
    // Not caught by the rewrites: (x + x) + x against x * 3 (equal in Float64 except in the last bit).
    const a = prog('  a = g + g\n  u = a + g');
    const b = prog('  u = g * 3.0');
    expect(fingerprint(a)).toBe(fingerprint(b));
  });

  it('a scalar update counts as that scalar broadcast over the weights', () => {
    // lr * 0.5 (a Scalar) and (w - w + lr) * 0.5 (a Tensor of the same values) move w the same way.
    const scalar = prog('  u = lr * 0.5');
    const tensor = prog('  a = w - w\n  b = a + lr\n  u = b * 0.5');
    expect(fingerprint(scalar)).toBe(fingerprint(tensor));
  });

  it('different behaviour gives different fingerprints', () => {
    const names = shippedProgramNames();
    const fps = names.map((n) => fingerprint(loadProgram(n)));
    expect(new Set(fps).size).toBe(names.length);
    expect(fingerprint(prog('  u = g * 2.0'))).not.toBe(fingerprint(prog('  u = g * 2.000001')));
    // Per-leaf norm and global norm differ only with more than one leaf: the probes have two.
    expect(fingerprint(prog('  a = norm(g)\n  u = g / a'))).not.toBe(fingerprint(prog('  a = global_norm(g)\n  u = g / a')));
  });

  it('is deterministic, 16 hex digits, and depends on the probe seed', () => {
    const lion = loadProgram('lion');
    expect(fingerprint(lion)).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint(lion)).toBe(fingerprint(parseProgram(programText('lion'))));
    expect(fingerprintWithSeed(lion, DEFAULT_PROBE_SEED)).toBe(fingerprint(lion));
    expect(fingerprintWithSeed(lion, SECOND_PROBE_SEED)).not.toBe(fingerprint(lion));
  });

  it('state is carried: a program that reads its slot differs from one that does not', () => {
    const reads = prog('  m = interp(g, m, 0.9)\n  u = m * 1.5', 'u, m');
    const fresh = prog('  a = g * 0.1\n  u = a * 1.5\n  m = interp(g, m, 0.9)', 'u, m');
    // Equal at step 0 (m = 0), different afterwards.
    expect(fingerprint(reads)).not.toBe(fingerprint(fresh));
  });

  it('ignores a dead state slot: Program 4 with and without m = cosh(update)', () => {
    const paper = programText('paper-discovered');
    expect(fingerprint(parseProgram(paper.replace('  m = cosh(update)\n', '')))).toBe(fingerprint(parseProgram(paper)));
  });

  it('quantises to about 8 significant digits and tokenises NaN, Inf and signed zero', () => {
    const q = (xs: number[]): string => hashQuantised(Float64Array.from(xs));
    expect(q([1.0])).toBe(q([1.0 + 1e-12]));
    expect(q([1.0])).not.toBe(q([1.0 + 1e-6]));
    expect(q([0])).toBe(q([-0]));
    expect(q([Number.NaN])).toBe(q([-Number.NaN]));
    expect(q([Infinity])).not.toBe(q([-Infinity]));
    expect(q([Infinity])).not.toBe(q([Number.NaN]));
    expect(q([1e308])).not.toBe(q([Infinity]));
  });
});

describe('fingerprint collisions on 100,000 random programs', () => {
  /**
   * Structurally different programs that share a fingerprint either behave the same (x + x + x vs
   * 3 * x) or differ only on a small part of input space: a thresh_sign window, a NaN domain that
   * the first probe never enters. A second, independent probe set finds the latter. With a finite
   * probe their number is not zero (see docs/analysis.md); what must hold is that they are rare and
   * that the programs so conflated agree on most of the second probe.
   */
  it('conflated programs are rare (< 0.5% of distinct hashes) and agree on most of a second probe', () => {
    const rng = new Rng(5150);
    const programs = Array.from({ length: 100_000 }, () => randomProgram(rng, { length: 1 + rng.int(30) }));
    const { distinctHashes: distinct, sharing, conflated: falseCollisions, worstFraction } = countConflations(programs);
    expect(sharing).toBeGreaterThan(1000);
    expect(falseCollisions / distinct).toBeLessThan(0.005);
    expect(worstFraction).toBeLessThan(0.5);
  });

  it('programs that differ in smooth code never collide: 2,000 constant changes in Lion-like programs', () => {
    const rng = new Rng(8);
    const base = programText('lion');
    const seen = new Map<string, string>();
    for (let i = 0; i < 2000; i++) {
      const b1 = Number(rng.uniform(0.5, 0.999).toPrecision(6));
      const b2 = Number(rng.uniform(0.5, 0.999).toPrecision(6));
      const wd = Number(rng.uniform(0, 2).toPrecision(6));
      const text = base.replace('0.9)', `${b1})`).replace('0.99)', `${b2})`).replace('w * 1.0', `w * ${wd}`);
      const fp = fingerprint(parseProgram(text));
      const key = `${b1},${b2},${wd}`;
      const other = seen.get(fp);
      if (other !== undefined) expect(other).toBe(key);
      seen.set(fp, key);
    }
  });
});

describe('the batched probe is the interpreter', () => {
  it('on 2,000 random programs its outputs equal step() of the canonical program, bit for bit, per configuration', () => {
    const { layout, configs } = probeInputs(DEFAULT_PROBE_SEED);
    const rng = new Rng(31337);
    let reductions = 0;
    for (let n = 0; n < 2000; n++) {
      const p = randomProgram(rng, { length: 1 + rng.int(30) });
      const r = reduce(p);
      const canonical = simplify(p, { trace: false }).program;
      if (canonical.statements.some((s) => ['clip', 'norm', 'global_norm', 'dot', 'cosine_sim', 'l2_normalize'].includes(s.op))) reductions++;
      const probe = probeReduced(r);
      const prep = prepare(canonical);
      const live = r.liveSlots.map((l, i) => (l ? i : -1)).filter((i) => i >= 0);
      const per = layout.total;
      const total = configs.length * per;
      configs.forEach((steps, c) => {
        let state: readonly Float64Array[] = Array.from({ length: prep.slotCount }, () => new Float64Array(per));
        steps.forEach((input, s) => {
          const out = step(prep, { ...input, state }, layout);
          const base = s * total * (1 + live.length);
          const expectSame = (got: number, want: number): void => {
            if (Number.isNaN(want)) expect(got).toBeNaN();
            else expect(Object.is(got, want) || got === want).toBe(true);
          };
          for (let i = 0; i < per; i++) {
            const u = typeof out.update === 'number' ? out.update : out.update[i]!;
            expectSame(probe[base + c * per + i]!, u);
            live.forEach((slot, k) => expectSame(probe[base + (1 + k) * total + c * per + i]!, out.state[slot]![i]!));
          }
          state = out.state;
        });
      });
    }
    expect(reductions).toBeGreaterThan(200);
  });
});
