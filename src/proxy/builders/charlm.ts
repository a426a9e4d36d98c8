/**
 * A tiny character-level language model: character embedding plus learned positions, one causal
 * self-attention layer (single head) with a residual connection, and a linear read-out to the next
 * character. The text is the generated corpus of data.ts (generateCorpus): the first 90% trains,
 * the rest gives fixed validation windows. Held-out loss: next-character cross-entropy (nats);
 * metric: bits per character.
 */
import type { Tensor } from '@tensorflow/tfjs';
import { Rng } from '../../util/rng.ts';
import { generateCorpus } from '../../tasks/data.ts';
import { glorot, num } from '../../tasks/params.ts';
import type { TaskSpec } from '../../vocabulary/index.ts';
import type { Tf } from '../tf.ts';
import { disposeAll, makeVariable, type TaskInstance } from './common.ts';

export function buildCharLm(tf: Tf, spec: TaskSpec, seed: number): TaskInstance {
  const text = generateCorpus(num(spec, 'corpusChars', 40000), num(spec, 'corpusSeed', 1));
  const vocab = [...new Set(text)].sort();
  const index = new Map(vocab.map((c, i) => [c, i]));
  const ids = Int32Array.from(text, (c) => index.get(c) as number);
  const v = vocab.length;
  const ctx = num(spec, 'context', 16);
  const d = num(spec, 'width', 32);
  const trainEnd = Math.floor(ids.length * 0.9);
  const rng = new Rng(seed);
  const emb = makeVariable(tf, glorot(rng, v, d), [v, d]);
  const pos = makeVariable(tf, Float32Array.from({ length: ctx * d }, () => 0.1 * rng.normal()), [ctx, d]);
  const wq = makeVariable(tf, glorot(rng, d, d), [d, d]);
  const wk = makeVariable(tf, glorot(rng, d, d), [d, d]);
  const wv = makeVariable(tf, glorot(rng, d, d), [d, d]);
  const wo = makeVariable(tf, glorot(rng, d, v), [d, v]);
  const bo = makeVariable(tf, new Float32Array(v), [v]);
  const params = [emb, pos, wq, wk, wv, wo, bo];
  // additive causal mask: position i attends to j <= i
  const mask = tf.tensor2d(Float32Array.from({ length: ctx * ctx }, (_, k) => (k % ctx <= Math.floor(k / ctx) ? 0 : -1e9)), [ctx, ctx]);
  const scale = 1 / Math.sqrt(d);

  /** Mean next-character cross-entropy over windows starting at `starts`. */
  const windowLoss = (starts: ArrayLike<number>): Tensor => {
    const b = starts.length;
    const inp = new Int32Array(b * ctx);
    const tgt = new Int32Array(b * ctx);
    for (let n = 0; n < b; n++)
      for (let t = 0; t < ctx; t++) {
        inp[n * ctx + t] = ids[(starts[n] as number) + t] as number;
        tgt[n * ctx + t] = ids[(starts[n] as number) + t + 1] as number;
      }
    // one-hot products instead of gather: gather's gradient has no wasm kernel
    const x = tf.add(tf.reshape(tf.matMul(tf.oneHot(tf.tensor1d(inp, 'int32'), v), emb), [b, ctx, d]), pos);
    const x2 = tf.reshape(x, [b * ctx, d]);
    const q = tf.reshape(tf.matMul(x2, wq), [b, ctx, d]);
    const k = tf.reshape(tf.matMul(x2, wk), [b, ctx, d]);
    const val = tf.reshape(tf.matMul(x2, wv), [b, ctx, d]);
    const att = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), scale), mask));
    const h = tf.reshape(tf.add(x, tf.matMul(att, val)), [b * ctx, d]);
    const logits = tf.add(tf.matMul(h, wo), bo);
    const onehot = tf.oneHot(tf.tensor1d(tgt, 'int32'), v);
    return tf.mean(tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(onehot, logits), 1)));
  };
  const valWindows = num(spec, 'validationWindows', 128);
  const span = ids.length - trainEnd - ctx - 1;
  const valStarts = Int32Array.from({ length: valWindows }, (_, i) => trainEnd + Math.floor((i * span) / valWindows));
  const batch = spec.batchSize;
  return {
    params,
    batchLoss() {
      return windowLoss(Int32Array.from({ length: batch }, () => rng.int(trainEnd - ctx - 1)));
    },
    async evaluate() {
      const loss = tf.tidy(() => windowLoss(valStarts));
      const l = (await loss.data())[0] as number;
      loss.dispose();
      return { loss: l, metric: l / Math.LN2 };
    },
    dispose() {
      disposeAll([...params, mask]);
    },
  };
}
