/**
 * An MLP (or, with no hidden layers, multinomial logistic regression) on a small real table with a
 * fixed train/validation split. Minibatches are drawn with replacement from the training rows by the
 * evaluation seed; the held-out loss is the validation cross-entropy, the metric validation accuracy.
 */
import { Rng } from '../../util/rng.ts';
import { gatherRows, loadDataset, splitIndices } from '../../tasks/data.ts';
import { datasetParam, num, numList } from '../../tasks/params.ts';
import type { TaskSpec } from '../../vocabulary/index.ts';
import type { Tf } from '../tf.ts';
import { accuracy, disposeAll, makeMlp, readPair, softmaxCrossEntropy, type TaskInstance } from './common.ts';

export function buildClassifier(tf: Tf, spec: TaskSpec, seed: number): TaskInstance {
  const ds = loadDataset(datasetParam(spec));
  const split = splitIndices(ds.n, num(spec, 'validationFraction', 0.2), num(spec, 'splitSeed', 0));
  const trainRows = spec.params.trainRows === undefined ? split.train : split.train.subarray(0, num(spec, 'trainRows'));
  const val = gatherRows(ds, split.validation);
  const rng = new Rng(seed);
  const hidden = spec.params.hidden === undefined ? [] : (spec.params.hidden as number[]).length === 0 ? [] : numList(spec, 'hidden', []);
  const mlp = makeMlp(tf, rng, [ds.features, ...hidden, ds.classes]);
  const valX = tf.tensor2d(val.x, [split.validation.length, ds.features]);
  const batch = spec.batchSize;
  return {
    params: mlp.params,
    batchLoss() {
      const rows = Int32Array.from({ length: batch }, () => trainRows[rng.int(trainRows.length)] as number);
      const b = gatherRows(ds, rows);
      return softmaxCrossEntropy(tf, mlp.forward(tf.tensor2d(b.x, [batch, ds.features])), b.y, ds.classes);
    },
    evaluate() {
      return readPair(tf, () => {
        const logits = mlp.forward(valX);
        return [softmaxCrossEntropy(tf, logits, val.y, ds.classes), accuracy(tf, logits, val.y)];
      });
    },
    dispose() {
      disposeAll([...mlp.params, valX]);
    },
  };
}
