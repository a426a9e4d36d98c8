/** A program named on the command line: a .prog file, or a program id in the database. */
import { existsSync } from 'node:fs';
import type { Program } from '../dsl/ast.ts';
import { parseProgram } from '../dsl/parse.ts';
import { CliError } from './errors.ts';
import { loadProgramFile } from './io.ts';
import { openForRead, resolveProgram } from './store-access.ts';

export interface ResolvedProgram {
  readonly program: Program;
  /** A label for output: the file's base name, or program-<id>. */
  readonly label: string;
}

export function resolveProgramRef(ref: string, dbPath?: string): ResolvedProgram {
  if (/^\d+$/.test(ref) && !existsSync(ref)) {
    const store = openForRead(dbPath);
    try {
      const rec = resolveProgram(store, ref);
      return { program: parseProgram(rec.raw), label: `program-${rec.id}` };
    } finally {
      store.close();
    }
  }
  if (!existsSync(ref)) throw new CliError(`${ref}: no such program file (or program id: a positive integer)`);
  const base = ref.split('/').pop() ?? ref;
  return { program: loadProgramFile(ref).program, label: base.replace(/\.prog$/, '') };
}
