import { describe, expect, it } from 'vitest';
import { runFunnel, selectEntrants, type FunnelCandidate, type FunnelResult } from '../../src/search/funnel.ts';

const cands: FunnelCandidate[] = [
  { programId: 1, hash: 'a', searchFitness: 0.9 },
  { programId: 2, hash: 'a', searchFitness: 0.95 }, // same program as 1 by hash, fitter copy
  { programId: 3, hash: 'b', searchFitness: 0.8 },
  { programId: 4, hash: 'c', searchFitness: Number.NaN },
  { programId: 5, hash: 'd', searchFitness: 0.7 },
  { programId: 6, hash: 'e', searchFitness: 0.1 },
];

describe('selection funnel', () => {
  it('enters the best distinct candidates, skipping non-finite fitness', () => {
    expect(selectEntrants(cands, 3).map((c) => c.programId)).toEqual([2, 3, 5]);
  });

  it('advances only candidates that beat the baseline at each fidelity', async () => {
    // fitness at a fidelity: program 2 generalises, 3 beats the baseline only at x10, 5 never.
    const table: Record<number, Record<number, number>> = {
      2: { 10: 1.2, 100: 1.1 },
      3: { 10: 1.05, 100: 0.9 },
      5: { 10: 0.5, 100: 2 },
    };
    const log: FunnelResult[] = [];
    const finalists = await runFunnel(cands, { fidelities: [10, 100], entrants: 3 }, {
      evaluate: async (id, f) => table[id]![f]!,
      baseline: async () => 1,
      record: (r) => log.push(r),
    });
    expect(finalists.map((c) => c.programId)).toEqual([2]);
    // 5 was never evaluated at x100 since it failed at x10
    expect(log.map((r) => [r.programId, r.fidelity, r.beatBaseline])).toEqual([
      [2, 10, true], [3, 10, true], [5, 10, false], [2, 100, true], [3, 100, false],
    ]);
  });
});
