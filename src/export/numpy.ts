/**
 * NumPy export: a module with `rule(...)` (the program, one-to-one), `init_state(w)` and
 * `step(w, g, state, lr) -> (w, state)`, computing in float64 with the exact semantics of
 * src/dsl/ops.ts. Its outputs match the Float64 interpreter up to the last bits of NumPy's
 * transcendental functions (test/export/numpy.test.ts runs both).
 */
import type { Program } from '../dsl/ast.ts';
import type { OpName } from '../dsl/ops.ts';
import { call, call2, constant, emitRule, helper, infix, programComment, pyString, same, whole, type PyDialect, type PyLowering } from './python.ts';


/** Every op in NumPy. An op missing here is a type error. */
export const NUMPY_OPS: Record<OpName, PyLowering> = {
  get_pi: constant('np.float64(np.pi)'),
  get_e: constant('np.float64(np.e)'),
  get_eps: constant('np.float64(1e-08)'),

  add: infix(([a, b]) => `${a} + ${b}`),
  sub: infix(([a, b]) => `${a} - ${b}`),
  mul: infix(([a, b]) => `${a} * ${b}`),
  div: infix(([a, b]) => `${a} / (${b} + 1e-08)`),
  max: call2('np.maximum'),
  min: call2('np.minimum'),
  power: helper('_pow'),

  abs: call('np.abs'),
  cos: call('np.cos'),
  sin: call('np.sin'),
  tan: call('np.tan'),
  arcsin: call('np.arcsin'),
  arccos: call('np.arccos'),
  arctan: call('np.arctan'),
  sinh: call('np.sinh'),
  cosh: call('np.cosh'),
  tanh: call('np.tanh'),
  arcsinh: call('np.arcsinh'),
  arccosh: call('np.arccosh'),
  arctanh: call('np.arctanh'),
  exp: call('np.exp'),
  exp2: call('np.exp2'),
  exp10: { type: 'map', expr: ([a]) => `np.power(10.0, ${a})` },
  expm1: call('np.expm1'),
  log: { type: 'map', expr: ([a]) => `np.log(np.abs(${a}))` },
  log10: { type: 'map', expr: ([a]) => `np.log10(np.abs(${a}))` },
  log2: { type: 'map', expr: ([a]) => `np.log2(np.abs(${a}))` },
  log1p: helper('_log1p'),
  square: infix(([a]) => `${a} * ${a}`),
  sqrt: { type: 'map', expr: ([a]) => `np.sqrt(np.abs(${a}))` },
  cube: infix(([a]) => `${a} * ${a} * ${a}`),
  cbrt: call('np.cbrt'),
  sign: call('np.sign'),
  reciprocal: infix(([a]) => `1.0 / ${a}`),
  negative: infix(([a]) => `-${a}`),
  norm: {
    type: 'map',
    expr: ([a]) => `_leaf_norm(${a})`,
    scalar: ([a]) => `np.abs(${a})`,
    helpers: ['_leaf_norm'],
  },

  interp: infix(([x, y, w]) => `(1 - ${w}) * ${x} + ${w} * ${y}`),
  clip: whole('_clip'),
  global_norm: whole('_global_norm'),
  dot: whole('_dot'),
  cosine_sim: whole('_cosine_sim'),

  unit_clip: { type: 'map', expr: ([a]) => `np.clip(${a}, -1.0, 1.0)` },
  rel_sign: helper('_rel_sign'),
  l2_normalize: whole('_l2_normalize'),
  thresh_sign: helper('_thresh_sign'),
  copy: same,
};

/** Helper functions; `[()]` turns a 0-d result of np.where back into a NumPy scalar. */
const HELPERS: Record<string, string> = {
  _pow: `def _pow(x, y):
    # JavaScript's Math.pow, the language's definition: (+-1) ** (+-inf or nan) is nan (C's pow gives 1).
    return np.where((np.abs(x) == 1) & ~np.isfinite(y), np.nan, np.power(x, y))[()]`,
  _log1p: `def _log1p(x):
    # ln|1 + x|: log1p where it is accurate, the abs-guarded form below -1.
    return np.where(x > -1, np.log1p(x), np.log(np.abs(1 + x)))[()]`,
  _rel_sign: `def _rel_sign(x):
    # x / sqrt(1 + x^2), written as sign(x) / sqrt(1 + 1 / x^2) for |x| > 1 so that it does not overflow.
    return np.where(np.abs(x) <= 1, x / np.sqrt(1 + x * x), np.sign(x) / np.sqrt(1 + 1 / (x * x)))[()]`,
  _thresh_sign: `def _thresh_sign(x, e):
    a = np.abs(x)
    return np.where(a > e, np.sign(x), np.where(a <= e, 0.0, np.nan))[()]`,
  _seq_sum: `def _seq_sum(parts):
    # Adds one element at a time, leaf after leaf, in the order of the interpreter (np.sum adds pairwise):
    # sums then agree to the last bit, which matters when a reduction feeds a cancellation.
    return np.add.accumulate(np.concatenate([np.zeros(1)] + [np.ravel(x) for x in parts]))[-1]`,
  _leaf_norm: `def _leaf_norm(x):
    # Euclidean norm of one leaf, broadcast over that leaf
    return np.full_like(x, np.sqrt(_seq_sum([x * x])))`,
  _sum_squares: `def _sum_squares(t):
    # over every leaf: the reductions of the language see all parameters at once
    return _seq_sum([x * x for x in t])`,
  _global_norm: `def _global_norm(t):
    return np.sqrt(_sum_squares(t))`,
  _dot: `def _dot(a, b):
    return _seq_sum([x * y for x, y in zip(a, b)])`,
  _cosine_sim: `def _cosine_sim(a, b):
    return _dot(a, b) / (np.sqrt(_sum_squares(a)) * np.sqrt(_sum_squares(b)) + 1e-08)`,
  _clip: `def _clip(t, c):
    # clip by global norm; unchanged when the norm is 0 or at most c
    n = _global_norm(t)
    if n == 0 or n <= c:
        return [np.array(x, dtype=np.float64) for x in t]
    s = c / n
    return [x * s for x in t]`,
  _l2_normalize: `def _l2_normalize(t):
    n = _global_norm(t)
    if n == 0:
        return [np.zeros_like(x) for x in t]
    s = 1 / n
    return [x * s for x in t]`,
};

const HELPER_DEPS: Record<string, readonly string[]> = {
  _leaf_norm: ['_seq_sum'],
  _sum_squares: ['_seq_sum'],
  _dot: ['_seq_sum'],
  _global_norm: ['_sum_squares'],
  _cosine_sim: ['_dot', '_sum_squares'],
  _clip: ['_global_norm'],
  _l2_normalize: ['_global_norm'],
};

export const NUMPY_DIALECT: PyDialect = {
  ops: NUMPY_OPS,
  helpers: HELPERS,
  helperDeps: HELPER_DEPS,
  typedConstant: (lit) => `np.float64(${lit})`,
  typeLiteralsInCalls: false,
};

export function exportNumpy(p: Program, title: string): string {
  const rule = emitRule(p, NUMPY_DIALECT);
  const slots = rule.slotLabels;
  const slotTuple = `(${slots.map(pyString).join(', ')}${slots.length === 1 ? ',' : ''})`;
  const newW = rule.scalarUpdate
    ? '        new_w = [np.asarray(x - update) for x in w]'
    : '        new_w = [np.asarray(x - u) for x, u in zip(w, update)]';
  return [
    `"""${title}: an optimizer update rule exported by optsearch (NumPy, float64).`,
    '',
    'step(w, g, state, lr) -> (w, state): w and g are lists of arrays, one per parameter tensor (leaf);',
    'state is a list with one entry per slot in SLOTS, each a list of arrays shaped like w (None: zeros);',
    'lr is the learning-rate schedule value at this step (peak 1.0: the program carries the scale).',
    'Reductions (global_norm, dot, cosine_sim, clip, l2_normalize) run over all leaves together.',
    '"""',
    '# Program:',
    ...programComment(p),
    '',
    'import numpy as np',
    '',
    `SLOTS = ${slotTuple}`,
    '',
    ...rule.helperSources.flatMap((h) => ['', h, '']),
    '',
    ...rule.lines,
    '',
    '',
    'def init_state(w):',
    '    """Zero state: for each slot, one float64 array of zeros per leaf of w."""',
    '    return [[np.zeros(np.shape(x), dtype=np.float64) for x in w] for _ in SLOTS]',
    '',
    '',
    'def step(w, g, state, lr):',
    '    """One optimizer step: returns (new weights, new state); the inputs are not modified."""',
    '    w = [np.asarray(x, dtype=np.float64) for x in w]',
    '    g = [np.asarray(x, dtype=np.float64) for x in g]',
    '    if state is None:',
    '        state = init_state(w)',
    '    if len(state) != len(SLOTS):',
    "        raise ValueError(f'expected {len(SLOTS)} state slots {SLOTS}, got {len(state)}')",
    '    state = [[np.asarray(x, dtype=np.float64) for x in slot] for slot in state]',
    "    for what, leaves in [('g', g)] + [(f'state slot {n}', s) for n, s in zip(SLOTS, state)]:",
    '        if len(leaves) != len(w) or any(np.shape(a) != np.shape(b) for a, b in zip(leaves, w)):',
    "            raise ValueError(f'{what} does not have the leaves and shapes of w')",
    "    with np.errstate(all='ignore'):",
    '        update, *new_state = rule(w, g, *state, np.float64(lr))',
    newW,
    '    return new_w, [[np.array(x, dtype=np.float64) for x in slot] for slot in new_state]',
    '',
  ].join('\n');
}
