/**
 * LaTeX export: the update equations, one aligned line per statement, then the weight update and the
 * state carried to the next step. Literal interp weights get the names beta_1, beta_2, ... (listed with
 * their values on the last line); the learning-rate input is eta.
 */
import type { Arg, Program } from '../dsl/ast.ts';
import { assertValid, variableKinds } from '../dsl/check.ts';
import { isOpName, type Kind, type OpName } from '../dsl/ops.ts';
import { formatNumber, printProgram } from '../dsl/print.ts';

type LatexArg = { readonly tex: string; readonly kind: Kind };
type LatexLowering = (a: readonly LatexArg[]) => string;

const t = (a: LatexArg | undefined): string => (a as LatexArg).tex;
const fn = (name: string): LatexLowering => ([a]) => `${name}(${t(a)})`;
const op = (name: string): LatexLowering => ([a]) => `\\operatorname{${name}}(${t(a)})`;

/** Every op as LaTeX. An op missing here is a type error. */
export const LATEX_OPS: Record<OpName, LatexLowering> = {
  get_pi: () => '\\pi',
  get_e: () => 'e',
  get_eps: () => '\\epsilon',

  add: ([a, b]) => `${t(a)} + ${t(b)}`,
  sub: ([a, b]) => `${t(a)} - ${t(b)}`,
  mul: ([a, b]) => `${t(a)} \\cdot ${t(b)}`,
  div: ([a, b]) => `\\frac{${t(a)}}{${t(b)} + \\epsilon}`,
  max: ([a, b]) => `\\max(${t(a)}, ${t(b)})`,
  min: ([a, b]) => `\\min(${t(a)}, ${t(b)})`,
  power: ([a, b]) => `${t(a)}^{${t(b)}}`,

  abs: ([a]) => `\\lvert ${t(a)} \\rvert`,
  cos: fn('\\cos'),
  sin: fn('\\sin'),
  tan: fn('\\tan'),
  arcsin: fn('\\arcsin'),
  arccos: fn('\\arccos'),
  arctan: fn('\\arctan'),
  sinh: fn('\\sinh'),
  cosh: fn('\\cosh'),
  tanh: fn('\\tanh'),
  arcsinh: op('arsinh'),
  arccosh: op('arcosh'),
  arctanh: op('artanh'),
  exp: ([a]) => `e^{${t(a)}}`,
  exp2: ([a]) => `2^{${t(a)}}`,
  exp10: ([a]) => `10^{${t(a)}}`,
  expm1: ([a]) => `e^{${t(a)}} - 1`,
  log: ([a]) => `\\ln\\lvert ${t(a)} \\rvert`,
  log10: ([a]) => `\\log_{10}\\lvert ${t(a)} \\rvert`,
  log2: ([a]) => `\\log_{2}\\lvert ${t(a)} \\rvert`,
  log1p: ([a]) => `\\ln\\lvert 1 + ${t(a)} \\rvert`,
  square: ([a]) => `${t(a)}^{2}`,
  sqrt: ([a]) => `\\sqrt{\\lvert ${t(a)} \\rvert}`,
  cube: ([a]) => `${t(a)}^{3}`,
  cbrt: ([a]) => `\\sqrt[3]{${t(a)}}`,
  sign: op('sign'),
  reciprocal: ([a]) => `\\frac{1}{${t(a)}}`,
  negative: ([a]) => `-${t(a)}`,
  norm: ([a]) =>
    (a as LatexArg).kind === 'tensor' ? `\\lVert ${t(a)} \\rVert_{\\text{per tensor}}` : `\\lvert ${t(a)} \\rvert`,

  interp: ([x, y, w]) => `(1 - ${t(w)})\\, ${t(x)} + ${t(w)}\\, ${t(y)}`,
  clip: ([a, c]) => `${t(a)} \\cdot \\min\\left(1, \\frac{${t(c)}}{\\lVert ${t(a)} \\rVert_2}\\right)`,
  global_norm: ([a]) => `\\lVert ${t(a)} \\rVert_2`,
  dot: ([a, b]) => `\\langle ${t(a)}, ${t(b)} \\rangle`,
  cosine_sim: ([a, b]) =>
    `\\frac{\\langle ${t(a)}, ${t(b)} \\rangle}{\\lVert ${t(a)} \\rVert_2 \\, \\lVert ${t(b)} \\rVert_2 + \\epsilon}`,

  unit_clip: ([a]) => `\\operatorname{clip}_{[-1, 1]}(${t(a)})`,
  rel_sign: ([a]) => `\\frac{${t(a)}}{\\sqrt{1 + ${t(a)}^{2}}}`,
  l2_normalize: ([a]) => `\\frac{${t(a)}}{\\lVert ${t(a)} \\rVert_2}`,
  thresh_sign: ([a, e]) => `\\operatorname{sign}(${t(a)})\\,[\\lvert ${t(a)} \\rvert > ${t(e)}]`,
  copy: ([a]) => t(a),
};

const GREEK = new Set([
  'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta', 'theta', 'kappa', 'lambda', 'mu', 'nu',
  'xi', 'rho', 'sigma', 'tau', 'phi', 'chi', 'psi', 'omega',
]);

/** A variable name as a LaTeX symbol: lr -> \eta, beta1 -> \beta_{1}, g2 -> g_{2}, sqrt_v -> \mathit{sqrt\_v}. */
export function latexName(name: string): string {
  if (name === 'lr') return '\\eta';
  const m = /^([A-Za-z]+)([0-9]*)$/.exec(name);
  if (m) {
    const [, base, digits] = m as unknown as [string, string, string];
    const sub = digits.length > 0 ? `_{${digits}}` : '';
    if (GREEK.has(base)) return `\\${base}${sub}`;
    if (base.length === 1) return `${base}${sub}`;
  }
  return `\\mathit{${name.replace(/_/g, '\\_')}}`;
}

/** A number as LaTeX: the shortest repr digits, exponents as \times 10^{k}. */
export function latexNumber(x: number): string {
  const s = formatNumber(x);
  const m = /^(-?)([0-9.]+)e([+-]?)([0-9]+)$/.exec(s);
  if (!m) return s;
  const [, sign, mant, esign, exp] = m as unknown as [string, string, string, string, string];
  const power = `10^{${esign === '-' ? '-' : ''}${exp}}`;
  return mant === '1' ? `${sign}${power}` : `${sign}${mant} \\times ${power}`;
}

export function exportLatex(p: Program): string {
  const check = assertValid(p);
  const kinds = variableKinds(p, check);
  const vars = [...new Set([...p.inputs, ...p.statements.map((s) => s.target)])];
  // Readable symbols where they are unambiguous; \mathit{name} where two names would look the same.
  const rendered = new Map(vars.map((v) => [v, latexName(v)]));
  const counts = new Map<string, number>();
  for (const r of rendered.values()) counts.set(r, (counts.get(r) ?? 0) + 1);
  for (const [v, r] of rendered) if ((counts.get(r) ?? 0) > 1) rendered.set(v, `\\mathit{${v.replace(/_/g, '\\_')}}`);
  const sym = (v: string): string => rendered.get(v) as string;

  // Literal interp weights become beta_k unless a variable already renders as a beta.
  const betas = new Map<string, string>();
  const betaFree = ![...rendered.values()].some((r) => r.startsWith('\\beta'));
  if (betaFree) {
    for (const s of p.statements) {
      const w = s.args[2];
      if (s.op === 'interp' && w?.kind === 'num') {
        const key = formatNumber(w.value);
        if (!betas.has(key)) betas.set(key, `\\beta_{${betas.size + 1}}`);
      }
    }
  }

  const literal = (x: number): string => {
    const s = latexNumber(x);
    return x < 0 || Object.is(x, -0) ? `(${s})` : s;
  };
  const argTex = (a: Arg, isInterpWeight: boolean): LatexArg => {
    if (a.kind === 'var') return { tex: sym(a.name), kind: kinds.get(a.name) as Kind };
    const beta = isInterpWeight ? betas.get(formatNumber(a.value)) : undefined;
    return { tex: beta ?? literal(a.value), kind: 'scalar' };
  };

  const lines: string[] = [];
  let usesEps = false;
  for (const s of p.statements) {
    if (!isOpName(s.op)) throw new Error(`unknown op '${s.op}'`); // unreachable after assertValid
    if (s.op === 'div' || s.op === 'cosine_sim' || s.op === 'get_eps') usesEps = true;
    const args = s.args.map((a, i) => argTex(a, s.op === 'interp' && i === 2));
    lines.push(`${sym(s.target)} &\\leftarrow ${LATEX_OPS[s.op](args)}`);
  }
  const weights = p.inputs[0] as string;
  const weightsReassigned = p.statements.some((s) => s.target === weights);
  const before = weightsReassigned ? `${sym(weights)}_{0}` : sym(weights);
  lines.push(`${sym(weights)} &\\leftarrow ${before} - ${sym(p.outputs[0] as string)}`);
  const slots = p.inputs.slice(2, -1);
  slots.forEach((slot, i) => {
    const out = p.outputs[i + 1] as string;
    if (out !== slot) lines.push(`${sym(slot)} &\\leftarrow ${sym(out)}`);
  });

  const where: string[] = [...betas].map(([value, name]) => `${name} = ${latexNumber(Number(value))}`);
  if (usesEps) where.push('\\epsilon = 10^{-8}');
  const lr = p.inputs[p.inputs.length - 1] as string;
  where.push(`${sym(lr)} \\text{ the learning-rate schedule's value}`);
  if (weightsReassigned) where.push(`${sym(weights)}_{0} \\text{ the weights before the step}`);

  const comment = printProgram(p)
    .trimEnd()
    .split('\n')
    .map((l) => `%   ${l}`);
  return [
    '% Update equations exported by optsearch; the program:',
    ...comment,
    '\\begin{aligned}',
    ...lines.map((l) => `${l} \\\\`),
    `&\\text{where } ${where.join(',\\ ')}`,
    '\\end{aligned}',
    '',
  ].join('\n');
}
