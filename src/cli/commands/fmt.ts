import type { Command } from 'commander';
import { printProgram } from '../../dsl/print.ts';
import { parseOrFail, readTextFile } from '../io.ts';

export function register(program: Command): void {
  program
    .command('fmt')
    .description('print a program in the canonical text form (comments and spacing normalised)')
    .argument('<file>', 'program file (.prog)')
    .addHelpText('after', '\nExample:\n  $ optsearch fmt search-spaces/programs/paper-discovered.prog\n')
    .action((file: string) => {
      const p = parseOrFail(readTextFile(file, 'program file'), file);
      process.stdout.write(printProgram(p));
    });
}
