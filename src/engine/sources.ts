/**
 * What the MLP kernels train on, drawn exactly as the reference trainer draws it (src/proxy/reference.ts):
 * Rng(seed) gives the initial weights (Glorot per layer, zero biases, in layer order), then each
 * step's batch from the same Rng: teacher-student inputs and sampled labels, or the classifier's
 * minibatch rows. Batches depend on the task and seed only, never on the program, so they are kept
 * per process (least recently used first out beyond a byte budget) for the next candidate.
 */
import { ByteLru } from '../util/byte-lru.ts';
import { gatherRows, loadDataset, splitIndices, type TabularDataset } from '../tasks/data.ts';
import { datasetParam, glorot, num, numList } from '../tasks/params.ts';
import { drawTeacherBatch, teacherStudentProblem } from '../tasks/teacher-student.ts';
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
const streams = new ByteLru<Stream>(streamBudgetBytes, (s) => s.x.byteLength + s.y.byteLength);

/** Bytes of batches the engine keeps in this process (0: none, every stream drawn a chunk at a time; tests compare both). */
export function setStreamCache(bytes: number): void {
  streamBudgetBytes = bytes;
  streams.reset(bytes);
}

const keptStream = (key: string, make: () => Stream): Stream => streams.get(key, make);

/** Streams larger than this are not kept whole: drawn a chunk at a time (as the reference trainer caps its cache). */
const STREAM_BYTES_MAX = 64 * 2 ** 20;

/** Draws one step's batch from rng: `floats` inputs per row into x, labels into y. */
type DrawStep = (rng: Rng, x: Float32Array, y: Int32Array) => void;

/** Whether a stream of `steps` batches of `batch` rows of `floats` inputs is kept whole. */
function keptWhole(steps: number, batch: number, floats: number): boolean {
  return steps * batch * (floats + 1) * 4 <= Math.min(STREAM_BYTES_MAX, streamBudgetBytes);
}

/**
 * A reader of seeds' batch streams. Kept whole: drawn lazily, shared across candidates through the
 * process cache. Otherwise: drawn a chunk at a time, the current chunk held for the other lane groups
 * that read it (the engine asks for chunks in order; an earlier step starts the seed's draws again).
 */
function streamReader(kind: string, spec: TaskSpec, sizes: readonly number[], batch: number, draw: DrawStep): MlpSource['fill'] {
  const floats = sizes[0] as number;
  const fresh = (seed: number): Rng => batchRng(seed, sizes);
  const stepX = batch * floats;
  const open = new Map<number, Stream>();
  const chunked = new Map<number, ChunkedStream>();
  const drawInto = (rng: Rng, x: Float32Array, y: Int32Array, steps: number): void => {
    for (let k = 0; k < steps; k++) draw(rng, x.subarray(k * stepX, (k + 1) * stepX), y.subarray(k * batch, (k + 1) * batch));
  };
  const whole = keptWhole(spec.steps, batch, floats);
  return (seed, t0, t1, x, y) => {
    if (whole) {
      let s = open.get(seed);
      if (!s) {
        const key = JSON.stringify([kind, spec.params, sizes, batch, spec.steps, seed]);
        s = keptStream(key, () => ({ rng: fresh(seed), x: new Float32Array(spec.steps * stepX), y: new Int32Array(spec.steps * batch), filled: 0 }));
        open.set(seed, s);
      }
      if (s.filled < t1) {
        drawInto(s.rng, s.x.subarray(s.filled * stepX), s.y.subarray(s.filled * batch), t1 - s.filled);
        s.filled = t1;
      }
      x.set(s.x.subarray(t0 * stepX, t1 * stepX));
      y.set(s.y.subarray(t0 * batch, t1 * batch));
      return;
    }
    let s = chunked.get(seed);
    if (!(s && s.from <= t0 && t1 <= s.to)) {
      if (!s || t0 < s.drawn) {
        s = { rng: fresh(seed), drawn: 0, from: 0, to: 0, x: new Float32Array(0), y: new Int32Array(0) };
        chunked.set(seed, s);
      }
      const skipX = new Float32Array(stepX);
      const skipY = new Int32Array(batch);
      for (; s.drawn < t0; s.drawn++) draw(s.rng, skipX, skipY);
      if (s.x.length < (t1 - t0) * stepX) {
        s.x = new Float32Array((t1 - t0) * stepX);
        s.y = new Int32Array((t1 - t0) * batch);
      }
      drawInto(s.rng, s.x, s.y, t1 - t0);
      s.drawn = t1;
      s.from = t0;
      s.to = t1;
    }
    const at = t0 - s.from;
    x.set(s.x.subarray(at * stepX, (at + t1 - t0) * stepX));
    y.set(s.y.subarray(at * batch, (at + t1 - t0) * batch));
  };
}

/** A seed's batches drawn chunk by chunk, the current chunk kept for the other lane groups that read it. */
interface ChunkedStream {
  rng: Rng;
  /** Steps drawn so far, and the steps held: [from, to). */
  drawn: number;
  from: number;
  to: number;
  x: Float32Array;
  y: Int32Array;
}

/** Rng(seed) past the initial weights: where the first batch is drawn from. */
function batchRng(seed: number, sizes: readonly number[]): Rng {
  const rng = new Rng(seed);
  initialWeights(rng, sizes);
  return rng;
}

export function teacherStudentSource(spec: TaskSpec): MlpSource {
  const problem = teacherStudentProblem(spec);
  const { inputs, classes, teacher, heldOut, hx, hp, hy } = problem;
  const sizes = [inputs, num(spec, 'studentHidden', teacher.hidden), classes];
  const batch = spec.batchSize;
  const p = new Float64Array(classes);
  return {
    sizes,
    batch,
    heldOut,
    hx,
    hp,
    hy,
    lossFloor: problem.entropy,
    initialWeights: (seed) => initialWeights(new Rng(seed), sizes),
    fill: streamReader('teacher-student', spec, sizes, batch, (rng, x, y) => drawTeacherBatch(rng, teacher, x, y, p)),
  };
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
  /** One step's minibatch: rows drawn with replacement from the training rows. */
  const draw: DrawStep = (rng, x, y) => {
    for (let i = 0; i < batch; i++) {
      const r = trainRows[rng.int(trainRows.length)] as number;
      for (let k = 0; k < d; k++) x[i * d + k] = ds.x[r * d + k] as number;
      y[i] = ds.y[r] as number;
    }
  };
  return {
    sizes,
    batch,
    heldOut,
    hx: val.x,
    hp,
    hy: val.y,
    initialWeights: (seed) => initialWeights(new Rng(seed), sizes),
    fill: streamReader('classifier', spec, sizes, batch, draw),
  };
}
