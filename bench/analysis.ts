/**
 * Analysis throughput: programs per second per core for simplify, structural hash and fingerprint
 * on random programs of 10-30 statements, each part alone and all together (one reduction, as the
 * search calls it: check + analyze), plus the fingerprint collision rate: structurally different
 * programs that share a fingerprint yet differ on SECOND_PROBE_SEED, a probe set the fingerprint
 * never evaluates.
 *
 *   npx tsx bench/analysis.ts [--programs 20000] [--collisions 100000] [--seed 1]
 *
 * Each figure is measured in this one run on one thread. "per core" = programs per CPU-second of
 * this process (user + system time, so other load on the machine does not count; wall time is
 * printed alongside); the ratio to the search's target of 50,000 children per second per core too.
 */
import { analyze, simplify } from '../src/analysis/simplify.ts';
import { structuralHash } from '../src/analysis/hash.ts';
import { countConflations, fingerprint } from '../src/analysis/fingerprint.ts';
import { reduce } from '../src/analysis/pipeline.ts';
import type { Program } from '../src/dsl/ast.ts';
import { checkProgram } from '../src/dsl/check.ts';
import { randomProgram } from '../src/dsl/generate.ts';
import { Rng } from '../src/util/rng.ts';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`bench/analysis.ts: --${name} needs a positive number`);
    process.exit(2);
  }
  return v;
}

const N = option('programs', 20_000);
const COLLISIONS = option('collisions', 100_000);
const SEED = option('seed', 1);
const TARGET = 50_000;

const rng = new Rng(SEED);
const programs: Program[] = [];
for (let i = 0; i < N; i++) programs.push(randomProgram(rng, { length: 10 + rng.int(21) }));
let sink = 0;

/** CPU seconds (user + system) this process used since `since`: robust to other load on the machine. */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

function rate(label: string, fn: (p: Program) => unknown): number {
  for (let i = 0; i < Math.min(2000, N); i++) fn(programs[i]!); // warm-up
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const p of programs) {
    const r = fn(p);
    if (typeof r === 'string') sink += r.length;
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(c0);
  const perSecond = N / cpu;
  console.log(
    `${label.padEnd(44)} ${Math.round(perSecond).toString().padStart(9)} programs/s/core   ${((cpu / N) * 1e6).toFixed(1).padStart(7)} us/program   ${(perSecond / TARGET).toFixed(2)}x target   (wall ${((wall / N) * 1e6).toFixed(1)} us)`,
  );
  return perSecond;
}

console.log(`analysis throughput on ${N} random programs of 10-30 statements (seed ${SEED}), one thread`);
rate('check', (p) => checkProgram(p).ok);
rate('simplify (no trace)', (p) => simplify(p, { trace: false }).program.statements.length);
rate('simplify (with trace)', (p) => simplify(p).steps.length);
rate('structuralHash', (p) => structuralHash(p));
rate('fingerprint', (p) => fingerprint(p));
rate('reduce only (liveness + rewrites + hashes)', (p) => reduce(p).hash);
rate('analyze: simplify + hash + fingerprint', (p) => analyze(p).fingerprint);
rate('check + analyze (the search hot path)', (p) => (checkProgram(p).ok ? analyze(p).fingerprint : ''));

// Fingerprint collisions: structurally different programs with the same fingerprint, and how many
// of those a second, independent probe set tells apart (different outputs beyond 1e-6 relative,
// or different NaN/Inf positions). That set is one probe set of the same design, drawn from a seed
// that is neither the fingerprint's nor one of its extension sets'.
function* collisionPrograms(): Generator<Program> {
  const crng = new Rng(SEED + 1);
  for (let i = 0; i < COLLISIONS; i++) yield randomProgram(crng, { length: 1 + crng.int(30) });
}
const t0 = performance.now();
const { distinctHashes, fingerprints, sharing, conflated: falseCollisions } = countConflations(collisionPrograms());
const seconds = (performance.now() - t0) / 1000;
console.log(`\nfingerprint collisions on ${COLLISIONS} random programs of 1-30 statements (${seconds.toFixed(1)} s)`);
console.log(`  distinct structural hashes:                           ${distinctHashes}`);
console.log(`  distinct fingerprints:                                ${fingerprints}`);
console.log(`  hashes sharing a fingerprint with another hash:       ${sharing}`);
console.log(`  ... of which a second probe set tells apart:          ${falseCollisions} (${((100 * falseCollisions) / distinctHashes).toFixed(3)}% of distinct hashes)`);
if (sink < 0) console.log(sink);
