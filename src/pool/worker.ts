/**
 * The piscina worker: receives a plain EvalJob, returns a plain TrainResult, never throws.
 * tfjs and its backend load on the first job and stay loaded for the worker's life.
 */
import { runEvalJob } from '../proxy/job.ts';
import type { EvalJob, TrainResult } from '../vocabulary/index.ts';

export default function evaluate(job: EvalJob): Promise<TrainResult> {
  return runEvalJob(job);
}
