import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hardwareGpuLikely } from '../../src/proxy/webgpu.ts';

const ROOT = new URL('../..', import.meta.url).pathname;

describe('optsearch backends', () => {
  it('lists every backend with availability, and the one auto would choose', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/optsearch.mjs'), 'backends', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { auto: string | null; autoSimdKinds: string[]; backends: { name: string; available: boolean; description?: string; reason?: string }[] };
    expect(out.backends.map((b) => b.name)).toEqual(['simd', 'gpu', 'node', 'webgpu', 'webgpu-software', 'wasm', 'cpu', 'reference']);
    expect(out.autoSimdKinds).toEqual(['teacher-student', 'classifier', 'quadratic']);
    const by = new Map(out.backends.map((b) => [b.name, b]));
    // wasm and cpu ship with the package and always load; reference needs no tfjs at all
    expect(by.get('wasm')?.available).toBe(true);
    expect(by.get('cpu')?.available).toBe(true);
    expect(by.get('reference')?.available).toBe(true);
    expect(by.get('simd')?.available).toBe(true);
    // auto's tfjs choice (for the kinds the engine does not train) is never an engine of its own
    expect(out.auto).not.toBe('reference');
    expect(out.auto).not.toBe('simd');
    for (const b of out.backends) expect(b.available ? b.description : b.reason, b.name).toBeTruthy();
    // tfjs-node(-gpu) cannot install without internet access to their native library
    if (!by.get('gpu')?.available && !by.get('node')?.available && !hardwareGpuLikely()) expect(out.auto).toBe('wasm');
    // a software adapter never counts as the hardware webgpu backend
    if (by.get('webgpu-software')?.available && /software|llvmpipe/i.test(by.get('webgpu-software')?.description ?? '')) {
      expect(by.get('webgpu')?.available).toBe(false);
    }
  });
});
