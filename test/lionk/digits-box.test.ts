/**
 * The Lion-K box on a real network: Lion training the digits MLP (tfjs, wasm backend) keeps every
 * weight within |w| <= 1/lambda once the first phase is over, while the same run without decay goes
 * beyond it (so the bound is active), and a start outside the box contracts at least by the
 * per-step factor 1 - eta*lambda (lion-k.md sections 5 and 6).
 */
import type { Scalar, Tensor, Variable } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseProgram } from '../../src/dsl/parse.ts';
import { readLionK } from '../../src/lionk/analyze.ts';
import { initBackend } from '../../src/proxy/backend.ts';
import { compileProgram } from '../../src/proxy/compile.ts';
import { getTaskBuilder } from '../../src/proxy/builders/index.ts';
import type { Tf } from '../../src/proxy/tf.ts';
import { loadTaskSpec } from '../../src/tasks/spec.ts';
import { scheduleValue } from '../../src/tasks/monitor.ts';

const lionText = (wd: number, c: number): string => `def train(w, g, m, v, lr):
  update = interp(g, m, 0.9)
  update = sign(update)
  m = interp(g, m, 0.99)
  wd = w * ${wd}
  update = update + wd
  lr = lr * ${c}
  update = update * lr
  return update, m, v
`;

/**
 * float32 slack, relative to the bound (84 float32 ulps at 0.25): near the bound a step changes the
 * excess e by eta*lambda*e, and once that is below half an ulp rounding leaves e where it is, so the
 * excess stops shrinking at about ulp / (2 eta lambda) instead of following the envelope to 0.
 */
const FLOAT32_SLACK = 1e-5;

interface Trace {
  /** Largest |w| over every weight of the model, before step 0 and after every step. */
  readonly maxAbs: number[];
  /** eta_t = schedule(t) * c for every step. */
  readonly eta: number[];
  readonly accuracy: number;
}

describe('digits-mlp trained by Lion stays in the box |w| <= 1/lambda', () => {
  let tf: Tf;
  beforeAll(async () => {
    tf = (await initBackend('wasm')).tf;
  });

  async function train(wd: number, c: number): Promise<Trace> {
    const spec = loadTaskSpec('digits-mlp');
    const task = getTaskBuilder(spec.kind)(tf, spec, 0);
    const params = [...task.params] as Variable[];
    const program = parseProgram(lionText(wd, c));
    const stepper = compileProgram(tf, program, params);
    const largest = (): number => Math.max(...params.map((p) => tf.tidy(() => tf.max(tf.abs(p)).dataSync()[0] as number)));
    const maxAbs = [largest()];
    const eta: number[] = [];
    try {
      for (let t = 0; t < spec.steps; t++) {
        const s = scheduleValue(t, spec.steps, spec.warmupFraction);
        const { value, grads } = tf.variableGrads(() => task.batchLoss(t) as Scalar, params);
        try {
          stepper.apply(params.map((p) => grads[p.name] as Tensor), s);
        } finally {
          value.dispose();
          for (const k of Object.keys(grads)) grads[k]?.dispose();
        }
        eta.push(s * c);
        maxAbs.push(largest());
      }
      const ev = await task.evaluate();
      return { maxAbs, eta, accuracy: ev.metric };
    } finally {
      stepper.dispose();
      task.dispose();
    }
  }

  it('lambda = 2 (box 0.5): the bound is active and never crossed; without decay the weights pass it', async () => {
    const lambda = 2;
    const c = 0.02;
    const params = readLionK(parseProgram(lionText(lambda, c))).params;
    expect(params?.lambda).toBe(lambda);
    const bound = 1 / lambda;
    const withDecay = await train(lambda, c);
    const noDecay = await train(0, c);
    const peak = Math.max(...withDecay.maxAbs);
    const free = Math.max(...noDecay.maxAbs);
    console.log(
      `digits-mlp, Lion lr x ${c}, lambda ${lambda} (box ${bound}, peak eta*lambda ${c * lambda}): ` +
        `max|w| start ${withDecay.maxAbs[0]?.toFixed(4)}, step 100 ${withDecay.maxAbs[100]?.toFixed(4)}, end ${withDecay.maxAbs.at(-1)?.toFixed(6)}, ` +
        `largest over the run ${peak.toFixed(6)}; accuracy ${withDecay.accuracy.toFixed(3)}. ` +
        `Without decay: max|w| end ${noDecay.maxAbs.at(-1)?.toFixed(4)}, accuracy ${noDecay.accuracy.toFixed(3)}`,
    );
    expect(withDecay.maxAbs[0] as number).toBeLessThan(bound); // starts inside: no first phase here
    expect(peak).toBeLessThanOrEqual(bound * (1 + FLOAT32_SLACK));
    expect(withDecay.maxAbs.at(-1) as number).toBeGreaterThan(0.98 * bound); // pressed against the bound
    expect(free).toBeGreaterThan(1.5 * bound); // without the decay the same run goes well past it
    expect(withDecay.accuracy).toBeGreaterThan(0.9);
  });

  it('lambda = 4 (box 0.25, below the initial weights): the excess contracts by 1 - eta*lambda per step, then stays inside', async () => {
    const lambda = 4;
    const c = 0.02;
    const bound = 1 / lambda;
    const run = await train(lambda, c);
    const e0 = (run.maxAbs[0] as number) - bound;
    expect(e0).toBeGreaterThan(0.1); // the glorot init of the 32x10 layer reaches 0.376
    let envelope = e0;
    let phaseEnd = -1;
    let worstAfter = -Infinity;
    for (let t = 0; t < run.eta.length; t++) {
      envelope *= 1 - (run.eta[t] as number) * lambda;
      const excess = (run.maxAbs[t + 1] as number) - bound;
      // Every coordinate's excess is below its own contraction envelope, so the largest is below e0's.
      expect(excess, `step ${t + 1}`).toBeLessThanOrEqual(envelope + FLOAT32_SLACK * bound);
      if (phaseEnd < 0 && envelope <= FLOAT32_SLACK * bound) phaseEnd = t + 1;
      if (phaseEnd >= 0) worstAfter = Math.max(worstAfter, run.maxAbs[t + 1] as number);
    }
    console.log(
      `digits-mlp, Lion lr x ${c}, lambda ${lambda} (box ${bound}): max|w| start ${run.maxAbs[0]?.toFixed(4)}, ` +
        `step 25 ${run.maxAbs[25]?.toFixed(4)}, step 100 ${run.maxAbs[100]?.toFixed(4)}, end ${run.maxAbs.at(-1)?.toFixed(6)}; ` +
        `first phase over (envelope e0 * prod(1 - eta*lambda) below ${FLOAT32_SLACK} of the bound) at step ${phaseEnd}; ` +
        `largest |w| after it ${worstAfter.toFixed(6)} (${(worstAfter / bound - 1).toExponential(1)} of the bound over it: float32 rounding); accuracy ${run.accuracy.toFixed(3)}`,
    );
    expect(phaseEnd).toBeGreaterThan(0);
    expect(phaseEnd).toBeLessThan(run.eta.length);
    expect(worstAfter).toBeLessThanOrEqual(bound * (1 + FLOAT32_SLACK));
  });
});
