/**
 * The reference trainer: a program trains a task in the Float64 reference interpreter instead of
 * tfjs, with the gradient written out by hand: the quadratic kind (closed form), the classifier kind
 * and the teacher-student kind (softmax regression or a relu MLP, backpropagation in plain loops). On these small models a
 * step costs microseconds where tfjs spends about a millisecond in per-op overhead, so a search can
 * train tens of thousands of programs on a laptop. Same contract as trainProgram: the same random
 * draws in the same order (initial weights, then each step's noise or minibatch), the same
 * schedule, hurdles and TrainResult; it never throws. Results agree with the tfjs backends up to
 * float32 rounding (a test compares them). Teacher-student batches are kept per task and seed for
 * the next run in the same worker (TeacherStream below).
 */
import type { Program } from '../dsl/ast.ts';
import { errorLine } from '../dsl/errors.ts';
import { applyUpdate, prepare, step } from '../dsl/interpret.ts';
import { makeLayout, type Layout } from '../dsl/ops.ts';
import { parseProgram } from '../dsl/parse.ts';
import { gatherRows, loadDataset, splitIndices } from '../tasks/data.ts';
import { RunMonitor, taskScheduleValue, type RunSettings } from '../tasks/monitor.ts';
import { datasetParam, glorot, num, numList } from '../tasks/params.ts';
import { noiseDraw, quadraticProblem } from '../tasks/quadratic.ts';
import { drawTeacherBatch, teacherStudentProblem } from '../tasks/teacher-student.ts';
import { ByteLru } from '../util/byte-lru.ts';
import { Rng } from '../util/rng.ts';
import type { TaskKind, TaskSpec, TrainResult } from '../vocabulary/index.ts';

/** A task as the reference trainer sees it: flat Float64 weights and a hand-written gradient. */
interface ReferenceTask {
  readonly layout: Layout;
  readonly w0: Float64Array;
  /** Gradient and training loss of the next step at w (draws that step's noise or minibatch). */
  gradient(w: Float64Array): { g: Float64Array; loss: number };
  evaluate(w: Float64Array): { loss: number; metric: number };
  /** Known minimum of the held-out loss, when the task computes it. */
  readonly lossFloor?: number;
}

function quadraticTask(spec: TaskSpec, seed: number): ReferenceTask {
  const q = quadraticProblem(spec);
  const { d, a, c, target, noise, noiseTail } = q;
  const rng = new Rng(seed);
  const w0 = Float64Array.from({ length: d }, () => q.startScale * rng.normal());
  const r = new Float64Array(d);
  const ar = new Float64Array(d);
  /** f(w) = 0.5 r^T A r with r = w - c; leaves A r in ar. */
  const objective = (x: Float64Array): number => {
    for (let i = 0; i < d; i++) r[i] = (x[i] as number) - (c[i] as number);
    let f = 0;
    for (let i = 0; i < d; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (a[i * d + j] as number) * (r[j] as number);
      ar[i] = s;
      f += (r[i] as number) * s;
    }
    return 0.5 * f;
  };
  return {
    layout: makeLayout([d]),
    w0,
    gradient(w) {
      let loss = objective(w);
      const g = new Float64Array(d);
      for (let i = 0; i < d; i++) {
        const xi = noise * noiseDraw(rng, noiseTail);
        g[i] = (ar[i] as number) + xi;
        loss += xi * (w[i] as number);
      }
      return { g, loss };
    },
    evaluate(x) {
      const loss = objective(x);
      let m = 0;
      for (let i = 0; i < d; i++) m = Math.max(m, Math.abs((x[i] as number) - (target[i] as number)));
      return { loss, metric: Number.isNaN(loss) ? NaN : m };
    },
  };
}

/** s + x[xo] y[yo] + x[xo+1] y[yo+1] + ... (len terms), added left to right; unrolled by four. */
function dotFrom(s: number, x: Float64Array, xo: number, y: Float64Array, yo: number, len: number): number {
  let j = 0;
  for (; j + 3 < len; j += 4) {
    s += (x[xo + j] as number) * (y[yo + j] as number);
    s += (x[xo + j + 1] as number) * (y[yo + j + 1] as number);
    s += (x[xo + j + 2] as number) * (y[yo + j + 2] as number);
    s += (x[xo + j + 3] as number) * (y[yo + j + 3] as number);
  }
  for (; j < len; j++) s += (x[xo + j] as number) * (y[yo + j] as number);
  return s;
}

/** dst[c * rows + r] = src[off + r * cols + c]: the transpose of a row-major rows x cols block. */
function transposeInto(dst: Float64Array, src: ArrayLike<number>, off: number, rows: number, cols: number): Float64Array {
  for (let r = 0; r < rows; r++) {
    const base = off + r * cols;
    for (let c = 0; c < cols; c++) dst[c * rows + r] = src[base + c] as number;
  }
  return dst;
}

/**
 * A relu MLP with a softmax cross-entropy head, in Float64: weights [W1, b1, W2, b2, ...] as one flat
 * array (W row-major fan-in x fan-out, Glorot-uniform from rng, biases zero, drawn in the order
 * makeMlp draws them).
 */
function referenceMlp(sizes: readonly number[], rng: Rng) {
  const layers = sizes.length - 1;
  const leaves: number[] = [];
  const init: number[] = [];
  for (let l = 0; l < layers; l++) {
    const fanIn = sizes[l] as number;
    const fanOut = sizes[l + 1] as number;
    leaves.push(fanIn * fanOut, fanOut);
    init.push(...glorot(rng, fanIn, fanOut), ...new Array<number>(fanOut).fill(0));
  }
  const layout = makeLayout(leaves);
  const offsets = layout.offsets;
  const classes = sizes[layers] as number;
  // transposed copies, reused across steps and never returned: slot l < layers holds W of layer l,
  // slots layers and layers + 1 a layer's input and delta in backpropagation
  const scratch: Float64Array[] = [];
  const scratchSlot = (slot: number, size: number): Float64Array => {
    const have = scratch[slot];
    return have && have.length >= size ? have : (scratch[slot] = new Float64Array(size));
  };
  /**
   * Activations of every layer for n rows: acts[0] = x, acts[layers] = logits. Each output is the
   * bias plus a dot product with a transposed copy of W (contiguous, summed in a register), adding
   * the inputs in ascending order as an axpy over W's rows would.
   */
  const forward = (w: Float64Array, x: ArrayLike<number>, n: number): Float64Array[] => {
    const x0 = new Float64Array(n * (sizes[0] as number));
    x0.set(x);
    const acts: Float64Array[] = [x0];
    for (let l = 0; l < layers; l++) {
      const a = sizes[l] as number;
      const b = sizes[l + 1] as number;
      const wt = transposeInto(scratchSlot(l, a * b), w, offsets[2 * l] as number, a, b);
      const bOff = offsets[2 * l + 1] as number;
      const inp = acts[l] as Float64Array;
      const out = new Float64Array(n * b);
      const hidden = l + 1 < layers;
      for (let i = 0; i < n; i++) {
        const xi = i * a;
        for (let k = 0; k < b; k++) {
          const wk = k * a;
          const s = dotFrom(w[bOff + k] as number, inp, xi, wt, wk, a);
          out[i * b + k] = hidden && !(s > 0) ? 0 : s;
        }
      }
      acts.push(out);
    }
    return acts;
  };
  /** Row-wise log-softmax of logits [n, classes]. */
  const logSoftmax = (logits: Float64Array, n: number): Float64Array => {
    const out = new Float64Array(n * classes);
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let k = 0; k < classes; k++) max = Math.max(max, logits[i * classes + k] as number);
      let sum = 0;
      for (let k = 0; k < classes; k++) sum += Math.exp((logits[i * classes + k] as number) - max);
      const lse = max + Math.log(sum);
      for (let k = 0; k < classes; k++) out[i * classes + k] = (logits[i * classes + k] as number) - lse;
    }
    return out;
  };
  /** Mean cross-entropy against hard labels, and its gradient in w. */
  const lossAndGradient = (w: Float64Array, x: ArrayLike<number>, y: Int32Array, n: number): { loss: number; g: Float64Array } => {
    const acts = forward(w, x, n);
    const logp = logSoftmax(acts[layers] as Float64Array, n);
    let loss = 0;
    // d loss / d logits = (softmax - onehot) / n
    let delta = new Float64Array(n * classes);
    for (let i = 0; i < n; i++) {
      loss -= logp[i * classes + (y[i] as number)] as number;
      for (let k = 0; k < classes; k++) delta[i * classes + k] = Math.exp(logp[i * classes + k] as number);
      delta[i * classes + (y[i] as number)] = (delta[i * classes + (y[i] as number)] as number) - 1;
    }
    for (let i = 0; i < delta.length; i++) delta[i] = (delta[i] as number) / n;
    const g = new Float64Array(w.length);
    for (let l = layers - 1; l >= 0; l--) {
      const a = sizes[l] as number;
      const o = sizes[l + 1] as number;
      const wOff = offsets[2 * l] as number;
      const bOff = offsets[2 * l + 1] as number;
      const inp = acts[l] as Float64Array;
      // dW[j][k] and db[k] as dot products over the batch of transposed copies, rows in ascending order
      const inpT = transposeInto(scratchSlot(layers, a * n), inp, 0, n, a);
      const deltaT = transposeInto(scratchSlot(layers + 1, o * n), delta, 0, n, o);
      for (let k = 0; k < o; k++) {
        const dk = k * n;
        let s = 0;
        for (let i = 0; i < n; i++) s += deltaT[dk + i] as number;
        g[bOff + k] = s;
      }
      for (let j = 0; j < a; j++) {
        const xj = j * n;
        const row = wOff + j * o;
        for (let k = 0; k < o; k++) g[row + k] = dotFrom(0, inpT, xj, deltaT, k * n, n);
      }
      if (l === 0) break;
      // back through W, then through the relu that made this layer's input
      const prev = new Float64Array(n * a);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < a; j++) {
          if (!((inp[i * a + j] as number) > 0)) continue;
          prev[i * a + j] = dotFrom(0, delta, i * o, w, wOff + j * o, o);
        }
      }
      delta = prev;
    }
    return { loss: loss / n, g };
  };
  /** Index of the first maximum of each row, as tf.argMax. */
  const argMax = (logits: Float64Array, n: number): Int32Array => {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let k = 1; k < classes; k++) if ((logits[i * classes + k] as number) > (logits[i * classes + best] as number)) best = k;
      out[i] = best;
    }
    return out;
  };
  return { layout, w0: Float64Array.from(init), layers, forward, logSoftmax, lossAndGradient, argMax };
}

/**
 * Softmax regression or a relu MLP on a table, as buildClassifier: minibatches drawn with
 * replacement from the training rows, held-out loss = validation cross-entropy, metric = accuracy.
 */
function classifierTask(spec: TaskSpec, seed: number): ReferenceTask {
  const ds = loadDataset(datasetParam(spec));
  const split = splitIndices(ds.n, num(spec, 'validationFraction', 0.2), num(spec, 'splitSeed', 0));
  const trainRows = spec.params.trainRows === undefined ? split.train : split.train.subarray(0, num(spec, 'trainRows'));
  const val = gatherRows(ds, split.validation);
  const rng = new Rng(seed);
  const hidden = spec.params.hidden === undefined || (spec.params.hidden as number[]).length === 0 ? [] : numList(spec, 'hidden', []);
  const mlp = referenceMlp([ds.features, ...hidden, ds.classes], rng);
  const batch = spec.batchSize;
  return {
    layout: mlp.layout,
    w0: mlp.w0,
    gradient(w) {
      const rows = Int32Array.from({ length: batch }, () => trainRows[rng.int(trainRows.length)] as number);
      const b = gatherRows(ds, rows);
      return mlp.lossAndGradient(w, b.x, b.y, batch);
    },
    evaluate(w) {
      const n = split.validation.length;
      const logits = mlp.forward(w, val.x, n)[mlp.layers] as Float64Array;
      const logp = mlp.logSoftmax(logits, n);
      let loss = 0;
      for (let i = 0; i < n; i++) loss -= logp[i * ds.classes + (val.y[i] as number)] as number;
      const predicted = mlp.argMax(logits, n);
      let correct = 0;
      for (let i = 0; i < n; i++) if (predicted[i] === val.y[i]) correct++;
      return { loss: loss / n, metric: correct / n };
    },
  };
}

/**
 * The training batches of a teacher-student task for one seed are the same for every program and lr
 * multiplier (they depend on the task and the seed only), and drawing them (the teacher's forward
 * pass and the label sampling) is about a third of a run. A worker keeps them: each stream holds the
 * Rng that draws it, already past the student's initial weights, and is filled lazily, so a run cut
 * short by a hurdle draws no more than it uses and a later run reads what earlier ones drew. Streams
 * over STREAM_BYTES_MAX are not kept; beyond the cache's budget in all the least recently used goes.
 */
interface TeacherStream {
  readonly rng: Rng;
  readonly bx: Float32Array;
  readonly by: Int32Array;
  filled: number;
}
const STREAM_BYTES_MAX = 64 * 2 ** 20;
const streams = new ByteLru<TeacherStream>(256 * 2 ** 20, (s) => s.bx.byteLength + s.by.byteLength, STREAM_BYTES_MAX);

/** Bytes of teacher-student batches a worker may keep (0 turns the cache off; tests compare both). */
export function setTeacherStreamCache(bytes: number): void {
  streams.reset(bytes);
}

const teacherStream = (key: string, make: () => TeacherStream): TeacherStream => streams.get(key, make);

/**
 * The online teacher-student task, as buildTeacherStudent: the same teacher, held-out set and draws
 * (inputs rounded to float32 as the tfjs task stores them), a relu student, held-out loss = expected
 * cross-entropy against the teacher's probabilities, metric = agreement with the teacher's argmax.
 */
function teacherStudentTask(spec: TaskSpec, seed: number): ReferenceTask & { lossFloor: number } {
  const problem = teacherStudentProblem(spec);
  const { inputs, classes, teacher, heldOut, hx, hp, hy } = problem;
  const rng = new Rng(seed);
  const studentHidden = num(spec, 'studentHidden', teacher.hidden);
  const mlp = referenceMlp([inputs, studentHidden, classes], rng);
  const batch = spec.batchSize;
  const key = JSON.stringify([spec.params, studentHidden, batch, spec.steps, seed]);
  const stream = teacherStream(key, () => ({ rng, bx: new Float32Array(spec.steps * batch * inputs), by: new Int32Array(spec.steps * batch), filled: 0 }));
  const p = new Float64Array(classes);
  let t = 0;
  return {
    layout: mlp.layout,
    w0: mlp.w0,
    lossFloor: problem.entropy,
    gradient(w) {
      if (t >= spec.steps) throw new Error(`teacher-student: step ${t + 1} of a ${spec.steps}-step task`);
      const bx = stream.bx.subarray(t * batch * inputs, (t + 1) * batch * inputs);
      const by = stream.by.subarray(t * batch, (t + 1) * batch);
      if (t === stream.filled) {
        drawTeacherBatch(stream.rng, teacher, bx, by, p);
        stream.filled++;
      }
      t++;
      return mlp.lossAndGradient(w, bx, by, batch);
    },
    evaluate(w) {
      const logits = mlp.forward(w, hx, heldOut)[mlp.layers] as Float64Array;
      const logp = mlp.logSoftmax(logits, heldOut);
      let loss = 0;
      for (let i = 0; i < heldOut * classes; i++) loss -= (hp[i] as number) * (logp[i] as number);
      const predicted = mlp.argMax(logits, heldOut);
      let agree = 0;
      for (let i = 0; i < heldOut; i++) if (predicted[i] === hy[i]) agree++;
      return { loss: loss / heldOut, metric: agree / heldOut };
    },
  };
}

/** The task kinds whose gradient the reference trainer writes out, and their builders. */
const REFERENCE_TASKS: Partial<Record<TaskKind, (spec: TaskSpec, seed: number) => ReferenceTask>> = {
  quadratic: quadraticTask,
  classifier: classifierTask,
  'teacher-student': teacherStudentTask,
};
export const REFERENCE_KINDS = Object.keys(REFERENCE_TASKS) as readonly TaskKind[];
/** What `optsearch backends` says about the reference backend. */
export const REFERENCE_DESCRIPTION = `Float64 reference interpreter with hand-written gradients, no tfjs (task kinds ${REFERENCE_KINDS.join(', ')})`;

export interface ReferenceTrainOptions extends RunSettings {
  readonly program: Program | string;
}

export function trainReference(opts: ReferenceTrainOptions): TrainResult {
  const { spec, seed } = opts;
  const run = new RunMonitor(spec, opts.baseline, opts.timeLimitSeconds);
  try {
    const build = REFERENCE_TASKS[spec.kind];
    if (!build) {
      throw new Error(`the reference backend trains only the task kinds whose gradient it writes out (${REFERENCE_KINDS.join(', ')}); ${spec.name} is ${spec.kind}`);
    }
    const program = typeof opts.program === 'string' ? parseProgram(opts.program) : opts.program;
    const prep = prepare(program);
    const task = build(spec, seed);
    run.lossFloor = task.lossFloor ?? run.lossFloor;
    const { layout, evaluate } = task;
    let w: Float64Array = task.w0;
    let state: readonly Float64Array[] = Array.from({ length: prep.slotCount }, () => new Float64Array(layout.total));
    run.initialLoss = evaluate(w).loss;
    for (let t = 0; t < spec.steps; t++) {
      const { g, loss } = task.gradient(w);
      const out = step(prep, { w, g, state, lr: taskScheduleValue(spec, t) }, layout);
      w = applyUpdate(w, out.update);
      state = out.state;
      const steps = (run.steps = t + 1);
      if (!run.trainLoss(steps, loss)) break;
      if (run.checkpointDue(steps) && !run.checkpoint(steps, evaluate(w).loss)) break;
      if (!run.inTime(steps)) break;
    }
    if (run.status === 'ok') run.finish(evaluate(w));
  } catch (e) {
    run.fail(errorLine(e));
  }
  return run.result(opts.fidelity, seed, 'reference');
}
