/**
 * Typed reads and writes over the store. The store knows programs as text and ids only; hashes,
 * families and fitness are computed by the layers above and handed in.
 *
 * Individuals: every arrival in a run has a birth number (0 = the warm start). The lineage table holds
 * one row per birth (program, parent birth, mutation); the population table holds seats in the
 * aging queue (entry order = queue order), so the population after any step can be rebuilt exactly.
 *
 * Evaluations are unique on (program id, task, configuration hash, numeric class, fidelity, seed, lr
 * multiplier), where the configuration hash covers what a stored fitness depends on besides the
 * program (the resolved task definition at its fidelity and the baseline program) and the numeric
 * class tells Float64 from Float32 training. The raw program that was trained is recorded, and since the cache consults structural hash and fingerprint before any
 * training, an equivalent program is never trained (or stored) twice; findEvaluation looks up by
 * program id, structural hash or fingerprint.
 */
import type { RngState } from '../util/rng.ts';
import { CACHE_TIERS, type CacheTier, type EvalStatus, type NumericClass } from '../vocabulary/index.ts';
import { StoreError, type Store } from './db.ts';
import { heldRunIds, releaseRunLease } from './lease.ts';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [k: string]: JsonValue };

/**
 * JSON text that keeps non-finite numbers (fitness of a failed program is -Infinity; plain JSON would
 * turn it into null).
 */
export function encodeJson(value: unknown): string {
  // The replacer is several times slower than plain stringify; most values have nothing to replace.
  if (!hasNonFinite(value)) return JSON.stringify(value);
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $float: String(v) } : v));
}

function hasNonFinite(v: unknown): boolean {
  if (typeof v === 'number') return !Number.isFinite(v);
  if (v === null || typeof v !== 'object') return false;
  if (Array.isArray(v)) {
    for (const x of v) if (hasNonFinite(x)) return true;
    return false;
  }
  for (const k in v) if (hasNonFinite((v as Record<string, unknown>)[k])) return true;
  return false;
}

export function decodeJson<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const keys = Object.keys(v);
      if (keys.length === 1 && keys[0] === '$float') return Number((v as { $float: string }).$float);
    }
    return v;
  }) as T;
}

const now = (): string => new Date().toISOString();
const finiteOrNull = (x: number | undefined): number | null => (x !== undefined && Number.isFinite(x) ? x : null);

// ---------------------------------------------------------------------------------------------
// Runs

export type RunStatus = 'running' | 'done' | 'interrupted' | 'failed';

export interface Run {
  readonly id: number;
  readonly name: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly space: string;
  readonly seed: number;
  readonly config: { readonly [k: string]: JsonValue };
  readonly status: RunStatus;
  readonly statusReason: string | null;
  readonly generated: number;
  readonly trained: number;
  /** Named wall-clock totals in seconds (e.g. mutate, evaluate, total). */
  readonly timings: { readonly [phase: string]: number };
}

interface RunDbRow {
  id: number;
  name: string;
  created_at: string;
  updated_at: string;
  space: string;
  seed: number;
  config: string;
  status: RunStatus;
  status_reason: string | null;
  generated: number;
  trained: number;
  timings: string;
}

function toRun(r: RunDbRow): Run {
  return {
    id: r.id,
    name: r.name,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    space: r.space,
    seed: r.seed,
    config: decodeJson(r.config),
    status: r.status,
    statusReason: r.status_reason,
    generated: r.generated,
    trained: r.trained,
    timings: decodeJson(r.timings),
  };
}

const RUN_COLUMNS = 'id, name, created_at, updated_at, space, seed, config, status, status_reason, generated, trained, timings';

export interface NewRun {
  /** Unique; default "<space>-<seed>-<id>". */
  readonly name?: string;
  readonly space: string;
  readonly seed: number;
  readonly config: { readonly [k: string]: JsonValue };
}

export function createRun(store: Store, run: NewRun): Run {
  if (!Number.isInteger(run.seed)) throw new RangeError(`run seed must be an integer, got ${run.seed}`);
  return store.transaction(() => {
    const t = now();
    if (run.name !== undefined && getRun(store, run.name)) throw new StoreError(store.path, `a run named '${run.name}' already exists`);
    const placeholder = run.name ?? `pending-${t}-${Math.floor(performance.now() * 1000)}`;
    const id = Number(
      store
        .stmt("INSERT INTO runs (name, created_at, updated_at, space, seed, config, status) VALUES (?, ?, ?, ?, ?, ?, 'running')")
        .run(placeholder, t, t, run.space, run.seed, encodeJson(run.config)).lastInsertRowid,
    );
    if (run.name === undefined) store.stmt('UPDATE runs SET name = ? WHERE id = ?').run(`${run.space}-${run.seed}-${id}`, id);
    return getRun(store, id) as Run;
  });
}

/** A run by id, or by name when given a string. */
export function getRun(store: Store, idOrName: number | string): Run | undefined {
  const row =
    typeof idOrName === 'number'
      ? store.stmt(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`).get(idOrName)
      : store.stmt(`SELECT ${RUN_COLUMNS} FROM runs WHERE name = ?`).get(idOrName);
  return row ? toRun(row as RunDbRow) : undefined;
}

export function updateRunStatus(store: Store, runId: number, status: RunStatus, reason: string | null = null): void {
  const r = store.stmt('UPDATE runs SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?').run(status, reason, now(), runId);
  if (r.changes !== 1) throw new StoreError(store.path, `no run with id ${runId}`);
}

/**
 * Marks the running runs whose lease this process holds as interrupted (reason: why) and gives
 * their leases back, in one transaction; another process's runs are left alone. Returns their ids.
 */
export function interruptHeldRuns(store: Store, reason: string): number[] {
  return store.transaction(() => {
    const ids = heldRunIds(store);
    for (const id of ids) {
      store.stmt("UPDATE runs SET status = 'interrupted', status_reason = ?, updated_at = ? WHERE id = ? AND status = 'running'").run(reason, now(), id);
      releaseRunLease(store, id);
    }
    return ids;
  });
}

export interface RunSummary extends Run {
  readonly bestFitness: number | null;
  readonly bestProgramId: number | null;
  /** Individuals (arrivals) recorded. */
  readonly individuals: number;
  readonly cache: CacheCounts;
}

/** Every run, newest first, with its best fitness and cache counters. */
export function listRuns(store: Store): RunSummary[] {
  const rows = store.stmt(`SELECT ${RUN_COLUMNS} FROM runs ORDER BY id DESC`).all() as RunDbRow[];
  return rows.map((r) => {
    const best = store
      .stmt('SELECT program_id AS programId, fitness FROM lineage WHERE run_id = ? AND fitness IS NOT NULL ORDER BY fitness DESC, birth ASC LIMIT 1')
      .get(r.id) as { programId: number; fitness: number } | undefined;
    const individuals = store.stmt('SELECT COUNT(*) FROM lineage WHERE run_id = ?').pluck().get(r.id) as number;
    return { ...toRun(r), bestFitness: best?.fitness ?? null, bestProgramId: best?.programId ?? null, individuals, cache: getCacheCounts(store, r.id) };
  });
}

// ---------------------------------------------------------------------------------------------
// Resume state

export interface RunState<E> {
  readonly rngState: { readonly s: RngState; readonly spare: number | null };
  /** The driver's own state (population, best, counters); any JSON, non-finite numbers kept. */
  readonly evolutionState: E;
  readonly generated: number;
  readonly trained: number;
  readonly timings?: { readonly [phase: string]: number };
}

/** Saves everything needed to resume; call it inside the same transaction as the arrival it follows. */
export function saveRunState<E>(store: Store, runId: number, state: RunState<E>): void {
  const r = store
    .stmt('UPDATE runs SET rng_state = ?, evolution_state = ?, generated = ?, trained = ?, timings = COALESCE(?, timings), updated_at = ? WHERE id = ?')
    .run(encodeJson(state.rngState), encodeJson(state.evolutionState), state.generated, state.trained, state.timings ? encodeJson(state.timings) : null, now(), runId);
  if (r.changes !== 1) throw new StoreError(store.path, `no run with id ${runId}`);
}

/** The last saved state, or undefined when the run never saved one. */
export function loadRunState<E>(store: Store, runId: number): RunState<E> | undefined {
  const row = store.stmt('SELECT rng_state, evolution_state, generated, trained, timings FROM runs WHERE id = ?').get(runId) as
    | { rng_state: string | null; evolution_state: string | null; generated: number; trained: number; timings: string }
    | undefined;
  if (!row) throw new StoreError(store.path, `no run with id ${runId}`);
  if (row.rng_state === null || row.evolution_state === null) return undefined;
  return {
    rngState: decodeJson(row.rng_state),
    evolutionState: decodeJson<E>(row.evolution_state),
    generated: row.generated,
    trained: row.trained,
    timings: decodeJson(row.timings),
  };
}

// ---------------------------------------------------------------------------------------------
// Programs

export interface ProgramInput {
  /** Printed raw program (the genome, dead code included): the program's identity. */
  readonly raw: string;
  /** Number of statements of the raw program. */
  readonly size: number;
  readonly canonical?: string;
  readonly structuralHash?: string;
  readonly fingerprint?: string;
  /** Statements left after dead-code removal. */
  readonly liveSize?: number;
  readonly family?: string;
  readonly familyParams?: { readonly [name: string]: number };
}

export interface ProgramRecord {
  readonly id: number;
  readonly raw: string;
  readonly canonical: string | null;
  readonly structuralHash: string | null;
  readonly fingerprint: string | null;
  readonly size: number;
  readonly liveSize: number | null;
  readonly family: string | null;
  readonly familyParams: { readonly [name: string]: number } | null;
  readonly createdAt: string;
}

interface ProgramDbRow {
  id: number;
  raw: string;
  canonical: string | null;
  structural_hash: string | null;
  fingerprint: string | null;
  size: number;
  live_size: number | null;
  family: string | null;
  family_params: string | null;
  created_at: string;
}

function toProgram(r: ProgramDbRow): ProgramRecord {
  return {
    id: r.id,
    raw: r.raw,
    canonical: r.canonical,
    structuralHash: r.structural_hash,
    fingerprint: r.fingerprint,
    size: r.size,
    liveSize: r.live_size,
    family: r.family,
    familyParams: r.family_params === null ? null : decodeJson(r.family_params),
    createdAt: r.created_at,
  };
}

/**
 * Store a program once per raw text, shared by every run; returns its id. Known analysis fields of an
 * existing row are kept; missing ones are filled from `p`.
 */
export function upsertProgram(store: Store, p: ProgramInput): number {
  const row = store
    .stmt(
      `INSERT INTO programs (raw, canonical, structural_hash, fingerprint, size, live_size, family, family_params, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (raw) DO UPDATE SET
         canonical = COALESCE(programs.canonical, excluded.canonical),
         structural_hash = COALESCE(programs.structural_hash, excluded.structural_hash),
         fingerprint = COALESCE(programs.fingerprint, excluded.fingerprint),
         live_size = COALESCE(programs.live_size, excluded.live_size),
         family = COALESCE(programs.family, excluded.family),
         family_params = COALESCE(programs.family_params, excluded.family_params)
       RETURNING id`,
    )
    .get(
      p.raw,
      p.canonical ?? null,
      p.structuralHash ?? null,
      p.fingerprint ?? null,
      p.size,
      p.liveSize ?? null,
      p.family ?? null,
      p.familyParams ? encodeJson(p.familyParams) : null,
      now(),
    ) as { id: number };
  return row.id;
}

const PROGRAM_COLUMNS = 'id, raw, canonical, structural_hash, fingerprint, size, live_size, family, family_params, created_at';

export function getProgram(store: Store, id: number): ProgramRecord | undefined {
  const r = store.stmt(`SELECT ${PROGRAM_COLUMNS} FROM programs WHERE id = ?`).get(id);
  return r ? toProgram(r as ProgramDbRow) : undefined;
}

export function findProgramByRaw(store: Store, raw: string): ProgramRecord | undefined {
  const r = store.stmt(`SELECT ${PROGRAM_COLUMNS} FROM programs WHERE raw = ?`).get(raw);
  return r ? toProgram(r as ProgramDbRow) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Lineage (one row per individual)

export interface NewIndividual {
  readonly birth: number;
  readonly programId: number;
  /** Birth of the parent individual in the same run; null for the warm start. */
  readonly parentBirth: number | null;
  /** Mutation kind, or 'warm-start'. */
  readonly mutation: string;
  readonly detail: string;
  readonly fitness?: number | null;
  /** 'trained' or the cache tier that answered. */
  readonly source?: string | null;
  /** The screen's verdict, for a child screened on part of its suite first (null: not screened). */
  readonly screen?: ScreenVerdict | null;
}

/**
 * A child scored on part of its suite first: its partial score and the population's threshold at
 * that moment. 'stopped' children have no full fitness (lineage fitness NULL) and never joined.
 */
export interface ScreenVerdict {
  readonly outcome: 'passed' | 'stopped';
  readonly fitness: number;
  readonly threshold: number;
}

export interface Individual extends Required<NewIndividual> {
  readonly runId: number;
  readonly parentId: number | null;
  readonly createdAt: string;
}

interface LineageDbRow {
  run_id: number;
  birth: number;
  program_id: number;
  parent_birth: number | null;
  parent_id: number | null;
  mutation: string;
  detail: string;
  fitness: number | null;
  source: string | null;
  screen: 'passed' | 'stopped' | null;
  screen_fitness: number | null;
  screen_threshold: number | null;
  created_at: string;
}

function toIndividual(r: LineageDbRow): Individual {
  return {
    runId: r.run_id,
    birth: r.birth,
    programId: r.program_id,
    parentBirth: r.parent_birth,
    parentId: r.parent_id,
    mutation: r.mutation,
    detail: r.detail,
    fitness: r.fitness,
    source: r.source,
    screen: r.screen === null ? null : { outcome: r.screen, fitness: r.screen_fitness ?? NaN, threshold: r.screen_threshold ?? NaN },
    createdAt: r.created_at,
  };
}

export function addLineage(store: Store, runId: number, ind: NewIndividual): void {
  store
    .stmt(
      `INSERT INTO lineage (run_id, birth, program_id, parent_birth, parent_id, mutation, detail, fitness, source, screen, screen_fitness, screen_threshold, created_at)
       VALUES (@run, @birth, @program, @parent, (SELECT program_id FROM lineage WHERE run_id = @run AND birth = @parent),
               @mutation, @detail, @fitness, @source, @screen, @screenFitness, @screenThreshold, @at)`,
    )
    .run({
      run: runId,
      birth: ind.birth,
      program: ind.programId,
      parent: ind.parentBirth,
      mutation: ind.mutation,
      detail: ind.detail,
      fitness: ind.fitness ?? null,
      source: ind.source ?? null,
      screen: ind.screen?.outcome ?? null,
      screenFitness: finiteOrNull(ind.screen?.fitness),
      screenThreshold: finiteOrNull(ind.screen?.threshold),
      at: now(),
    });
}

/** Set an individual's fitness once its evaluation arrives. */
export function setFitness(store: Store, runId: number, birth: number, fitness: number, source: string | null = null): void {
  const r = store.stmt('UPDATE lineage SET fitness = ?, source = COALESCE(?, source) WHERE run_id = ? AND birth = ?').run(fitness, source, runId, birth);
  if (r.changes !== 1) throw new StoreError(store.path, `run ${runId} has no individual with birth ${birth}`);
}

const LINEAGE_COLUMNS = 'run_id, birth, program_id, parent_birth, parent_id, mutation, detail, fitness, source, screen, screen_fitness, screen_threshold, created_at';

/** Every individual of a run in birth order (every generated-and-arrived program, not only the best). */
export function runIndividuals(store: Store, runId: number): Individual[] {
  return (store.stmt(`SELECT ${LINEAGE_COLUMNS} FROM lineage WHERE run_id = ? ORDER BY birth`).all(runId) as LineageDbRow[]).map(toIndividual);
}

export interface LineageStep extends Individual {
  readonly raw: string;
  readonly canonical: string | null;
  readonly family: string | null;
}

/**
 * The chain of individuals from the run's root (the warm start, or a restart's seed) to the first
 * individual of `programId` in the run, root first; each step carries the mutation that made it.
 * Empty when the program never appeared in the run.
 */
export function lineageChain(store: Store, programId: number, runId: number): LineageStep[] {
  const rows = store
    .stmt(
      `WITH RECURSIVE chain (birth, depth) AS (
         SELECT MIN(birth), 0 FROM lineage WHERE run_id = @run AND program_id = @program HAVING MIN(birth) IS NOT NULL
         UNION ALL
         SELECT l.parent_birth, chain.depth + 1 FROM chain JOIN lineage l ON l.run_id = @run AND l.birth = chain.birth
         WHERE l.parent_birth IS NOT NULL
       )
       SELECT l.run_id, l.birth, l.program_id, l.parent_birth, l.parent_id, l.mutation, l.detail, l.fitness, l.source,
              l.screen, l.screen_fitness, l.screen_threshold, l.created_at, p.raw, p.canonical, p.family
       FROM chain JOIN lineage l ON l.run_id = @run AND l.birth = chain.birth JOIN programs p ON p.id = l.program_id
       ORDER BY chain.depth DESC`,
    )
    .all({ run: runId, program: programId }) as (LineageDbRow & { raw: string; canonical: string | null; family: string | null })[];
  return rows.map((r) => ({ ...toIndividual(r), raw: r.raw, canonical: r.canonical, family: r.family }));
}

// ---------------------------------------------------------------------------------------------
// Population (seats of the aging queue)

/**
 * One arrival at `step`: a seat for `birth` joins the back of the queue and, when `died` is given, the
 * oldest seat leaves; `died` must be the birth sitting there (a mismatch means the caller's population
 * and the store disagree, and nothing is written).
 */
export function recordBirthDeath(store: Store, runId: number, change: { step: number; birth: number; died?: number }): void {
  store.transaction(() => {
    if (change.died !== undefined) {
      const oldest = store
        .stmt('SELECT entry, birth FROM population WHERE run_id = ? AND left_step IS NULL ORDER BY entry LIMIT 1')
        .get(runId) as { entry: number; birth: number } | undefined;
      if (!oldest || oldest.birth !== change.died) {
        throw new StoreError(store.path, `run ${runId}: the oldest member is ${oldest ? `birth ${oldest.birth}` : 'missing'}, not birth ${change.died}`);
      }
      store.stmt('UPDATE population SET left_step = ? WHERE run_id = ? AND entry = ?').run(change.step, runId, oldest.entry);
    }
    store
      .stmt('INSERT INTO population (run_id, entry, birth, joined_step) SELECT @run, COALESCE(MAX(entry), -1) + 1, @birth, @step FROM population WHERE run_id = @run')
      .run({ run: runId, birth: change.birth, step: change.step });
  });
}

/** Replace the whole population at `step` (warm start, restart): every seat leaves, `births` join in order. */
export function addPopulationSnapshot(store: Store, runId: number, step: number, births: readonly number[]): void {
  store.transaction(() => {
    store.stmt('UPDATE population SET left_step = ? WHERE run_id = ? AND left_step IS NULL').run(step, runId);
    const next = store.stmt('SELECT COALESCE(MAX(entry), -1) + 1 FROM population WHERE run_id = ?').pluck().get(runId) as number;
    const ins = store.stmt('INSERT INTO population (run_id, entry, birth, joined_step) VALUES (?, ?, ?, ?)');
    births.forEach((b, i) => ins.run(runId, next + i, b, step));
  });
}

export interface PopulationMember {
  readonly entry: number;
  readonly birth: number;
  readonly programId: number;
  readonly fitness: number | null;
}

/** The population after every change of `step`, oldest seat first (the exact queue). */
export function populationAt(store: Store, runId: number, step: number): PopulationMember[] {
  return store
    .stmt(
      `SELECT p.entry, p.birth, l.program_id AS programId, l.fitness FROM population p
       JOIN lineage l ON l.run_id = p.run_id AND l.birth = p.birth
       WHERE p.run_id = @run AND p.joined_step <= @step AND (p.left_step IS NULL OR p.left_step > @step)
       ORDER BY p.entry`,
    )
    .all({ run: runId, step }) as PopulationMember[];
}

export interface Seat {
  readonly entry: number;
  readonly birth: number;
  readonly programId: number;
  readonly joinedStep: number;
  /** null while still in the population. */
  readonly leftStep: number | null;
}

/** Every seat ever taken in a run: population membership over time. */
export function populationHistory(store: Store, runId: number): Seat[] {
  return store
    .stmt(
      `SELECT p.entry, p.birth, l.program_id AS programId, p.joined_step AS joinedStep, p.left_step AS leftStep FROM population p
       JOIN lineage l ON l.run_id = p.run_id AND l.birth = p.birth WHERE p.run_id = ? ORDER BY p.entry`,
    )
    .all(runId) as Seat[];
}

// ---------------------------------------------------------------------------------------------
// Evaluations


export interface EvaluationKey {
  readonly task: string;
  /** Hash of the scoring configuration: the task definition at its fidelity and the baseline. */
  readonly configHash: string;
  readonly numericClass: NumericClass;
  /** Task size relative to the proxy (1 = proxy; the funnel uses 10 and 100). */
  readonly fidelity: number;
  readonly seed: number;
  /** Default 1. */
  readonly lrMultiplier?: number;
}

export interface EvaluationInput extends EvaluationKey {
  readonly programId: number;
  /** null when the evaluation failed before producing a score. */
  readonly fitness: number | null;
  readonly metrics: { readonly [name: string]: JsonValue };
  readonly status: EvalStatus;
  readonly reason?: string | null;
  readonly backend?: string | null;
  readonly seconds?: number | null;
  readonly runId?: number | null;
}

export interface EvaluationRecord extends Omit<Required<EvaluationInput>, 'configHash' | 'numericClass'> {
  /** null for rows stored before the configuration was part of the key (never reused). */
  readonly configHash: string | null;
  readonly numericClass: NumericClass | null;
  readonly id: number;
  readonly createdAt: string;
}

interface EvaluationDbRow {
  id: number;
  program_id: number;
  task: string;
  config_hash: string | null;
  numeric_class: NumericClass | null;
  fidelity: number;
  seed: number;
  lr_multiplier: number;
  fitness: number | null;
  metrics: string;
  status: EvalStatus;
  reason: string | null;
  backend: string | null;
  seconds: number | null;
  run_id: number | null;
  created_at: string;
}

function toEvaluation(r: EvaluationDbRow): EvaluationRecord {
  return {
    id: r.id,
    programId: r.program_id,
    task: r.task,
    configHash: r.config_hash,
    numericClass: r.numeric_class,
    fidelity: r.fidelity,
    seed: r.seed,
    lrMultiplier: r.lr_multiplier,
    fitness: r.fitness,
    metrics: decodeJson(r.metrics),
    status: r.status,
    reason: r.reason,
    backend: r.backend,
    seconds: r.seconds,
    runId: r.run_id,
    createdAt: r.created_at,
  };
}

const EVALUATION_COLUMNS = 'e.id, e.program_id, e.task, e.config_hash, e.numeric_class, e.fidelity, e.seed, e.lr_multiplier, e.fitness, e.metrics, e.status, e.reason, e.backend, e.seconds, e.run_id, e.created_at';

const KEY_COLUMNS = 'task = ? AND config_hash = ? AND numeric_class = ? AND fidelity = ? AND seed = ? AND lr_multiplier = ?';

function keyValues(k: EvaluationKey): [string, string, NumericClass, number, number, number] {
  return [k.task, k.configHash, k.numericClass, k.fidelity, k.seed, k.lrMultiplier ?? 1];
}

/** Store one evaluation; the same program under the same key twice keeps the first row. */
export function recordEvaluation(store: Store, e: EvaluationInput): { id: number; inserted: boolean } {
  const row = store
    .stmt(
      `INSERT INTO evaluations (program_id, task, config_hash, numeric_class, fidelity, seed, lr_multiplier, fitness, metrics, status, reason, backend, seconds, run_id, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (program_id, task, config_hash, numeric_class, fidelity, seed, lr_multiplier) DO NOTHING RETURNING id`,
    )
    .get(e.programId, ...keyValues(e), e.fitness, encodeJson(e.metrics), e.status, e.reason ?? null, e.backend ?? null, e.seconds ?? null, e.runId ?? null, now()) as
    | { id: number }
    | undefined;
  if (row) return { id: row.id, inserted: true };
  const existing = store
    .stmt(`SELECT id FROM evaluations WHERE program_id = ? AND ${KEY_COLUMNS}`)
    .pluck()
    .get(e.programId, ...keyValues(e)) as number;
  return { id: existing, inserted: false };
}

/** Many evaluations in one transaction (the fast path: one commit for the batch). */
export function recordEvaluations(store: Store, list: readonly EvaluationInput[]): { id: number; inserted: boolean }[] {
  return store.transaction(() => list.map((e) => recordEvaluation(store, e)));
}

/** Which program(s) an evaluation lookup matches: one program, or any with this hash or fingerprint. */
export type ProgramKey = { readonly programId: number } | { readonly structuralHash: string } | { readonly fingerprint: string };

/** A stored evaluation of a matching program under this configuration (the oldest), or undefined. */
export function findEvaluation(store: Store, program: ProgramKey, key: EvaluationKey): EvaluationRecord | undefined {
  const cfg = KEY_COLUMNS.replace(/(\w+) = \?/g, 'e.$1 = ?');
  let row: unknown;
  if ('programId' in program) {
    row = store.stmt(`SELECT ${EVALUATION_COLUMNS} FROM evaluations e WHERE e.program_id = ? AND ${cfg}`).get(program.programId, ...keyValues(key));
  } else {
    const [column, value] = 'structuralHash' in program ? ['structural_hash', program.structuralHash] : ['fingerprint', program.fingerprint];
    row = store
      .stmt(`SELECT ${EVALUATION_COLUMNS} FROM programs p JOIN evaluations e ON e.program_id = p.id WHERE p.${column} = ? AND ${cfg} ORDER BY e.id LIMIT 1`)
      .get(value, ...keyValues(key));
  }
  return row ? toEvaluation(row as EvaluationDbRow) : undefined;
}

export function evaluationsOf(store: Store, programId: number): EvaluationRecord[] {
  return (store.stmt(`SELECT ${EVALUATION_COLUMNS} FROM evaluations e WHERE e.program_id = ? ORDER BY e.id`).all(programId) as EvaluationDbRow[]).map(toEvaluation);
}

/** Every stored evaluation, or those made by one run, oldest first. */
export function listEvaluations(store: Store, filter: { runId?: number } = {}): EvaluationRecord[] {
  const rows =
    filter.runId === undefined
      ? store.stmt(`SELECT ${EVALUATION_COLUMNS} FROM evaluations e ORDER BY e.id`).all()
      : store.stmt(`SELECT ${EVALUATION_COLUMNS} FROM evaluations e WHERE e.run_id = ? ORDER BY e.id`).all(filter.runId);
  return (rows as EvaluationDbRow[]).map(toEvaluation);
}

// ---------------------------------------------------------------------------------------------
// Cache counters

export type CacheCounts = { readonly [T in CacheTier]: { readonly hits: number; readonly lookups: number; readonly misses: number } };

/** Record the cache's running totals (absolute values, so saving twice is harmless). */
export function setCacheCounts(store: Store, runId: number, counts: { readonly [T in CacheTier]: { readonly hits: number; readonly lookups: number } }): void {
  // One statement for all tiers: atomic without a savepoint (this runs on every arrival).
  const values = CACHE_TIERS.map(() => '(?, ?, ?, ?)').join(', ');
  store
    .stmt(
      `INSERT INTO cache_counters (run_id, tier, hits, lookups) VALUES ${values}
       ON CONFLICT (run_id, tier) DO UPDATE SET hits = excluded.hits, lookups = excluded.lookups`,
    )
    .run(CACHE_TIERS.flatMap((t) => [runId, t, counts[t].hits, counts[t].lookups]));
}

export function getCacheCounts(store: Store, runId: number): CacheCounts {
  const rows = store.stmt('SELECT tier, hits, lookups FROM cache_counters WHERE run_id = ?').all(runId) as { tier: CacheTier; hits: number; lookups: number }[];
  const out = {} as Record<CacheTier, { hits: number; lookups: number; misses: number }>;
  for (const t of CACHE_TIERS) out[t] = { hits: 0, lookups: 0, misses: 0 };
  for (const r of rows) out[r.tier] = { hits: r.hits, lookups: r.lookups, misses: r.lookups - r.hits };
  return out;
}

// ---------------------------------------------------------------------------------------------
// Funnel

export interface FunnelRecord {
  readonly programId: number;
  readonly fidelity: number;
  readonly fitness: number | null;
  readonly baselineFitness: number | null;
  readonly beatBaseline: boolean;
  /** The program's fitness in the search itself, for search-vs-validation curves. */
  readonly searchFitness?: number | null;
}

/** Record one funnel stage result; recording the same (program, fidelity) again replaces it. */
export function recordFunnelResult(store: Store, runId: number, r: FunnelRecord): void {
  store
    .stmt(
      `INSERT INTO funnel_results (run_id, program_id, fidelity, fitness, baseline_fitness, beat_baseline, search_fitness, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (run_id, program_id, fidelity) DO UPDATE SET fitness = excluded.fitness, baseline_fitness = excluded.baseline_fitness,
         beat_baseline = excluded.beat_baseline, search_fitness = excluded.search_fitness, created_at = excluded.created_at`,
    )
    .run(runId, r.programId, r.fidelity, r.fitness, r.baselineFitness, r.beatBaseline ? 1 : 0, r.searchFitness ?? null, now());
}

export function funnelResults(store: Store, runId: number): FunnelRecord[] {
  const rows = store
    .stmt(
      `SELECT program_id AS programId, fidelity, fitness, baseline_fitness AS baselineFitness, beat_baseline AS beat, search_fitness AS searchFitness
       FROM funnel_results WHERE run_id = ? ORDER BY fidelity, id`,
    )
    .all(runId) as (Omit<FunnelRecord, 'beatBaseline'> & { beat: number })[];
  return rows.map(({ beat, ...r }) => ({ ...r, beatBaseline: beat === 1 }));
}

// ---------------------------------------------------------------------------------------------
// Reading results

export interface TopProgram extends ProgramRecord {
  /** Best fitness of any individual of this program in the run. */
  readonly fitness: number;
  readonly firstBirth: number;
  /** How many individuals of the run carried this program. */
  readonly births: number;
}

/** The run's best programs, fittest first (ties: the earliest born first). */
export function topPrograms(store: Store, runId: number, n: number): TopProgram[] {
  const rows = store
    .stmt(
      `SELECT p.id, p.raw, p.canonical, p.structural_hash, p.fingerprint, p.size, p.live_size, p.family, p.family_params, p.created_at,
              t.fitness, t.first_birth, t.births
       FROM (SELECT program_id, MAX(fitness) AS fitness, MIN(birth) AS first_birth, COUNT(*) AS births
             FROM lineage WHERE run_id = ? AND fitness IS NOT NULL GROUP BY program_id) t
       JOIN programs p ON p.id = t.program_id
       ORDER BY t.fitness DESC, t.first_birth ASC LIMIT ?`,
    )
    .all(runId, Math.max(0, Math.floor(n))) as (ProgramDbRow & { fitness: number; first_birth: number; births: number })[];
  return rows.map((r) => ({ ...toProgram(r), fitness: r.fitness, firstBirth: r.first_birth, births: r.births }));
}

export interface ProgramDetail {
  readonly program: ProgramRecord;
  readonly evaluations: readonly EvaluationRecord[];
  /** Runs in which the program was an individual. */
  readonly runs: readonly { readonly runId: number; readonly runName: string; readonly firstBirth: number; readonly births: number; readonly bestFitness: number | null }[];
}

export function programDetail(store: Store, id: number): ProgramDetail | undefined {
  const program = getProgram(store, id);
  if (!program) return undefined;
  const runs = store
    .stmt(
      `SELECT l.run_id AS runId, r.name AS runName, MIN(l.birth) AS firstBirth, COUNT(*) AS births, MAX(l.fitness) AS bestFitness
       FROM lineage l JOIN runs r ON r.id = l.run_id WHERE l.program_id = ? GROUP BY l.run_id ORDER BY l.run_id`,
    )
    .all(id) as ProgramDetail['runs'][number][];
  return { program, evaluations: evaluationsOf(store, id), runs };
}
