/**
 * Plain tfjs on the WebGPU backend over lavapipe, against Float64 references computed here.
 * Skipped (with the reason printed) when lavapipe is not installed: scripts/setup-lavapipe.sh.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/util/rng.ts';
import { initWebGpu, type WebGpuInfo } from '../../src/proxy/webgpu.ts';
import { lavapipeSkipReason } from './lavapipe.ts';
import { skipWithout } from '../tools.ts';

type Tf = typeof import('@tensorflow/tfjs');

/** Values exactly representable in float32, so the Float64 reference sees the same inputs. */
function randomMatrix(rng: Rng, rows: number, cols: number): Float32Array {
  const m = new Float32Array(rows * cols);
  for (let i = 0; i < m.length; i++) m[i] = rng.normal();
  return m;
}

describe.skipIf(skipWithout('lavapipe (the software Vulkan driver)', lavapipeSkipReason))('tfjs on webgpu-software (lavapipe)', () => {
  let tf: Tf;
  let info: WebGpuInfo;

  beforeAll(async () => {
    info = await initWebGpu({ allowSoftware: true });
    tf = await import('@tensorflow/tfjs');
  });

  it('runs on a software adapter and reports it', () => {
    expect(tf.getBackend()).toBe('webgpu');
    expect(info.isSoftware).toBe(true);
    expect(info.description).toMatch(/^webgpu on .*llvmpipe/);
  });

  it('matMul agrees with a Float64 product', async () => {
    const rng = new Rng(11);
    const [n, k, m] = [64, 96, 32];
    const a = randomMatrix(rng, n, k);
    const b = randomMatrix(rng, k, m);
    const got = await tf.matMul(tf.tensor2d(a, [n, k]), tf.tensor2d(b, [k, m])).data();
    let maxDiff = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < m; j++) {
        let s = 0;
        for (let l = 0; l < k; l++) s += (a[i * k + l] as number) * (b[l * m + j] as number);
        maxDiff = Math.max(maxDiff, Math.abs(s - (got[i * m + j] as number)));
      }
    }
    // 96 float32 products summed (terms about 1, sums about 10): rounding stays below 1e-5.
    expect(maxDiff).toBeLessThan(2e-5);
  });

  it('a gradient step of least squares matches the hand-derived Float64 step', async () => {
    // loss = mean((X w - y)^2); grad = 2/n X^T (X w - y); w' = w - 0.1 grad
    const rng = new Rng(5);
    const [n, d] = [40, 7];
    const x = randomMatrix(rng, n, d);
    const y = randomMatrix(rng, n, 1);
    const w0 = randomMatrix(rng, d, 1);
    const w = tf.variable(tf.tensor2d(w0, [d, 1]));
    const X = tf.tensor2d(x, [n, d]);
    const Y = tf.tensor2d(y, [n, 1]);
    const { grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(tf.matMul(X, w), Y))) as import('@tensorflow/tfjs').Scalar, [w]);
    w.assign(tf.sub(w, tf.mul(grads[w.name] as import('@tensorflow/tfjs').Tensor, 0.1)));
    const got = await w.data();
    for (let j = 0; j < d; j++) {
      let g = 0;
      for (let i = 0; i < n; i++) {
        let r = -(y[i] as number);
        for (let l = 0; l < d; l++) r += (x[i * d + l] as number) * (w0[l] as number);
        g += (2 / n) * r * (x[i * d + j] as number);
      }
      expect(got[j]).toBeCloseTo((w0[j] as number) - 0.1 * g, 5);
    }
  });

  it('synchronous reads throw in Node, so code on this backend must read asynchronously', async () => {
    // Large enough that the backend computes it on the GPU instead of forwarding it to the CPU.
    const t = tf.fill([4096], 1.5).mul(tf.fill([4096], 2));
    expect(() => t.dataSync()).toThrow(/OffscreenCanvas/);
    const values = await t.data();
    expect(values.length).toBe(4096);
    expect(values.every((v) => v === 3)).toBe(true);
  });
});
