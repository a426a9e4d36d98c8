import type { Command } from 'commander';
import { topPrograms } from '../../store/queries.ts';
import { CliError } from '../errors.ts';
import { fmtFitness, styleFor, table } from '../format.ts';
import { DB_OPTION_HELP, openForRead, resolveRun, withStore } from '../store-access.ts';

export function register(program: Command): void {
  program
    .command('top')
    .description('the best programs of a run: fitness, size, family')
    .argument('<run>', 'run id or name (see optsearch runs)')
    .option('-n, --count <n>', 'how many programs', '20')
    .option('--db <path>', DB_OPTION_HELP)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ optsearch top 1 -n 10\n')
    .action((ref: string, opts: { count: string; db?: string; json?: boolean }) => {
      const n = Number(opts.count);
      if (!Number.isInteger(n) || n < 1) throw new CliError(`-n must be a positive integer, got '${opts.count}'`);
      withStore(openForRead(opts.db), (store) => {
        const run = resolveRun(store, ref);
        const top = topPrograms(store, run.id, n);
        if (opts.json) {
          console.log(JSON.stringify({ run: { id: run.id, name: run.name, status: run.status }, programs: top }, null, 2));
          return;
        }
        const st = styleFor();
        console.log(st.bold(`run ${run.id} (${run.name}), ${run.status}: ${run.trained} trained, ${run.generated} generated`));
        if (top.length === 0) {
          console.log('no evaluated programs yet');
          return;
        }
        const fam = (f: string | null) => (f === null ? '-' : f === 'lion' ? st.green(f) : f === 'unknown' ? st.dim(f) : st.cyan(f));
        console.log(
          table(
            ['program', 'fitness', 'size', 'live', 'family', 'first birth', 'copies'],
            top.map((p) => [String(p.id), fmtFitness(p.fitness), String(p.size), p.liveSize === null ? '-' : String(p.liveSize), fam(p.family), String(p.firstBirth), String(p.births)]),
          ),
        );
        console.log(st.dim(`optsearch show <program> for the program, its evaluations and lineage`));
      });
    });
}
