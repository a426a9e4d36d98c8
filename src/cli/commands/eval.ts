import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { createEvaluationPool } from '../../pool/pool.ts';
import { BackendUnavailableError, initBackend } from '../../proxy/backend.ts';
import { BACKEND_CHOICES, isBackendName, type BackendName, type EvalJob, type Fidelity, type TaskSpec, type TrainResult } from '../../vocabulary/index.ts';
import { BaselineCache, defaultBaselineProgram, evaluateScored, type ScoredResult } from '../../proxy/fitness.ts';
import { runEvalJob } from '../../proxy/job.ts';
import { isFidelity, resolveTaskList, TaskError } from '../../tasks/spec.ts';
import { CliError } from '../errors.ts';
import { loadProgramFile } from '../io.ts';

interface EvalOptions {
  tasks: string;
  fidelity: string;
  seed?: string;
  backend: string;
  workers?: string;
  baseline?: string;
  json?: boolean;
}

function intOption(value: string, name: string, min: number): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new CliError(`--${name} must be an integer >= ${min}, got '${value}'`);
  return n;
}

const fmt = (x: number | null | undefined, digits = 4): string => (x === null || x === undefined ? '-' : x.toFixed(digits));

export function register(program: Command): void {
  program
    .command('eval')
    .description('train proxy tasks with each program and score it against the baseline (AdamW)')
    .argument('<file...>', 'program files (.prog)')
    .option('--tasks <list>', 'comma-separated task names or suites', 'default')
    .option('--fidelity <n>', 'task variant: 1, 10 or 100', '1')
    .option('--seed <n>', "evaluation seed (default: each task's own)")
    .option('--backend <name>', BACKEND_CHOICES, 'auto')
    .option('--workers <n>', 'parallel workers (0 = run in this process; default: cores)')
    .option('--baseline <file>', 'baseline program (default: search-spaces/programs/adamw.prog)')
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  $ optsearch eval search-spaces/programs/lion.prog --tasks digits-mlp,charlm --seed 3 --workers 2\n',
    )
    .action(async (files: string[], opts: EvalOptions) => {
      const programs = files.map((f) => ({ file: f, text: loadProgramFile(f).text }));
      const baselineText = opts.baseline ? loadProgramFile(opts.baseline).text : defaultBaselineProgram();
      let specs: TaskSpec[];
      try {
        specs = resolveTaskList(opts.tasks);
      } catch (e) {
        if (e instanceof TaskError) throw new CliError(e.message);
        throw e;
      }
      const fidelity = Number(opts.fidelity);
      if (!isFidelity(fidelity)) throw new CliError(`--fidelity must be 1, 10 or 100, got '${opts.fidelity}'`);
      const seed = opts.seed === undefined ? undefined : intOption(opts.seed, 'seed', 0);
      if (opts.backend !== 'auto' && !isBackendName(opts.backend)) {
        throw new CliError(`--backend must be ${BACKEND_CHOICES}, got '${opts.backend}'`);
      }
      const backend = opts.backend as BackendName | 'auto';
      const jobsCount = specs.length * (programs.length + 1);
      const workers = opts.workers === undefined ? Math.min(availableParallelism(), jobsCount) : intOption(opts.workers, 'workers', 0);
      // Fail fast, in one line, when a forced backend cannot start here.
      if (backend !== 'auto' && backend !== 'reference') {
        try {
          await initBackend(backend);
        } catch (e) {
          if (e instanceof BackendUnavailableError) throw new CliError(e.message);
          throw e;
        }
      }
      const pool = workers > 0 ? createEvaluationPool({ size: workers }) : undefined;
      const run = (job: EvalJob): Promise<TrainResult> => (pool ? pool.evaluate(job) : runEvalJob(job));
      const cache = new BaselineCache();
      let results: { file: string; result: ScoredResult }[];
      try {
        const pending = specs.flatMap((spec) =>
          programs.map(async (p) => {
            const job: EvalJob = { programText: p.text, task: spec, fidelity: fidelity as Fidelity, seed: seed ?? spec.seed, backend };
            return { file: p.file, result: await evaluateScored(run, job, { cache, spec, baselineText }) };
          }),
        );
        results = await Promise.all(pending);
      } finally {
        await pool?.close();
      }
      if (opts.json) {
        console.log(JSON.stringify(results.map((r) => ({ program: r.file, ...r.result })), null, 2));
        return;
      }
      const head = ['program', 'task', 'status', 'final loss', 'baseline', 'metric', 'fitness', 'seconds', 'backend'];
      const rows = results.map(({ file, result: r }) => [
        file,
        `${r.task}${fidelity === 1 ? '' : ` x${fidelity}`}`,
        r.status,
        fmt(r.finalLoss),
        fmt(r.baselineLoss),
        r.metric === null ? '-' : `${fmt(r.metric)} ${r.metricName}`,
        fmt(r.fitness, 3),
        r.seconds.toFixed(2),
        r.backend || '-',
      ]);
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
      const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd();
      console.log(line(head));
      for (const row of rows) console.log(line(row));
      for (const { file, result: r } of results) if (r.reason) console.log(`${file} on ${r.task}: ${r.status}: ${r.reason}`);
      const byFile = new Map<string, number[]>();
      for (const { file, result: r } of results) if (r.fitness !== null) byFile.set(file, [...(byFile.get(file) ?? []), r.fitness]);
      for (const [file, fs] of byFile) console.log(`${file}: mean fitness ${(fs.reduce((a, b) => a + b, 0) / fs.length).toFixed(3)} over ${fs.length} task(s) (baseline = 1)`);
    });
}
