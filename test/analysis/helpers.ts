/** Shared test helpers for the analysis tests: program files, and running two programs side by side. */
import { readdirSync, readFileSync } from 'node:fs';
import type { Program } from '../../src/dsl/ast.ts';
import { prepare, step } from '../../src/dsl/interpret.ts';
import { makeLayout, type Layout, type Value } from '../../src/dsl/ops.ts';
import { parseProgram } from '../../src/dsl/parse.ts';
import { Rng } from '../../src/util/rng.ts';

export const PROGRAMS_DIR = 'search-spaces/programs';

export function programText(name: string): string {
  return readFileSync(`${PROGRAMS_DIR}/${name}.prog`, 'utf8');
}

export function loadProgram(name: string): Program {
  return parseProgram(programText(name));
}

export function shippedProgramNames(): string[] {
  return readdirSync(PROGRAMS_DIR)
    .filter((f) => f.endsWith('.prog'))
    .map((f) => f.slice(0, -'.prog'.length))
    .sort();
}

export interface Comparison {
  /** Largest relative difference between finite outputs (0 when all equal). */
  readonly worstRelative: number;
  /** Positions where one output is NaN/Inf and the other is not, or the Inf signs differ. */
  readonly patternMismatches: number;
  /** Where the worst difference was seen. */
  readonly where: string;
}

/**
 * Runs a and b for `steps` calls with their own state carried, on the same random (w, g, lr) per
 * step, and compares the update and the state slots listed in `slots`.
 */
export function compareRuns(a: Program, b: Program, opts: { seed: number; steps?: number; slots: readonly boolean[]; layout?: Layout; scale?: number }): Comparison {
  const layout = opts.layout ?? makeLayout([3, 2]);
  const n = layout.total;
  const rng = new Rng(opts.seed);
  const pa = prepare(a);
  const pb = prepare(b);
  let sa: Float64Array[] = pa.slotCount ? Array.from({ length: pa.slotCount }, () => new Float64Array(n)) : [];
  let sb: Float64Array[] = Array.from({ length: pb.slotCount }, () => new Float64Array(n));
  let worst = 0;
  let mismatches = 0;
  let where = '';
  const scale = opts.scale ?? 1;
  for (let t = 0; t < (opts.steps ?? 5); t++) {
    const w = Float64Array.from({ length: n }, () => rng.normal() * scale);
    const g = Float64Array.from({ length: n }, () => rng.normal() * scale);
    const lr = rng.uniform(0.05, 1.5);
    const oa = step(pa, { w, g, state: sa, lr }, layout);
    const ob = step(pb, { w, g, state: sb, lr }, layout);
    const compare = (x: Value, y: Value, what: string): void => {
      for (let k = 0; k < n; k++) {
        const u = typeof x === 'number' ? x : (x[k] as number);
        const v = typeof y === 'number' ? y : (y[k] as number);
        if (u === v || (Number.isNaN(u) && Number.isNaN(v))) continue;
        if (!Number.isFinite(u) || !Number.isFinite(v)) {
          mismatches++;
          where = `${what} step ${t}: ${u} vs ${v}`;
          continue;
        }
        const rel = Math.abs(u - v) / Math.max(Math.abs(u), Math.abs(v));
        if (rel > worst) {
          worst = rel;
          if (mismatches === 0) where = `${what} step ${t}: ${u} vs ${v}`;
        }
      }
    };
    compare(oa.update, ob.update, 'update');
    opts.slots.forEach((live, i) => {
      if (live) compare(oa.state[i] as Float64Array, ob.state[i] as Float64Array, `slot ${i}`);
    });
    sa = oa.state as Float64Array[];
    sb = ob.state as Float64Array[];
  }
  return { worstRelative: worst, patternMismatches: mismatches, where };
}
