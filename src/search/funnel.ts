/**
 * The paper's selection funnel: the best distinct candidates of a search are re-evaluated on larger
 * task variants (fidelity x10, then x100) and advance only while they beat the baseline program there.
 * Search fitness and funnel fitness are kept side by side, so meta-overfitting shows.
 */

export interface FunnelCandidate {
  readonly programId: number;
  /** Structural hash: candidates with the same hash are the same program. */
  readonly hash: string;
  readonly searchFitness: number;
}

export interface FunnelResult {
  readonly programId: number;
  readonly fidelity: number;
  readonly fitness: number;
  readonly baselineFitness: number;
  readonly beatBaseline: boolean;
}

export interface FunnelOptions {
  /** Fidelities of the stages, in order (the paper: 10 and 100 times the proxy). */
  readonly fidelities: readonly number[];
  /** How many distinct candidates enter the first stage. */
  readonly entrants: number;
}

export interface FunnelHooks {
  /** Fitness of a program at a fidelity (same normalisation as the search). */
  evaluate(programId: number, fidelity: number): Promise<number>;
  /** Fitness of the baseline program at a fidelity. */
  baseline(fidelity: number): Promise<number>;
  record(result: FunnelResult): void;
  shouldStop?(): boolean;
}

/** The best `entrants` candidates with distinct hashes, fittest first (ties: lower id first). */
export function selectEntrants(candidates: readonly FunnelCandidate[], entrants: number): FunnelCandidate[] {
  const sorted = [...candidates]
    .filter((c) => Number.isFinite(c.searchFitness))
    .sort((a, b) => b.searchFitness - a.searchFitness || a.programId - b.programId);
  const seen = new Set<string>();
  const out: FunnelCandidate[] = [];
  for (const c of sorted) {
    if (seen.has(c.hash)) continue;
    seen.add(c.hash);
    out.push(c);
    if (out.length >= entrants) break;
  }
  return out;
}

/** Runs the stages; returns the candidates that beat the baseline at every stage (the finalists). */
export async function runFunnel(candidates: readonly FunnelCandidate[], opts: FunnelOptions, hooks: FunnelHooks): Promise<FunnelCandidate[]> {
  let alive = selectEntrants(candidates, opts.entrants);
  for (const fidelity of opts.fidelities) {
    if (alive.length === 0 || hooks.shouldStop?.()) break;
    const base = await hooks.baseline(fidelity);
    const next: FunnelCandidate[] = [];
    for (const c of alive) {
      if (hooks.shouldStop?.()) break;
      const fitness = await hooks.evaluate(c.programId, fidelity);
      const beatBaseline = Number.isFinite(fitness) && fitness > base;
      hooks.record({ programId: c.programId, fidelity, fitness, baselineFitness: base, beatBaseline });
      if (beatBaseline) next.push(c);
    }
    alive = next;
  }
  return alive;
}
