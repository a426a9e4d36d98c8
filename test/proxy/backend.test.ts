/** Backend selection: auto order, forced backends, one-line failures. */
import { describe, expect, it } from 'vitest';
import { BackendUnavailableError, initBackend } from '../../src/proxy/backend.ts';
import { BACKEND_NAMES, isBackendName } from '../../src/vocabulary/index.ts';

describe('initBackend', () => {
  it('auto picks a working backend and tfjs computes on it', async () => {
    const h = await initBackend('auto');
    expect(BACKEND_NAMES).toContain(h.backend);
    expect(h.description.length).toBeGreaterThan(0);
    const t = h.tf.add(h.tf.tensor1d([1, 2]), 1);
    expect(Array.from(await t.data())).toEqual([2, 3]);
    t.dispose();
  });

  it('wasm and cpu can be forced and are really active', async () => {
    for (const name of ['wasm', 'cpu'] as const) {
      const h = await initBackend(name);
      expect(h.backend).toBe(name);
      expect(h.tf.getBackend()).toBe(name);
    }
  });

  it.each(['gpu', 'node', 'webgpu'] as const)('forcing %s either works or fails with one clear line', async (name) => {
    try {
      const h = await initBackend(name);
      expect(h.backend).toBe(name);
    } catch (e) {
      expect(e).toBeInstanceOf(BackendUnavailableError);
      const m = (e as Error).message;
      expect(m).not.toContain('\n');
      expect(m.length).toBeLessThan(400);
      expect(m).toMatch(name === 'webgpu' ? /webgpu/ : /tfjs-node/);
    }
    // a failed attempt leaves a usable backend behind
    const h = await initBackend('cpu');
    expect(h.tf.getBackend()).toBe('cpu');
  });

  it("'reference' is a backend name but not a tfjs backend: initBackend refuses it in one line", async () => {
    expect(isBackendName('reference')).toBe(true);
    await expect(initBackend('reference')).rejects.toThrow(/reference backend is the Float64 interpreter, not a tfjs backend/);
  });

  it('knows its backend names', () => {
    expect(isBackendName('wasm')).toBe(true);
    expect(isBackendName('tpu')).toBe(false);
  });
});
