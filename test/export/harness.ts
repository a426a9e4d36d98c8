/**
 * Runs exported NumPy modules under python3 and the same programs in the Float64 interpreter, on the
 * same inputs: weights as several leaves with real shapes, a gradient that depends on the weights
 * (g = c * w + d + noise_t, the same IEEE operations in both), state carried over the steps.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Arg, Program, Statement } from '../../src/dsl/ast.ts';
import { runSteps } from '../../src/dsl/interpret.ts';
import { makeLayout, OPS } from '../../src/dsl/ops.ts';
import { exportProgram } from '../../src/export/index.ts';
import type { Rng } from '../../src/util/rng.ts';

export interface PythonStatus {
  readonly ok: boolean;
  readonly reason: string;
}

let cached: PythonStatus | undefined;

/** Whether python3 with numpy runs here (and why not). */
export function numpyStatus(): PythonStatus {
  if (cached) return cached;
  const r = spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' });
  if (r.error) cached = { ok: false, reason: `python3 is not available (${r.error.message})` };
  else if (r.status !== 0) cached = { ok: false, reason: `numpy is not importable by python3: ${r.stderr.trim().split('\n').pop()}` };
  else cached = { ok: true, reason: `numpy ${r.stdout.trim()}` };
  return cached;
}

export function python3Status(): PythonStatus {
  const r = spawnSync('python3', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return { ok: false, reason: 'python3 is not available' };
  return { ok: true, reason: r.stdout.trim() };
}

export interface Case {
  readonly program: Program;
  /** Leaf shapes, as NumPy shapes ([] is a 0-d leaf). */
  readonly shapes: readonly (readonly number[])[];
  readonly w0: Float64Array;
  readonly c: Float64Array;
  readonly d: Float64Array;
  readonly noise: readonly Float64Array[];
  readonly lrs: readonly number[];
}

export interface Trajectory {
  /** After each step: the weights and every state slot, flat. */
  readonly steps: { readonly w: Float64Array; readonly state: readonly Float64Array[] }[];
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Random inputs for a program, with some exact zeros and +-1 so that the ops' edge cases are hit. */
export function makeCase(rng: Rng, program: Program, shapes: readonly (readonly number[])[], steps: number): Case {
  const total = shapes.reduce((a, s) => a + sizeOf(s), 0);
  const special = [0, 1, -1, 0.5, 2, -3];
  const vec = (f: () => number): Float64Array => Float64Array.from({ length: total }, f);
  const w0 = vec(() => (rng.next() < 0.15 ? rng.pick(special) : rng.normal()));
  const c = vec(() => (rng.next() < 0.1 ? 0 : rng.uniform(0.5, 2)));
  const d = vec(() => (rng.next() < 0.15 ? 0 : 0.5 * rng.normal()));
  const noise = Array.from({ length: steps }, () => vec(() => (rng.next() < 0.2 ? 0 : 0.1 * rng.normal())));
  const lrs = Array.from({ length: steps }, (_, t) => (t === 0 ? 1 : rng.uniform(0.1, 1)));
  return { program, shapes, w0, c, d, noise, lrs };
}

export function interpreterTrajectory(k: Case): Trajectory {
  const layout = makeLayout(k.shapes.map(sizeOf));
  const steps: Trajectory['steps'] = [];
  runSteps(k.program, {
    layout,
    w0: k.w0,
    steps: k.noise.length,
    gradient: (w, t) => {
      const n = k.noise[t] as Float64Array;
      const g = new Float64Array(w.length);
      for (let i = 0; i < w.length; i++) g[i] = (k.c[i] as number) * (w[i] as number) + (k.d[i] as number) + (n[i] as number);
      return g;
    },
    schedule: (t) => k.lrs[t] as number,
    onStep: (_t, w, state) => steps.push({ w: Float64Array.from(w), state: state.map((s) => Float64Array.from(s)) }),
  });
  return { steps };
}

const RUNNER = String.raw`
import importlib.util, json, sys
import numpy as np

def leaves(flat, shapes):
    out, i = [], 0
    for s in shapes:
        n = int(np.prod(s)) if len(s) else 1
        out.append(np.array([float(v) for v in flat[i:i + n]], dtype=np.float64).reshape(s))
        i += n
    return out

def enc(arrays):
    return [repr(float(v)) for a in arrays for v in np.ravel(a)]

cases = json.load(open(sys.argv[1]))
results = []
for k, case in enumerate(cases):
    try:
        spec = importlib.util.spec_from_file_location('exported_%d' % k, case['module'])
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        shapes = [tuple(s) for s in case['shapes']]
        w = leaves(case['w0'], shapes)
        c = leaves(case['c'], shapes)
        d = leaves(case['d'], shapes)
        state = None
        steps = []
        for t, lr in enumerate(case['lrs']):
            n = leaves(case['noise'][t], shapes)
            g = [ci * wi + di + ni for ci, wi, di, ni in zip(c, w, d, n)]
            w, state = mod.step(w, g, state, lr)
            steps.append({'w': enc(w), 'state': [enc(s) for s in state]})
        results.append({'steps': steps})
    except Exception as e:
        results.append({'error': '%s: %s' % (type(e).__name__, e)})
json.dump(results, open(sys.argv[2], 'w'))
`;

const TORCH_RUNNER = String.raw`
import importlib.util, json, sys
import torch

def leaves(flat, shapes):
    out, i = [], 0
    for s in shapes:
        n = 1
        for k in s:
            n *= k
        out.append(torch.tensor([float(v) for v in flat[i:i + n]], dtype=torch.float64).reshape(s))
        i += n
    return out

def enc(tensors):
    return [repr(float(v)) for t in tensors for v in t.reshape(-1).tolist()]

cases = json.load(open(sys.argv[1]))
results = []
for k, case in enumerate(cases):
    try:
        spec = importlib.util.spec_from_file_location('exported_%d' % k, case['module'])
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        shapes = [tuple(s) for s in case['shapes']]
        params = [torch.nn.Parameter(x) for x in leaves(case['w0'], shapes)]
        c = leaves(case['c'], shapes)
        d = leaves(case['d'], shapes)
        opt = mod.Exported(params, lr=1.0)
        steps = []
        for t, lr in enumerate(case['lrs']):
            n = leaves(case['noise'][t], shapes)
            with torch.no_grad():
                for p, ci, di, ni in zip(params, c, d, n):
                    p.grad = ci * p + di + ni
            for group in opt.param_groups:
                group['lr'] = lr
            opt.step()
            steps.append({
                'w': enc([p.detach() for p in params]),
                'state': [enc([opt.state[p][s] for p in params]) for s in mod.Exported.SLOTS],
            })
        results.append({'steps': steps})
    except Exception as e:
        results.append({'error': '%s: %s' % (type(e).__name__, e)})
json.dump(results, open(sys.argv[2], 'w'))
`;

let torchCached: (PythonStatus & { python?: string }) | undefined;

/** A python3 on this machine that imports torch (the PATH one first, then the system one). */
export function torchStatus(): PythonStatus & { python?: string } {
  if (torchCached) return torchCached;
  for (const python of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (!r.error && r.status === 0) return (torchCached = { ok: true, reason: `torch ${r.stdout.trim()}`, python });
  }
  return (torchCached = { ok: false, reason: 'no python3 here imports torch' });
}

/** Numbers as Python float() strings: JSON has no NaN or infinities and drops the sign of -0. */
function encode(x: Float64Array): string[] {
  return [...x].map((v) => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : Object.is(v, -0) ? '-0.0' : String(v)));
}

const decode = (s: string): number => (s === 'nan' ? NaN : s === 'inf' ? Infinity : s === '-inf' ? -Infinity : Number(s));

/** Exports every case's program to NumPy and runs them all in one python3 process. */
export function numpyTrajectories(cases: readonly Case[]): (Trajectory | { error: string })[] {
  return pythonTrajectories(cases, 'numpy', 'python3');
}

/** Exports every case's program as a PyTorch optimizer (float64 parameters) and runs them in one process. */
export function torchTrajectories(cases: readonly Case[], python: string): (Trajectory | { error: string })[] {
  return pythonTrajectories(cases, 'pytorch', python);
}

function pythonTrajectories(cases: readonly Case[], format: 'numpy' | 'pytorch', python: string): (Trajectory | { error: string })[] {
  const dir = mkdtempSync(join(tmpdir(), 'optsearch-export-'));
  try {
    const input = cases.map((k, i) => {
      const module = join(dir, `program_${i}.py`);
      writeFileSync(module, exportProgram(k.program, format, { name: 'exported' }));
      return {
        module,
        shapes: k.shapes,
        w0: encode(k.w0),
        c: encode(k.c),
        d: encode(k.d),
        noise: k.noise.map(encode),
        lrs: k.lrs,
      };
    });
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(input));
    writeFileSync(join(dir, 'runner.py'), format === 'numpy' ? RUNNER : TORCH_RUNNER);
    const r = spawnSync(python, [join(dir, 'runner.py'), join(dir, 'cases.json'), join(dir, 'out.json')], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`${python} runner failed: ${r.stderr}`);
    return decodeResults(readFileSync(join(dir, 'out.json'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function decodeResults(json: string): (Trajectory | { error: string })[] {
  const out = JSON.parse(json) as ({ steps: { w: string[]; state: string[][] }[] } | { error: string })[];
  return out.map((o) =>
    'error' in o
      ? o
      : {
          steps: o.steps.map((s) => ({
            w: Float64Array.from(s.w.map(decode)),
            state: s.state.map((x) => Float64Array.from(x.map(decode))),
          })),
        },
  );
}

/**
 * Below this, differences are last-bit differences of values of order 1 that cancelled (w - tanh(w)
 * with V8's and NumPy's tanh one ulp apart reaches 1e-19 apart at 8e-11): not a semantic difference.
 */
export const ABS_FLOOR = 1e-15;

/** Equal NaN / infinity pattern, finite values within a relative tolerance (plus ABS_FLOOR). */
export function close(a: number, b: number, rel: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b)) + ABS_FLOOR;
}

/** The first difference between two trajectories, or undefined. */
export function firstMismatch(expected: Trajectory, actual: Trajectory, rel: number): string | undefined {
  if (expected.steps.length !== actual.steps.length) return `${actual.steps.length} steps, expected ${expected.steps.length}`;
  for (let t = 0; t < expected.steps.length; t++) {
    const e = expected.steps[t]!;
    const a = actual.steps[t]!;
    const pairs: [string, Float64Array, Float64Array | undefined][] = [
      ['w', e.w, a.w],
      ...e.state.map((s, i): [string, Float64Array, Float64Array | undefined] => [`state ${i}`, s, a.state[i]]),
    ];
    if (a.state.length !== e.state.length) return `step ${t}: ${a.state.length} state slots, expected ${e.state.length}`;
    for (const [what, x, y] of pairs) {
      if (!y || y.length !== x.length) return `step ${t} ${what}: ${y?.length} values, expected ${x.length}`;
      for (let i = 0; i < x.length; i++) {
        if (!close(x[i]!, y[i]!, rel)) return `step ${t} ${what}[${i}]: exported ${y[i]}, interpreter ${x[i]}`;
      }
    }
  }
  return undefined;
}

export const STEPS = 5;
export const REL = 1e-9;
export const LAYOUTS: readonly (readonly (readonly number[])[])[] = [
  [[2, 3], [4]],
  [[3], [1], [2, 2]],
  [[5], [2]],
  [[], [3], [2, 1]],
  [[1], [1], [1], [4]],
];
export const SLOT_SETS: readonly (readonly string[])[] = [['m', 'v'], ['m', 'v'], ['m'], [], ['m', 'v', 's']];


/** Ops whose value reaches an output (update or a state slot) of the program. */
export function liveOps(p: Program): Set<string> {
  const need = new Set(p.outputs);
  const ops = new Set<string>();
  for (let i = p.statements.length - 1; i >= 0; i--) {
    const s = p.statements[i] as Statement;
    if (!need.has(s.target)) continue;
    need.delete(s.target);
    ops.add(s.op);
    for (const a of s.args) if (a.kind === 'var') need.add(a.name);
  }
  return ops;
}

export function compareAll(cases: readonly Case[], run: (cases: readonly Case[]) => (Trajectory | { error: string })[] = numpyTrajectories): string[] {
  const actual = run(cases);
  const failures: string[] = [];
  cases.forEach((k, i) => {
    const a = actual[i]!;
    if ('error' in a) {
      failures.push(`case ${i}: python raised ${a.error}`);
      return;
    }
    const m = firstMismatch(interpreterTrajectory(k), a, REL);
    if (m) failures.push(`case ${i} (${k.program.statements.map((s) => s.op).join(' ')}): ${m}`);
  });
  return failures;
}

export const v = (name: string): Arg => ({ kind: 'var', name });
export const n = (value: number): Arg => ({ kind: 'num', value });

/**
 * One program per op and argument form, with the op's result flowing into the update: the Tensor form
 * on tensors (m, g, w) and, where the op accepts Scalars, the Scalar form on two data-dependent scalars.
 */
export function perOpPrograms(): Program[] {
  const out: Program[] = [];
  for (const spec of OPS) {
    const forms: ('tensor' | 'scalar')[] = spec.args.every((k) => k !== 'T') && spec.args.length > 0 ? ['tensor', 'scalar'] : ['tensor'];
    for (const form of forms) {
      const tensors = ['m', 'g', 'w'];
      const scalars = ['s', 't', 'lr'];
      let ti = 0;
      let si = 0;
      const args: Arg[] = spec.args.map((k) =>
        k === 'T' || (k === 'N' && form === 'tensor') ? v(tensors[ti++ % 3] as string) : v(scalars[si++ % 3] as string),
      );
      const result = spec.result === 'S' || (form === 'scalar' && spec.result !== 'T') ? 'scalar' : 'tensor';
      const statements: Statement[] = [
        { target: 'm', op: 'interp', args: [v('g'), v('m'), n(0.5)] },
        { target: 's', op: 'global_norm', args: [v('m')] },
        { target: 't', op: 'dot', args: [v('g'), v('w')] },
        { target: 'x', op: spec.name, args },
      ];
      if (result === 'scalar') statements.push({ target: 'u', op: 'mul', args: [v('g'), v('x')] });
      out.push({ name: 'train', inputs: ['w', 'g', 'm', 'lr'], statements, outputs: [result === 'scalar' ? 'u' : 'x', 'm'] });
    }
  }
  return out;
}


/** Values where the ops' definitions have edges: NaN, infinities, signed zeros, +-1, overflow, subnormals. */
export const SPECIAL_VALUES = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 1e308, -1e-310, 0.5, -2.5, 3, 1e-8, -1e-8, 2, -0.5];

/**
 * Inputs whose weights and gradients run through SPECIAL_VALUES in different pairings: w0 cycles
 * through them and g = 0 * w + d gives the gradient another cycle (0 * inf is NaN, as everywhere).
 */
export function specialCase(program: Program, shapes: readonly (readonly number[])[], offset: number): Case {
  const total = shapes.reduce((a, s) => a + sizeOf(s), 0);
  const k = SPECIAL_VALUES.length;
  const w0 = Float64Array.from({ length: total }, (_, i) => SPECIAL_VALUES[(i + offset) % k] as number);
  const d = Float64Array.from({ length: total }, (_, i) => SPECIAL_VALUES[(i * 5 + 3 + offset) % k] as number);
  const zeros = new Float64Array(total);
  return { program, shapes, w0, c: zeros, d, noise: [zeros, zeros], lrs: [1, 0.5] };
}

/** One program per op applied directly to (w, g) and literal scalars; the result is the update and the state. */
export function specialPrograms(): Program[] {
  const scalarLiteral: Partial<Record<string, number>> = { interp: 0.3, clip: 1, thresh_sign: 0.5 };
  return OPS.map((spec) => {
    const tensors = ['w', 'g'];
    let ti = 0;
    const args: Arg[] = spec.args.map((k) => (k === 'S' ? n(scalarLiteral[spec.name] ?? 0.5) : v(tensors[ti++ % 2] as string)));
    const statements: Statement[] = [{ target: 'x', op: spec.name, args }];
    const scalar = spec.result === 'S';
    if (scalar) statements.push({ target: 'u', op: 'mul', args: [v('g'), v('x')] });
    return { name: 'train', inputs: ['w', 'g', 'm', 'lr'], statements, outputs: [scalar ? 'u' : 'x', scalar ? 'u' : 'x'] };
  });
}

/**
 * Stand-ins for jax and optax built on NumPy, for machines without JAX: jax.numpy is NumPy itself (JAX
 * mirrors its names), jax.tree_util flattens dicts and lists in JAX's order (dict keys sorted), and
 * optax has GradientTransformation and safe_int32_increment. They run the exported transformation's
 * plumbing (flatten, rule, negation, state, schedule by count); JAX's own numerics are not checked.
 */
const FAKE_JAX: Record<string, string> = {
  'jax/__init__.py': 'from . import numpy, tree_util\nArray = object\n',
  'jax/numpy.py': 'from numpy import *\nfrom numpy import asarray, where, shape, broadcast_to, zeros, zeros_like, int32, pi, e, nan\n',
  'jax/tree_util.py': String.raw`
def _flatten(x):
    if isinstance(x, dict):
        leaves, specs = [], []
        for k in sorted(x):
            l, s = _flatten(x[k])
            leaves += l
            specs.append(s)
        return leaves, ('dict', tuple(sorted(x)), tuple(specs))
    if isinstance(x, list):
        leaves, specs = [], []
        for item in x:
            l, s = _flatten(item)
            leaves += l
            specs.append(s)
        return leaves, ('list', len(x), tuple(specs))
    return [x], ('leaf',)

def _build(spec, it):
    if spec[0] == 'dict':
        return {k: _build(s, it) for k, s in zip(spec[1], spec[2])}
    if spec[0] == 'list':
        return [_build(s, it) for s in spec[2]]
    return next(it)

class PyTreeDef:
    def __init__(self, spec):
        self.spec = spec
    def unflatten(self, leaves):
        return _build(self.spec, iter(leaves))
    def flatten_up_to(self, tree):
        leaves, spec = _flatten(tree)
        if spec != self.spec:
            raise ValueError('tree structure mismatch')
        return leaves

def tree_flatten(x):
    leaves, spec = _flatten(x)
    return leaves, PyTreeDef(spec)

def tree_leaves(x):
    return _flatten(x)[0]

def tree_map(f, tree, *rest):
    leaves, d = tree_flatten(tree)
    others = [d.flatten_up_to(r) for r in rest]
    return d.unflatten([f(*xs) for xs in zip(leaves, *others)])
`,
  'optax/__init__.py': String.raw`
from typing import Any, Callable, NamedTuple
from jax import tree_util
Updates = Any

class GradientTransformation(NamedTuple):
    init: Callable
    update: Callable

def safe_int32_increment(count):
    return count + 1

def apply_updates(params, updates):
    return tree_util.tree_map(lambda p, u: p + u, params, updates)
`,
};

const OPTAX_RUNNER = String.raw`
import importlib.util, json, sys, warnings
import numpy as np
import jax, optax
if hasattr(jax, 'config'):
    jax.config.update('jax_enable_x64', True)
warnings.filterwarnings('ignore')
np.seterr(all='ignore')

def leaves(flat, shapes):
    out, i = [], 0
    for s in shapes:
        n = int(np.prod(s)) if len(s) else 1
        out.append(np.array([float(v) for v in flat[i:i + n]], dtype=np.float64).reshape(s))
        i += n
    return out

def as_tree(ls):
    # a nested pytree whose flattening order is the leaf order
    return {'first': ls[0], 'rest': [{'w': x} for x in ls[1:]]}

def enc(tree):
    return [repr(float(v)) for a in jax.tree_util.tree_leaves(tree) for v in np.ravel(np.asarray(a))]

cases = json.load(open(sys.argv[1]))
results = []
for k, case in enumerate(cases):
    try:
        spec = importlib.util.spec_from_file_location('exported_%d' % k, case['module'])
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        shapes = [tuple(s) for s in case['shapes']]
        params = as_tree(leaves(case['w0'], shapes))
        c = leaves(case['c'], shapes)
        d = leaves(case['d'], shapes)
        lrs = case['lrs']
        tx = mod.exported(learning_rate=lambda count: lrs[int(count)])
        state = tx.init(params)
        steps = []
        for t in range(len(lrs)):
            n = leaves(case['noise'][t], shapes)
            w = jax.tree_util.tree_leaves(params)
            grads = as_tree([ci * wi + di + ni for ci, wi, di, ni in zip(c, [np.asarray(x) for x in w], d, n)])
            updates, state = tx.update(grads, state, params)
            params = optax.apply_updates(params, updates)
            steps.append({'w': enc(params), 'state': [enc(getattr(state, s)) for s in mod.SLOTS]})
        results.append({'steps': steps})
    except Exception as e:
        results.append({'error': '%s: %s' % (type(e).__name__, e)})
json.dump(results, open(sys.argv[2], 'w'))
`;

export interface OptaxRuntime extends PythonStatus {
  /** True when real jax and optax are importable; otherwise the NumPy stand-ins are used. */
  readonly real: boolean;
}

export function optaxRuntime(): OptaxRuntime {
  const r = spawnSync('python3', ['-c', 'import jax, optax; print(jax.__version__, optax.__version__)'], { encoding: 'utf8' });
  if (!r.error && r.status === 0) return { ok: true, real: true, reason: `jax and optax ${r.stdout.trim()}` };
  const np = numpyStatus();
  return { ok: np.ok, real: false, reason: np.ok ? 'NumPy stand-ins for jax and optax' : np.reason };
}

/** Exports every case as an optax transformation and runs it on nested-dict params (float64). */
export function optaxTrajectories(cases: readonly Case[], real: boolean): (Trajectory | { error: string })[] {
  const dir = mkdtempSync(join(tmpdir(), 'optsearch-optax-'));
  try {
    if (!real) {
      mkdirSync(join(dir, 'fake', 'jax'), { recursive: true });
      mkdirSync(join(dir, 'fake', 'optax'), { recursive: true });
      for (const [path, src] of Object.entries(FAKE_JAX)) writeFileSync(join(dir, 'fake', path), src);
    }
    const input = cases.map((k, i) => {
      const module = join(dir, `program_${i}.py`);
      writeFileSync(module, exportProgram(k.program, 'optax', { name: 'exported' }));
      return { module, shapes: k.shapes, w0: encode(k.w0), c: encode(k.c), d: encode(k.d), noise: k.noise.map(encode), lrs: k.lrs };
    });
    writeFileSync(join(dir, 'cases.json'), JSON.stringify(input));
    writeFileSync(join(dir, 'runner.py'), OPTAX_RUNNER);
    const env = real ? process.env : { ...process.env, PYTHONPATH: join(dir, 'fake') };
    const r = spawnSync('python3', [join(dir, 'runner.py'), join(dir, 'cases.json'), join(dir, 'out.json')], {
      encoding: 'utf8',
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.status !== 0) throw new Error(`optax runner failed: ${r.stderr}`);
    return decodeResults(readFileSync(join(dir, 'out.json'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Programs at the edges of the calling convention: inputs returned unchanged (the update is w itself,
 * a slot takes g or another slot), a Scalar update, no state slots, the weights' name reassigned.
 */
export const EDGE_PROGRAMS: readonly string[] = [
  'def train(w, g, m, v, lr):\n  return w, g, w\n',
  'def train(w, g, m, v, lr):\n  m = interp(g, m, 0.5)\n  return g, v, m\n',
  'def train(w, g, m, lr):\n  s = global_norm(g)\n  u = s * lr\n  m = interp(g, m, 0.9)\n  return u, m\n',
  'def train(w, g, lr):\n  u = sign(g)\n  return u\n',
  'def train(w, g, lr):\n  u = lr * 0.5\n  return u\n',
  'def train(w, g, m, lr):\n  w = w * 2.0\n  u = w - g\n  return u, w\n',
];
