/**
 * Update-step overhead: the compiled lion.prog step against hand-written tfjs Lion steps, on wasm and
 * cpu, for the weights of an MLP 32-64-64-10 (6 leaves, 6,922 weights) with fixed gradients.
 *
 *   npx tsx bench/step-overhead.ts [--steps 400] [--rounds 7]
 *
 * Two hand-written references: the textbook one with tf.sign (1 op; on wasm it returns 0 for
 * |x| < about 1e-6, so it is not the same rule), and one with the exact sign the compiler uses
 * (step(x) - step(-x)). Each is timed in alternating rounds; medians of per-step times are compared.
 */
import { readFileSync } from 'node:fs';
import type { Tensor, Variable } from '@tensorflow/tfjs';
import { parseProgram } from '../src/dsl/parse.ts';
import { initBackend } from '../src/proxy/backend.ts';
import type { Tf } from '../src/proxy/tf.ts';
import { compileProgram } from '../src/proxy/compile.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const STEPS = arg('steps', 400);
const ROUNDS = arg('rounds', 7);
const SHAPES = [[32, 64], [64], [64, 64], [64], [64, 10], [10]];

interface Stepper {
  apply(g: readonly Tensor[], lr: number): void;
  dispose(): void;
}

function handLion(tf: Tf, params: readonly Variable[], exactSign: boolean): Stepper {
  const m = params.map((p) => tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
  const b1 = 0.9, b2 = 0.99, wd = 1.0, scale = 0.0003;
  return {
    apply(grads, lr) {
      const eta = lr * scale;
      tf.tidy(() => {
        params.forEach((p, i) => {
          const g = grads[i] as Tensor;
          const mi = m[i] as Variable;
          const c = tf.add(tf.mul(mi, b1), tf.mul(g, 1 - b1));
          const s = exactSign ? tf.sub(tf.step(c), tf.step(tf.neg(c))) : tf.sign(c);
          p.assign(tf.sub(tf.mul(p, 1 - eta * wd), tf.mul(s, eta)));
          mi.assign(tf.add(tf.mul(mi, b2), tf.mul(g, 1 - b2)));
        });
      });
    },
    dispose: () => m.forEach((x) => x.dispose()),
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function timeSteps(tf: Tf, stepper: Stepper, grads: readonly Tensor[], probe: Variable): Promise<number> {
  const t0 = performance.now();
  for (let t = 0; t < STEPS; t++) stepper.apply(grads, 1 - t / STEPS);
  await probe.data(); // wait for the backend to finish (matters on asynchronous backends)
  return ((performance.now() - t0) / STEPS) * 1000;
}

async function bench(backend: 'wasm' | 'cpu'): Promise<void> {
  const { tf } = await initBackend(backend);
  const lion = parseProgram(readFileSync(new URL('../search-spaces/programs/lion.prog', import.meta.url), 'utf8'));
  let seed = 1;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  const mk = () => SHAPES.map((s) => tf.tidy(() => tf.variable(tf.tensor(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, rnd), s))));
  const grads = SHAPES.map((s) => tf.tensor(Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => 1e-3 * rnd()), s));
  const variants: [string, Variable[], Stepper][] = [];
  const w1 = mk();
  variants.push(['compiled lion.prog', w1, compileProgram(tf, lion, w1)]);
  const w2 = mk();
  variants.push(['hand-written, tf.sign', w2, handLion(tf, w2, false)]);
  const w3 = mk();
  variants.push(['hand-written, exact sign', w3, handLion(tf, w3, true)]);
  const times = new Map<string, number[]>(variants.map(([n]) => [n, []]));
  for (const [, w, s] of variants) await timeSteps(tf, s, grads, w[0] as Variable); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, w, s] of variants) times.get(name)!.push(await timeSteps(tf, s, grads, w[0] as Variable));
  }
  const med = new Map([...times].map(([k, v]) => [k, median(v)]));
  const c = med.get('compiled lion.prog') as number;
  console.log(`\n${backend}: ${STEPS} steps x ${ROUNDS} rounds, 6 leaves, 6,922 weights, tensors alive ${tf.memory().numTensors}`);
  for (const [k, v] of med) console.log(`  ${k.padEnd(26)} ${v.toFixed(1).padStart(7)} us/step`);
  console.log(`  ratio compiled / hand-written (tf.sign):   ${(c / (med.get('hand-written, tf.sign') as number)).toFixed(2)}x`);
  console.log(`  ratio compiled / hand-written (exact sign): ${(c / (med.get('hand-written, exact sign') as number)).toFixed(2)}x`);
  for (const [, w, s] of variants) {
    s.dispose();
    w.forEach((x) => x.dispose());
  }
  grads.forEach((g) => g.dispose());
}

await bench('wasm');
await bench('cpu');
