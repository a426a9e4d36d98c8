/** Reading program files for the CLI, with one clear line per problem. */
import { readFileSync, statSync } from 'node:fs';
import type { Program } from '../dsl/ast.ts';
import { checkProgram } from '../dsl/check.ts';
import { DslError, formatDiagnostic } from '../dsl/errors.ts';
import { parseProgram } from '../dsl/parse.ts';
import { CliError } from './errors.ts';

/** Largest program file accepted (programs are a few hundred bytes; this only stops accidents). */
export const MAX_PROGRAM_BYTES = 16 * 1024 * 1024;

export function readTextFile(path: string, what = 'file'): string {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new CliError(`${path}: no such ${what}`);
  }
  if (st.isDirectory()) throw new CliError(`${path}: is a directory, expected a ${what}`);
  if (!st.isFile()) throw new CliError(`${path}: not a regular ${what}`);
  if (st.size > MAX_PROGRAM_BYTES) throw new CliError(`${path}: ${st.size} bytes is too large for a ${what} (limit ${MAX_PROGRAM_BYTES})`);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new CliError(`${path}: cannot read: ${(e as Error).message}`);
  }
  if (buf.includes(0)) throw new CliError(`${path}: binary file (contains NUL bytes), expected a text ${what}`);
  const text = buf.toString('utf8');
  if (text.includes('\uFFFD') && !buf.includes(Buffer.from('\uFFFD', 'utf8'))) {
    throw new CliError(`${path}: not valid UTF-8 text`);
  }
  return text;
}

/** Parse program text; parse errors become file:line:col messages. */
export function parseOrFail(text: string, file: string): Program {
  try {
    return parseProgram(text);
  } catch (e) {
    if (e instanceof DslError) throw new CliError(e.diagnostics.map((d) => formatDiagnostic(d, file)).join('\n'));
    throw e;
  }
}

/** Read, parse and check a program file; any problem is a CliError naming file:line:col. */
export function loadProgramFile(path: string): { program: Program; text: string } {
  const text = readTextFile(path, 'program file');
  const program = parseOrFail(text, path);
  const r = checkProgram(program);
  if (!r.ok) throw new CliError(r.diagnostics.map((d) => formatDiagnostic(d, path)).join('\n'));
  return { program, text };
}
