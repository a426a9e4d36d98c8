/**
 * The queue's names in Redis and the registry of workers: each worker refreshes a key of its own
 * (host, pid, backend, concurrency, jobs done, busy seconds) that expires when it stops, so the
 * coordinator sees who is connected and how fast each one is without comparing machine clocks.
 */
import type { Redis } from 'ioredis';

/** BullMQ's key prefix and queue name: every key of this project starts with `optsearch:batch-jobs:`. */
export const QUEUE_PREFIX = 'optsearch';
export const QUEUE_NAME = 'batch-jobs';

/** A job whose worker renews no lock for this long is taken over by another worker (BullMQ's lockDuration). */
export const DEFAULT_STALL_TIMEOUT_SECONDS = 30;

/** How often a worker refreshes its entry; the entry expires after three missed refreshes. */
export const HEARTBEAT_MS = 2_000;

export interface WorkerInfo {
  /** host/pid/random: unique per worker process. */
  readonly id: string;
  readonly host: string;
  readonly pid: number;
  /** What the worker trains 'auto' jobs on ('auto': the engine's own choice on that machine). */
  readonly backend: string;
  readonly concurrency: number;
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  /** Jobs finished (with results), runs in them, jobs given up on this worker, jobs running now. */
  readonly jobs: number;
  readonly runs: number;
  readonly failedJobs: number;
  readonly active: number;
  /** Seconds the worker's pool spent on jobs. */
  readonly busySeconds: number;
}

const setKey = (): string => `${QUEUE_PREFIX}:${QUEUE_NAME}:workers`;
const workerKey = (id: string): string => `${QUEUE_PREFIX}:${QUEUE_NAME}:worker:${id}`;

export async function writeHeartbeat(client: Redis, info: WorkerInfo, ttlMs = 3 * HEARTBEAT_MS): Promise<void> {
  await client.multi().set(workerKey(info.id), JSON.stringify(info), 'PX', ttlMs).sadd(setKey(), info.id).exec();
}

export async function removeWorker(client: Redis, id: string): Promise<void> {
  await client.multi().del(workerKey(id)).srem(setKey(), id).exec();
}

/** The workers whose entry has not expired, by id; expired ids are dropped from the set. */
export async function listWorkers(client: Redis): Promise<WorkerInfo[]> {
  const ids = (await client.smembers(setKey())).sort();
  if (ids.length === 0) return [];
  const values = await client.mget(ids.map(workerKey));
  const out: WorkerInfo[] = [];
  const gone: string[] = [];
  ids.forEach((id, i) => {
    const v = values[i];
    if (v === null || v === undefined) gone.push(id);
    else {
      try {
        out.push(JSON.parse(v) as WorkerInfo);
      } catch {
        gone.push(id);
      }
    }
  });
  if (gone.length > 0) await client.srem(setKey(), ...gone);
  return out;
}

/** "host/pid" for messages. */
export function workerName(w: Pick<WorkerInfo, 'host' | 'pid'>): string {
  return `${w.host}/${w.pid}`;
}
