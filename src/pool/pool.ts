/**
 * A piscina pool of evaluation workers (one single-threaded tfjs instance each; platform.md 4). The
 * unit of work is a batch job (one program, one task, its runs); results come back one per run.
 *
 * At most `size` jobs are handed to piscina at once, so a job's timer starts when it starts running.
 * A job that exceeds its hard timeout is aborted (piscina terminates that worker and starts a new
 * one); a worker that throws, exits or runs out of memory yields 'failed' results with the reason,
 * and the pool goes on with a replacement. The pool counts busy worker-seconds, so a caller can
 * report utilization: busy seconds / (workers x wall seconds).
 */
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { failedBatch, resolveJobSpec } from '../proxy/job.ts';
import { atFidelity } from '../tasks/spec.ts';
import type { BatchJob, TrainResult } from '../vocabulary/index.ts';

export const DEFAULT_WORKER = join(dirname(fileURLToPath(import.meta.url)), 'worker.ts');

export interface PoolOptions {
  /** Number of workers (default: number of cores). */
  readonly size?: number;
  /** Worker module (default: src/pool/worker.ts). */
  readonly filename?: string;
  /**
   * Hard limit per batch job, seconds. Default: the sum of its runs' wall-clock limits (the task's
   * own at the job's fidelity, or the job's override) times 1.5 plus 20 s for worker start-up; the
   * trainer's own limit normally stops first.
   */
  readonly timeoutSeconds?: number;
  /** V8 heap limit per worker, MB (a worker over it dies and is replaced). */
  readonly maxHeapMb?: number;
}

export interface PoolStats {
  readonly submitted: number;
  readonly completed: number;
  /** Jobs whose worker crashed, exited or was stopped by the hard timeout. */
  readonly workerFailures: number;
  /** Jobs running now (at most `size`). */
  readonly running: number;
  /** Jobs waiting for a free worker. */
  readonly queued: number;
  /** Sum over jobs of the seconds each spent running in a worker. */
  readonly busySeconds: number;
  /** Seconds since the pool was created. */
  readonly wallSeconds: number;
}

export interface EvaluationPool {
  readonly size: number;
  /** Never rejects; one result per run of the job; `timeoutSeconds` overrides the hard limit. */
  run(job: BatchJob, opts?: { timeoutSeconds?: number }): Promise<TrainResult[]>;
  stats(): PoolStats;
  close(): Promise<void>;
}

function hardTimeoutSeconds(job: BatchJob, fallback: number): number {
  try {
    const spec = atFidelity(resolveJobSpec(job), job.fidelity);
    const runs = Array.isArray(job.runs) ? Math.max(1, job.runs.length) : 1;
    return (job.timeLimitSeconds ?? spec.hurdles.timeLimitSeconds) * runs * 1.5 + 20;
  } catch {
    return fallback; // the worker reports the bad task itself
  }
}

/** busy seconds / (workers x wall seconds) between two snapshots of the same pool's stats. */
export function utilization(before: PoolStats, after: PoolStats, size: number): number {
  const wall = after.wallSeconds - before.wallSeconds;
  return wall > 0 ? (after.busySeconds - before.busySeconds) / (size * wall) : 0;
}

export function createEvaluationPool(opts: PoolOptions = {}): EvaluationPool {
  const size = Math.max(1, Math.floor(opts.size ?? availableParallelism()));
  const filename = opts.filename ?? DEFAULT_WORKER;
  const piscina = new Piscina({
    filename,
    minThreads: size,
    maxThreads: size,
    // inside vitest a .ts worker does not inherit the tsx loader (platform.md 4.1)
    execArgv: filename.endsWith('.ts') ? ['--import', 'tsx'] : [],
    idleTimeout: 60_000,
    ...(opts.maxHeapMb ? { resourceLimits: { maxOldGenerationSizeMb: opts.maxHeapMb } } : {}),
  });
  // Unhandled 'error' events from a dying worker must not take the process down.
  piscina.on('error', () => {});
  const created = performance.now();
  let running = 0;
  const waiting: (() => void)[] = [];
  let submitted = 0;
  let completed = 0;
  let workerFailures = 0;
  let busyMs = 0;
  let closed = false;

  const acquire = (): Promise<void> => {
    if (running < size) {
      running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };

  return {
    size,
    async run(job, jobOpts) {
      if (closed) return failedBatch(job, 'evaluation pool is closed');
      submitted++;
      await acquire();
      const limit = jobOpts?.timeoutSeconds ?? opts.timeoutSeconds ?? hardTimeoutSeconds(job, 120);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), limit * 1000);
      const t0 = performance.now();
      try {
        const r = (await piscina.run(job, { signal: controller.signal })) as TrainResult[];
        completed++;
        return r;
      } catch (e) {
        workerFailures++;
        completed++;
        const seconds = (performance.now() - t0) / 1000;
        if (controller.signal.aborted) return failedBatch(job, `worker stopped after the hard limit of ${limit.toFixed(0)} s`, 'timeout', seconds);
        const m = e instanceof Error ? e.message : String(e);
        return failedBatch(job, `worker died: ${(m.split('\n')[0] ?? m).slice(0, 300)}`, 'failed', seconds);
      } finally {
        busyMs += performance.now() - t0;
        clearTimeout(timer);
        release();
      }
    },
    stats: () => ({
      submitted,
      completed,
      workerFailures,
      running,
      queued: waiting.length,
      busySeconds: busyMs / 1000,
      wallSeconds: (performance.now() - created) / 1000,
    }),
    async close() {
      if (closed) return;
      closed = true;
      await piscina.destroy();
    },
  };
}
