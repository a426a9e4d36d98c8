import type { Command } from 'commander';
import { analyze } from '../../analysis/simplify.ts';
import { loadProgramFile } from '../io.ts';

export function register(program: Command): void {
  program
    .command('hash')
    .description('print the structural hash (canonical dataflow) and the behavioural fingerprint (probe run) of a program')
    .argument('<file>', 'program file (.prog)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  $ optsearch hash search-spaces/programs/lion.prog\n')
    .action((file: string, opts: { json?: boolean }) => {
      const { program: p } = loadProgramFile(file);
      const a = analyze(p);
      if (opts.json) {
        console.log(JSON.stringify({ structuralHash: a.hash, fingerprint: a.fingerprint, liveStatements: a.program.statements.length }, null, 2));
        return;
      }
      console.log(`structural  ${a.hash}`);
      console.log(`fingerprint ${a.fingerprint}`);
    });
}
