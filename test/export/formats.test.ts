import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { programsEqual, type Program } from '../../src/dsl/ast.ts';
import { randomProgram } from '../../src/dsl/generate.ts';
import { OP_NAMES, type OpName } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { printProgram } from '../../src/dsl/print.ts';
import { EXPORT_FORMATS, exportProgram } from '../../src/export/index.ts';
import { latexName, latexNumber } from '../../src/export/latex.ts';
import { pascalName, pythonNames, snakeName } from '../../src/export/names.ts';
import { pythonFloat } from '../../src/export/python.ts';
import { Rng } from '../../src/util/rng.ts';
import { python3Status } from './harness.ts';
import { skipWithout } from '../tools.ts';

const lion = parseProgram(readFileSync('search-spaces/programs/lion.prog', 'utf8'));
const adamw = parseProgram(readFileSync('search-spaces/programs/adamw.prog', 'utf8'));

/** Constants that stress number printing: signs, zeros, subnormals, extremes, full-precision doubles. */
function nastyConstant(rng: Rng): number {
  const special = [0, -0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308, 1e21, 1e-7, 0.1, 1 / 3, 123456789012345680000, 0.1 + 0.2];
  switch (rng.int(3)) {
    case 0:
      return rng.pick(special);
    case 1:
      return rng.normal();
    default: {
      const x = rng.next() * Math.pow(10, rng.int(600) - 300);
      return rng.next() < 0.5 ? -x : x;
    }
  }
}

describe('latex', () => {
  const tex = exportProgram(lion, 'latex');

  it('lion.prog: the Lion update in readable symbols, one aligned line per statement', () => {
    expect(tex).toContain('\\begin{aligned}');
    expect(tex).toContain('\\end{aligned}');
    expect(tex).toContain('\\mathit{update} &\\leftarrow (1 - \\beta_{1})\\, g + \\beta_{1}\\, m \\\\');
    expect(tex).toContain('\\mathit{update} &\\leftarrow \\operatorname{sign}(\\mathit{update}) \\\\');
    expect(tex).toContain('m &\\leftarrow (1 - \\beta_{2})\\, g + \\beta_{2}\\, m \\\\');
    expect(tex).toContain('\\eta &\\leftarrow \\eta \\cdot 0.0003 \\\\');
    expect(tex).toContain('w &\\leftarrow w - \\mathit{update} \\\\');
    expect(tex).toContain('\\beta_{1} = 0.9,\\ \\beta_{2} = 0.99');
    const equations = tex.split('\n').filter((l) => l.includes('&\\leftarrow'));
    // every statement, then the weight update (the slots are returned under their own names)
    expect(equations).toHaveLength(lion.statements.length + 1);
  });

  it('adamw.prog: protected division as a fraction with epsilon', () => {
    const a = exportProgram(adamw, 'latex');
    expect(a).toContain('\\mathit{update} &\\leftarrow \\frac{m}{\\mathit{sqrt\\_v} + \\epsilon}');
    expect(a).toContain('\\mathit{sqrt\\_v} &\\leftarrow \\sqrt{\\lvert v \\rvert}');
    expect(a).toContain('\\epsilon = 10^{-8}');
  });

  it('names and numbers', () => {
    expect(latexName('lr')).toBe('\\eta');
    expect(latexName('beta2')).toBe('\\beta_{2}');
    expect(latexName('g2')).toBe('g_{2}');
    expect(latexName('v417')).toBe('v_{417}');
    expect(latexName('sqrt_v')).toBe('\\mathit{sqrt\\_v}');
    expect(latexNumber(1e-8)).toBe('10^{-8}');
    expect(latexNumber(-2.5e-7)).toBe('-2.5 \\times 10^{-7}');
    expect(latexNumber(1e21)).toBe('10^{21}');
    expect(latexNumber(0.0003)).toBe('0.0003');
  });

  it('a state slot returned under another name gets its own line', () => {
    const p = parseProgram('def train(w, g, m, lr):\n  m2 = interp(g, m, 0.9)\n  u = sign(m2)\n  return u, m2\n');
    const t = exportProgram(p, 'latex');
    expect(t).toContain('m &\\leftarrow m_{2} \\\\');
  });

  it('balanced braces and one equation line per statement for 300 random programs', () => {
    const rng = new Rng(31);
    for (let i = 0; i < 300; i++) {
      const p = randomProgram(rng, { length: 1 + rng.int(15), constantProb: 0.5, constant: nastyConstant });
      const t = exportProgram(p, 'latex');
      const body = t.split('\n').filter((l) => !l.startsWith('%'));
      const text = body.join('\n');
      expect(text.split('{').length, printProgram(p)).toBe(text.split('}').length);
      expect(text.split('\\left(').length).toBe(text.split('\\right)').length);
      expect(body.filter((l) => l.includes('&\\leftarrow')).length).toBeGreaterThanOrEqual(p.statements.length + 1);
    }
  });
});

describe('text', () => {
  it('is the program listing and parses back to the same program', () => {
    for (const p of [lion, adamw]) {
      const t = exportProgram(p, 'text');
      expect(t).toBe(printProgram(p));
      expect(programsEqual(parseProgram(t), p)).toBe(true);
    }
  });
});

describe('names', () => {
  it('program variables that clash with Python are renamed, others kept, all distinct', () => {
    const m = pythonNames(['w', 'g', 'lambda', 'lambda_v', 'np', '_x', 'x_', 'x', 'sum', 'None']);
    expect(m.get('w')).toBe('w');
    expect(m.get('x')).toBe('x');
    expect(m.get('lambda_v')).toBe('lambda_v');
    for (const bad of ['lambda', 'np', '_x', 'x_', 'sum', 'None']) {
      const r = m.get(bad) as string;
      expect(r).toMatch(/^[A-Za-z][A-Za-z0-9_]*[A-Za-z0-9]$/);
      expect(r).not.toBe(bad);
    }
    expect(new Set(m.values()).size).toBe(m.size);
  });

  it('class and function names from labels', () => {
    expect(pascalName('paper-discovered')).toBe('PaperDiscovered');
    expect(pascalName('lion')).toBe('Lion');
    expect(pascalName('3rd_best')).toBe('P3rdBest');
    expect(pascalName('none')).toBe('NoneOptimizer');
    expect(snakeName('PaperDiscovered')).toBe('paper_discovered');
    expect(snakeName('lambda')).toBe('lambda_optimizer');
  });
});

describe('constants', () => {
  it('pythonFloat prints a float literal for integral doubles', () => {
    expect(pythonFloat(1)).toBe('1.0');
    expect(pythonFloat(-0)).toBe('-0.0');
    expect(pythonFloat(1e21)).toBe('1e+21');
    expect(pythonFloat(0.1)).toBe('0.1');
  });

  const status = python3Status();
  it.skipIf(skipWithout('python3', status.ok ? undefined : status.reason))('round-trip exactly: Python reads every literal of the NumPy rule back as the same double', () => {
    // Ops whose lowering adds no literal of its own, so the rule's literals are exactly the program's.
    const ops: OpName[] = ['add', 'sub', 'mul', 'max', 'min', 'sign', 'abs', 'global_norm'];
    const rng = new Rng(99);
    const programs: Program[] = Array.from({ length: 40 }, () =>
      randomProgram(rng, { length: 4 + rng.int(12), ops, constantProb: 0.7, constant: nastyConstant }),
    );
    const script = String.raw`
import ast, json, sys
out = []
for src in json.load(sys.stdin):
    tree = ast.parse(src)
    rule = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == 'rule')
    found = []
    for node in ast.walk(rule):
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, float):
            found.append((node.lineno, node.col_offset, -node.operand.value))
            node.operand.value = None  # counted through its minus sign
        elif isinstance(node, ast.Constant) and isinstance(node.value, float):
            found.append((node.lineno, node.col_offset, node.value))
    out.append([repr(v) for _, _, v in sorted(found)])
print(json.dumps(out))
`;
    const sources = programs.map((p) => exportProgram(p, 'numpy'));
    const r = spawnSync('python3', ['-c', script], { input: JSON.stringify(sources), encoding: 'utf8', maxBuffer: 16 << 20 });
    expect(r.stderr).toBe('');
    const parsed = JSON.parse(r.stdout) as string[][];
    let compared = 0;
    let negativeZeros = 0;
    programs.forEach((p, i) => {
      const expected = p.statements.flatMap((s) => s.args.filter((a) => a.kind === 'num').map((a) => (a as { value: number }).value));
      const back = (parsed[i] as string[]).map(Number);
      expect(back.length, printProgram(p)).toBe(expected.length);
      expected.forEach((x, j) => {
        expect(Object.is(back[j], x), `${x} came back as ${back[j]}`).toBe(true);
        compared++;
        if (Object.is(x, -0)) negativeZeros++;
      });
    });
    expect(compared).toBeGreaterThan(200);
    expect(negativeZeros).toBeGreaterThan(0);
  });
});

describe('op tables', () => {
  it('every format exports a program that uses every op', () => {
    // one statement per op over suitable inputs; the checker guarantees the kinds
    const statements = OP_NAMES.map((op, i) => {
      const args =
        op === 'interp' ? 'g, m, 0.9' : op === 'clip' || op === 'thresh_sign' ? 'g, 0.5' : ['dot', 'cosine_sim'].includes(op) ? 'g, m' :
        ['get_pi', 'get_e', 'get_eps'].includes(op) ? '' : ['add', 'sub', 'mul', 'div', 'max', 'min', 'power'].includes(op) ? 'g, 2.0' : 'g';
      return `  x${i} = ${op}(${args})`;
    });
    const p = parseProgram(`def train(w, g, m, lr):\n${statements.join('\n')}\n  return x0, m\n`.replace('return x0', 'return g'));
    for (const format of EXPORT_FORMATS) {
      const out = exportProgram(p, format);
      expect(out.length).toBeGreaterThan(100);
    }
  });
});
