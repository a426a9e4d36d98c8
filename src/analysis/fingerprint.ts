/**
 * Behavioural fingerprint (AutoML-Zero's functional equivalence check): run the reduced program
 * with the interpreter's op semantics (the `f` of every op in ops.ts, and applyOp for the
 * reductions) on fixed pseudo-random probe inputs for three steps with the state carried,
 * quantise every output to 27 significant bits (about 8 decimal digits; NaN, +Inf, -Inf and zero
 * each one token), and hash. Programs with the same fingerprint are treated as the same program
 * by the cache; x + x and 2 * x collide, as they should.
 *
 * The probe is PROBE_CONFIGS small independent "models", each with two leaves of two weights (so
 * per-leaf and global reductions differ). A fixed schedule gives every configuration a magnitude
 * kind and a sign mode for w and for g (see SCHEDULE) and an lr band, so each probe set visits the
 * same regions of input space: all-positive and all-negative configurations (an l2_normalize or a
 * dot turns one bad element into a NaN for the whole configuration), values just around 1 (where
 * the arc functions' domains end), w far above or below g. A reduction never mixes two
 * configurations, so a NaN in one does not poison the others. All configurations are evaluated in
 * one pass: element-wise ops run once over the concatenated elements, Scalars hold one value per
 * configuration, and reductions run per configuration through the interpreter's applyOp.
 * A scalar update counts as that scalar broadcast over the weights (the caller applies w - update
 * either way). Only the update and the live state slots are probed: a dead slot's returned value
 * cannot change any later update.
 *
 * Two additions catch programs that agree on the probe points but not between them:
 * - thresh_sign's cut (its threshold, per step and configuration) is hashed with the outputs, since
 *   two thresholds with no probe value between them give equal outputs (see recordCut);
 * - when the outputs take at most FEW_VALUES distinct finite values (all NaN, a constant, a sign
 *   pattern: the behaviours that many different programs share) the program is probed again on
 *   EXTENSION_SETS more probe sets. The decision depends on the quantised outputs only, so programs
 *   with equal outputs are probed alike and equal programs still collide.
 */
import type { Program } from '../dsl/ast.ts';
import { applyOp } from '../dsl/interpret.ts';
import { EPS as OPS_EPS, makeLayout, type Layout, type OpSpec, type Value } from '../dsl/ops.ts';
import { Rng } from '../util/rng.ts';
import { Hash64 } from './canonical.ts';
import { CONST as GRAPH_CONST, INPUT as GRAPH_INPUT, OP as GRAPH_OP, OP_SPECS as GRAPH_OP_SPECS, opId, TENSOR as GRAPH_TENSOR } from './graph.ts';
import { reduce, type Reduced } from './pipeline.ts';

// Module-local copies of the imported constants: the hot loops below read them per node and per
// element, and a local binding is cheaper there than an imported one.
const EPS = OPS_EPS;
const CONST = GRAPH_CONST;
const INPUT = GRAPH_INPUT;
const TENSOR = GRAPH_TENSOR;
const OP_SPECS = GRAPH_OP_SPECS;
const OP = { ...GRAPH_OP };

export const DEFAULT_PROBE_SEED = 0x5eed;
/**
 * A second, independent probe set for measuring fingerprint collisions: the fingerprint never
 * probes it (neither as its own seed nor as an extension set; checked below).
 */
export const SECOND_PROBE_SEED = 0xbeef17;

/**
 * Magnitude bands (log10 |x|) a configuration draws a tensor from. They tile 1e-7 .. 1e3, with
 * extra resolution around 1, where the domains of arcsin, arccos, arctanh, arccosh, unit_clip and
 * the sign of log change. WIDE draws every element from its own magnitude, so a configuration
 * straddles every boundary at once.
 */
const BANDS: readonly (readonly [number, number])[] = [
  [-3, -2],
  [-2, -1.2],
  [-1.2, -0.5],
  [-0.5, 0],
  [-0.03, 0.03], // NEAR_ONE: drawn as 1 +- 10^U(NEAR_ONE_LOG_DISTANCE), not from this band
  [0, 0.5],
  [0.5, 1.3],
  [1.3, 2],
];
const WIDE: readonly [number, number] = [-3, 2];
/** The band around 1 (index in BANDS): magnitudes 1 +- 10^U(NEAR_ONE_LOG_DISTANCE) instead. */
const NEAR_ONE = 4;
const NEAR_ONE_LOG_DISTANCE: readonly [number, number] = [-7, -1];
const KINDS = BANDS.length + 1;
/**
 * Signs of a configuration's elements: random per element, one sign for the whole configuration,
 * one sign per leaf; drawn afresh each step, so a gradient can also turn against its momentum.
 */
const SIGN_MODES = 3;
/** lr bands (log10), one per configuration, cycled. */
const LR_BANDS: readonly (readonly [number, number])[] = [
  [-3, -2],
  [-2, -1],
  [-1, 0],
  [-0.3, 0.3],
];

/** Number of probe configurations and their leaf sizes. */
export const PROBE_CONFIGS = KINDS * SIGN_MODES;
const LEAVES: readonly number[] = [2, 2];
const PER_CONFIG = 4;
const STEPS = 3;
const TOTAL = PROBE_CONFIGS * PER_CONFIG;

interface ProbeSet {
  /** Per step: weights and gradients over all configurations, one lr per configuration. */
  readonly w: readonly Float64Array[];
  readonly g: readonly Float64Array[];
  readonly lr: readonly Float64Array[];
}

const LAYOUT: Layout = makeLayout(LEAVES);
/** Configuration of each element. */
const CONFIG_OF = new Uint8Array(TOTAL);
for (let i = 0; i < TOTAL; i++) CONFIG_OF[i] = Math.floor(i / PER_CONFIG);

/**
 * What configuration c draws from: a magnitude kind and a sign mode for w and for g, and an lr
 * band. A fixed schedule (not drawn from the seed), so every probe set covers every kind and sign
 * mode of w, each paired with a different kind of g, and every band of lr: probe sets from two
 * seeds differ in the values, not in which regions of input space they visit.
 */
interface ConfigKind {
  readonly wKind: number;
  readonly wSign: number;
  readonly gKind: number;
  readonly gSign: number;
  readonly lrBand: number;
}
const SCHEDULE: readonly ConfigKind[] = Array.from({ length: PROBE_CONFIGS }, (_, c) => {
  const block = Math.floor(c / KINDS);
  return {
    wKind: c % KINDS,
    wSign: block,
    gKind: (c + 1 + 3 * block) % KINDS,
    gSign: (c + block) % SIGN_MODES,
    lrBand: c % LR_BANDS.length,
  };
});

const probeCache = new Map<number, ProbeSet>();

function probeSet(seed: number): ProbeSet {
  let set = probeCache.get(seed);
  if (set) return set;
  const rng = new Rng(seed);
  const magnitude = (kind: number, wideLo: number, wideHi: number): number => {
    // log-uniform distance to 1, so a domain edge at 1 + d is straddled for every scale of d
    if (kind === NEAR_ONE) return 1 + (rng.next() < 0.5 ? -1 : 1) * Math.pow(10, rng.uniform(NEAR_ONE_LOG_DISTANCE[0], NEAR_ONE_LOG_DISTANCE[1]));
    const [lo, hi] = kind < BANDS.length ? (BANDS[kind] as readonly [number, number]) : [wideLo, wideHi];
    return Math.pow(10, rng.uniform(lo, hi));
  };
  const randomSign = (): number => (rng.next() < 0.5 ? -1 : 1);
  const tensor = (kindOf: (k: ConfigKind) => number, signOf: (k: ConfigKind) => number): Float64Array => {
    const t = new Float64Array(TOTAL);
    for (let c = 0; c < PROBE_CONFIGS; c++) {
      const k = SCHEDULE[c] as ConfigKind;
      const mode = signOf(k);
      const whole = randomSign();
      for (let l = 0; l < LEAVES.length; l++) {
        const leaf = randomSign();
        const from = c * PER_CONFIG + (LAYOUT.offsets[l] as number);
        for (let i = from; i < from + (LEAVES[l] as number); i++) {
          const sign = mode === 1 ? whole : mode === 2 ? leaf : randomSign();
          t[i] = sign * magnitude(kindOf(k), WIDE[0], WIDE[1]);
        }
      }
    }
    return t;
  };
  const w: Float64Array[] = [];
  const g: Float64Array[] = [];
  const lr: Float64Array[] = [];
  for (let s = 0; s < STEPS; s++) {
    w.push(tensor((k) => k.wKind, (k) => k.wSign));
    g.push(tensor((k) => k.gKind, (k) => k.gSign));
    const l = new Float64Array(PROBE_CONFIGS);
    for (let c = 0; c < PROBE_CONFIGS; c++) {
      const [lo, hi] = LR_BANDS[(SCHEDULE[c] as ConfigKind).lrBand] as readonly [number, number];
      l[c] = Math.pow(10, rng.uniform(lo, hi));
    }
    lr.push(l);
  }
  set = { w, g, lr };
  probeCache.set(seed, set);
  return set;
}

/*
 * Evaluation works in one Float64Array arena: a Tensor node owns TOTAL consecutive values, a
 * Scalar node (and a constant) PROBE_CONFIGS values, one per configuration. A Scalar argument of
 * an element-wise op with a Tensor result is read at the element's configuration.
 */
/**
 * The probe inputs as the interpreter takes them: per configuration, per step, (w, g, lr) over a
 * model with leaves LEAVES. For tests that check the batched probe against the interpreter.
 */
export function probeInputs(seed: number = DEFAULT_PROBE_SEED): { layout: Layout; configs: { w: Float64Array; g: Float64Array; lr: number }[][] } {
  const set = probeSet(seed);
  const configs: { w: Float64Array; g: Float64Array; lr: number }[][] = [];
  for (let c = 0; c < PROBE_CONFIGS; c++) {
    const from = c * PER_CONFIG;
    configs.push(
      set.w.map((w, s) => ({ w: w.slice(from, from + PER_CONFIG), g: (set.g[s] as Float64Array).slice(from, from + PER_CONFIG), lr: (set.lr[s] as Float64Array)[c] as number })),
    );
  }
  return { layout: LAYOUT, configs };
}

let arena = new Float64Array(1 << 12);

/**
 * The four arithmetic ops written out (most statements are arithmetic; a direct loop avoids one
 * indirect call per element). Exactly the op table's semantics; test/analysis checks they agree.
 */
export const ARITHMETIC_KERNELS: ReadonlyMap<number, (x: number, y: number) => number> = new Map([
  [OP.add, (x: number, y: number) => x + y],
  [OP.sub, (x: number, y: number) => x - y],
  [OP.mul, (x: number, y: number) => x * y],
  [OP.div, (x: number, y: number) => x / (y + EPS)],
]);

function arithmetic(op: number, A: Float64Array, o: number, n: number, a: number, sa: number, b: number, sb: number): void {
  // sa / sb: 1 when the argument is read element by element, 0 when it is read per configuration.
  if (sa === 1 && sb === 1) {
    if (op === OP.add) for (let i = 0; i < n; i++) A[o + i] = (A[a + i] as number) + (A[b + i] as number);
    else if (op === OP.sub) for (let i = 0; i < n; i++) A[o + i] = (A[a + i] as number) - (A[b + i] as number);
    else if (op === OP.mul) for (let i = 0; i < n; i++) A[o + i] = (A[a + i] as number) * (A[b + i] as number);
    else for (let i = 0; i < n; i++) A[o + i] = (A[a + i] as number) / ((A[b + i] as number) + EPS);
    return;
  }
  for (let i = 0; i < n; i++) {
    const c = CONFIG_OF[i] as number;
    const x = A[a + (sa === 1 ? i : c)] as number;
    const y = A[b + (sb === 1 ? i : c)] as number;
    A[o + i] = op === OP.add ? x + y : op === OP.sub ? x - y : op === OP.mul ? x * y : x / (y + EPS);
  }
}

const U = {
  abs: opId('abs'),
  cos: opId('cos'),
  sin: opId('sin'),
  tan: opId('tan'),
  arcsin: opId('arcsin'),
  arccos: opId('arccos'),
  arctan: opId('arctan'),
  sinh: opId('sinh'),
  cosh: opId('cosh'),
  tanh: opId('tanh'),
  arcsinh: opId('arcsinh'),
  arccosh: opId('arccosh'),
  arctanh: opId('arctanh'),
  exp: opId('exp'),
  exp2: opId('exp2'),
  exp10: opId('exp10'),
  expm1: opId('expm1'),
  log: opId('log'),
  log10: opId('log10'),
  log2: opId('log2'),
  square: opId('square'),
  sqrt: opId('sqrt'),
  cube: opId('cube'),
  cbrt: opId('cbrt'),
  reciprocal: opId('reciprocal'),
  negative: opId('negative'),
} as const;

/**
 * The unary ops of the table whose `f` is one Math call or one product, written out as loops (one
 * call per node instead of one indirect call per element). Exactly the op table's semantics:
 * test/analysis compares every kernel with its op's `f` and the whole probe with the interpreter.
 * False for any other op (the caller then uses `f`).
 */
export function unaryKernel(op: number, A: Float64Array, o: number, a: number, n: number): boolean {
  switch (op) {
    case U.abs: for (let i = 0; i < n; i++) A[o + i] = Math.abs(A[a + i] as number); return true;
    case U.cos: for (let i = 0; i < n; i++) A[o + i] = Math.cos(A[a + i] as number); return true;
    case U.sin: for (let i = 0; i < n; i++) A[o + i] = Math.sin(A[a + i] as number); return true;
    case U.tan: for (let i = 0; i < n; i++) A[o + i] = Math.tan(A[a + i] as number); return true;
    case U.arcsin: for (let i = 0; i < n; i++) A[o + i] = Math.asin(A[a + i] as number); return true;
    case U.arccos: for (let i = 0; i < n; i++) A[o + i] = Math.acos(A[a + i] as number); return true;
    case U.arctan: for (let i = 0; i < n; i++) A[o + i] = Math.atan(A[a + i] as number); return true;
    case U.sinh: for (let i = 0; i < n; i++) A[o + i] = Math.sinh(A[a + i] as number); return true;
    case U.cosh: for (let i = 0; i < n; i++) A[o + i] = Math.cosh(A[a + i] as number); return true;
    case U.tanh: for (let i = 0; i < n; i++) A[o + i] = Math.tanh(A[a + i] as number); return true;
    case U.arcsinh: for (let i = 0; i < n; i++) A[o + i] = Math.asinh(A[a + i] as number); return true;
    case U.arccosh: for (let i = 0; i < n; i++) A[o + i] = Math.acosh(A[a + i] as number); return true;
    case U.arctanh: for (let i = 0; i < n; i++) A[o + i] = Math.atanh(A[a + i] as number); return true;
    case U.exp: for (let i = 0; i < n; i++) A[o + i] = Math.exp(A[a + i] as number); return true;
    case U.exp2: for (let i = 0; i < n; i++) A[o + i] = Math.pow(2, A[a + i] as number); return true;
    case U.exp10: for (let i = 0; i < n; i++) A[o + i] = Math.pow(10, A[a + i] as number); return true;
    case U.expm1: for (let i = 0; i < n; i++) A[o + i] = Math.expm1(A[a + i] as number); return true;
    case U.log: for (let i = 0; i < n; i++) A[o + i] = Math.log(Math.abs(A[a + i] as number)); return true;
    case U.log10: for (let i = 0; i < n; i++) A[o + i] = Math.log10(Math.abs(A[a + i] as number)); return true;
    case U.log2: for (let i = 0; i < n; i++) A[o + i] = Math.log2(Math.abs(A[a + i] as number)); return true;
    case U.square: for (let i = 0; i < n; i++) { const x = A[a + i] as number; A[o + i] = x * x; } return true;
    case U.sqrt: for (let i = 0; i < n; i++) A[o + i] = Math.sqrt(Math.abs(A[a + i] as number)); return true;
    case U.cube: for (let i = 0; i < n; i++) { const x = A[a + i] as number; A[o + i] = x * x * x; } return true;
    case U.cbrt: for (let i = 0; i < n; i++) A[o + i] = Math.cbrt(A[a + i] as number); return true;
    case U.reciprocal: for (let i = 0; i < n; i++) A[o + i] = 1 / (A[a + i] as number); return true;
    case U.negative: for (let i = 0; i < n; i++) A[o + i] = -(A[a + i] as number); return true;
    default: return false;
  }
}

function elementwise(op: number, f: (...x: number[]) => number, A: Float64Array, o: number, tensorOut: boolean, offs: readonly number[], tens: readonly boolean[]): void {
  const k = offs.length;
  const n = tensorOut ? TOTAL : PROBE_CONFIGS;
  if (k === 2 && ARITHMETIC_KERNELS.has(op)) {
    arithmetic(op, A, o, n, offs[0] as number, !tensorOut || tens[0] ? 1 : 0, offs[1] as number, !tensorOut || tens[1] ? 1 : 0);
    return;
  }
  if (k === 1) {
    const a = offs[0] as number;
    if (!tensorOut || tens[0]) {
      if (!unaryKernel(op, A, o, a, n)) for (let i = 0; i < n; i++) A[o + i] = f(A[a + i] as number);
    }
    else for (let i = 0; i < n; i++) A[o + i] = f(A[a + (CONFIG_OF[i] as number)] as number);
    return;
  }
  if (k === 2) {
    const a = offs[0] as number;
    const b = offs[1] as number;
    const ta = !tensorOut || tens[0] === true;
    const tb = !tensorOut || tens[1] === true;
    if (ta && tb) {
      if (op === OP.max) for (let i = 0; i < n; i++) A[o + i] = Math.max(A[a + i] as number, A[b + i] as number);
      else if (op === OP.min) for (let i = 0; i < n; i++) A[o + i] = Math.min(A[a + i] as number, A[b + i] as number);
      else for (let i = 0; i < n; i++) A[o + i] = f(A[a + i] as number, A[b + i] as number);
    } else if (ta) for (let i = 0; i < n; i++) A[o + i] = f(A[a + i] as number, A[b + (CONFIG_OF[i] as number)] as number);
    else if (tb) for (let i = 0; i < n; i++) A[o + i] = f(A[a + (CONFIG_OF[i] as number)] as number, A[b + i] as number);
    else for (let i = 0; i < n; i++) A[o + i] = f(A[a + (CONFIG_OF[i] as number)] as number, A[b + (CONFIG_OF[i] as number)] as number);
    return;
  }
  if (op === OP.interp) {
    // interp(x, y, w) = (1 - w) * x + w * y, as in the op table; w is always a Scalar.
    const a = offs[0] as number;
    const b = offs[1] as number;
    const c = offs[2] as number;
    const ta = !tensorOut || tens[0] === true;
    const tb = !tensorOut || tens[1] === true;
    for (let i = 0; i < n; i++) {
      const cfg = tensorOut ? (CONFIG_OF[i] as number) : i;
      const w = A[c + cfg] as number;
      A[o + i] = (1 - w) * (A[a + (ta ? i : cfg)] as number) + w * (A[b + (tb ? i : cfg)] as number);
    }
    return;
  }
  const buf: number[] = new Array(k);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < k; j++) buf[j] = A[(offs[j] as number) + (!tensorOut || tens[j] ? i : (CONFIG_OF[i] as number))] as number;
    A[o + i] = f(...buf);
  }
}

/**
 * The reductions of ops.ts over every configuration at once, with the same arithmetic in the same
 * order (sums run element by element from the first). test/analysis compares the whole probe with
 * the interpreter bit for bit.
 */
function reduction(op: number, A: Float64Array, o: number, offs: readonly number[], tens: readonly boolean[]): boolean {
  const a = offs[0] as number;
  if (op === OP.global_norm || op === OP.l2_normalize || op === OP.clip) {
    const cOff = offs[1] as number;
    for (let c = 0; c < PROBE_CONFIGS; c++) {
      const from = a + c * PER_CONFIG;
      let ss = 0;
      for (let i = 0; i < PER_CONFIG; i++) {
        const v = A[from + i] as number;
        ss += v * v;
      }
      const gn = Math.sqrt(ss);
      if (op === OP.global_norm) {
        A[o + c] = gn;
        continue;
      }
      const to = o + c * PER_CONFIG;
      if (op === OP.l2_normalize) {
        if (gn === 0) A.fill(0, to, to + PER_CONFIG);
        else {
          const k = 1 / gn;
          for (let i = 0; i < PER_CONFIG; i++) A[to + i] = (A[from + i] as number) * k;
        }
        continue;
      }
      const cv = A[cOff + c] as number;
      if (gn === 0 || gn <= cv) A.copyWithin(to, from, from + PER_CONFIG);
      else {
        const k = cv / gn;
        for (let i = 0; i < PER_CONFIG; i++) A[to + i] = (A[from + i] as number) * k;
      }
    }
    return true;
  }
  if (op === OP.dot || op === OP.cosine_sim) {
    const b = offs[1] as number;
    for (let c = 0; c < PROBE_CONFIGS; c++) {
      const fa = a + c * PER_CONFIG;
      const fb = b + c * PER_CONFIG;
      let d = 0;
      for (let i = 0; i < PER_CONFIG; i++) d += (A[fa + i] as number) * (A[fb + i] as number);
      if (op === OP.dot) {
        A[o + c] = d;
        continue;
      }
      let sa = 0;
      let sb = 0;
      for (let i = 0; i < PER_CONFIG; i++) {
        const x = A[fa + i] as number;
        sa += x * x;
      }
      for (let i = 0; i < PER_CONFIG; i++) {
        const y = A[fb + i] as number;
        sb += y * y;
      }
      A[o + c] = d / (Math.sqrt(sa) * Math.sqrt(sb) + EPS);
    }
    return true;
  }
  if (op === OP.norm) {
    if (!tens[0]) {
      for (let c = 0; c < PROBE_CONFIGS; c++) A[o + c] = Math.abs(A[a + c] as number);
      return true;
    }
    for (let c = 0; c < PROBE_CONFIGS; c++) {
      for (let l = 0; l < LAYOUT.sizes.length; l++) {
        const from = a + c * PER_CONFIG + (LAYOUT.offsets[l] as number);
        const n = LAYOUT.sizes[l] as number;
        let ss = 0;
        for (let i = 0; i < n; i++) {
          const v = A[from + i] as number;
          ss += v * v;
        }
        const to = o + c * PER_CONFIG + (LAYOUT.offsets[l] as number);
        A.fill(Math.sqrt(ss), to, to + n);
      }
    }
    return true;
  }
  return false;
}

/** Any other custom op, one configuration at a time through the interpreter's applyOp. */
function perConfig(spec: OpSpec, A: Float64Array, o: number, tensorOut: boolean, offs: readonly number[], tens: readonly boolean[]): void {
  const values: Value[] = new Array(offs.length);
  for (let c = 0; c < PROBE_CONFIGS; c++) {
    const from = c * PER_CONFIG;
    for (let j = 0; j < offs.length; j++) {
      const a = offs[j] as number;
      values[j] = tens[j] ? A.slice(a + from, a + from + PER_CONFIG) : (A[a + c] as number);
    }
    const r = applyOp(spec, values, LAYOUT);
    if (typeof r === 'number') {
      if (tensorOut) A.fill(r, o + from, o + from + PER_CONFIG);
      else A[o + c] = r;
    } else A.set(r, o + from);
  }
}

/**
 * Where thresh_sign cuts, per node, step and configuration: |x| = e for e > 0 (e <= 0 is sign(x)
 * for every x, recorded as 0). Two thresholds that no probe value falls between give equal outputs
 * yet differ on the band between them, so the fingerprint hashes the cuts too: the only op whose
 * behaviour hangs on a scalar parameter that point samples cannot pin down.
 */
const CUT_ROW = STEPS * PROBE_CONFIGS;
let cutRows = new Float64Array(CUT_ROW * 4);
let cutRowCount = 0;

function recordCut(A: Float64Array, e: number, to: number): void {
  for (let c = 0; c < PROBE_CONFIGS; c++) {
    const v = A[e + c] as number;
    cutRows[to + c] = v <= 0 ? 0 : v; // NaN stays NaN
  }
}

/** Row a before row b (NaN last), so the cut rows enter the hash in an order the graph's node order does not decide. */
function compareCutRows(a: number, b: number): number {
  for (let i = 0; i < CUT_ROW; i++) {
    const x = cutRows[a * CUT_ROW + i] as number;
    const y = cutRows[b * CUT_ROW + i] as number;
    if (x === y || (x !== x && y !== y)) continue;
    if (x !== x) return 1;
    if (y !== y) return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Probe outputs are written here (reused between calls); probeInto returns how many. */
let outBuf = new Float64Array(1024);
let outWords = new Uint32Array(outBuf.buffer);

/** Raw probe outputs of a reduced program: per step, the update then each live slot, over all configurations. */
export function probeReduced(r: Reduced, seed: number = DEFAULT_PROBE_SEED): Float64Array {
  return outBuf.slice(0, probeInto(r, seed));
}

/** Arena offset of each node (reused between calls). */
let nodeOffset = new Int32Array(256);
/** Argument offsets and kinds, one buffer per arity, so no array length is ever changed in the loop. */
const OFFS_BY: number[][] = [[], [0], [0, 0], [0, 0, 0]];
const TENS_BY: boolean[][] = [[], [false], [false, false], [false, false, false]];

function probeInto(r: Reduced, seed: number): number {
  const g = r.graph;
  const size = g.size;
  const outputs = r.outputs;
  const slots = outputs.length - 1;
  const live: number[] = [];
  for (let i = 0; i < slots; i++) if (r.liveSlots[i]) live.push(i);
  const probe = probeSet(seed);
  const length = STEPS * TOTAL * (1 + live.length);
  if (outBuf.length < length) {
    outBuf = new Float64Array(Math.max(length, outBuf.length * 2));
    outWords = new Uint32Array(outBuf.buffer);
  }
  const out = outBuf;

  // One row of thresholds per thresh_sign node (see cutRows).
  cutRowCount = 0;
  let cutRow: Int32Array | undefined;
  for (let id = 0; id < size; id++) {
    if (g.op[id] !== OP.thresh_sign) continue;
    cutRow ??= new Int32Array(size).fill(-1);
    cutRow[id] = cutRowCount++;
  }
  if (cutRows.length < cutRowCount * CUT_ROW) cutRows = new Float64Array(Math.max(cutRowCount * CUT_ROW, cutRows.length * 2));

  // Arena layout: node values, then one state buffer per slot.
  if (nodeOffset.length < size) nodeOffset = new Int32Array(Math.max(size, nodeOffset.length * 2));
  const offset = nodeOffset;
  let used = 0;
  for (let id = 0; id < size; id++) {
    offset[id] = used;
    used += g.kind[id] === TENSOR ? TOTAL : PROBE_CONFIGS;
  }
  const stateAt = used;
  used += slots * TOTAL;
  if (arena.length < used) arena = new Float64Array(Math.max(used, arena.length * 2));
  const A = arena;
  A.fill(0, stateAt, used);
  for (let id = 0; id < size; id++) if (g.op[id] === CONST) A.fill(g.value[id] as number, offset[id] as number, (offset[id] as number) + PROBE_CONFIGS);

  const offsBy = OFFS_BY;
  const tensBy = TENS_BY;
  let at = 0;
  for (let s = 0; s < STEPS; s++) {
    for (let id = 0; id < size; id++) {
      const op = g.op[id] as number;
      if (op === CONST) continue;
      const o = offset[id] as number;
      if (op === INPUT) {
        const k = g.value[id] as number;
        if (k === 0) A.set(probe.w[s] as Float64Array, o);
        else if (k === 1) A.set(probe.g[s] as Float64Array, o);
        else if (k === g.inputCount - 1) A.set(probe.lr[s] as Float64Array, o);
        else A.copyWithin(o, stateAt + (k - 2) * TOTAL, stateAt + (k - 1) * TOTAL);
        continue;
      }
      const a = g.args[id] as readonly number[];
      const offs = offsBy[a.length] as number[];
      const tens = tensBy[a.length] as boolean[];
      for (let j = 0; j < a.length; j++) {
        offs[j] = offset[a[j] as number] as number;
        tens[j] = g.kind[a[j] as number] === TENSOR;
      }
      const spec = OP_SPECS[op] as OpSpec;
      const sem = spec.semantics;
      const tensorOut = g.kind[id] === TENSOR;
      if (sem.type === 'elementwise') elementwise(op, sem.f, A, o, tensorOut, offs, tens);
      else if (!reduction(op, A, o, offs, tens)) perConfig(spec, A, o, tensorOut, offs, tens);
      if (cutRow !== undefined && op === OP.thresh_sign) recordCut(A, offs[1] as number, (cutRow[id] as number) * CUT_ROW + s * PROBE_CONFIGS);
    }
    const u = outputs[0] as number;
    const uo = offset[u] as number;
    if (g.kind[u] === TENSOR) for (let i = 0; i < TOTAL; i++) out[at + i] = A[uo + i] as number;
    else for (let i = 0; i < TOTAL; i++) out[at + i] = A[uo + (CONFIG_OF[i] as number)] as number;
    at += TOTAL;
    for (const i of live) {
      const so = offset[outputs[1 + i] as number] as number;
      for (let i = 0; i < TOTAL; i++) out[at + i] = A[so + i] as number;
      at += TOTAL;
    }
    // Returned state becomes the next step's state (slot outputs are always Tensors).
    for (let i = 0; i < slots; i++) {
      const so = offset[outputs[1 + i] as number] as number;
      A.copyWithin(stateAt + i * TOTAL, so, so + TOTAL);
    }
  }
  return length;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;

/** Hash of values quantised to 27 significant bits; NaN, +-Inf and +-0 are single tokens. */
export function hashQuantised(values: Float64Array): string {
  const h = new Hash64();
  mixWords(h, values, new Uint32Array(values.buffer, values.byteOffset, values.length * 2), values.length);
  return h.hex();
}

/** A probe whose outputs take at most this many distinct finite values is extended (see fingerprintReduced). */
const FEW_VALUES = 4;
/** Distinct quantised finite values the last mixWords saw, counted up to FEW_VALUES + 1. */
let seenCount = 0;

/**
 * Mixes values[0, length) quantised into h's two murmur3-style lanes (`words` is a Uint32Array
 * view of the same memory), and counts their distinct finite values up to FEW_VALUES + 1.
 */
function mixWords(h: Hash64, values: Float64Array, words: Uint32Array, length: number): void {
  let a = h.a ^ length;
  let b = h.b ^ Math.imul(length, 0x9e3779b1);
  let seen = 0;
  let h0 = 0;
  let l0 = 0;
  let h1 = 0;
  let l1 = 0;
  let h2 = 0;
  let l2 = 0;
  let h3 = 0;
  let l3 = 0;
  for (let i = 0; i < length; i++) {
    const x = values[i] as number;
    let hi: number;
    let lo: number;
    // hi and lo as int32 (the hash reads them through imul and bit ops, which see the same bits).
    if (x !== x) ((hi = 0x7ff80000), (lo = 1));
    else if (x === Infinity) ((hi = 0x7ff00000), (lo = 2));
    else if (x === -Infinity) ((hi = 0xfff00000 | 0), (lo = 2));
    else {
      if (x === 0) ((hi = 0), (lo = 0));
      else {
        // Round to 27 significant bits: add half a unit of the kept low word, carry into the high word.
        const low = words[2 * i + LO] as number;
        hi = (words[2 * i + HI] as number) | 0;
        if (low >= 0xff000000) hi = (hi + 1) | 0;
        lo = (low + 0x01000000) & 0xfe000000;
      }
      // Distinct finite values, counted up to FEW_VALUES + 1 in locals (the hot case is a sign pattern).
      if (seen <= FEW_VALUES) {
        if (seen === 0) ((h0 = hi), (l0 = lo), (seen = 1));
        else if ((hi !== h0 || lo !== l0) && (seen < 2 || hi !== h1 || lo !== l1) && (seen < 3 || hi !== h2 || lo !== l2) && (seen < 4 || hi !== h3 || lo !== l3)) {
          if (seen === 1) ((h1 = hi), (l1 = lo));
          else if (seen === 2) ((h2 = hi), (l2 = lo));
          else if (seen === 3) ((h3 = hi), (l3 = lo));
          seen++;
        }
      }
    }
    let k = Math.imul(hi, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    a ^= k;
    a = (a << 13) | (a >>> 19);
    a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    k = Math.imul(lo, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    a ^= k;
    a = (a << 13) | (a >>> 19);
    a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    let j = Math.imul(lo ^ 0x5bd1e995, 0x85ebca6b) ^ hi;
    j = Math.imul((j << 17) | (j >>> 15), 0xc2b2ae35);
    b ^= j;
    b = (b << 11) | (b >>> 21);
    b = (Math.imul(b, 9) + 0x7f4a7c15) | 0;
  }
  h.a = a;
  h.b = b;
  seenCount = seen;
}

/** Raw probe outputs of a program (reduced first). */
export function probeOutputs(p: Program, seed: number = DEFAULT_PROBE_SEED): Float64Array {
  return probeReduced(reduce(p), seed);
}

/** Probes one seed into outBuf, appends the cut rows, and mixes the lot into h; true when the outputs take few values. */
function mixProbe(h: Hash64, r: Reduced, seed: number): boolean {
  let length = probeInto(r, seed);
  const outputLength = length;
  // A row of zeros is a thresh_sign that acts as sign(x) on the whole probe: no cut to record.
  const rows: number[] = [];
  for (let row = 0; row < cutRowCount; row++) {
    for (let i = row * CUT_ROW; i < (row + 1) * CUT_ROW; i++) {
      if (cutRows[i] !== 0) {
        rows.push(row);
        break;
      }
    }
  }
  if (rows.length > 0) {
    rows.sort(compareCutRows);
    const total = length + rows.length * CUT_ROW + 1;
    if (outBuf.length < total) {
      const grown = new Float64Array(Math.max(total, outBuf.length * 2));
      grown.set(outBuf.subarray(0, length));
      outBuf = grown;
      outWords = new Uint32Array(outBuf.buffer);
    }
    for (const row of rows) {
      outBuf.set(cutRows.subarray(row * CUT_ROW, (row + 1) * CUT_ROW), length);
      length += CUT_ROW;
    }
    // The row count, so cut rows can never pass for output values.
    outBuf[length++] = -rows.length;
  }
  mixWords(h, outBuf, outWords, outputLength);
  const few = seenCount <= FEW_VALUES;
  if (length > outputLength) mixWords(h, outBuf.subarray(outputLength), outWords.subarray(2 * outputLength), length - outputLength);
  return few;
}

/** Extra probe sets for few-valued outputs; their seeds are derived from the probe seed. */
export const EXTENSION_SETS = 2;

/** Seed of extension set k (0-based) of the probe seeded with `seed`. */
export function extensionSeed(seed: number, k: number): number {
  return (Math.imul(seed ^ 0x3c6ef372, 0x9e3779b1) + Math.imul(k + 1, 0x85ebca6b)) >>> 0;
}

/** Every seed the fingerprint on the probe seeded with `seed` may evaluate. */
export function fingerprintSeeds(seed: number = DEFAULT_PROBE_SEED): number[] {
  return [seed, ...Array.from({ length: EXTENSION_SETS }, (_, k) => extensionSeed(seed, k))];
}

if (fingerprintSeeds().includes(SECOND_PROBE_SEED)) throw new Error('SECOND_PROBE_SEED must stay outside the fingerprint\'s probe sets');

export function fingerprintReduced(r: Reduced, seed: number = DEFAULT_PROBE_SEED): string {
  const h = new Hash64();
  if (mixProbe(h, r, seed)) for (let k = 0; k < EXTENSION_SETS; k++) mixProbe(h, r, extensionSeed(seed, k));
  return h.hex();
}

/** The behavioural fingerprint on the default probe set (16 hex digits). */
export function fingerprint(p: Program): string {
  return fingerprintReduced(reduce(p), DEFAULT_PROBE_SEED);
}

/** The fingerprint on the probe set drawn from `seed`. */
export function fingerprintWithSeed(p: Program, seed: number): string {
  return fingerprintReduced(reduce(p), seed);
}

/**
 * Share of positions where two probe outputs differ: beyond 1e-6 relative, or in where NaN and
 * infinities stand. 1 when the lengths differ.
 */
export function differingFraction(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return 1;
  let differ = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    if (!Number.isFinite(x) || !Number.isFinite(y) || Math.abs(x - y) > 1e-6 * Math.max(Math.abs(x), Math.abs(y))) differ++;
  }
  return differ / a.length;
}

export interface ConflationCount {
  /** Distinct structural hashes among the programs. */
  readonly distinctHashes: number;
  readonly fingerprints: number;
  /** Hashes whose fingerprint an earlier, different hash already had. */
  readonly sharing: number;
  /** Of those, how many the second probe set (SECOND_PROBE_SEED) tells apart from the first hash of the group. */
  readonly conflated: number;
  /** Largest share of second-probe positions that differ within a conflated pair. */
  readonly worstFraction: number;
}

/**
 * How often the fingerprint conflates programs that really differ: structurally different programs
 * sharing a fingerprint whose outputs on SECOND_PROBE_SEED (one probe set, which the fingerprint
 * never evaluates) differ beyond 1e-6 relative or in where NaN and infinities stand.
 */
export function countConflations(programs: Iterable<Program>): ConflationCount {
  const groups = new Map<string, Map<string, Float64Array>>();
  let distinctHashes = 0;
  let sharing = 0;
  let conflated = 0;
  let worstFraction = 0;
  for (const p of programs) {
    const r = reduce(p);
    const fp = fingerprintReduced(r, DEFAULT_PROBE_SEED);
    let group = groups.get(fp);
    if (!group) groups.set(fp, (group = new Map()));
    if (group.has(r.hash)) continue;
    distinctHashes++;
    const second = probeReduced(r, SECOND_PROBE_SEED);
    if (group.size === 0) {
      group.set(r.hash, second);
      continue;
    }
    sharing++;
    const first = group.values().next().value as Float64Array;
    const fraction = differingFraction(first, second);
    if (fraction > 0) {
      conflated++;
      worstFraction = Math.max(worstFraction, fraction);
    }
    group.set(r.hash, first);
  }
  return { distinctHashes, fingerprints: groups.size, sharing, conflated, worstFraction };
}
