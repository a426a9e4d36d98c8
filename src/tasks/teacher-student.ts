/**
 * The teacher-student task's problem: a fixed random tanh teacher whose softmax gives class
 * probabilities, a held-out set with its teacher probabilities (from problemSeed), and the online
 * training batches with labels sampled from the teacher. Float64 and host arrays only; every trainer
 * of the teacher-student kind builds from it (the task in full: src/proxy/builders/teacher-student.ts).
 */
import { Rng } from '../util/rng.ts';
import type { TaskSpec } from '../vocabulary/index.ts';
import { num } from './params.ts';

export interface Teacher {
  readonly inputs: number;
  readonly hidden: number;
  readonly classes: number;
  readonly w1: Float64Array;
  readonly b1: Float64Array;
  readonly w2: Float64Array;
}

export function makeTeacher(rng: Rng, inputs: number, hidden: number, classes: number, gain: number): Teacher {
  const w1 = Float64Array.from({ length: inputs * hidden }, () => rng.normal() / Math.sqrt(inputs));
  const b1 = Float64Array.from({ length: hidden }, () => 0.1 * rng.normal());
  const w2 = Float64Array.from({ length: hidden * classes }, () => (gain * rng.normal()) / Math.sqrt(hidden));
  return { inputs, hidden, classes, w1, b1, w2 };
}

/**
 * Class probabilities of the teacher for the input x[at .. at + inputs) (Float64). Each hidden unit
 * sums b1[j] then x[i] * w1[i, j] in order of i, each logit h[j] * w2[j, c] in order of j: the loops
 * run row by row over the weights, but every sum adds the same terms in the same order as a dot
 * product per unit would. `h` is scratch of the teacher's hidden width.
 */
export function teacherProbs(t: Teacher, x: ArrayLike<number>, out: Float64Array, at = 0, h = new Float64Array(t.hidden)): void {
  const { inputs, hidden, classes, w1, b1, w2 } = t;
  for (let j = 0; j < hidden; j++) h[j] = b1[j] as number;
  for (let i = 0; i < inputs; i++) {
    const xi = x[at + i] as number;
    const row = i * hidden;
    for (let j = 0; j < hidden; j++) h[j] = (h[j] as number) + xi * (w1[row + j] as number);
  }
  for (let j = 0; j < hidden; j++) h[j] = Math.tanh(h[j] as number);
  for (let c = 0; c < classes; c++) out[c] = 0;
  for (let j = 0; j < hidden; j++) {
    const hj = h[j] as number;
    const row = j * classes;
    for (let c = 0; c < classes; c++) out[c] = (out[c] as number) + hj * (w2[row + c] as number);
  }
  let max = -Infinity;
  for (let c = 0; c < classes; c++) max = Math.max(max, out[c] as number);
  let z = 0;
  for (let c = 0; c < classes; c++) {
    out[c] = Math.exp((out[c] as number) - max);
    z += out[c] as number;
  }
  for (let c = 0; c < classes; c++) out[c] = (out[c] as number) / z;
}

/** The fixed part of a teacher-student task: the teacher and the held-out set (from problemSeed). */
export interface TeacherStudentProblem {
  readonly inputs: number;
  readonly classes: number;
  readonly teacher: Teacher;
  readonly heldOut: number;
  /** Held-out inputs [heldOut, inputs], the teacher's probabilities [heldOut, classes], its argmax. */
  readonly hx: Float32Array;
  readonly hp: Float32Array;
  readonly hy: Int32Array;
  /** The teacher's mean entropy on the held-out set (the Bayes loss). */
  readonly entropy: number;
}

/**
 * Problems already built in this process, by their params: every run of a task (each seed, program
 * and lr multiplier) needs the same teacher and held-out set, which take about 50 ms to build for
 * the default task (a tenth of a reference-backend run). Callers only read them.
 */
const problems = new Map<string, TeacherStudentProblem>();
const PROBLEMS_KEPT = 8;

export function teacherStudentProblem(spec: TaskSpec): TeacherStudentProblem {
  const key = JSON.stringify(spec.params);
  let problem = problems.get(key);
  if (!problem) {
    problem = buildProblem(spec);
    if (problems.size >= PROBLEMS_KEPT) problems.delete(problems.keys().next().value as string);
    problems.set(key, problem);
  }
  return problem;
}

function buildProblem(spec: TaskSpec): TeacherStudentProblem {
  const inputs = num(spec, 'inputs', 32);
  const hidden = num(spec, 'hidden', 64);
  const classes = num(spec, 'classes', 16);
  const heldOut = num(spec, 'heldOut', 5000);
  // The teacher and the held-out set are fixed by problemSeed; the evaluation seed drives the rest.
  const prob = new Rng(num(spec, 'problemSeed', 1));
  const teacher = makeTeacher(prob, inputs, hidden, classes, num(spec, 'teacherGain', 4));
  const p = new Float64Array(classes);
  const hx = new Float32Array(heldOut * inputs);
  const hp = new Float32Array(heldOut * classes);
  const hy = new Int32Array(heldOut);
  const h = new Float64Array(hidden);
  for (let n = 0; n < heldOut; n++) {
    for (let i = 0; i < inputs; i++) hx[n * inputs + i] = prob.normal();
    teacherProbs(teacher, hx, p, n * inputs, h);
    let best = 0;
    for (let c = 0; c < classes; c++) {
      hp[n * classes + c] = p[c] as number;
      if ((p[c] as number) > (p[best] as number)) best = c;
    }
    hy[n] = best;
  }
  let entropy = 0;
  for (const q of hp) if (q > 0) entropy -= q * Math.log(q);
  return { inputs, classes, teacher, heldOut, hx, hp, hy, entropy: entropy / heldOut };
}

/** One training batch: inputs from N(0, I) into bx, labels sampled from the teacher into by. */
export function drawTeacherBatch(rng: Rng, teacher: Teacher, bx: Float32Array, by: Int32Array, p: Float64Array): void {
  const inputs = teacher.inputs;
  const classes = teacher.classes;
  const h = new Float64Array(teacher.hidden);
  for (let n = 0; n < by.length; n++) {
    for (let i = 0; i < inputs; i++) bx[n * inputs + i] = rng.normal();
    teacherProbs(teacher, bx, p, n * inputs, h);
    let u = rng.next();
    let c = 0;
    while (c < classes - 1 && u >= (p[c] as number)) {
      u -= p[c] as number;
      c++;
    }
    by[n] = c;
  }
}
