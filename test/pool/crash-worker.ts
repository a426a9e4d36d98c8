/**
 * Test worker: the real worker, plus jobs that misbehave on purpose (selected by programText),
 * to check that the pool survives them.
 */
import evaluate from '../../src/pool/worker.ts';
import type { BatchJob, TrainResult } from '../../src/vocabulary/index.ts';

const hoard: unknown[] = [];

export default async function crashOrEvaluate(job: BatchJob): Promise<TrainResult[]> {
  switch (job.programText) {
    case '#exit':
      process.exit(3);
      break;
    case '#throw':
      throw new Error('deliberate crash inside the worker');
    case '#hang':
      for (;;) {
        // busy forever: only the pool's hard timeout ends this
      }
    case '#oom':
      for (;;) hoard.push(new Array(1_000_000).fill(Math.PI));
  }
  return evaluate(job);
}
