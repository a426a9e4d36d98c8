import { basename, extname } from 'node:path';
import type { Command } from 'commander';
import { simplify } from '../../analysis/simplify.ts';
import type { Program } from '../../dsl/ast.ts';
import { EXPORT_FORMATS, exportProgram, isExportFormat } from '../../export/index.ts';
import { CliError } from '../errors.ts';
import { checkOutputPath, writeWhole } from '../io.ts';
import { resolveProgramRef } from '../program-ref.ts';
import { DB_OPTION_HELP } from '../store-access.ts';

/**
 * Turns the command's <program> argument into a checked program, throwing CliError on bad input.
 * Program files now; a resolver that also accepts database ids can be passed to register().
 */
export type ProgramResolver = (ref: string, dbPath?: string) => Program;

/** A .prog file, or a program id in the database (--db). */
export const resolveProgramFile: ProgramResolver = (ref, dbPath) => resolveProgramRef(ref, dbPath).program;

/** A name for the exported class/function: the file's base name (lion.prog -> lion). */
export function labelOf(ref: string): string {
  if (/^\d+$/.test(ref)) return `program-${ref}`;
  const base = basename(ref, extname(ref));
  return /[A-Za-z0-9]/.test(base) ? base : 'discovered';
}

interface ExportFlags {
  to?: string;
  simplified?: boolean;
  exact?: boolean;
  output?: string;
  name?: string;
  db?: string;
}

export function register(program: Command, resolveProgram: ProgramResolver = resolveProgramFile): void {
  program
    .command('export')
    .description('write a program as a PyTorch optimizer, an optax transformation, a NumPy step, a TensorFlow.js optimizer module, LaTeX equations or program text')
    .argument('<program>', 'program file (.prog) or program id in the database')
    .option('--db <path>', DB_OPTION_HELP)
    .option('--to <format>', `output format: ${EXPORT_FORMATS.join(', ')}`)
    .option('--simplified', 'export the simplified program (dead code removed, rewrite rules applied)')
    .option('--exact', "with --simplified: apply only the exact rewrite rules (keep x / |x| with its 1e-8 guard)")
    .option('-o, --output <file>', 'write to this file instead of standard output')
    .option('--name <label>', 'name of the exported class/function (default: the file name)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ optsearch export search-spaces/programs/lion.prog --to pytorch -o lion_torch.py\n' +
        '  $ optsearch export search-spaces/programs/paper-discovered.prog --to latex --simplified\n' +
        '  $ optsearch export 42 --to tfjs -o discovered-optimizer.js\n',
    )
    .action((ref: string, opts: ExportFlags) => {
      if (opts.to === undefined) throw new CliError(`missing --to <format>: one of ${EXPORT_FORMATS.join(', ')}`);
      const format = opts.to;
      if (!isExportFormat(format)) throw new CliError(`unknown format '${format}' for --to: expected one of ${EXPORT_FORMATS.join(', ')}`);
      if (opts.exact && !opts.simplified) throw new CliError('--exact only applies together with --simplified');
      if (opts.name !== undefined && !/[A-Za-z]/.test(opts.name)) throw new CliError(`--name '${opts.name}' needs at least one letter`);
      if (opts.output !== undefined) checkOutputPath(opts.output);
      const raw = resolveProgram(ref, opts.db);
      const p = opts.simplified ? simplify(raw, { allowEps: !opts.exact, trace: false }).program : raw;
      const text = exportProgram(p, format, { name: opts.name ?? labelOf(ref) });
      if (opts.output !== undefined) writeWhole(opts.output, text);
      else process.stdout.write(text);
    });
}
