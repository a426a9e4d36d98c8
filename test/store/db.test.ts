import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { APPLICATION_ID, MIGRATIONS, openStore, schemaVersion, SCHEMA_VERSION, StoreError } from '../../src/store/db.ts';
import { addPopulationSnapshot, createRun, evaluationsOf, findEvaluation, getRun, populationAt, recordEvaluation, runIndividuals, upsertProgram } from '../../src/store/queries.ts';
import { Rng } from '../../src/util/rng.ts';

const dir = mkdtempSync(join(tmpdir(), 'optsearch-db-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `db${n++}.sqlite`);

function tables(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all() as string[];
  } finally {
    db.close();
  }
}

/** Opening must fail with a StoreError matching `message` and leave the file byte-for-byte as it was. */
function expectRefusedUnchanged(path: string, message: RegExp, readonly = false): void {
  const before = readFileSync(path);
  let error: unknown;
  try {
    openStore(path, { readonly }).close();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(StoreError);
  expect((error as Error).message.startsWith(`${path}: `)).toBe(true);
  expect((error as Error).message).toMatch(message);
  expect((error as Error).message).not.toContain('\n');
  expect(readFileSync(path).equals(before)).toBe(true);
  expect(existsSync(`${path}-wal`)).toBe(false);
  expect(existsSync(`${path}-journal`)).toBe(false);
}

describe('creating', () => {
  it('a new file gets every table, the current version, WAL mode and the application id', () => {
    const path = join(dir, 'nested', 'deeper', 'new.sqlite');
    const s = openStore(path);
    expect(schemaVersion(s)).toBe(SCHEMA_VERSION);
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.db.pragma('application_id', { simple: true })).toBe(APPLICATION_ID);
    expect(s.db.pragma('foreign_keys', { simple: true })).toBe(1);
    s.close();
    expect(tables(path)).toEqual(['cache_counters', 'evaluations', 'funnel_results', 'lineage', 'meta', 'population', 'programs', 'run_leases', 'runs']);
  });

  it('opening again changes nothing and keeps the data', () => {
    const path = fresh();
    const s = openStore(path);
    createRun(s, { name: 'keep', space: 'laptop', seed: 1, config: {} });
    s.close();
    const again = openStore(path);
    expect(getRun(again, 'keep')?.seed).toBe(1);
    expect(schemaVersion(again)).toBe(SCHEMA_VERSION);
    again.close();
  });

  it('an empty (0-byte) file becomes a database; read-only opening of a missing file creates nothing', () => {
    const path = fresh();
    writeFileSync(path, '');
    openStore(path).close();
    expect(tables(path)).toContain('runs');
    const missing = fresh();
    expect(() => openStore(missing, { readonly: true })).toThrow(/no such database/);
    expect(existsSync(missing)).toBe(false);
  });

  it('a read-only store cannot write', () => {
    const path = fresh();
    openStore(path).close();
    const ro = openStore(path, { readonly: true });
    expect(() => createRun(ro, { space: 'x', seed: 1, config: {} })).toThrow();
    ro.close();
  });
});

describe('migrations', () => {
  it('a version-1 database is migrated to the current version with its rows intact', () => {
    const path = fresh();
    const v1 = openStore(path, { targetVersion: 1 });
    expect(schemaVersion(v1)).toBe(1);
    expect(tables(path)).not.toContain('population');
    const run = createRun(v1, { name: 'old', space: 'lion', seed: 3, config: { budget: 5 } });
    const pid = upsertProgram(v1, { raw: 'def train(w, g, lr):\n  return g\n', size: 0, structuralHash: 'h' });
    // Version 1's tables have no configuration or screen columns: rows written as version 1 wrote them.
    v1.db
      .prepare("INSERT INTO lineage (run_id, birth, program_id, parent_birth, parent_id, mutation, detail, fitness, source, created_at) VALUES (?, 0, ?, NULL, NULL, 'warm-start', '', 0.25, 'trained', 'then')")
      .run(run.id, pid);
    v1.db
      .prepare("INSERT INTO evaluations (program_id, task, fidelity, seed, lr_multiplier, fitness, metrics, status, backend, run_id, created_at) VALUES (?, 'quadratic', 1, 0, 1, 0.25, '{\"loss\":1.5}', 'ok', 'reference', ?, 'then')")
      .run(pid, run.id);
    v1.close();
    expect(() => openStore(path, { readonly: true })).toThrow(new RegExp(`schema version 1 is older than ${SCHEMA_VERSION}; open it once for writing`));

    const s = openStore(path);
    expect(schemaVersion(s)).toBe(SCHEMA_VERSION);
    expect(getRun(s, 'old')?.config).toEqual({ budget: 5 });
    expect(runIndividuals(s, run.id)).toMatchObject([{ birth: 0, programId: pid, fitness: 0.25, source: 'trained', screen: null }]);
    // The old evaluation stays readable, but what it was scored under is unknown: it is never reused.
    expect(evaluationsOf(s, pid)).toMatchObject([{ task: 'quadratic', configHash: null, numericClass: null, fitness: 0.25, metrics: { loss: 1.5 }, backend: 'reference' }]);
    for (const numericClass of ['float64', 'float32'] as const) {
      expect(findEvaluation(s, { structuralHash: 'h' }, { task: 'quadratic', configHash: 'any', numericClass, fidelity: 1, seed: 0 })).toBeUndefined();
    }
    // A new evaluation under a known configuration sits beside it.
    expect(recordEvaluation(s, { programId: pid, task: 'quadratic', configHash: 'c1', numericClass: 'float64', fidelity: 1, seed: 0, fitness: 0.5, metrics: {}, status: 'ok' }).inserted).toBe(true);
    expect(findEvaluation(s, { structuralHash: 'h' }, { task: 'quadratic', configHash: 'c1', numericClass: 'float64', fidelity: 1, seed: 0 })?.fitness).toBe(0.5);
    addPopulationSnapshot(s, run.id, 0, [0, 0]);
    expect(populationAt(s, run.id, 0).map((m) => m.programId)).toEqual([pid, pid]);
    s.close();
  });

  it('a migration that fails leaves the database at its old version, all or nothing', () => {
    const path = fresh();
    openStore(path, { targetVersion: 1 }).close();
    // A table in the way of migration 2's second table: the first one must not survive either.
    const raw = new Database(path);
    raw.exec('CREATE TABLE cache_counters (x)');
    raw.close();
    expect(() => openStore(path)).toThrow(StoreError);
    const check = new Database(path, { readonly: true });
    expect(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get()).toBe('1');
    expect(check.prepare("SELECT name FROM sqlite_master WHERE name = 'population'").get()).toBeUndefined();
    check.close();
  });

  it('versions are consecutive from 1', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });
});

describe('refusing files that are not ours, without touching them', () => {
  it('a newer schema version', () => {
    const path = fresh();
    openStore(path).close();
    const raw = new Database(path);
    raw.prepare("UPDATE meta SET value = '99' WHERE key = 'schema_version'").run();
    raw.pragma('journal_mode = DELETE');
    raw.close();
    expectRefusedUnchanged(path, new RegExp(`database schema version 99 is newer than this optsearch supports \\(${SCHEMA_VERSION}\\); use a newer optsearch`));
    expectRefusedUnchanged(path, /schema version 99 is newer/, true);
  });

  it('a file of random bytes', () => {
    const path = fresh();
    const rng = new Rng(42);
    writeFileSync(path, Uint8Array.from({ length: 8192 }, () => rng.int(256)));
    expectRefusedUnchanged(path, /is not a SQLite database/);
    expectRefusedUnchanged(path, /is not a SQLite database/, true);
  });

  it('a short text file', () => {
    const path = fresh();
    writeFileSync(path, 'hello\n');
    expectRefusedUnchanged(path, /is not a SQLite database/);
  });

  it('another application\'s SQLite database', () => {
    const path = fresh();
    const raw = new Database(path);
    raw.exec('CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES (\'a\')');
    raw.close();
    expectRefusedUnchanged(path, /is a SQLite database but not an optsearch database \(no meta table; tables: songs\)/);
    expectRefusedUnchanged(path, /not an optsearch database/, true);
  });

  it('a SQLite database whose meta table belongs to someone else', () => {
    const path = fresh();
    const raw = new Database(path);
    raw.exec("CREATE TABLE meta (key TEXT, value TEXT); INSERT INTO meta VALUES ('application', 'other'), ('schema_version', '1')");
    raw.close();
    expectRefusedUnchanged(path, /its meta table does not name optsearch/);
  });

  it('a damaged optsearch database', () => {
    const path = fresh();
    const s = openStore(path);
    for (let i = 0; i < 50; i++) upsertProgram(s, { raw: `p${i}`.repeat(200), size: i });
    s.db.pragma('journal_mode = DELETE');
    s.close();
    const bytes = readFileSync(path);
    const rng = new Rng(7);
    // Keep the header, scramble the rest of page 1 (the schema) .
    for (let i = 100; i < 4096; i++) bytes[i] = rng.int(256);
    writeFileSync(path, bytes);
    expectRefusedUnchanged(path, /damaged|not a database|cannot be read|not an optsearch database/);
  });

  it('a directory, or a path under a file', () => {
    expect(() => openStore(dir)).toThrow(/is not a regular file/);
    const file = fresh();
    writeFileSync(file, 'x');
    expect(() => openStore(join(file, 'sub', 'db.sqlite'))).toThrow(StoreError);
    expect(() => openStore(join(file, 'sub', 'db.sqlite'))).toThrow(/cannot create its folder/);
  });
});
