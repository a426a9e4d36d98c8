/** What every tfjs task builder builds, and the tensor helpers they share. */
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { glorot } from '../../tasks/params.ts';
import type { TaskSpec } from '../../vocabulary/index.ts';
import type { Rng } from '../../util/rng.ts';
import type { Tf } from '../tf.ts';

export interface TaskInstance {
  /** The model's weights, in a fixed order: the leaves of the program's Tensor. */
  readonly params: readonly Variable[];
  /**
   * Training loss on the batch of step t. Called once per step, in order, inside tf.variableGrads:
   * tensors it creates are disposed by the caller's scope.
   */
  batchLoss(t: number): Tensor;
  /** Held-out loss (lower is better) and the task's metric. */
  evaluate(): Promise<{ loss: number; metric: number }>;
  /** Known lower bound of the held-out loss when the task computes it (else the spec's lossFloor). */
  readonly lossFloor?: number;
  dispose(): void;
}

export type TaskBuilder = (tf: Tf, spec: TaskSpec, seed: number) => TaskInstance;

/** A trainable variable from host values, created inside tidy so the initialiser does not leak. */
export function makeVariable(tf: Tf, values: Float32Array, shape: number[]): Variable {
  return tf.tidy(() => tf.variable(tf.tensor(values, shape, 'float32'), true));
}

/** Mean softmax cross-entropy of logits [n, c] against integer labels. */
export function softmaxCrossEntropy(tf: Tf, logits: Tensor, labels: Int32Array, classes: number): Tensor {
  const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
  return tf.mean(tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(onehot, logits), 1)));
}

/** Mean cross-entropy of logits [n, c] against target distributions [n, c]. */
export function softCrossEntropy(tf: Tf, logits: Tensor, targets: Tensor): Tensor {
  const logp = tf.sub(logits, tf.logSumExp(logits, 1, true));
  return tf.neg(tf.mean(tf.sum(tf.mul(targets, logp), 1)));
}

export function accuracy(tf: Tf, logits: Tensor, labels: Int32Array): Tensor {
  return tf.mean(tf.cast(tf.equal(tf.argMax(logits, 1), tf.tensor1d(labels, 'int32')), 'float32'));
}

/** Dense layers with relu between them; the last layer has no activation. */
export interface Mlp {
  readonly params: Variable[];
  forward(x: Tensor): Tensor;
}

export function makeMlp(tf: Tf, rng: Rng, sizes: readonly number[], activation: 'relu' | 'tanh' = 'relu'): Mlp {
  const params: Variable[] = [];
  for (let i = 0; i + 1 < sizes.length; i++) {
    const a = sizes[i] as number;
    const b = sizes[i + 1] as number;
    params.push(makeVariable(tf, glorot(rng, a, b), [a, b]));
    params.push(makeVariable(tf, new Float32Array(b), [b]));
  }
  return {
    params,
    forward(x) {
      let h = x;
      for (let i = 0; i < params.length; i += 2) {
        h = tf.add(tf.matMul(h, params[i] as Tensor), params[i + 1] as Tensor);
        if (i + 2 < params.length) h = activation === 'relu' ? tf.relu(h) : tf.tanh(h);
      }
      return h;
    },
  };
}

/** Evaluate a pair of scalar tensors built inside tidy and read them asynchronously. */
export async function readPair(tf: Tf, build: () => [Tensor, Tensor]): Promise<{ loss: number; metric: number }> {
  const [a, b] = tf.tidy(build);
  try {
    const [la, lb] = await Promise.all([a.data(), b.data()]);
    return { loss: la[0] as number, metric: lb[0] as number };
  } finally {
    a.dispose();
    b.dispose();
  }
}

export function disposeAll(ts: readonly Tensor[]): void {
  for (const t of ts) t.dispose();
}
