import { resolve } from 'node:path';
import type { Command } from 'commander';
import { buildReport } from '../../report/report.ts';
import { checkOutputPath, writeWhole } from '../io.ts';
import { DB_OPTION_HELP, openForRead, resolveRun } from '../store-access.ts';

export function register(program: Command): void {
  program
    .command('report')
    .description('write a self-contained HTML report of a run (charts, best programs, lineage, Lion-K reading)')
    .argument('<run>', 'run id or name')
    .option('-o, --output <file>', 'output file (default: results/report-<run>.html)')
    .option('--db <path>', DB_OPTION_HELP)
    .addHelpText('after', '\nExample:\n  $ optsearch report 1 -o report.html\n')
    .action(async (ref: string, opts: { output?: string; db?: string }) => {
      const store = openForRead(opts.db);
      try {
        const run = resolveRun(store, ref);
        const out = resolve(opts.output ?? `results/report-${run.id}.html`);
        checkOutputPath(out);
        const { html, charts } = await buildReport(store, run.id);
        writeWhole(out, html);
        console.log(`wrote ${out} (${charts.length} charts, ${(html.length / 1024).toFixed(0)} KiB)`);
      } finally {
        store.close();
      }
    });
}
