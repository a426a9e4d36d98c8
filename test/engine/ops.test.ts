/**
 * Every op of the language through the engine's compiled update step against the Float64 interpreter:
 * random float32 inputs with special values mixed in, four lanes with different data and
 * multipliers. The engine computes in float32, so it is compared with the interpreter's result
 * rounded to float32, within a few ulp.
 */
import { describe, expect, it } from 'vitest';
import { applyUpdate, prepare, step } from '../../src/dsl/interpret.ts';
import { makeLayout, OPS, type OpSpec } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { standaloneUpdate, type LaneStep } from '../../src/engine/program.ts';
import { Rng } from '../../src/util/rng.ts';

const LEAVES = [23, 5, 12];
const TOTAL = LEAVES.reduce((a, b) => a + b, 0);
const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 1e30, -1e30, 1e-30, -1e-30, 1e-40, 3.4e38, 0.5, -0.5, 1e-8].map(Math.fround);
/** Ops whose float32 result may cancel: compared relative to the size of their terms. */
const ADDITIVE = new Set(['add', 'sub', 'interp']);
/** Arguments where float32 sin/cos/tan are accurate (see docs/proxy.md, The simd engine). */
const TRIG = new Set(['sin', 'cos', 'tan']);

function inputs(rng: Rng, special: boolean, op: string): Float64Array {
  return Float64Array.from({ length: TOTAL }, () => {
    const u = rng.next();
    if (special && u < 0.3) {
      const s = SPECIAL[rng.int(SPECIAL.length)] as number;
      if (TRIG.has(op) && Number.isFinite(s) && Math.abs(s) > 1e6) return 2;
      return s;
    }
    const scale = [0.01, 1, 3, 100][rng.int(4)] as number;
    return Math.fround((rng.next() * 2 - 1) * scale);
  });
}

/** Within a few float32 ulp of the reference (or of `termSize` where terms cancel), with a floor below the normal range. */
function close(engine: number, reference: number, termSize = 0): boolean {
  const r = Math.fround(reference);
  if (Number.isNaN(r)) return Number.isNaN(engine);
  if (Object.is(engine, r)) return true;
  if (!Number.isFinite(r) || !Number.isFinite(engine)) return false;
  return Math.abs(engine - r) <= 4e-7 * Math.abs(r) + 2.4e-7 * termSize + 1e-37;
}

/** A program applying `op` to g, the first state slot and (for scalar arguments) lr or a constant. */
function programFor(op: OpSpec, variant: number): string {
  const args = op.args.map((k, i) => {
    if (k === 'S') return i === 0 ? 'lr' : variant === 0 ? 'lr' : '0.37';
    if (k === 'T') return i === 0 ? 'g' : 'a';
    // N: tensors, or in variant 1 a scalar in the last position
    if (variant === 1 && i === op.args.length - 1 && i > 0) return 'lr';
    return i === 0 ? 'g' : i === 1 ? 'a' : 'b';
  });
  return `def t(w, g, a, b, lr):\n  u = ${op.name}(${args.join(', ')})\n  return u, a, b\n`;
}

describe('engine update step vs the Float64 interpreter, every op', () => {
  const layout = makeLayout(LEAVES);
  for (const op of OPS as readonly OpSpec[]) {
    it(op.name, () => {
      const rng = new Rng(op.name.length * 7919 + op.name.charCodeAt(0));
      for (const variant of [0, 1]) {
        const program = parseProgram(programFor(op, variant));
        const prep = prepare(program);
        const run = standaloneUpdate(program, LEAVES);
        for (let trial = 0; trial < 6; trial++) {
          const special = trial >= 2;
          const lanes: LaneStep[] = [0, 1, 2, 3].map((l) => ({
            w: new Float64Array(TOTAL),
            g: inputs(rng, special, op.name),
            state: [inputs(rng, special, op.name), inputs(rng, special, op.name)],
            multiplier: [1, 3, 10, 0.5][l] as number,
          }));
          const lr = Math.fround(special && trial === 5 ? 0 : rng.next() * 2);
          const out = run(lanes, lr);
          lanes.forEach((lane, l) => {
            const ref = step(prep, { w: lane.w, g: lane.g, state: lane.state, lr }, layout);
            const u = ref.update;
            // the engine rounds the update to float32, then scales it (w is 0: w - x is exact)
            const scaleRounded = (x: number): number => Math.fround(Math.fround(x) * lane.multiplier);
            const scaled = typeof u === 'number' ? scaleRounded(u) : (u as Float64Array).map(scaleRounded);
            const expected = applyUpdate(lane.w, scaled);
            const got = (out[l] as { w: Float32Array }).w;
            for (let j = 0; j < TOTAL; j++) {
              const e = expected[j] as number;
              const size = (x: number): number => (Number.isFinite(x) ? Math.abs(x) : 0);
              const terms = ADDITIVE.has(op.name) ? (size(lane.g[j]!) + size(lane.state[0]![j]!) + size(lane.state[1]![j]!)) * (1 + Math.abs(lr)) * lane.multiplier : 0;
              if (!close(got[j] as number, e, terms)) {
                throw new Error(`${op.name} variant ${variant} trial ${trial} lane ${l} element ${j}: engine ${got[j]}, interpreter ${e} (g ${lane.g[j]}, a ${lane.state[0]![j]}, b ${lane.state[1]![j]}, lr ${lr})`);
              }
            }
            const finite = typeof scaled === 'number' ? Number.isFinite(scaled) : scaled.every((x) => Number.isFinite(x));
            expect(out[l]!.finite, `${op.name}: finite flag of lane ${l}`).toBe(finite);
          });
        }
      }
    });
  }

  it('state slots: returned in another order, and a slot read after its new value is computed', () => {
    const text = 'def t(w, g, a, b, lr):\n  n = global_norm(a)\n  a = g * 2\n  u = a / n\n  u = u + b\n  return u, b, a\n';
    const program = parseProgram(text);
    const prep = prepare(program);
    const run = standaloneUpdate(program, LEAVES);
    const rng = new Rng(5);
    const lanes: LaneStep[] = [0, 1].map(() => ({ w: inputs(rng, false, ''), g: inputs(rng, false, ''), state: [inputs(rng, false, ''), inputs(rng, false, '')], multiplier: 2 }));
    const out = run(lanes, 1);
    lanes.forEach((lane, l) => {
      const ref = step(prep, { w: lane.w, g: lane.g, state: lane.state, lr: 1 }, layout);
      const w = applyUpdate(lane.w, (ref.update as Float64Array).map((x) => 2 * x));
      for (let j = 0; j < TOTAL; j++) {
        // u = a / n + b: terms of the size of both summands
        const terms = 2 * (Math.abs((ref.update as Float64Array)[j]!) + 2 * Math.abs(lane.state[1]![j]!)) + Math.abs(lane.w[j]!);
        expect(close(out[l]!.w[j]!, w[j]!, terms), `w[${j}]`).toBe(true);
        expect(close(out[l]!.state[0]![j]!, ref.state[0]![j]!), `slot 1 [${j}]`).toBe(true);
        expect(close(out[l]!.state[1]![j]!, ref.state[1]![j]!), `slot 2 [${j}]`).toBe(true);
      }
    });
  });
});
