/**
 * optax export: the source of a function returning an `optax.GradientTransformation`. Pytrees are
 * flattened with jax.tree_util; the program runs on the list of leaves (so its reductions see every
 * parameter) and its results are unflattened into the params' structure. optax adds updates to the
 * params, so the transformation returns -update.
 */
import type { Program } from '../dsl/ast.ts';
import type { OpName } from '../dsl/ops.ts';
import { pascalName, snakeName } from './names.ts';
import { call, call2, constant, emitRule, helper, infix, programComment, pyString, same, whole, type PyDialect, type PyLowering } from './python.ts';


/** Every op in JAX. An op missing here is a type error. */
export const JAX_OPS: Record<OpName, PyLowering> = {
  get_pi: constant('jnp.asarray(jnp.pi)'),
  get_e: constant('jnp.asarray(jnp.e)'),
  get_eps: constant('jnp.asarray(1e-08)'),

  add: infix(([a, b]) => `${a} + ${b}`),
  sub: infix(([a, b]) => `${a} - ${b}`),
  mul: infix(([a, b]) => `${a} * ${b}`),
  div: infix(([a, b]) => `${a} / (${b} + 1e-08)`),
  max: call2('jnp.maximum'),
  min: call2('jnp.minimum'),
  power: helper('_pow'),

  abs: call('jnp.abs'),
  cos: call('jnp.cos'),
  sin: call('jnp.sin'),
  tan: call('jnp.tan'),
  arcsin: call('jnp.arcsin'),
  arccos: call('jnp.arccos'),
  arctan: call('jnp.arctan'),
  sinh: call('jnp.sinh'),
  cosh: call('jnp.cosh'),
  tanh: call('jnp.tanh'),
  arcsinh: call('jnp.arcsinh'),
  arccosh: call('jnp.arccosh'),
  arctanh: call('jnp.arctanh'),
  exp: call('jnp.exp'),
  exp2: call('jnp.exp2'),
  exp10: { type: 'map', expr: ([a]) => `jnp.power(10.0, ${a})` },
  expm1: call('jnp.expm1'),
  log: { type: 'map', expr: ([a]) => `jnp.log(jnp.abs(${a}))` },
  log10: { type: 'map', expr: ([a]) => `jnp.log10(jnp.abs(${a}))` },
  log2: { type: 'map', expr: ([a]) => `jnp.log2(jnp.abs(${a}))` },
  log1p: helper('_log1p'),
  square: infix(([a]) => `${a} * ${a}`),
  sqrt: { type: 'map', expr: ([a]) => `jnp.sqrt(jnp.abs(${a}))` },
  cube: infix(([a]) => `${a} * ${a} * ${a}`),
  cbrt: call('jnp.cbrt'),
  sign: call('jnp.sign'),
  reciprocal: infix(([a]) => `1.0 / ${a}`),
  negative: infix(([a]) => `-${a}`),
  norm: {
    type: 'map',
    expr: ([a]) => `jnp.broadcast_to(jnp.sqrt(jnp.sum(${a} * ${a})), jnp.shape(${a}))`,
    scalar: ([a]) => `jnp.abs(${a})`,
  },

  interp: infix(([x, y, w]) => `(1 - ${w}) * ${x} + ${w} * ${y}`),
  clip: whole('_clip'),
  global_norm: whole('_global_norm'),
  dot: whole('_dot'),
  cosine_sim: whole('_cosine_sim'),

  unit_clip: { type: 'map', expr: ([a]) => `jnp.clip(${a}, -1.0, 1.0)` },
  rel_sign: helper('_rel_sign'),
  l2_normalize: whole('_l2_normalize'),
  thresh_sign: helper('_thresh_sign'),
  copy: same,
};

const HELPERS: Record<string, string> = {
  _pow: `def _pow(x, y):
    # JavaScript's Math.pow, the language's definition: (+-1) ** (+-inf or nan) is nan (C's pow gives 1).
    return jnp.where((jnp.abs(x) == 1) & ~jnp.isfinite(y), jnp.nan, jnp.power(x, y))`,
  _log1p: `def _log1p(x):
    # ln|1 + x|: log1p for |x| < 1, where it is needed for accuracy, ln|1 + x| elsewhere (the guard below -1;
    # above 1 the two agree, and some log1p kernels overflow for huge x: torch 1.13 gives log1p(1e308) = inf).
    return jnp.where(jnp.abs(x) < 1, jnp.log1p(x), jnp.log(jnp.abs(1 + x)))`,
  _rel_sign: `def _rel_sign(x):
    # x / sqrt(1 + x^2), written as sign(x) / sqrt(1 + 1 / x^2) for |x| > 1 so that it does not overflow.
    return jnp.where(jnp.abs(x) <= 1, x / jnp.sqrt(1 + x * x), jnp.sign(x) / jnp.sqrt(1 + 1 / (x * x)))`,
  _thresh_sign: `def _thresh_sign(x, e):
    a = jnp.abs(x)
    return jnp.where(a > e, jnp.sign(x), jnp.where(a <= e, 0.0, jnp.nan))`,
  _sum_squares: `def _sum_squares(t):
    # over every leaf: the reductions of the language see all parameters at once
    return sum(jnp.sum(x * x) for x in t)`,
  _global_norm: `def _global_norm(t):
    return jnp.sqrt(_sum_squares(t))`,
  _dot: `def _dot(a, b):
    return sum(jnp.sum(x * y) for x, y in zip(a, b))`,
  _cosine_sim: `def _cosine_sim(a, b):
    return _dot(a, b) / (jnp.sqrt(_sum_squares(a)) * jnp.sqrt(_sum_squares(b)) + 1e-08)`,
  _clip: `def _clip(t, c):
    # clip by global norm; unchanged when the norm is 0 or at most c
    n = _global_norm(t)
    s = jnp.where((n == 0) | (n <= c), 1.0, c / n)
    return [x * s for x in t]`,
  _l2_normalize: `def _l2_normalize(t):
    n = _global_norm(t)
    return [jnp.where(n == 0, jnp.zeros_like(x), x * (1 / n)) for x in t]`,
};

const HELPER_DEPS: Record<string, readonly string[]> = {
  _global_norm: ['_sum_squares'],
  _cosine_sim: ['_dot', '_sum_squares'],
  _clip: ['_global_norm'],
  _l2_normalize: ['_global_norm'],
};

export const JAX_DIALECT: PyDialect = {
  ops: JAX_OPS,
  helpers: HELPERS,
  helperDeps: HELPER_DEPS,
  typedConstant: (lit) => `jnp.asarray(${lit})`,
  typeLiteralsInCalls: false,
};

export function exportOptax(p: Program, label: string): string {
  const rule = emitRule(p, JAX_DIALECT);
  const fn = snakeName(label);
  const stateCls = `${pascalName(label)}State`;
  const slots = rule.slotNames;
  const slotTuple = `(${slots.map(pyString).join(', ')}${slots.length === 1 ? ',' : ''})`;
  const negated = rule.scalarUpdate
    ? '        new_updates = [jnp.broadcast_to(-update, jnp.shape(x)) for x in w]'
    : '        new_updates = [-u for u in update]';
  return [
    `"""${fn}: an optimizer update rule exported by optsearch (optax / JAX).`,
    '',
    'Usage:',
    `    tx = ${fn}(learning_rate=optax.cosine_decay_schedule(1.0, total_steps))`,
    '    opt_state = tx.init(params)',
    '    updates, opt_state = tx.update(grads, opt_state, params)',
    '    params = optax.apply_updates(params, updates)',
    '',
    "learning_rate is the schedule's value (a float or a function of the step count), peak 1.0: the",
    "program's own constants carry the absolute scale. The rule reads the weights, so update() needs",
    'params. Reductions of the program run over all leaves of the params pytree together. Values keep',
    "JAX's default precision (float32 unless jax_enable_x64 is set).",
    '"""',
    '# Program:',
    ...programComment(p),
    '',
    'from typing import Callable, NamedTuple, Union',
    '',
    'import jax',
    'import jax.numpy as jnp',
    'import optax',
    '',
    `SLOTS = ${slotTuple}`,
    '',
    ...rule.helperSources.flatMap((h) => ['', h, '']),
    '',
    ...rule.lines,
    '',
    '',
    `class ${stateCls}(NamedTuple):`,
    '    """count: steps taken (the schedule\'s argument); one pytree shaped like the params per slot."""',
    '',
    '    count: jax.Array',
    ...slots.map((s) => `    ${s}: optax.Updates`),
    '',
    '',
    `def ${fn}(learning_rate: Union[float, Callable[[jax.Array], jax.Array]] = 1.0) -> optax.GradientTransformation:`,
    '    """The exported rule as an optax.GradientTransformation (apply with optax.apply_updates)."""',
    '',
    '    def init_fn(params):',
    `        return ${stateCls}(`,
    '            count=jnp.zeros([], jnp.int32),',
    ...slots.map((s) => `            ${s}=jax.tree_util.tree_map(jnp.zeros_like, params),`),
    '        )',
    '',
    '    def update_fn(updates, state, params=None):',
    '        if params is None:',
    `            raise ValueError(${pyString(`${fn} reads the weights: call update(grads, state, params)`)})`,
    '        g, treedef = jax.tree_util.tree_flatten(updates)',
    '        w = treedef.flatten_up_to(params)',
    `        slots = [${slots.map((s) => `treedef.flatten_up_to(state.${s})`).join(', ')}]`,
    '        lr = learning_rate(state.count) if callable(learning_rate) else learning_rate',
    '        update, *new_slots = rule(w, g, *slots, jnp.asarray(lr))',
    negated,
    `        new_state = ${stateCls}(`,
    '            optax.safe_int32_increment(state.count),',
    '            *[treedef.unflatten(s) for s in new_slots],',
    '        )',
    '        return treedef.unflatten(new_updates), new_state',
    '',
    '    return optax.GradientTransformation(init_fn, update_fn)',
    '',
  ].join('\n');
}
