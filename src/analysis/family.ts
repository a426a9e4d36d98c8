/**
 * Which optimizer family a program belongs to, modulo constants, read off its reduced dataflow
 * graph (after liveness and rewrites, so spelling differences the rules normalise do not matter).
 *
 * The update is split into a linear combination of terms with coefficients c * lr^k (through +, -,
 * negative and multiplication by constants and lr), so weight decay added before or after the lr
 * scaling, and lr folded in anywhere in a product, read the same. One term must be the weights w
 * (decoupled decay, optional), exactly one other term is the direction D:
 *
 *   Lion     D = sign(interp(G, s, b1)) with slot s returning interp(G, s, b2), b1 != b2
 *   signum   the same with b1 = b2 (sign of the updated momentum; the paper's ablation, not Lion)
 *   Lion-K   the same with sign replaced by tanh, unit_clip, rel_sign, l2_normalize, thresh_sign(., e)
 *            or the identity (b1 != b2; with b1 = b2 the identity is plain momentum)
 *   momentum D = interp(G, s, b) with slot s returning that same EMA
 *   AdamW    D = M / sqrt(V) (or / (sqrt(V) + eps)), M, V the updated EMAs of G and square(G)
 *   SGD      D = G;  signSGD  D = sign(G)
 *
 * An EMA may also be written as b * s + a * G; it is standard when a = 1 - b. G is the gradient g
 * or any expression of g and lr alone (a gradient transform, reported as a difference).
 */
import type { Program } from '../dsl/ast.ts';
import { formatNumber } from '../dsl/print.ts';
import { CONST, INPUT, OP, OP_SPECS, type Graph } from './graph.ts';
import { reduce, type Reduced } from './pipeline.ts';
import { EPS } from '../dsl/ops.ts';

export type FamilyName = 'lion' | 'signum' | 'lion-k' | 'momentum' | 'adamw' | 'sgd' | 'signsgd' | 'unknown';

/** The direction map of Lion-K (the gradient of K); 'identity' is K = half the squared L2 norm. */
export type Direction = 'sign' | 'tanh' | 'unit_clip' | 'rel_sign' | 'l2_normalize' | 'thresh_sign' | 'identity';

export interface FamilyHyperparameters {
  /** Interpolation weight of the EMA the direction reads (Lion's beta1). */
  b1?: number;
  /** Interpolation weight of the stored EMA (Lion's beta2; AdamW's beta2 is the second moment's). */
  b2?: number;
  /** Decoupled weight decay lambda: update = lr * lrMultiplier * (D + lambda * w). */
  weightDecay?: number;
  lrMultiplier?: number;
  direction?: Direction;
  /** thresh_sign's threshold. */
  threshold?: number;
  /** AdamW: the explicit epsilon added to sqrt(v) plus the 1e-8 of protected division. */
  epsilon?: number;
}

export interface FamilyReading {
  /** The family, or for 'unknown' programs see `nearest`. */
  readonly family: FamilyName;
  /** True when the program is exactly the family's form (any constants). */
  readonly exact: boolean;
  readonly hyperparameters: FamilyHyperparameters;
  /** The state slot holding the momentum (or first moment), when there is one. */
  readonly momentumSlot?: string;
  /** For 'unknown': the closest family; otherwise the family itself. */
  readonly nearest: Exclude<FamilyName, 'unknown'>;
  /** What differs from the (nearest) family's exact form. */
  readonly differences: readonly string[];
  /** One line for people. */
  readonly summary: string;
}

const DIRECTION_OPS = new Map<number, Direction>([
  [OP.sign, 'sign'],
  [OP.tanh, 'tanh'],
  [OP.unit_clip, 'unit_clip'],
  [OP.rel_sign, 'rel_sign'],
  [OP.l2_normalize, 'l2_normalize'],
  [OP.thresh_sign, 'thresh_sign'],
]);

interface Term {
  node: number;
  c: number;
  /** Power of lr in the coefficient. */
  k: number;
}

interface Ctx {
  readonly g: Graph;
  readonly r: Reduced;
  readonly lr: number;
  readonly inputs: readonly string[];
  /** Bit i set: the node depends on input i (inputs beyond 30 share bit 30). */
  readonly deps: Int32Array;
  /** Nodes the update's linear split treats as one term: the returned state values. */
  readonly atoms: ReadonlySet<number>;
}

function dependencyMasks(g: Graph): Int32Array {
  const m = new Int32Array(g.size);
  for (let n = 0; n < g.size; n++) {
    if (g.op[n] === INPUT) m[n] = 1 << Math.min(g.value[n] as number, 30);
    else for (const a of g.args[n] as readonly number[]) m[n] = (m[n] as number) | (m[a] as number);
  }
  return m;
}

/** c * lr^k when n is a product of constants and lr. */
function coefficient(x: Ctx, n: number): { c: number; k: number } | undefined {
  const g = x.g;
  if (g.op[n] === CONST) return { c: g.value[n] as number, k: 0 };
  if (n === x.lr) return { c: 1, k: 1 };
  if (g.op[n] === OP.mul) {
    const [a, b] = g.args[n] as readonly number[];
    const ca = coefficient(x, a!);
    const cb = ca && coefficient(x, b!);
    return ca && cb ? { c: ca.c * cb.c, k: ca.k + cb.k } : undefined;
  }
  if (g.op[n] === OP.negative) {
    const ca = coefficient(x, (g.args[n] as readonly number[])[0]!);
    return ca && { c: -ca.c, k: ca.k };
  }
  return undefined;
}

/** Linear terms of n, each coefficient c * lr^k. */
function linear(x: Ctx, n: number, c: number, k: number, out: Term[]): void {
  const g = x.g;
  const op = g.op[n] as number;
  const a = g.args[n] as readonly number[];
  if (x.atoms.has(n)) return push(out, n, c, k);
  if (op === OP.add) {
    linear(x, a[0]!, c, k, out);
    linear(x, a[1]!, c, k, out);
    return;
  }
  if (op === OP.sub) {
    linear(x, a[0]!, c, k, out);
    linear(x, a[1]!, -c, k, out);
    return;
  }
  if (op === OP.negative) {
    linear(x, a[0]!, -c, k, out);
    return;
  }
  if (op === OP.mul) {
    const cb = coefficient(x, a[1]!);
    if (cb) return linear(x, a[0]!, c * cb.c, k + cb.k, out);
    const ca = coefficient(x, a[0]!);
    if (ca) return linear(x, a[1]!, c * ca.c, k + ca.k, out);
  }
  push(out, n, c, k);
}

function push(out: Term[], n: number, c: number, k: number): void {
  const same = out.find((t) => t.node === n && t.k === k);
  if (same) same.c += c;
  else out.push({ node: n, c, k });
}

function terms(x: Ctx, n: number): Term[] {
  const out: Term[] = [];
  linear(x, n, 1, 0, out);
  return out.filter((t) => t.c !== 0);
}

/** A gradient-like node: depends on g, and on nothing but g, lr and (coupled decay) w. */
function isGradientLike(x: Ctx, n: number): boolean {
  const m = x.deps[n] as number;
  const lrBit = 1 << Math.min(x.g.inputCount - 1, 30);
  return (m & 2) !== 0 && (m & ~(1 | 2 | lrBit)) === 0;
}

const dependsOnWeights = (x: Ctx, n: number): boolean => ((x.deps[n] as number) & 1) !== 0;

interface Ema {
  slot: number;
  beta: number;
  source: number;
  /** Coefficient on the source; standard is 1 - beta. */
  gain: number;
}

/** n = beta * s + gain * G for a state slot s and a source G (gradient-like, or as `source` says). */
function emaOf(x: Ctx, n: number, source: (m: number) => boolean = (m) => isGradientLike(x, m)): Ema | undefined {
  const g = x.g;
  const slots = g.inputCount - 3;
  const slotOf = (m: number): number => (g.op[m] === INPUT && m >= 2 && m - 2 < slots ? m - 2 : -1);
  const a = g.args[n] as readonly number[];
  if (g.op[n] === OP.interp && g.op[a[2]!] === CONST) {
    const w = g.value[a[2]!] as number;
    if (slotOf(a[1]!) >= 0 && source(a[0]!)) return { slot: slotOf(a[1]!), beta: w, source: a[0]!, gain: 1 - w };
    if (slotOf(a[0]!) >= 0 && source(a[1]!)) return { slot: slotOf(a[0]!), beta: 1 - w, source: a[1]!, gain: w };
    return undefined;
  }
  if (g.op[n] !== OP.add) return undefined;
  // beta * s + gain * G, each side possibly unscaled.
  const split = (m: number): [number, number] => {
    if (g.op[m] === OP.mul) {
      const [p, q] = g.args[m] as readonly number[];
      if (g.op[q!] === CONST) return [p!, g.value[q!] as number];
      if (g.op[p!] === CONST) return [q!, g.value[p!] as number];
    }
    return [m, 1];
  };
  for (const [sa, qa] of [
    [a[0]!, a[1]!],
    [a[1]!, a[0]!],
  ] as const) {
    const [sn, beta] = split(sa);
    const [qn, gain] = split(qa);
    if (slotOf(sn) >= 0 && source(qn)) return { slot: slotOf(sn), beta, source: qn, gain };
  }
  return undefined;
}

const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(a), Math.abs(b));

/** Expression text of a node, inputs by name. */
function show(x: Ctx, n: number, depth = 0): string {
  const g = x.g;
  if (g.op[n] === CONST) return formatNumber(g.value[n] as number);
  if (g.op[n] === INPUT) return x.inputs[g.value[n] as number] as string;
  if (depth > 6) return '...';
  const spec = OP_SPECS[g.op[n] as number]!;
  const parts = (g.args[n] as readonly number[]).map((a) => show(x, a, depth + 1));
  if (spec.infix !== undefined) return `(${parts[0]} ${spec.infix} ${parts[1]})`;
  return `${spec.name}(${parts.join(', ')})`;
}

/** `reduced`: the program's reduction when the caller has it (analyze() does), so it is not redone. */
export function recognizeFamily(p: Program, reduced?: Reduced): FamilyReading {
  const r = reduced ?? reduce(p);
  const g = r.graph;
  const x: Ctx = { g, r, lr: g.inputCount - 1, inputs: p.inputs, deps: dependencyMasks(g), atoms: new Set(r.outputs.slice(1)) };
  const diffs: string[] = [];
  const hp: FamilyHyperparameters = {};
  const update = r.outputs[0] as number;

  const ts = terms(x, update);
  const decay = ts.filter((t) => t.node === 0);
  const rest = ts.filter((t) => t.node !== 0);
  if (rest.length !== 1 || decay.length > 1) return nearest(x, `the update is not one direction plus decoupled weight decay (${rest.length} direction terms)`);
  const d = rest[0] as Term;
  hp.lrMultiplier = d.c;
  if (d.k !== 1) diffs.push(d.k === 0 ? 'the update does not scale with lr' : `the update scales with lr^${d.k}`);
  if (decay.length === 1) {
    const w = decay[0] as Term;
    hp.weightDecay = w.c / d.c;
    if (w.k !== d.k) diffs.push(`weight decay scales with lr^${w.k}, the direction with lr^${d.k}`);
  } else hp.weightDecay = 0;

  // Direction map and its argument.
  let node = d.node;
  let direction: Direction = 'identity';
  const dirOp = DIRECTION_OPS.get(g.op[node] as number);
  if (dirOp) {
    direction = dirOp;
    const a = g.args[node] as readonly number[];
    if (dirOp === 'thresh_sign') {
      if (g.op[a[1]!] === CONST) hp.threshold = g.value[a[1]!] as number;
      else diffs.push('thresh_sign threshold is not a constant');
    }
    node = a[0]!;
  }
  hp.direction = direction;

  let coupled = false;
  const gradientNote = (src: number): void => {
    if (src === 1) return;
    if (dependsOnWeights(x, src)) {
      coupled = true;
      diffs.push(`weight decay is coupled: the direction reads ${show(x, src)}, so the decay changes the direction instead of pulling w toward 0 (decay must stay outside the direction map)`);
    } else diffs.push(`the gradient is transformed: ${show(x, src)}`);
  };
  const finish = (family: Exclude<FamilyName, 'unknown'>, extra: Partial<FamilyReading> = {}): FamilyReading => {
    const exact = diffs.length === 0;
    const shown: FamilyName = coupled ? 'unknown' : family;
    return {
      family: shown,
      exact,
      hyperparameters: hp,
      nearest: family,
      differences: diffs,
      summary: coupled ? `unknown; nearest ${summarize(family, exact, hp, diffs)}` : summarize(family, exact, hp, diffs),
      ...extra,
    };
  };

  // No state: SGD / signSGD / a memoryless Lion-K direction.
  if (isGradientLike(x, node)) {
    gradientNote(node);
    if (direction === 'identity') return finish('sgd');
    if (direction === 'sign') return finish('signsgd');
    hp.b1 = 0;
    diffs.push('no momentum (b1 = 0)');
    return finish('lion-k');
  }

  // AdamW: M / sqrt(V) or M / (sqrt(V) + eps).
  if (direction === 'identity' && g.op[node] === OP.div) {
    const reading = adamw(x, node, hp, diffs);
    if (reading !== undefined) return finish('adamw', { momentumSlot: p.inputs[2 + reading] as string });
  }

  // Momentum-based: the direction reads an EMA of G with a slot that stores an EMA of the same G.
  const read = emaOf(x, node);
  if (read) {
    const out = r.outputs[1 + read.slot] as number;
    const stored = emaOf(x, out, (m) => m === read.source);
    if (stored && stored.slot === read.slot) {
      hp.b1 = read.beta;
      hp.b2 = stored.beta;
      gradientNote(read.source);
      if (!close(read.gain, 1 - read.beta)) diffs.push(`the direction's EMA weighs the gradient by ${read.gain}, not 1 - b1 = ${1 - read.beta}`);
      if (!close(stored.gain, 1 - stored.beta)) diffs.push(`the stored EMA weighs the gradient by ${stored.gain}, not 1 - b2 = ${1 - stored.beta}`);
      const momentumSlot = p.inputs[2 + read.slot] as string;
      const sameBeta = read.beta === stored.beta;
      if (direction === 'sign') return finish(sameBeta ? 'signum' : 'lion', { momentumSlot });
      if (direction === 'identity' && sameBeta) return finish('momentum', { momentumSlot });
      return finish('lion-k', { momentumSlot });
    }
  }
  return nearest(x, 'the direction is not a recognised function of a gradient EMA');
}

function adamw(x: Ctx, div: number, hp: FamilyHyperparameters, diffs: string[]): number | undefined {
  const g = x.g;
  const [num, den] = g.args[div] as readonly number[];
  let root = den!;
  let eps = 0;
  if (g.op[root] === OP.add) {
    const [a, b] = g.args[root] as readonly number[];
    if (g.op[b!] === CONST) ((eps = g.value[b!] as number), (root = a!));
    else if (g.op[a!] === CONST) ((eps = g.value[a!] as number), (root = b!));
  }
  if (g.op[root] !== OP.sqrt) return undefined;
  const v = (g.args[root] as readonly number[])[0]!;
  const m = emaOf(x, num!);
  if (!m) return undefined;
  const vEma = emaOf(x, v, (s) => g.op[s] === OP.square && (g.args[s] as readonly number[])[0] === m.source);
  if (!vEma || vEma.slot === m.slot) return undefined;
  const outputs = x.r.outputs;
  if (outputs[1 + m.slot] !== num || outputs[1 + vEma.slot] !== v) return undefined;
  hp.b1 = m.beta;
  hp.b2 = vEma.beta;
  hp.epsilon = eps + EPS;
  if (m.source !== 1) diffs.push(`the gradient is transformed: ${show(x, m.source)}${dependsOnWeights(x, m.source) ? ' (coupled weight decay)' : ''}`);
  if (!close(m.gain, 1 - m.beta)) diffs.push(`the first moment weighs the gradient by ${m.gain}, not 1 - b1`);
  if (!close(vEma.gain, 1 - vEma.beta)) diffs.push(`the second moment weighs square(g) by ${vEma.gain}, not 1 - b2`);
  return m.slot;
}

interface Features {
  sign: boolean;
  otherDirection: boolean;
  gradientEma: boolean;
  squaredEma: boolean;
  division: boolean;
  liveSlots: number;
}

const TEMPLATES: readonly { family: Exclude<FamilyName, 'unknown'>; f: Features }[] = [
  { family: 'lion', f: { sign: true, otherDirection: false, gradientEma: true, squaredEma: false, division: false, liveSlots: 1 } },
  { family: 'adamw', f: { sign: false, otherDirection: false, gradientEma: true, squaredEma: true, division: true, liveSlots: 2 } },
  { family: 'lion-k', f: { sign: false, otherDirection: true, gradientEma: true, squaredEma: false, division: false, liveSlots: 1 } },
  { family: 'momentum', f: { sign: false, otherDirection: false, gradientEma: true, squaredEma: false, division: false, liveSlots: 1 } },
  { family: 'signsgd', f: { sign: true, otherDirection: false, gradientEma: false, squaredEma: false, division: false, liveSlots: 0 } },
  { family: 'sgd', f: { sign: false, otherDirection: false, gradientEma: false, squaredEma: false, division: false, liveSlots: 0 } },
];

const FEATURE_TEXT: Record<keyof Features, [string, string]> = {
  sign: ['uses sign', 'does not use sign'],
  otherDirection: ['uses a Lion-K direction map (tanh, unit_clip, rel_sign, l2_normalize, thresh_sign)', 'uses no Lion-K direction map'],
  gradientEma: ['keeps an EMA of the gradient', 'keeps no EMA of the gradient'],
  squaredEma: ['keeps an EMA of the squared gradient', 'keeps no EMA of the squared gradient'],
  division: ['divides by a state-dependent value', 'does not divide by a state-dependent value'],
  liveSlots: ['', ''],
};

function nearest(x: Ctx, why: string): FamilyReading {
  const g = x.g;
  const r = x.r;
  const live = new Uint8Array(g.size);
  const stack = [...r.outputs];
  for (const o of stack) live[o] = 1;
  while (stack.length) {
    const n = stack.pop() as number;
    for (const a of g.args[n] as readonly number[]) if (!live[a]) ((live[a] = 1), stack.push(a));
  }
  const f: Features = { sign: false, otherDirection: false, gradientEma: false, squaredEma: false, division: false, liveSlots: 0 };
  const slotBits = ((1 << Math.min(g.inputCount - 1, 30)) - 1) & ~3;
  for (let n = 0; n < g.size; n++) {
    if (!live[n]) continue;
    const op = g.op[n] as number;
    if (op === OP.sign) f.sign = true;
    else if (DIRECTION_OPS.has(op)) f.otherDirection = true;
    if (op === OP.div && ((x.deps[(g.args[n] as readonly number[])[1]!] as number) & slotBits) !== 0) f.division = true;
    const e = emaOf(x, n);
    if (e) f.gradientEma = true;
    const sq = emaOf(x, n, (s) => g.op[s] === OP.square);
    if (sq) f.squaredEma = true;
  }
  f.liveSlots = r.liveSlots.filter(Boolean).length;
  let best = TEMPLATES[0]!;
  let bestScore = -1;
  for (const t of TEMPLATES) {
    let score = 0;
    for (const k of Object.keys(f) as (keyof Features)[]) if (f[k] === t.f[k]) score++;
    if (score > bestScore) ((best = t), (bestScore = score));
  }
  const diffs = [why];
  for (const k of Object.keys(f) as (keyof Features)[]) {
    if (f[k] === best.f[k]) continue;
    if (k === 'liveSlots') diffs.push(`${f.liveSlots} live state slot${f.liveSlots === 1 ? '' : 's'} (${best.family} has ${best.f.liveSlots})`);
    else diffs.push(`it ${FEATURE_TEXT[k][f[k] ? 0 : 1]} (${best.family} ${best.f[k] ? 'does' : 'does not'})`);
  }
  return {
    family: 'unknown',
    exact: false,
    hyperparameters: {},
    nearest: best.family,
    differences: diffs,
    summary: `unknown; nearest ${best.family}: ${diffs.join('; ')}`,
  };
}

function summarize(family: FamilyName, exact: boolean, hp: FamilyHyperparameters, diffs: readonly string[]): string {
  const parts: string[] = [];
  const num = (v: number | undefined): string => (v === undefined ? '?' : String(Number(v.toPrecision(6))));
  if (hp.direction && family === 'lion-k') parts.push(`direction ${hp.direction}${hp.threshold !== undefined ? `(e=${num(hp.threshold)})` : ''}`);
  if (hp.b1 !== undefined) parts.push(`b1 ${num(hp.b1)}`);
  if (hp.b2 !== undefined) parts.push(`b2 ${num(hp.b2)}`);
  if (hp.epsilon !== undefined) parts.push(`eps ${num(hp.epsilon)}`);
  parts.push(`weight decay ${num(hp.weightDecay)}`, `lr x ${num(hp.lrMultiplier)}`);
  return `${family}${exact ? '' : ' (variant)'}: ${parts.join(', ')}${diffs.length ? `; differs: ${diffs.join('; ')}` : ''}`;
}
