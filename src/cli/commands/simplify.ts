import type { Command } from 'commander';
import { recognizeFamily } from '../../analysis/family.ts';
import { structuralHash } from '../../analysis/hash.ts';
import { simplify, type SimplifyStep } from '../../analysis/simplify.ts';
import { printProgram } from '../../dsl/print.ts';
import { loadProgramFile } from '../io.ts';

function stepLine(s: SimplifyStep): string {
  const where = s.line !== null ? `line ${s.line}` : 'return';
  if (s.after === null) return `${where}: ${s.before}  (removed: ${s.rule})`;
  return `${where}: ${s.before}  ->  ${s.after}  (${s.rule})`;
}

export function register(program: Command): void {
  program
    .command('simplify')
    .description('remove dead code (across steps too), apply exact algebraic rewrites, print the canonical program and its optimizer family')
    .argument('<file>', 'program file (.prog)')
    .option('--json', 'print the result as JSON')
    .option('--trace', 'list every rule application, not only the removed statements')
    .option('--exact', "apply only the 'exact' rules (leave x / |x| with its 1e-8 guard alone)")
    .addHelpText('after', '\nExample:\n  $ optsearch simplify search-spaces/programs/paper-discovered.prog --trace\n')
    .action((file: string, opts: { json?: boolean; trace?: boolean; exact?: boolean }) => {
      const { program: p } = loadProgramFile(file);
      const { program: s, steps } = simplify(p, { allowEps: !opts.exact });
      const family = recognizeFamily(s);
      const shown = opts.trace ? steps : steps.filter((st) => st.after === null || st.statement === null);
      if (opts.json) {
        console.log(
          JSON.stringify(
            {
              program: printProgram(s),
              statements: { before: p.statements.length, after: s.statements.length },
              hash: structuralHash(s),
              family,
              steps: shown,
            },
            null,
            2,
          ),
        );
        return;
      }
      process.stdout.write(printProgram(s));
      console.log(`# ${p.statements.length} -> ${s.statements.length} statements`);
      console.log(`# family: ${family.summary}`);
      if (shown.length > 0) {
        console.log(`# steps:`);
        for (const st of shown) console.log(`#   ${stepLine(st)}`);
      }
    });
}
