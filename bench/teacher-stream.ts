/**
 * The reference backend's teacher-student batch cache: what a worker saves by keeping each seed's
 * training batches for the next program. Times AdamW, Lion and signum on two seeds, as a search
 * evaluates them (every program on the same seeds), with the cache off and with it warm, in
 * alternating rounds, and checks that both give the same loss curves bit for bit.
 *
 *   npx tsx bench/teacher-stream.ts [--task teacher-student-16] [--steps 1000] [--rounds 3]
 */
import { readFileSync } from 'node:fs';
import { setTeacherStreamCache, trainReference } from '../src/proxy/reference.ts';
import { resolveTaskList } from '../src/tasks/spec.ts';
import type { TrainResult } from '../src/vocabulary/index.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}
const base = resolveTaskList(arg('task', 'teacher-student-16'))[0];
if (!base || base.kind !== 'teacher-student') throw new Error('--task must name a teacher-student task');
const spec = { ...base, steps: Number(arg('steps', '1000')) };
const rounds = Number(arg('rounds', '3'));
const programs = ['adamw', 'lion', 'signum'].map((n) => readFileSync(new URL(`../search-spaces/programs/${n}.prog`, import.meta.url), 'utf8'));
const seeds = [1, 2];

function evaluateAll(): { seconds: number; results: TrainResult[] } {
  const t = performance.now();
  const results = programs.flatMap((program) => seeds.map((seed) => trainReference({ program, spec, fidelity: 1, seed, timeLimitSeconds: 3600 })));
  return { seconds: (performance.now() - t) / 1000, results };
}

const curves = (rs: readonly TrainResult[]): string => JSON.stringify(rs.map((r) => [r.status, r.finalLoss, r.lossCurve]));
console.log(`${spec.name}, ${spec.steps} steps, batch ${spec.batchSize}: ${programs.length} programs x ${seeds.length} seeds per round, ${rounds} rounds`);
setTeacherStreamCache(256 * 2 ** 20);
evaluateAll(); // warm-up: compiles the hot loops and fills the cache
const off: number[] = [];
const on: number[] = [];
let reference = '';
let identical = true;
for (let r = 0; r < rounds; r++) {
  setTeacherStreamCache(0);
  const a = evaluateAll();
  off.push(a.seconds);
  setTeacherStreamCache(256 * 2 ** 20);
  evaluateAll(); // fills the cache again (setTeacherStreamCache empties it)
  const b = evaluateAll();
  on.push(b.seconds);
  reference ||= curves(a.results);
  identical &&= curves(a.results) === reference && curves(b.results) === reference;
}
const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
const perRun = (s: number): string => `${((s * 1000) / (programs.length * seeds.length)).toFixed(0)} ms per run`;
console.log(`cache off: ${perRun(median(off))}; cache warm: ${perRun(median(on))}; speed-up x${(median(off) / median(on)).toFixed(2)} (medians of ${rounds} rounds)`);
console.log(`loss curves identical with and without the cache: ${identical}`);
