import type { Command } from 'commander';
import { lineageChain, programDetail, type LineageStep } from '../../store/queries.ts';
import { CliError } from '../errors.ts';
import { fmtFitness } from '../format.ts';
import { DB_OPTION_HELP, openForRead, resolveProgram, resolveRun, withStore } from '../store-access.ts';

const FORMATS = ['text', 'dot', 'mermaid'] as const;
type Format = (typeof FORMATS)[number];

function label(s: LineageStep): string {
  const head = `birth ${s.birth}: program ${s.programId}, ${s.family ?? 'unknown'}`;
  if (s.screen?.outcome === 'stopped') return `${head}, stopped at the screen (partial ${fmtFitness(s.screen.fitness)} < ${fmtFitness(s.screen.threshold)})`;
  return `${head}, fitness ${fmtFitness(s.fitness)}${s.screen ? ` (screen ${fmtFitness(s.screen.fitness)} >= ${fmtFitness(s.screen.threshold)})` : ''}`;
}

/** Quote for DOT and Mermaid labels: no program text reaches them, only ids, names and numbers. */
function q(s: string): string {
  return s.replace(/["\\]/g, "'");
}

export function renderLineage(chain: readonly LineageStep[], format: Format): string {
  if (format === 'text') {
    return chain.map((s) => `${label(s)}  <- ${s.mutation === 'warm-start' ? 'warm start' : `${s.mutation}: ${s.detail}`}`).join('\n');
  }
  if (format === 'dot') {
    const lines = ['digraph lineage {', '  rankdir=TB;', '  node [shape=box, fontname="monospace"];'];
    for (const s of chain) lines.push(`  b${s.birth} [label="${q(label(s))}"];`);
    for (const s of chain) if (s.parentBirth !== null) lines.push(`  b${s.parentBirth} -> b${s.birth} [label="${q(`${s.mutation}: ${s.detail}`)}"];`);
    lines.push('}');
    return lines.join('\n');
  }
  const lines = ['graph TD'];
  for (const s of chain) lines.push(`  b${s.birth}["${q(label(s))}"]`);
  for (const s of chain) if (s.parentBirth !== null) lines.push(`  b${s.parentBirth} -->|"${q(`${s.mutation}: ${s.detail}`)}"| b${s.birth}`);
  return lines.join('\n');
}

export function register(program: Command): void {
  program
    .command('lineage')
    .description('the chain of mutations from the warm start to a program')
    .argument('<program-id>', 'program id')
    .option('--format <format>', `output format: ${FORMATS.join(', ')}`, 'text')
    .option('--run <run>', 'run id or name (default: the first run the program appeared in)')
    .option('--db <path>', DB_OPTION_HELP)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  $ optsearch lineage 42\n  $ optsearch lineage 42 --format dot | dot -Tsvg > lineage.svg\n')
    .action((ref: string, opts: { format: string; run?: string; db?: string; json?: boolean }) => {
      if (!(FORMATS as readonly string[]).includes(opts.format)) throw new CliError(`unknown format '${opts.format}' (expected ${FORMATS.join(', ')})`);
      withStore(openForRead(opts.db), (store) => {
        const rec = resolveProgram(store, ref);
        const runId = opts.run !== undefined ? resolveRun(store, opts.run).id : programDetail(store, rec.id)?.runs[0]?.runId;
        if (runId === undefined) throw new CliError(`program ${rec.id} is not part of any run`);
        const chain = lineageChain(store, rec.id, runId);
        if (chain.length === 0) throw new CliError(`program ${rec.id} does not appear in run ${runId}`);
        if (opts.json) console.log(JSON.stringify({ runId, programId: rec.id, chain }, null, 2));
        else console.log(renderLineage(chain, opts.format as Format));
      });
    });
}
