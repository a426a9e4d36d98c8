/**
 * Valid children per second on one core: mutation chains from the AdamW warm start (a fresh chain
 * every 200 children), each child type-checked and guarded by a hash, in three configurations
 * measured in one run:
 *   exact     mutate + check, guard = printed text (sees every change)
 *   struct    mutate + check, guard = structural hash (src/analysis/hash.ts)
 *   struct+fp as struct, plus the behavioural fingerprint of every child (what the cache computes)
 *
 *   npx tsx bench/mutation.ts [--space laptop] [--seconds 3]
 */
import { structuralHash } from '../src/analysis/hash.ts';
import { fingerprint } from '../src/analysis/fingerprint.ts';
import type { Program } from '../src/dsl/ast.ts';
import { printProgram } from '../src/dsl/print.ts';
import { mutate } from '../src/search/mutate.ts';
import { loadSearchSpace, type SearchSpace } from '../src/search/space.ts';
import { Rng } from '../src/util/rng.ts';

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? (process.argv[i + 1] as string) : fallback;
}

const space = loadSearchSpace(option('space', 'laptop'));
const seconds = Number(option('seconds', '3'));
if (!(seconds > 0)) throw new Error('--seconds must be a positive number');

interface Config {
  readonly name: string;
  readonly hash: (p: Program) => string;
  readonly fingerprint: boolean;
  /** The hash is blind to dead code, so dead-at-birth insertions are skipped unhashed. */
  readonly ignoresDeadCode?: boolean;
}

function measure(space: SearchSpace, config: Config, budgetSeconds: number): { perSecond: number; children: number; meanLength: number } {
  const rng = new Rng(1234);
  let parent = space.warmStart.program;
  let parentHash = config.hash(parent);
  let children = 0;
  let lengths = 0;
  let sink = 0;
  const start = performance.now();
  const end = start + budgetSeconds * 1000;
  while (performance.now() < end) {
    // Check the clock every 100 children, so timing does not dominate the loop.
    for (let i = 0; i < 100; i++) {
      if (children % 200 === 0) {
        parent = space.warmStart.program;
        parentHash = config.hash(parent);
      }
      const { child, childHash } = mutate(parent, rng, space, config.hash, { parentHash, hashIgnoresDeadCode: config.ignoresDeadCode ?? false });
      parentHash = childHash;
      if (config.fingerprint) sink += fingerprint(child).length;
      lengths += child.statements.length;
      parent = child;
      children++;
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  if (sink < 0) console.log(sink);
  return { perSecond: children / elapsed, children, meanLength: lengths / children };
}

const configs: Config[] = [
  { name: 'exact', hash: printProgram, fingerprint: false },
  { name: 'struct', hash: (p) => structuralHash(p), fingerprint: false },
  { name: 'struct+fp', hash: (p) => structuralHash(p), fingerprint: true },
  { name: 'struct, dead inserts skipped', hash: (p) => structuralHash(p), fingerprint: false, ignoresDeadCode: true },
  { name: 'struct+fp, dead inserts skipped', hash: (p) => structuralHash(p), fingerprint: true, ignoresDeadCode: true },
];

// A short warm-up so that the JIT has compiled the hot paths before any clock runs.
for (const c of configs) measure(space, c, 0.3);

console.log(`space ${space.name}: ${space.ops.length} ops, length ${space.length.min}..${space.length.max}, ${seconds} s per configuration, one core`);
const results = configs.map((c) => ({ c, r: measure(space, c, seconds) }));
const base = results[0]!.r.perSecond;
for (const { c, r } of results) {
  console.log(
    `${c.name.padEnd(10)} ${Math.round(r.perSecond).toLocaleString('en-US').padStart(9)} valid children/s per core` +
      `  (${(1e6 / r.perSecond).toFixed(1)} us each, mean length ${r.meanLength.toFixed(1)}, ${(r.perSecond / base).toFixed(3)}x exact)`,
  );
}
const full = results[2]!.r.perSecond;
console.log(`AutoML-Zero reports 2k-22k children per core (reference/anchors.md): struct+fp is ${(full / 2000).toFixed(2)}x the low end, ${(full / 22000).toFixed(2)}x the high end`);
