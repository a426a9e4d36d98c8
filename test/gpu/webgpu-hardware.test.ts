/**
 * `--backend webgpu` demands a hardware adapter. On a machine without a GPU (or with only lavapipe)
 * initWebGpu must refuse with one line naming what is missing; on a GPU machine it must succeed on
 * a non-software adapter. Its own file: a successful init switches the process's tfjs backend.
 */
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/proxy/backend.ts';
import { initWebGpu, probeWebGpu, WebGpuUnavailableError } from '../../src/proxy/webgpu.ts';

describe('initWebGpu without software adapters', () => {
  it('refuses with one line naming the missing piece, or succeeds on a hardware GPU', async () => {
    const outcome = await initWebGpu({ allowSoftware: false }).then(
      (info) => ({ ok: true as const, info }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    // Afterwards: the probe may fall back to the local lavapipe, which the call above must not do.
    const probe = await probeWebGpu();
    if (probe.available && probe.isSoftware === false) {
      expect(outcome.ok).toBe(true);
      if (outcome.ok) expect(outcome.info.isSoftware).toBe(false);
      return;
    }
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error).toBeInstanceOf(WebGpuUnavailableError);
    const message = (outcome.error as Error).message;
    console.info(`initWebGpu({ allowSoftware: false }) here: ${message}`);
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^(no Vulkan loader|no Vulkan driver|no WebGPU adapter|only a software adapter|the webgpu package)/);
    if (message.startsWith('only a software adapter')) {
      expect(message).toMatch(/^only a software adapter \(.+\); --backend webgpu needs a hardware GPU/);
      expect(probe).toMatchObject({ available: true, isSoftware: true });
    }
    if (!probe.available) expect(probe.reason).toMatch(/^no /);
  });

  it('auto never settles on a software adapter: it goes on to the next backend', async () => {
    const probe = await probeWebGpu();
    const handle = await initBackend('auto');
    if (probe.available && probe.isSoftware === false) {
      expect(handle.backend).toBe('webgpu');
    } else {
      expect(['gpu', 'node', 'wasm', 'cpu']).toContain(handle.backend);
      expect(handle.tf.getBackend()).not.toBe('webgpu');
      // and the chosen backend computes
      expect(Array.from(await handle.tf.add(handle.tf.tensor1d([1, 2]), 1).data())).toEqual([2, 3]);
    }
  });
});
