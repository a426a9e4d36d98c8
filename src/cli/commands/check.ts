import type { Command } from 'commander';
import { variableKinds } from '../../dsl/check.ts';
import { formatStatement } from '../../dsl/print.ts';
import { checkOrFail, parseOrFail, readTextFile } from '../io.ts';

export function register(program: Command): void {
  program
    .command('check')
    .description('type-check a program and print it with the kind of every variable')
    .argument('<file>', 'program file (.prog)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  $ optsearch check search-spaces/programs/lion.prog\n')
    .action((file: string, opts: { json?: boolean }) => {
      const text = readTextFile(file, 'program file');
      const p = parseOrFail(text, file);
      const r = checkOrFail(p, file);
      const kinds = variableKinds(p, r);
      if (opts.json) {
        console.log(
          JSON.stringify(
            {
              ok: true,
              inputs: p.inputs.map((n) => ({ name: n, kind: r.inputKinds.get(n) })),
              statements: p.statements.map((s, i) => ({ text: formatStatement(s), target: s.target, kind: r.statementKinds[i] })),
              outputs: p.outputs.map((n) => ({ name: n, kind: kinds.get(n) })),
            },
            null,
            2,
          ),
        );
        return;
      }
      const k = (x: string | undefined) => (x === 'tensor' ? 'Tensor' : 'Scalar');
      console.log(`def ${p.name}(${p.inputs.map((n) => `${n}: ${k(r.inputKinds.get(n))}`).join(', ')}):`);
      const width = Math.max(0, ...p.statements.map((s) => formatStatement(s).length));
      p.statements.forEach((s, i) => {
        const line = formatStatement(s);
        console.log(`  ${line.padEnd(width)}  # ${s.target}: ${k(r.statementKinds[i])}`);
      });
      console.log(`  return ${p.outputs.join(', ')}`);
      console.log(`ok: ${p.statements.length} statements, ${p.inputs.length - 3} state slots`);
    });
}
