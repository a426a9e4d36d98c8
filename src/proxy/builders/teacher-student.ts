/**
 * Online teacher-student classification. Inputs x ~ N(0, I) in `inputs` dimensions; a fixed random
 * tanh teacher (inputs-hidden-classes) gives class probabilities softmax(teacher(x)), and each training
 * label is sampled from them, so the loss has an irreducible part (the teacher's entropy). Every step
 * draws a fresh batch. The student is a relu MLP of the same shape. The held-out loss is the expected
 * cross-entropy on a fixed set of samples (soft targets: the teacher's probabilities, i.e. the
 * average over label draws), and lossFloor is the teacher's mean entropy on that set (the Bayes loss).
 */
import { Rng } from '../../util/rng.ts';
import { drawTeacherBatch, teacherStudentProblem } from '../../tasks/teacher-student.ts';
import { num } from '../../tasks/params.ts';
import type { TaskSpec } from '../../vocabulary/index.ts';
import type { Tf } from '../tf.ts';
import { accuracy, disposeAll, makeMlp, readPair, softCrossEntropy, softmaxCrossEntropy, type TaskInstance } from './common.ts';

export function buildTeacherStudent(tf: Tf, spec: TaskSpec, seed: number): TaskInstance {
  const { inputs, classes, teacher, heldOut, hx, hp, hy, entropy } = teacherStudentProblem(spec);
  const rng = new Rng(seed);
  const student = makeMlp(tf, rng, [inputs, num(spec, 'studentHidden', teacher.hidden), classes]);
  const heldX = tf.tensor2d(hx, [heldOut, inputs]);
  const heldP = tf.tensor2d(hp, [heldOut, classes]);
  const batch = spec.batchSize;
  const bx = new Float32Array(batch * inputs);
  const by = new Int32Array(batch);
  const p = new Float64Array(classes);
  return {
    params: student.params,
    lossFloor: entropy,
    batchLoss() {
      drawTeacherBatch(rng, teacher, bx, by, p);
      return softmaxCrossEntropy(tf, student.forward(tf.tensor2d(bx, [batch, inputs])), by, classes);
    },
    evaluate() {
      // metric: agreement with the teacher's most likely class
      return readPair(tf, () => {
        const logits = student.forward(heldX);
        return [softCrossEntropy(tf, logits, heldP), accuracy(tf, logits, hy)];
      });
    },
    dispose() {
      disposeAll([...student.params, heldX, heldP]);
    },
  };
}
