/**
 * TensorFlow.js backend choice. One tfjs instance per process (or worker thread); the first call
 * loads it, later calls reuse it and may switch backend.
 *
 * Auto order (design.md section 6): tfjs-node-gpu, WebGPU on a hardware adapter, tfjs-node, wasm, cpu.
 * tfjs-node(-gpu) are optional: they cannot install without internet, and an install with skipped
 * scripts loads but throws for the missing native addon, so both failures are caught.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
// Static on purpose: webgpu.ts imports only Node built-ins at load time (Dawn is loaded when used),
// and a dynamic import() of a .ts file fails inside tsx-loaded piscina workers.
import * as webgpu from './webgpu.ts';
import { SIMD_KINDS } from '../engine/index.ts';
import { REFERENCE_DESCRIPTION } from './reference.ts';
import type { BackendName } from '../vocabulary/index.ts';
import type { Tf } from './tf.ts';

export const SIMD_DESCRIPTION = `WebAssembly SIMD engine, float32, four runs per vector (task kinds ${SIMD_KINDS.join(', ')}; auto picks it for them)`;

export interface BackendHandle {
  tf: Tf;
  backend: BackendName;
  description: string;
}

export class BackendUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

let tfModule: Tf | undefined;
let current: BackendHandle | undefined;
/** Backends that failed once in this process: not retried (a failed native load is permanent). */
const failed = new Map<BackendName, string>();

async function loadTf(): Promise<Tf> {
  if (!tfModule) {
    tfModule = await import('@tensorflow/tfjs');
    // PROD silences the cpu backend's Node banner and skips debug-only checks.
    tfModule.env().set('PROD', true);
  }
  return tfModule;
}

function message(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.split('\n')[0] ?? m;
}

/** tfjs-node or tfjs-node-gpu: registers the 'tensorflow' backend on the shared tfjs-core. */
async function tryNodeAddon(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<string> {
  try {
    await import(pkg);
  } catch (e) {
    throw new BackendUnavailableError(`${pkg} cannot load: ${message(e)}`);
  }
  const tf = await loadTf();
  if (!(await tf.setBackend('tensorflow'))) throw new BackendUnavailableError(`${pkg} loaded but its backend did not initialise`);
  return `tensorflow (${pkg})`;
}

async function tryWebGpu(allowSoftware: boolean): Promise<string> {
  try {
    const r = await webgpu.initWebGpu({ allowSoftware });
    return r.description;
  } catch (e) {
    throw new BackendUnavailableError(`webgpu is not available: ${message(e)}`);
  }
}

async function tryWasm(): Promise<string> {
  const tf = await loadTf();
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/';
  wasm.setWasmPaths(dir);
  // setBackend resolves false (and leaves another backend active) when wasm fails to initialise.
  if (!(await tf.setBackend('wasm'))) throw new BackendUnavailableError('wasm backend failed to initialise');
  return 'wasm (SIMD, 1 thread)';
}

async function tryCpu(): Promise<string> {
  const tf = await loadTf();
  if (!(await tf.setBackend('cpu'))) throw new BackendUnavailableError('cpu backend failed to initialise');
  return 'cpu (pure JavaScript)';
}

async function tryBackend(name: BackendName): Promise<string> {
  const prior = failed.get(name);
  if (prior !== undefined) throw new BackendUnavailableError(prior);
  try {
    switch (name) {
      case 'gpu':
        return await tryNodeAddon('@tensorflow/tfjs-node-gpu');
      case 'node':
        return await tryNodeAddon('@tensorflow/tfjs-node');
      case 'webgpu':
        return await tryWebGpu(false);
      case 'webgpu-software':
        return await tryWebGpu(true);
      case 'wasm':
        return await tryWasm();
      case 'cpu':
        return await tryCpu();
      case 'reference':
        throw new BackendUnavailableError('the reference backend is the Float64 interpreter, not a tfjs backend; jobs that name it do not start tfjs');
      case 'simd':
        throw new BackendUnavailableError('the simd backend is the WebAssembly engine, not a tfjs backend; jobs that name it do not start tfjs');
    }
  } catch (e) {
    const m = e instanceof BackendUnavailableError ? e.message : `${name} backend failed: ${message(e)}`;
    failed.set(name, m);
    throw new BackendUnavailableError(m);
  }
}

const AUTO_ORDER: readonly BackendName[] = ['gpu', 'webgpu', 'node', 'wasm', 'cpu'];

/**
 * Load tfjs and activate a backend. 'auto' takes the first that works in AUTO_ORDER; a named backend
 * that cannot load rejects with a one-line BackendUnavailableError.
 */
export async function initBackend(requested: BackendName | 'auto'): Promise<BackendHandle> {
  if (current && (requested === 'auto' || requested === current.backend)) return current;
  const candidates = requested === 'auto' ? AUTO_ORDER.filter((b) => b !== 'webgpu' || webgpu.hardwareGpuLikely()) : [requested];
  const reasons: string[] = [];
  for (const name of candidates) {
    try {
      const description = await tryBackend(name);
      const tf = await loadTf();
      current = { tf, backend: name, description };
      return current;
    } catch (e) {
      reasons.push(message(e));
    }
  }
  throw new BackendUnavailableError(
    requested === 'auto' ? `no tfjs backend could start: ${reasons.join('; ')}` : (reasons[0] ?? `backend ${requested} is not available`),
  );
}

/** The active backend, if initBackend has run in this process. */
export function currentBackend(): BackendHandle | undefined {
  return current;
}

export interface BackendAvailability {
  readonly name: BackendName;
  readonly available: boolean;
  /** What it runs on (the adapter's description for webgpu), when available. */
  readonly description?: string;
  /** Why not, when unavailable. */
  readonly reason?: string;
}

/**
 * What each backend would do on this machine, without training anything. The webgpu entries ask
 * Dawn for an adapter (hardware for 'webgpu', any for 'webgpu-software') without switching tfjs to it.
 */
export async function listBackends(): Promise<{ backends: BackendAvailability[]; auto: BackendName | undefined }> {
  const out: BackendAvailability[] = [];
  const addon = async (name: 'gpu' | 'node', pkg: string): Promise<void> => {
    try {
      await import(pkg);
      out.push({ name, available: true, description: `tensorflow (${pkg})` });
    } catch (e) {
      out.push({ name, available: false, reason: `${pkg} cannot load: ${message(e)}` });
    }
  };
  await addon('gpu', '@tensorflow/tfjs-node-gpu');
  await addon('node', '@tensorflow/tfjs-node');
  const probe = await webgpu.probeWebGpu();
  if (!probe.available) {
    out.push({ name: 'webgpu', available: false, reason: probe.reason ?? 'no adapter' });
    out.push({ name: 'webgpu-software', available: false, reason: probe.reason ?? 'no adapter' });
  } else {
    out.push(
      probe.isSoftware
        ? { name: 'webgpu', available: false, reason: `only a software adapter (${probe.description ?? '?'}); webgpu needs a hardware GPU` }
        : { name: 'webgpu', available: true, description: probe.description ?? '?' },
    );
    out.push({ name: 'webgpu-software', available: true, description: probe.description ?? '?' });
  }
  for (const name of ['wasm', 'cpu'] as const) {
    try {
      out.push({ name, available: true, description: name === 'wasm' ? await tryWasm() : await tryCpu() });
    } catch (e) {
      out.push({ name, available: false, reason: message(e) });
    }
  }
  out.push({ name: 'reference', available: true, description: REFERENCE_DESCRIPTION });
  out.unshift({ name: 'simd', available: true, description: SIMD_DESCRIPTION });
  const ok = new Set(out.filter((b) => b.available).map((b) => b.name));
  const auto = AUTO_ORDER.find((b) => ok.has(b) && (b !== 'webgpu' || webgpu.hardwareGpuLikely()));
  // tryWasm/tryCpu switched the process's backend; forget it so initBackend starts clean.
  current = undefined;
  return { backends: out, auto };
}
