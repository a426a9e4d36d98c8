import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEvaluationPool, type EvaluationPool } from '../../src/pool/pool.ts';
import { startSearch, type SearchConfig } from '../../src/runner/search.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { createRun } from '../../src/store/queries.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/optsearch.mjs');
let dir: string;
let pool: EvaluationPool;

const config: SearchConfig = {
  space: 'laptop',
  tasks: 'quadratic',
  budget: 8,
  timeLimitSeconds: null,
  workers: 2,
  seed: 5,
  deterministic: true,
  backend: 'wasm',
  funnelEntrants: 0,
  funnelFidelities: [],
};

function cli(args: string[], opts: { timeout?: number } = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: opts.timeout ?? 300_000 });
}

/** The run's history as plain rows: what a repeat of the run must reproduce exactly. */
function history(store: Store, runId: number) {
  const lineage = store.db
    .prepare(
      `SELECT l.birth, p.raw, l.parent_birth AS parent, l.mutation, l.detail, l.fitness, l.source
       FROM lineage l JOIN programs p ON p.id = l.program_id WHERE l.run_id = ? ORDER BY l.birth`,
    )
    .all(runId);
  const evaluations = store.db
    .prepare(
      `SELECT p.raw, e.task, e.fidelity, e.seed, e.lr_multiplier, e.fitness, e.status FROM evaluations e
       JOIN programs p ON p.id = e.program_id WHERE e.run_id = ? ORDER BY p.raw, e.task, e.seed`,
    )
    .all(runId);
  return { lineage, evaluations };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'optsearch-run-'));
  pool = createEvaluationPool({ size: 2 });
});

afterAll(async () => {
  await pool.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('search runner', () => {
  it('--deterministic with one seed twice gives identical lineage and evaluation tables', async () => {
    const runs = [];
    for (const name of ['a', 'b']) {
      const store = openStore(join(dir, `${name}.sqlite`));
      const out = await startSearch(store, config, undefined, { pool });
      expect(out.status).toBe('done');
      expect(out.run.trained).toBe(config.budget);
      runs.push(history(store, out.run.id));
      store.close();
    }
    const [a, b] = runs as [ReturnType<typeof history>, ReturnType<typeof history>];
    expect(a.lineage.length).toBeGreaterThan(config.budget);
    expect(a.evaluations.length).toBeGreaterThanOrEqual(config.budget);
    expect(b).toEqual(a);
  });

  it('a search killed with SIGKILL resumes with nothing lost and nothing repeated', async () => {
    const db = join(dir, 'killed.sqlite');
    const budget = 14;
    const child: ChildProcess = spawn(
      process.execPath,
      [BIN, 'search', '--space', 'laptop', '--tasks', 'quadratic', '--budget', String(budget), '--workers', '2', '--seed', '3', '--deterministic', '--funnel', '0', '--backend', 'wasm', '--db', db],
      { cwd: ROOT, stdio: 'ignore' },
    );
    // Wait until a few programs were trained, then kill without warning.
    let before: { ids: number[]; trained: number } = { ids: [], trained: 0 };
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 250));
      try {
        const ro = openStore(db, { readonly: true });
        const trained = (ro.db.prepare('SELECT trained FROM runs WHERE id = 1').pluck().get() as number | undefined) ?? 0;
        const ids = ro.db.prepare('SELECT id FROM evaluations ORDER BY id').pluck().all() as number[];
        ro.close();
        before = { ids, trained };
        if (trained >= 4) break;
      } catch {
        // the database is not created yet
      }
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(before.trained).toBeGreaterThanOrEqual(4);
    expect(before.trained).toBeLessThan(budget);

    // Reading works while nothing runs, and the run still says running (it was killed).
    const r = cli(['resume', '1', '--db', db]);
    expect(r.stderr).not.toMatch(/internal error/);
    expect(r.status).toBe(0);
    // The killed process still held the run's lease: the resume takes it over and says so.
    expect(r.stderr).toMatch(new RegExp(`taking over run 1 from pid ${child.pid} on host .*: its process has exited`));

    const store = openStore(db, { readonly: true });
    const run = store.db.prepare('SELECT status, trained FROM runs WHERE id = 1').get() as { status: string; trained: number };
    expect(run).toEqual({ status: 'done', trained: budget });
    // every evaluation that finished before the kill is still there
    const after = new Set(store.db.prepare('SELECT id FROM evaluations').pluck().all() as number[]);
    for (const id of before.ids) expect(after.has(id)).toBe(true);
    // nothing twice: one row per raw program, one evaluation per (program, configuration)
    const dupPrograms = store.db.prepare('SELECT COUNT(*) - COUNT(DISTINCT raw) FROM programs').pluck().get();
    const dupEvals = store.db
      .prepare('SELECT COUNT(*) FROM (SELECT program_id, task, fidelity, seed, lr_multiplier, COUNT(*) c FROM evaluations GROUP BY 1, 2, 3, 4, 5 HAVING c > 1)')
      .pluck()
      .get();
    expect(dupPrograms).toBe(0);
    expect(dupEvals).toBe(0);
    // births continue without gaps or repeats, and the trained individuals add up to the budget
    const births = store.db.prepare('SELECT birth FROM lineage WHERE run_id = 1 ORDER BY birth').pluck().all() as number[];
    expect(births).toEqual(births.map((_, i) => i));
    const trainedArrivals = store.db.prepare("SELECT COUNT(*) FROM lineage WHERE run_id = 1 AND source = 'trained' AND birth > 0").pluck().get();
    expect(trainedArrivals).toBe(budget);
    store.close();
  });

  it('Ctrl-C stops cleanly: exit 130, the run marked interrupted, and resume finishes it', async () => {
    const db = join(dir, 'interrupted.sqlite');
    const budget = 12;
    const child = spawn(
      process.execPath,
      [BIN, 'search', '--space', 'laptop', '--tasks', 'digits-mlp', '--budget', String(budget), '--workers', '2', '--seed', '4', '--funnel', '0', '--backend', 'wasm', '--db', db],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    for (let i = 0; i < 600; i++) {
      await new Promise((r) => setTimeout(r, 250));
      try {
        const ro = openStore(db, { readonly: true });
        const trained = (ro.db.prepare('SELECT trained FROM runs WHERE id = 1').pluck().get() as number | undefined) ?? 0;
        ro.close();
        if (trained >= 2) break;
      } catch {
        // not created yet
      }
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/stopping: finishing the evaluations in flight/);
    let store = openStore(db, { readonly: true });
    const run = store.db.prepare('SELECT status, trained FROM runs WHERE id = 1').get() as { status: string; trained: number };
    store.close();
    expect(run.status).toBe('interrupted');
    expect(run.trained).toBeLessThan(budget);
    const r = cli(['resume', '1', '--db', db]);
    expect(r.status).toBe(0);
    store = openStore(db, { readonly: true });
    expect(store.db.prepare('SELECT status, trained FROM runs WHERE id = 1').get()).toEqual({ status: 'done', trained: budget });
    store.close();
  });

  it('runs, top and show read a database while a search writes it', async () => {
    const db = join(dir, 'live.sqlite');
    const child = spawn(
      process.execPath,
      [BIN, 'search', '--space', 'laptop', '--tasks', 'quadratic', '--budget', '10', '--workers', '1', '--seed', '9', '--funnel', '0', '--backend', 'wasm', '--db', db],
      { cwd: ROOT, stdio: 'ignore' },
    );
    const exited = new Promise((r) => child.once('exit', r));
    let readsWhileRunning = 0;
    for (let i = 0; i < 600 && child.exitCode === null; i++) {
      await new Promise((r) => setTimeout(r, 500));
      const runs = cli(['runs', '--db', db, '--json']);
      if (runs.status !== 0) continue; // not created yet
      const top = cli(['top', '1', '--db', db, '--json']);
      expect(top.status).toBe(0);
      const parsed = JSON.parse(top.stdout) as { programs: { id: number }[] };
      if (parsed.programs.length > 0 && child.exitCode === null) {
        const show = cli(['show', String(parsed.programs[0]!.id), '--db', db]);
        expect(show.status).toBe(0);
        expect(show.stdout).toMatch(/simplified:/);
        readsWhileRunning++;
        if (readsWhileRunning >= 2) break;
      }
    }
    await exited;
    expect(readsWhileRunning).toBeGreaterThanOrEqual(1);
  });

  it('bad input: one clear line, exit code 2, database unchanged', () => {
    // A database of its own with one run in it, closed (so that its bytes are all in the main file).
    const db = join(dir, 'bad-input.sqlite');
    const made = openStore(db);
    createRun(made, { name: 'existing', space: 'laptop', seed: 1, config: {} });
    made.close();
    const bytes = readFileSync(db);
    const badSpace = join(dir, 'bad-space.json');
    writeFileSync(badSpace, JSON.stringify({ population: { size: -3 } }));
    const corrupt = join(dir, 'corrupt.sqlite');
    writeFileSync(corrupt, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 251)));
    const corruptBytes = readFileSync(corrupt);
    const cases: [string[], RegExp][] = [
      [['search', '--space', 'no-such-space', '--db', db], /no-such-space/],
      [['search', '--tasks', 'no-such-task', '--db', db], /unknown task 'no-such-task'/],
      [['search', '--space', badSpace, '--db', db], /bad-space\.json/],
      [['search', '--budget', '-1', '--db', db], /budget/],
      [['resume', '999', '--db', db], /no run '999'/],
      [['top', '999', '--db', db], /no run '999'/],
      [['show', '123456', '--db', db], /no program with id 123456/],
      [['runs', '--db', corrupt], /not a SQLite database|not an optsearch database|damaged/],
      [['search', '--db', corrupt], /not a SQLite database|not an optsearch database|damaged/],
    ];
    for (const [args, pattern] of cases) {
      const r = cli(args, { timeout: 60_000 });
      expect(r.status, args.join(' ')).toBe(2);
      const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('seed '));
      expect(lines.length, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(lines[0]).toMatch(pattern);
    }
    expect(readFileSync(db).equals(bytes)).toBe(true);
    expect(readFileSync(corrupt).equals(corruptBytes)).toBe(true);
  });
});
