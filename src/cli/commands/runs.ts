import type { Command } from 'commander';
import { listRuns } from '../../store/queries.ts';
import { fmtFitness, styleFor, table } from '../format.ts';
import { DB_OPTION_HELP, openForRead, withStore } from '../store-access.ts';

export function register(program: Command): void {
  program
    .command('runs')
    .description('list every search in the database with its status, counts and best fitness')
    .option('--db <path>', DB_OPTION_HELP)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ optsearch runs --db results/optsearch.sqlite\n')
    .action((opts: { db?: string; json?: boolean }) => {
      withStore(openForRead(opts.db), (store) => {
        const runs = listRuns(store).map((r) => {
          const hits = r.cache.structural.hits + r.cache.fingerprint.hits + r.cache.stored.hits;
          return { ...r, cacheHitRate: r.cache.structural.lookups > 0 ? hits / r.cache.structural.lookups : null };
        });
        if (opts.json) {
          console.log(JSON.stringify(runs, null, 2));
          return;
        }
        if (runs.length === 0) {
          console.log('no runs yet');
          return;
        }
        const st = styleFor();
        const colour = (s: string) => (s === 'done' ? st.green(s) : s === 'running' ? st.cyan(s) : s === 'interrupted' ? st.yellow(s) : st.red(s));
        console.log(
          table(
            ['id', 'name', 'space', 'seed', 'status', 'trained', 'generated', 'cache hits', 'best', 'created'],
            runs.map((r) => [
              String(r.id),
              r.name,
              r.space,
              String(r.seed),
              colour(r.status),
              String(r.trained),
              String(r.generated),
              r.cacheHitRate === null ? '-' : `${(100 * r.cacheHitRate).toFixed(1)}%`,
              fmtFitness(r.bestFitness),
              r.createdAt.slice(0, 19).replace('T', ' '),
            ]),
          ),
        );
      });
    });
}
