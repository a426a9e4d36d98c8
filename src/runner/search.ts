/**
 * A whole search, wired: the search space and evolution (src/search), analysis of every child
 * (src/analysis), training on the worker pool (src/pool, src/proxy) and the lineage store
 * (src/store). Every arrival is one transaction (lineage, population, evolution state, random state,
 * cache counters), so a search killed at any moment resumes from its last arrival, and a finished
 * evaluation is stored before its program arrives, so nothing trained is ever lost or trained twice.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Program } from '../dsl/ast.ts';
import { parseProgram } from '../dsl/parse.ts';
import { printProgram } from '../dsl/print.ts';
import { analyze, type Analysis } from '../analysis/simplify.ts';
import { Evaluator, pairedSeeds, screenSuite, screenThreshold, type EvaluationHooks, type Suite, type TrainedRun } from '../evaluator/evaluator.ts';
import { createEvaluationPool, type EvaluationPool } from '../pool/pool.ts';
import { CACHE_TIERS, type BackendName, type Fidelity, type TaskSpec } from '../vocabulary/index.ts';
import { resolveTaskList } from '../tasks/spec.ts';
import { EvaluationCache, type CachedScore } from '../search/cache.ts';
import { evolve, initialState, type Child, type EvolutionOptions, type EvolutionState, type Member, type Scored } from '../search/evolution.ts';
import { runFunnel } from '../search/funnel.ts';
import { mutate, MutationFailure } from '../search/mutate.ts';
import { loadSearchSpace, type SearchSpace } from '../search/space.ts';
import type { Store } from '../store/db.ts';
import { acquireRunLease, assertLease, holdsLease, RunLease, type LeaseRecord } from '../store/lease.ts';
import {
  addLineage,
  addPopulationSnapshot,
  createRun,
  findEvaluation,
  getCacheCounts,
  getProgram,
  getRun,
  loadRunState,
  recordBirthDeath,
  recordEvaluation,
  recordFunnelResult,
  runIndividuals,
  saveRunState,
  setCacheCounts,
  topPrograms,
  updateRunStatus,
  upsertProgram,
  type JsonValue,
  type Run,
} from '../store/queries.ts';
import { Rng } from '../util/rng.ts';
import { ConfigError, ResumeError } from './errors.ts';

/**
 * Children in flight per worker in a steady-state search: with one batch job per candidate and task,
 * a second candidate per worker keeps a job queued for every worker that frees up.
 */
export const IN_FLIGHT_PER_WORKER = 2;

export interface SearchConfig {
  /** Space name or path, as given. */
  readonly space: string;
  /** Task list ("default", "digits-mlp,charlm"); null: the space's own. */
  readonly tasks: string | null;
  /** Trained programs (cache hits do not count). */
  readonly budget: number;
  readonly timeLimitSeconds: number | null;
  readonly workers: number;
  readonly seed: number;
  readonly deterministic: boolean;
  readonly backend: BackendName | 'auto';
  /** Funnel entrants (0 = no funnel) and the fidelities of its stages. */
  readonly funnelEntrants: number;
  readonly funnelFidelities: readonly Fidelity[];
  /** false: every child is scored on the whole suite even when the space has a screen (absent: the space's). */
  readonly screen?: boolean;
}

export interface Progress {
  readonly runId: number;
  readonly trained: number;
  readonly generated: number;
  readonly budget: number;
  readonly elapsedSeconds: number;
  readonly best: { readonly fitness: number; readonly programId: number; readonly family: string };
  readonly cache: EvaluationCache['counts'];
  /** Children stopped at the screen (0 without one). */
  readonly screened: number;
  /** Batch jobs running in the pool now. */
  readonly busyWorkers: number;
  readonly workers: number;
  /** Busy worker-seconds / (workers x wall seconds) since the pool started. */
  readonly utilization: number;
  readonly phase: 'warm-start' | 'search' | 'funnel';
}

export interface SearchHooks {
  onProgress?(p: Progress): void;
  /** Polled between arrivals; true stops the search cleanly (the run is marked interrupted). */
  shouldStop?(): boolean;
  /** Evaluator override (tests): by default a piscina pool of `workers` threads. */
  pool?: EvaluationPool;
  /** The run's lease was taken over from a holder that is gone (exited, or its heartbeat stale). */
  onTakeover?(runId: number, previous: LeaseRecord, reason: string): void;
}

export interface SearchOutcome {
  readonly run: Run;
  readonly status: 'done' | 'interrupted';
  readonly finalists: readonly number[];
}

interface PersistedState {
  readonly population: readonly Member[];
  readonly best: Member;
  readonly counters: EvolutionState['counters'];
  readonly nextBirth: number;
  readonly spaceDigest: string;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

function spaceDigest(space: SearchSpace): string {
  return digest(readFileSync(space.file, 'utf8') + '\n' + space.warmStart.text);
}

function metricsOf({ result: r, baselineLoss }: TrainedRun): { [k: string]: JsonValue } {
  return {
    initialLoss: r.initialLoss,
    finalLoss: r.finalLoss,
    metric: r.metric,
    metricName: r.metricName,
    baselineLoss,
    steps: r.steps,
    lossCurve: r.lossCurve.map(([s, l]) => [s, Number.isFinite(l) ? l : null]),
  };
}

/** Everything a search needs at run time, built once per process. */
class SearchSession {
  readonly space: SearchSpace;
  readonly tasks: TaskSpec[];
  readonly seeds: number[];
  readonly cache: EvaluationCache;
  readonly evaluator: Evaluator;
  /** The space's screen, unless the configuration turns it off. */
  readonly screen: SearchSpace['screen'];
  private readonly programs = new Map<number, Program>();
  private readonly families = new Map<number, string>();
  /** Structural hash per program id (the mutation guard needs the parent's). */
  readonly hashes = new Map<number, string>();
  private readonly inFlight = new Map<string, Promise<Scored>>();
  /** Partial (screen) score per program id: population members' scores set the screen's threshold. */
  private readonly partials = new Map<number, number>();
  /** Partial score per structural hash of the children that stopped at the screen (a twin is not trained again). */
  readonly stoppedAtScreen = new Map<string, number>();
  private readonly t0 = performance.now();
  /** Seconds spent writing to the store (for the store's share of the search's time). */
  storeSeconds = 0;

  /** Runs a store write and counts its time. */
  timedWrite<T>(fn: () => T): T {
    const t = performance.now();
    try {
      return fn();
    } finally {
      this.storeSeconds += (performance.now() - t) / 1000;
    }
  }

  constructor(
    readonly store: Store,
    readonly run: Run,
    readonly config: SearchConfig,
    readonly pool: EvaluationPool,
    readonly hooks: SearchHooks,
  ) {
    this.space = loadSearchSpace(config.space);
    this.tasks = resolveTaskList(config.tasks ?? this.space.tasks.join(','));
    this.seeds = pairedSeeds(this.space.seedsPerEvaluation);
    this.screen = config.screen === false ? null : this.space.screen;
    this.cache = new EvaluationCache((hash, fp) => this.storedScore(hash, fp));
    this.evaluator = new Evaluator((job) => pool.run(job), { workers: pool.size });
  }

  elapsed(): number {
    return (performance.now() - this.t0) / 1000;
  }

  suite(fidelity: Fidelity): Suite {
    return {
      tasks: this.tasks,
      seeds: this.seeds,
      lrMultipliers: this.space.lrMultipliers,
      fidelity,
      backend: this.config.backend,
      timeLimitSeconds: this.space.limits.timeoutSeconds * fidelity,
    };
  }

  /** Store a program (once per raw text) with its analysis (made here unless the caller has it); returns its id. */
  saveProgram(p: Program, analysis: Analysis = analyze(p)): { id: number; hash: string; fingerprint: string } {
    const family = analysis.family;
    const params: Record<string, number> = {};
    for (const [k, v] of Object.entries(family.hyperparameters)) if (typeof v === 'number') params[k] = v;
    const id = this.timedWrite(() => upsertProgram(this.store, {
      raw: printProgram(p),
      size: p.statements.length,
      canonical: printProgram(analysis.program),
      structuralHash: analysis.hash,
      fingerprint: analysis.fingerprint,
      liveSize: analysis.program.statements.length,
      family: family.family,
      familyParams: params,
    }));
    this.programs.set(id, p);
    this.families.set(id, family.family);
    this.hashes.set(id, analysis.hash);
    return { id, hash: analysis.hash, fingerprint: analysis.fingerprint };
  }

  programOf(id: number): Program {
    let p = this.programs.get(id);
    if (!p) {
      const rec = getProgram(this.store, id);
      if (!rec) throw new Error(`program ${id} is missing from the store`);
      p = parseProgram(rec.raw);
      this.programs.set(id, p);
      if (rec.family) this.families.set(id, rec.family);
    }
    return p;
  }

  familyOf(id: number): string {
    if (!this.families.has(id)) this.programOf(id);
    return this.families.get(id) ?? 'unknown';
  }

  /** Cache tier 3: the whole suite stored for an equivalent program (same hash, else same fingerprint). */
  private storedScore(hash: string, fingerprint: string): CachedScore | undefined {
    for (const program of [{ structuralHash: hash }, { fingerprint }]) {
      let sourceProgramId = -1;
      const score = this.evaluator.scoreFromStore(this.suite(this.fidelity()), (key) => {
        const e = findEvaluation(this.store, program, key);
        if (e) sourceProgramId = e.programId;
        return e;
      });
      if (score) return { fitness: score.fitness, sourceProgramId };
    }
    return undefined;
  }

  fidelity(): Fidelity {
    return this.space.fidelity as Fidelity;
  }

  /** Stored runs come back from the store; trained runs are stored as soon as they are scored. */
  private storeHooks(programId: number): EvaluationHooks {
    return {
      known: (key) => findEvaluation(this.store, { programId }, key),
      record: (r) =>
        this.timedWrite(() =>
          recordEvaluation(this.store, {
            programId,
            ...r.key,
            fitness: r.fitness,
            metrics: metricsOf(r),
            status: r.result.status,
            reason: r.result.reason === '' ? null : r.result.reason,
            backend: r.result.backend,
            seconds: r.result.seconds,
            runId: this.run.id,
          }),
        ),
    };
  }

  /** The program's fitness on the suite at this fidelity; every run is stored as soon as it is trained. */
  async scoreProgram(programId: number, fidelity: Fidelity): Promise<number> {
    const score = await this.evaluator.score(this.programOf(programId), this.suite(fidelity), this.storeHooks(programId));
    return score.fitness;
  }

  /**
   * A member's partial score: its screen seeds' part of its stored full evaluation (its own runs,
   * else those of a program with the same hash or fingerprint, for members answered by the cache).
   */
  private partialOf(programId: number): number | undefined {
    const memo = this.partials.get(programId);
    if (memo !== undefined) return memo;
    const screen = this.screen;
    if (!screen) return undefined;
    const part = screenSuite(this.suite(this.fidelity()), screen.seeds);
    const hash = this.hashes.get(programId) ?? getProgram(this.store, programId)?.structuralHash ?? null;
    const fingerprint = getProgram(this.store, programId)?.fingerprint ?? null;
    const keys = [{ programId }, ...(hash ? [{ structuralHash: hash }] : []), ...(fingerprint ? [{ fingerprint }] : [])];
    for (const program of keys) {
      const score = this.evaluator.scoreFromStore(part, (key) => findEvaluation(this.store, program, key));
      if (score) {
        this.partials.set(programId, score.fitness);
        return score.fitness;
      }
    }
    return undefined;
  }

  /** The partial score a child needs now: the top keepFraction of the population's partial scores. */
  screenThreshold(population: readonly Member[]): number {
    const keep = this.screen?.keepFraction ?? 1;
    const scores: number[] = [];
    for (const m of population) {
      const p = this.partialOf(m.programId);
      if (p !== undefined) scores.push(p);
    }
    return screenThreshold(scores, keep);
  }

  /** Screened when the space has a screen (the threshold read from `population` when the partial score is in), else the whole suite. */
  private async scoreChild(programId: number, population: () => readonly Member[]): Promise<Omit<Scored, 'source'>> {
    const screen = this.screen;
    if (!screen) return { programId, fitness: await this.scoreProgram(programId, this.fidelity()) };
    const s = await this.evaluator.scoreScreened(
      this.programOf(programId),
      this.suite(this.fidelity()),
      { seeds: screen.seeds, threshold: () => this.screenThreshold(population()) },
      this.storeHooks(programId),
    );
    this.partials.set(programId, s.partial.fitness);
    const verdict = { passed: s.passed, fitness: s.partial.fitness, threshold: s.threshold };
    return { programId, fitness: s.full ? s.full.fitness : NaN, screen: verdict };
  }

  /** Train unless an identical program (same structural hash) is already training: then share its result. */
  trainChild(programId: number, hash: string, fingerprint: string, population: () => readonly Member[]): Promise<Scored> {
    const twin = this.inFlight.get(hash);
    if (twin) return twin.then((s) => ({ ...s, programId, source: 'structural' as const }));
    const p = this.scoreChild(programId, population).then((s) => {
      if (s.screen?.passed === false) this.stoppedAtScreen.set(hash, s.screen.fitness);
      else this.cache.remember(hash, fingerprint, { fitness: s.fitness, sourceProgramId: programId });
      this.inFlight.delete(hash);
      return { ...s, source: 'trained' as const };
    });
    this.inFlight.set(hash, p);
    return p;
  }

  progress(state: EvolutionState, phase: Progress['phase']): Progress {
    const pool = this.pool.stats();
    return {
      runId: this.run.id,
      trained: state.counters.trained,
      generated: state.counters.generated,
      budget: this.config.budget,
      elapsedSeconds: this.elapsed(),
      best: { fitness: state.best.fitness, programId: state.best.programId, family: this.familyOf(state.best.programId) },
      cache: this.cache.counts,
      screened: state.counters.screened,
      busyWorkers: pool.running,
      workers: this.pool.size,
      utilization: pool.wallSeconds > 0 ? pool.busySeconds / (this.pool.size * pool.wallSeconds) : 0,
      phase,
    };
  }

  /** Inside the caller's write transaction: refuses to write a run whose lease another process took over. */
  persist(state: EvolutionState, rng: Rng): void {
    assertLease(this.store, this.run.id);
    const s: PersistedState = {
      population: state.population,
      best: state.best,
      counters: state.counters,
      nextBirth: state.nextBirth,
      spaceDigest: spaceDigest(this.space),
    };
    saveRunState(this.store, this.run.id, {
      rngState: rng.getState(),
      evolutionState: s as unknown as JsonValue,
      generated: state.counters.generated,
      trained: state.counters.trained,
      timings: { total: this.elapsed(), store: this.storeSeconds },
    });
    setCacheCounts(this.store, this.run.id, this.cache.counts);
  }
}

function evolutionOptions(config: SearchConfig, space: SearchSpace, parallelism: number): EvolutionOptions {
  return {
    populationSize: space.population.size,
    tournamentSize: space.population.tournament,
    parallelism: parallelism * IN_FLIGHT_PER_WORKER,
    deterministic: config.deterministic,
    budget: config.budget,
    maxGenerated: Math.max(10_000, config.budget * 200),
    restartAfter: space.restart.afterWithoutImprovement ?? 0,
  };
}

export function configToJson(c: SearchConfig): { [k: string]: JsonValue } {
  return { ...c, funnelFidelities: [...c.funnelFidelities] };
}

/** Validates a configuration before anything is written; throws ConfigError (or the space's SpaceError, the tasks' TaskError) with one line. */
export function validateConfig(c: SearchConfig): void {
  if (!Number.isInteger(c.budget) || c.budget < 1) throw new ConfigError(`budget must be a positive integer, got ${c.budget}`);
  if (!Number.isInteger(c.workers) || c.workers < 1) throw new ConfigError(`workers must be a positive integer, got ${c.workers}`);
  if (!Number.isInteger(c.seed) || c.seed < 0) throw new ConfigError(`seed must be a non-negative integer, got ${c.seed}`);
  if (c.timeLimitSeconds !== null && !(c.timeLimitSeconds > 0)) throw new ConfigError(`time limit must be positive, got ${c.timeLimitSeconds}`);
  if (!Number.isInteger(c.funnelEntrants) || c.funnelEntrants < 0) throw new ConfigError(`funnel entrants must be a non-negative integer`);
  const space = loadSearchSpace(c.space);
  resolveTaskList(c.tasks ?? space.tasks.join(','));
}

async function drive(session: SearchSession, state: EvolutionState, rng: Rng): Promise<'done' | 'interrupted'> {
  const { store, run, config, hooks, space } = session;
  const deadline = config.timeLimitSeconds === null ? Infinity : config.timeLimitSeconds;
  let stopped = false;
  const shouldStop = (): boolean => {
    if (!stopped && (hooks.shouldStop?.() || session.elapsed() > deadline)) stopped = true;
    return stopped;
  };
  let lastReport = 0;
  const report = (force = false): void => {
    const t = session.elapsed();
    if (force || t - lastReport >= 1) {
      lastReport = t;
      hooks.onProgress?.(session.progress(state, 'search'));
    }
  };

  const childInfo = new Map<Child, { id: number; hash: string; fingerprint: string }>();
  await evolve(state, evolutionOptions(config, space, session.pool.size), {
    rng,
    makeChild(parent: Member, r: Rng): Child | undefined {
      let m;
      // Each attempt is reduced once: its hash guards the mutation, the same analysis is stored.
      const analyses = new WeakMap<Program, Analysis>();
      const hashOf = (p: Program): string => {
        const a = analyze(p);
        analyses.set(p, a);
        return a.hash;
      };
      try {
        const parentHash = session.hashes.get(parent.programId);
        m = mutate(session.programOf(parent.programId), r, space, hashOf, {
          ...(parentHash === undefined ? {} : { parentHash }),
          hashIgnoresDeadCode: true,
          neutral: space.mutation.neutral,
        });
      } catch (e) {
        if (e instanceof MutationFailure) return undefined; // no valid child of this parent within the space's tries
        throw e;
      }
      const child: Child = { program: m.child, parent, mutation: m.kind, detail: m.detail };
      childInfo.set(child, session.saveProgram(m.child, analyses.get(m.child)));
      return child;
    },
    lookup(child: Child): Scored | undefined {
      const info = childInfo.get(child)!;
      const hit = session.cache.lookup(info.hash, info.fingerprint);
      if (hit) return { programId: info.id, fitness: hit.fitness, source: hit.tier };
      // A twin of a child stopped at the screen: judged again against today's threshold; it trains only if it now passes.
      const partial = session.stoppedAtScreen.get(info.hash);
      if (partial !== undefined) {
        const threshold = session.screenThreshold(state.population);
        if (!(partial >= threshold)) return { programId: info.id, fitness: NaN, source: 'structural', screen: { passed: false, fitness: partial, threshold } };
      }
      return undefined;
    },
    train(child: Child): Promise<Scored> {
      const info = childInfo.get(child)!;
      return session.trainChild(info.id, info.hash, info.fingerprint, () => state.population);
    },
    onArrival(child: Child, scored: Scored, st: EvolutionState, died: Member | undefined): void {
      childInfo.delete(child);
      const birth = st.nextBirth - 1;
      const stopped = scored.screen?.passed === false;
      session.timedWrite(() => store.transaction(() => {
        addLineage(store, run.id, {
          birth,
          programId: scored.programId,
          parentBirth: child.parent.birth,
          mutation: child.mutation,
          detail: child.detail,
          fitness: stopped ? null : scored.fitness,
          source: scored.source,
          screen: scored.screen ? { outcome: stopped ? 'stopped' : 'passed', fitness: scored.screen.fitness, threshold: scored.screen.threshold } : null,
        });
        if (!stopped) recordBirthDeath(store, run.id, { step: birth, birth, ...(died ? { died: died.birth } : {}) });
        session.persist(st, rng);
      }));
      report();
    },
    onRestart(st: EvolutionState): void {
      store.transaction(() => {
        addPopulationSnapshot(store, run.id, st.nextBirth - 1, st.population.map((m) => m.birth));
        session.persist(st, rng);
      });
    },
    shouldStop,
  });
  report(true);
  return stopped ? 'interrupted' : 'done';
}

async function funnel(session: SearchSession, shouldStop: () => boolean): Promise<number[]> {
  const { store, run, config } = session;
  if (config.funnelEntrants === 0 || config.funnelFidelities.length === 0) return [];
  const candidates = topPrograms(store, run.id, config.funnelEntrants * 5).map((p) => ({
    programId: p.id,
    hash: p.structuralHash ?? String(p.id),
    searchFitness: p.fitness,
  }));
  const searchFitness = new Map(candidates.map((c) => [c.programId, c.searchFitness]));
  const baselineId = session.saveProgram(session.space.warmStart.program).id;
  const finalists = await runFunnel(candidates, { fidelities: config.funnelFidelities, entrants: config.funnelEntrants }, {
    evaluate: (id, f) => session.scoreProgram(id, f as Fidelity),
    // The baseline scores BASELINE_FITNESS by construction; evaluating the warm start is the honest
    // reference when the warm start is not the baseline program.
    baseline: (f) => session.scoreProgram(baselineId, f as Fidelity),
    record: (r) =>
      recordFunnelResult(store, run.id, {
        programId: r.programId,
        fidelity: r.fidelity,
        fitness: Number.isFinite(r.fitness) ? r.fitness : null,
        baselineFitness: r.baselineFitness,
        beatBaseline: r.beatBaseline,
        searchFitness: searchFitness.get(r.programId) ?? null,
      }),
    shouldStop,
  });
  return finalists.map((c) => c.programId);
}

async function finish(session: SearchSession, state: EvolutionState, rng: Rng): Promise<SearchOutcome> {
  const { store, run, hooks } = session;
  let status = await drive(session, state, rng);
  let finalists: number[] = [];
  if (status === 'done') {
    hooks.onProgress?.(session.progress(state, 'funnel'));
    const stop = () => Boolean(hooks.shouldStop?.());
    finalists = await funnel(session, stop);
    if (stop()) status = 'interrupted';
  }
  store.transaction(() => {
    assertLease(store, run.id);
    updateRunStatus(store, run.id, status, status === 'interrupted' ? 'stopped before the budget was spent' : null);
  });
  return { run: getRun(store, run.id) as Run, status, finalists };
}

/** Marks the run failed, unless its lease was lost: then the run is another process's to mark. */
function markFailed(store: Store, runId: number, e: unknown): void {
  store.transaction(() => {
    if (holdsLease(store, runId)) updateRunStatus(store, runId, 'failed', (e as Error).message.split('\n')[0] ?? 'error');
  });
}

/** The caller's hooks, stopping the search as soon as its lease is lost. */
function leasedHooks(hooks: SearchHooks, lease: RunLease): SearchHooks {
  return { ...hooks, shouldStop: () => Boolean(hooks.shouldStop?.()) || lease.lost() };
}

/** Start a new search: creates the run, trains the warm start, evolves, runs the funnel. */
export async function startSearch(store: Store, config: SearchConfig, name: string | undefined, hooks: SearchHooks = {}): Promise<SearchOutcome> {
  validateConfig(config);
  const space = loadSearchSpace(config.space);
  const run = store.transaction(() => {
    const created = createRun(store, { ...(name ? { name } : {}), space: space.name, seed: config.seed, config: configToJson(config) });
    acquireRunLease(store, created.id);
    return created;
  });
  const lease = new RunLease(store, run.id);
  const pool = hooks.pool ?? createEvaluationPool({ size: config.workers });
  try {
    const session = new SearchSession(store, run, config, pool, leasedHooks(hooks, lease));
    const rng = new Rng(config.seed);
    const warm = session.saveProgram(space.warmStart.program);
    hooks.onProgress?.({ ...session.progress(initialState({ programId: warm.id, fitness: -Infinity }, 1), 'warm-start') });
    const fitness = await session.scoreProgram(warm.id, session.fidelity());
    session.cache.remember(warm.hash, warm.fingerprint, { fitness, sourceProgramId: warm.id });
    const state = initialState({ programId: warm.id, fitness }, space.population.size);
    store.transaction(() => {
      addLineage(store, run.id, { birth: 0, programId: warm.id, parentBirth: null, mutation: 'warm-start', detail: space.warmStart.path, fitness, source: 'trained' });
      addPopulationSnapshot(store, run.id, 0, state.population.map((m) => m.birth));
      session.persist(state, rng);
    });
    return await finish(session, state, rng);
  } catch (e) {
    markFailed(store, run.id, e);
    throw e;
  } finally {
    if (!hooks.pool) await pool.close();
    lease.release();
  }
}

/** Continue an interrupted (or killed) search from its last arrival, with its own configuration. */
export async function resumeSearch(store: Store, runId: number, hooks: SearchHooks = {}, overrides: { budget?: number } = {}): Promise<SearchOutcome> {
  if (!getRun(store, runId)) throw new ResumeError(`no run with id ${runId}`);
  // The lease first: the state read below is then the last one any writer saved.
  const acquired = acquireRunLease(store, runId);
  if (acquired.tookOver) hooks.onTakeover?.(runId, acquired.tookOver.previous, acquired.tookOver.reason);
  const lease = new RunLease(store, runId);
  let pool: EvaluationPool | undefined;
  try {
    const run = getRun(store, runId) as Run;
    const saved = loadRunState<PersistedState>(store, run.id);
    if (!saved) throw new ResumeError(`run ${run.id} has no saved state to resume from (it failed before its warm start finished)`);
    const config = { ...(run.config as unknown as SearchConfig), ...(overrides.budget !== undefined ? { budget: overrides.budget } : {}) };
    validateConfig(config);
    const space = loadSearchSpace(config.space);
    if (saved.evolutionState.spaceDigest !== spaceDigest(space)) {
      throw new ResumeError(`the search space file ${space.file} (or its warm start) changed since run ${run.id} started; resume needs the same space`);
    }
    if (run.status === 'done' && overrides.budget === undefined) throw new ResumeError(`run ${run.id} is already done (pass a larger --budget to extend it)`);
    pool = hooks.pool ?? createEvaluationPool({ size: config.workers });
    updateRunStatus(store, run.id, 'running');
    const session = new SearchSession(store, run, config, pool, leasedHooks(hooks, lease));
    // Seed the in-memory cache tiers with everything this run already knows.
    for (const ind of runIndividuals(store, run.id)) {
      const rec = getProgram(store, ind.programId);
      if (rec?.structuralHash && rec.fingerprint && ind.fitness !== null) {
        session.cache.remember(rec.structuralHash, rec.fingerprint, { fitness: ind.fitness, sourceProgramId: ind.programId });
      } else if (rec?.structuralHash && ind.screen?.outcome === 'stopped') {
        session.stoppedAtScreen.set(rec.structuralHash, ind.screen.fitness);
      }
    }
    const counts = getCacheCounts(store, run.id);
    for (const t of CACHE_TIERS) {
      session.cache.counts[t].hits = counts[t].hits;
      session.cache.counts[t].lookups = counts[t].lookups;
    }
    const e = saved.evolutionState;
    // States saved before the screen existed have no screened counter.
    const state: EvolutionState = { population: [...e.population], best: e.best, counters: { ...e.counters, screened: (e.counters as Partial<EvolutionState['counters']>).screened ?? 0 }, nextBirth: e.nextBirth };
    const rng = Rng.fromState(saved.rngState as { s: [number, number, number, number]; spare: number | null });
    return await finish(session, state, rng);
  } catch (err) {
    // A refused resume leaves the run as it was; a resume that started and broke marks it failed.
    if (pool !== undefined && !(err instanceof ResumeError) && !(err instanceof ConfigError)) markFailed(store, runId, err);
    throw err;
  } finally {
    if (pool !== undefined && !hooks.pool) await pool.close();
    lease.release();
  }
}
