/**
 * What the MLP kernels train on, drawn exactly as the reference trainer draws it (src/proxy/reference.ts):
 * Rng(seed) gives the initial weights (Glorot per layer, zero biases, in layer order), then each
 * step's batch from the same Rng: teacher-student inputs and sampled labels, or the classifier's
 * minibatch rows. Batches depend on the task and seed only, never on the program, so they are kept
 * per process (least recently used first out beyond a byte budget) for the next candidate.
 */
import { gatherRows, loadDataset, splitIndices, type TabularDataset } from '../tasks/data.ts';
import { datasetParam, glorot, num, numList } from '../tasks/params.ts';
import { drawTeacherBatch, teacherStudentProblem, type Teacher } from '../tasks/teacher-student.ts';
import { Rng } from '../util/rng.ts';
import type { TaskSpec } from '../vocabulary/index.ts';

export interface MlpSource {
  /** Layer widths: inputs, hidden..., classes. */
  readonly sizes: readonly number[];
  readonly batch: number;
  /** Held-out rows [heldOut, inputs], their target probabilities [heldOut, classes], labels for the metric. */
  readonly heldOut: number;
  readonly hx: Float32Array;
  readonly hp: Float32Array;
  readonly hy: Int32Array;
  readonly lossFloor?: number;
  /** The initial weights of a seed, flat [W1, b1, W2, b2, ...]. */
  initialWeights(seed: number): Float32Array;
  /** Steps [t0, t1) of a seed's batches: inputs into x (row-major), labels into y. */
  fill(seed: number, t0: number, t1: number, x: Float32Array, y: Int32Array): void;
}

/** The initial weights as referenceMlp draws them, leaving rng at the first batch. */
function initialWeights(rng: Rng, sizes: readonly number[]): Float32Array {
  const parts: Float32Array[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    parts.push(glorot(rng, sizes[l] as number, sizes[l + 1] as number), new Float32Array(sizes[l + 1] as number));
  }
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

interface Stream {
  readonly rng: Rng;
  readonly x: Float32Array;
  readonly y: Int32Array;
  filled: number;
}

/** Bytes of batches kept per process unless setStreamCache says otherwise. */
export const DEFAULT_STREAM_CACHE_BYTES = 512 * 2 ** 20;
let streamBudgetBytes = DEFAULT_STREAM_CACHE_BYTES;
const streams = new Map<string, Stream>();

/** Bytes of batches the engine keeps in this process (0: none, every stream drawn a chunk at a time; tests compare both). */
export function setStreamCache(bytes: number): void {
  streamBudgetBytes = bytes;
  streams.clear();
}

function keptStream(key: string, make: () => Stream): Stream {
  const hit = streams.get(key);
  if (hit) {
    streams.delete(key); // re-insert: Map order is the recency order
    streams.set(key, hit);
    return hit;
  }
  const fresh = make();
  const bytes = fresh.x.byteLength + fresh.y.byteLength;
  if (bytes > streamBudgetBytes) return fresh;
  let total = bytes;
  for (const s of streams.values()) total += s.x.byteLength + s.y.byteLength;
  for (const [k, s] of streams) {
    if (total <= streamBudgetBytes) break;
    streams.delete(k);
    total -= s.x.byteLength + s.y.byteLength;
  }
  streams.set(key, fresh);
  return fresh;
}

/** Streams larger than this are not kept whole: drawn a chunk at a time (as the reference trainer caps its cache). */
const STREAM_BYTES_MAX = 64 * 2 ** 20;

/** A seed's batches drawn chunk by chunk, the current chunk kept for the other lanes that read it. */
interface ChunkedStream {
  rng: Rng;
  /** Steps drawn so far, and the steps held: [from, to). */
  drawn: number;
  from: number;
  to: number;
  x: Float32Array;
  y: Int32Array;
}

export function teacherStudentSource(spec: TaskSpec): MlpSource {
  const problem = teacherStudentProblem(spec);
  const { inputs, classes, teacher, heldOut, hx, hp, hy } = problem;
  const sizes = [inputs, num(spec, 'studentHidden', teacher.hidden), classes];
  const batch = spec.batchSize;
  const whole = spec.steps * batch * (inputs + 1) * 4 <= Math.min(STREAM_BYTES_MAX, streamBudgetBytes);
  const freshRng = (seed: number): Rng => {
    const rng = new Rng(seed);
    initialWeights(rng, sizes);
    return rng;
  };
  const open = new Map<number, Stream>();
  const streamOf = (seed: number): Stream => {
    let s = open.get(seed);
    if (!s) {
      const key = JSON.stringify(['teacher-student', spec.params, sizes, batch, spec.steps, seed]);
      s = keptStream(key, () => ({ rng: freshRng(seed), x: new Float32Array(spec.steps * batch * inputs), y: new Int32Array(spec.steps * batch), filled: 0 }));
      open.set(seed, s);
    }
    return s;
  };
  const chunked = new Map<number, ChunkedStream>();
  const fillChunked = (seed: number, t0: number, t1: number, x: Float32Array, y: Int32Array): void => {
    let s = chunked.get(seed);
    if (!(s && s.from <= t0 && t1 <= s.to)) {
      if (!s || t0 < s.drawn) {
        // a step already passed (not the engine's order): draw again from the start
        s = { rng: freshRng(seed), drawn: 0, from: 0, to: 0, x: new Float32Array(0), y: new Int32Array(0) };
        chunked.set(seed, s);
      }
      const p = new Float64Array(classes);
      const skipX = new Float32Array(batch * inputs);
      const skipY = new Int32Array(batch);
      for (; s.drawn < t0; s.drawn++) drawTeacherBatch(s.rng, teacher, skipX, skipY, p);
      if (s.x.length < (t1 - t0) * batch * inputs) {
        s.x = new Float32Array((t1 - t0) * batch * inputs);
        s.y = new Int32Array((t1 - t0) * batch);
      }
      for (let t = t0; t < t1; t++, s.drawn++) {
        const k = t - t0;
        drawTeacherBatch(s.rng, teacher, s.x.subarray(k * batch * inputs, (k + 1) * batch * inputs), s.y.subarray(k * batch, (k + 1) * batch), p);
      }
      s.from = t0;
      s.to = t1;
    }
    const at = t0 - s.from;
    x.set(s.x.subarray(at * batch * inputs, (at + t1 - t0) * batch * inputs));
    y.set(s.y.subarray(at * batch, (at + t1 - t0) * batch));
  };
  return {
    sizes,
    batch,
    heldOut,
    hx,
    hp,
    hy,
    lossFloor: problem.entropy,
    initialWeights: (seed) => initialWeights(new Rng(seed), sizes),
    fill(seed, t0, t1, x, y) {
      if (!whole) return fillChunked(seed, t0, t1, x, y);
      const s = streamOf(seed);
      drawUpTo(s, t1, teacher, batch);
      x.set(s.x.subarray(t0 * batch * inputs, t1 * batch * inputs));
      y.set(s.y.subarray(t0 * batch, t1 * batch));
    },
  };
}

function drawUpTo(s: Stream, t1: number, teacher: Teacher, batch: number): void {
  const p = new Float64Array(teacher.classes);
  const inputs = teacher.inputs;
  for (; s.filled < t1; s.filled++) {
    const t = s.filled;
    drawTeacherBatch(s.rng, teacher, s.x.subarray(t * batch * inputs, (t + 1) * batch * inputs), s.y.subarray(t * batch, (t + 1) * batch), p);
  }
}

export function classifierSource(spec: TaskSpec): MlpSource {
  const ds: TabularDataset = loadDataset(datasetParam(spec));
  const split = splitIndices(ds.n, num(spec, 'validationFraction', 0.2), num(spec, 'splitSeed', 0));
  const trainRows = spec.params.trainRows === undefined ? split.train : split.train.subarray(0, num(spec, 'trainRows'));
  const val = gatherRows(ds, split.validation);
  const hidden = spec.params.hidden === undefined || (spec.params.hidden as number[]).length === 0 ? [] : numList(spec, 'hidden', []);
  const sizes = [ds.features, ...hidden, ds.classes];
  const batch = spec.batchSize;
  const heldOut = split.validation.length;
  const hp = new Float32Array(heldOut * ds.classes);
  for (let i = 0; i < heldOut; i++) hp[i * ds.classes + (val.y[i] as number)] = 1;
  const d = ds.features;
  const whole = spec.steps * batch * (d + 1) * 4 <= Math.min(STREAM_BYTES_MAX, streamBudgetBytes);
  const freshRng = (seed: number): Rng => {
    const rng = new Rng(seed);
    initialWeights(rng, sizes);
    return rng;
  };
  /** Rows of steps [from, to) drawn from rng into x, y at row `at`: the minibatch rows, with replacement. */
  const gather = (rng: Rng, steps: number, x: Float32Array, y: Int32Array, at: number): void => {
    for (let i = at; i < at + steps * batch; i++) {
      const r = trainRows[rng.int(trainRows.length)] as number;
      for (let k = 0; k < d; k++) x[i * d + k] = ds.x[r * d + k] as number;
      y[i] = ds.y[r] as number;
    }
  };
  // small streams kept whole across candidates; larger ones drawn chunk by chunk (the engine asks in order)
  const chunked = new Map<number, { rng: Rng; drawn: number }>();
  return {
    sizes,
    batch,
    heldOut,
    hx: val.x,
    hp,
    hy: val.y,
    initialWeights: (seed) => initialWeights(new Rng(seed), sizes),
    fill(seed, t0, t1, x, y) {
      if (whole) {
        const key = JSON.stringify(['classifier', spec.params, sizes, batch, spec.steps, seed]);
        const s = keptStream(key, () => ({ rng: freshRng(seed), x: new Float32Array(spec.steps * batch * d), y: new Int32Array(spec.steps * batch), filled: 0 }));
        if (s.filled < t1) {
          gather(s.rng, t1 - s.filled, s.x, s.y, s.filled * batch);
          s.filled = t1;
        }
        x.set(s.x.subarray(t0 * batch * d, t1 * batch * d));
        y.set(s.y.subarray(t0 * batch, t1 * batch));
        return;
      }
      let s = chunked.get(seed);
      if (!s || t0 < s.drawn) chunked.set(seed, (s = { rng: freshRng(seed), drawn: 0 }));
      const skipX = new Float32Array(batch * d);
      const skipY = new Int32Array(batch);
      for (; s.drawn < t0; s.drawn++) gather(s.rng, 1, skipX, skipY, 0);
      gather(s.rng, t1 - t0, x, y, 0);
      s.drawn = t1;
    },
  };
}
