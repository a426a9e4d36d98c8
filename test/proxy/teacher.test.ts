/** The teacher of the teacher-student task: probabilities by the textbook formula, bit for bit. */
import { describe, expect, it } from 'vitest';
import { drawTeacherBatch, makeTeacher, teacherProbs, type Teacher } from '../../src/tasks/teacher-student.ts';
import { Rng } from '../../src/util/rng.ts';

/** softmax(W2^T tanh(W1^T x + b1)), each dot product summed in index order, as written on paper. */
function textbookProbs(t: Teacher, x: ArrayLike<number>): number[] {
  const h: number[] = [];
  for (let j = 0; j < t.hidden; j++) {
    let s = t.b1[j] as number;
    for (let i = 0; i < t.inputs; i++) s += (x[i] as number) * (t.w1[i * t.hidden + j] as number);
    h.push(Math.tanh(s));
  }
  const logits: number[] = [];
  for (let c = 0; c < t.classes; c++) {
    let s = 0;
    for (let j = 0; j < t.hidden; j++) s += (h[j] as number) * (t.w2[j * t.classes + c] as number);
    logits.push(s);
  }
  const max = Math.max(...logits);
  const e = logits.map((l) => Math.exp(l - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

describe('teacherProbs', () => {
  it.each([
    [32, 64, 16],
    [16, 32, 8],
    [3, 5, 2],
  ])('inputs %i, hidden %i, classes %i: equals the textbook formula exactly', (inputs, hidden, classes) => {
    const rng = new Rng(inputs * 1000 + hidden);
    const t = makeTeacher(rng, inputs, hidden, classes, 4);
    const xs = Float32Array.from({ length: 7 * inputs }, () => rng.normal());
    const out = new Float64Array(classes);
    for (let n = 0; n < 7; n++) {
      const x = xs.subarray(n * inputs, (n + 1) * inputs);
      teacherProbs(t, x, out);
      const want = textbookProbs(t, x);
      expect(Array.from(out)).toEqual(want);
      expect(want.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
  });

  it('drawTeacherBatch samples labels from those probabilities (frequencies within 4 standard errors)', () => {
    const rng = new Rng(5);
    const t = makeTeacher(rng, 4, 8, 3, 1);
    const batch = 20000;
    const bx = new Float32Array(batch * 4);
    const by = new Int32Array(batch);
    drawTeacherBatch(rng, t, bx, by, new Float64Array(3));
    const expected = [0, 0, 0];
    for (let n = 0; n < batch; n++) textbookProbs(t, bx.subarray(n * 4, (n + 1) * 4)).forEach((p, c) => (expected[c] = (expected[c] as number) + p));
    for (let c = 0; c < 3; c++) {
      const seen = by.filter((y) => y === c).length;
      const e = expected[c] as number;
      expect(Math.abs(seen - e)).toBeLessThan(4 * Math.sqrt(e));
    }
  });
});
