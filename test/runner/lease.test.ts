/**
 * One writer per run: the lease table on its own, then real processes (the CLI) racing for runs of
 * one database. Searches here use the reference backend on the quadratic task: about 40 trained
 * programs a second per worker, so a budget of a few hundred keeps a search running for seconds.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createEvaluationPool } from '../../src/pool/pool.ts';
import { startSearch, type SearchConfig } from '../../src/runner/search.ts';
import { loadSearchSpace, SPACES_DIR } from '../../src/search/space.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { abandonedBecause, acquireRunLease, getLease, heartbeat, heldRunIds, holdsLease, LeaseError, processHolder, releaseRunLease } from '../../src/store/lease.ts';
import { createRun, getRun, interruptHeldRuns } from '../../src/store/queries.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const BIN = join(ROOT, 'bin/optsearch.mjs');
const dir = mkdtempSync(join(tmpdir(), 'optsearch-lease-'));
/** laptop at one lr multiplier: these tests are about who writes a run, not about its scoring. */
const ONE_LR_SPACE = join(dir, 'laptop-one-lr.json');
writeFileSync(ONE_LR_SPACE, JSON.stringify({ ...JSON.parse(readFileSync(join(SPACES_DIR, 'laptop.json'), 'utf8')), warmStart: join(SPACES_DIR, 'programs/adamw.prog'), lrMultipliers: [1] }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SPACE = loadSearchSpace(ONE_LR_SPACE);
/** Evaluations per trained program: one task, the space's seeds and lr multipliers. */
const EVALUATIONS_PER_PROGRAM = SPACE.seedsPerEvaluation * SPACE.lrMultipliers.length;

function searchArgs(db: string, budget: number, seed: number, task = 'quadratic'): string[] {
  return ['search', '--space', ONE_LR_SPACE, '--tasks', task, '--budget', String(budget), '--workers', '1', '--seed', String(seed), '--funnel', '0', '--backend', 'reference', '--db', db];
}

interface Spawned {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stderr(): string;
}

function spawnCli(args: string[]): Spawned {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, exited, stderr: () => err };
}

function cli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
}

/** Polls the database until `ready` holds (the search processes create it). */
async function waitFor(db: string, ready: (s: Store) => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      const s = openStore(db, { readonly: true });
      try {
        if (ready(s)) return;
      } finally {
        s.close();
      }
    } catch {
      // not created or not migrated yet
    }
  }
  throw new Error(`timed out waiting for ${what}`);
}

const trainedOf = (s: Store, runId: number): number => (s.db.prepare('SELECT trained FROM runs WHERE id = ?').pluck().get(runId) as number | undefined) ?? 0;
const leaseHolderPid = (s: Store, runId: number): number | undefined => s.db.prepare('SELECT holder_pid FROM run_leases WHERE run_id = ?').pluck().get(runId) as number | undefined;

/**
 * A finished run written by one writer at a time: births 0..n without gaps or repeats, `budget`
 * trained arrivals, each trained program with every evaluation of its suite, no evaluation twice.
 */
function expectIntact(s: Store, runId: number, budget: number): void {
  expect(s.db.prepare('SELECT status, trained FROM runs WHERE id = ?').get(runId)).toEqual({ status: 'done', trained: budget });
  const births = s.db.prepare('SELECT birth FROM lineage WHERE run_id = ? ORDER BY birth').pluck().all(runId) as number[];
  expect(births).toEqual(births.map((_, i) => i));
  const trained = s.db.prepare("SELECT program_id FROM lineage WHERE run_id = ? AND source = 'trained' AND birth > 0").pluck().all(runId) as number[];
  expect(trained).toHaveLength(budget);
  // this run's evaluations only: another run of the database may train the same program on another task
  const count = s.db.prepare('SELECT COUNT(*) FROM evaluations WHERE program_id = ? AND fidelity = ? AND run_id = ?').pluck();
  const missing = trained.filter((p) => count.get(p, SPACE.fidelity, runId) !== EVALUATIONS_PER_PROGRAM);
  expect(missing, 'trained programs without their full set of evaluations').toEqual([]);
  const twice = s.db
    .prepare('SELECT COUNT(*) FROM (SELECT program_id, task, config_hash, fidelity, seed, lr_multiplier, COUNT(*) c FROM evaluations GROUP BY 1, 2, 3, 4, 5, 6 HAVING c > 1)')
    .pluck()
    .get();
  expect(twice).toBe(0);
  expect(s.db.prepare('SELECT COUNT(*) FROM run_leases WHERE run_id = ?').pluck().get(runId), 'the lease is given back').toBe(0);
}

describe('the lease table', () => {
  const path = join(dir, 'unit.sqlite');
  const store = openStore(path);
  afterAll(() => store.close());
  const newRun = (name: string) => createRun(store, { name, space: 'x', seed: 1, config: {} }).id;
  /** Writes a lease row as another holder would. */
  const foreign = (runId: number, h: { pid: number; host: string; heartbeatMs: number; startedAt?: string }) =>
    store.db
      .prepare('INSERT OR REPLACE INTO run_leases (run_id, holder_pid, holder_host, holder_started_at, acquired_at, heartbeat_ms) VALUES (?, ?, ?, ?, ?, ?)')
      .run(runId, h.pid, h.host, h.startedAt ?? '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', h.heartbeatMs);

  it('a database from before leases (version 3) gets the table on opening; its running run has no holder and is taken', () => {
    const old = join(dir, 'v3.sqlite');
    const v3 = openStore(old, { targetVersion: 3 });
    expect(v3.db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE name = 'run_leases'").pluck().get()).toBe(0);
    const id = createRun(v3, { name: 'before-leases', space: 'x', seed: 1, config: {} }).id;
    v3.close();
    const s = openStore(old);
    try {
      expect(getLease(s, id)).toBeUndefined();
      expect(acquireRunLease(s, id).tookOver).toBeUndefined();
      expect(holdsLease(s, id)).toBe(true);
    } finally {
      s.close();
    }
  });

  it('a free run is taken, refused to a second taker in this process, and given back', () => {
    const id = newRun('free');
    const got = acquireRunLease(store, id);
    expect(got.tookOver).toBeUndefined();
    expect(got.lease).toMatchObject({ runId: id, ...processHolder() });
    expect(holdsLease(store, id)).toBe(true);
    expect(heldRunIds(store)).toContain(id);
    expect(() => acquireRunLease(store, id)).toThrow(LeaseError);
    releaseRunLease(store, id);
    expect(getLease(store, id)).toBeUndefined();
    expect(heartbeat(store, id)).toBe(false);
  });

  it('a live holder on this host is refused with one line naming it; a dead one is taken over', async () => {
    const id = newRun('live');
    const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      foreign(id, { pid: sleeper.pid!, host: hostname(), heartbeatMs: Date.now() });
      let message = '';
      try {
        acquireRunLease(store, id);
      } catch (e) {
        expect(e).toBeInstanceOf(LeaseError);
        message = (e as Error).message;
      }
      expect(message).toMatch(new RegExp(`^run ${id} is being written by pid ${sleeper.pid} on host ${hostname()} \\(since .*, heartbeat \\d+ s ago\\); wait for it`));
      expect(message).not.toContain('\n');
    } finally {
      sleeper.kill('SIGKILL');
      await new Promise((r) => sleeper.once('exit', r));
    }
    // The same row, its process gone: taken over at once, whatever the heartbeat says.
    const got = acquireRunLease(store, id);
    expect(got.tookOver?.previous.pid).toBe(sleeper.pid);
    expect(got.tookOver?.reason).toBe('its process has exited');
    expect(holdsLease(store, id)).toBe(true);
  });

  it('another host: refused while its heartbeat is fresh, taken over once it is stale', () => {
    const id = newRun('remote');
    foreign(id, { pid: 4242, host: 'elsewhere', heartbeatMs: Date.now() - 5_000 });
    expect(() => acquireRunLease(store, id)).toThrow(/being written by pid 4242 on host elsewhere/);
    expect(abandonedBecause(getLease(store, id)!, { staleAfterMs: 10_000 })).toBeNull();
    foreign(id, { pid: 4242, host: 'elsewhere', heartbeatMs: Date.now() - 120_000 });
    const got = acquireRunLease(store, id, { staleAfterMs: 60_000 });
    expect(got.tookOver?.reason).toMatch(/^its heartbeat is 12\d s old$/);
  });

  it('this pid with another start time is an earlier process that is gone', () => {
    const id = newRun('reused-pid');
    foreign(id, { pid: process.pid, host: hostname(), heartbeatMs: Date.now(), startedAt: '2000-01-01T00:00:00.000Z' });
    expect(acquireRunLease(store, id).tookOver?.reason).toBe('its process has exited');
  });

  it("interruptHeldRuns marks this process's running runs and frees their leases; another holder's run is untouched", () => {
    const mine = newRun('mine');
    const theirs = newRun('theirs');
    const unleased = newRun('unleased');
    acquireRunLease(store, mine);
    foreign(theirs, { pid: 4242, host: 'elsewhere', heartbeatMs: Date.now() });
    const before = new Set(heldRunIds(store));
    const marked = interruptHeldRuns(store, 'abandoned');
    expect(marked).toContain(mine);
    expect(new Set(marked)).toEqual(before);
    expect(getRun(store, mine)).toMatchObject({ status: 'interrupted', statusReason: 'abandoned' });
    expect(getRun(store, theirs)?.status).toBe('running');
    expect(getRun(store, unleased)?.status).toBe('running');
    expect(getLease(store, theirs)?.host).toBe('elsewhere');
    expect(heldRunIds(store)).toEqual([]);
  });
});

describe('one writer per run, across processes', () => {
  it('resume while the search runs is refused (exit 2, one line naming the holder); the search finishes intact', async () => {
    const db = join(dir, 'race.sqlite');
    const budget = 500;
    const search = spawnCli(searchArgs(db, budget, 3));
    await waitFor(db, (s) => trainedOf(s, 1) >= 3, 'the first arrivals');
    const r = cli(['resume', '1', '--db', db]);
    const stillRunning = search.child.exitCode === null;
    expect(r.status, r.stderr).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^optsearch: run 1 is being written by pid ${search.child.pid} on host \\S+ \\(since `));
    expect(await search.exited, search.stderr()).toBe(0);
    // The refusal is only a test of the race when the search was still writing when it came.
    expect(stillRunning, 'the search ended before the resume was refused; raise the budget').toBe(true);
    const s = openStore(db, { readonly: true });
    expectIntact(s, 1, budget);
    s.close();
  }, 120_000);

  it('SIGKILL, then resume: the dead holder is taken over (printed) and the run finishes intact', async () => {
    const db = join(dir, 'killed.sqlite');
    const budget = 200;
    const search = spawnCli(searchArgs(db, budget, 4));
    await waitFor(db, (s) => trainedOf(s, 1) >= 3, 'the first arrivals');
    search.child.kill('SIGKILL');
    await search.exited;
    const r = cli(['resume', '1', '--db', db]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`taking over run 1 from pid ${search.child.pid} on host \\S+ .*: its process has exited`));
    const s = openStore(db, { readonly: true });
    expectIntact(s, 1, budget);
    s.close();
  }, 120_000);

  it('two searches on different runs of one database both finish intact', async () => {
    const db = join(dir, 'two.sqlite');
    const budget = 150;
    const a = spawnCli(searchArgs(db, budget, 5));
    const b = spawnCli(searchArgs(db, budget, 6));
    expect(await a.exited, a.stderr()).toBe(0);
    expect(await b.exited, b.stderr()).toBe(0);
    const s = openStore(db, { readonly: true });
    expect(s.db.prepare('SELECT id FROM runs ORDER BY id').pluck().all()).toEqual([1, 2]);
    expectIntact(s, 1, budget);
    expectIntact(s, 2, budget);
    s.close();
  }, 120_000);

  it("a second Ctrl-C abandons this process's run only; the other search finishes, and the abandoned run resumes", async () => {
    const db = join(dir, 'abandon.sqlite');
    // A trains on a task of about a second and a half a program, so that its first Ctrl-C waits for the
    // evaluation in flight and the second one comes while it waits; its budget outlasts B's start.
    const a = spawnCli(searchArgs(db, 12, 7, 'teacher-student'));
    await waitFor(db, (s) => trainedOf(s, 1) >= 1, "the first search's arrivals");
    const b = spawnCli(searchArgs(db, 300, 8));
    await waitFor(db, (s) => trainedOf(s, 2) >= 2, "the second search's arrivals");
    const ids = openStore(db, { readonly: true });
    expect(leaseHolderPid(ids, 1)).toBe(a.child.pid);
    expect(leaseHolderPid(ids, 2)).toBe(b.child.pid);
    ids.close();
    a.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 300));
    a.child.kill('SIGINT');
    expect(await a.exited).toBe(130);
    expect(a.stderr()).toMatch(/abandoning the evaluations in flight/);
    let s = openStore(db, { readonly: true });
    expect(s.db.prepare('SELECT status, status_reason AS reason FROM runs WHERE id = 1').get()).toEqual({ status: 'interrupted', reason: 'abandoned' });
    expect(leaseHolderPid(s, 1)).toBeUndefined();
    const other = s.db.prepare('SELECT status FROM runs WHERE id = 2').pluck().get();
    s.close();
    // Run 2 was still being written, so it must not have been marked.
    if (b.child.exitCode === null) expect(other).toBe('running');
    expect(await b.exited, b.stderr()).toBe(0);
    const r = cli(['resume', '1', '--db', db]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/taking over/);
    s = openStore(db, { readonly: true });
    expectIntact(s, 1, 12);
    expectIntact(s, 2, 300);
    s.close();
  }, 180_000);
});

describe('a lease lost while searching', () => {
  it('stops the search with a LeaseError at the next arrival, leaving the run to its new holder', async () => {
    const db = join(dir, 'lost.sqlite');
    const store = openStore(db);
    const pool = createEvaluationPool({ size: 1 });
    const config: SearchConfig = {
      space: 'laptop',
      tasks: 'quadratic',
      budget: 2000,
      timeLimitSeconds: null,
      workers: 1,
      seed: 9,
      deterministic: false,
      backend: 'reference',
      funnelEntrants: 0,
      funnelFidelities: [],
    };
    let stolenAt = -1;
    const thief = openStore(db);
    try {
      const run = startSearch(store, config, 'lost', {
        pool,
        onProgress: (p) => {
          if (p.phase !== 'search' || stolenAt >= 0 || p.trained < 3) return;
          stolenAt = p.trained;
          thief.db.prepare("UPDATE run_leases SET holder_pid = 4242, holder_host = 'elsewhere', heartbeat_ms = ? WHERE run_id = ?").run(Date.now(), p.runId);
        },
      });
      await expect(run).rejects.toThrow(/^run 1 was taken over by pid 4242 on host elsewhere/);
      expect(stolenAt).toBeGreaterThanOrEqual(3);
      // Not marked failed or interrupted by the loser, and the thief's lease stays.
      expect(getRun(store, 1)).toMatchObject({ status: 'running', statusReason: null });
      expect(getLease(store, 1)?.host).toBe('elsewhere');
      expect(trainedOf(store, 1)).toBeLessThan(config.budget);
    } finally {
      thief.close();
      await pool.close();
      store.close();
    }
  }, 120_000);
});
