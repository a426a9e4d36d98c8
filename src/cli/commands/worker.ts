import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
// The queue modules (BullMQ, ioredis) load only when a command uses Redis: every other command starts without them.
import type { QueuePool } from '../../distributed/queue-pool.ts';
import { DEFAULT_STALL_TIMEOUT_SECONDS, workerName } from '../../distributed/registry.ts';
import { parseRedisUrl, RedisAccessError } from '../../distributed/url.ts';
import { BackendUnavailableError, initBackend } from '../../proxy/backend.ts';
import { BACKEND_CHOICES, BACKEND_NAMES, isBackendName, type RequestedBackend } from '../../vocabulary/index.ts';
import { CliError } from '../errors.ts';

function positive(name: string, v: string, integer: boolean): number {
  const n = Number(v);
  const ok = integer ? /^\d+$/.test(v.trim()) && n >= 1 : /^\d+(\.\d+)?$/.test(v.trim()) && n > 0;
  if (!ok) throw new CliError(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got '${v}'`);
  return n;
}

/** The Redis URL of --redis, or a one-line CliError. */
export function redisTarget(url: string): ReturnType<typeof parseRedisUrl> {
  try {
    return parseRedisUrl(url);
  } catch (e) {
    if (e instanceof RedisAccessError) throw new CliError(e.message);
    throw e;
  }
}

const stamp = (): string => new Date().toISOString().slice(11, 19);

export function register(program: Command): void {
  program
    .command('worker')
    .description('train batch jobs from a Redis queue for searches started with --redis (any number of workers, on any machines)')
    .requiredOption('--redis <url>', 'the queue: redis://[:password@]host:port[/db], or rediss:// for TLS')
    .option('--concurrency <n>', 'batch jobs trained at once (worker threads)', String(availableParallelism()))
    .option('--backend <name>', `what jobs sent with backend auto train on here: auto, ${BACKEND_NAMES.filter((b) => b !== 'reference').join(', ')} (jobs that name a backend train on it)`, 'auto')
    .option('--stall-timeout <seconds>', 'a job whose worker stops renewing its lock this long is taken over by another worker', String(DEFAULT_STALL_TIMEOUT_SECONDS))
    .option('--verbose', 'one line per finished job')
    .addHelpText(
      'after',
      '\nExamples:\n  $ optsearch worker --redis redis://:secret@10.0.0.5:6379 --concurrency 16\n  $ optsearch worker --redis rediss://:secret@queue.example.org:6380 --backend simd\n\nStops on Ctrl-C (or SIGTERM) after finishing the jobs running here; a second Ctrl-C leaves them to other workers.\n',
    )
    .action(async (opts: { redis: string; concurrency: string; backend: string; stallTimeout: string; verbose?: boolean }) => {
      const target = redisTarget(opts.redis);
      const concurrency = positive('concurrency', opts.concurrency, true);
      const stall = positive('stall-timeout', opts.stallTimeout, false);
      if (opts.backend !== 'auto' && !isBackendName(opts.backend)) throw new CliError(`--backend must be ${BACKEND_CHOICES}, got '${opts.backend}'`);
      if (opts.backend === 'reference') {
        throw new CliError("--backend reference would train jobs sent as Float32 in Float64; start the search with --backend reference instead (its jobs then train on reference everywhere)");
      }
      const backend = opts.backend as RequestedBackend;
      if (backend !== 'auto' && backend !== 'simd') {
        try {
          await initBackend(backend);
        } catch (e) {
          if (e instanceof BackendUnavailableError) throw new CliError(e.message);
          throw e;
        }
      }
      const log = (line: string): void => void process.stderr.write(`${stamp()} ${line}\n`);
      const { startQueueWorker } = await import('../../distributed/queue-worker.ts');
      const worker = await startQueueWorker({ target, concurrency, backend, stallTimeoutSeconds: stall, log, verbose: Boolean(opts.verbose) }).catch((e: unknown) => {
        if (e instanceof RedisAccessError) throw new CliError(e.message);
        throw e;
      });
      log(`worker ${worker.id}: connected to ${target.display}, concurrency ${concurrency}, backend ${backend}; waiting for batch jobs (Ctrl-C to stop)`);

      // A status line every 30 s while work arrives.
      let lastJobs = 0;
      let lastAt = performance.now();
      const status = setInterval(() => {
        const i = worker.info();
        const t = performance.now();
        if (i.jobs !== lastJobs) {
          const rate = ((i.jobs - lastJobs) * 1000) / (t - lastAt);
          const busy = i.uptimeSeconds > 0 ? (100 * i.busySeconds) / (i.concurrency * i.uptimeSeconds) : 0;
          log(`worker: ${i.jobs} jobs (${i.runs} runs) done, ${rate.toFixed(2)} jobs/s lately, ${busy.toFixed(0)}% busy${i.failedJobs ? `, ${i.failedJobs} failed attempts` : ''}`);
        }
        lastJobs = i.jobs;
        lastAt = t;
      }, 30_000);

      const code = await new Promise<number>((resolve) => {
        let signals = 0;
        const onSignal = (): void => {
          signals++;
          if (signals === 1) {
            log(`stopping: finishing the ${worker.info().active} jobs running here (Ctrl-C again to leave them to other workers)`);
            void worker.close().then(() => resolve(0));
          } else {
            log('leaving the jobs running here: other workers take them over after the stall timeout');
            void worker.close(true).then(() => resolve(130));
          }
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
      });
      clearInterval(status);
      const i = worker.info();
      log(`worker ${worker.id}: stopped after ${i.jobs} jobs (${i.runs} runs)`);
      process.exitCode = code;
    });
}

/**
 * The coordinator's side of --redis (search, resume, replay): the queue pool, with notices on
 * stderr (above the progress line on a terminal) and Redis problems as one-line CliErrors.
 */
export async function openQueuePool(url: string, size: number): Promise<QueuePool> {
  const target = redisTarget(url);
  const tty = Boolean(process.stderr.isTTY);
  const notice = (line: string): void => void process.stderr.write(`${tty ? '\r\u001b[2K' : ''}${line}\n`);
  const { createQueuePool } = await import('../../distributed/queue-pool.ts');
  const pool = await createQueuePool({ target, size, notice }).catch((e: unknown) => {
    if (e instanceof RedisAccessError) throw new CliError(e.message);
    throw e;
  });
  const w = pool.workers();
  notice(`redis: queue at ${target.display} (redis ${pool.server.version}); ${w.length === 0 ? 'no worker connected yet' : `${w.length} workers connected (${w.reduce((s, x) => s + x.concurrency, 0)} jobs at a time)`}`);
  return pool;
}

/** The progress line's Redis part: connected workers, their hosts, the recent job rate. */
export function redisProgress(pool: QueuePool): string {
  const w = pool.workers();
  const hosts = new Set(w.map((x) => x.host)).size;
  return `  redis ${w.length} workers on ${hosts} hosts, ${pool.jobsPerSecond().toFixed(1)} jobs/s`;
}

/** After a search: each connected worker's host, backend and throughput, and what Redis already had. */
export async function redisSummary(pool: QueuePool): Promise<string[]> {
  const c = pool.counters();
  const lines = (await pool.refreshWorkers()).map((w) => {
    const perMin = w.uptimeSeconds > 0 ? (60 * w.jobs) / w.uptimeSeconds : 0;
    return `redis: worker ${workerName(w)} backend ${w.backend} concurrency ${w.concurrency}: ${w.jobs} jobs (${w.runs} runs), ${perMin.toFixed(1)} jobs/min since it started`;
  });
  lines.push(
    `redis: ${pool.stats().completed} batch jobs through ${pool.target.display}; ${c.pickedUp} results picked up from redis (not trained again), ${c.adopted} jobs found queued, ${c.resent} sent again, ${c.failedJobs} failed on every attempt`,
  );
  return lines;
}
