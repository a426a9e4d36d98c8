/**
 * The command line shared by the proxy benchmarks (proxy-study, broad-tuning): options, the proxy
 * tasks with their overrides, the backend and worker count, and the figures' formatting.
 */
import { availableParallelism } from 'node:os';
import { isBackendName, type BackendName, type TaskSpec } from '../src/vocabulary/index.ts';
import { resolveTaskList } from '../src/tasks/spec.ts';

export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}
export const numbers = (s: string): number[] => s.split(',').map(Number);

/**
 * A proxy task with overrides: "teacher-student-16:batchSize=512,steps=1000" (steps, batchSize,
 * schedule, or any task param).
 */
export function taskVariant(text: string): TaskSpec {
  const [base, over = ''] = text.split(':');
  const spec = resolveTaskList(base as string)[0] as TaskSpec;
  const params: Record<string, unknown> = { ...spec.params };
  let steps = spec.steps;
  let batchSize = spec.batchSize;
  let schedule = spec.schedule;
  for (const kv of over.split(',').filter(Boolean)) {
    const [k, v] = kv.split('=') as [string, string];
    const value = v === 'true' ? true : v === 'false' ? false : Number(v);
    if (k === 'steps') steps = Number(v);
    else if (k === 'batchSize') batchSize = Number(v);
    else if (k === 'schedule') schedule = v === 'constant' ? 'constant' : 'warmup-cosine';
    else params[k] = value;
  }
  return { ...spec, name: over ? `${spec.name}[${over}]` : spec.name, params, steps, batchSize, ...(schedule === undefined ? {} : { schedule }) };
}

/** --tasks (default `defaults` unless only --variants is given) followed by the --variants, ';'-separated. */
export function proxyTasks(defaults: string): TaskSpec[] {
  const has = (name: string): boolean => process.argv.includes(`--${name}`);
  return [
    ...(has('tasks') || !has('variants') ? resolveTaskList(arg('tasks', defaults)) : []),
    ...(has('variants') ? arg('variants', '').split(';').filter(Boolean).map(taskVariant) : []),
  ];
}

export function backendOption(): BackendName | 'auto' {
  const name = arg('backend', 'auto');
  if (name !== 'auto' && !isBackendName(name)) throw new Error(`unknown backend ${name}`);
  return name as BackendName | 'auto';
}

export const workersOption = (): number => Number(arg('workers', String(Math.min(2, availableParallelism()))));

export const fmt = (x: number, d = 4): string => (Number.isFinite(x) ? x.toFixed(d) : String(x));
export const signed = (d: { mean: number; se: number }): string => `${d.mean >= 0 ? '+' : ''}${fmt(d.mean)} +- ${fmt(d.se)}`;
