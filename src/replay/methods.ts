/**
 * The reference optimizers of the replay's proxy comparison, as programs with their constants filled
 * in: AdamW, signum (sign of one momentum, the paper's ablation), Lion proper (two interpolation
 * constants), plain SGD and heavy-ball momentum (what searches drift to when a proxy rewards them). Text is built from
 * numbers printed by formatNumber, then parsed.
 */
import { formatNumber } from '../dsl/print.ts';

export type MethodName = 'adamw' | 'signum' | 'lion' | 'sgd' | 'momentum';

export interface MethodConfig {
  readonly method: MethodName;
  readonly label: string;
  readonly text: string;
}

const n = formatNumber;

/** A program: the direction's statements, then decoupled decay and the lr scaling every method shares. */
function withDecayAndLr(directionLines: readonly string[], direction: string, lr: number, wd: number): string {
  const body = [...directionLines, `wd = w * ${n(wd)}`, `update = ${direction} + wd`, `lr = lr * ${n(lr)}`, 'update = update * lr', 'return update, m, v'];
  return `def train(w, g, m, v, lr):\n${body.map((l) => `  ${l}\n`).join('')}`;
}

export function adamwText(lr: number, wd: number, b1 = 0.9, b2 = 0.999): string {
  return withDecayAndLr(['g2 = square(g)', `m = interp(g, m, ${n(b1)})`, `v = interp(g2, v, ${n(b2)})`, 'sqrt_v = sqrt(v)', 'update = m / sqrt_v'], 'update', lr, wd);
}

export function signumText(lr: number, wd: number, beta = 0.9): string {
  return withDecayAndLr([`m = interp(g, m, ${n(beta)})`, 'update = sign(m)'], 'update', lr, wd);
}

export function lionText(lr: number, wd: number, b1 = 0.9, b2 = 0.99): string {
  return withDecayAndLr([`update = interp(g, m, ${n(b1)})`, 'update = sign(update)', `m = interp(g, m, ${n(b2)})`], 'update', lr, wd);
}

export function sgdText(lr: number, wd: number): string {
  return withDecayAndLr([], 'g', lr, wd);
}

export function momentumText(lr: number, wd: number, beta = 0.9): string {
  return withDecayAndLr([`m = interp(g, m, ${n(beta)})`], 'm', lr, wd);
}

/** SGD's and momentum's lr constants are this many times the grid's (its best lr is 3-30x AdamW's on the replay's quadratic proxies). */
export const SGD_LR_FACTOR = 10;

/** The grid of bench/proxy-study.ts and of the replay's proxy comparison. */
export const STUDY_GRID = { lrs: [0.01, 0.003, 0.001, 0.0003], wds: [0.01, 0.1, 1] } as const;

/** Lion's (b1, b2) pairs and signum's betas that methodPrograms tries unless told otherwise. */
export const LION_BETAS: readonly (readonly [number, number])[] = [
  [0.9, 0.99],
  [0.95, 0.98],
];
export const SIGNUM_BETAS: readonly number[] = [0.9, 0.99];

/** The same lr x weight-decay grid for every method (SGD's and momentum's lrs scaled by SGD_LR_FACTOR); Lion also tries two beta pairs and signum two betas, so that each sign method gets two momentum settings. */
export function methodPrograms(grid: { lrs: readonly number[]; wds: readonly number[]; lionBetas?: readonly (readonly [number, number])[]; signumBetas?: readonly number[] }): MethodConfig[] {
  const signumBetas = grid.signumBetas ?? SIGNUM_BETAS;
  const betas = grid.lionBetas ?? LION_BETAS;
  const out: MethodConfig[] = [];
  for (const lr of grid.lrs) {
    for (const wd of grid.wds) {
      out.push({ method: 'adamw', label: `lr ${n(lr)}, wd ${n(wd)}`, text: adamwText(lr, wd) });
      for (const beta of signumBetas) out.push({ method: 'signum', label: `beta ${n(beta)}, lr ${n(lr)}, wd ${n(wd)}`, text: signumText(lr, wd, beta) });
      for (const [b1, b2] of betas) out.push({ method: 'lion', label: `b1 ${n(b1)}, b2 ${n(b2)}, lr ${n(lr)}, wd ${n(wd)}`, text: lionText(lr, wd, b1, b2) });
      const sgdLr = Number((lr * SGD_LR_FACTOR).toPrecision(12));
      out.push({ method: 'sgd', label: `lr ${n(sgdLr)}, wd ${n(wd)}`, text: sgdText(sgdLr, wd) });
      out.push({ method: 'momentum', label: `beta 0.9, lr ${n(sgdLr)}, wd ${n(wd)}`, text: momentumText(sgdLr, wd) });
    }
  }
  return out;
}

/** The best-scoring configuration of each method, in order of first appearance. */
export function bestPerMethod<T extends { c: MethodConfig; s: { fitness: number } }>(scored: readonly T[]): Map<MethodName, T> {
  const best = new Map<MethodName, T>();
  for (const x of scored) {
    const b = best.get(x.c.method);
    if (!b || x.s.fitness > b.s.fitness) best.set(x.c.method, x);
  }
  return best;
}
