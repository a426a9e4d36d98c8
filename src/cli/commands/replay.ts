import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { REPLAY_DEFAULTS, replaySettings, runLionReplay, type ReplayReport } from '../../replay/lion.ts';
import { loadSearchSpace, SpaceError } from '../../search/space.ts';
import { TaskError } from '../../tasks/spec.ts';
import { CliError } from '../errors.ts';
import { BACKEND_CHOICES, isBackendName, type BackendName } from '../../vocabulary/index.ts';
import { openForWrite } from '../store-access.ts';
import { progressLine, REDIS_OPTION_HELP, redisHooks } from './search.ts';
import { redisProgress, redisSummary } from './worker.ts';
import { ConfigError } from '../../runner/errors.ts';
import { LeaseError } from '../../store/lease.ts';
import { interruptHeldRuns } from '../../store/queries.ts';

/** The replays that exist, with what each shows. */
export const REPLAYS: Readonly<Record<string, string>> = {
  lion: 'the Lion rediscovery: Program 4 -> Lion by simplification and ablation, a search from AdamW reaching the Lion family, Lion as a fixpoint',
};

function positiveInt(name: string, v: string): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < 1) throw new CliError(`--${name} must be a positive integer, got '${v}'`);
  return Number(v);
}

const STAGE_NUMBER: Record<string, number> = { simplification: 1, search: 2, fixpoint: 3 };

function printReport(r: ReplayReport): void {
  const lines = (r.proxy.lines as string[] | undefined) ?? [];
  if (lines.length) {
    console.log('== proxy');
    for (const l of lines) console.log(l);
  }
  r.stages.forEach((s) => {
    console.log(`\n== stage ${STAGE_NUMBER[s.name] ?? '?'}: ${s.name}: ${s.passed ? 'PASS' : 'FAIL'}`);
    for (const l of s.lines) console.log(l);
  });
  console.log('\n== summary');
  r.stages.forEach((s) => console.log(`stage ${STAGE_NUMBER[s.name] ?? '?'} ${s.name.padEnd(15)} ${s.passed ? 'PASS' : 'FAIL'}  ${s.summary}`));
  console.log(`replay lion: ${r.interrupted ? 'INTERRUPTED' : r.passed ? 'PASS' : 'FAIL'} (${r.seconds.toFixed(0)} s)`);
}

export function register(program: Command): void {
  program
    .command('replay')
    .description('replay a published discovery end to end and print a pass/fail report (exit 0 only when every stage passes)')
    .argument('<name>', `which replay: ${Object.keys(REPLAYS).join(', ')}`)
    .option('--budget <n>', `trained programs of each search stage (default: stage 2 ${REPLAY_DEFAULTS.search.budget}, stage 3 ${REPLAY_DEFAULTS.fixpoint.budget})`)
    .option('--seed <n>', `seed of each search stage (default: stage 2 ${REPLAY_DEFAULTS.search.seed}, stage 3 ${REPLAY_DEFAULTS.fixpoint.seed})`)
    .option('--workers <n>', 'parallel training workers', String(Math.min(2, availableParallelism())))
    .option('--db <path>', 'SQLite database for the two searches (default: a new results/replay-lion-<time>.sqlite, so no stored evaluation is reused)')
    .option('--stages <list>', 'stages to run: simplify,search,fixpoint', 'simplify,search,fixpoint')
    .option('--tolerance <t>', "ablation tolerance (default: the standard error over seeds of the start program's fitness)")
    .option('--backend <name>', `training backend for every evaluation: ${BACKEND_CHOICES} (auto: the simd engine, which trains every replay proxy; reference: the Float64 interpreter, the oracle)`, 'auto')
    .option('--space <preset>', `search preset of stage 2; stage 3 uses <preset>-lion (default: ${REPLAY_DEFAULTS.search.space}, the proxy where Lion proper leads; replay: the quadratic); stage 1 always ablates on the quadratic replay preset`)
    .option('--no-proxy-check', 'skip the AdamW / signum / Lion comparison on the proxy')
    .option('--redis <url>', REDIS_OPTION_HELP + '; --workers is then the parallelism each stage plans for')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ optsearch replay lion                      # the default configuration (about 6 minutes on 2 cores)\n  $ optsearch replay lion --stages simplify\n  $ optsearch replay lion --space replay --budget 2000 --seed 3   # both searches on the quadratic proxy\n  $ optsearch replay lion --stages search --budget 20000 --workers 16\n',
    )
    .action(async (name: string, opts: { budget?: string; seed?: string; workers: string; backend: string; db?: string; stages: string; tolerance?: string; space?: string; proxyCheck: boolean; redis?: string; json?: boolean }) => {
      if (!(name in REPLAYS)) {
        const list = Object.entries(REPLAYS).map(([k, v]) => `${k} (${v})`).join('; ');
        throw new CliError(`unknown replay '${name}'; the replays that exist: ${list}`);
      }
      if (opts.backend !== 'auto' && !isBackendName(opts.backend)) throw new CliError(`--backend must be ${BACKEND_CHOICES}, got '${opts.backend}'`);
      const budget = opts.budget === undefined ? undefined : positiveInt('budget', opts.budget);
      const workers = positiveInt('workers', opts.workers);
      if (opts.seed !== undefined && !/^\d+$/.test(opts.seed)) throw new CliError(`--seed must be a non-negative integer, got '${opts.seed}'`);
      const seed = opts.seed === undefined ? undefined : Number(opts.seed);
      const stages = opts.stages.split(',').map((s) => s.trim());
      for (const s of stages) if (!['simplify', 'search', 'fixpoint'].includes(s)) throw new CliError(`--stages takes simplify, search, fixpoint; got '${s}'`);
      let tolerance: number | null = null;
      if (opts.tolerance !== undefined) {
        tolerance = Number(opts.tolerance);
        if (!Number.isFinite(tolerance) || tolerance < 0) throw new CliError(`--tolerance must be a non-negative number, got '${opts.tolerance}'`);
      }
      // what the options choose; replaySettings fills in REPLAY_DEFAULTS, here and in runLionReplay
      const chosen = { ...(budget ? { budget } : {}), ...(seed !== undefined ? { seed } : {}), ...(opts.space ? { space: opts.space } : {}) };
      const settings = replaySettings(chosen);
      for (const preset of [settings.search.space, settings.fixpoint.space]) {
        try {
          loadSearchSpace(preset);
        } catch (e) {
          if (e instanceof SpaceError) throw new CliError(`--space ${opts.space}: ${e.message} (stage 3 needs the twin preset '${settings.fixpoint.space}')`);
          throw e;
        }
      }
      const db = opts.db ?? resolve('results', `replay-lion-${new Date().toISOString().replace(/[:.]/g, '-')}.sqlite`);
      if (opts.db === undefined) mkdirSync(dirname(db), { recursive: true });
      let opened: ReturnType<typeof openForWrite> | undefined;
      const queue = await redisHooks(opts.redis, workers, () => opened as ReturnType<typeof openForWrite>);
      let store: ReturnType<typeof openForWrite>;
      try {
        store = opened = openForWrite(db);
      } catch (e) {
        await queue?.pool.close();
        throw e;
      }
      let stopRequests = 0;
      const onSignal = (): void => {
        stopRequests++;
        if (stopRequests === 1) process.stderr.write('\nstopping: finishing the evaluations in flight; the runs will be marked interrupted (Ctrl-C again to abandon them)\n');
        else {
          interruptHeldRuns(store, 'abandoned');
          store.close();
          process.exit(130);
        }
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const tty = Boolean(process.stderr.isTTY);
      let lastProgress = 0;
      try {
        const stageLine = (s: { space: string; seed: number; budget: number }): string => `${s.space} seed ${s.seed} budget ${s.budget}`;
        process.stderr.write(`replay lion: database ${db}; stage 2 ${stageLine(settings.search)}, stage 3 ${stageLine(settings.fixpoint)}; ${workers} workers${queue ? ` on ${queue.pool.target.display}` : ''}\n`);
        const report = await runLionReplay({
          store,
          ...chosen,
          workers,
          backend: opts.backend as BackendName | 'auto',
          stages: stages as ('simplify' | 'search' | 'fixpoint')[],
          proxyComparison: opts.proxyCheck,
          tolerance,
          ...(queue ? { pool: queue.pool } : {}),
          log: (l) => process.stderr.write(`${tty ? '\r\u001b[2K' : ''}${l}\n`),
          onProgress: (p) => {
            queue?.onRun(p.runId);
            const line = progressLine(p) + (queue && p.phase === 'search' ? redisProgress(queue.pool) : '');
            if (tty) process.stderr.write(`\r\u001b[2K${line}`);
            else if (p.elapsedSeconds - lastProgress >= 15) {
              lastProgress = p.elapsedSeconds;
              process.stderr.write(`${line}\n`);
            }
          },
          shouldStop: () => stopRequests > 0,
        }).catch((e: unknown) => {
          if (e instanceof SpaceError || e instanceof TaskError || e instanceof ConfigError || e instanceof LeaseError) throw new CliError(e.message);
          throw e;
        });
        if (tty) process.stderr.write('\n');
        if (queue) for (const l of await redisSummary(queue.pool)) process.stderr.write(l + '\n');
        if (opts.json) console.log(JSON.stringify({ database: db, ...report }, null, 2));
        else {
          printReport(report);
          console.log(`inspect the searches with: optsearch top <run> --db ${db}`);
          console.log('stage 2 over five seeds at scale (docs/replay.md): npx tsx bench/rediscovery.ts --space replay-teacher-student --backend simd --seeds 1,2,3,4,5 --budget 3000');
        }
        // main() turns the returned code into the exit status; a failed stage is a result, exit 1
        if (report.interrupted) throw new CliError('replay lion interrupted: its search runs are marked interrupted', 130);
        if (!report.passed) {
          const failed = report.stages.filter((s) => !s.passed).map((s) => s.name);
          throw new CliError(`replay lion failed: ${failed.join(', ')}`, 1);
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        await queue?.pool.close();
        store.close();
      }
    });
}
