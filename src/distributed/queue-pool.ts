/**
 * The evaluation pool of a coordinator whose workers are elsewhere: `run(job)` puts the batch job
 * on a BullMQ queue in Redis and resolves with the results a queue worker returns. It implements
 * EvaluationPool, so the search, the evaluator, the cache and the store do not know which
 * transport runs.
 *
 * A queue job's id is derived from the batch job's content and a namespace (the run that sends
 * it), so sending the same job twice, or again after a restart, is one queue entry trained once.
 * Results stay in Redis under that id until this coordinator has delivered them (and for a week
 * when it never does): a coordinator killed mid-search and resumed finds the results that arrived
 * meanwhile before sending anything again. Completion events arrive through QueueEvents; a
 * periodic check of every job still awaited covers events missed while Redis was away and sends
 * again any job that Redis lost (a restart without persistence).
 */
import { hostname } from 'node:os';
import { Job, Queue, QueueEvents } from 'bullmq';
import { failedBatch } from '../proxy/job.ts';
import type { EvaluationPool, PoolStats } from '../pool/pool.ts';
import type { BatchJob, TrainResult } from '../vocabulary/index.ts';
import { batchJobId, decodeResult, type QueueJobData } from './codec.ts';
import { clientOptions, createClient, probeRedis, settingWarnings, type ConnectOptions, type RedisTarget, type ServerInfo } from './connection.ts';
import { HEARTBEAT_MS, listWorkers, QUEUE_NAME, QUEUE_PREFIX, workerName, type WorkerInfo } from './registry.ts';

export interface QueuePoolOptions {
  readonly target: RedisTarget;
  readonly connect?: ConnectOptions;
  /** The search's parallelism (its --workers): what the runner and the evaluator plan for. */
  readonly size: number;
  /** Namespace of job ids until setNamespace is called (default: this process). */
  readonly namespace?: string;
  /** Tries of a job whose worker thread dies before it is recorded as failed. */
  readonly attempts?: number;
  /** How long Redis keeps a result no coordinator has collected, seconds (default a week). */
  readonly retainSeconds?: number;
  /** Seconds after delivery when a result is removed from Redis (the caller recorded it long before). */
  readonly forgetDeliveredSeconds?: number;
  /** Lines for the user: connection lost and back, workers joining and leaving, no worker connected. */
  readonly notice?: (line: string) => void;
  /** Period of the check of awaited jobs, ms. */
  readonly reconcileMs?: number;
  /** Period of the look at the worker registry, ms. */
  readonly workersMs?: number;
  /** How long "no worker is connected" waits before it is said, and between repeats, ms. */
  readonly idleNoticeMs?: number;
}

export interface QueueCounters {
  /** Results found already in Redis (sent by an earlier coordinator) instead of being sent again. */
  readonly pickedUp: number;
  /** Jobs found waiting or running in Redis when sent: adopted, not sent twice. */
  readonly adopted: number;
  /** Jobs Redis had lost, sent again. */
  readonly resent: number;
  /** run() calls that joined a job already awaited by this pool. */
  readonly shared: number;
  /** Jobs that failed on every attempt. */
  readonly failedJobs: number;
}

export interface QueuePool extends EvaluationPool {
  readonly target: RedisTarget;
  readonly server: ServerInfo;
  /** Job ids from now on belong to this namespace (the run being searched). */
  setNamespace(ns: string): void;
  namespace(): string;
  /** The workers seen at the last look at the registry. */
  workers(): readonly WorkerInfo[];
  /** Looks at the registry now (workers() is otherwise at most a heartbeat old). */
  refreshWorkers(): Promise<readonly WorkerInfo[]>;
  /** Jobs completed per second over the last minute. */
  jobsPerSecond(): number;
  counters(): QueueCounters;
}

interface Pending {
  readonly job: BatchJob;
  readonly promise: Promise<TrainResult[]>;
  resolve(r: TrainResult[]): void;
  state: 'sending' | 'queued' | 'active';
}

export const DEFAULT_ATTEMPTS = 3;
const WEEK_SECONDS = 7 * 24 * 3600;

/** A pause that does not keep the process alive (a bound on how long closing waits for Redis). */
function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n')[0] ?? m).slice(0, 300);
}

function failureReason(reason: string, attempts: number): string {
  if (/stalled more than allowable limit/i.test(reason)) return `every worker that took this job stopped during it (killed or out of memory), ${attempts} times`;
  return `failed on all ${attempts} attempts: ${reason}`;
}

export async function createQueuePool(opts: QueuePoolOptions): Promise<QueuePool> {
  const notice = opts.notice ?? (() => {});
  const server = await probeRedis(opts.target, opts.connect);
  for (const w of settingWarnings(opts.target, server)) notice(`warning: ${w}`);
  const size = Math.max(1, Math.floor(opts.size));
  const attempts = Math.max(1, Math.floor(opts.attempts ?? DEFAULT_ATTEMPTS));
  const retain = opts.retainSeconds ?? WEEK_SECONDS;
  const display = opts.target.display;
  let ns = opts.namespace ?? `process-${hostname()}-${process.pid}-${Date.now()}`;

  const client = createClient(opts.target, opts.connect);
  client.on('error', () => {});
  const connection = clientOptions(opts.target, opts.connect);
  const queue = new Queue<QueueJobData, string>(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX });
  queue.on('error', () => {});
  // Events from the stream's present end: nothing between this point and the first read is missed.
  const eventsKey = `${QUEUE_PREFIX}:${QUEUE_NAME}:events`;
  const tail = (await client.xrevrange(eventsKey, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
  const events = new QueueEvents(QUEUE_NAME, { connection, prefix: QUEUE_PREFIX, lastEventId: tail, blockingTimeout: 5_000 });
  events.on('error', () => {});
  await events.waitUntilReady();

  const pending = new Map<string, Pending>();
  /** Jobs whose results were handed to the caller (recorded by it at once): removed from Redis after a while and at close. */
  const delivered: { id: string; at: number }[] = [];
  const completions: number[] = [];
  const counts = { pickedUp: 0, adopted: 0, resent: 0, shared: 0, failedJobs: 0 };
  let submitted = 0;
  let completed = 0;
  let busySeconds = 0;
  const created = performance.now();
  let closed = false;
  let workers: WorkerInfo[] = [];

  const deliver = (id: string, results: TrainResult[], seconds: number): void => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    completed++;
    busySeconds += seconds;
    completions.push(performance.now());
    delivered.push({ id, at: performance.now() });
    p.resolve(results);
  };

  const settleCompleted = (id: string, returnvalue: unknown): void => {
    const p = pending.get(id);
    if (!p) return;
    try {
      const r = decodeResult(String(returnvalue));
      if (r.results.length !== p.job.runs.length) throw new Error(`${r.results.length} results for ${p.job.runs.length} runs`);
      deliver(id, [...r.results], r.seconds);
    } catch (e) {
      deliver(id, failedBatch(p.job, `unreadable result from a queue worker: ${firstLine(e)}`), 0);
    }
  };

  const settleFailed = (id: string, reason: string): void => {
    const p = pending.get(id);
    if (!p) return;
    counts.failedJobs++;
    deliver(id, failedBatch(p.job, failureReason(reason, attempts)), 0);
  };

  events.on('completed', ({ jobId, returnvalue }) => settleCompleted(jobId, returnvalue));
  events.on('failed', ({ jobId, failedReason }) => settleFailed(jobId, failedReason));
  events.on('active', ({ jobId }) => {
    const p = pending.get(jobId);
    if (p) p.state = 'active';
  });

  const jobName = (job: BatchJob): string => `${typeof job.task === 'string' ? job.task : job.task?.name}@x${job.fidelity}`;

  const add = (id: string, job: BatchJob): Promise<unknown> =>
    queue.add(jobName(job), { ns, job }, {
      jobId: id,
      attempts,
      backoff: { type: 'fixed', delay: 500 },
      removeOnComplete: { age: retain },
      removeOnFail: { age: retain },
    });

  /** Looks the job up in Redis: a finished one is settled, an unknown one sent; true when it had to be sent again. */
  const check = async (id: string, p: Pending, first: boolean): Promise<boolean> => {
    const state = await queue.getJobState(id);
    if (state === 'completed' || state === 'failed') {
      const j = await Job.fromId<QueueJobData, string>(queue, id);
      if (!j) return false; // removed just now: the next check sends it again
      if (first) counts.pickedUp++;
      if (state === 'completed') settleCompleted(id, j.returnvalue);
      else settleFailed(id, j.failedReason ?? 'failed');
      return false;
    }
    if (state === 'unknown') {
      await add(id, p.job);
      if (p.state === 'sending') p.state = 'queued';
      if (!first) counts.resent++;
      return !first;
    }
    if (first) counts.adopted++;
    if (p.state === 'sending') p.state = state === 'active' ? 'active' : 'queued';
    return false;
  };

  const send = (id: string, p: Pending): void => {
    check(id, p, true).catch(() => {
      // Redis is away (commands wait for it) or refused: the periodic check tries again
      if (p.state === 'sending') p.state = 'queued';
    });
  };

  let checking = false;
  const reconcile = async (): Promise<void> => {
    if (checking || closed) return;
    checking = true;
    let resent = 0;
    try {
      for (const [id, p] of [...pending]) {
        if (p.state === 'sending' || !pending.has(id)) continue;
        if (await check(id, p, false)) resent++;
      }
    } catch {
      // the next period tries again
    } finally {
      checking = false;
      if (resent > 0) notice(`redis at ${display} no longer had ${resent} jobs this search awaits (restarted without persistence?); sent them again`);
    }
  };

  // Connection state, said once per change.
  let connected = true;
  client.on('close', () => {
    if (connected && !closed) notice(`redis at ${display}: connection lost; waiting for it to come back (nothing is lost: jobs and results are kept in redis)`);
    connected = false;
  });
  client.on('ready', () => {
    if (!connected && !closed) {
      notice(`redis at ${display}: reconnected`);
      void reconcile();
    }
    connected = true;
  });

  // Workers: joined, left, none at all while jobs wait.
  let lastIdleNotice = -Infinity;
  let idleSince: number | undefined;
  let saidConcurrency = false;
  let looking = false;
  const idleNoticeMs = opts.idleNoticeMs ?? 5_000;
  let first = true; // the workers already there are summed up by the caller, not announced one by one
  const lookAtWorkers = async (): Promise<void> => {
    if (looking || closed || !connected) return;
    looking = true;
    try {
      const now = await listWorkers(client);
      const before = new Map(workers.map((w) => [w.id, w]));
      const after = new Map(now.map((w) => [w.id, w]));
      for (const w of now) if (!before.has(w.id) && !first) notice(`redis: worker ${workerName(w)} connected (backend ${w.backend}, concurrency ${w.concurrency})`);
      for (const w of workers) if (!after.has(w.id)) notice(`redis: worker ${workerName(w)} left (${w.jobs} jobs done)`);
      workers = now;
      first = false;
      const t = performance.now();
      if (now.length > 0 || pending.size === 0) idleSince = undefined;
      else {
        idleSince ??= t;
        if (t - idleSince >= idleNoticeMs && t - lastIdleNotice >= Math.max(30_000, idleNoticeMs)) {
          lastIdleNotice = t;
          notice(`no worker is connected to ${display}: ${pending.size} batch jobs are waiting in the queue; start one with: optsearch worker --redis ${display}`);
        }
      }
      const concurrency = now.reduce((s, w) => s + w.concurrency, 0);
      if (!saidConcurrency && concurrency > size) {
        saidConcurrency = true;
        notice(`redis: the connected workers take ${concurrency} jobs at a time but this search plans for --workers ${size}; pass --workers ${concurrency} to keep them all busy`);
      }
    } catch {
      // Redis away: the connection notice says so
    } finally {
      looking = false;
    }
  };
  const forget = async (ids: readonly string[]): Promise<void> => {
    for (let i = 0; i < ids.length; i += 200) await Promise.all(ids.slice(i, i + 200).map((id) => queue.remove(id).catch(() => 0)));
  };
  const forgetMs = (opts.forgetDeliveredSeconds ?? 600) * 1000;
  const prune = (): void => {
    if (!connected) return;
    const t = performance.now();
    let n = 0;
    while (n < delivered.length && t - (delivered[n] as { at: number }).at > forgetMs) n++;
    if (n > 0) void forget(delivered.splice(0, n).map((d) => d.id));
  };
  await lookAtWorkers();
  const pruneTimer = setInterval(prune, 60_000);
  const reconcileTimer = setInterval(() => void reconcile(), opts.reconcileMs ?? 5_000);
  const workersTimer = setInterval(() => void lookAtWorkers(), opts.workersMs ?? HEARTBEAT_MS);

  return {
    size,
    target: opts.target,
    server,
    setNamespace(next) {
      ns = next;
    },
    namespace: () => ns,
    workers: () => workers,
    async refreshWorkers() {
      await lookAtWorkers();
      return workers;
    },
    jobsPerSecond() {
      const t = performance.now();
      while (completions.length > 0 && (completions[0] as number) < t - 60_000) completions.shift();
      const span = Math.min(60, (t - created) / 1000);
      return span > 0 ? completions.length / span : 0;
    },
    counters: () => ({ ...counts }),
    run(job) {
      if (closed) return Promise.resolve(failedBatch(job, 'the queue pool is closed'));
      let id: string;
      try {
        id = batchJobId(ns, job);
      } catch (e) {
        return Promise.resolve(failedBatch(job ?? {}, `batch job cannot be sent: ${firstLine(e)}`));
      }
      const existing = pending.get(id);
      if (existing) {
        counts.shared++;
        return existing.promise.then((r) => r.map((x) => ({ ...x })));
      }
      submitted++;
      let resolve!: (r: TrainResult[]) => void;
      const promise = new Promise<TrainResult[]>((r) => (resolve = r));
      const p: Pending = { job, promise, resolve, state: 'sending' };
      pending.set(id, p);
      send(id, p);
      return promise;
    },
    stats(): PoolStats {
      let running = 0;
      for (const p of pending.values()) if (p.state === 'active') running++;
      return {
        submitted,
        completed,
        workerFailures: counts.failedJobs,
        running,
        queued: pending.size - running,
        busySeconds,
        wallSeconds: (performance.now() - created) / 1000,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(reconcileTimer);
      clearInterval(pruneTimer);
      clearInterval(workersTimer);
      // Jobs still awaited are left unsettled, not failed: a failed result would be recorded, while
      // the job finishes in Redis and a resume picks its result up.
      pending.clear();
      // Delivered results were recorded by the caller: Redis need not keep them. Best effort.
      const cleanup = connected ? forget(delivered.splice(0).map((d) => d.id)) : Promise.resolve();
      await Promise.race([cleanup, delay(5_000)]);
      await Promise.race([Promise.allSettled([events.close(), queue.close()]), delay(5_000)]);
      client.disconnect();
    },
  };
}
