/**
 * The Lion rediscovery, end to end, as three pass/fail stages:
 *
 *   1. simplification: the paper's discovered program goes through cross-step liveness and the
 *      rewrites (src/analysis), then ablation on the replay's proxy (src/replay/ablation.ts); it must
 *      end as Lion with the paper's constants, and ablation must be what removes clip and arcsin;
 *   2. search: a search warm-started from AdamW in a replay preset (REPLAY_DEFAULTS), through
 *      startSearch (the code path of `optsearch search`), must put a Lion-family program among its
 *      top programs;
 *   3. fixpoint: the same search warm-started from Lion (the preset's `-lion` twin, identical but
 *      for warmStart) must keep a Lion-family program on top.
 *
 * Lion family = Lion proper (two interpolation constants, b1 != b2) or signum with decoupled decay
 * (b1 = b2, the paper's ablation); the report always says which. Nothing here reaches into the
 * search: the stages only read what the search stored.
 */
import { join } from 'node:path';
import { recognizeFamily, type FamilyReading } from '../analysis/family.ts';
import { simplify, type SimplifyStep } from '../analysis/simplify.ts';
import { parseProgram } from '../dsl/parse.ts';
import { printProgram } from '../dsl/print.ts';
import { readFileSync } from 'node:fs';
import { createEvaluationPool, type EvaluationPool } from '../pool/pool.ts';
import type { BackendName, Fidelity } from '../vocabulary/index.ts';
import { Evaluator, pairedSeeds, type Suite } from '../evaluator/evaluator.ts';
import { resolveTaskList } from '../tasks/spec.ts';
import { startSearch, type Progress, type SearchConfig, type SearchHooks, type SearchOutcome } from '../runner/search.ts';
import { loadSearchSpace, SPACES_DIR, type SearchSpace } from '../search/space.ts';
import type { Store } from '../store/db.ts';
import { getCacheCounts, getProgram, lineageChain, runIndividuals, topPrograms } from '../store/queries.ts';
import { ablateOnSuite, type AblationReport } from './ablation.ts';
import { bestPerMethod, LION_BETAS, methodPrograms, SGD_LR_FACTOR, SIGNUM_BETAS, STUDY_GRID } from './methods.ts';
import { pairedDifference, standardError } from '../util/stats.ts';

/** The documented presets: the AdamW-start space and its Lion-start twin. */
export const REPLAY_SPACE = 'replay';
export const REPLAY_FIXPOINT_SPACE = 'replay-lion';
export const PAPER_PROGRAM = join(SPACES_DIR, 'programs', 'paper-discovered.prog');
/** One search stage's preset, seed and budget (trained programs). */
export interface SearchStageSettings {
  readonly space: string;
  readonly seed: number;
  readonly budget: number;
}

/**
 * What `optsearch replay lion` runs where no option says otherwise (docs/replay.md, "The default
 * configuration"): both searches on teacher-student-16, the one proxy found where Lion proper leads
 * AdamW and signum tuned on the proxy study's grid (on the quadratic presets constant-step momentum
 * and programs that read the parameter outscore every Lion-family program), at budgets that finish
 * within 15 minutes on two cores. No seed and budget that reach the Lion family from AdamW within that time are known
 * (bench/rediscovery.ts, docs/replay.md); the report says so.
 */
const DEFAULT_SPACE = 'replay-teacher-student';
export const REPLAY_DEFAULTS: { readonly search: SearchStageSettings; readonly fixpoint: SearchStageSettings; readonly searchNote: string } = {
  search: { space: DEFAULT_SPACE, seed: 1, budget: 1000 },
  fixpoint: { space: `${DEFAULT_SPACE}-lion`, seed: 1, budget: 300 },
  searchNote: 'no seed and budget are known that reach the Lion family from AdamW within 15 minutes here; see docs/replay.md for the runs at scale',
};

/** How many of a run's best programs count as "its top programs" (half of `optsearch top`'s page). */
export const TOP_N = 10;
/** Ablation trains Program 4 at these multiples of its own lr (0.0002 was tuned for tasks 10^4x larger). */
export const ABLATION_LR_MULTIPLIERS = [1, 3, 10, 30];
export const ABLATION_SEEDS = 3;
/**
 * Ablation trains the replay's proxy at x10 steps (10,000): Program 4's b2 = 0.997 averages the
 * gradient over about 330 steps, a third of a 1,000-step run.
 */
export const ABLATION_FIDELITY: Fidelity = 10;

export type LionFamilyKind = 'Lion proper' | 'signum with decoupled decay';

/** Lion proper or signum with decoupled decay, read by recognizeFamily; null for anything else. */
export function lionFamilyKind(r: FamilyReading): LionFamilyKind | null {
  if (!r.exact) return null;
  const hp = r.hyperparameters;
  if (!(hp.lrMultiplier !== undefined && hp.lrMultiplier > 0)) return null;
  if (!(hp.weightDecay !== undefined && hp.weightDecay > 0)) return null;
  if (r.family === 'lion') return 'Lion proper';
  if (r.family === 'signum') return 'signum with decoupled decay';
  return null;
}

/** Why a reading is outside the Lion family, in a few words (for a program lionFamilyKind refuses). */
export function notLionFamilyReason(r: FamilyReading): string {
  const hp = r.hyperparameters;
  if (r.family !== 'lion' && r.family !== 'signum') return `family ${r.family}`;
  if (!r.exact) return `${r.family} variant: ${r.differences.join('; ')}`;
  if (!(hp.lrMultiplier !== undefined && hp.lrMultiplier > 0)) return `${r.family} with lr multiplier ${hp.lrMultiplier}`;
  return `${r.family} without decoupled weight decay (decay ${hp.weightDecay ?? 'none'}); the family requires it`;
}

export interface StageResult {
  readonly name: string;
  readonly passed: boolean;
  /** One line: the verdict with its main figure. */
  readonly summary: string;
  /** The figures, one per line, for people. */
  readonly lines: readonly string[];
  /** The same figures as data (the --json report). */
  readonly data: Record<string, unknown>;
}

export interface ReplayReport {
  readonly replay: 'lion';
  readonly passed: boolean;
  readonly interrupted: boolean;
  readonly proxy: Record<string, unknown>;
  readonly stages: readonly StageResult[];
  readonly seconds: number;
}

export interface LionReplayOptions {
  readonly store: Store;
  /** Trained programs and seed of both search stages; absent: REPLAY_DEFAULTS per stage. */
  readonly budget?: number;
  readonly seed?: number;
  readonly workers: number;
  readonly backend?: BackendName | 'auto';
  /** Stages to run (default all three). */
  readonly stages?: readonly ('simplify' | 'search' | 'fixpoint')[];
  /** Print the AdamW / signum / Lion comparison on the replay's proxy (default true). */
  readonly proxyComparison?: boolean;
  /** Ablation tolerance; null or absent: the standard error over seeds of the start program. */
  readonly tolerance?: number | null;
  /**
   * Presets (names or paths) of stage 2 (and the proxy comparison) and of stage 3; absent:
   * REPLAY_DEFAULTS, or `<space>-lion` for stage 3 when only `space` is given. Stage 1's ablation
   * always trains on REPLAY_SPACE's proxy.
   */
  readonly space?: string;
  readonly fixpointSpace?: string;
  /** Live output, one line at a time. */
  readonly log?: (line: string) => void;
  readonly onProgress?: (p: Progress) => void;
  readonly shouldStop?: () => boolean;
  /** Evaluator override (tests); by default one pool of `workers` threads for all stages. */
  readonly pool?: EvaluationPool;
}

const f4 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? String(x) : x.toFixed(4));
const near = (a: number | undefined, b: number, rel: number): boolean => a !== undefined && Math.abs(a - b) <= rel * Math.abs(b);

function suiteOf(space: SearchSpace, backend: BackendName | 'auto', seeds: number, lrMultipliers: readonly number[], fidelity: Fidelity = space.fidelity as Fidelity): Suite {
  return {
    tasks: resolveTaskList(space.tasks.join(',')),
    seeds: pairedSeeds(seeds),
    lrMultipliers,
    fidelity,
    backend,
    timeLimitSeconds: space.limits.timeoutSeconds,
  };
}

function stepText(s: SimplifyStep): string {
  const where = s.line !== null ? `line ${s.line}` : 'return';
  return s.after === null ? `${where}: ${s.before}  (removed: ${s.rule})` : `${where}: ${s.before}  ->  ${s.after}  (${s.rule})`;
}

/** Stage 1: Program 4 -> Lion by liveness, rewrites and ablation. */
export async function simplificationStage(space: SearchSpace, pool: EvaluationPool, opts: { backend: BackendName | 'auto'; tolerance: number | null; log: (s: string) => void }): Promise<StageResult> {
  const p4 = parseProgram(readFileSync(PAPER_PROGRAM, 'utf8'));
  const { program: simplified, steps } = simplify(p4);
  const lines: string[] = [`Program 4 (${p4.statements.length} statements) through liveness and rewrites:`];
  for (const s of steps) lines.push(`  ${stepText(s)}`);
  const coshGone = steps.some((s) => s.rule === 'dead-state' && s.before.includes('cosh'));
  const signMade = steps.some((s) => s.rule === 'div-abs-sign');
  const interpsFused = steps.some((s) => s.rule.startsWith('interp-fusion'));
  lines.push(`  -> ${simplified.statements.length} statements; cosh removed by cross-step liveness: ${coshGone}; sign(m) from m / sqrt(m*m): ${signMade}; interps fused: ${interpsFused}`);
  const before = recognizeFamily(simplified);
  lines.push(`  family before ablation: ${before.summary}`);

  const suite = suiteOf(space, opts.backend, Math.max(ABLATION_SEEDS, space.seedsPerEvaluation), ABLATION_LR_MULTIPLIERS, ABLATION_FIDELITY);
  opts.log(`stage 1: ablation on ${suite.tasks.map((t) => t.name).join(', ')} x${suite.fidelity} (seeds ${suite.seeds.join(', ')}, lr multipliers ${suite.lrMultipliers.join(', ')})...`);
  const ab: AblationReport = await ablateOnSuite(simplified, suite, new Evaluator((j) => pool.run(j), { workers: pool.size }), { tolerance: opts.tolerance });
  lines.push(`ablation on ${suite.tasks.map((t) => t.name).join(', ')} x${suite.fidelity} (${suite.tasks.map((t) => t.steps * suite.fidelity).join(', ')} steps), seeds ${suite.seeds.join(', ')}, each candidate at its best lr multiplier of ${suite.lrMultipliers.join(', ')} (fitness as the search computes it; AdamW = 1):`);
  lines.push(`  start fitness ${f4(ab.startScore.fitness)}; tolerance ${f4(ab.tolerance)}: ${ab.toleranceReason}`);
  for (const d of ab.decisions) {
    lines.push(`  ${d.kept ? 'removed' : 'kept   '} ${d.statement.padEnd(28)} (uses read ${d.replacedBy}): fitness ${f4(d.reference)} -> ${f4(d.fitness)} (${d.fitness - d.reference >= 0 ? '+' : ''}${f4(d.fitness - d.reference)})`);
  }
  const removed = ab.decisions.filter((d) => d.kept).map((d) => d.statement);
  const clipByAblation = removed.some((s) => s.includes('clip('));
  const arcsinByAblation = removed.some((s) => s.includes('arcsin('));
  const final = recognizeFamily(ab.program);
  const hp = final.hyperparameters;
  lines.push('result:');
  for (const l of printProgram(ab.program).trimEnd().split('\n')) lines.push(`  ${l}`);
  lines.push(`  family: ${final.summary}`);
  const checks: [string, boolean][] = [
    ['cross-step liveness removes m = cosh(update)', coshGone],
    ['m / sqrt(m*m) becomes sign(m)', signMade],
    ['the two interps fuse', interpsFused],
    ['ablation removes clip(g, lr)', clipByAblation],
    ['ablation removes arcsin(g)', arcsinByAblation],
    ['ends as Lion proper', final.family === 'lion' && final.exact],
    ['b1 = 0.899', near(hp.b1, 0.899, 1e-9)],
    ['b2 = 0.899 * 1.109 ~ 0.997', near(hp.b2, 0.899 * 1.109, 1e-6)],
    ['weight decay 0.4602', near(hp.weightDecay, 0.4602, 1e-9)],
    ['lr multiplier 0.0002', near(hp.lrMultiplier, 0.0002, 1e-9)],
  ];
  for (const [what, ok] of checks) lines.push(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  const passed = checks.every(([, ok]) => ok);
  return {
    name: 'simplification',
    passed,
    summary: passed
      ? `Program 4 -> Lion (b1 ${hp.b1}, b2 ${Number(hp.b2?.toPrecision(6))}, wd ${hp.weightDecay}, lr x ${hp.lrMultiplier}); ablation removed ${removed.length} statement(s), fitness ${f4(ab.startScore.fitness)} -> ${f4(ab.finalScore?.fitness)}`
      : `failed: ${checks.filter(([, ok]) => !ok).map(([w]) => w).join('; ')}`,
    lines,
    data: {
      steps,
      checks: Object.fromEntries(checks),
      ablation: {
        suite: { tasks: suite.tasks.map((t) => t.name), seeds: suite.seeds, lrMultipliers: suite.lrMultipliers },
        startFitness: ab.startScore.fitness,
        startPerSeed: ab.startScore.perSeed,
        tolerance: ab.tolerance,
        toleranceReason: ab.toleranceReason,
        decisions: ab.decisions.map(({ score, ...d }) => ({ ...d, perSeed: score?.perSeed ?? null })),
        finalFitness: ab.finalScore?.fitness ?? null,
      },
      program: printProgram(ab.program),
      family: final,
    },
  };
}

interface FirstHit {
  readonly programId: number;
  readonly birth: number;
  readonly trained: number;
  readonly kind: LionFamilyKind;
  readonly reading: FamilyReading;
}

/** The first individual of a run whose program is in the Lion family, with the trainings before it. */
export function firstLionFamily(store: Store, runId: number, want?: LionFamilyKind): FirstHit | undefined {
  let trained = 0;
  const seen = new Map<number, FamilyReading>();
  for (const ind of runIndividuals(store, runId)) {
    if (ind.source === 'trained') trained++;
    if (ind.screen?.outcome === 'stopped') continue; // never joined the population: the search did not keep it
    let reading = seen.get(ind.programId);
    if (!reading) {
      const rec = getProgram(store, ind.programId);
      if (!rec) continue;
      reading = recognizeFamily(parseProgram(rec.raw));
      seen.set(ind.programId, reading);
    }
    const kind = lionFamilyKind(reading);
    if (kind && (want === undefined || kind === want)) return { programId: ind.programId, birth: ind.birth, trained, kind, reading };
  }
  return undefined;
}

function topWithFamilies(store: Store, runId: number): { id: number; fitness: number; kind: LionFamilyKind | null; reading: FamilyReading; raw: string }[] {
  return topPrograms(store, runId, TOP_N).map((p) => {
    const reading = recognizeFamily(parseProgram(p.raw));
    return { id: p.id, fitness: p.fitness, kind: lionFamilyKind(reading), reading, raw: p.raw };
  });
}

function searchConfig(space: string, o: { budget: number; seed: number; workers: number; backend: BackendName | 'auto' }): SearchConfig {
  return {
    space,
    tasks: null,
    budget: o.budget,
    timeLimitSeconds: null,
    workers: o.workers,
    seed: o.seed,
    deterministic: true,
    backend: o.backend,
    funnelEntrants: 0,
    funnelFidelities: [],
  };
}

function runLines(store: Store, outcome: SearchOutcome): string[] {
  const c = getCacheCounts(store, outcome.run.id);
  const pct = (t: 'structural' | 'fingerprint' | 'stored'): string => (c.structural.lookups === 0 ? '0' : ((100 * c[t].hits) / c.structural.lookups).toFixed(0));
  return [
    `run ${outcome.run.id} (${outcome.run.name}) ${outcome.status}: ${outcome.run.trained} trained, ${outcome.run.generated} generated; cache hits ${pct('structural')}% / ${pct('fingerprint')}% / ${pct('stored')}% (hash / fingerprint / stored)`,
  ];
}

/** Stage 2: from AdamW, a Lion-family program among the top programs. */
export async function searchStage(store: Store, pool: EvaluationPool, o: { space: string; budget: number; seed: number; workers: number; backend: BackendName | 'auto'; hooks: { onProgress?: LionReplayOptions['onProgress']; shouldStop?: () => boolean } }): Promise<StageResult & { interrupted: boolean }> {
  const outcome = await startSearch(store, searchConfig(o.space, o), `replay-lion-search-${o.seed}-${Date.now()}`, { ...o.hooks, pool } satisfies SearchHooks);
  const lines = runLines(store, outcome);
  const top = topWithFamilies(store, outcome.run.id);
  lines.push(`top ${TOP_N}:`);
  for (const t of top) lines.push(`  #${t.id} fitness ${f4(t.fitness)}  ${t.kind ?? t.reading.family}: ${t.reading.summary}`);
  const inTop = top.find((t) => t.kind !== null);
  const first = firstLionFamily(store, outcome.run.id);
  const data: Record<string, unknown> = { runId: outcome.run.id, status: outcome.status, trained: outcome.run.trained, generated: outcome.run.generated, top: top.map(({ reading, ...t }) => ({ ...t, family: reading.summary })) };
  if (first) {
    lines.push(`first Lion-family program: #${first.programId} (${first.kind}) at birth ${first.birth} (programs generated and arrived), after ${first.trained} trained programs`);
    lines.push(`  ${first.reading.summary}`);
    const chain = lineageChain(store, first.programId, outcome.run.id);
    lines.push(`lineage from ${chain[0]?.mutation === 'warm-start' ? 'AdamW' : 'the root'} (${chain.length - 1} mutations):`);
    for (const step of chain) lines.push(`  birth ${step.birth}: ${step.mutation}${step.detail ? ` ${step.detail}` : ''} -> #${step.programId} fitness ${f4(step.fitness ?? undefined)} (${step.family ?? '?'})`);
    data.first = { programId: first.programId, birth: first.birth, trained: first.trained, kind: first.kind, family: first.reading.summary, lineage: chain.map((s) => ({ birth: s.birth, mutation: s.mutation, detail: s.detail, programId: s.programId, fitness: s.fitness })) };
  } else lines.push('no Lion-family program appeared in this run');
  const proper = first?.kind === 'Lion proper' ? first : firstLionFamily(store, outcome.run.id, 'Lion proper');
  if (proper && proper !== first) lines.push(`first Lion proper: #${proper.programId} at birth ${proper.birth}, after ${proper.trained} trained programs`);
  if (proper) data.firstLionProper = { programId: proper.programId, birth: proper.birth, trained: proper.trained };
  const passed = outcome.status === 'done' && inTop !== undefined;
  return {
    name: 'search',
    passed,
    interrupted: outcome.status === 'interrupted',
    summary: inTop
      ? `${inTop.kind} found: #${inTop.id} (fitness ${f4(inTop.fitness)}, rank ${top.indexOf(inTop) + 1} of the top ${TOP_N})${first ? `; first Lion-family program after ${first.trained} trained / ${first.birth} generated` : ''}`
      : `no Lion-family program among the top ${TOP_N} after ${outcome.run.trained} trained programs`,
    lines,
    data,
  };
}

/** Stage 3: from Lion, a Lion-family program stays on top. */
export async function fixpointStage(store: Store, pool: EvaluationPool, o: { space: string; budget: number; seed: number; workers: number; backend: BackendName | 'auto'; hooks: { onProgress?: LionReplayOptions['onProgress']; shouldStop?: () => boolean } }): Promise<StageResult & { interrupted: boolean }> {
  const outcome = await startSearch(store, searchConfig(o.space, o), `replay-lion-fixpoint-${o.seed}-${Date.now()}`, { ...o.hooks, pool } satisfies SearchHooks);
  const lines = runLines(store, outcome);
  const top = topWithFamilies(store, outcome.run.id);
  lines.push(`top ${TOP_N}:`);
  for (const t of top) lines.push(`  #${t.id} fitness ${f4(t.fitness)}  ${t.kind ?? t.reading.family}: ${t.reading.summary}`);
  const best = top[0];
  const passed = outcome.status === 'done' && best !== undefined && best.kind !== null;
  return {
    name: 'fixpoint',
    passed,
    interrupted: outcome.status === 'interrupted',
    summary: best ? `top program #${best.id} (fitness ${f4(best.fitness)}) is ${best.kind ?? `not Lion-family (${notLionFamilyReason(best.reading)})`}` : 'no programs',
    lines,
    data: { runId: outcome.run.id, status: outcome.status, trained: outcome.run.trained, generated: outcome.run.generated, top: top.map(({ reading, ...t }) => ({ ...t, family: reading.summary })) },
  };
}

/** AdamW, signum, Lion proper, SGD and momentum tuned the same way on the replay's proxy (bench/proxy-study.ts's grid). */
export async function proxyComparison(space: SearchSpace, pool: EvaluationPool, backend: BackendName | 'auto'): Promise<{ lines: string[]; data: Record<string, unknown> }> {
  const suite = suiteOf(space, backend, Math.max(3, space.seedsPerEvaluation), [1]);
  const configs = methodPrograms(STUDY_GRID);
  const evaluator = new Evaluator((j) => pool.run(j));
  const scored = await Promise.all(configs.map(async (c) => ({ c, s: await evaluator.score(parseProgram(c.text), suite) })));
  const best = bestPerMethod(scored);
  const adamw = best.get('adamw');
  const lionBetas = LION_BETAS.map(([b1, b2]) => `${b1}/${b2}`).join(' or ');
  const lines = [`proxy ${suite.tasks.map((t) => t.name).join(', ')} (seeds ${suite.seeds.join(', ')}): each method at its best of lr {${STUDY_GRID.lrs.join(', ')}} x wd {${STUDY_GRID.wds.join(', ')}} (SGD's and momentum's lrs x${SGD_LR_FACTOR}; signum also beta ${SIGNUM_BETAS.join(' or ')}, Lion b1/b2 ${lionBetas}):`];
  const data: Record<string, unknown> = {};
  for (const [m, x] of best) {
    const vs = adamw && m !== 'adamw' ? pairedDifference(x.s.perSeed, adamw.s.perSeed) : undefined;
    lines.push(`  ${m.padEnd(7)} ${x.c.label.padEnd(40)} fitness ${f4(x.s.fitness)} +- ${f4(standardError(x.s.perSeed))}${vs ? `  vs AdamW ${f4(vs.mean)} +- ${f4(vs.se)} (paired)` : ''}`);
    data[m] = { config: x.c.label, fitness: x.s.fitness, perSeed: x.s.perSeed };
  }
  return { lines, data };
}

/** The two search stages' settings: the options where given, REPLAY_DEFAULTS otherwise. */
export function replaySettings(o: Pick<LionReplayOptions, 'budget' | 'seed' | 'space' | 'fixpointSpace'>): { search: SearchStageSettings; fixpoint: SearchStageSettings; isDefault: boolean } {
  const d = REPLAY_DEFAULTS;
  const search = { space: o.space ?? d.search.space, seed: o.seed ?? d.search.seed, budget: o.budget ?? d.search.budget };
  const fixpoint = {
    space: o.fixpointSpace ?? `${search.space}-lion`,
    seed: o.seed ?? d.fixpoint.seed,
    budget: o.budget ?? d.fixpoint.budget,
  };
  const isDefault = search.space === d.search.space && search.seed === d.search.seed && search.budget === d.search.budget;
  return { search, fixpoint, isDefault };
}

/** Runs the replay; never throws for a failed stage (that is a result), only for bad input. */
export async function runLionReplay(o: LionReplayOptions): Promise<ReplayReport> {
  const t0 = performance.now();
  const log = o.log ?? (() => {});
  const backend = o.backend ?? 'auto';
  const settings = replaySettings(o);
  const space = loadSearchSpace(settings.search.space);
  loadSearchSpace(settings.fixpoint.space);
  const stages = o.stages ?? ['simplify', 'search', 'fixpoint'];
  const pool = o.pool ?? createEvaluationPool({ size: o.workers });
  const results: StageResult[] = [];
  let interrupted = false;
  let proxy: Record<string, unknown> = { space: space.file, tasks: space.tasks, lrMultipliers: space.lrMultipliers, seedsPerEvaluation: space.seedsPerEvaluation };
  const hooks = { ...(o.onProgress ? { onProgress: o.onProgress } : {}), ...(o.shouldStop ? { shouldStop: o.shouldStop } : {}) };
  const stageOptions = (st: SearchStageSettings) => ({ ...st, workers: pool.size, backend, hooks });
  try {
    if (o.proxyComparison !== false) {
      log('proxy comparison: AdamW, signum, Lion proper, SGD and momentum, tuned the same way...');
      const c = await proxyComparison(space, pool, backend);
      proxy = { ...proxy, comparison: c.data, lines: c.lines };
    }
    if (stages.includes('simplify') && !o.shouldStop?.()) {
      log('stage 1: simplification replay...');
      results.push(await simplificationStage(loadSearchSpace(REPLAY_SPACE), pool, { backend, tolerance: o.tolerance ?? null, log }));
    }
    if (stages.includes('search') && !o.shouldStop?.()) {
      const st = settings.search;
      log(`stage 2: search from AdamW (${st.space}, budget ${st.budget}, seed ${st.seed})...`);
      const r = await searchStage(o.store, pool, stageOptions(st));
      interrupted ||= r.interrupted;
      const settingLine = `preset ${st.space}, seed ${st.seed}, budget ${st.budget}${settings.isDefault ? ` (the default: ${REPLAY_DEFAULTS.searchNote})` : ''}`;
      results.push({ ...r, lines: [settingLine, ...r.lines], data: { ...r.data, settings: { ...st, isDefault: settings.isDefault } } });
    }
    if (stages.includes('fixpoint') && !o.shouldStop?.()) {
      const st = settings.fixpoint;
      log(`stage 3: search from Lion (${st.space}, budget ${st.budget}, seed ${st.seed})...`);
      const r = await fixpointStage(o.store, pool, stageOptions(st));
      interrupted ||= r.interrupted;
      results.push({ ...r, lines: [`preset ${st.space}, seed ${st.seed}, budget ${st.budget}`, ...r.lines], data: { ...r.data, settings: st } });
    }
  } finally {
    if (!o.pool) await pool.close();
  }
  interrupted ||= Boolean(o.shouldStop?.());
  return {
    replay: 'lion',
    passed: !interrupted && results.length === stages.length && results.every((r) => r.passed),
    interrupted,
    proxy,
    stages: results,
    seconds: (performance.now() - t0) / 1000,
  };
}
