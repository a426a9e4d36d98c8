/** What the engine's trainers share: the job, lane groups, and replaying recorded steps into the monitors. */
import type { RunMonitor } from '../tasks/monitor.ts';
import type { BatchRun, Fidelity, TaskSpec } from '../vocabulary/index.ts';

export interface SimdJob {
  /** The program as written (unscaled); each run scales its update by its lr multiplier. */
  readonly programText: string;
  /** The task already resolved at its fidelity (atFidelity). */
  readonly spec: TaskSpec;
  readonly fidelity: Fidelity;
  readonly runs: readonly BatchRun[];
  readonly timeLimitSeconds?: number;
}

/** Runs per lane group: the four lanes of an f32x4. */
export const LANES = 4;

/** Runs grouped by four; a short last group repeats its last run in the spare lanes. */
export function laneGroups(count: number): number[][] {
  const groups: number[][] = [];
  for (let first = 0; first < count; first += LANES) {
    const g = Array.from({ length: Math.min(LANES, count - first) }, (_, k) => first + k);
    while (g.length < LANES) g.push(g[g.length - 1] as number);
    groups.push(g);
  }
  return groups;
}

/** Each step's training loss and update check for the runs of a group still going. */
export function replaySteps(monitors: readonly RunMonitor[], group: readonly number[], active: boolean[], t0: number, t1: number, loss: (s: number, lane: number) => number, finite: (s: number, lane: number) => boolean): void {
  for (let lane = 0; lane < LANES; lane++) {
    const run = group[lane] as number;
    if (group.indexOf(run) !== lane || !active[run]) continue;
    const m = monitors[run] as RunMonitor;
    for (let t = t0; t < t1; t++) {
      const steps = (m.steps = t + 1);
      if (!m.trainLoss(steps, loss(t - t0, lane))) break;
      if (!finite(t - t0, lane)) {
        m.stop('diverged', `the update is not finite at step ${steps}`);
        break;
      }
    }
    if (m.status !== 'ok') active[run] = false;
  }
}

