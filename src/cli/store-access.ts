/** Opening the database and resolving run / program references for the CLI, with one-line errors. */
import { existsSync } from 'node:fs';
import { openStore, StoreError, type Store } from '../store/db.ts';
import { DEFAULT_DB_PATH } from '../vocabulary/index.ts';
import { getProgram, getRun, type ProgramRecord, type Run } from '../store/queries.ts';
import { CliError } from './errors.ts';

export const DB_OPTION_HELP = `SQLite database (default ${DEFAULT_DB_PATH})`;

/** Open for reading: never creates or migrates; a missing or foreign file is a CliError. */
export function openForRead(path: string = DEFAULT_DB_PATH): Store {
  if (!existsSync(path)) throw new CliError(`${path}: no such database (run 'optsearch search' first, or pass --db)`);
  try {
    return openStore(path, { readonly: true });
  } catch (e) {
    if (e instanceof StoreError) throw new CliError(e.message);
    throw e;
  }
}

/** Open for writing (creates and migrates); a foreign or newer file is a CliError and is left untouched. */
export function openForWrite(path: string = DEFAULT_DB_PATH): Store {
  try {
    return openStore(path);
  } catch (e) {
    if (e instanceof StoreError) throw new CliError(e.message);
    throw e;
  }
}

/** A run by numeric id or by name. */
export function resolveRun(store: Store, ref: string): Run {
  const run = /^\d+$/.test(ref) ? getRun(store, Number(ref)) : getRun(store, ref);
  if (!run) throw new CliError(`no run '${ref}' in ${store.path} (see 'optsearch runs')`);
  return run;
}

/** A program by numeric id. */
export function resolveProgram(store: Store, ref: string): ProgramRecord {
  if (!/^\d+$/.test(ref)) throw new CliError(`'${ref}' is not a program id (a positive integer; see 'optsearch top <run>')`);
  const p = getProgram(store, Number(ref));
  if (!p) throw new CliError(`no program with id ${ref} in ${store.path}`);
  return p;
}

export function withStore<T>(store: Store, fn: (s: Store) => T): T {
  try {
    return fn(store);
  } finally {
    store.close();
  }
}
