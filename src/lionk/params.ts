/**
 * The hyperparameters of a program of Lion-K form, and how they map to the theory.
 *
 * A Lion-K program computes, with lr the schedule's value (peak 1.0) and c, wd constants:
 *   update = (dir(interp(g, m, b1)) + w * wd) * (lr * c);   m = interp(g, m, b2);   w <- w - update
 * so the effective learning rate is eta_t = lr_t * c and the decay coefficient of the theory is
 * lambda = wd as written: the per-step decay factor is 1 - eta_t * lambda and the feasible set is
 * {w : lambda w in dom K*}, e.g. the box |w_i| <= 1/wd for Lion. (lion-k.md sections 1.1 and 2.1.)
 */
import { kEntryForDirection, type DirectionName, type KEntry, type KOptions } from './kfamily.ts';

export interface LionKParams {
  readonly direction: DirectionName;
  /** interp weight of the momentum in the look-ahead c = b1 m + (1 - b1) g. */
  readonly b1: number;
  /** interp weight of the momentum in the EMA m' = b2 m + (1 - b2) g. */
  readonly b2: number;
  /** The weight-decay constant as written in the program. */
  readonly lambda: number;
  /** The constant that multiplies the lr input: eta = lr * lrMultiplier. */
  readonly lrMultiplier: number;
  /** e of thresh_sign(c, e). */
  readonly threshold?: number;
}

export function kOptionsOf(p: LionKParams): KOptions {
  return p.threshold === undefined ? {} : { threshold: p.threshold };
}

export function kEntryOf(p: LionKParams): KEntry {
  return kEntryForDirection(p.direction);
}

/** Effective learning rate at schedule value `schedule`. */
export function effectiveLr(p: LionKParams, schedule = 1): number {
  return schedule * p.lrMultiplier;
}

export interface Condition {
  readonly name: string;
  readonly holds: boolean;
  readonly detail: string;
}

/**
 * The theory's conditions, evaluated at the program's peak lr (schedule 1.0):
 * lambda > 0 (there is a constraint at all), b1 <= b2 (discrete Lyapunov), 0 <= b1 < 1 and b2 < 1
 * (eps * gamma = 1 - b1 <= 1 for the continuous-time function), eta * lambda <= 1 (box invariance).
 */
export function theoryConditions(p: LionKParams): Condition[] {
  const eta = effectiveLr(p, 1);
  const etaLambda = eta * p.lambda;
  const epsGamma = 1 - p.b1;
  const num = (x: number): string => Number(x.toPrecision(4)).toString();
  return [
    {
      name: 'lambda > 0',
      holds: p.lambda > 0,
      detail: p.lambda > 0 ? `lambda = ${num(p.lambda)}` : `lambda = ${num(p.lambda)}: no decay, so no constraint is implied`,
    },
    {
      name: 'b1 <= b2',
      holds: p.b1 <= p.b2,
      detail: `b1 = ${num(p.b1)}, b2 = ${num(p.b2)} (needed by the discrete Lyapunov function)`,
    },
    {
      name: 'eps*gamma <= 1',
      holds: epsGamma <= 1 && p.b2 < 1,
      detail: `eps*gamma = 1 - b1 = ${num(epsGamma)} (continuous-time Lyapunov function; needs b1 >= 0 and b2 < 1)`,
    },
    {
      name: 'lr*lambda <= 1',
      holds: etaLambda > 0 && etaLambda <= 1,
      detail: `at the peak lr (schedule 1.0): eta = ${num(eta)}, eta*lambda = ${num(etaLambda)} (box invariance and the phase-1 contraction factor 1 - eta*lambda)`,
    },
  ];
}
