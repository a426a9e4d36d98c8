/**
 * Every rewrite rule: an example program on which it fires, and the interpreter's outputs before
 * and after on random bindings at several scales. 'exact' rules must agree to rounding (1e-12
 * relative here); the 'eps' rule is checked against its own error bound 1e-8 / (|x| + 1e-8).
 */
import { describe, expect, it } from 'vitest';
import { reduce } from '../../src/analysis/pipeline.ts';
import { RULES, RewriteLimitError, type RewriteEvent } from '../../src/analysis/rewrite.ts';
import { simplify } from '../../src/analysis/simplify.ts';
import { prepare, step } from '../../src/dsl/interpret.ts';
import { EPS, makeLayout } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { printProgram } from '../../src/dsl/print.ts';
import { Rng } from '../../src/util/rng.ts';
import { compareRuns, loadProgram } from './helpers.ts';

/** Body lines; `u` is the update, m and v the state (returned as is unless a line assigns them). */
const EXAMPLES: Record<string, string[][]> = {
  'constant-fold': [['c = exp(0.5)', 'u = g * c'], ['c = get_pi()', 'd = c * 2.0', 'u = g + d']],
  'add-zero': [['u = g + 0.0'], ['a = lr * 2.0', 'b = 0.0 + a', 'u = g * b']],
  'add-self': [['u = g + g'], ['a = sin(m)', 'u = a + a', 'm = g * 0.5']],
  'add-negative': [['n = negative(m)', 'u = g + n', 'm = g * 0.5'], ['n = negative(g)', 'u = n + w']],
  'add-constant-chain': [['a = g + 0.3', 'u = a + 0.5'], ['a = 0.25 + g', 'u = -1.5 + a']],
  'interp-from-arithmetic': [
    ['a = g * 0.1', 'b = m * 0.9', 'u = a + b', 'm = u * 1.0'],
    ['a = g * 0.25', 'b = m * 0.75', 'u = b + a', 'm = u + w'],
  ],
  'sub-constant': [['u = g - 0.3'], ['a = exp(g)', 'u = a - 2.5']],
  'sub-negative': [['n = negative(w)', 'u = g - n']],
  'sub-from-zero': [['u = 0.0 - g']],
  'mul-one': [['u = g * 1.0'], ['a = 1.0 * w', 'u = g + a']],
  'mul-minus-one': [['u = g * -1.0'], ['a = -1.0 * w', 'u = g + a']],
  'mul-self': [['u = g * g']],
  'mul-constant-chain': [['a = g * 0.3', 'u = a * 0.7'], ['a = 3.0 * g', 'u = 0.001 * a']],
  'mul-negative': [['n = negative(g)', 'u = n * 0.3']],
  'div-constant': [['u = g / 4.0'], ['u = g / 1.0'], ['a = exp(g)', 'u = a / -0.5']],
  'div-abs-sign': [['a = abs(g)', 'u = g / a'], ['s = g * g', 'r = sqrt(s)', 'u = g / r'], ['s = square(g)', 'r = sqrt(s)', 'u = g / r']],
  'negative-negative': [['a = negative(g)', 'u = negative(a)']],
  'negative-scaled': [['a = g * 0.3', 'u = negative(a)']],
  'abs-non-negative': [['a = exp(g)', 'u = abs(a)'], ['a = abs(g)', 'u = abs(a)'], ['a = cosh(g)', 'u = abs(a)'], ['a = norm(g)', 'u = abs(a)']],
  'abs-negative': [['a = negative(g)', 'u = abs(a)']],
  'guarded-abs': [['a = abs(g)', 'u = sqrt(a)'], ['a = abs(g)', 'u = log(a)'], ['a = abs(g)', 'u = log2(a)'], ['a = abs(g)', 'u = log10(a)']],
  'sqrt-square': [['a = square(g)', 'u = sqrt(a)'], ['a = g * g', 'u = sqrt(a)']],
  'sign-sign': [['a = sign(g)', 'u = sign(a)']],
  'sign-negative': [['a = negative(g)', 'u = sign(a)']],
  'sign-scaled': [['a = g * 0.3', 'u = sign(a)'], ['a = g * -0.3', 'u = sign(a)']],
  'sign-positive-divisor': [['a = sqrt(v)', 'b = g / a', 'u = sign(b)'], ['a = square(w)', 'b = m / a', 'u = sign(b)'], ['a = abs(w)', 'b = g / a', 'u = sign(b)']],
  'max-min-self': [['u = max(g, g)'], ['a = exp(g)', 'u = min(a, a)']],
  'interp-fusion': [
    ['a = interp(g, v, 0.9)', 'v = interp(g, a, 1.1)', 'u = sign(a)'],
    ['a = interp(g, m, 0.9)', 'b = interp(g, a, 0.5)', 'u = b * lr', 'm = b + 0.0'],
  ],
  'interp-fusion-first': [['a = interp(g, m, 0.9)', 'u = interp(a, m, 0.5)', 'm = u + g']],
};

function exampleProgram(lines: readonly string[]): string {
  return `def train(w, g, m, v, lr):\n${lines.map((l) => `  ${l}\n`).join('')}  return u, m, v\n`;
}

function firedRules(text: string, allowEps: boolean): string[] {
  const events: RewriteEvent[] = [];
  reduce(parseProgram(text), { allowEps, events });
  return events.map((e) => e.rule.name);
}

describe('rule table', () => {
  it('every rule has an example here, and every example names a real rule', () => {
    const names = RULES.map((r) => r.name);
    expect(new Set(names).size).toBe(names.length);
    expect(Object.keys(EXAMPLES).sort()).toEqual([...names].sort());
  });

  it('every rule is documented and classified', () => {
    for (const r of RULES) {
      expect(r.description.length).toBeGreaterThan(5);
      expect(['exact', 'eps']).toContain(r.exactness);
    }
    expect(RULES.filter((r) => r.exactness === 'eps').map((r) => r.name)).toEqual(['div-abs-sign']);
  });
});

describe.each(RULES.filter((r) => r.exactness === 'exact').map((r) => [r.name]))('exact rule %s', (name) => {
  it.each((EXAMPLES[name] ?? []).map((lines) => [lines.join('; '), lines]))('fires on "%s" and preserves the outputs', (_label, lines) => {
    const text = exampleProgram(lines as string[]);
    expect(firedRules(text, false)).toContain(name);
    const p = parseProgram(text);
    const s = simplify(p, { allowEps: false }).program;
    for (const scale of [1, 1e-3, 1e3]) {
      for (let seed = 0; seed < 20; seed++) {
        const c = compareRuns(p, s, { seed, scale, steps: 4, slots: [true, true] });
        expect(c.patternMismatches, `${c.where}\n${printProgram(s)}`).toBe(0);
        expect(c.worstRelative, `${c.where}\n${printProgram(s)}`).toBeLessThanOrEqual(1e-12);
      }
    }
  });
});

describe('eps rule div-abs-sign', () => {
  it.each(EXAMPLES['div-abs-sign']!.map((lines) => [lines.join('; '), lines]))('fires on "%s" only when eps rules are allowed', (_label, lines) => {
    const text = exampleProgram(lines as string[]);
    expect(firedRules(text, true)).toContain('div-abs-sign');
    expect(firedRules(text, false)).not.toContain('div-abs-sign');
    const s = simplify(parseProgram(text)).program;
    expect(s.statements.map((t) => t.op)).toEqual(['sign']);
  });

  it('differs from x / (|x| + 1e-8) by at most 1e-8 / (|x| + 1e-8), on x spanning 1e-12 .. 1e12', () => {
    const p = parseProgram(exampleProgram(['s = g * g', 'r = sqrt(s)', 'u = g / r']));
    const s = simplify(p).program;
    const layout = makeLayout([64]);
    const rng = new Rng(9);
    const pa = prepare(p);
    const pb = prepare(s);
    const zeros = [new Float64Array(64), new Float64Array(64)];
    for (let trial = 0; trial < 50; trial++) {
      const g = Float64Array.from({ length: 64 }, () => (rng.next() < 0.5 ? -1 : 1) * Math.pow(10, rng.uniform(-12, 12)));
      const w = new Float64Array(64);
      const a = step(pa, { w, g, state: zeros, lr: 1 }, layout).update as Float64Array;
      const b = step(pb, { w, g, state: zeros, lr: 1 }, layout).update as Float64Array;
      for (let i = 0; i < 64; i++) {
        const x = Math.abs(g[i]!);
        // Where x * x overflows the original gives x / Inf = 0: a difference the rule documents.
        if (x * x === Infinity) {
          expect(a[i]).toBe(0);
          continue;
        }
        expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(EPS / (x + EPS) + 1e-15);
      }
    }
  });

  it('on the paper program the three statements become one sign of the momentum', () => {
    const s = simplify(loadProgram('paper-discovered')).program;
    expect(s.statements.filter((t) => t.op === 'sign').length).toBe(1);
    expect(s.statements.some((t) => t.op === 'div' || t.op === 'sqrt' || t.op === 'square')).toBe(false);
  });
});

describe('hand-checked rewrites', () => {
  it('interp fusion weighs the state by a * b: interp(g, interp(g, v, a), b) = (1 - ab) g + ab v', () => {
    const s = simplify(parseProgram(exampleProgram(['a = interp(g, m, 0.9)', 'u = interp(g, a, 0.8)']))).program;
    expect(printProgram(s)).toBe('def train(w, g, m, v, lr):\n  t1 = interp(g, m, 0.7200000000000001)\n  return t1, m, v\n');
    // By hand: g = 2, m = 10: (1 - 0.72) * 2 + 0.72 * 10 = 7.76.
    const layout = makeLayout([1]);
    const out = step(prepare(s), { w: new Float64Array([0]), g: new Float64Array([2]), state: [new Float64Array([10]), new Float64Array(1)], lr: 1 }, layout);
    expect((out.update as Float64Array)[0]).toBeCloseTo(7.76, 12);
  });

  it('x / 1 is not x under protected division: it becomes x * (1 / (1 + 1e-8))', () => {
    const s = simplify(parseProgram(exampleProgram(['u = g / 1.0']))).program;
    expect(s.statements).toHaveLength(1);
    expect(s.statements[0]!.op).toBe('mul');
    expect(s.statements[0]!.args[1]).toEqual({ kind: 'num', value: 1 / (1 + 1e-8) });
  });

  it('approximations are never applied: arcsin(x) stays, x * 0 stays, x - x stays', () => {
    const s = simplify(parseProgram(exampleProgram(['a = arcsin(g)', 'b = a * 0.0', 'c = w - w', 'd = b + c', 'u = d + a']))).program;
    expect(s.statements.map((t) => t.op).sort()).toEqual(['add', 'add', 'arcsin', 'mul', 'sub']);
  });

  it('constant folding uses the interpreter and never folds to a non-finite value', () => {
    const s = simplify(parseProgram(exampleProgram(['c = exp(1000.0)', 'u = g * c']))).program;
    expect(s.statements.map((t) => t.op)).toEqual(['exp', 'mul']);
    const f = simplify(parseProgram(exampleProgram(['c = sqrt(-4.0)', 'u = g * c']))).program;
    expect(f.statements[0]!.args[1]).toEqual({ kind: 'num', value: 2 });
  });

  it('a constant update is written as c * 1 and stays that way', () => {
    const s = simplify(parseProgram('def train(w, g, m, v, lr):\n  c = get_pi()\n  u = c * 2.0\n  return u, m, v\n')).program;
    expect(printProgram(s)).toBe(`def train(w, g, m, v, lr):\n  t1 = ${2 * Math.PI} * 1\n  return t1, m, v\n`);
    expect(printProgram(simplify(s).program)).toBe(printProgram(s));
  });

  it('the pass cap throws a named error instead of looping', () => {
    expect(() => reduce(loadProgram('paper-discovered'), { maxPasses: 1 })).toThrow(RewriteLimitError);
    expect(() => reduce(loadProgram('paper-discovered'), { maxPasses: 2 })).not.toThrow();
  });
});

describe('docs/analysis.md', () => {
  it('lists every rule with its exactness', async () => {
    const { readFileSync } = await import('node:fs');
    const doc = readFileSync('docs/analysis.md', 'utf8');
    for (const r of RULES) expect(doc, r.name).toContain(`| \`${r.name}\` | ${r.exactness} |`);
  });
});
