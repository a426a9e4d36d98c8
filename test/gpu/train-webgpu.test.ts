/**
 * Short digits-mlp trainings on webgpu-software (lavapipe) give the same losses as on wasm: the
 * proxy trainer's results do not depend on which of the two backends ran them. SGD, Lion and the
 * search's AdamW start program are compared. (Adam with a tiny epsilon can amplify float32 rounding
 * through m / sqrt(v) until two backends drift apart; the shipped AdamW, with its protected division,
 * stayed within 7.2e-7 of wasm over the full 400 steps when measured.)
 * Skipped, with the reason printed, when lavapipe is not installed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/proxy/backend.ts';
import type { BackendName, TaskSpec, TrainResult } from '../../src/vocabulary/index.ts';
import { atFidelity, loadTaskSpec } from '../../src/tasks/spec.ts';
import { trainProgram } from '../../src/proxy/train.ts';
import { lavapipeSkipReason } from './lavapipe.ts';
import { skipWithout } from '../tools.ts';

const STEPS = 60;

/** digits-mlp as the search runs it, shortened, with the training loss recorded at every step. */
function shortTask(): TaskSpec {
  const spec = atFidelity(loadTaskSpec('digits-mlp'), 1);
  return { ...spec, steps: STEPS, curvePoints: STEPS };
}

async function trainOn(backend: BackendName, programName: string): Promise<TrainResult> {
  const { tf, description } = await initBackend(backend);
  const program = readFileSync(`search-spaces/programs/${programName}.prog`, 'utf8');
  const spec = shortTask();
  return trainProgram({ tf, backend: description, program, spec, fidelity: 1, seed: spec.seed });
}

describe.skipIf(skipWithout('lavapipe (the software Vulkan driver)', lavapipeSkipReason))('digits-mlp training: webgpu-software against wasm', () => {
  for (const programName of ['sgd', 'lion', 'adamw']) {
    it(`${programName}: the same loss at every step and the same held-out loss`, async () => {
      const onWasm = await trainOn('wasm', programName);
      const onGpu = await trainOn('webgpu-software', programName);
      expect(onGpu.backend).toMatch(/^webgpu on /);
      expect(onWasm.status, onWasm.reason).toBe('ok');
      expect(onGpu.status, onGpu.reason).toBe('ok');
      expect(onGpu.lossCurve.map(([s]) => s)).toEqual(onWasm.lossCurve.map(([s]) => s));
      expect(onWasm.lossCurve.length).toBe(STEPS);
      let worst = 0;
      onWasm.lossCurve.forEach(([, loss], i) => {
        worst = Math.max(worst, Math.abs(loss - (onGpu.lossCurve[i] as readonly [number, number])[1]));
      });
      console.info(`${programName}: largest training-loss difference over ${STEPS} steps ${worst.toExponential(2)}`);
      expect(worst).toBeLessThanOrEqual(1e-5);
      expect(Math.abs((onGpu.finalLoss as number) - (onWasm.finalLoss as number))).toBeLessThanOrEqual(1e-5);
      expect(Math.abs((onGpu.initialLoss as number) - (onWasm.initialLoss as number))).toBeLessThanOrEqual(1e-5);
      // Training did something: the loss fell on both.
      expect(onWasm.finalLoss as number).toBeLessThan(onWasm.initialLoss as number);
    });
  }
});
