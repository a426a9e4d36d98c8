/**
 * The evaluation pool with WebGPU workers (worker threads, each with its own Dawn instance and tfjs).
 * On lavapipe: webgpu-software evaluations succeed and equal wasm's; workers whose GPU setup fails
 * (hardware demanded where there is none, a Vulkan driver list naming a missing file) give failed
 * results that carry the reason, and the same pool goes on evaluating.
 * The Vulkan loader reads the process environment, which only the main thread can change: the
 * driver list is set here, before each pool starts, and restored afterwards.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createEvaluationPool, type EvaluationPool } from '../../src/pool/pool.ts';
import { loadTaskSpec } from '../../src/tasks/spec.ts';
import type { BackendName, BatchJob, TaskSpec, TrainResult } from '../../src/vocabulary/index.ts';
import { lavapipeSkipReason } from './lavapipe.ts';
import { skipWithout } from '../tools.ts';

const program = (name: string): string => readFileSync(`search-spaces/programs/${name}.prog`, 'utf8');
const shortDigits: TaskSpec = { ...loadTaskSpec('digits-mlp'), steps: 40, curvePoints: 40 };
const job = (name: string, backend: BackendName, seed = 3): BatchJob => ({ programText: program(name), task: shortDigits, fidelity: 1, runs: [{ seed, lrMultiplier: 1 }], backend });
/** The one result of a one-run batch job. */
const single = async (p: EvaluationPool, j: BatchJob): Promise<TrainResult> => (await p.run(j))[0] as TrainResult;

describe.skipIf(skipWithout('lavapipe (the software Vulkan driver)', lavapipeSkipReason))('evaluation pool on webgpu-software', () => {
  let pool: EvaluationPool | undefined;
  const savedDrivers = process.env.VK_ICD_FILENAMES;

  afterEach(async () => {
    await pool?.close();
    pool = undefined;
    if (savedDrivers === undefined) delete process.env.VK_ICD_FILENAMES;
    else process.env.VK_ICD_FILENAMES = savedDrivers;
  });

  it('runs webgpu-software workers whose results equal wasm workers\' results', async () => {
    pool = createEvaluationPool({ size: 2, timeoutSeconds: 120 });
    const [gpuSgd, gpuLion, wasmSgd, wasmLion] = await Promise.all([
      single(pool!, job('sgd', 'webgpu-software')),
      single(pool!, job('lion', 'webgpu-software')),
      single(pool!, job('sgd', 'wasm')),
      single(pool!, job('lion', 'wasm')),
    ]);
    for (const r of [gpuSgd, gpuLion, wasmSgd, wasmLion]) expect(r.status, r.reason).toBe('ok');
    expect(gpuSgd.backend).toBe('webgpu-software');
    expect(wasmSgd.backend).toBe('wasm');
    for (const [gpu, wasm] of [[gpuSgd, wasmSgd], [gpuLion, wasmLion]] as const) {
      expect(gpu.lossCurve.length).toBe(40);
      gpu.lossCurve.forEach(([step, loss], i) => {
        const [wasmStep, wasmLoss] = wasm.lossCurve[i] as readonly [number, number];
        expect(step).toBe(wasmStep);
        expect(Math.abs(loss - wasmLoss)).toBeLessThanOrEqual(1e-5);
      });
      expect(Math.abs((gpu.finalLoss as number) - (wasm.finalLoss as number))).toBeLessThanOrEqual(1e-5);
    }
  });

  it('turns a failed GPU setup into failed results with the reason, and goes on', async () => {
    pool = createEvaluationPool({ size: 2, timeoutSeconds: 120 });
    // Hardware demanded on a machine whose only adapter is lavapipe.
    const results = await Promise.all([1, 2, 3].map((seed) => single(pool!, job('sgd', 'webgpu', seed))));
    for (const r of results) {
      expect(r.status).toBe('failed');
      expect(r.reason).toMatch(/^webgpu is not available: (only a software adapter|no WebGPU adapter|no Vulkan)/);
      expect(r.reason).not.toContain('\n');
    }
    const after = await single(pool!, job('sgd', 'wasm'));
    expect(after.status, after.reason).toBe('ok');
  });

  it('reports a Vulkan driver list that names a missing file, in every worker', async () => {
    process.env.VK_ICD_FILENAMES = '/nonexistent/vulkan/icd.json';
    pool = createEvaluationPool({ size: 2, timeoutSeconds: 120 });
    const results = await Promise.all([1, 2, 3, 4].map((seed) => single(pool!, job('lion', 'webgpu-software', seed))));
    for (const r of results) {
      expect(r.status).toBe('failed');
      expect(r.reason).toBe('webgpu is not available: no Vulkan driver: VK_ICD_FILENAMES names /nonexistent/vulkan/icd.json, which does not exist');
    }
    expect(pool.stats().workerFailures).toBe(0);
  });
});
