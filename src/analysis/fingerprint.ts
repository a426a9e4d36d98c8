/**
 * Behavioural fingerprint (AutoML-Zero's functional equivalence check): run the reduced program
 * with the interpreter's op semantics on fixed pseudo-random probe inputs for a few steps with the
 * state carried, quantise every output to 27 significant bits (about 8 decimal digits; NaN, +Inf,
 * -Inf and zero each one token), and hash. Programs with the same fingerprint are treated as the
 * same program by the cache; x + x and 2 * x collide, as they should.
 *
 * Probes: two tensor layouts (leaves [2, 3] and [4], so per-leaf and global reductions are told
 * apart), three steps each with fresh weights and gradients and a different lr per step. Values
 * are N(0, 1) times 10^U(-1.5, 1), so they span about three decades. A scalar update counts as that
 * scalar broadcast over the weights (the caller applies w - update either way). Only the update and
 * the live state slots are probed: a dead slot's returned value cannot change any later update.
 */
import type { Program } from '../dsl/ast.ts';
import { applyOp } from '../dsl/interpret.ts';
import { makeLayout, type Layout, type OpSpec, type Value } from '../dsl/ops.ts';
import { Rng } from '../util/rng.ts';
import { Hash64 } from './canonical.ts';
import { CONST, INPUT, OP_SPECS } from './graph.ts';
import { reduce, type Reduced } from './pipeline.ts';

export const DEFAULT_PROBE_SEED = 0x5eed;
/** A second, independent probe set (for measuring fingerprint collisions). */
export const SECOND_PROBE_SEED = 0xbeef17;

interface ProbeStep {
  readonly w: Float64Array;
  readonly g: Float64Array;
  readonly lr: number;
}

interface ProbeConfig {
  readonly layout: Layout;
  readonly steps: readonly ProbeStep[];
}

const LAYOUTS: readonly (readonly number[])[] = [[2, 3], [4]];
const STEPS = 3;

const probeCache = new Map<number, readonly ProbeConfig[]>();

function probeSet(seed: number): readonly ProbeConfig[] {
  let set = probeCache.get(seed);
  if (set) return set;
  const rng = new Rng(seed);
  const value = (): number => rng.normal() * Math.pow(10, rng.uniform(-1.5, 1));
  const tensor = (n: number): Float64Array => {
    const t = new Float64Array(n);
    for (let i = 0; i < n; i++) t[i] = value();
    return t;
  };
  set = LAYOUTS.map((sizes) => {
    const layout = makeLayout(sizes);
    const steps: ProbeStep[] = [];
    for (let s = 0; s < STEPS; s++) steps.push({ w: tensor(layout.total), g: tensor(layout.total), lr: Math.pow(10, rng.uniform(-1.5, 0.5)) });
    return { layout, steps };
  });
  probeCache.set(seed, set);
  return set;
}

/** Raw probe outputs of a reduced program: per config, per step, the update then each live slot. */
export function probeReduced(r: Reduced, seed: number = DEFAULT_PROBE_SEED): Float64Array {
  const g = r.graph;
  const outputs = r.outputs;
  const slots = outputs.length - 1;
  const live: number[] = [];
  for (let i = 0; i < slots; i++) if (r.liveSlots[i]) live.push(i);
  const configs = probeSet(seed);
  let total = 0;
  for (const c of configs) total += c.steps.length * c.layout.total * (1 + live.length);
  const out = new Float64Array(total);
  let at = 0;
  const values: Value[] = new Array(g.size);
  const args: Value[] = [];
  for (const c of configs) {
    const n = c.layout.total;
    let state: Float64Array[] = [];
    for (let i = 0; i < slots; i++) state.push(new Float64Array(n));
    for (const st of c.steps) {
      for (let id = 0; id < g.size; id++) {
        const op = g.op[id] as number;
        if (op === INPUT) {
          const k = g.value[id] as number;
          values[id] = k === 0 ? st.w : k === 1 ? st.g : k === g.inputCount - 1 ? st.lr : (state[k - 2] as Float64Array);
        } else if (op === CONST) values[id] = g.value[id] as number;
        else {
          const a = g.args[id] as readonly number[];
          args.length = a.length;
          for (let j = 0; j < a.length; j++) args[j] = values[a[j] as number] as Value;
          values[id] = applyOp(OP_SPECS[op] as OpSpec, args, c.layout);
        }
      }
      const u = values[outputs[0] as number] as Value;
      if (typeof u === 'number') out.fill(u, at, at + n);
      else out.set(u, at);
      at += n;
      for (const i of live) {
        out.set(values[outputs[1 + i] as number] as Float64Array, at);
        at += n;
      }
      const next: Float64Array[] = [];
      for (let i = 0; i < slots; i++) next.push(values[outputs[1 + i] as number] as Float64Array);
      state = next;
    }
  }
  return out;
}

const F64 = new Float64Array(1);
const U32 = new Uint32Array(F64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LO = LITTLE_ENDIAN ? 0 : 1;
const HI = 1 - LO;

/** Hash of values quantised to 27 significant bits; NaN, +-Inf and +-0 are single tokens. */
export function hashQuantised(values: Float64Array): string {
  const h = new Hash64();
  h.add(values.length);
  for (let i = 0; i < values.length; i++) {
    const x = values[i] as number;
    if (x !== x) h.add(0x7ff80000).add(1);
    else if (x === 0) h.add(0).add(0);
    else if (x === Infinity) h.add(0x7ff00000).add(2);
    else if (x === -Infinity) h.add(0xfff00000).add(2);
    else {
      F64[0] = x;
      let hi = U32[HI] as number;
      let lo = (U32[LO] as number) + 0x01000000;
      if (lo > 0xffffffff) {
        lo -= 0x100000000;
        hi = (hi + 1) >>> 0;
      }
      h.add(hi).add((lo & 0xfe000000) >>> 0);
    }
  }
  return h.hex();
}

/** Raw probe outputs of a program (reduced first). */
export function probeOutputs(p: Program, seed: number = DEFAULT_PROBE_SEED): Float64Array {
  return probeReduced(reduce(p), seed);
}

export function fingerprintReduced(r: Reduced, seed: number = DEFAULT_PROBE_SEED): string {
  return hashQuantised(probeReduced(r, seed));
}

/** The behavioural fingerprint on the default probe set (16 hex digits). */
export function fingerprint(p: Program): string {
  return fingerprintReduced(reduce(p), DEFAULT_PROBE_SEED);
}

/** The fingerprint on the probe set drawn from `seed`. */
export function fingerprintWithSeed(p: Program, seed: number): string {
  return fingerprintReduced(reduce(p), seed);
}
