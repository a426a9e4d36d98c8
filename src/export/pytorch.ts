/**
 * PyTorch export: the source of a `torch.optim.Optimizer` subclass. The program runs once per param
 * group on lists of tensors (one per parameter), so its reductions see every parameter of the group;
 * state lives per parameter in `self.state[p]`. Values keep the parameters' dtype and device.
 */
import type { Program } from '../dsl/ast.ts';
import type { OpName } from '../dsl/ops.ts';
import { pascalName } from './names.ts';
import { call, call2, constant, emitRule, helper, infix, programComment, pyString, same, whole, type PyDialect, type PyLowering } from './python.ts';


/** Every op in PyTorch. An op missing here is a type error. */
export const TORCH_OPS: Record<OpName, PyLowering> = {
  get_pi: constant('_s(math.pi)'),
  get_e: constant('_s(math.e)'),
  get_eps: constant('_s(1e-08)'),

  add: infix(([a, b]) => `${a} + ${b}`),
  sub: infix(([a, b]) => `${a} - ${b}`),
  mul: infix(([a, b]) => `${a} * ${b}`),
  div: infix(([a, b]) => `${a} / (${b} + 1e-08)`),
  max: call2('torch.maximum'),
  min: call2('torch.minimum'),
  power: helper('_pow'),

  abs: call('torch.abs'),
  cos: call('torch.cos'),
  sin: call('torch.sin'),
  tan: call('torch.tan'),
  arcsin: call('torch.asin'),
  arccos: call('torch.acos'),
  arctan: call('torch.atan'),
  sinh: call('torch.sinh'),
  cosh: call('torch.cosh'),
  tanh: call('torch.tanh'),
  arcsinh: call('torch.asinh'),
  arccosh: call('torch.acosh'),
  arctanh: call('torch.atanh'),
  exp: call('torch.exp'),
  exp2: call('torch.exp2'),
  exp10: { type: 'map', expr: ([a]) => `torch.pow(10.0, ${a})` },
  expm1: call('torch.expm1'),
  log: { type: 'map', expr: ([a]) => `torch.log(torch.abs(${a}))` },
  log10: { type: 'map', expr: ([a]) => `torch.log10(torch.abs(${a}))` },
  log2: { type: 'map', expr: ([a]) => `torch.log2(torch.abs(${a}))` },
  log1p: helper('_log1p'),
  square: infix(([a]) => `${a} * ${a}`),
  sqrt: { type: 'map', expr: ([a]) => `torch.sqrt(torch.abs(${a}))` },
  cube: infix(([a]) => `${a} * ${a} * ${a}`),
  cbrt: helper('_cbrt'),
  sign: helper('_sign'),
  reciprocal: call('torch.reciprocal'),
  negative: infix(([a]) => `-${a}`),
  norm: {
    type: 'map',
    expr: ([a]) => `torch.sqrt(torch.sum(${a} * ${a})) * torch.ones_like(${a})`,
    scalar: ([a]) => `torch.abs(${a})`,
  },

  interp: infix(([x, y, w]) => `(1 - ${w}) * ${x} + ${w} * ${y}`),
  clip: whole('_clip'),
  global_norm: whole('_global_norm'),
  dot: whole('_dot'),
  cosine_sim: whole('_cosine_sim'),

  unit_clip: helper('_unit_clip'),
  rel_sign: helper('_rel_sign'),
  l2_normalize: whole('_l2_normalize'),
  thresh_sign: helper('_thresh_sign'),
  copy: same,
};

const HELPERS: Record<string, string> = {
  _sign: `def _sign(x):
    # sign(0) = 0 and NaN stays NaN
    return torch.where(torch.isnan(x), x, torch.sign(x))`,
  _pow: `def _pow(x, y):
    # JavaScript's Math.pow, the language's definition: (+-1) ** (+-inf or nan) is nan (C's pow gives 1).
    r = torch.pow(x, y)
    return torch.where((torch.abs(x) == 1) & ~torch.isfinite(y), torch.full_like(r, math.nan), r)`,
  _log1p: `def _log1p(x):
    # ln|1 + x|: log1p for |x| < 1, where it is needed for accuracy, ln|1 + x| elsewhere (the guard below -1;
    # above 1 the two agree, and some log1p kernels overflow for huge x: torch 1.13 gives log1p(1e308) = inf).
    return torch.where(torch.abs(x) < 1, torch.log1p(x), torch.log(torch.abs(1 + x)))`,
  _cbrt: `def _cbrt(x):
    # real cube root; PyTorch has no cbrt, so sign(x) * |x| ** (1/3) (may differ in the last bits)
    return _sign(x) * torch.abs(x).pow(1.0 / 3.0)`,
  _unit_clip: `def _unit_clip(x):
    return torch.where(torch.isnan(x), x, torch.clamp(x, -1.0, 1.0))`,
  _rel_sign: `def _rel_sign(x):
    # x / sqrt(1 + x^2), written as sign(x) / sqrt(1 + 1 / x^2) for |x| > 1 so that it does not overflow.
    return torch.where(torch.abs(x) <= 1, x / torch.sqrt(1 + x * x), _sign(x) / torch.sqrt(1 + 1 / (x * x)))`,
  _thresh_sign: `def _thresh_sign(x, e):
    a = torch.abs(x)
    inside = torch.where(a <= e, torch.zeros_like(a), torch.full_like(a, math.nan))
    return torch.where(a > e, _sign(x), inside)`,
  _sum_squares: `def _sum_squares(t):
    # over every parameter of the group: the reductions of the language see all parameters at once
    return sum(torch.sum(x * x) for x in t)`,
  _global_norm: `def _global_norm(t):
    return torch.sqrt(_sum_squares(t))`,
  _dot: `def _dot(a, b):
    return sum(torch.sum(x * y) for x, y in zip(a, b))`,
  _cosine_sim: `def _cosine_sim(a, b):
    return _dot(a, b) / (torch.sqrt(_sum_squares(a)) * torch.sqrt(_sum_squares(b)) + 1e-08)`,
  _clip: `def _clip(t, c):
    # clip by global norm; unchanged when the norm is 0 or at most c
    n = _global_norm(t)
    s = torch.where((n == 0) | (n <= c), torch.ones_like(n), c / n)
    return [x * s for x in t]`,
  _l2_normalize: `def _l2_normalize(t):
    n = _global_norm(t)
    return [torch.where(n == 0, torch.zeros_like(x), x * (1 / n)) for x in t]`,
};

const HELPER_DEPS: Record<string, readonly string[]> = {
  _cbrt: ['_sign'],
  _rel_sign: ['_sign'],
  _thresh_sign: ['_sign'],
  _global_norm: ['_sum_squares'],
  _cosine_sim: ['_dot', '_sum_squares'],
  _clip: ['_global_norm'],
  _l2_normalize: ['_global_norm'],
};

export const TORCH_DIALECT: PyDialect = {
  ops: TORCH_OPS,
  helpers: HELPERS,
  helperDeps: HELPER_DEPS,
  typedConstant: (lit) => `_s(${lit})`,
  typeLiteralsInCalls: true,
  hoistTypedConstants: true,
  prologue: (inputs, body) =>
    body.some((l) => l.includes('_s('))
      ? [
          `_like = ${inputs[0]}[0]`,
          '',
          'def _s(x):',
          '    # a constant as a 0-d tensor with the parameters\' dtype and device',
          '    return torch.as_tensor(x, dtype=_like.dtype, device=_like.device)',
          '',
        ]
      : [],
};

export function exportPytorch(p: Program, label: string): string {
  const rule = emitRule(p, TORCH_DIALECT);
  const cls = pascalName(label);
  const slots = rule.slotLabels;
  const slotTuple = `(${slots.map(pyString).join(', ')}${slots.length === 1 ? ',' : ''})`;
  const applyUpdate = rule.scalarUpdate
    ? ['            for p in params:', '                p.sub_(update)']
    : ['            for p, u in zip(params, update):', '                p.sub_(u)'];
  return [
    `"""${cls}: an optimizer update rule exported by optsearch (PyTorch).`,
    '',
    'Usage:',
    `    opt = ${cls}(model.parameters(), lr=1.0)`,
    '    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)',
    '',
    "lr is the learning-rate schedule's value at each step, peak 1.0: the program's own constants carry",
    'the absolute scale, so keep lr=1.0 and let a scheduler shape it. The update is w <- w - update.',
    '"""',
    '# Program:',
    ...programComment(p),
    '',
    'import math',
    '',
    'import torch',
    '',
    ...rule.helperSources.flatMap((h) => ['', h, '']),
    '',
    ...rule.lines,
    '',
    '',
    `class ${cls}(torch.optim.Optimizer):`,
    `    """The exported rule as a torch.optim.Optimizer.`,
    '',
    '    State per parameter: self.state[p][slot] for slot in SLOTS, zeros before the first step.',
    '    Reductions of the program (global_norm, dot, cosine_sim, clip, l2_normalize) run over all',
    '    parameters of a param group together.',
    '    """',
    '',
    `    SLOTS = ${slotTuple}`,
    '',
    '    def __init__(self, params, lr=1.0):',
    '        if not 0.0 <= lr:',
    "            raise ValueError(f'invalid learning rate: {lr}')",
    '        super().__init__(params, dict(lr=lr))',
    '',
    '    @torch.no_grad()',
    '    def step(self, closure=None):',
    '        loss = None',
    '        if closure is not None:',
    '            with torch.enable_grad():',
    '                loss = closure()',
    '        for group in self.param_groups:',
    "            params = [p for p in group['params'] if p.grad is not None]",
    '            if not params:',
    '                continue',
    '            if any(p.grad.is_sparse for p in params):',
    `                raise RuntimeError(${pyString(`${cls} does not support sparse gradients`)})`,
    '            for p in params:',
    '                st = self.state[p]',
    '                for name in self.SLOTS:',
    '                    if name not in st:',
    '                        st[name] = torch.zeros_like(p, memory_format=torch.preserve_format)',
    '            grads = [p.grad for p in params]',
    '            state = [[self.state[p][name] for p in params] for name in self.SLOTS]',
    "            lr = torch.as_tensor(group['lr'], dtype=params[0].dtype, device=params[0].device)",
    '            update, *new_state = rule(list(params), grads, *state, lr)',
    '            for name, values in zip(self.SLOTS, new_state):',
    '                for p, x in zip(params, values):',
    '                    # a slot must not alias the parameter (changed below) or its gradient',
    '                    self.state[p][name] = x.clone() if (x is p or x is p.grad) else x',
    ...applyUpdate,
    '        return loss',
    '',
  ].join('\n');
}
