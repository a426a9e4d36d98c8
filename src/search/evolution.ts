/**
 * Regularized (aging) evolution over programs: a tournament of T members drawn at random, the
 * fittest one's mutated copy joins the population, the oldest member dies.
 *
 * Two schedules:
 * - steady state (default): up to `parallelism` trainings in flight; a child joins when its
 *   evaluation finishes. Fastest, but the order of arrivals depends on timing.
 * - deterministic: children are made in fixed batches of `parallelism`, trained together, and join
 *   in the order they were made, so one seed gives the same run program for program.
 *
 * Everything stateful goes through the hooks (persisted by the caller in one transaction per
 * arrival), so a search can stop at any moment and resume from the last arrival.
 */
import type { Program } from '../dsl/ast.ts';
import type { Rng } from '../util/rng.ts';
import type { CacheTier } from '../vocabulary/index.ts';

export interface Member {
  readonly programId: number;
  readonly fitness: number;
  /** Order of arrival in this run (0 = the warm start). */
  readonly birth: number;
}

export interface Child {
  readonly program: Program;
  readonly parent: Member;
  readonly mutation: string;
  readonly detail: string;
}

/** What evaluation of a child produced: trained now, or answered by a cache tier. */
export interface Scored {
  readonly programId: number;
  readonly fitness: number;
  readonly source: 'trained' | CacheTier;
  /**
   * Set when the child was screened on part of its suite first. A child that stopped there has no
   * full fitness: it is recorded but does not join the population (its partial score is never
   * compared with full fitness).
   */
  readonly screen?: { readonly passed: boolean; readonly fitness: number; readonly threshold: number };
}

export interface EvolutionCounters {
  /** Children made by mutation (every one, cached or trained). */
  generated: number;
  /** Children whose evaluation needed training (those stopped at the screen included). */
  trained: number;
  /** Children stopped at the screen (trained on part of their suite, not in the population). */
  screened: number;
  /** Restarts from the best program so far. */
  restarts: number;
  /** Arrivals since the best fitness last improved. */
  sinceImprovement: number;
}

export interface EvolutionState {
  population: Member[];
  best: Member;
  counters: EvolutionCounters;
  nextBirth: number;
}

export interface EvolutionOptions {
  readonly populationSize: number;
  readonly tournamentSize: number;
  readonly parallelism: number;
  readonly deterministic: boolean;
  /** Stop once this many children have been trained (cache hits do not count). */
  readonly budget: number;
  /** Safety stop on children made, so a search answered only by the cache still ends. */
  readonly maxGenerated: number;
  /** Restart from the best program after this many arrivals without improvement (0 = never). */
  readonly restartAfter: number;
}

export interface EvolutionHooks {
  readonly rng: Rng;
  /** Mutate a copy of the parent's program; returns undefined when no valid child could be made. */
  makeChild(parent: Member, rng: Rng): Child | undefined;
  /** A cache answer for the child, or undefined when it needs training. Synchronous and cheap. */
  lookup(child: Child): Scored | undefined;
  /** Train the child (on the pool). Never rejects: failures come back as low fitness. */
  train(child: Child): Promise<Scored>;
  /** Persist one arrival with the new state (one transaction). */
  onArrival(child: Child, scored: Scored, state: EvolutionState, died: Member | undefined): void;
  /** Persist a restart. */
  onRestart?(state: EvolutionState): void;
  /** True when the search should stop early (interrupt, time limit). */
  shouldStop(): boolean;
}

/** The initial state: `populationSize` copies of the warm-start member (the paper's warm start). */
export function initialState(warm: { programId: number; fitness: number }, populationSize: number): EvolutionState {
  const first: Member = { programId: warm.programId, fitness: warm.fitness, birth: 0 };
  return {
    population: Array.from({ length: populationSize }, () => first),
    best: first,
    counters: { generated: 0, trained: 0, screened: 0, restarts: 0, sinceImprovement: 0 },
    nextBirth: 1,
  };
}

/** Tournament: T members drawn uniformly with replacement; the fittest wins (earliest on ties). */
export function tournament(population: readonly Member[], size: number, rng: Rng): Member {
  let winner: Member | undefined;
  for (let i = 0; i < size; i++) {
    const m = population[rng.int(population.length)] as Member;
    if (!winner || m.fitness > winner.fitness) winner = m;
  }
  return winner as Member;
}

/** Add a child (as the youngest) and remove the oldest member. Returns the one that died. */
export function arrive(state: EvolutionState, scored: Scored): Member | undefined {
  const member: Member = { programId: scored.programId, fitness: scored.fitness, birth: state.nextBirth++ };
  state.population.push(member);
  const died = state.population.shift();
  if (member.fitness > state.best.fitness) {
    state.best = member;
    state.counters.sinceImprovement = 0;
  } else {
    state.counters.sinceImprovement++;
  }
  return died;
}

function restart(state: EvolutionState, size: number): void {
  const best = state.best;
  state.population = Array.from({ length: size }, () => best);
  state.counters.restarts++;
  state.counters.sinceImprovement = 0;
}

function finiteOr(x: number, fallback: number): number {
  return Number.isFinite(x) ? x : fallback;
}

export async function evolve(state: EvolutionState, opts: EvolutionOptions, hooks: EvolutionHooks): Promise<EvolutionState> {
  /** Trainings started and not yet arrived; they count against the budget. */
  let pending = 0;
  const done = (): boolean =>
    hooks.shouldStop() || state.counters.trained + pending >= opts.budget || state.counters.generated >= opts.maxGenerated;

  const settle = (child: Child, scored: Scored): void => {
    const s: Scored = { ...scored, fitness: finiteOr(scored.fitness, -Infinity) };
    if (s.source === 'trained') state.counters.trained++;
    let died: Member | undefined;
    if (s.screen && !s.screen.passed) {
      state.nextBirth++;
      state.counters.screened++;
      state.counters.sinceImprovement++;
    } else {
      died = arrive(state, s);
    }
    hooks.onArrival(child, s, state, died);
    if (opts.restartAfter > 0 && state.counters.sinceImprovement >= opts.restartAfter) {
      restart(state, opts.populationSize);
      hooks.onRestart?.(state);
    }
  };

  /** Make children until one needs training; cache hits arrive at once. */
  const nextToTrain = (): Child | undefined => {
    while (!done()) {
      const parent = tournament(state.population, opts.tournamentSize, hooks.rng);
      const child = hooks.makeChild(parent, hooks.rng);
      state.counters.generated++;
      if (!child) continue;
      const hit = hooks.lookup(child);
      if (hit) {
        settle(child, hit);
        continue;
      }
      return child;
    }
    return undefined;
  };

  if (opts.deterministic) {
    while (!done()) {
      const batch: Child[] = [];
      while (batch.length < opts.parallelism) {
        const c = nextToTrain();
        if (!c) break;
        batch.push(c);
        pending++;
      }
      if (batch.length === 0) break;
      const results = await Promise.all(batch.map((c) => hooks.train(c)));
      pending = 0;
      batch.forEach((c, i) => settle(c, results[i] as Scored));
    }
    return state;
  }

  const inFlight = new Set<Promise<void>>();
  for (;;) {
    while (inFlight.size < opts.parallelism) {
      const c = nextToTrain();
      if (!c) break;
      pending++;
      const p: Promise<void> = hooks.train(c).then((scored) => {
        inFlight.delete(p);
        pending--;
        settle(c, scored);
      });
      inFlight.add(p);
    }
    if (inFlight.size === 0) break;
    await Promise.race(inFlight);
  }
  return state;
}
