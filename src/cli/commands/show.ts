import type { Command } from 'commander';
import { recognizeFamily, type FamilyReading } from '../../analysis/family.ts';
import { simplify } from '../../analysis/simplify.ts';
import { parseProgram } from '../../dsl/parse.ts';
import { printProgram } from '../../dsl/print.ts';
import { lineageChain, programDetail, type LineageStep } from '../../store/queries.ts';
import { fmtFitness, indent, styleFor, table } from '../format.ts';
import { DB_OPTION_HELP, openForRead, resolveProgram, withStore } from '../store-access.ts';

export function familyLine(f: FamilyReading): string {
  const hp = Object.entries(f.hyperparameters)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(6)) : v}`)
    .join(' ');
  return `${f.family}${f.family === 'unknown' ? ` (nearest: ${f.nearest})` : ''}${hp ? `  ${hp}` : ''}`;
}

export function register(program: Command): void {
  program
    .command('show')
    .description('one program: raw and simplified text, family and hyperparameters, every evaluation, lineage')
    .argument('<program-id>', 'program id (see optsearch top)')
    .option('--run <run>', 'the run whose lineage to show (default: every run the program appeared in)')
    .option('--db <path>', DB_OPTION_HELP)
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExample:\n  $ optsearch show 42\n')
    .action((ref: string, opts: { run?: string; db?: string; json?: boolean }) => {
      withStore(openForRead(opts.db), (store) => {
        const rec = resolveProgram(store, ref);
        const detail = programDetail(store, rec.id)!;
        const raw = parseProgram(rec.raw);
        const simplified = simplify(raw, { trace: false }).program;
        const family = recognizeFamily(raw);
        const runs = opts.run === undefined ? detail.runs.map((r) => r.runId) : [Number(opts.run)];
        const lineages: { runId: number; chain: LineageStep[] }[] = runs.map((runId) => ({ runId, chain: lineageChain(store, rec.id, runId) }));
        if (opts.json) {
          console.log(
            JSON.stringify(
              { program: rec, simplified: printProgram(simplified), family, evaluations: detail.evaluations, runs: detail.runs, lineages },
              null,
              2,
            ),
          );
          return;
        }
        const st = styleFor();
        console.log(st.bold(`program ${rec.id}`) + `  ${rec.size} statements (${rec.liveSize ?? '?'} live)  hash ${rec.structuralHash ?? '-'}`);
        console.log(st.bold('family: ') + familyLine(family));
        if (family.differences.length > 0 && family.family === 'unknown') console.log(st.dim(`  differs from ${family.nearest}: ${family.differences.join('; ')}`));
        console.log(st.bold('\nraw:'));
        console.log(indent(rec.raw));
        console.log(st.bold('\nsimplified:'));
        console.log(indent(printProgram(simplified)));
        console.log(st.bold('\nevaluations:'));
        if (detail.evaluations.length === 0) console.log('  none (answered by the cache or not evaluated yet)');
        else
          console.log(
            indent(
              table(
                ['task', 'fidelity', 'seed', 'lr x', 'fitness', 'status', 'backend', 'seconds'],
                detail.evaluations.map((e) => [
                  e.task,
                  String(e.fidelity),
                  String(e.seed),
                  String(e.lrMultiplier),
                  fmtFitness(e.fitness),
                  e.status === 'ok' ? e.status : `${e.status}: ${e.reason ?? ''}`,
                  e.backend ?? '-',
                  e.seconds === null ? '-' : e.seconds.toFixed(2),
                ]),
              ),
            ),
          );
        for (const { runId, chain } of lineages) {
          console.log(st.bold(`\nlineage in run ${runId}`) + ` (${chain.length} individuals from the warm start):`);
          for (const s of chain) {
            console.log(`  birth ${s.birth}  program ${s.programId}  fitness ${fmtFitness(s.fitness)}  ${s.family ?? ''}  ${st.dim(s.mutation === 'warm-start' ? 'warm start' : `${s.mutation}: ${s.detail}`)}`);
          }
        }
      });
    });
}
