/**
 * What travels through Redis: a batch job's id (derived from its content and the namespace of
 * the run that sends it, so a retried or duplicated job is the same queue entry), and results
 * encoded so that they come back exactly as a local worker returns them (JSON alone would turn
 * NaN and Infinity into null).
 */
import { createHash } from 'node:crypto';
import type { BatchJob, TrainResult } from '../vocabulary/index.ts';

/** JSON with object keys sorted at every level: the same job gives the same text in any process. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

/**
 * The queue id of a batch job sent under a namespace (a run, or one process for work outside
 * any run). Hex only: BullMQ ids must not be plain integers nor contain ':'.
 */
export function batchJobId(namespace: string, job: BatchJob): string {
  return 'b' + createHash('sha256').update(namespace).update('\n').update(canonicalJson(job)).digest('hex').slice(0, 40);
}

/** What a queue job carries: the namespace (for inspection and clean-up) and the batch job itself. */
export interface QueueJobData {
  readonly ns: string;
  readonly job: BatchJob;
}

/** Who trained a job, sent back with its results. */
export interface WorkerStamp {
  readonly worker: string;
  readonly host: string;
  readonly backend: string;
  /** Seconds the job spent in the worker's pool. */
  readonly seconds: number;
}

export interface QueueJobResult extends WorkerStamp {
  readonly results: readonly TrainResult[];
}

const NON_FINITE = '__nonfinite';

/** Results as a string: non-finite numbers become tagged objects, so decode restores them. */
export function encodeResult(r: QueueJobResult): string {
  return JSON.stringify(r, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { [NON_FINITE]: String(v) } : v));
}

export function decodeResult(text: string): QueueJobResult {
  const r = JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const tag = (v as Record<string, unknown>)[NON_FINITE];
      if (typeof tag === 'string' && Object.keys(v).length === 1) return Number(tag);
    }
    return v;
  }) as QueueJobResult;
  if (!r || !Array.isArray(r.results)) throw new Error('a queue result without results');
  return r;
}

/**
 * The namespace of a run's jobs: stable across a resume (same run, same database), distinct for
 * runs of other databases that share the Redis server.
 */
export function runNamespace(run: { readonly id: number; readonly name: string; readonly createdAt: string }): string {
  return `run-${run.id}-${run.name}-${run.createdAt}`;
}
