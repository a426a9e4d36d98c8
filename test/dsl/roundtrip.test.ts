import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { numArg, programsEqual, stripPositions, varArg, type Program } from '../../src/dsl/ast.ts';
import { checkProgram } from '../../src/dsl/check.ts';
import { randomProgram } from '../../src/dsl/generate.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { formatNumber, printProgram } from '../../src/dsl/print.ts';
import { Rng } from '../../src/util/rng.ts';

const DIR = 'search-spaces/programs';

/** Constants that stress number printing: signs, zeros, subnormals, extremes, full-precision doubles. */
function nastyConstant(rng: Rng): number {
  const special = [0, -0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308, 1e21, 1e-7, 0.1, 1 / 3, 123456789012345680000];
  switch (rng.int(4)) {
    case 0:
      return rng.pick(special);
    case 1:
      return rng.normal();
    case 2: {
      // random magnitude over the whole double range
      const x = rng.next() * Math.pow(10, rng.int(600) - 300);
      return rng.next() < 0.5 ? -x : x;
    }
    default:
      return Math.round(rng.normal() * 1000) / 1000;
  }
}

describe('parse(print(p)) equals p', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.prog'));

  it('there are shipped programs to test', () => {
    expect(files.length).toBeGreaterThanOrEqual(7);
  });

  for (const f of files) {
    it(`shipped program ${f}`, () => {
      const p = parseProgram(readFileSync(`${DIR}/${f}`, 'utf8'));
      const text = printProgram(p);
      const back = parseProgram(text);
      expect(programsEqual(back, p)).toBe(true);
      expect(printProgram(back)).toBe(text);
    });
  }

  it('2,000 random programs with varying lengths, seeds and extreme constants', () => {
    let constants = 0;
    let negativeZero = 0;
    for (let seed = 0; seed < 2000; seed++) {
      const rng = new Rng(seed * 7919 + 1);
      const p = randomProgram(rng, {
        length: seed % 41,
        constantProb: 0.5,
        ...(seed % 2 === 0 ? { constant: nastyConstant } : {}),
        ...(seed % 5 === 0 ? { slots: ['m'] } : seed % 7 === 0 ? { slots: ['m', 'v', 'u'] } : {}),
      });
      const text = printProgram(p);
      const back = parseProgram(text);
      if (!programsEqual(back, p)) {
        expect.fail(`seed ${seed}: round trip changed the program\n${text}\n---\n${printProgram(back)}`);
      }
      expect(checkProgram(back).ok).toBe(true);
      for (const s of p.statements) {
        for (const a of s.args) {
          if (a.kind !== 'num') continue;
          constants++;
          if (Object.is(a.value, -0)) negativeZero++;
        }
      }
    }
    // the stress constants actually appeared
    expect(constants).toBeGreaterThan(5000);
    expect(negativeZero).toBeGreaterThan(0);
  });

  it('programsEqual tells -0 from 0 and a name from a number, and ignores positions', () => {
    const base: Program = { name: 'train', inputs: ['w', 'g', 'lr'], statements: [{ target: 'u', op: 'mul', args: [varArg('g'), numArg(0)] }], outputs: ['u'] };
    const negZero: Program = { ...base, statements: [{ target: 'u', op: 'mul', args: [varArg('g'), numArg(-0)] }] };
    expect(programsEqual(base, negZero)).toBe(false);
    const parsed = parseProgram(printProgram(negZero));
    expect(programsEqual(parsed, negZero)).toBe(true);
    expect(programsEqual(stripPositions(parsed), parsed)).toBe(true);
    expect(stripPositions(parsed).statements[0]?.pos).toBeUndefined();
  });
});

describe('formatNumber', () => {
  it('prints the shortest text that reads back to the same double', () => {
    const cases: [number, string][] = [
      [0.1, '0.1'],
      [-0, '-0.0'],
      [0, '0'],
      [1e21, '1e+21'],
      [1e-7, '1e-7'],
      [5e-324, '5e-324'],
      [-2.5, '-2.5'],
      [1 / 3, '0.3333333333333333'],
    ];
    for (const [x, s] of cases) {
      expect(formatNumber(x)).toBe(s);
      const back = parseProgram(`def f(w, g, lr):\n  u = g * ${s}\n  return u\n`).statements[0]?.args[1];
      expect(back?.kind === 'num' && Object.is(back.value, x), s).toBe(true);
    }
  });

  it('refuses NaN and infinities (they have no literal)', () => {
    expect(() => formatNumber(NaN)).toThrow(RangeError);
    expect(() => formatNumber(Infinity)).toThrow(RangeError);
    expect(() => formatNumber(-Infinity)).toThrow(RangeError);
  });
});

describe('printProgram refuses what would not read back', () => {
  const base: Program = { name: 'train', inputs: ['w', 'g', 'lr'], statements: [{ target: 'u', op: 'sign', args: [varArg('g')] }], outputs: ['u'] };
  const bad: [string, Program][] = [
    ['a keyword as a variable', { ...base, statements: [{ target: 'return', op: 'sign', args: [varArg('g')] }], outputs: ['return'] }],
    ['a name with a space', { ...base, statements: [{ target: 'u', op: 'sign', args: [varArg('g h')] }] }],
    ['a name starting with a digit', { ...base, inputs: ['w', '2g', 'lr'] }],
    ['an op that is not a name', { ...base, statements: [{ target: 'u', op: 'sign(g)#', args: [] }] }],
    ['an empty program name', { ...base, name: '' }],
    ['a NaN constant', { ...base, statements: [{ target: 'u', op: 'mul', args: [varArg('g'), numArg(NaN)] }] }],
  ];
  for (const [what, p] of bad) {
    it(what, () => {
      expect(() => printProgram(p)).toThrow(RangeError);
    });
  }
  it('while an unknown op with a valid name prints and reads back (the checker reports it)', () => {
    const p: Program = { ...base, statements: [{ target: 'u', op: 'frobnicate', args: [varArg('g'), numArg(2)] }] };
    expect(programsEqual(parseProgram(printProgram(p)), p)).toBe(true);
  });
});

describe('printed text is canonical', () => {
  it('comments, spacing, CRLF and infix/call spelling normalise to one text', () => {
    const a = parseProgram('# c\r\ndef train(w,g,m,lr):   # header\r\n\tx=add( g ,1.50)\r\n  m = interp(g,m,0.9)  # state\r\n  u = x*m\r\n  return u,m\r\n');
    const b = parseProgram('def train(w, g, m, lr):\n  x = g + 1.5\n  m = interp(g, m, 0.9)\n  u = mul(x, m)\n  return u, m\n');
    expect(programsEqual(a, b)).toBe(true);
    expect(printProgram(a)).toBe('def train(w, g, m, lr):\n  x = g + 1.5\n  m = interp(g, m, 0.9)\n  u = x * m\n  return u, m\n');
  });
});
