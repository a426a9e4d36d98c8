import type { Command } from 'commander';
import { analyzeProgram, formatAnalysis } from '../../lionk/analyze.ts';
import { CliError } from '../errors.ts';
import { resolveProgramRef } from '../program-ref.ts';
import { DB_OPTION_HELP } from '../store-access.ts';

export function register(program: Command): void {
  program
    .command('analyze')
    .description('Lion-K reading of a program: which K it uses, which constrained problem it solves, and numerical checks')
    .argument('<program>', 'program file (.prog) or program id in the database')
    .option('--db <path>', DB_OPTION_HELP)
    .option('--json', 'print the analysis as JSON')
    .option('--seed <n>', 'seed of the checks\' random problems', '1')
    .option('--no-checks', 'print the reading and the conditions only')
    .option('--strict', 'exit with code 1 when a check fails')
    .addHelpText(
      'after',
      '\nExamples:\n  $ optsearch analyze search-spaces/programs/lion.prog\n  $ optsearch analyze search-spaces/programs/lion-tanh.prog --json\n  $ optsearch analyze 42 --db results/optsearch.sqlite\n',
    )
    .action((file: string, opts: { json?: boolean; seed: string; checks: boolean; strict?: boolean; db?: string }) => {
      const seed = Number(opts.seed);
      if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new CliError(`--seed: expected an integer in [0, 4294967295], got '${opts.seed}'`);
      const { program: p } = resolveProgramRef(file, opts.db);
      const analysis = analyzeProgram(p, { seed, skipChecks: !opts.checks });
      if (opts.json) console.log(JSON.stringify(analysis, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2));
      else process.stdout.write(formatAnalysis(analysis));
      if (opts.strict && (analysis.counts?.failed ?? 0) > 0) throw new CliError(`${analysis.counts?.failed} check(s) failed`, 1);
    });
}
