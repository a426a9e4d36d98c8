/**
 * A queue worker: takes batch jobs from the BullMQ queue and trains them in a local evaluation
 * pool (the same worker threads and code as a search without Redis), `concurrency` at a time.
 *
 * Training runs in the pool's threads, so this process's event loop stays free to renew job
 * locks: a job whose worker process dies loses its lock and another worker takes it after the
 * stall timeout. A pool thread that dies is a failed attempt (BullMQ retries the job up to the
 * coordinator's attempts); a run that fails on its own merits is a result like any other.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { Worker, type Job } from 'bullmq';
import { createEvaluationPool, type EvaluationPool } from '../pool/pool.ts';
import type { BatchJob, RequestedBackend, TrainResult } from '../vocabulary/index.ts';
import { encodeResult, type QueueJobData } from './codec.ts';
import { clientOptions, createClient, probeRedis, settingWarnings, type ConnectOptions, type RedisTarget } from './connection.ts';
import { DEFAULT_STALL_TIMEOUT_SECONDS, HEARTBEAT_MS, QUEUE_NAME, QUEUE_PREFIX, removeWorker, writeHeartbeat, type WorkerInfo } from './registry.ts';

export interface QueueWorkerOptions {
  readonly target: RedisTarget;
  readonly connect?: ConnectOptions;
  /** Jobs trained at once (threads of the local pool). */
  readonly concurrency: number;
  /** What 'auto' jobs train on here; jobs that name a backend train on it. */
  readonly backend?: RequestedBackend;
  /** Seconds without a lock renewal after which another worker takes a job over (BullMQ lockDuration). */
  readonly stallTimeoutSeconds?: number;
  /** Stalls a job may survive before it is failed (a job that kills every worker it reaches). */
  readonly maxStalls?: number;
  /** The pool's thread module (default: src/pool/worker.ts, as in a local search). */
  readonly filename?: string;
  /** One line per notable event (connection lost, job failed, stalled). */
  readonly log?: (line: string) => void;
  /** Also one line per finished job. */
  readonly verbose?: boolean;
  readonly heartbeatMs?: number;
}

export interface QueueWorker {
  readonly id: string;
  info(): WorkerInfo;
  /** Waits for the jobs running here (force: leaves them, to be taken over after the stall timeout). */
  close(force?: boolean): Promise<void>;
}

export { DEFAULT_STALL_TIMEOUT_SECONDS };

/** The pool's words for a thread that threw, exited or ran out of memory (src/pool/pool.ts), and for a closing pool. */
function transportFailure(results: readonly TrainResult[]): string | undefined {
  const first = results[0];
  if (!first || first.status !== 'failed') return undefined;
  if (!/^(worker died: |evaluation pool is closed)/.test(first.reason)) return undefined;
  return results.every((r) => r.reason === first.reason) ? first.reason : undefined;
}

/** A pause that does not keep the process alive (a bound on how long closing waits for Redis). */
function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n')[0] ?? m).slice(0, 300);
}

const CONNECTION_ERROR = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed|connect|closed|socket/i;

export async function startQueueWorker(opts: QueueWorkerOptions): Promise<QueueWorker> {
  const log = opts.log ?? (() => {});
  const info0 = await probeRedis(opts.target, opts.connect);
  for (const w of settingWarnings(opts.target, info0)) log(`warning: ${w}`);
  const backend = opts.backend ?? 'auto';
  const concurrency = Math.max(1, Math.floor(opts.concurrency));
  const host = hostname();
  const id = `${host}/${process.pid}/${randomBytes(3).toString('hex')}`;
  const startedAt = new Date();
  const stats = { jobs: 0, runs: 0, failedJobs: 0, active: 0, busySeconds: 0 };

  const pool: EvaluationPool = createEvaluationPool({ size: concurrency, ...(opts.filename ? { filename: opts.filename } : {}) });
  const registry = createClient(opts.target, opts.connect);
  let connected = true;
  let stopping = false;
  registry.on('error', () => {});
  registry.on('close', () => {
    if (connected && !stopping) log(`redis at ${opts.target.display}: connection lost; waiting for it to come back (jobs running here go on)`);
    connected = false;
  });
  registry.on('ready', () => {
    if (!connected) log(`redis at ${opts.target.display}: reconnected`);
    connected = true;
  });

  const info = (): WorkerInfo => ({
    id,
    host,
    pid: process.pid,
    backend,
    concurrency,
    startedAt: startedAt.toISOString(),
    uptimeSeconds: (Date.now() - startedAt.getTime()) / 1000,
    ...stats,
  });

  const processor = async (job: Job<QueueJobData>): Promise<string> => {
    const data = job.data as Partial<QueueJobData> | undefined;
    const raw = (data?.job ?? {}) as BatchJob;
    const batch: BatchJob = raw.backend === 'auto' && backend !== 'auto' ? { ...raw, backend } : raw;
    const t0 = performance.now();
    stats.active++;
    let results: TrainResult[];
    try {
      results = await pool.run(batch);
    } finally {
      stats.active--;
    }
    const seconds = (performance.now() - t0) / 1000;
    stats.busySeconds += seconds;
    const failure = transportFailure(results);
    if (failure !== undefined) {
      stats.failedJobs++;
      throw new Error(failure); // BullMQ retries it, here or on another worker
    }
    stats.jobs++;
    stats.runs += results.length;
    if (Date.now() - lastBeat > 250) void beat(); // the coordinator's counts follow the work closely
    if (opts.verbose) log(`job ${job.id} done: ${results.length} runs of ${typeof raw.task === 'string' ? raw.task : raw.task?.name} in ${seconds.toFixed(2)} s (attempt ${job.attemptsMade + 1})`);
    return encodeResult({ results, worker: id, host, backend: results[0]?.backend ?? backend, seconds });
  };

  const stall = opts.stallTimeoutSeconds ?? DEFAULT_STALL_TIMEOUT_SECONDS;
  const worker = new Worker<QueueJobData, string>(QUEUE_NAME, processor, {
    connection: clientOptions(opts.target, opts.connect),
    prefix: QUEUE_PREFIX,
    name: id, // a job's processedBy names the worker that holds it
    concurrency,
    lockDuration: Math.round(stall * 1000),
    stalledInterval: Math.max(500, Math.round((stall * 1000) / 2)),
    maxStalledCount: opts.maxStalls ?? 2,
    autorun: false,
  });
  let lastError = '';
  worker.on('error', (e) => {
    const line = firstLine(e);
    // the registry client reports connection loss once; other errors once each in a row
    if (CONNECTION_ERROR.test(line) || line === lastError) return;
    lastError = line;
    log(`queue error: ${line}`);
  });
  worker.on('failed', (job, e) => {
    if (job) log(`job ${job.id} attempt ${job.attemptsMade} failed: ${firstLine(e)}`);
  });
  worker.on('stalled', (jobId) => log(`job ${jobId} stalled (its worker stopped renewing the lock); it is back in the queue`));

  let lastBeat = 0;
  const beat = async (): Promise<void> => {
    lastBeat = Date.now();
    try {
      await writeHeartbeat(registry, info(), 3 * (opts.heartbeatMs ?? HEARTBEAT_MS));
    } catch {
      // reported by the connection events; the next beat tries again
    }
  };
  await beat();
  const timer = setInterval(() => void beat(), opts.heartbeatMs ?? HEARTBEAT_MS);
  void worker.run().catch((e) => log(`queue error: ${firstLine(e)}`));
  await worker.waitUntilReady();

  let closing: Promise<void> | undefined;
  return {
    id,
    info,
    close(force = false) {
      closing ??= (async () => {
        stopping = true;
        clearInterval(timer);
        await worker.close(force);
        await pool.close();
        try {
          await Promise.race([removeWorker(registry, id), delay(2_000)]);
        } finally {
          registry.disconnect();
        }
      })();
      return closing;
    },
  };
}
