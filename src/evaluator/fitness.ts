/**
 * Fitness: a run's held-out loss normalised against the baseline program (AdamW by default) on the
 * same task, fidelity, seed and backend, so that tasks can be averaged. Higher is better.
 *
 *   excess(L)   = max(L - floor, 1e-12)          floor = the task's known minimum (0 or the Bayes loss)
 *   progress(L) = ln(excess(L0) / excess(L))     L0 = held-out loss of the initial weights
 *   fitness     = progress(L) / progress(L_baseline), clamped to [-1, 10]
 *
 * The baseline scores exactly 1, a run that ends where it started scores 0, a run that ends worse
 * than it started is negative. Progress is counted in orders of magnitude of excess loss, so a rule
 * that halves the baseline's remaining excess gains as much on a nearly solved convex task as on a
 * network that is far from its floor. Runs that did not finish (diverged, hurdle, timeout, failed)
 * score FAILED_FITNESS, below every finished run.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BaselineReference, TaskSpec, TrainResult } from '../vocabulary/index.ts';

export const BASELINE_FITNESS = 1;
export const FAILED_FITNESS = -2;
export const FITNESS_MIN = -1;
export const FITNESS_MAX = 10;

export const DEFAULT_BASELINE_PATH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'search-spaces', 'programs', 'adamw.prog');

let defaultBaselineText: string | undefined;
export function defaultBaselineProgram(): string {
  defaultBaselineText ??= readFileSync(DEFAULT_BASELINE_PATH, 'utf8');
  return defaultBaselineText;
}

function progress(initial: number, final: number, floor: number): number {
  const e0 = Math.max(initial - floor, 1e-12);
  const e = Math.max(final - floor, 1e-12);
  return Math.log(e0 / e);
}

/**
 * Fitness of a result against the baseline's result on the same configuration; null when the
 * baseline itself did not finish (nothing to normalise by).
 */
export function computeFitness(result: TrainResult, baseline: TrainResult): number | null {
  if (baseline.status !== 'ok' || baseline.finalLoss === null || baseline.initialLoss === null) return null;
  if (result.status !== 'ok' || result.finalLoss === null) return FAILED_FITNESS;
  const initial = baseline.initialLoss;
  const pb = progress(initial, baseline.finalLoss, baseline.lossFloor);
  const pc = progress(initial, result.finalLoss, baseline.lossFloor);
  const f = pc / Math.max(pb, 1e-6);
  return Math.min(FITNESS_MAX, Math.max(FITNESS_MIN, f));
}

/** What a candidate needs from the baseline run for the early hurdle. */
export function baselineReference(baseline: TrainResult): BaselineReference | undefined {
  return baseline.status === 'ok' && baseline.checkpointLoss !== null
    ? { checkpointStep: baseline.checkpointStep, checkpointLoss: baseline.checkpointLoss }
    : undefined;
}

function shortHash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

/** JSON with object keys sorted, so that equal definitions hash equally whatever their key order. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Fields of a task definition that describe it in words and cannot change a result. */
const DESCRIPTIVE_FIELDS = new Set(['description', 'purpose', 'costSeconds']);

/**
 * What a stored fitness depends on besides the program, seed and lr multiplier: the task definition
 * as resolved at its fidelity (descriptive fields left out) and the baseline program it is normalised
 * against. Part of the stored-evaluation key, so an edited task file or another baseline never
 * reuses old fitness.
 */
export function scoringConfigHash(resolvedSpec: TaskSpec, baselineText: string): string {
  const definition = Object.fromEntries(Object.entries(resolvedSpec).filter(([k]) => !DESCRIPTIVE_FIELDS.has(k) && k !== 'fidelity'));
  return shortHash(`${canonicalJson(definition)}\n${baselineText}`);
}

/**
 * Cache key of a baseline result: baseline program text, the task definition itself (an edited task
 * file does not reuse stale results), fidelity, seed and requested backend.
 */
export function baselineKey(baselineText: string, spec: TaskSpec, fidelity: number, seed: number, backend: string): string {
  return `${spec.name}|x${fidelity}|seed${seed}|${backend}|task:${shortHash(JSON.stringify(spec))}|prog:${shortHash(baselineText)}`;
}

/** Persistence hook: the store can keep baseline results across processes. */
export interface BaselineStore {
  get(key: string): TrainResult | undefined | Promise<TrainResult | undefined>;
  put(key: string, result: TrainResult): void | Promise<void>;
}

/** Baseline results computed once per key, shared by concurrent callers; optionally persisted. */
export class BaselineCache {
  private readonly memory = new Map<string, Promise<TrainResult>>();
  constructor(private readonly store?: BaselineStore) {}

  get size(): number {
    return this.memory.size;
  }

  /** Whether this key is computed or being computed in this process. */
  has(key: string): boolean {
    return this.memory.has(key);
  }

  get(key: string, compute: () => Promise<TrainResult>): Promise<TrainResult> {
    const hit = this.memory.get(key);
    if (hit) return hit;
    const p = (async () => {
      const stored = await this.store?.get(key);
      if (stored) return stored;
      const r = await compute();
      // only finished runs are worth keeping; a crashed baseline is retried next time
      if (r.status === 'ok') await this.store?.put(key, r);
      return r;
    })();
    this.memory.set(key, p);
    p.then(
      (r) => {
        if (r.status === 'failed' || r.status === 'timeout') this.memory.delete(key);
      },
      () => this.memory.delete(key),
    );
    return p;
  }
}
