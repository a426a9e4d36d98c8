/**
 * A small convnet on the 8x8 digits: one 3x3 convolution (same padding, relu), 2x2 max-pooling, a
 * dense softmax layer. The convolution is a matrix product over image patches prepared once on the
 * host (im2col): the wasm backend has no kernel for the filter gradient of conv2d.
 */
import type { Tensor, Tensor4D } from '@tensorflow/tfjs';
import { Rng } from '../../util/rng.ts';
import { loadDataset, splitIndices, type TabularDataset } from '../../tasks/data.ts';
import { glorot, num } from '../../tasks/params.ts';
import type { TaskSpec } from '../../vocabulary/index.ts';
import type { Tf } from '../tf.ts';
import { accuracy, disposeAll, makeVariable, readPair, softmaxCrossEntropy, type TaskInstance } from './common.ts';

const SIDE = 8;
const PATCH = 9;

/** 3x3 patches with zero padding for rows `rows`: [rows.length * 64, 9]. */
function patches(ds: TabularDataset, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length * SIDE * SIDE * PATCH);
  let o = 0;
  for (let n = 0; n < rows.length; n++) {
    const base = (rows[n] as number) * ds.features;
    for (let i = 0; i < SIDE; i++)
      for (let j = 0; j < SIDE; j++)
        for (let di = -1; di <= 1; di++)
          for (let dj = -1; dj <= 1; dj++) {
            const y = i + di;
            const x = j + dj;
            out[o++] = y < 0 || y >= SIDE || x < 0 || x >= SIDE ? 0 : (ds.x[base + y * SIDE + x] as number);
          }
  }
  return out;
}

export function buildConvnet(tf: Tf, spec: TaskSpec, seed: number): TaskInstance {
  const ds = loadDataset('digits');
  const split = splitIndices(ds.n, num(spec, 'validationFraction', 0.2), num(spec, 'splitSeed', 0));
  const filters = num(spec, 'filters', 8);
  const rng = new Rng(seed);
  const kernel = makeVariable(tf, glorot(rng, PATCH, filters), [PATCH, filters]);
  const kernelBias = makeVariable(tf, new Float32Array(filters), [filters]);
  const flat = (SIDE / 2) * (SIDE / 2) * filters;
  const dense = makeVariable(tf, glorot(rng, flat, ds.classes), [flat, ds.classes]);
  const denseBias = makeVariable(tf, new Float32Array(ds.classes), [ds.classes]);
  const params = [kernel, kernelBias, dense, denseBias];
  const forward = (p: Tensor, n: number): Tensor => {
    const conv = tf.relu(tf.add(tf.matMul(p, kernel), kernelBias));
    const pooled = tf.maxPool(tf.reshape(conv, [n, SIDE, SIDE, filters]) as Tensor4D, 2, 2, 'valid');
    return tf.add(tf.matMul(tf.reshape(pooled, [n, flat]), dense), denseBias);
  };
  const valY = Int32Array.from(split.validation, (r) => ds.y[r] as number);
  const valP = tf.tensor2d(patches(ds, split.validation), [split.validation.length * SIDE * SIDE, PATCH]);
  const batch = spec.batchSize;
  return {
    params,
    batchLoss() {
      const rows = Int32Array.from({ length: batch }, () => split.train[rng.int(split.train.length)] as number);
      const y = Int32Array.from(rows, (r) => ds.y[r] as number);
      const p = tf.tensor2d(patches(ds, rows), [batch * SIDE * SIDE, PATCH]);
      return softmaxCrossEntropy(tf, forward(p, batch), y, ds.classes);
    },
    evaluate() {
      return readPair(tf, () => {
        const logits = forward(valP, valY.length);
        return [softmaxCrossEntropy(tf, logits, valY, ds.classes), accuracy(tf, logits, valY)];
      });
    },
    dispose() {
      disposeAll([...params, valP]);
    },
  };
}
