/** Reading program files and writing output files for the CLI, with one clear line per problem. */
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Program } from '../dsl/ast.ts';
import { checkProgram, type CheckResult } from '../dsl/check.ts';
import { DslError, formatDiagnostic, type Diagnostic } from '../dsl/errors.ts';
import { parseProgram } from '../dsl/parse.ts';
import { CliError } from './errors.ts';

/** Largest program file accepted (programs are a few hundred bytes; this only stops accidents). */
export const MAX_PROGRAM_BYTES = 16 * 1024 * 1024;

/** A path as shown in a message: quoted when it holds control characters, so that the message stays one line. */
export function shownPath(path: string): string {
  return /[\u0000-\u001f\u007f]/.test(path) ? JSON.stringify(path) : path;
}

export function readTextFile(filePath: string, what = 'file'): string {
  const path = shownPath(filePath);
  let st;
  try {
    st = statSync(filePath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new CliError(`${path}: no such ${what}`);
    throw new CliError(`${path}: cannot access the ${what} (${code ?? (e as Error).message})`);
  }
  if (st.isDirectory()) throw new CliError(`${path}: is a directory, expected a ${what}`);
  if (!st.isFile()) throw new CliError(`${path}: not a regular ${what}`);
  if (st.size > MAX_PROGRAM_BYTES) throw new CliError(`${path}: ${st.size} bytes is too large for a ${what} (limit ${MAX_PROGRAM_BYTES})`);
  let buf: Buffer;
  try {
    buf = readFileSync(filePath);
  } catch (e) {
    throw new CliError(`${path}: cannot read the ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message.split("\n")[0]})`);
  }
  if (buf.includes(0)) throw new CliError(`${path}: binary file (contains NUL bytes), expected a text ${what}`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new CliError(`${path}: not valid UTF-8 text, expected a text ${what}`);
  }
}

/**
 * One line for a list of diagnostics: the first, with a count of the rest (the first error is the one
 * to fix first; later ones are often its consequences).
 */
export function diagnosticsMessage(diagnostics: readonly Diagnostic[], filePath: string): string {
  const file = shownPath(filePath);
  const first = diagnostics[0];
  if (!first) return `${file}: invalid program`;
  const more = diagnostics.length - 1;
  return formatDiagnostic(first, file) + (more > 0 ? ` (and ${more} more problem${more === 1 ? '' : 's'})` : '');
}

/** Parse program text; parse errors become file:line:col messages. */
export function parseOrFail(text: string, file: string): Program {
  try {
    return parseProgram(text);
  } catch (e) {
    if (e instanceof DslError) throw new CliError(diagnosticsMessage(e.diagnostics, file));
    throw e;
  }
}

/** Type-check a parsed program; problems become one file:line:col line. */
export function checkOrFail(program: Program, file: string): CheckResult {
  const r = checkProgram(program);
  if (!r.ok) throw new CliError(diagnosticsMessage(r.diagnostics, file));
  return r;
}

/** Read, parse and check a program file; any problem is a CliError naming file:line:col. */
export function loadProgramFile(path: string): { program: Program; text: string } {
  const text = readTextFile(path, 'program file');
  const program = parseOrFail(text, path);
  checkOrFail(program, path);
  return { program, text };
}

/** Fails unless `path` can be written: its folder exists and it is not a folder itself. */
export function checkOutputPath(path: string): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) throw new CliError(`${path}: the folder ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new CliError(`${path}: ${dir} is not a folder`);
  if (existsSync(path) && statSync(path).isDirectory()) throw new CliError(`${path}: is a folder, expected a file to write`);
}

/** Writes through a temporary file and a rename, so a failed write leaves no half-written output. */
export function writeWhole(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new CliError(`${path}: cannot write: ${(e as Error).message}`);
  }
}
