/**
 * The SQLite store (better-sqlite3, WAL): opening, identification, schema version, migrations.
 *
 * Opening is careful with files that are not ours: a file that is not SQLite, a SQLite database of
 * another application, or an optsearch database from a newer version is refused with one line, and
 * is inspected through a read-only connection first so that it is never modified. Migrations from
 * older versions run in one IMMEDIATE transaction: all of them or none.
 *
 * WAL lets readers (the CLI) work while a search writes; synchronous=NORMAL keeps every committed
 * transaction across a crash of the process (a power loss may drop the last ones, never corrupt).
 */
import Database from 'better-sqlite3';
import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULT_DB_PATH } from '../vocabulary/index.ts';

export const APPLICATION = 'optsearch';
/** PRAGMA application_id: "opts" in ASCII, so `file` and other tools can tell the format. */
export const APPLICATION_ID = 0x6f707473;

/** A database problem meant for the user: one line naming the file. */
export class StoreError extends Error {
  readonly path: string;
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'StoreError';
    this.path = path;
  }
}

export interface Migration {
  /** The schema version this migration produces. */
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

/** Every schema change, oldest first. A fresh database runs them all; an older one runs the rest. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'runs, programs, lineage, evaluations',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        space TEXT NOT NULL,
        seed INTEGER NOT NULL,
        config TEXT NOT NULL CHECK (json_valid(config)),
        status TEXT NOT NULL CHECK (status IN ('running', 'done', 'interrupted', 'failed')),
        status_reason TEXT,
        generated INTEGER NOT NULL DEFAULT 0 CHECK (generated >= 0),
        trained INTEGER NOT NULL DEFAULT 0 CHECK (trained >= 0),
        rng_state TEXT CHECK (rng_state IS NULL OR json_valid(rng_state)),
        evolution_state TEXT, -- no json_valid CHECK: it re-parsed the whole state on every arrival (4x the write)
        timings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(timings))
      );
      CREATE TABLE programs (
        id INTEGER PRIMARY KEY,
        raw TEXT NOT NULL UNIQUE,
        canonical TEXT,
        structural_hash TEXT,
        fingerprint TEXT,
        size INTEGER NOT NULL CHECK (size >= 0),
        live_size INTEGER CHECK (live_size IS NULL OR live_size >= 0),
        family TEXT,
        family_params TEXT CHECK (family_params IS NULL OR json_valid(family_params)),
        created_at TEXT NOT NULL
      );
      CREATE INDEX programs_by_hash ON programs (structural_hash);
      CREATE INDEX programs_by_fingerprint ON programs (fingerprint);
      CREATE TABLE lineage (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        birth INTEGER NOT NULL CHECK (birth >= 0),
        program_id INTEGER NOT NULL REFERENCES programs (id),
        parent_birth INTEGER CHECK (parent_birth IS NULL OR parent_birth < birth),
        parent_id INTEGER REFERENCES programs (id),
        mutation TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        fitness REAL,
        source TEXT,
        created_at TEXT NOT NULL,
        PRIMARY KEY (run_id, birth),
        FOREIGN KEY (run_id, parent_birth) REFERENCES lineage (run_id, birth)
      ) WITHOUT ROWID;
      CREATE INDEX lineage_by_program ON lineage (program_id, run_id, birth);
      CREATE TABLE evaluations (
        id INTEGER PRIMARY KEY,
        program_id INTEGER NOT NULL REFERENCES programs (id),
        task TEXT NOT NULL,
        fidelity REAL NOT NULL,
        seed INTEGER NOT NULL,
        lr_multiplier REAL NOT NULL DEFAULT 1,
        fitness REAL,
        metrics TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics)),
        status TEXT NOT NULL,
        reason TEXT,
        backend TEXT,
        seconds REAL,
        run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        UNIQUE (program_id, task, fidelity, seed, lr_multiplier)
      );
      CREATE INDEX evaluations_by_run ON evaluations (run_id);
    `,
  },
  {
    version: 2,
    description: 'population history, cache counters, funnel results',
    sql: `
      CREATE TABLE population (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        entry INTEGER NOT NULL CHECK (entry >= 0),
        birth INTEGER NOT NULL,
        joined_step INTEGER NOT NULL CHECK (joined_step >= 0),
        left_step INTEGER CHECK (left_step IS NULL OR left_step >= joined_step),
        PRIMARY KEY (run_id, entry),
        FOREIGN KEY (run_id, birth) REFERENCES lineage (run_id, birth)
      ) WITHOUT ROWID;
      CREATE INDEX population_alive ON population (run_id, left_step, entry);
      CREATE TABLE cache_counters (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        tier TEXT NOT NULL CHECK (tier IN ('structural', 'fingerprint', 'stored')),
        hits INTEGER NOT NULL CHECK (hits >= 0),
        lookups INTEGER NOT NULL CHECK (lookups >= hits),
        PRIMARY KEY (run_id, tier)
      ) WITHOUT ROWID;
      CREATE TABLE funnel_results (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        program_id INTEGER NOT NULL REFERENCES programs (id),
        fidelity REAL NOT NULL,
        fitness REAL,
        baseline_fitness REAL,
        beat_baseline INTEGER NOT NULL CHECK (beat_baseline IN (0, 1)),
        search_fitness REAL,
        created_at TEXT NOT NULL,
        UNIQUE (run_id, program_id, fidelity)
      );
    `,
  },
  {
    version: 3,
    description: 'evaluations keyed by the scoring configuration (task definition, baseline) and numeric class',
    // A table constraint cannot be altered in SQLite, so the table is rebuilt. Rows from older
    // versions keep NULL in both new columns: they stay readable but match no lookup, since what
    // they were scored under is not known.
    sql: `
      CREATE TABLE evaluations_v3 (
        id INTEGER PRIMARY KEY,
        program_id INTEGER NOT NULL REFERENCES programs (id),
        task TEXT NOT NULL,
        config_hash TEXT,
        numeric_class TEXT CHECK (numeric_class IS NULL OR numeric_class IN ('float64', 'float32')),
        fidelity REAL NOT NULL,
        seed INTEGER NOT NULL,
        lr_multiplier REAL NOT NULL DEFAULT 1,
        fitness REAL,
        metrics TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(metrics)),
        status TEXT NOT NULL,
        reason TEXT,
        backend TEXT,
        seconds REAL,
        run_id INTEGER REFERENCES runs (id) ON DELETE SET NULL,
        created_at TEXT NOT NULL,
        UNIQUE (program_id, task, config_hash, numeric_class, fidelity, seed, lr_multiplier)
      );
      INSERT INTO evaluations_v3 (id, program_id, task, config_hash, numeric_class, fidelity, seed, lr_multiplier, fitness, metrics, status, reason, backend, seconds, run_id, created_at)
        SELECT id, program_id, task, NULL, NULL, fidelity, seed, lr_multiplier, fitness, metrics, status, reason, backend, seconds, run_id, created_at FROM evaluations;
      DROP TABLE evaluations;
      ALTER TABLE evaluations_v3 RENAME TO evaluations;
      CREATE INDEX evaluations_by_run ON evaluations (run_id);
      CREATE INDEX evaluations_by_config ON evaluations (config_hash, numeric_class, task, fidelity, seed, lr_multiplier);
    `,
  },
  {
    version: 4,
    description: 'run leases: one writing process per run (src/store/lease.ts)',
    sql: `
      CREATE TABLE run_leases (
        run_id INTEGER PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
        holder_pid INTEGER NOT NULL,
        holder_host TEXT NOT NULL,
        holder_started_at TEXT NOT NULL,
        acquired_at TEXT NOT NULL,
        heartbeat_ms INTEGER NOT NULL
      );
    `,
  },
  {
    version: 5,
    description: "the screen of multi-fidelity search: a child's partial score, the threshold it met or missed, and whether it stopped there",
    sql: `
      ALTER TABLE lineage ADD COLUMN screen TEXT CHECK (screen IS NULL OR screen IN ('passed', 'stopped'));
      ALTER TABLE lineage ADD COLUMN screen_fitness REAL;
      ALTER TABLE lineage ADD COLUMN screen_threshold REAL;
    `,
  },
];

export const SCHEMA_VERSION: number = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export interface OpenOptions {
  /** Open for reading only: nothing is created or migrated. */
  readonly readonly?: boolean;
  /** How long a statement waits for a lock held by another connection (default 5000 ms). */
  readonly busyTimeoutMs?: number;
  /** Stop migrating at this version (tests build older databases with it). */
  readonly targetVersion?: number;
}

export interface Store {
  readonly db: Database.Database;
  readonly path: string;
  readonly readonly: boolean;
  /** A prepared statement, cached per connection. */
  stmt(sql: string): Database.Statement;
  /** Run fn in one transaction (BEGIN IMMEDIATE at the outermost level; a savepoint when nested). */
  transaction<T>(fn: () => T): T;
  close(): void;
}

const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

function readHeader(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(16);
    const n = readSync(fd, buf, 0, 16, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

type Inspection = { state: 'new' } | { state: 'optsearch'; version: number };

/** Looks at an existing file through a read-only connection; throws StoreError if it is not ours. */
function inspect(path: string): Inspection {
  const st = statSync(path);
  if (!st.isFile()) throw new StoreError(path, 'is not a regular file');
  if (st.size === 0) return { state: 'new' };
  let header: Buffer;
  try {
    header = readHeader(path);
  } catch (e) {
    throw new StoreError(path, `cannot be read: ${(e as Error).message}`);
  }
  if (header.length < 16 || !header.equals(SQLITE_HEADER)) {
    throw new StoreError(path, 'is not a SQLite database (expected an optsearch database file)');
  }
  let probe: Database.Database | undefined;
  try {
    probe = new Database(path, { readonly: true, fileMustExist: true });
    const tables = probe.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
    if (tables.length === 0) return { state: 'new' };
    if (!tables.includes('meta')) {
      throw new StoreError(path, `is a SQLite database but not an optsearch database (no meta table; tables: ${tables.slice(0, 5).join(', ')})`);
    }
    const rows = probe.prepare('SELECT key, value FROM meta').all() as { key: string; value: string }[];
    const meta = new Map(rows.map((r) => [r.key, r.value]));
    if (meta.get('application') !== APPLICATION) {
      throw new StoreError(path, 'is a SQLite database but not an optsearch database (its meta table does not name optsearch)');
    }
    const version = Number(meta.get('schema_version'));
    if (!Number.isInteger(version) || version < 1) {
      throw new StoreError(path, `has an unreadable schema version '${meta.get('schema_version') ?? ''}'`);
    }
    return { state: 'optsearch', version };
  } catch (e) {
    if (e instanceof StoreError) throw e;
    const code = (e as { code?: string }).code ?? '';
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') throw new StoreError(path, `is damaged or not a database (${(e as Error).message})`);
    throw new StoreError(path, `cannot be read: ${(e as Error).message}`);
  } finally {
    probe?.close();
  }
}

/** Applies the migrations above `from` up to `to`, inside the caller's transaction. */
function migrate(db: Database.Database, from: number, to: number): void {
  for (const m of MIGRATIONS) {
    if (m.version <= from || m.version > to) continue;
    db.exec(m.sql);
  }
  const set = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  set.run('application', APPLICATION);
  set.run('schema_version', String(to));
  db.pragma(`application_id = ${APPLICATION_ID}`);
}

function versionOf(db: Database.Database): number {
  const hasMeta = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").pluck().get();
  if (!hasMeta) return 0;
  const v = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").pluck().get() as string | undefined;
  return v === undefined ? 0 : Number(v);
}

/**
 * Open (creating or migrating when writable) the optsearch database at `path`.
 * Throws StoreError for a missing file (read-only), a file that is not ours, or a newer schema.
 */
export function openStore(path: string = DEFAULT_DB_PATH, opts: OpenOptions = {}): Store {
  const readonly = opts.readonly ?? false;
  const target = opts.targetVersion ?? SCHEMA_VERSION;
  const exists = existsSync(path);
  if (!exists && readonly) throw new StoreError(path, 'no such database (a search creates it)');
  const found: Inspection = exists ? inspect(path) : { state: 'new' };
  if (found.state === 'optsearch' && found.version > SCHEMA_VERSION) {
    throw new StoreError(path, `database schema version ${found.version} is newer than this optsearch supports (${SCHEMA_VERSION}); use a newer optsearch`);
  }
  if (readonly) {
    if (found.state === 'new') throw new StoreError(path, 'is an empty file, not an optsearch database');
    if (found.version < SCHEMA_VERSION) {
      throw new StoreError(path, `database schema version ${found.version} is older than ${SCHEMA_VERSION}; open it once for writing to migrate it`);
    }
  }
  if (!exists) {
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (e) {
      throw new StoreError(path, `cannot create its folder: ${(e as Error).message}`);
    }
  }

  let db: Database.Database;
  try {
    db = new Database(path, { readonly, fileMustExist: readonly });
  } catch (e) {
    throw new StoreError(path, `cannot open: ${(e as Error).message}`);
  }
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    if (!readonly) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // Checkpoints (which fsync) every ~40 MB of WAL instead of ~4 MB: a search commits once per
      // arrival, and this cut the cost of an arrival by a sixth to a third in bench/store.ts.
      db.pragma('wal_autocheckpoint = 10000');
      db.pragma('journal_size_limit = 67108864');
      db.pragma('foreign_keys = ON');
      // Take the write lock only when there is something to migrate, so that opening beside a
      // running search does not wait for its transaction.
      if (versionOf(db) < target) {
        const run = db.transaction(() => {
          // Re-read inside the write lock: another process may have migrated meanwhile.
          const current = versionOf(db);
          if (current > SCHEMA_VERSION) {
            throw new StoreError(path, `database schema version ${current} is newer than this optsearch supports (${SCHEMA_VERSION}); use a newer optsearch`);
          }
          if (current < target) migrate(db, current, target);
        });
        run.immediate();
      }
    } else {
      db.pragma('query_only = ON');
    }
  } catch (e) {
    db.close();
    if (e instanceof StoreError) throw e;
    throw new StoreError(path, `cannot prepare the database: ${(e as Error).message}`);
  }

  const cache = new Map<string, Database.Statement>();
  return {
    db,
    path,
    readonly,
    stmt(sql: string): Database.Statement {
      let s = cache.get(sql);
      if (!s) {
        s = db.prepare(sql);
        cache.set(sql, s);
      }
      return s;
    },
    transaction<T>(fn: () => T): T {
      const t = db.transaction(fn);
      return db.inTransaction ? t() : t.immediate();
    },
    close(): void {
      cache.clear();
      if (db.open) db.close();
    },
  };
}

/** The schema version recorded in an open store. */
export function schemaVersion(store: Store): number {
  return versionOf(store.db);
}
