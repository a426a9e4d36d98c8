/**
 * The piscina worker: receives a plain BatchJob, returns one plain TrainResult per run, never throws.
 * tfjs and its backend load on the first job and stay loaded for the worker's life.
 */
import { runBatchJob } from '../proxy/job.ts';
import type { BatchJob, TrainResult } from '../vocabulary/index.ts';

export default function evaluate(job: BatchJob): Promise<TrainResult[]> {
  return runBatchJob(job);
}
