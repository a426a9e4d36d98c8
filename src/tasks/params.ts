/** Readers of a task's kind-specific params, each rejecting a bad value with a one-line message, and the shared initialiser. */
import type { Rng } from '../util/rng.ts';
import type { TaskSpec } from '../vocabulary/index.ts';
import { DATASET_NAMES, type DatasetName } from './data.ts';

/** Reads a numeric parameter of a task, with a default; rejects anything else with a clear message. */
export function num(spec: TaskSpec, key: string, fallback?: number): number {
  const v = spec.params[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`task ${spec.name}: params.${key} must be a number`);
  return v;
}

export function numList(spec: TaskSpec, key: string, fallback: number[]): number[] {
  const v = spec.params[key] ?? fallback;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 1)) {
    throw new Error(`task ${spec.name}: params.${key} must be a list of positive integers`);
  }
  return v as number[];
}

export function str(spec: TaskSpec, key: string, fallback?: string): string {
  const v = spec.params[key] ?? fallback;
  if (typeof v !== 'string') throw new Error(`task ${spec.name}: params.${key} must be a string`);
  return v;
}

export function datasetParam(spec: TaskSpec): DatasetName {
  const name = str(spec, 'dataset');
  if (!(DATASET_NAMES as readonly string[]).includes(name)) throw new Error(`task ${spec.name}: unknown dataset '${name}' (known: ${DATASET_NAMES.join(', ')})`);
  return name as DatasetName;
}

/** Glorot-uniform initial values. */
export function glorot(rng: Rng, fanIn: number, fanOut: number, count = fanIn * fanOut): Float32Array {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return Float32Array.from({ length: count }, () => rng.uniform(-limit, limit));
}
