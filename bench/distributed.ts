/**
 * Distributed evaluation: trained programs per minute with 1, 2 and 4 local worker processes over
 * Redis (`optsearch worker --concurrency 1` each) against the local pool at the same total
 * concurrency, and the queue's overhead per batch job.
 *
 *   npx tsx bench/distributed.ts [--programs 8] [--sizes 1,2,4] [--latency-jobs 200]
 *
 * A trained program is one teacher-student-16 candidate as the search scores it: seeds 1-4 x lr
 * multipliers 10, 3, 1 (12 runs, x1, simd engine), sent as three batch jobs of four runs (the
 * evaluator's split for several workers). Every worker thread is warmed first (its teacher stream
 * built), so the timed part is training and transport. The overhead is the mean round trip of a
 * tiny job (quadratic, 10 steps, one run) sent one at a time through Redis minus the same through
 * the local pool, against the measured cost of one candidate on one thread. Starts its own
 * redis-server (Debian's package) on a free loopback port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRedisUrl } from '../src/distributed/connection.ts';
import { createQueuePool } from '../src/distributed/queue-pool.ts';
import { createEvaluationPool, type EvaluationPool } from '../src/pool/pool.ts';
import { loadTaskSpec } from '../src/tasks/spec.ts';
import type { BatchJob, BatchRun, TrainResult } from '../src/vocabulary/index.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] as string) : fallback;
}
const ROOT = new URL('..', import.meta.url).pathname;
const NAMES = ['adamw', 'lion', 'sgd', 'momentum', 'signum', 'signsgd', 'lion-tanh', 'lion-huber', 'paper-discovered', 'lion-rel'];
const names = NAMES.slice(0, Number(arg('programs', '8')));
const sizes = arg('sizes', '1,2,4').split(',').map(Number);
const latencyJobs = Number(arg('latency-jobs', '200'));
const text = (n: string): string => readFileSync(join(ROOT, 'search-spaces/programs', `${n}.prog`), 'utf8');
const TASK = loadTaskSpec('teacher-student-16');
const RUNS: BatchRun[] = [1, 2, 3, 4].flatMap((seed) => [10, 3, 1].map((lrMultiplier) => ({ seed, lrMultiplier })));

/** A candidate's three jobs of four runs. */
function candidateJobs(programText: string): BatchJob[] {
  return [0, 4, 8].map((i) => ({ programText, task: TASK, fidelity: 1, runs: RUNS.slice(i, i + 4), backend: 'simd' }));
}
const jobs = names.flatMap((n) => candidateJobs(text(n)));
/** One job per worker thread, each distinct (identical jobs would be one queue entry), to build every thread's teacher stream. */
const warmJobs = (n: number): BatchJob[] =>
  Array.from({ length: n }, (_, k) => ({ programText: text('adamw'), task: TASK, fidelity: 1 as const, runs: RUNS.slice(0, 4).map((r) => ({ ...r, lrMultiplier: r.lrMultiplier * (1 + k * 1e-9) })), backend: 'simd' as const }));
const tiny = (k: number): BatchJob => ({ programText: text('sgd'), task: { ...loadTaskSpec('quadratic'), steps: 10 }, fidelity: 1, runs: [{ seed: 1000 + k, lrMultiplier: 1 }], backend: 'simd' });

function check(results: readonly TrainResult[]): void {
  const bad = results.filter((r) => r.status === 'failed' || r.status === 'timeout');
  if (bad.length > 0) throw new Error(`failed runs: ${bad.map((r) => r.reason).slice(0, 3).join('; ')}`);
}

/** Seconds for every candidate's jobs at once. */
async function throughput(pool: EvaluationPool, size: number): Promise<number> {
  (await Promise.all(warmJobs(size).map((j) => pool.run(j)))).forEach(check);
  const t0 = performance.now();
  (await Promise.all(jobs.map((j) => pool.run(j)))).forEach(check);
  return (performance.now() - t0) / 1000;
}

/** Mean round trip of tiny jobs sent one at a time, ms. */
async function latency(pool: EvaluationPool, offset: number): Promise<number> {
  for (let k = 0; k < 10; k++) check(await pool.run(tiny(offset + k))); // warm
  const t0 = performance.now();
  for (let k = 10; k < 10 + latencyJobs; k++) check(await pool.run(tiny(offset + k)));
  return (performance.now() - t0) / latencyJobs;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

async function startRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'optsearch-bench-redis-'));
  const port = await freePort();
  const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    p.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (/Ready to accept connections/.test(out)) resolve();
    });
    p.once('exit', (c) => reject(new Error(`redis-server exited with ${c} (is Debian's redis-server installed?)`)));
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      await new Promise((r) => {
        p.once('exit', r);
        p.kill('SIGTERM');
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startWorkers(url: string, n: number): Promise<ChildProcess[]> {
  return Promise.all(
    Array.from({ length: n }, () => {
      const c = spawn(process.execPath, [join(ROOT, 'bin/optsearch.mjs'), 'worker', '--redis', url, '--concurrency', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
      return new Promise<ChildProcess>((resolve, reject) => {
        let err = '';
        c.stderr?.on('data', (d: Buffer) => {
          err += d.toString();
          if (/waiting for batch jobs/.test(err)) resolve(c);
        });
        c.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${err}`)));
      });
    }),
  );
}

async function stopWorkers(ws: ChildProcess[]): Promise<void> {
  await Promise.all(ws.map((w) => new Promise((r) => (w.once('exit', r), w.kill('SIGTERM')))));
}

const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');
console.log(`${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), load average before: ${load()} (other processes compete for the same cores)`);
console.log(`${names.length} teacher-student-16 candidates (${names.join(', ')}): 12 runs each as 3 batch jobs of 4 runs, simd, x1`);
const redis = await startRedis();
const target = parseRedisUrl(redis.url);
const rows: string[] = [];
let perCandidateOneThread = 0;
try {
  for (const size of sizes) {
    const local = createEvaluationPool({ size });
    const tLocal = await throughput(local, size);
    await local.close();
    const ws = await startWorkers(redis.url, size);
    const queue = await createQueuePool({ target, size });
    const tRedis = await throughput(queue, size);
    await queue.close();
    await stopWorkers(ws);
    if (size === 1) perCandidateOneThread = tLocal / names.length;
    const pm = (t: number): string => ((names.length / t) * 60).toFixed(1);
    const row = `concurrency ${size}: local pool ${pm(tLocal)} programs/min (${tLocal.toFixed(1)} s), redis with ${size} worker process${size === 1 ? '' : 'es'} ${pm(tRedis)} programs/min (${tRedis.toFixed(1)} s), redis/local ${(tLocal / tRedis).toFixed(2)}`;
    rows.push(row);
    console.log(row);
  }

  const local = createEvaluationPool({ size: 1 });
  const lLocal = await latency(local, 0);
  await local.close();
  const ws = await startWorkers(redis.url, 1);
  const queue = await createQueuePool({ target, size: 1 });
  const lRedis = await latency(queue, 100_000);
  await queue.close();
  await stopWorkers(ws);
  const overhead = lRedis - lLocal;
  console.log(`round trip of a tiny batch job (${latencyJobs}, one at a time): local pool ${lLocal.toFixed(2)} ms, redis ${lRedis.toFixed(2)} ms: queue overhead ${overhead.toFixed(2)} ms per batch job`);
  if (perCandidateOneThread > 0) {
    // a candidate is three jobs: the overhead it pays, against its own cost on one thread
    const share = (3 * overhead) / (perCandidateOneThread * 1000);
    console.log(`one candidate on one thread: ${perCandidateOneThread.toFixed(2)} s in 3 jobs; queue overhead ${(3 * overhead).toFixed(1)} ms = ${(100 * share).toFixed(2)}% of it (target under 2%)`);
  }
} finally {
  await redis.stop();
}
console.log(`load average after: ${load()}`);
