/**
 * One evaluation job, run in the current thread: resolve the task, start the backend, train.
 * Never throws: every problem becomes a 'failed' TrainResult with a one-line reason.
 */
import { initBackend } from './backend.ts';
import { atFidelity, loadTaskSpec } from '../tasks/spec.ts';
import { trainReference } from './reference.ts';
import { trainProgram } from './train.ts';
import type { EvalJob, TaskSpec, TrainResult } from '../vocabulary/index.ts';

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n')[0] ?? m).slice(0, 500);
}

export function taskNameOf(job: Pick<EvalJob, 'task'>): string {
  return typeof job.task === 'string' ? job.task : typeof job.task?.name === 'string' ? job.task.name : '?';
}

/** A failed result for a job that could not run (bad input, crashed or killed worker, timeout). */
export function failedResult(job: Partial<EvalJob>, reason: string, status: 'failed' | 'timeout' = 'failed', seconds = 0, backend = ''): TrainResult {
  return {
    status,
    reason,
    task: job.task === undefined ? '?' : taskNameOf(job as EvalJob),
    fidelity: typeof job.fidelity === 'number' ? job.fidelity : 0,
    seed: typeof job.seed === 'number' ? job.seed : 0,
    initialLoss: null,
    finalLoss: null,
    lossFloor: 0,
    metric: null,
    metricName: '',
    higherIsBetter: false,
    checkpointStep: 0,
    checkpointLoss: null,
    lossCurve: [],
    steps: 0,
    seconds,
    backend,
  };
}

export function resolveJobSpec(job: EvalJob): TaskSpec {
  return typeof job.task === 'string' ? loadTaskSpec(job.task) : job.task;
}

export async function runEvalJob(job: EvalJob): Promise<TrainResult> {
  const t0 = performance.now();
  try {
    if (typeof job !== 'object' || job === null) return failedResult({}, 'job must be an object');
    if (typeof job.programText !== 'string') return failedResult(job, 'job.programText must be a string');
    if (!Number.isInteger(job.seed)) return failedResult(job, 'job.seed must be an integer');
    const spec = atFidelity(resolveJobSpec(job), job.fidelity);
    if (job.backend === 'reference') {
      return trainReference({ program: job.programText, spec, fidelity: job.fidelity, seed: job.seed, baseline: job.baseline, timeLimitSeconds: job.timeLimitSeconds });
    }
    const handle = await initBackend(job.backend ?? 'auto');
    return await trainProgram({
      tf: handle.tf,
      backend: handle.backend,
      program: job.programText,
      spec,
      fidelity: job.fidelity,
      seed: job.seed,
      baseline: job.baseline,
      timeLimitSeconds: job.timeLimitSeconds,
    });
  } catch (e) {
    return failedResult(job, firstLine(e), 'failed', (performance.now() - t0) / 1000);
  }
}
