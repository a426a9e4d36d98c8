import { existsSync, statSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { buildReport } from '../../report/report.ts';
import { CliError } from '../errors.ts';
import { DB_OPTION_HELP, openForRead, resolveRun } from '../store-access.ts';

/** Refuses an output path whose folder does not exist, before any work is done. */
export function checkOutputPath(path: string): string {
  const abs = resolve(path);
  const dir = dirname(abs);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new CliError(`${path}: folder ${dir} does not exist`);
  if (existsSync(abs) && statSync(abs).isDirectory()) throw new CliError(`${path}: is a directory`);
  return abs;
}

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
        const out = checkOutputPath(opts.output ?? `results/report-${run.id}.html`);
        const { html, charts } = await buildReport(store, run.id);
        // write then rename: a failure never leaves half a report behind
        const tmp = `${out}.${process.pid}.tmp`;
        writeFileSync(tmp, html);
        renameSync(tmp, out);
        console.log(`wrote ${out} (${charts.length} charts, ${(html.length / 1024).toFixed(0)} KiB)`);
      } finally {
        store.close();
      }
    });
}
