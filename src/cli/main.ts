/**
 * The optsearch command line. Each command lives in commands/<name>.ts and exports register();
 * this file wires them and is the one place that turns errors into messages and exit codes.
 */
import { Command, CommanderError } from 'commander';
import { CliError } from './errors.ts';
import * as backends from './commands/backends.ts';
import * as check from './commands/check.ts';
import * as fmt from './commands/fmt.ts';
import * as simplifyCommand from './commands/simplify.ts';
import * as hashCommand from './commands/hash.ts';
import * as lineage from './commands/lineage.ts';
import * as report from './commands/report.ts';
import * as runs from './commands/runs.ts';
import * as search from './commands/search.ts';
import * as show from './commands/show.ts';
import * as top from './commands/top.ts';
import * as analyze from './commands/analyze.ts';
import * as exportCommand from './commands/export.ts';
import * as tasksCommand from './commands/tasks.ts';
import * as evalCommand from './commands/eval.ts';
import * as replayCommand from './commands/replay.ts';
import * as workerCommand from './commands/worker.ts';

const COMMANDS: { register(program: Command): void }[] = [check, fmt, search, runs, top, show, lineage, report, simplifyCommand, hashCommand, analyze, exportCommand, tasksCommand, evalCommand, replayCommand, workerCommand, backends];

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('optsearch')
    .description('Discover optimizer update rules by symbolic program search, and read them through Lion-K theory')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  for (const c of COMMANDS) c.register(program);
  for (const sub of program.commands) sub.exitOverride();
  return program;
}

/** Runs the CLI; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    // A command may set a non-zero status without failing (an interrupted search: 130).
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; usage errors were already printed by commander.
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof CliError) {
      process.stderr.write(`optsearch: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`optsearch: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}
