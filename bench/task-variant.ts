/**
 * A proxy task with overrides, as the proxy benchmarks take it on the command line:
 * "teacher-student-16:batchSize=512,steps=1000" (steps, batchSize, schedule, or any task param).
 */
import type { TaskSpec } from '../src/vocabulary/index.ts';
import { resolveTaskList } from '../src/tasks/spec.ts';

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
