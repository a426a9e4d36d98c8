import { describe, expect, it } from 'vitest';
import type { Program } from '../../src/dsl/ast.ts';
import { Rng } from '../../src/util/rng.ts';
import {
  arrive,
  evolve,
  initialState,
  tournament,
  type Child,
  type EvolutionHooks,
  type EvolutionOptions,
  type EvolutionState,
  type Member,
  type Scored,
} from '../../src/search/evolution.ts';

// The evolution driver is tested on a toy genome: a "program" id whose fitness is a known function,
// and a mutation that moves the id by +-1. The fitness landscape has a single peak at PEAK.
const PEAK = 40;
const DUMMY: Program = { name: 'train', inputs: ['w', 'g', 'lr'], statements: [], outputs: ['g'] };
const fitnessOf = (id: number): number => -Math.abs(id - PEAK);

function toyHooks(opts: { cache?: boolean; trainLog?: number[]; stopAfter?: number; delays?: boolean }) {
  const seen = new Set<number>();
  const arrivals: { child: number; parent: number; fitness: number; source: string }[] = [];
  let calls = 0;
  const rng = new Rng(11);
  const hooks: EvolutionHooks = {
    rng,
    makeChild(parent: Member, r: Rng): Child {
      const id = parent.programId + (r.next() < 0.5 ? -1 : 1);
      return { program: { ...DUMMY, name: `p${id}` }, parent, mutation: 'step', detail: String(id) };
    },
    lookup(child: Child): Scored | undefined {
      const id = Number(child.detail);
      if (opts.cache && seen.has(id)) return { programId: id, fitness: fitnessOf(id), source: 'structural' };
      return undefined;
    },
    async train(child: Child): Promise<Scored> {
      const id = Number(child.detail);
      opts.trainLog?.push(id);
      if (opts.delays) await new Promise((r) => setTimeout(r, (id * 7) % 5));
      seen.add(id);
      return { programId: id, fitness: fitnessOf(id), source: 'trained' };
    },
    onArrival(child: Child, scored: Scored): void {
      arrivals.push({ child: scored.programId, parent: child.parent.programId, fitness: scored.fitness, source: scored.source });
    },
    shouldStop: () => opts.stopAfter !== undefined && ++calls > opts.stopAfter,
  };
  return { hooks, arrivals };
}

const base: EvolutionOptions = {
  populationSize: 10,
  tournamentSize: 3,
  parallelism: 2,
  deterministic: true,
  budget: 200,
  maxGenerated: 100_000,
  restartAfter: 0,
};

describe('regularized evolution', () => {
  it('the oldest member dies and the child joins as the youngest', () => {
    const s = initialState({ programId: 1, fitness: 0 }, 3);
    const died = arrive(s, { programId: 2, fitness: 5, source: 'trained' });
    expect(died?.birth).toBe(0);
    expect(s.population.map((m) => m.programId)).toEqual([1, 1, 2]);
    expect(s.population[2]?.birth).toBe(1);
    expect(s.best.programId).toBe(2);
    arrive(s, { programId: 3, fitness: 1, source: 'trained' });
    arrive(s, { programId: 4, fitness: 1, source: 'trained' });
    // after three arrivals none of the warm-start copies is left
    expect(s.population.map((m) => m.programId)).toEqual([2, 3, 4]);
    expect(s.counters.sinceImprovement).toBe(2);
  });

  it('the tournament picks the fittest of the drawn members', () => {
    const pop: Member[] = [0, 1, 2, 3, 4].map((i) => ({ programId: i, fitness: i, birth: i }));
    const rng = new Rng(3);
    let wins = 0;
    for (let i = 0; i < 2000; i++) if (tournament(pop, 5, rng).programId === 4) wins++;
    // P(best drawn at least once in 5 draws with replacement) = 1 - (4/5)^5 = 0.672
    expect(wins / 2000).toBeGreaterThan(0.62);
    expect(wins / 2000).toBeLessThan(0.72);
    // tournament of one is a uniform draw
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < 5000; i++) counts[tournament(pop, 1, rng).programId]!++;
    for (const c of counts) expect(c).toBeGreaterThan(850);
  });

  it('climbs the toy landscape and respects the training budget', async () => {
    const { hooks, arrivals } = toyHooks({ cache: true });
    const s = await evolve(initialState({ programId: 0, fitness: fitnessOf(0) }, 10), base, hooks);
    expect(s.counters.trained).toBeLessThanOrEqual(base.budget);
    expect(arrivals.filter((a) => a.source === 'trained').length).toBe(s.counters.trained);
    expect(s.best.programId).toBe(PEAK);
    // cache hits arrive too, and are counted as generated but not trained
    expect(s.counters.generated).toBe(arrivals.length);
    expect(s.counters.generated).toBeGreaterThan(s.counters.trained);
  });

  it('deterministic mode: one seed gives the same run, arrival for arrival, whatever the timing', async () => {
    const run = async () => {
      const { hooks, arrivals } = toyHooks({ cache: true, delays: true });
      await evolve(initialState({ programId: 0, fitness: fitnessOf(0) }, 10), { ...base, budget: 60 }, hooks);
      return arrivals;
    };
    const a = await run();
    const b = await run();
    expect(a.length).toBeGreaterThan(60);
    expect(b).toEqual(a);
  });

  it('steady state keeps at most `parallelism` trainings in flight and stops on request', async () => {
    let inFlight = 0;
    let peak = 0;
    const { hooks } = toyHooks({ stopAfter: 50 });
    const train = hooks.train;
    const wrapped: EvolutionHooks = {
      ...hooks,
      async train(c) {
        inFlight++;
        peak = Math.max(peak, inFlight);
        const r = await train(c);
        await new Promise((res) => setTimeout(res, 1));
        inFlight--;
        return r;
      },
    };
    const s: EvolutionState = await evolve(initialState({ programId: 0, fitness: -40 }, 10), { ...base, deterministic: false, parallelism: 3 }, wrapped);
    expect(peak).toBe(3);
    expect(inFlight).toBe(0);
    expect(s.counters.trained).toBeLessThan(base.budget);
  });

  it('restarts from the best program after a plateau', async () => {
    const { hooks } = toyHooks({ cache: true });
    let restarts = 0;
    const s = await evolve(
      initialState({ programId: 0, fitness: fitnessOf(0) }, 10),
      { ...base, budget: 300, restartAfter: 25 },
      { ...hooks, onRestart: (st) => { restarts++; expect(st.population.every((m) => m === st.best)).toBe(true); } },
    );
    expect(restarts).toBeGreaterThan(0);
    expect(s.counters.restarts).toBe(restarts);
  });
});
