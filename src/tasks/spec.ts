/**
 * Task definitions from proxy-tasks/*.json (loaded and validated), suites (proxy-tasks/suites.json)
 * and the fidelity variants. Plain data only: how a task is trained lives with each trainer.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROXY_TASKS_DIR } from './data.ts';
import { FIDELITIES, TASK_KINDS, type Fidelity, type TaskSpec } from '../vocabulary/index.ts';

export class TaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TaskError';
  }
}

const SUITES_FILE = 'suites.json';

export function isFidelity(x: unknown): x is Fidelity {
  return (FIDELITIES as readonly unknown[]).includes(x);
}

/** Checks the shape of a task definition; throws TaskError naming the first problem. */
export function validateTaskSpec(raw: unknown, where: string): TaskSpec {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TaskError(`${where}: a task must be a JSON object`);
  const o = raw as Record<string, unknown>;
  const need = (key: string, ok: (v: unknown) => boolean, what: string): void => {
    if (!ok(o[key])) throw new TaskError(`${where}: '${key}' must be ${what}`);
  };
  const posInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;
  const isNum = (v: unknown) => typeof v === 'number' && Number.isFinite(v);
  need('name', (v) => typeof v === 'string' && /^[a-z0-9][a-z0-9-]*$/.test(v), 'a lower-case name');
  need('kind', (v) => (TASK_KINDS as readonly unknown[]).includes(v), `one of ${TASK_KINDS.join(', ')}`);
  need('description', (v) => typeof v === 'string' && v.length > 0, 'a non-empty string');
  need('purpose', (v) => typeof v === 'string' && v.length > 0, 'a non-empty string');
  need('params', (v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'an object');
  need('batchSize', posInt, 'a positive integer');
  need('steps', posInt, 'a positive integer');
  need('warmupFraction', (v) => isNum(v) && (v as number) >= 0 && (v as number) < 1, 'a number in [0, 1)');
  need('loss', (v) => typeof v === 'string', 'a string');
  need('seed', (v) => typeof v === 'number' && Number.isInteger(v), 'an integer');
  need('metric', (v) => typeof v === 'object' && v !== null && typeof (v as { name?: unknown }).name === 'string' && typeof (v as { higherIsBetter?: unknown }).higherIsBetter === 'boolean', '{name, higherIsBetter}');
  const h = o.hurdles as Record<string, unknown> | undefined;
  if (typeof h !== 'object' || h === null) throw new TaskError(`${where}: 'hurdles' must be an object`);
  for (const k of ['divergeRatio', 'checkpointFraction', 'behindRatio', 'timeLimitSeconds']) {
    if (!isNum(h[k]) || (h[k] as number) <= 0) throw new TaskError(`${where}: 'hurdles.${k}' must be a positive number`);
  }
  if (o.schedule !== undefined && o.schedule !== 'warmup-cosine' && o.schedule !== 'constant') throw new TaskError(`${where}: 'schedule' must be 'warmup-cosine' or 'constant'`);
  if (o.lossFloor !== undefined && !isNum(o.lossFloor)) throw new TaskError(`${where}: 'lossFloor' must be a number`);
  return o as unknown as TaskSpec;
}

const specCache = new Map<string, TaskSpec>();

/** Names of the task files in proxy-tasks/, sorted. */
export function listTaskNames(dir = PROXY_TASKS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json') && f !== SUITES_FILE)
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

export function loadTaskSpec(name: string, dir = PROXY_TASKS_DIR): TaskSpec {
  const hit = specCache.get(name);
  if (hit && dir === PROXY_TASKS_DIR) return hit;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new TaskError(`unknown task '${name}'`);
  const file = join(dir, `${name}.json`);
  if (name === 'suites' || !existsSync(file)) throw new TaskError(`unknown task '${name}' (known: ${listTaskNames(dir).join(', ')})`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TaskError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  const spec = validateTaskSpec(raw, file);
  if (spec.name !== name) throw new TaskError(`${file}: 'name' is '${spec.name}', expected '${name}'`);
  if (dir === PROXY_TASKS_DIR) specCache.set(name, spec);
  return spec;
}

export function loadSuites(dir = PROXY_TASKS_DIR): Record<string, string[]> {
  const file = join(dir, SUITES_FILE);
  if (!existsSync(file)) return {};
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, string[]>;
}

/** A task definition from a file of the user's (read afresh each time: it may be edited between runs). */
export function loadTaskFile(file: string): TaskSpec {
  if (!existsSync(file)) throw new TaskError(`${file}: no such task file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TaskError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  return validateTaskSpec(raw, file);
}

/**
 * "default", "digits-mlp,charlm", "my-task.json" or a mix: suite names expand to their tasks, an entry
 * ending in .json is a task file; order kept, no repeats.
 */
export function resolveTaskList(list: string, dir = PROXY_TASKS_DIR): TaskSpec[] {
  const suites = loadSuites(dir);
  const names: string[] = [];
  for (const part of list.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    for (const n of suites[part] ?? [part]) if (!names.includes(n)) names.push(n);
  }
  if (names.length === 0) throw new TaskError('no tasks given');
  const specs = names.map((n) => (n.endsWith('.json') ? loadTaskFile(n) : loadTaskSpec(n, dir)));
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.name)) throw new TaskError(`two tasks are named '${s.name}'; task names must differ within a suite`);
    seen.add(s.name);
  }
  return specs;
}

/** The task at a fidelity: x10 and x100 overrides merged in (params one level deep). */
export function atFidelity(spec: TaskSpec, fidelity: Fidelity): TaskSpec {
  if (!isFidelity(fidelity)) throw new TaskError(`fidelity must be 1, 10 or 100, got ${String(fidelity)}`);
  if (fidelity === 1) return spec;
  const over = spec.fidelity?.[String(fidelity) as '10' | '100'];
  const scaledLimit = { ...spec.hurdles, timeLimitSeconds: spec.hurdles.timeLimitSeconds * fidelity };
  if (!over) return { ...spec, steps: spec.steps * fidelity, hurdles: scaledLimit };
  const params = { ...spec.params, ...((over.params as Record<string, unknown> | undefined) ?? {}) };
  return { ...spec, ...over, params, hurdles: { ...scaledLimit, ...((over.hurdles as object | undefined) ?? {}) } } as TaskSpec;
}
