/**
 * The fingerprint's batched interpreter: a reduced program run with the interpreter's op semantics
 * (the `f` of every op in ops.ts, and applyOp for the other custom ops) on many small independent
 * "models" (configurations) at once, for a few steps with the state carried. What the probe inputs
 * are, and how the outputs are hashed, is src/analysis/fingerprint.ts.
 *
 * Evaluation works in one Float64Array arena: a Tensor node owns `total` consecutive values (every
 * configuration's weights one after the other), a Scalar node (and a constant) one value per
 * configuration. Element-wise ops run once over the concatenated elements; a Scalar argument of an
 * element-wise op with a Tensor result is read at the element's configuration; reductions run per
 * configuration, so a NaN in one configuration does not poison the others. A scalar update counts
 * as that scalar broadcast over the weights (the caller applies w - update either way). Only the
 * update and the live state slots are output: a dead slot's returned value cannot change any later
 * update.
 */
import { applyOp } from '../dsl/interpret.ts';
import { EPS as OPS_EPS, makeLayout, type Layout, type OpSpec, type Value } from '../dsl/ops.ts';
import { CONST as GRAPH_CONST, INPUT as GRAPH_INPUT, OP as GRAPH_OP, OP_SPECS as GRAPH_OP_SPECS, opId, TENSOR as GRAPH_TENSOR } from './graph.ts';
import type { Reduced } from './pipeline.ts';

// Module-local copies of the imported constants: the hot loops below read them per node and per
// element, and a local binding is cheaper there than an imported one.
const EPS = OPS_EPS;
const CONST = GRAPH_CONST;
const INPUT = GRAPH_INPUT;
const TENSOR = GRAPH_TENSOR;
const OP_SPECS = GRAPH_OP_SPECS;
const OP = { ...GRAPH_OP };

/** How many configurations, the leaf sizes of each, and how many steps a probe has. */
export interface ProbeShape {
  readonly configs: number;
  readonly leaves: readonly number[];
  readonly steps: number;
}

/** The inputs of one probe: per step, weights and gradients over all configurations, one lr per configuration. */
export interface ProbeSet {
  readonly w: readonly Float64Array[];
  readonly g: readonly Float64Array[];
  readonly lr: readonly Float64Array[];
}

/** What one run leaves; views into buffers the next run of the same interpreter overwrites. */
export interface BatchRun {
  /** Per step, the update then each live slot, over all configurations. */
  readonly outputs: Float64Array;
  /** The same memory as outputs, as 32-bit words (two per value). */
  readonly outputWords: Uint32Array;
  /**
   * Where each thresh_sign node cuts: row k (k < cutRowCount) holds steps x configs thresholds
   * from k * steps * configs on, |x| = e for e > 0 and 0 for e <= 0 (sign(x) for every x).
   */
  readonly cuts: Float64Array;
  readonly cutRowCount: number;
}

export interface BatchInterpreter {
  readonly layout: Layout;
  /** Values of a Tensor over all configurations: configs x the layout's total. */
  readonly total: number;
  run(r: Reduced, probe: ProbeSet): BatchRun;
}

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

/**
 * An interpreter for probes of one shape. Its buffers are reused between runs (they only grow), so
 * a run allocates nothing once they are large enough.
 */
export function batchInterpreter(shape: ProbeShape): BatchInterpreter {
  const PROBE_CONFIGS = shape.configs;
  const STEPS = shape.steps;
  const LAYOUT: Layout = makeLayout(shape.leaves);
  const PER_CONFIG = LAYOUT.total;
  const TOTAL = PROBE_CONFIGS * PER_CONFIG;
  if (PROBE_CONFIGS > 256) throw new Error('a probe has at most 256 configurations');
  /** Configuration of each element. */
  const CONFIG_OF = new Uint8Array(TOTAL);
  for (let i = 0; i < TOTAL; i++) CONFIG_OF[i] = Math.floor(i / PER_CONFIG);
  const CUT_ROW = STEPS * PROBE_CONFIGS;
  let arena = new Float64Array(1 << 12);

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

  /*
   * Where thresh_sign cuts, per node, step and configuration: |x| = e for e > 0 (e <= 0 is sign(x)
   * for every x, recorded as 0). Two thresholds that no probe value falls between give equal outputs
   * yet differ on the band between them, so the fingerprint hashes the cuts too: the only op whose
   * behaviour hangs on a scalar parameter that point samples cannot pin down.
   */
  let cutRows = new Float64Array(CUT_ROW * 4);
  let cutRowCount = 0;

  function recordCut(A: Float64Array, e: number, to: number): void {
    for (let c = 0; c < PROBE_CONFIGS; c++) {
      const v = A[e + c] as number;
      cutRows[to + c] = v <= 0 ? 0 : v; // NaN stays NaN
    }
  }

  /** Probe outputs are written here (reused between runs). */
  let outBuf = new Float64Array(1024);
  let outWords = new Uint32Array(outBuf.buffer);
  /** Arena offset of each node (reused between runs). */
  let nodeOffset = new Int32Array(256);
  /** Argument offsets and kinds, one buffer per arity, so no array length is ever changed in the loop. */
  const OFFS_BY: number[][] = [[], [0], [0, 0], [0, 0, 0]];
  const TENS_BY: boolean[][] = [[], [false], [false, false], [false, false, false]];

  function run(r: Reduced, probe: ProbeSet): BatchRun {
    const g = r.graph;
    const size = g.size;
    const outputs = r.outputs;
    const slots = outputs.length - 1;
    const live: number[] = [];
    for (let i = 0; i < slots; i++) if (r.liveSlots[i]) live.push(i);
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
    return { outputs: outBuf.subarray(0, length), outputWords: outWords.subarray(0, 2 * length), cuts: cutRows, cutRowCount };
  }

  return { layout: LAYOUT, total: TOTAL, run };
}
