/**
 * Milliseconds per training step of the digits MLP task (fidelity 1 and its x10 variant) on every
 * tfjs backend that starts here, printed as ratios to wasm measured in one run.
 *
 *   npx tsx bench/backends.ts [--steps 200] [--warmup 20] [--program adamw] [--backends wasm,cpu,webgpu-software]
 *                             [--task digits-mlp] [--tasks-dir proxy-tasks]
 *
 * A step is what the proxy trainer does per step: the task's batch loss under tf.variableGrads, then
 * the compiled program's update. Each backend runs in its own child process (a process holds one
 * tfjs instance, and the WebGPU backend must be set up before tfjs is loaded). The device is drained
 * (a weight is read back) before each clock stops, so queued GPU work is counted. The figure is the
 * median over five blocks of steps.
 * For webgpu-software, run scripts/setup-lavapipe.sh first.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '@tensorflow/tfjs';
import { parseProgram } from '../src/dsl/parse.ts';
import { initBackend } from '../src/proxy/backend.ts';
import { isBackendName, type BackendName, type Fidelity, type TaskSpec } from '../src/vocabulary/index.ts';
import { compileProgram } from '../src/proxy/compile.ts';
import { PROXY_TASKS_DIR } from '../src/tasks/data.ts';
import { getTaskBuilder } from '../src/proxy/builders/index.ts';
import { atFidelity, loadTaskSpec } from '../src/tasks/spec.ts';

const DEFAULT_BACKENDS: readonly BackendName[] = ['wasm', 'cpu', 'webgpu-software', 'webgpu', 'gpu'];

interface Measurement {
  ok: true;
  description: string;
  firstStepMs: number;
  msPerStep: number;
  parameters: number;
}
interface Failure {
  ok: false;
  reason: string;
}

function option(args: readonly string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? (args[i + 1] as string) : fallback;
}

function taskOf(args: readonly string[]): TaskSpec {
  return loadTaskSpec(option(args, 'task', 'digits-mlp'), option(args, 'tasks-dir', PROXY_TASKS_DIR));
}

function positiveInt(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench/backends: --${name} must be a positive integer, got '${text}'`);
    process.exit(2);
  }
  return n;
}

const BLOCKS = 5;

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function measure(backend: BackendName, spec: TaskSpec, programText: string, warmup: number, steps: number): Promise<Measurement> {
  const handle = await initBackend(backend);
  const tf = handle.tf;
  const task = getTaskBuilder(spec.kind)(tf, spec, spec.seed);
  const compiled = compileProgram(tf, parseProgram(programText), task.params);
  const params = task.params;
  let t = 0;
  const trainStep = (): void => {
    const { value, grads } = tf.variableGrads(() => task.batchLoss(t) as never, [...params]);
    compiled.apply(params.map((p) => grads[p.name] as Tensor), 0.5);
    value.dispose();
    for (const k of Object.keys(grads)) grads[k]?.dispose();
    t++;
  };
  const drain = async (): Promise<void> => {
    await (params[0] as Tensor).data();
  };
  const first = performance.now();
  trainStep();
  await drain();
  const firstStepMs = performance.now() - first;
  for (let i = 0; i < warmup; i++) trainStep();
  await drain();
  // The median of five blocks: other processes on the machine disturb single blocks.
  const blockSteps = Math.max(1, Math.round(steps / BLOCKS));
  const blockMs: number[] = [];
  for (let b = 0; b < BLOCKS; b++) {
    const start = performance.now();
    for (let i = 0; i < blockSteps; i++) trainStep();
    await drain();
    blockMs.push((performance.now() - start) / blockSteps);
  }
  const msPerStep = median(blockMs);
  const parameters = params.reduce((s, p) => s + p.size, 0);
  compiled.dispose();
  task.dispose();
  return { ok: true, description: handle.description, firstStepMs, msPerStep, parameters };
}

async function child(args: readonly string[]): Promise<void> {
  const backend = option(args, 'child', '');
  const fidelity = Number(option(args, 'fidelity', '1')) as Fidelity;
  let out: Measurement | Failure;
  try {
    if (!isBackendName(backend)) throw new Error(`unknown backend '${backend}'`);
    const spec = atFidelity(taskOf(args), fidelity);
    const programText = readFileSync(new URL(`../search-spaces/programs/${option(args, 'program', 'adamw')}.prog`, import.meta.url), 'utf8');
    out = await measure(backend, spec, programText, Number(option(args, 'warmup', '20')), Number(option(args, 'steps', '200')));
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    out = { ok: false, reason: m.split('\n')[0] ?? m };
  }
  // The result is the last stdout line; backends may print banners before it.
  process.stdout.write(`\n${JSON.stringify(out)}\n`);
}

function runChild(backend: BackendName, fidelity: Fidelity, args: readonly string[]): Measurement | Failure {
  const self = fileURLToPath(import.meta.url);
  const passOn = ['steps', 'warmup', 'program', 'task', 'tasks-dir'].flatMap((k) => (args.includes(`--${k}`) ? [`--${k}`, option(args, k, '')] : []));
  const r = spawnSync(process.execPath, [...process.execArgv, self, '--child', backend, '--fidelity', String(fidelity), ...passOn], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as Measurement | Failure;
  } catch {
    const err = (r.stderr ?? '').trim().split('\n').filter((l) => l.trim() !== '').pop() ?? `exit code ${r.status}`;
    return { ok: false, reason: `child process failed: ${err}` };
  }
}

async function main(args: readonly string[]): Promise<void> {
  if (args.includes('--child')) return child(args);
  positiveInt(option(args, 'steps', '200'), 'steps');
  positiveInt(option(args, 'warmup', '20'), 'warmup');
  const requested = option(args, 'backends', DEFAULT_BACKENDS.join(',')).split(',');
  const unknown = requested.filter((b) => !isBackendName(b));
  if (unknown.length > 0) {
    console.error(`bench/backends: unknown backend(s) ${unknown.join(', ')}`);
    process.exit(2);
  }
  const backends = requested as BackendName[];
  let base: TaskSpec;
  try {
    base = taskOf(args);
  } catch (e) {
    console.error(`bench/backends: ${(e as Error).message}`);
    process.exit(2);
  }
  console.log(`ms per training step, task ${base.name}, program ${option(args, 'program', 'adamw')}; ratio = wasm ms / backend ms (above 1: faster than wasm)`);
  for (const fidelity of [1, 10] as const) {
    const spec = atFidelity(base, fidelity);
    console.log(`\nfidelity ${fidelity} (${JSON.stringify(spec.params)}, batch ${spec.batchSize})`);
    const results = new Map<BackendName, Measurement | Failure>();
    for (const b of backends) results.set(b, runChild(b, fidelity, args));
    const wasm = results.get('wasm');
    for (const [b, r] of results) {
      if (!r.ok) {
        console.log(`  ${b.padEnd(16)} unavailable: ${r.reason}`);
        continue;
      }
      const ratio = wasm?.ok ? (wasm.msPerStep / r.msPerStep).toFixed(2) : 'n/a';
      console.log(
        `  ${b.padEnd(16)} ${r.msPerStep.toFixed(2).padStart(8)} ms/step  ratio ${ratio.padStart(5)}  first step ${r.firstStepMs.toFixed(0)} ms  ${r.parameters} weights  [${r.description}]`,
      );
    }
  }
}

await main(process.argv.slice(2));
