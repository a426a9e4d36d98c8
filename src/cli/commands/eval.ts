import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { Evaluator, SuiteError, type PairScore, type Suite, type SuiteScore } from '../../evaluator/evaluator.ts';
import { defaultBaselineProgram } from '../../evaluator/fitness.ts';
import { createEvaluationPool } from '../../pool/pool.ts';
import { BackendUnavailableError, initBackend } from '../../proxy/backend.ts';
import { runBatchJob } from '../../proxy/job.ts';
import { isFidelity, resolveTaskList, TaskError } from '../../tasks/spec.ts';
import { BACKEND_CHOICES, isBackendName, type BatchJob, type Fidelity, type RequestedBackend, type TaskSpec, type TrainResult } from '../../vocabulary/index.ts';
import { CliError } from '../errors.ts';
import { loadProgramFile } from '../io.ts';

interface EvalOptions {
  tasks: string;
  fidelity: string;
  seeds: string;
  lrMultipliers: string;
  backend: string;
  workers?: string;
  baseline?: string;
  json?: boolean;
}

/** The lr multipliers the search presets score at: a rule's best of its constant x10, x3 and x1. */
export const DEFAULT_LR_MULTIPLIERS = '10,3,1';

function intOption(value: string, name: string, min: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new CliError(`--${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

function listOption(value: string, name: string, parse: (part: string) => number | undefined, what: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  const out = parts.map((p) => (p === '' ? undefined : parse(p)));
  if (out.length === 0 || out.some((x) => x === undefined)) throw new CliError(`--${name} must be a comma-separated list of ${what}, got '${value}'`);
  return [...new Set(out as number[])];
}

const seedOf = (p: string): number | undefined => (/^\d+$/.test(p) && Number.isSafeInteger(Number(p)) ? Number(p) : undefined);
const multiplierOf = (p: string): number | undefined => {
  const x = Number(p);
  return /^[0-9.eE+-]+$/.test(p) && Number.isFinite(x) && x > 0 ? x : undefined;
};

const fmt = (x: number | null | undefined, digits = 4): string => (x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(digits));

interface TaskReport {
  readonly program: string;
  readonly task: string;
  readonly fidelity: Fidelity;
  /** Mean over seeds of the best multiplier's fitness (AdamW = 1). */
  readonly fitness: number;
  readonly seeds: readonly {
    readonly seed: number;
    readonly fitness: number;
    readonly lrMultiplier: number;
    readonly perMultiplier: readonly {
      readonly lrMultiplier: number;
      readonly fitness: number;
      readonly status: string;
      readonly reason: string;
      readonly finalLoss: number | null;
      readonly baselineLoss: number | null;
      readonly metric: number | null;
      readonly metricName: string;
      readonly seconds: number;
      readonly backend: string;
    }[];
  }[];
}

function taskReports(file: string, suite: Suite, score: SuiteScore): TaskReport[] {
  return suite.tasks.map((spec) => {
    const pairs = score.pairs.filter((p) => p.task === spec.name);
    return {
      program: file,
      task: spec.name,
      fidelity: suite.fidelity,
      fitness: pairs.reduce((a, p) => a + p.fitness, 0) / pairs.length,
      seeds: pairs.map((p: PairScore) => ({
        seed: p.seed,
        fitness: p.fitness,
        lrMultiplier: p.lrMultiplier,
        perMultiplier: p.perMultiplier.map((m) => ({
          lrMultiplier: m.lrMultiplier,
          fitness: m.fitness,
          status: m.result?.status ?? 'stored',
          reason: m.result?.reason ?? '',
          finalLoss: m.result?.finalLoss ?? null,
          baselineLoss: m.baselineLoss ?? null,
          metric: m.result?.metric ?? null,
          metricName: m.result?.metricName ?? '',
          seconds: m.result?.seconds ?? 0,
          backend: m.result?.backend ?? '',
        })),
      })),
    };
  });
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
  console.log(line(head));
  for (const row of rows) console.log(line(row));
}

export function register(program: Command): void {
  program
    .command('eval')
    .description('score programs as the search does: each task x seed trained at every lr multiplier against the baseline (AdamW), the best multiplier counts')
    .argument('<file...>', 'program files (.prog)')
    .option('--tasks <list>', 'comma-separated task names or suites', 'default')
    .option('--fidelity <n>', 'task variant: 1, 10 or 100', '1')
    .option('--seeds <list>', "comma-separated evaluation seeds (the search's paired seeds start at 1)", '1')
    .option('--lr-multipliers <list>', 'factors applied to the update; each (task, seed) scores at its best one', DEFAULT_LR_MULTIPLIERS)
    .option('--backend <name>', BACKEND_CHOICES, 'auto')
    .option('--workers <n>', 'parallel workers (0 = run in this process; default: cores)')
    .option('--baseline <file>', 'baseline program (default: search-spaces/programs/adamw.prog)')
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ optsearch eval search-spaces/programs/lion.prog --tasks digits-mlp
  $ optsearch eval search-spaces/programs/lion.prog --tasks digits-mlp,charlm --seeds 1,2,3 --workers 2
  $ optsearch eval my.prog --tasks noisy-quadratic-16 --lr-multipliers 1 --backend reference --json
`,
    )
    .action(async (files: string[], opts: EvalOptions) => {
      const programs = files.map((f) => ({ file: f, text: loadProgramFile(f).text }));
      const baselineText = opts.baseline ? loadProgramFile(opts.baseline).text : defaultBaselineProgram();
      let tasks: TaskSpec[];
      try {
        tasks = resolveTaskList(opts.tasks);
      } catch (e) {
        if (e instanceof TaskError) throw new CliError(e.message);
        throw e;
      }
      const fidelity = Number(opts.fidelity);
      if (!isFidelity(fidelity)) throw new CliError(`--fidelity must be 1, 10 or 100, got '${opts.fidelity}'`);
      const seeds = listOption(opts.seeds, 'seeds', seedOf, 'non-negative integers');
      const lrMultipliers = listOption(opts.lrMultipliers, 'lr-multipliers', multiplierOf, 'positive numbers');
      if (opts.backend !== 'auto' && !isBackendName(opts.backend)) throw new CliError(`--backend must be ${BACKEND_CHOICES}, got '${opts.backend}'`);
      const backend = opts.backend as RequestedBackend;
      const suite: Suite = { tasks, seeds, lrMultipliers, fidelity, backend };
      const jobsCount = tasks.length * (programs.length + 1);
      const workers = opts.workers === undefined ? Math.min(availableParallelism(), jobsCount) : intOption(opts.workers, 'workers', 0);
      // Fail fast, in one line, when a forced tfjs backend cannot start here (simd and reference need no start).
      if (backend !== 'auto' && backend !== 'reference' && backend !== 'simd') {
        try {
          await initBackend(backend);
        } catch (e) {
          if (e instanceof BackendUnavailableError) throw new CliError(e.message);
          throw e;
        }
      }
      const pool = workers > 0 ? createEvaluationPool({ size: workers }) : undefined;
      const run = (job: BatchJob): Promise<TrainResult[]> => (pool ? pool.run(job) : runBatchJob(job));
      const evaluator = new Evaluator(run, { baselineText, ...(pool ? { workers: pool.size } : {}) });
      let reports: TaskReport[];
      try {
        const scores = await Promise.all(programs.map(async (p) => ({ p, score: await evaluator.score(p.text, suite) })));
        reports = scores.flatMap(({ p, score }) => taskReports(p.file, suite, score));
      } catch (e) {
        if (e instanceof SuiteError) throw new CliError(e.message);
        throw e;
      } finally {
        await pool?.close();
      }
      if (opts.json) {
        console.log(JSON.stringify(reports, null, 2));
        return;
      }
      const x = fidelity === 1 ? '' : ` x${fidelity}`;
      const rows: string[][] = [];
      for (const r of reports) {
        for (const s of r.seeds) {
          for (const m of s.perMultiplier) {
            rows.push([
              r.program,
              `${r.task}${x}`,
              String(s.seed),
              `x${m.lrMultiplier}${m.lrMultiplier === s.lrMultiplier ? ' *' : ''}`,
              m.status,
              fmt(m.finalLoss),
              fmt(m.baselineLoss),
              m.metric === null ? '-' : `${fmt(m.metric)} ${m.metricName}`,
              fmt(m.fitness, 3),
              m.seconds.toFixed(2),
              m.backend || '-',
            ]);
          }
        }
      }
      printTable(['program', 'task', 'seed', 'lr', 'status', 'final loss', 'baseline', 'metric', 'fitness', 'seconds', 'backend'], rows);
      for (const r of reports) for (const s of r.seeds) for (const m of s.perMultiplier) if (m.reason) console.log(`${r.program} on ${r.task} seed ${s.seed} x${m.lrMultiplier}: ${m.status}: ${m.reason}`);
      console.log('* the multiplier that counts (best fitness of the seed)');
      for (const r of reports) {
        const chosen = r.seeds.map((s) => `x${s.lrMultiplier}`).join(', ');
        console.log(`${r.program} on ${r.task}${x}: fitness ${fmt(r.fitness, 3)} (AdamW = 1; mean over ${r.seeds.length} seed(s) of the best multiplier: ${chosen})`);
      }
      for (const p of programs) {
        const mine = reports.filter((r) => r.program === p.file);
        if (mine.length > 1) console.log(`${p.file}: mean fitness ${fmt(mine.reduce((a, r) => a + r.fitness, 0) / mine.length, 3)} over ${mine.length} tasks`);
      }
    });
}
