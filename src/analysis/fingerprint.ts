/**
 * Behavioural fingerprint (AutoML-Zero's functional equivalence check): run the reduced program
 * with the interpreter's op semantics (the `f` of every op in ops.ts, and applyOp for the
 * reductions) on fixed pseudo-random probe inputs for three steps with the state carried,
 * quantise every output to 27 significant bits (about 8 decimal digits; NaN, +Inf, -Inf and zero
 * each one token), and hash. Programs with the same fingerprint are treated as the same program
 * by the cache; x + x and 2 * x collide, as they should.
 *
 * The probe is PROBE_CONFIGS small independent "models", each with two leaves of two weights (so
 * per-leaf and global reductions differ). A fixed schedule gives every configuration a magnitude
 * kind and a sign mode for w and for g (see SCHEDULE) and an lr band, so each probe set visits the
 * same regions of input space: all-positive and all-negative configurations (an l2_normalize or a
 * dot turns one bad element into a NaN for the whole configuration), values just around 1 (where
 * the arc functions' domains end), w far above or below g. A reduction never mixes two
 * configurations, so a NaN in one does not poison the others. All configurations are evaluated in
 * one pass by the batched interpreter (src/analysis/batch-interpret.ts); only the update and the
 * live state slots are probed: a dead slot's returned value cannot change any later update.
 *
 * Two additions catch programs that agree on the probe points but not between them:
 * - thresh_sign's cut (its threshold, per step and configuration) is hashed with the outputs, since
 *   two thresholds with no probe value between them give equal outputs (see recordCut);
 * - when the outputs take at most FEW_VALUES distinct finite values (all NaN, a constant, a sign
 *   pattern: the behaviours that many different programs share) the program is probed again on
 *   EXTENSION_SETS more probe sets. The decision depends on the quantised outputs only, so programs
 *   with equal outputs are probed alike and equal programs still collide.
 */
import type { Program } from '../dsl/ast.ts';
import type { Layout } from '../dsl/ops.ts';
import { Rng } from '../util/rng.ts';
import { batchInterpreter, type ProbeSet } from './batch-interpret.ts';
import { Hash64 } from './canonical.ts';
import { reduce, type Reduced } from './pipeline.ts';

// The kernels are tested with the fingerprint they serve.
export { ARITHMETIC_KERNELS, unaryKernel } from './batch-interpret.ts';

export const DEFAULT_PROBE_SEED = 0x5eed;
/**
 * A second, independent probe set for measuring fingerprint collisions: the fingerprint never
 * probes it (neither as its own seed nor as an extension set; checked below).
 */
export const SECOND_PROBE_SEED = 0xbeef17;

/**
 * Magnitude bands (log10 |x|) a configuration draws a tensor from. They tile 1e-7 .. 1e3, with
 * extra resolution around 1, where the domains of arcsin, arccos, arctanh, arccosh, unit_clip and
 * the sign of log change. WIDE draws every element from its own magnitude, so a configuration
 * straddles every boundary at once.
 */
const BANDS: readonly (readonly [number, number])[] = [
  [-3, -2],
  [-2, -1.2],
  [-1.2, -0.5],
  [-0.5, 0],
  [-0.03, 0.03], // NEAR_ONE: drawn as 1 +- 10^U(NEAR_ONE_LOG_DISTANCE), not from this band
  [0, 0.5],
  [0.5, 1.3],
  [1.3, 2],
];
const WIDE: readonly [number, number] = [-3, 2];
/** The band around 1 (index in BANDS): magnitudes 1 +- 10^U(NEAR_ONE_LOG_DISTANCE) instead. */
const NEAR_ONE = 4;
const NEAR_ONE_LOG_DISTANCE: readonly [number, number] = [-7, -1];
const KINDS = BANDS.length + 1;
/**
 * Signs of a configuration's elements: random per element, one sign for the whole configuration,
 * one sign per leaf; drawn afresh each step, so a gradient can also turn against its momentum.
 */
const SIGN_MODES = 3;
/** lr bands (log10), one per configuration, cycled. */
const LR_BANDS: readonly (readonly [number, number])[] = [
  [-3, -2],
  [-2, -1],
  [-1, 0],
  [-0.3, 0.3],
];

/** Number of probe configurations and their leaf sizes. */
export const PROBE_CONFIGS = KINDS * SIGN_MODES;
const LEAVES: readonly number[] = [2, 2];
const STEPS = 3;

const INTERPRETER = batchInterpreter({ configs: PROBE_CONFIGS, leaves: LEAVES, steps: STEPS });
const LAYOUT: Layout = INTERPRETER.layout;
const PER_CONFIG = LAYOUT.total;
const TOTAL = INTERPRETER.total;

/**
 * What configuration c draws from: a magnitude kind and a sign mode for w and for g, and an lr
 * band. A fixed schedule (not drawn from the seed), so every probe set covers every kind and sign
 * mode of w, each paired with a different kind of g, and every band of lr: probe sets from two
 * seeds differ in the values, not in which regions of input space they visit.
 */
interface ConfigKind {
  readonly wKind: number;
  readonly wSign: number;
  readonly gKind: number;
  readonly gSign: number;
  readonly lrBand: number;
}
const SCHEDULE: readonly ConfigKind[] = Array.from({ length: PROBE_CONFIGS }, (_, c) => {
  const block = Math.floor(c / KINDS);
  return {
    wKind: c % KINDS,
    wSign: block,
    gKind: (c + 1 + 3 * block) % KINDS,
    gSign: (c + block) % SIGN_MODES,
    lrBand: c % LR_BANDS.length,
  };
});

const probeCache = new Map<number, ProbeSet>();

function probeSet(seed: number): ProbeSet {
  let set = probeCache.get(seed);
  if (set) return set;
  const rng = new Rng(seed);
  const magnitude = (kind: number, wideLo: number, wideHi: number): number => {
    // log-uniform distance to 1, so a domain edge at 1 + d is straddled for every scale of d
    if (kind === NEAR_ONE) return 1 + (rng.next() < 0.5 ? -1 : 1) * Math.pow(10, rng.uniform(NEAR_ONE_LOG_DISTANCE[0], NEAR_ONE_LOG_DISTANCE[1]));
    const [lo, hi] = kind < BANDS.length ? (BANDS[kind] as readonly [number, number]) : [wideLo, wideHi];
    return Math.pow(10, rng.uniform(lo, hi));
  };
  const randomSign = (): number => (rng.next() < 0.5 ? -1 : 1);
  const tensor = (kindOf: (k: ConfigKind) => number, signOf: (k: ConfigKind) => number): Float64Array => {
    const t = new Float64Array(TOTAL);
    for (let c = 0; c < PROBE_CONFIGS; c++) {
      const k = SCHEDULE[c] as ConfigKind;
      const mode = signOf(k);
      const whole = randomSign();
      for (let l = 0; l < LEAVES.length; l++) {
        const leaf = randomSign();
        const from = c * PER_CONFIG + (LAYOUT.offsets[l] as number);
        for (let i = from; i < from + (LEAVES[l] as number); i++) {
          const sign = mode === 1 ? whole : mode === 2 ? leaf : randomSign();
          t[i] = sign * magnitude(kindOf(k), WIDE[0], WIDE[1]);
        }
      }
    }
    return t;
  };
  const w: Float64Array[] = [];
  const g: Float64Array[] = [];
  const lr: Float64Array[] = [];
  for (let s = 0; s < STEPS; s++) {
    w.push(tensor((k) => k.wKind, (k) => k.wSign));
    g.push(tensor((k) => k.gKind, (k) => k.gSign));
    const l = new Float64Array(PROBE_CONFIGS);
    for (let c = 0; c < PROBE_CONFIGS; c++) {
      const [lo, hi] = LR_BANDS[(SCHEDULE[c] as ConfigKind).lrBand] as readonly [number, number];
      l[c] = Math.pow(10, rng.uniform(lo, hi));
    }
    lr.push(l);
  }
  set = { w, g, lr };
  probeCache.set(seed, set);
  return set;
}

/**
 * The probe inputs as the interpreter takes them: per configuration, per step, (w, g, lr) over a
 * model with leaves LEAVES. For tests that check the batched probe against the interpreter.
 */
export function probeInputs(seed: number = DEFAULT_PROBE_SEED): { layout: Layout; configs: { w: Float64Array; g: Float64Array; lr: number }[][] } {
  const set = probeSet(seed);
  const configs: { w: Float64Array; g: Float64Array; lr: number }[][] = [];
  for (let c = 0; c < PROBE_CONFIGS; c++) {
    const from = c * PER_CONFIG;
    configs.push(
      set.w.map((w, s) => ({ w: w.slice(from, from + PER_CONFIG), g: (set.g[s] as Float64Array).slice(from, from + PER_CONFIG), lr: (set.lr[s] as Float64Array)[c] as number })),
    );
  }
  return { layout: LAYOUT, configs };
}

/**
 * thresh_sign's cuts (BatchRun.cuts) are hashed with the outputs: two thresholds that no probe value
 * falls between give equal outputs yet differ on the band between them, the only op whose
 * behaviour hangs on a scalar parameter that point samples cannot pin down. One row per node.
 */
const CUT_ROW = STEPS * PROBE_CONFIGS;

/** Row a of `cuts` before row b (NaN last), so the cut rows enter the hash in an order the graph's node order does not decide. */
function compareCutRows(cuts: Float64Array, a: number, b: number): number {
  for (let i = 0; i < CUT_ROW; i++) {
    const x = cuts[a * CUT_ROW + i] as number;
    const y = cuts[b * CUT_ROW + i] as number;
    if (x === y || (x !== x && y !== y)) continue;
    if (x !== x) return 1;
    if (y !== y) return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Raw probe outputs of a reduced program: per step, the update then each live slot, over all configurations. */
export function probeReduced(r: Reduced, seed: number = DEFAULT_PROBE_SEED): Float64Array {
  return INTERPRETER.run(r, probeSet(seed)).outputs.slice();
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;

/** Hash of values quantised to 27 significant bits; NaN, +-Inf and +-0 are single tokens. */
export function hashQuantised(values: Float64Array): string {
  const h = new Hash64();
  mixWords(h, values, new Uint32Array(values.buffer, values.byteOffset, values.length * 2), values.length);
  return h.hex();
}

/** A probe whose outputs take at most this many distinct finite values is extended (see fingerprintReduced). */
const FEW_VALUES = 4;
/** Distinct quantised finite values the last mixWords saw, counted up to FEW_VALUES + 1. */
let seenCount = 0;

/**
 * Mixes values[0, length) quantised into h's two murmur3-style lanes (`words` is a Uint32Array
 * view of the same memory), and counts their distinct finite values up to FEW_VALUES + 1.
 */
function mixWords(h: Hash64, values: Float64Array, words: Uint32Array, length: number): void {
  let a = h.a ^ length;
  let b = h.b ^ Math.imul(length, 0x9e3779b1);
  let seen = 0;
  let h0 = 0;
  let l0 = 0;
  let h1 = 0;
  let l1 = 0;
  let h2 = 0;
  let l2 = 0;
  let h3 = 0;
  let l3 = 0;
  for (let i = 0; i < length; i++) {
    const x = values[i] as number;
    let hi: number;
    let lo: number;
    // hi and lo as int32 (the hash reads them through imul and bit ops, which see the same bits).
    if (x !== x) ((hi = 0x7ff80000), (lo = 1));
    else if (x === Infinity) ((hi = 0x7ff00000), (lo = 2));
    else if (x === -Infinity) ((hi = 0xfff00000 | 0), (lo = 2));
    else {
      if (x === 0) ((hi = 0), (lo = 0));
      else {
        // Round to 27 significant bits: add half a unit of the kept low word, carry into the high word.
        const low = words[2 * i + LO] as number;
        hi = (words[2 * i + HI] as number) | 0;
        if (low >= 0xff000000) hi = (hi + 1) | 0;
        lo = (low + 0x01000000) & 0xfe000000;
      }
      // Distinct finite values, counted up to FEW_VALUES + 1 in locals (the hot case is a sign pattern).
      if (seen <= FEW_VALUES) {
        if (seen === 0) ((h0 = hi), (l0 = lo), (seen = 1));
        else if ((hi !== h0 || lo !== l0) && (seen < 2 || hi !== h1 || lo !== l1) && (seen < 3 || hi !== h2 || lo !== l2) && (seen < 4 || hi !== h3 || lo !== l3)) {
          if (seen === 1) ((h1 = hi), (l1 = lo));
          else if (seen === 2) ((h2 = hi), (l2 = lo));
          else if (seen === 3) ((h3 = hi), (l3 = lo));
          seen++;
        }
      }
    }
    let k = Math.imul(hi, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    a ^= k;
    a = (a << 13) | (a >>> 19);
    a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    k = Math.imul(lo, 0xcc9e2d51);
    k = Math.imul((k << 15) | (k >>> 17), 0x1b873593);
    a ^= k;
    a = (a << 13) | (a >>> 19);
    a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    let j = Math.imul(lo ^ 0x5bd1e995, 0x85ebca6b) ^ hi;
    j = Math.imul((j << 17) | (j >>> 15), 0xc2b2ae35);
    b ^= j;
    b = (b << 11) | (b >>> 21);
    b = (Math.imul(b, 9) + 0x7f4a7c15) | 0;
  }
  h.a = a;
  h.b = b;
  seenCount = seen;
}

/** Raw probe outputs of a program (reduced first). */
export function probeOutputs(p: Program, seed: number = DEFAULT_PROBE_SEED): Float64Array {
  return probeReduced(reduce(p), seed);
}

/** The sorted cut rows and their count, hashed after the outputs (reused between calls). */
let cutBuf = new Float64Array(CUT_ROW + 1);
let cutWords = new Uint32Array(cutBuf.buffer);

/** Probes one seed, mixes its outputs and then its cut rows into h; true when the outputs take few values. */
function mixProbe(h: Hash64, r: Reduced, seed: number): boolean {
  const { outputs, outputWords, cuts, cutRowCount } = INTERPRETER.run(r, probeSet(seed));
  // A row of zeros is a thresh_sign that acts as sign(x) on the whole probe: no cut to record.
  const rows: number[] = [];
  for (let row = 0; row < cutRowCount; row++) {
    for (let i = row * CUT_ROW; i < (row + 1) * CUT_ROW; i++) {
      if (cuts[i] !== 0) {
        rows.push(row);
        break;
      }
    }
  }
  mixWords(h, outputs, outputWords, outputs.length);
  const few = seenCount <= FEW_VALUES;
  if (rows.length > 0) {
    rows.sort((a, b) => compareCutRows(cuts, a, b));
    const length = rows.length * CUT_ROW + 1;
    if (cutBuf.length < length) {
      cutBuf = new Float64Array(Math.max(length, cutBuf.length * 2));
      cutWords = new Uint32Array(cutBuf.buffer);
    }
    let at = 0;
    for (const row of rows) {
      cutBuf.set(cuts.subarray(row * CUT_ROW, (row + 1) * CUT_ROW), at);
      at += CUT_ROW;
    }
    // The row count, so cut rows can never pass for output values.
    cutBuf[at++] = -rows.length;
    mixWords(h, cutBuf, cutWords, at);
  }
  return few;
}

/** Extra probe sets for few-valued outputs; their seeds are derived from the probe seed. */
export const EXTENSION_SETS = 2;

/** Seed of extension set k (0-based) of the probe seeded with `seed`. */
export function extensionSeed(seed: number, k: number): number {
  return (Math.imul(seed ^ 0x3c6ef372, 0x9e3779b1) + Math.imul(k + 1, 0x85ebca6b)) >>> 0;
}

/** Every seed the fingerprint on the probe seeded with `seed` may evaluate. */
export function fingerprintSeeds(seed: number = DEFAULT_PROBE_SEED): number[] {
  return [seed, ...Array.from({ length: EXTENSION_SETS }, (_, k) => extensionSeed(seed, k))];
}

if (fingerprintSeeds().includes(SECOND_PROBE_SEED)) throw new Error('SECOND_PROBE_SEED must stay outside the fingerprint\'s probe sets');

export function fingerprintReduced(r: Reduced, seed: number = DEFAULT_PROBE_SEED): string {
  const h = new Hash64();
  if (mixProbe(h, r, seed)) for (let k = 0; k < EXTENSION_SETS; k++) mixProbe(h, r, extensionSeed(seed, k));
  return h.hex();
}

/** The behavioural fingerprint on the default probe set (16 hex digits). */
export function fingerprint(p: Program): string {
  return fingerprintReduced(reduce(p), DEFAULT_PROBE_SEED);
}

/** The fingerprint on the probe set drawn from `seed`. */
export function fingerprintWithSeed(p: Program, seed: number): string {
  return fingerprintReduced(reduce(p), seed);
}

/**
 * Share of positions where two probe outputs differ: beyond 1e-6 relative, or in where NaN and
 * infinities stand. 1 when the lengths differ.
 */
export function differingFraction(a: Float64Array, b: Float64Array): number {
  if (a.length !== b.length) return 1;
  let differ = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    if (!Number.isFinite(x) || !Number.isFinite(y) || Math.abs(x - y) > 1e-6 * Math.max(Math.abs(x), Math.abs(y))) differ++;
  }
  return differ / a.length;
}

export interface ConflationCount {
  /** Distinct structural hashes among the programs. */
  readonly distinctHashes: number;
  readonly fingerprints: number;
  /** Hashes whose fingerprint an earlier, different hash already had. */
  readonly sharing: number;
  /** Of those, how many the second probe set (SECOND_PROBE_SEED) tells apart from the first hash of the group. */
  readonly conflated: number;
  /** Largest share of second-probe positions that differ within a conflated pair. */
  readonly worstFraction: number;
}

/**
 * How often the fingerprint conflates programs that really differ: structurally different programs
 * sharing a fingerprint whose outputs on SECOND_PROBE_SEED (one probe set, which the fingerprint
 * never evaluates) differ beyond 1e-6 relative or in where NaN and infinities stand.
 */
export function countConflations(programs: Iterable<Program>): ConflationCount {
  const groups = new Map<string, Map<string, Float64Array>>();
  let distinctHashes = 0;
  let sharing = 0;
  let conflated = 0;
  let worstFraction = 0;
  for (const p of programs) {
    const r = reduce(p);
    const fp = fingerprintReduced(r, DEFAULT_PROBE_SEED);
    let group = groups.get(fp);
    if (!group) groups.set(fp, (group = new Map()));
    if (group.has(r.hash)) continue;
    distinctHashes++;
    const second = probeReduced(r, SECOND_PROBE_SEED);
    if (group.size === 0) {
      group.set(r.hash, second);
      continue;
    }
    sharing++;
    const first = group.values().next().value as Float64Array;
    const fraction = differingFraction(first, second);
    if (fraction > 0) {
      conflated++;
      worstFraction = Math.max(worstFraction, fraction);
    }
    group.set(r.hash, first);
  }
  return { distinctHashes, fingerprints: groups.size, sharing, conflated, worstFraction };
}
