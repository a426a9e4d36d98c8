/**
 * Stage 2 of `optsearch replay lion` over several seeds: a search warm-started from AdamW in the
 * replay's default preset or --space's (startSearch, the code path of `optsearch search`), each seed in a fresh
 * database so no stored evaluation is reused. Prints, per seed, whether a Lion-family program
 * (Lion proper, or signum with decoupled decay) appeared and whether it is among the top programs,
 * the trained and generated programs until the first one, and the wall time; then the success rates
 * for the Lion family and for Lion proper separately, the median trained programs to the first
 * Lion-family program, and the median wall time.
 *
 *   npx tsx bench/rediscovery.ts [--space replay-teacher-student] [--seeds 1,2,3,4,5] [--budget 400] [--workers 2] [--backend auto] [--keep dir]
 *
 * --mutation-odds N prints how often one mutation of the warm start (or of --from file.prog) is already in the Lion family, and exits.
 * --reanalyze dir reads the databases in dir again with the current family recognizer and exits;
 *   with --fresh N it also scores each run's best program (and its first Lion-family one) on N fresh seeds.
 * --keep writes each seed's database to dir/seed-<n>.sqlite and leaves it there (for `optsearch top`).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { parseProgram } from '../src/dsl/parse.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBackendName, type BackendName } from '../src/vocabulary/index.ts';
import { createEvaluationPool } from '../src/pool/pool.ts';
import { firstLionFamily, REPLAY_DEFAULTS, searchStage } from '../src/replay/lion.ts';
import { getProgram, listRuns, runIndividuals, topPrograms } from '../src/store/queries.ts';
import type { Store } from '../src/store/db.ts';
import { openStore } from '../src/store/db.ts';
import { recognizeFamily } from '../src/analysis/family.ts';
import { structuralHash } from '../src/analysis/hash.ts';
import { lionFamilyKind } from '../src/replay/lion.ts';
import { mutate } from '../src/search/mutate.ts';
import { loadSearchSpace, SPACES_DIR } from '../src/search/space.ts';
import { Evaluator, freshSeeds, type Suite } from '../src/evaluator/evaluator.ts';
import { resolveTaskList } from '../src/tasks/spec.ts';
import type { Fidelity } from '../src/vocabulary/index.ts';
import { Rng } from '../src/util/rng.ts';
import { median } from '../src/util/stats.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}
const seeds = arg('seeds', '1,2,3,4,5').split(',').map(Number);
const budget = Number(arg('budget', '400'));
const workers = Number(arg('workers', '2'));
const backendArg = arg('backend', 'auto');
if (backendArg !== 'auto' && !isBackendName(backendArg)) throw new Error(`unknown backend ${backendArg}`);
const backend = backendArg as BackendName | 'auto';
const space = arg('space', REPLAY_DEFAULTS.search.space);

/** How often one mutation of the warm start (or of --from's program) lands in the Lion family (no training: mutate + recognizeFamily). */
function mutationOdds(n: number): void {
  const sp = loadSearchSpace(space);
  const fromFile = arg('from', '');
  const parent = fromFile ? parseProgram(readFileSync(fromFile, 'utf8')) : sp.warmStart.program;
  const rng = new Rng(12345);
  let hits = 0;
  const kinds = new Map<string, number>();
  const perKind = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const m = mutate(parent, rng, sp, structuralHash);
    const kind = lionFamilyKind(recognizeFamily(m.child));
    if (kind) {
      hits++;
      // constant changes are all different: counted by kind only
      const key = `${kind}: ${m.kind}${m.kind === 'modifyConstant' ? ' (any constant)' : ` ${m.detail}`}`;
      perKind.set(kind, (perKind.get(kind) ?? 0) + 1);
      kinds.set(key, (kinds.get(key) ?? 0) + 1);
    }
  }
  console.log(`one mutation of ${fromFile || sp.warmStart.path} is in the Lion family: ${hits} / ${n} (${((100 * hits) / n).toFixed(3)}%)`);
  for (const [k, c] of perKind) console.log(`  ${k}: ${c} / ${n}`);
  for (const [k, c] of [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`  ${c} x ${k}`);
}
if (process.argv.includes('--mutation-odds')) {
  mutationOdds(Number(arg('mutation-odds', '20000')));
  process.exit(0);
}

/**
 * How long a run kept sign-of-momentum programs (signum or Lion, exact form, any decay): their
 * arrivals, the births of the first and the last, and the best of them.
 */
function signDirections(store: Store, runId: number): string {
  const readings = new Map<number, { summary: string } | null>();
  const arrivals: { birth: number; programId: number; fitness: number | null; trained: boolean; summary: string }[] = [];
  for (const ind of runIndividuals(store, runId)) {
    if (ind.screen?.outcome === 'stopped') continue;
    let family = readings.get(ind.programId);
    if (family === undefined) {
      const r = recognizeFamily(parseProgram((getProgram(store, ind.programId) as { raw: string }).raw));
      family = r.exact && (r.family === 'signum' || r.family === 'lion') ? { summary: r.summary } : null;
      readings.set(ind.programId, family);
    }
    if (family) arrivals.push({ birth: ind.birth, programId: ind.programId, fitness: ind.fitness, trained: ind.source === 'trained', summary: family.summary });
  }
  if (arrivals.length === 0) return 'sign-of-momentum programs (signum or Lion, any decay): none arrived';
  const best = arrivals.reduce((a, b) => ((b.fitness ?? -Infinity) > (a.fitness ?? -Infinity) ? b : a));
  const programs = new Set(arrivals.map((a) => a.programId)).size;
  return `sign-of-momentum programs (signum or Lion, any decay): ${arrivals.length} arrivals of ${programs} programs (${arrivals.filter((a) => a.trained).length} trained), births ${arrivals[0]!.birth}-${arrivals[arrivals.length - 1]!.birth}, best #${best.programId} fitness ${best.fitness?.toFixed(4) ?? '-'}: ${best.summary}`;
}

/**
 * Read databases kept by --keep (or written by `optsearch search`) again with today's recognizer:
 * per run, the first Lion-family program and the best program. With --fresh N, each of those and the
 * shipped AdamW, signum and Lion programs are also scored on N seeds the search never used (101,
 * 102, ...) with the run's tasks and lr multipliers: a program fitted to the search's paired seeds is
 * not a discovery. Then exit.
 */
async function reanalyze(dir: string): Promise<void> {
  const fresh = Number(arg('fresh', '0'));
  const pool = fresh > 0 ? createEvaluationPool({ size: workers }) : null;
  const shipped = ['adamw', 'signum', 'lion'].map((name) => ({ name: `${name}.prog`, raw: readFileSync(join(SPACES_DIR, 'programs', `${name}.prog`), 'utf8') }));
  const evaluator = pool ? new Evaluator((j) => pool.run(j)) : null;
  /** The shipped programs' line per space: every run of one space shares the suite. */
  const shippedLines = new Map<string, string[]>();
  const scoreLine = async (rows: readonly { name: string; raw: string }[], suite: Suite): Promise<string[]> => {
    const parts: string[] = [];
    for (const r of rows) parts.push(`${r.name} ${(await (evaluator as Evaluator).score(parseProgram(r.raw), suite)).fitness.toFixed(3)}`);
    return parts;
  };
  try {
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.sqlite')).sort()) {
      const store = openStore(join(dir, f), { readonly: true });
      try {
        for (const run of listRuns(store)) {
          const first = firstLionFamily(store, run.id);
          const best = topPrograms(store, run.id, 1)[0];
          console.log(`${f} run ${run.id} (${run.space}, ${run.trained} trained, ${run.generated} generated, ${run.status}): ${first ? `${first.kind} #${first.programId} at birth ${first.birth}, after ${first.trained} trained` : 'no Lion-family program'}`);
          if (best) console.log(`  best #${best.id} fitness ${best.fitness.toFixed(4)}: ${recognizeFamily(parseProgram(best.raw)).summary}`);
          console.log(`  ${signDirections(store, run.id)}`);
          if (!pool || !best) continue;
          const sp = loadSearchSpace(run.space);
          const seeds = freshSeeds(fresh);
          const suite: Suite = { tasks: resolveTaskList(sp.tasks.join(',')), seeds, lrMultipliers: sp.lrMultipliers, fidelity: sp.fidelity as Fidelity, backend, timeLimitSeconds: sp.limits.timeoutSeconds };
          const found = [{ name: `best #${best.id}`, raw: best.raw }, ...(first ? [{ name: `first Lion-family #${first.programId}`, raw: (getProgram(store, first.programId) as { raw: string }).raw }] : [])];
          if (!shippedLines.has(run.space)) shippedLines.set(run.space, await scoreLine(shipped, suite));
          const parts = [...(await scoreLine(found, suite)), ...(shippedLines.get(run.space) as string[])];
          console.log(`  on fresh seeds ${seeds[0]}-${seeds[seeds.length - 1]}: ${parts.join(', ')}`);
        }
      } finally {
        store.close();
      }
    }
  } finally {
    await pool?.close();
  }
}
if (process.argv.includes('--reanalyze')) {
  await reanalyze(arg('reanalyze', '.'));
  process.exit(0);
}

console.log(`rediscovery: space ${space}, budget ${budget} trained programs, seeds ${seeds.join(', ')}, ${workers} workers, backend ${backend}`);
console.log('seed  found  kind                          trained-to-first  generated-to-first  in top  seconds');
const rows: { seed: number; found: boolean; proper: boolean; inTop: boolean; trained?: number; seconds: number }[] = [];
const keep = process.argv.includes('--keep') ? arg('keep', '') : '';
if (keep) mkdirSync(keep, { recursive: true });
const dir = keep || mkdtempSync(join(tmpdir(), 'optsearch-rediscovery-'));
const pool = createEvaluationPool({ size: workers });
try {
  for (const seed of seeds) {
    const store = openStore(join(dir, `seed-${seed}.sqlite`));
    const t0 = performance.now();
    try {
      const r = await searchStage(store, pool, { space, budget, seed, workers, backend, hooks: {} });
      const seconds = (performance.now() - t0) / 1000;
      const first = r.data.first as { trained: number; birth: number; kind: string } | undefined;
      rows.push({ seed, found: first !== undefined, proper: r.data.firstLionProper !== undefined, inTop: r.passed, ...(first ? { trained: first.trained } : {}), seconds });
      console.log(
        `${String(seed).padEnd(5)} ${(first ? 'yes' : 'no').padEnd(6)} ${(first?.kind ?? '-').padEnd(29)} ${String(first?.trained ?? '-').padStart(16)}  ${String(first?.birth ?? '-').padStart(18)}  ${(r.passed ? 'yes' : 'no').padEnd(6)}  ${seconds.toFixed(0)}`,
      );
    } finally {
      store.close();
    }
  }
} finally {
  await pool.close();
  if (!keep) rmSync(dir, { recursive: true, force: true });
}
const n = rows.length;
const found = rows.filter((r) => r.found);
console.log(`\nLion family (Lion proper or signum with decoupled decay) appeared: ${found.length}/${n} seeds; among the top programs at the end: ${rows.filter((r) => r.inTop).length}/${n}`);
console.log(`Lion proper appeared: ${rows.filter((r) => r.proper).length}/${n} seeds`);
console.log(`median trained programs to the first Lion-family program: ${found.length ? `${median(found.map((r) => r.trained as number))} (over the ${found.length} seeds that found one)` : `- (no seed found one within ${budget})`}`);
console.log(`median wall time per search: ${median(rows.map((r) => r.seconds)).toFixed(0)} s`);
