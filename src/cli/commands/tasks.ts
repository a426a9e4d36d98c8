import type { Command } from 'commander';
import { atFidelity, loadSuites, loadTaskSpec, listTaskNames, TaskError } from '../../tasks/spec.ts';
import { CliError } from '../errors.ts';

export function register(program: Command): void {
  program
    .command('tasks')
    .description('list the proxy tasks with their size and measured cost per evaluation')
    .option('--json', 'print the tasks as JSON')
    .addHelpText('after', '\nExample:\n  $ optsearch tasks\n  $ optsearch tasks --json\n')
    .action((opts: { json?: boolean }) => {
      let specs;
      try {
        specs = listTaskNames().map((n) => loadTaskSpec(n));
      } catch (e) {
        if (e instanceof TaskError) throw new CliError(e.message);
        throw e;
      }
      const suites = loadSuites();
      const suitesOf = (name: string) => Object.keys(suites).filter((s) => suites[s]?.includes(name));
      if (opts.json) {
        const out = specs.map((s) => ({
          name: s.name,
          kind: s.kind,
          description: s.description,
          purpose: s.purpose,
          steps: { x1: s.steps, x10: atFidelity(s, 10).steps, x100: atFidelity(s, 100).steps },
          batchSize: s.batchSize,
          loss: s.loss,
          metric: s.metric,
          costSeconds: s.costSeconds ?? null,
          suites: suitesOf(s.name),
        }));
        console.log(JSON.stringify({ tasks: out, suites }, null, 2));
        return;
      }
      const rows = specs.map((s) => [
        s.name,
        s.kind,
        `${s.steps}/${atFidelity(s, 10).steps}/${atFidelity(s, 100).steps}`,
        String(s.batchSize),
        s.costSeconds === undefined ? '?' : s.costSeconds.toFixed(2),
        suitesOf(s.name).join(','),
        s.metric.name,
      ]);
      const head = ['task', 'kind', 'steps x1/x10/x100', 'batch', 'cost s (x1, wasm)', 'suites', 'metric'];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
      const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
      console.log(line(head));
      for (const r of rows) console.log(line(r));
      console.log(`\nsuites: ${Object.entries(suites).map(([k, v]) => `${k} = ${v.join(', ')}`).join('; ')}`);
    });
}
