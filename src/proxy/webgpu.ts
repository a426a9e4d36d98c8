/**
 * The TensorFlow.js WebGPU backend in Node, over Dawn's Node bindings (the `webgpu` package).
 *
 * On Linux Dawn reaches the GPU through Vulkan: it needs the Vulkan loader (libvulkan.so.1) and a
 * driver's ICD (NVIDIA's nvidia_icd.json on a GPU machine; Mesa's lavapipe, a software rasterizer,
 * for tests: scripts/setup-lavapipe.sh). docs/gpu.md has the setup.
 *
 * Reads on this backend must be asynchronous (`await t.data()`): dataSync/arraySync throw
 * "OffscreenCanvas is not defined" in Node.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';

export interface WebGpuInfo {
  /** One line naming the adapter, for logs and stored evaluations. */
  description: string;
  /** The adapter's architecture string ('software' for lavapipe; vendor-specific for GPUs). */
  architecture: string;
  isSoftware: boolean;
}

export interface WebGpuProbe {
  available: boolean;
  description?: string;
  isSoftware?: boolean;
  /** Why no adapter is available (set when available is false). */
  reason?: string;
}

/** A failure to bring up WebGPU; the message is one line naming what is missing. */
export class WebGpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebGpuUnavailableError';
  }
}

// Only the parts of the WebGPU API used here; the full types come with the `webgpu` package.
interface AdapterInfoLike {
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}
interface AdapterLike {
  readonly info?: AdapterInfoLike;
  readonly isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<AdapterLike | null>;
}

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where scripts/setup-lavapipe.sh puts its ICD json. */
export const LOCAL_LAVAPIPE_ICD = join(REPO_ROOT, '.vulkan', 'lvp_icd.json');

let gpu: GpuLike | undefined;
/** The driver list the GPU object was created under: Dawn reads it when the object is created. */
let gpuCreatedFor: string | undefined;
let active: WebGpuInfo | undefined;

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n')[0] ?? m).trim();
}

/** The names under which the Vulkan loader looks for driver lists (newest first). */
function icdEnvFiles(): { variable: string; files: string[] } | undefined {
  for (const variable of ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES']) {
    const value = process.env[variable];
    if (value) return { variable, files: value.split(delimiter).filter((f) => f.length > 0) };
  }
  return undefined;
}

/**
 * Points the Vulkan loader at the lavapipe that scripts/setup-lavapipe.sh installed in .vulkan/, when
 * no driver list is set yet. Only the main thread can change the environment the loader reads (a
 * worker thread's process.env is a private copy), so call this before starting worker threads.
 * Returns the ICD json now in use, or undefined when nothing was set.
 */
export function useLocalLavapipe(): string | undefined {
  if (icdEnvFiles() !== undefined || !isMainThread || !existsSync(LOCAL_LAVAPIPE_ICD)) return undefined;
  process.env.VK_ICD_FILENAMES = LOCAL_LAVAPIPE_ICD;
  return LOCAL_LAVAPIPE_ICD;
}

/** True when a lavapipe ICD is configured or installed locally (what the GPU tests need). */
export function lavapipeConfigured(): boolean {
  const env = icdEnvFiles();
  if (env) return env.files.some((f) => existsSync(f) && /lvp|lavapipe/i.test(readIcdLibrary(f) ?? f));
  return existsSync(LOCAL_LAVAPIPE_ICD);
}

function readIcdLibrary(jsonPath: string): string | undefined {
  try {
    const parsed = JSON.parse(readFileSync(jsonPath, 'utf8')) as { ICD?: { library_path?: unknown } };
    const lib = parsed.ICD?.library_path;
    return typeof lib === 'string' ? lib : undefined;
  } catch {
    return undefined;
  }
}

const LIBRARY_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib', '/lib64', '/lib'];

function hasVulkanLoader(): boolean {
  if (process.platform !== 'linux') return true;
  try {
    if (readFileSync('/etc/ld.so.cache').includes('libvulkan.so.1')) return true;
  } catch {
    // no cache: fall through to the directory scan
  }
  const dirs = [...(process.env.LD_LIBRARY_PATH ?? '').split(':').filter((d) => d.length > 0), ...LIBRARY_DIRS];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

const ICD_DIRS = ['/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d', '/usr/share/vulkan/icd.d'];

function installedIcds(): string[] {
  const found: string[] = [];
  for (const d of ICD_DIRS) {
    try {
      for (const f of readdirSync(d)) if (f.endsWith('.json')) found.push(f);
    } catch {
      // directory absent
    }
  }
  return found;
}

const SOFTWARE_DRIVER = /lvp|lavapipe|llvmpipe|swiftshader/i;

/**
 * True when the Vulkan driver list names a driver that is not a software rasteriser and a GPU device
 * node exists (always true off Linux, where Dawn uses Metal or D3D). Cheap: reads a few JSON files, loads nothing.
 * The automatic backend choice uses it to skip Dawn (and its stderr warnings) on machines that only
 * have lavapipe.
 */
export function hardwareGpuLikely(): boolean {
  if (process.platform !== 'linux') return true;
  const env = icdEnvFiles();
  const files = env ? env.files : ICD_DIRS.flatMap((d) => installedIcds().map((f) => join(d, f))).filter((f) => existsSync(f));
  const hardwareDriver = files.some((f) => existsSync(f) && !SOFTWARE_DRIVER.test(readIcdLibrary(f) ?? f));
  return hardwareDriver && gpuDeviceNode();
}

/** A GPU device node: NVIDIA's /dev/nvidia0, or a DRM render node (Intel, AMD). */
function gpuDeviceNode(): boolean {
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}

/** One line saying why Dawn found no adapter, from what the Vulkan loader would see. */
function diagnoseNoAdapter(): string {
  if (process.platform !== 'linux') return 'no WebGPU adapter: Dawn found no usable GPU driver';
  if (!hasVulkanLoader()) {
    return 'no Vulkan loader: libvulkan.so.1 not found (install libvulkan1, and the GPU driver\'s Vulkan ICD; see docs/gpu.md)';
  }
  const env = icdEnvFiles();
  if (env) {
    const missing = env.files.filter((f) => !existsSync(f));
    if (missing.length > 0) return `no Vulkan driver: ${env.variable} names ${missing.join(', ')}, which does not exist`;
    return `no WebGPU adapter: Dawn accepted none of the Vulkan drivers in ${env.variable} (${env.files.join(', ')})`;
  }
  const icds = installedIcds();
  if (icds.length === 0) {
    return 'no Vulkan driver: no ICD json in ' + ICD_DIRS.join(', ') +
      ' (a GPU needs its driver\'s Vulkan ICD, e.g. nvidia_icd.json; or set VK_ICD_FILENAMES; see docs/gpu.md)';
  }
  const software = existsSync(LOCAL_LAVAPIPE_ICD)
    ? `software needs VK_ICD_FILENAMES=${LOCAL_LAVAPIPE_ICD} set when the process starts`
    : 'software needs lavapipe from Mesa >= 24 (scripts/setup-lavapipe.sh)';
  return `no WebGPU adapter: Dawn accepted none of the installed Vulkan drivers (${icds.join(', ')}); ` +
    `a GPU needs its driver's Vulkan ICD, ${software}`;
}

/** Mesa's Vulkan drivers print an error on every start when XDG_RUNTIME_DIR is unset. */
function ensureRuntimeDir(): void {
  if (process.env.XDG_RUNTIME_DIR || !isMainThread || process.platform !== 'linux') return;
  const dir = join(tmpdir(), `optsearch-runtime-${process.getuid?.() ?? 'user'}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  } catch {
    // only a warning is lost
  }
}

function driverListKey(): string {
  return `${process.env.VK_DRIVER_FILES ?? ''}|${process.env.VK_ICD_FILENAMES ?? ''}`;
}

async function loadGpu(): Promise<GpuLike> {
  if (gpu && gpuCreatedFor === driverListKey()) return gpu;
  let mod: { create(options: string[]): unknown; globals: object };
  try {
    mod = (await import('webgpu')) as unknown as typeof mod;
  } catch (e) {
    throw new WebGpuUnavailableError(`the webgpu package (Dawn) cannot load: ${firstLine(e)}`);
  }
  // GPUBufferUsage, GPUMapMode, GPUShaderStage, ... must be globals, as in a browser.
  Object.assign(globalThis, mod.globals);
  ensureRuntimeDir();
  gpu = mod.create([]) as GpuLike;
  gpuCreatedFor = driverListKey();
  return gpu;
}

function describeAdapter(adapter: AdapterLike): WebGpuInfo {
  const info = adapter.info ?? {};
  const architecture = info.architecture ?? '';
  const name = info.description || info.device || info.vendor || 'unnamed adapter';
  const isSoftware =
    info.isFallbackAdapter === true ||
    adapter.isFallbackAdapter === true ||
    architecture === 'software' ||
    /llvmpipe|lavapipe|swiftshader/i.test(name);
  const vendor = info.vendor ? `, ${info.vendor}` : '';
  return {
    description: `webgpu on ${name} (${isSoftware ? 'software' : architecture || 'hardware'}${vendor})`,
    architecture,
    isSoftware,
  };
}

async function requestFrom(g: GpuLike): Promise<AdapterLike | null> {
  try {
    return await g.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    throw new WebGpuUnavailableError(`requesting a WebGPU adapter failed: ${firstLine(e)}`);
  }
}

async function requestAdapter(allowSoftware: boolean): Promise<{ adapter: AdapterLike; info: WebGpuInfo }> {
  let adapter = await requestFrom(await loadGpu());
  // With software accepted and nothing usable configured, fall back to the lavapipe in .vulkan/.
  if (!adapter && allowSoftware && useLocalLavapipe() !== undefined) adapter = await requestFrom(await loadGpu());
  if (!adapter) throw new WebGpuUnavailableError(diagnoseNoAdapter());
  const info = describeAdapter(adapter);
  if (info.isSoftware && !allowSoftware) throw new WebGpuUnavailableError(softwareRefusal(info));
  return { adapter, info };
}

function softwareRefusal(info: WebGpuInfo): string {
  return (
    `only a software adapter (${info.description.replace(/^webgpu on /, '')}); --backend webgpu needs a hardware GPU ` +
    '(its Vulkan ICD, see docs/gpu.md), or use --backend webgpu-software'
  );
}

function defineNavigatorGpu(g: GpuLike): void {
  const existing = (globalThis as { navigator?: object }).navigator;
  if (existing !== undefined && existing !== null) {
    // Node >= 21 has a navigator object: add gpu to it rather than replacing it.
    Object.defineProperty(existing, 'gpu', { value: g, configurable: true, writable: true });
  } else {
    Object.defineProperty(globalThis, 'navigator', { value: { gpu: g }, configurable: true, writable: true });
  }
}

/**
 * Brings up Dawn, checks for a suitable adapter, then loads tfjs with the WebGPU backend and makes it
 * the active backend. A software adapter (lavapipe) is refused unless allowSoftware.
 * Rejects with a WebGpuUnavailableError whose message is one line naming what is missing.
 */
export async function initWebGpu(opts: { allowSoftware: boolean }): Promise<WebGpuInfo> {
  if (active) {
    if (active.isSoftware && !opts.allowSoftware) throw new WebGpuUnavailableError(softwareRefusal(active));
  } else {
    const { info } = await requestAdapter(opts.allowSoftware);
    // The backend module checks navigator.gpu when it is evaluated, so this comes before the import.
    defineNavigatorGpu(gpu as GpuLike);
    active = info;
  }
  const tf = await import('@tensorflow/tfjs');
  try {
    await import('@tensorflow/tfjs-backend-webgpu');
  } catch (e) {
    throw new WebGpuUnavailableError(`@tensorflow/tfjs-backend-webgpu cannot load: ${firstLine(e)}`);
  }
  if (tf.findBackendFactory('webgpu') === null) {
    throw new WebGpuUnavailableError(
      '@tensorflow/tfjs-backend-webgpu was loaded before navigator.gpu existed, so it registered no backend',
    );
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend('webgpu');
  } catch (e) {
    throw new WebGpuUnavailableError(`the tfjs webgpu backend failed to start: ${firstLine(e)}`);
  }
  // setBackend resolves false on failure while getBackend() may still name webgpu.
  if (!ok) throw new WebGpuUnavailableError('the tfjs webgpu backend failed to start (setBackend returned false)');
  return { ...active };
}

/**
 * Whether a WebGPU adapter exists, without loading tfjs or switching backend: what
 * initWebGpu({ allowSoftware: true }) would find. A software adapter counts as available (see
 * isSoftware); like initWebGpu, it falls back to the lavapipe in .vulkan/ when nothing else works.
 */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  if (active) return { available: true, description: active.description, isSoftware: active.isSoftware };
  try {
    const { info } = await requestAdapter(true);
    return { available: true, description: info.description, isSoftware: info.isSoftware };
  } catch (e) {
    return { available: false, reason: firstLine(e) };
  }
}
