/**
 * Jobs run in the current thread: a single training run (runEvalJob) and a batch job (runBatchJob:
 * one program, one task at one fidelity, several seeds x lr multipliers), which is what the pool and
 * any other transport hand to a worker. Never throws: every problem becomes a 'failed' TrainResult
 * with a one-line reason, one per run.
 */
import { SIMD_KINDS, trainBatchSimd } from '../engine/index.ts';
import { initBackend } from './backend.ts';
import { atFidelity, loadTaskSpec } from '../tasks/spec.ts';
import { trainReference } from './reference.ts';
import { trainProgram } from './train.ts';
import type { Program } from '../dsl/ast.ts';
import { errorLine } from '../dsl/errors.ts';
import { parseProgram } from '../dsl/parse.ts';
import { printProgram } from '../dsl/print.ts';
import type { BatchJob, BatchRun, EvalJob, TaskSpec, TrainResult } from '../vocabulary/index.ts';


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

export function resolveJobSpec(job: Pick<EvalJob, 'task'>): TaskSpec {
  return typeof job.task === 'string' ? loadTaskSpec(job.task) : job.task;
}

/** The simd engine trains a job when it is asked for, and under 'auto' for the kinds it covers. */
function usesSimd(backend: EvalJob['backend'], spec: TaskSpec): boolean {
  return backend === 'simd' || ((backend ?? 'auto') === 'auto' && SIMD_KINDS.includes(spec.kind));
}

export async function runEvalJob(job: EvalJob): Promise<TrainResult> {
  const t0 = performance.now();
  try {
    if (typeof job !== 'object' || job === null) return failedResult({}, 'job must be an object');
    if (typeof job.programText !== 'string') return failedResult(job, 'job.programText must be a string');
    if (!Number.isInteger(job.seed)) return failedResult(job, 'job.seed must be an integer');
    const spec = atFidelity(resolveJobSpec(job), job.fidelity);
    if (usesSimd(job.backend, spec)) {
      const run = { seed: job.seed, lrMultiplier: 1, ...(job.baseline ? { baseline: job.baseline } : {}) };
      return trainBatchSimd({ programText: job.programText, spec, fidelity: job.fidelity, runs: [run], ...(job.timeLimitSeconds !== undefined ? { timeLimitSeconds: job.timeLimitSeconds } : {}) })[0] as TrainResult;
    }
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
    return failedResult(job, errorLine(e), 'failed', (performance.now() - t0) / 1000);
  }
}

/** The program with its update scaled by c: the same as running it at lr * c when lr enters linearly. */
export function scaleUpdate(p: Program, c: number): Program {
  if (c === 1) return p;
  const update = p.outputs[0] as string;
  return {
    ...p,
    statements: [...p.statements, { target: update, op: 'mul', args: [{ kind: 'var', name: update }, { kind: 'num', value: c }] }],
  };
}

/** Why a batch job cannot run at all, or undefined when its shape is sound. */
function batchProblem(job: BatchJob): string | undefined {
  if (typeof job !== 'object' || job === null) return 'a batch job must be an object';
  if (typeof job.programText !== 'string') return 'batch job: programText must be a string';
  if (!Array.isArray(job.runs) || job.runs.length === 0) return 'batch job: needs at least one run (a seed and an lr multiplier)';
  for (const r of job.runs as readonly BatchRun[]) {
    if (!Number.isInteger(r?.seed)) return `batch job: seed must be an integer, got ${String(r?.seed)}`;
    if (!(typeof r.lrMultiplier === 'number' && r.lrMultiplier > 0 && Number.isFinite(r.lrMultiplier))) {
      return `batch job: lr multiplier must be a positive number, got ${String(r.lrMultiplier)}`;
    }
  }
  return undefined;
}

/** One failed result per run of a batch job (a batch with no runs still gets one, naming why). */
export function failedBatch(job: Partial<BatchJob>, reason: string, status: 'failed' | 'timeout' = 'failed', seconds = 0): TrainResult[] {
  const runs = Array.isArray(job?.runs) && job.runs.length > 0 ? job.runs : [{ seed: 0, lrMultiplier: 1 }];
  return runs.map((r) => failedResult({ task: job?.task ?? '?', fidelity: job?.fidelity ?? 1, seed: typeof r?.seed === 'number' ? r.seed : 0 }, reason, status, seconds / runs.length));
}

/**
 * Runs a batch job on the requested backend: on the simd engine all runs together ('auto' takes it
 * for the kinds it trains), on the others one after the other. Results come back one per run, in
 * the order of job.runs.
 */
export async function runBatchJob(job: BatchJob): Promise<TrainResult[]> {
  const problem = batchProblem(job);
  if (problem !== undefined) return failedBatch(job ?? {}, problem);
  let program: Program;
  try {
    program = parseProgram(job.programText);
  } catch (e) {
    return failedBatch(job, errorLine(e));
  }
  let spec: TaskSpec;
  try {
    spec = atFidelity(resolveJobSpec(job), job.fidelity);
  } catch (e) {
    return failedBatch(job, errorLine(e));
  }
  if (usesSimd(job.backend, spec)) {
    return trainBatchSimd({ programText: job.programText, spec, fidelity: job.fidelity, runs: job.runs, ...(job.timeLimitSeconds !== undefined ? { timeLimitSeconds: job.timeLimitSeconds } : {}) });
  }
  const out: TrainResult[] = [];
  for (const run of job.runs) {
    out.push(
      await runEvalJob({
        programText: printProgram(scaleUpdate(program, run.lrMultiplier)),
        task: job.task,
        fidelity: job.fidelity,
        seed: run.seed,
        backend: job.backend,
        ...(run.baseline ? { baseline: run.baseline } : {}),
        ...(job.timeLimitSeconds !== undefined ? { timeLimitSeconds: job.timeLimitSeconds } : {}),
      }),
    );
  }
  return out;
}
