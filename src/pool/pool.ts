/**
 * A piscina pool of evaluation workers (one single-threaded tfjs instance each; platform.md 4).
 *
 * At most `size` jobs are handed to piscina at once, so a job's timer starts when it starts running.
 * A job that exceeds its hard timeout is aborted (piscina terminates that worker and starts a new
 * one); a worker that throws, exits or runs out of memory yields a 'failed' result with the reason,
 * and the pool goes on with a replacement.
 */
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { failedResult, resolveJobSpec } from '../proxy/job.ts';
import { atFidelity } from '../tasks/spec.ts';
import type { EvalJob, TrainResult } from '../vocabulary/index.ts';

export const DEFAULT_WORKER = join(dirname(fileURLToPath(import.meta.url)), 'worker.ts');

export interface PoolOptions {
  /** Number of workers (default: number of cores). */
  readonly size?: number;
  /** Worker module (default: src/pool/worker.ts). */
  readonly filename?: string;
  /**
   * Hard limit per evaluation, seconds. Default: the task's own wall-clock limit (at the job's
   * fidelity) times 1.5 plus 20 s for worker start-up; the trainer's own limit normally stops first.
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
}

export interface EvaluationPool {
  readonly size: number;
  /** Never rejects; `timeoutSeconds` overrides the pool's hard limit for this job. */
  evaluate(job: EvalJob, opts?: { timeoutSeconds?: number }): Promise<TrainResult>;
  stats(): PoolStats;
  close(): Promise<void>;
}

function hardTimeoutSeconds(job: EvalJob, fallback: number): number {
  try {
    const spec = atFidelity(resolveJobSpec(job), job.fidelity);
    return (job.timeLimitSeconds ?? spec.hurdles.timeLimitSeconds) * 1.5 + 20;
  } catch {
    return fallback; // the worker reports the bad task itself
  }
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
  let running = 0;
  const waiting: (() => void)[] = [];
  let submitted = 0;
  let completed = 0;
  let workerFailures = 0;
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
    async evaluate(job, jobOpts) {
      if (closed) return failedResult(job, 'evaluation pool is closed');
      submitted++;
      await acquire();
      const limit = jobOpts?.timeoutSeconds ?? opts.timeoutSeconds ?? hardTimeoutSeconds(job, 120);
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), limit * 1000);
      const t0 = performance.now();
      try {
        const r = (await piscina.run(job, { signal: controller.signal })) as TrainResult;
        completed++;
        return r;
      } catch (e) {
        workerFailures++;
        completed++;
        const seconds = (performance.now() - t0) / 1000;
        if (controller.signal.aborted) return failedResult(job, `worker stopped after the hard limit of ${limit.toFixed(0)} s`, 'timeout', seconds);
        const m = e instanceof Error ? e.message : String(e);
        return failedResult(job, `worker died: ${(m.split('\n')[0] ?? m).slice(0, 300)}`, 'failed', seconds);
      } finally {
        clearTimeout(timer);
        release();
      }
    },
    stats: () => ({ submitted, completed, workerFailures }),
    async close() {
      if (closed) return;
      closed = true;
      await piscina.destroy();
    },
  };
}
