/** Family recognition: every shipped program, equivalent spellings, signum vs Lion, unknown programs. */
import { describe, expect, it } from 'vitest';
import { recognizeFamily, type FamilyReading } from '../../src/analysis/family.ts';
import { randomProgram } from '../../src/dsl/generate.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { Rng } from '../../src/util/rng.ts';
import { loadProgram, shippedProgramNames } from './helpers.ts';

const lionBody = (lines: string): ReturnType<typeof parseProgram> => parseProgram(`def train(w, g, m, v, lr):\n${lines}\n`);

/** Family and hyperparameters expected for each shipped file, read off the files by hand. */
const SHIPPED: Record<string, { family: string; exact: boolean; hp: Record<string, number | string>; slot?: string }> = {
  adamw: { family: 'adamw', exact: true, hp: { b1: 0.9, b2: 0.999, weightDecay: 0.01, lrMultiplier: 0.001, epsilon: 1e-8 }, slot: 'm' },
  lion: { family: 'lion', exact: true, hp: { b1: 0.9, b2: 0.99, weightDecay: 0.1, lrMultiplier: 0.0003, direction: 'sign' }, slot: 'm' },
  'lion-huber': { family: 'lion-k', exact: true, hp: { b1: 0.9, b2: 0.99, weightDecay: 0.1, lrMultiplier: 0.0003, direction: 'unit_clip' }, slot: 'm' },
  'lion-l2': { family: 'lion-k', exact: true, hp: { b1: 0.9, b2: 0.99, weightDecay: 0.1, lrMultiplier: 0.0003, direction: 'l2_normalize' }, slot: 'm' },
  'lion-rel': { family: 'lion-k', exact: true, hp: { b1: 0.9, b2: 0.99, weightDecay: 0.1, lrMultiplier: 0.0003, direction: 'rel_sign' }, slot: 'm' },
  'lion-tanh': { family: 'lion-k', exact: true, hp: { b1: 0.9, b2: 0.99, weightDecay: 0.1, lrMultiplier: 0.0003, direction: 'tanh' }, slot: 'm' },
  'lion-thresh': { family: 'lion-k', exact: true, hp: { b1: 0.9, b2: 0.99, weightDecay: 0.1, lrMultiplier: 0.0003, direction: 'thresh_sign', threshold: 0.01 }, slot: 'm' },
  'lion-coupled': { family: 'unknown', exact: false, hp: { b1: 0.9, b2: 0.99, lrMultiplier: 0.0003, direction: 'sign' } },
  momentum: { family: 'momentum', exact: true, hp: { b1: 0.9, b2: 0.9, weightDecay: 0.0001, lrMultiplier: 0.1, direction: 'identity' }, slot: 'm' },
  'paper-discovered': { family: 'lion', exact: false, hp: { b1: 0.899, b2: 0.899 * 1.109, weightDecay: 0.4602, lrMultiplier: 0.0002, direction: 'sign' }, slot: 'v' },
  sgd: { family: 'sgd', exact: true, hp: { weightDecay: 0.0001, lrMultiplier: 0.1, direction: 'identity' } },
  signsgd: { family: 'signsgd', exact: true, hp: { weightDecay: 0.1, lrMultiplier: 0.0003, direction: 'sign' } },
  signum: { family: 'signum', exact: true, hp: { b1: 0.9, b2: 0.9, weightDecay: 0.1, lrMultiplier: 0.0003, direction: 'sign' }, slot: 'm' },
};

function expectHyperparameters(f: FamilyReading, hp: Record<string, number | string>): void {
  for (const [k, v] of Object.entries(hp)) {
    const got = (f.hyperparameters as Record<string, number | string | undefined>)[k];
    if (typeof v === 'number') expect(got as number, k).toBeCloseTo(v, 12);
    else expect(got, k).toBe(v);
  }
}

describe('every shipped program', () => {
  it('has an expectation here', () => {
    expect(shippedProgramNames()).toEqual(Object.keys(SHIPPED).sort());
  });

  it.each(Object.entries(SHIPPED))('%s', (name, want) => {
    const f = recognizeFamily(loadProgram(name));
    expect(f.family).toBe(want.family);
    expect(f.exact).toBe(want.exact);
    expectHyperparameters(f, want.hp);
    if (want.slot) expect(f.momentumSlot).toBe(want.slot);
    expect(f.summary.length).toBeGreaterThan(10);
  });

  it('the paper program is Lion with a transformed gradient; lion-coupled is nearest Lion with coupled decay', () => {
    const paper = recognizeFamily(loadProgram('paper-discovered'));
    expect(paper.differences).toEqual(['the gradient is transformed: arcsin(clip(g, lr))']);
    const coupled = recognizeFamily(loadProgram('lion-coupled'));
    expect(coupled.nearest).toBe('lion');
    expect(coupled.differences.join(' ')).toContain('coupled');
  });
});

describe('equivalent spellings of Lion read the same', () => {
  const want = { b1: 0.9, b2: 0.99, weightDecay: 0.5, lrMultiplier: 0.0003 };
  const spellings: Record<string, string> = {
    'decay added after the lr scaling': `  c = interp(g, m, 0.9)
  s = sign(c)
  u = s * lr
  u = u * 0.0003
  d = w * lr
  d = d * 0.00015
  u = u + d
  m = interp(g, m, 0.99)
  return u, m, v`,
    'lr folded into one product, operands swapped': `  c = interp(g, m, 0.9)
  s = sign(c)
  d = 0.5 * w
  u = d + s
  k = 0.0003 * lr
  u = k * u
  m = interp(g, m, 0.99)
  return u, m, v`,
    'EMAs written as explicit arithmetic': `  a = g * 0.1
  b = m * 0.9
  c = a + b
  s = sign(c)
  e = m * 0.99
  f = g * 0.01
  m = e + f
  d = w * 0.5
  u = s + d
  u = u * lr
  u = u * 0.0003
  return u, m, v`,
    'decay subtracted as a negative term, lr divided': `  c = interp(g, m, 0.9)
  s = sign(c)
  n = w * -0.5
  u = s - n
  u = u * lr
  u = u / 3333.3333333333335
  m = interp(g, m, 0.99)
  return u, m, v`,
  };

  it.each(Object.entries(spellings))('%s', (_name, body) => {
    const f = recognizeFamily(lionBody(body));
    expect(f.family).toBe('lion');
    expect(f.exact).toBe(true);
    for (const [k, v] of Object.entries(want)) expect((f.hyperparameters as Record<string, number>)[k], k).toBeCloseTo(v, k === 'lrMultiplier' ? 9 : 6);
  });

  it('Nesterov form (sign of an EMA of the updated momentum) is Lion with b1 = b_n * b_p', () => {
    const f = recognizeFamily(lionBody('  m = interp(g, m, 0.99)\n  c = interp(g, m, 0.9)\n  u = sign(c)\n  u = u * lr\n  return u, m, v'));
    expect(f.family).toBe('lion');
    expect(f.hyperparameters.b1).toBeCloseTo(0.9 * 0.99, 15);
    expect(f.hyperparameters.b2).toBe(0.99);
    expect(f.hyperparameters.weightDecay).toBe(0);
  });
});

describe('signum is not Lion', () => {
  it('Lion written with b1 = b2 is signum (the sign of the updated momentum)', () => {
    const f = recognizeFamily(lionBody('  c = interp(g, m, 0.95)\n  u = sign(c)\n  m = interp(g, m, 0.95)\n  u = u * lr\n  return u, m, v'));
    expect(f.family).toBe('signum');
    expect(f.hyperparameters.b1).toBe(0.95);
    expect(f.hyperparameters.b2).toBe(0.95);
  });

  it('b1 != b2 by one ulp is Lion', () => {
    const f = recognizeFamily(lionBody('  c = interp(g, m, 0.95)\n  u = sign(c)\n  m = interp(g, m, 0.9500000000000001)\n  u = u * lr\n  return u, m, v'));
    expect(f.family).toBe('lion');
  });
});

describe('other families and variants', () => {
  it('AdamW with an explicit epsilon reads it off', () => {
    const f = recognizeFamily(
      lionBody('  g2 = square(g)\n  m = interp(g, m, 0.9)\n  v = interp(g2, v, 0.999)\n  s = sqrt(v)\n  s = s + 1e-6\n  u = m / s\n  u = u * lr\n  return u, m, v'),
    );
    expect(f.family).toBe('adamw');
    expect(f.hyperparameters.epsilon).toBeCloseTo(1e-6 + 1e-8, 18);
    expect(f.hyperparameters.weightDecay).toBe(0);
  });

  it('Lion-K identity direction with b1 != b2 (momentum with a look-ahead)', () => {
    const f = recognizeFamily(lionBody('  c = interp(g, m, 0.9)\n  m = interp(g, m, 0.99)\n  u = c * lr\n  return u, m, v'));
    expect(f.family).toBe('lion-k');
    expect(f.hyperparameters.direction).toBe('identity');
  });

  it('heavy-ball momentum m = 0.9 m + g is momentum with a non-standard gain', () => {
    const f = recognizeFamily(lionBody('  a = m * 0.9\n  m = a + g\n  u = m * lr\n  return u, m, v'));
    expect(f.family).toBe('momentum');
    expect(f.exact).toBe(false);
    expect(f.differences.join(' ')).toContain('weighs the gradient by 1');
  });

  it('an update that does not scale with lr is flagged', () => {
    const f = recognizeFamily(lionBody('  u = sign(g)\n  u = u * 0.001\n  return u, m, v'));
    expect(f.family).toBe('signsgd');
    expect(f.exact).toBe(false);
    expect(f.differences).toContain('the update does not scale with lr');
  });

  it('an unknown program names its nearest family and what differs', () => {
    const f = recognizeFamily(lionBody('  a = exp(m)\n  b = tanh(g)\n  u = a * b\n  m = interp(g, m, 0.9)\n  u = u * lr\n  return u, m, v'));
    expect(f.family).toBe('unknown');
    expect(f.nearest).not.toBe('unknown' as never);
    expect(f.nearest).toBe('lion-k');
    expect(f.differences[0]).toContain('not a recognised function');
    expect(f.summary).toContain(`nearest ${f.nearest}`);
  });

  it('never throws on 10,000 random programs, and reports a family or a nearest one', () => {
    const rng = new Rng(99);
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const f = recognizeFamily(randomProgram(rng, { length: 1 + rng.int(30) }));
      seen.add(f.family);
      expect(f.nearest).toBeTruthy();
      if (f.family === 'unknown') expect(f.differences.length).toBeGreaterThan(0);
    }
    expect(seen.has('unknown')).toBe(true);
  });
});
