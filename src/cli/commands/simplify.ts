import type { Command } from 'commander';
import { recognizeFamily } from '../../analysis/family.ts';
import { structuralHash } from '../../analysis/hash.ts';
import { simplify, type SimplifyStep } from '../../analysis/simplify.ts';
import { printProgram } from '../../dsl/print.ts';
import { loadProgramFile } from '../io.ts';
import { createEvaluationPool } from '../../pool/pool.ts';
import { BACKEND_CHOICES, isBackendName, type BackendName, type Fidelity, type TaskSpec } from '../../vocabulary/index.ts';
import { isFidelity, resolveTaskList, TaskError } from '../../tasks/spec.ts';
import { ablateOnSuite } from '../../replay/ablation.ts';
import { REPLAY_SPACE } from '../../replay/lion.ts';
import { Evaluator, pairedSeeds } from '../../evaluator/evaluator.ts';
import { loadSearchSpace } from '../../search/space.ts';
import { CliError } from '../errors.ts';

function stepLine(s: SimplifyStep): string {
  const where = s.line !== null ? `line ${s.line}` : 'return';
  if (s.after === null) return `${where}: ${s.before}  (removed: ${s.rule})`;
  return `${where}: ${s.before}  ->  ${s.after}  (${s.rule})`;
}

// --ablate: the simplifier, then ablation on a proxy suite (src/replay/ablation.ts).

export interface AblateCliOptions {
  ablate?: boolean;
  tasks?: string;
  seeds: string;
  tolerance?: string;
  lrMultipliers: string;
  workers: string;
  fidelity: string;
  backend: string;
  json?: boolean;
}

const f4 = (x: number | undefined): string => (x === undefined ? '-' : x.toFixed(4));

export async function ablateCommand(file: string, opts: AblateCliOptions): Promise<void> {
  const { program: p } = loadProgramFile(file);
  const seeds = Number(opts.seeds);
  if (!/^\d+$/.test(opts.seeds) || seeds < 1) throw new CliError(`--seeds must be a positive integer, got '${opts.seeds}'`);
  const workers = Number(opts.workers);
  if (!/^\d+$/.test(opts.workers) || workers < 1) throw new CliError(`--workers must be a positive integer, got '${opts.workers}'`);
  let tolerance: number | null = null;
  if (opts.tolerance !== undefined) {
    tolerance = Number(opts.tolerance);
    if (!Number.isFinite(tolerance) || tolerance < 0) throw new CliError(`--tolerance must be a non-negative number, got '${opts.tolerance}'`);
  }
  if (opts.backend !== 'auto' && !isBackendName(opts.backend)) throw new CliError(`--backend must be ${BACKEND_CHOICES}, got '${opts.backend}'`);
  const fidelity = Number(opts.fidelity);
  if (!isFidelity(fidelity)) throw new CliError(`--fidelity must be 1, 10 or 100, got '${opts.fidelity}'`);
  const lrMultipliers = opts.lrMultipliers.split(',').map((x) => Number(x.trim()));
  if (lrMultipliers.some((x) => !(x > 0) || !Number.isFinite(x))) throw new CliError(`--lr-multipliers must be positive numbers, got '${opts.lrMultipliers}'`);
  let tasks: TaskSpec[];
  let timeLimit: number | undefined;
  try {
    const space = loadSearchSpace(REPLAY_SPACE);
    timeLimit = space.limits.timeoutSeconds;
    tasks = resolveTaskList(opts.tasks ?? space.tasks.join(','));
  } catch (e) {
    if (e instanceof TaskError) throw new CliError(e.message);
    throw e;
  }
  const { program: simplified, steps } = simplify(p);
  const suite = { tasks, seeds: pairedSeeds(seeds), lrMultipliers, fidelity: fidelity as Fidelity, backend: opts.backend as BackendName | 'auto', ...(timeLimit ? { timeLimitSeconds: timeLimit } : {}) };
  const pool = createEvaluationPool({ size: workers });
  let report;
  try {
    if (!opts.json) process.stderr.write(`ablation: training on ${tasks.map((t) => t.name).join(', ')} x${fidelity}, seeds ${suite.seeds.join(', ')}, lr multipliers ${lrMultipliers.join(', ')}, ${workers} workers\n`);
    report = await ablateOnSuite(simplified, suite, new Evaluator((j) => pool.run(j), { workers: pool.size }), { tolerance });
  } finally {
    await pool.close();
  }
  const family = recognizeFamily(report.program);
  if (opts.json) {
    console.log(
      JSON.stringify(
        {
          program: printProgram(report.program),
          simplifierSteps: steps,
          suite: { tasks: tasks.map((t) => t.name), seeds: suite.seeds, lrMultipliers },
          startFitness: report.startScore.fitness,
          startPerSeed: report.startScore.perSeed,
          tolerance: report.tolerance,
          toleranceReason: report.toleranceReason,
          decisions: report.decisions.map(({ score, ...d }) => ({ ...d, perSeed: score?.perSeed ?? null })),
          finalFitness: report.finalScore?.fitness ?? null,
          family,
        },
        null,
        2,
      ),
    );
    return;
  }
  process.stdout.write(printProgram(report.program));
  console.log(`# ${p.statements.length} -> ${simplified.statements.length} statements by the simplifier, -> ${report.program.statements.length} after ablation`);
  console.log(`# family: ${family.summary}`);
  console.log(`# start fitness ${f4(report.startScore.fitness)} (seeds: ${report.startScore.perSeed.map(f4).join(', ')}); tolerance ${f4(report.tolerance)}: ${report.toleranceReason}`);
  console.log('# ablation decisions (a removal is kept when fitness >= start - tolerance and >= current - tolerance):');
  for (const d of report.decisions) {
    const delta = d.fitness - d.reference;
    console.log(`#   ${d.kept ? 'removed' : 'kept   '} ${d.statement}  (uses read ${d.replacedBy}): fitness ${f4(d.reference)} -> ${f4(d.fitness)} (${delta >= 0 ? '+' : ''}${f4(delta)})${d.score ? `, seeds ${d.score.perSeed.map(f4).join(', ')}` : ''}`);
  }
}

export function register(program: Command): void {
  program
    .command('simplify')
    .description('remove dead code (across steps too), apply exact algebraic rewrites, print the canonical program and its optimizer family')
    .argument('<file>', 'program file (.prog)')
    .option('--json', 'print the result as JSON')
    .option('--trace', 'list every rule application, not only the removed statements')
    .option('--exact', "apply only the 'exact' rules (leave x / |x| with its 1e-8 guard alone)")
    .option('--ablate', 'then remove statements whose removal costs no more than --tolerance of fitness on a proxy suite (trains)')
    .option('--tasks <list>', 'ablation: proxy tasks or suites (default: those of search-spaces/replay.json)')
    .option('--seeds <n>', 'ablation: paired evaluation seeds', '3')
    .option('--tolerance <t>', "ablation: largest fitness drop kept (default: the standard error over seeds of the start program's fitness)")
    .option('--lr-multipliers <list>', "ablation: each candidate is scored at its best multiple of its own lr", '1,3,10,30')
    .option('--workers <n>', 'ablation: parallel training workers', '2')
    .option('--backend <name>', 'ablation: tfjs backend (auto, cpu, wasm, ...)', 'auto')
    .option('--fidelity <n>', 'ablation: task variant 1, 10 or 100 (the replay uses 10: see docs/replay.md)', '10')
    .addHelpText(
      'after',
      '\nExamples:\n  $ optsearch simplify search-spaces/programs/paper-discovered.prog --trace\n  $ optsearch simplify search-spaces/programs/paper-discovered.prog --ablate --seeds 3 --workers 2\n',
    )
    .action(async (file: string, opts: { json?: boolean; trace?: boolean; exact?: boolean } & AblateCliOptions) => {
      if (opts.ablate) return ablateCommand(file, opts);
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
