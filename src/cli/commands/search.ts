import type { Command } from 'commander';
import { BACKEND_CHOICES, DEFAULT_DB_PATH, isBackendName, type BackendName, type Fidelity } from '../../vocabulary/index.ts';
import { REFERENCE_KINDS } from '../../proxy/reference.ts';
import { TaskError } from '../../tasks/spec.ts';
import { resumeSearch, startSearch, type Progress, type SearchConfig, type SearchOutcome } from '../../runner/search.ts';
import { SpaceError } from '../../search/space.ts';
import { StoreError, type Store } from '../../store/db.ts';
import { describeHolder, LeaseError } from '../../store/lease.ts';
import { getRun, interruptHeldRuns, topPrograms, type Run } from '../../store/queries.ts';
import { runNamespace } from '../../distributed/codec.ts';
import type { QueuePool } from '../../distributed/queue-pool.ts';
import { ConfigError, ResumeError } from '../../runner/errors.ts';
import { CliError } from '../errors.ts';
import { fmtFitness, styleFor, table } from '../format.ts';
import { DB_OPTION_HELP, openForWrite, resolveRun } from '../store-access.ts';
import { openQueuePool, redisProgress, redisSummary, redisTarget } from './worker.ts';
import { availableParallelism } from 'node:os';

function positiveInt(name: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < 1) throw new CliError(`--${name} must be a positive integer, got '${v}'`);
  return n;
}

/** "90", "90s", "10m", "2h" -> seconds. */
export function parseDuration(v: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(v.trim());
  if (!m) throw new CliError(`--time must look like 90s, 10m or 2h, got '${v}'`);
  const x = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  if (!(x > 0)) throw new CliError(`--time must be positive, got '${v}'`);
  return x;
}

function fidelityList(v: string): Fidelity[] {
  const out = v.split(',').map((s) => Number(s.trim()));
  for (const f of out) if (f !== 10 && f !== 100 && f !== 1) throw new CliError(`--funnel-fidelities takes 1, 10 or 100, got '${v}'`);
  return out as Fidelity[];
}

function fmtEta(p: Progress): string {
  if (p.session.trained === 0) return '?';
  const rest = ((p.budget - p.trained) * p.elapsedSeconds) / p.session.trained;
  return rest < 90 ? `${Math.round(rest)}s` : `${Math.round(rest / 60)}m`;
}

export function progressLine(p: Progress): string {
  const c = p.cache;
  const rate = (t: keyof typeof c) => (c.structural.lookups === 0 ? '0' : ((100 * c[t].hits) / c.structural.lookups).toFixed(0));
  const perS = p.elapsedSeconds > 0 ? (p.session.generated / p.elapsedSeconds).toFixed(1) : '0';
  if (p.phase === 'warm-start') return `run ${p.runId}: training the warm start on every task...`;
  if (p.phase === 'funnel') return `run ${p.runId}: search finished; re-evaluating the best candidates at higher fidelity (funnel)...`;
  return (
    `trained ${p.trained}/${p.budget}${p.screened > 0 ? ` (${p.screened} stopped at the screen)` : ''}  generated ${p.generated} (${perS}/s)  best ${fmtFitness(p.best.fitness)} ${p.best.family} (#${p.best.programId})  ` +
    `cache ${rate('structural')}%/${rate('fingerprint')}%/${rate('stored')}% (hash/fp/stored)  workers ${p.busyWorkers}/${p.workers} (${Math.round(p.utilization * 100)}% busy)  eta ${fmtEta(p)}`
  );
}

/** Progress on stderr: one rewritten line on a TTY, a line every 10 s otherwise; `suffix` adds the transport's part. */
function progressPrinter(suffix: () => string = () => ''): { print(p: Progress): void; end(): void } {
  const tty = Boolean(process.stderr.isTTY);
  let last = 0;
  let lastPhase = '';
  return {
    print(p) {
      const line = progressLine(p) + (p.phase === 'search' ? suffix() : '');
      if (tty) process.stderr.write(`\r\u001b[2K${line}`);
      else if (p.phase !== lastPhase || p.elapsedSeconds - last >= 10) {
        last = p.elapsedSeconds;
        process.stderr.write(line + '\n');
      }
      lastPhase = p.phase;
    },
    end() {
      if (tty) process.stderr.write('\n');
    },
  };
}

/** Ctrl-C: the first stops cleanly (in-flight evaluations finish), the second abandons them. */
function interruptHandler(onHard: () => void): { stopped(): boolean; dispose(): void } {
  let count = 0;
  const handler = (): void => {
    count++;
    if (count === 1) process.stderr.write('\nstopping: finishing the evaluations in flight (Ctrl-C again to abandon them)\n');
    else onHard();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    stopped: () => count > 0,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

function printOutcome(store: Store, outcome: SearchOutcome, json: boolean): void {
  const top = topPrograms(store, outcome.run.id, 10);
  if (json) {
    console.log(JSON.stringify({ run: outcome.run, status: outcome.status, finalists: outcome.finalists, top }, null, 2));
    return;
  }
  const st = styleFor();
  console.log(st.bold(`\nrun ${outcome.run.id} (${outcome.run.name}) ${outcome.status}: ${outcome.run.trained} trained, ${outcome.run.generated} generated`));
  console.log(
    table(
      ['program', 'fitness', 'size', 'live', 'family', 'funnel'],
      top.map((p) => [String(p.id), fmtFitness(p.fitness), String(p.size), String(p.liveSize ?? '-'), p.family ?? '-', outcome.finalists.includes(p.id) ? 'finalist' : '']),
    ),
  );
  if (outcome.status === 'interrupted') console.log(`resume with: optsearch resume ${outcome.run.id}${store.path !== DEFAULT_DB_PATH ? ` --db ${store.path}` : ''}`);
  console.log(`inspect with: optsearch show <program>   (fitness: 1 = the AdamW baseline, higher is better)`);
}

/** The errors that are the user's to fix become one line and exit code 2; anything else is a bug. */
export function userError(e: unknown): never {
  if (e instanceof SpaceError || e instanceof TaskError || e instanceof StoreError || e instanceof ConfigError || e instanceof ResumeError || e instanceof LeaseError) {
    throw new CliError(e.message);
  }
  throw e;
}

/** --redis: the URL and the pool size (the search's --workers); `run` names the jobs' namespace when it is known up front (resume). */
interface RedisChoice {
  readonly url: string;
  readonly size: number;
  readonly run?: Run;
}

/** Help text of --redis on search, resume and replay. */
export const REDIS_OPTION_HELP = 'train on queue workers through Redis instead of local threads: redis://[:password@]host:port[/db] or rediss:// (start workers with optsearch worker --redis URL)';

/**
 * With --redis, the queue pool (connected before any database is opened, so a refused password
 * leaves nothing behind) and onRun, which names the jobs of each run by the run: the first
 * progress of a search comes before its first job. Without --redis, nothing (the runner makes a
 * local pool).
 */
export async function redisHooks(url: string | undefined, size: number, store: () => Store): Promise<{ pool: QueuePool; onRun(runId: number): void } | undefined> {
  if (url === undefined) return undefined;
  const pool = await openQueuePool(url, size);
  let current = -1;
  const onRun = (runId: number): void => {
    if (runId === current) return;
    const run = getRun(store(), runId);
    if (!run) return;
    current = runId;
    pool.setNamespace(runNamespace(run));
  };
  return { pool, onRun };
}

async function withRun(
  db: string | undefined,
  json: boolean,
  redis: RedisChoice | undefined,
  run: (store: Store, hooks: Parameters<typeof startSearch>[3]) => Promise<SearchOutcome>,
): Promise<void> {
  let store: Store | undefined;
  const queue = await redisHooks(redis?.url, redis?.size ?? 1, () => store as Store);
  try {
    store = openForWrite(db);
  } catch (e) {
    await queue?.pool.close();
    throw e;
  }
  if (queue && redis?.run) queue.onRun(redis.run.id);
  const printer = progressPrinter(queue ? () => redisProgress(queue.pool) : undefined);
  let abandon: (() => void) | undefined;
  const intr = interruptHandler(() => abandon?.());
  abandon = () => {
    // Second Ctrl-C: leave now; the run row says interrupted and resumes from its last arrival.
    process.stderr.write('\nabandoning the evaluations in flight\n');
    try {
      interruptHeldRuns(store as Store, 'abandoned');
      store?.close();
    } finally {
      process.exit(130);
    }
  };
  try {
    const outcome = await run(store, {
      onProgress: (p) => {
        queue?.onRun(p.runId);
        printer.print(p);
      },
      shouldStop: () => intr.stopped(),
      onTakeover: (runId, previous, reason) => process.stderr.write(`taking over run ${runId} from ${describeHolder(previous)}: ${reason}\n`),
      ...(queue ? { pool: queue.pool } : {}),
    }).catch(userError);
    printer.end();
    if (queue) for (const l of await redisSummary(queue.pool)) process.stderr.write(l + '\n');
    printOutcome(store, outcome, json);
    if (outcome.status === 'interrupted') process.exitCode = 130;
  } finally {
    intr.dispose();
    await queue?.pool.close();
    store.close();
  }
}

export function register(program: Command): void {
  program
    .command('search')
    .description('run a regularized-evolution search for optimizer programs')
    .option('--space <name|file>', 'search space: a name in search-spaces/ or a .json file', 'laptop')
    .option('--tasks <list>', "proxy tasks or suites, comma-separated (default: the space's own)")
    .option('--budget <n>', 'trained programs (cache hits are free)', '200')
    .option('--time <duration>', 'wall-clock limit, e.g. 90s, 10m, 2h')
    .option('--workers <n>', 'parallel training workers', String(availableParallelism()))
    .option('--seed <n>', 'random seed (printed first; the same seed with --deterministic repeats a run)', '7')
    .option('--backend <name>', `training backend: ${BACKEND_CHOICES} (reference: the Float64 interpreter, task kinds ${REFERENCE_KINDS.join(', ')})`, 'auto')
    .option('--name <name>', 'run name (unique; default <space>-<seed>-<id>)')
    .option('--deterministic', 'evaluate in fixed batches so that one seed gives the same run')
    .option('--funnel <n>', 'candidates re-evaluated at higher fidelity after the search (0: none)', '3')
    .option('--funnel-fidelities <list>', 'fidelities of the funnel stages', '10')
    .option('--no-screen', "score every child on the whole suite even when the space has a screen (docs/search.md)")
    .option('--db <path>', DB_OPTION_HELP)
    .option('--redis <url>', REDIS_OPTION_HELP + '; --workers is then the parallelism the search plans for')
    .option('--json', 'print the outcome as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ optsearch search --space laptop --budget 100 --workers 2 --seed 7\n  $ optsearch search --space lion --tasks default --budget 2000 --time 2h --deterministic\n  $ optsearch search --space lion --budget 20000 --workers 64 --redis redis://:secret@10.0.0.5:6379\n',
    )
    .action(async (opts: Record<string, string | boolean | undefined>) => {
      const backend = String(opts['backend']);
      if (backend !== 'auto' && !isBackendName(backend)) throw new CliError(`--backend must be ${BACKEND_CHOICES}, got '${backend}'`);
      const seedText = String(opts['seed']);
      if (!/^\d+$/.test(seedText)) throw new CliError(`--seed must be a non-negative integer, got '${seedText}'`);
      const config: SearchConfig = {
        space: String(opts['space']),
        tasks: typeof opts['tasks'] === 'string' ? opts['tasks'] : null,
        budget: positiveInt('budget', String(opts['budget'])),
        timeLimitSeconds: typeof opts['time'] === 'string' ? parseDuration(opts['time']) : null,
        workers: positiveInt('workers', String(opts['workers'])),
        seed: Number(seedText),
        deterministic: Boolean(opts['deterministic']),
        backend: backend as BackendName | 'auto',
        funnelEntrants: /^\d+$/.test(String(opts['funnel'])) ? Number(opts['funnel']) : (() => { throw new CliError(`--funnel must be a non-negative integer`); })(),
        funnelFidelities: fidelityList(String(opts['funnel-fidelities'] ?? opts['funnelFidelities'] ?? '10')),
        ...(opts['screen'] === false ? { screen: false } : {}),
      };
      process.stderr.write(`seed ${config.seed}\n`);
      const redis = typeof opts['redis'] === 'string' ? { url: opts['redis'], size: config.workers } : undefined;
      await withRun(opts['db'] as string | undefined, Boolean(opts['json']), redis, (store, hooks) => startSearch(store, config, opts['name'] as string | undefined, hooks));
    });

  program
    .command('resume')
    .description('continue an interrupted or killed search from its last arrival')
    .argument('<run>', 'run id or name')
    .option('--budget <n>', 'a new total budget of trained programs (to extend a finished run)')
    .option('--db <path>', DB_OPTION_HELP)
    .option('--redis <url>', REDIS_OPTION_HELP + " (the run's own --workers is the parallelism; a run started without --redis may resume with it, and the other way round)")
    .option('--json', 'print the outcome as JSON')
    .addHelpText('after', '\nExamples:\n  $ optsearch resume 3\n  $ optsearch resume 3 --redis redis://:secret@10.0.0.5:6379\n')
    .action(async (ref: string, opts: { budget?: string; db?: string; redis?: string; json?: boolean }) => {
      const budget = opts.budget === undefined ? undefined : positiveInt('budget', opts.budget);
      const probe = openForWrite(opts.db);
      const run = resolveRun(probe, ref);
      probe.close();
      const workers = Number(run.config['workers']);
      const redis = opts.redis === undefined ? undefined : { url: opts.redis, size: Number.isInteger(workers) && workers > 0 ? workers : 1, run };
      await withRun(opts.db, Boolean(opts.json), redis, (store, hooks) => resumeSearch(store, run.id, hooks, budget === undefined ? {} : { budget }));
    });
}
