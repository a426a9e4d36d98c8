/**
 * Faults of a search over Redis, each injected for real: a worker process killed mid-job, the
 * Redis server restarted (with its data, then without), the coordinator killed and resumed. Each
 * search completes with no evaluation missing and none stored twice.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNamespace } from '../../src/distributed/codec.ts';
import { parseRedisUrl } from '../../src/distributed/connection.ts';
import { createQueuePool, type QueuePool } from '../../src/distributed/queue-pool.ts';
import { QUEUE_NAME, QUEUE_PREFIX } from '../../src/distributed/registry.ts';
import { startSearch, type SearchConfig } from '../../src/runner/search.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { getRun } from '../../src/store/queries.ts';
import { skipWithout } from '../tools.ts';
import { BIN, checkRun, cliWorker, redisMissing, ROOT, startRedis, waitFor, type RedisServer, type WorkerProcess } from './harness.ts';

const skip = skipWithout('redis-server', redisMissing());
let dir: string;
let redis: RedisServer;
let workers: WorkerProcess[] = [];
let inspect: Queue;

const base: SearchConfig = {
  space: 'laptop',
  tasks: 'quadratic,teacher-student',
  budget: 12,
  timeLimitSeconds: null,
  workers: 3,
  seed: 21,
  deterministic: false,
  backend: 'simd',
  funnelEntrants: 0,
  funnelFidelities: [],
};

async function coordinator(notices: string[], extra: Partial<Parameters<typeof createQueuePool>[0]> = {}): Promise<QueuePool> {
  return createQueuePool({ target: parseRedisUrl(redis.url), size: 3, notice: (l) => notices.push(l), ...extra });
}

/** As the CLI does: the first progress of a run names its jobs' namespace. */
function nameJobs(store: Store, pool: QueuePool) {
  return { pool, onProgress: (p: { runId: number }) => pool.setNamespace(runNamespace(getRun(store, p.runId) as NonNullable<ReturnType<typeof getRun>>)) };
}

const trainedSoFar = (store: Store, runId = 1): number => (store.db.prepare('SELECT trained FROM runs WHERE id = ?').pluck().get(runId) as number | undefined) ?? 0;

beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'optsearch-faults-'));
  redis = await startRedis();
  inspect = new Queue(QUEUE_NAME, { connection: { url: redis.url, maxRetriesPerRequest: null }, prefix: QUEUE_PREFIX });
  inspect.on('error', () => {});
  workers = await Promise.all([0, 1, 2].map(() => cliWorker(redis.url)));
});

afterAll(async () => {
  await inspect?.close();
  await Promise.all(workers.map((w) => w.kill()));
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skip)('faults during a search over Redis', () => {
  it('a worker killed mid-job: another worker takes the job over after the stall timeout', async () => {
    const store = openStore(join(dir, 'killed-worker.sqlite'));
    const notices: string[] = [];
    const pool = await coordinator(notices);
    // teacher-student-16: a worker thread's first job builds the teacher's stream (about 2 s), time to be caught mid-job
    const search = startSearch(store, { ...base, tasks: 'teacher-student-16', budget: 2 }, undefined, nameJobs(store, pool));
    const victim = await waitFor('a job running for 300 ms', async () => {
      const active = await inspect.getActive();
      return active.find((j) => j.processedOn !== undefined && Date.now() - j.processedOn > 300 && j.processedBy);
    });
    const pid = Number(String(victim.processedBy).split('/')[1]);
    const killed = workers.find((w) => w.pid === pid) as WorkerProcess;
    expect(killed).toBeDefined();
    expect(await killed.kill('SIGKILL')).toBe('SIGKILL');
    const replacement = cliWorker(redis.url); // for the tests after this one
    const out = await search;
    await pool.close();

    expect(out.status).toBe('done');
    expect(checkRun(store, out.run.id, { budget: 2 })).toEqual([]);
    const survivors = workers.filter((w) => w !== killed);
    const logs = survivors.map((w) => w.log()).join('\n');
    expect(logs).toContain(`job ${victim.id} stalled`);
    expect(logs).toMatch(new RegExp(`job ${victim.id} done`));
    expect(await store.db.prepare("SELECT COUNT(*) FROM evaluations WHERE status = 'failed'").pluck().get()).toBe(0);
    store.close();
    workers = [...survivors, await replacement];
  });

  it('redis restarted during a search, with its data and then without: the coordinator waits, reconnects and sends again what was lost', async () => {
    const store = openStore(join(dir, 'restarted.sqlite'));
    const notices: string[] = [];
    const pool = await coordinator(notices, { reconcileMs: 500 });
    const search = startSearch(store, { ...base, budget: 24 }, undefined, nameJobs(store, pool));
    await waitFor('3 trained programs', () => trainedSoFar(store) >= 3);
    await redis.restart({ downMs: 600 });
    await waitFor('a reconnection', () => notices.some((n) => /reconnected/.test(n)));
    const before = trainedSoFar(store);
    expect(before).toBeLessThan(24);
    await waitFor('3 more trained programs', () => trainedSoFar(store) >= before + 3);
    await redis.restart({ downMs: 300, wipe: true });
    const out = await search;
    const counters = pool.counters();
    await pool.close();

    expect(out.status).toBe('done');
    expect(checkRun(store, out.run.id, { budget: 24 })).toEqual([]);
    expect(notices.filter((n) => /connection lost; waiting for it to come back/.test(n)).length).toBeGreaterThanOrEqual(2);
    expect(notices.filter((n) => /: reconnected$/.test(n)).length).toBeGreaterThanOrEqual(2);
    // the wiped server had lost the jobs in flight: sent again, each recorded once
    expect(counters.resent).toBeGreaterThan(0);
    expect(notices.some((n) => /no longer had \d+ jobs this search awaits .*sent them again/.test(n))).toBe(true);
    expect(await store.db.prepare("SELECT COUNT(*) FROM evaluations WHERE status = 'failed'").pluck().get()).toBe(0);
    store.close();
  });

  it('the coordinator killed and resumed: results that arrived meanwhile are picked up from redis, nothing is trained twice', async () => {
    const db = join(dir, 'killed-coordinator.sqlite');
    const logStart = workers.map((w) => w.log().length);
    const args = ['search', '--space', 'laptop', '--tasks', 'quadratic,teacher-student', '--budget', '16', '--workers', '3', '--seed', '5', '--funnel', '0', '--backend', 'simd', '--db', db, '--redis', redis.url];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    await waitFor('4 trained programs', () => {
      try {
        const ro = openStore(db, { readonly: true });
        try {
          return trainedSoFar(ro) >= 4;
        } finally {
          ro.close();
        }
      } catch {
        return false; // not created yet
      }
    });
    child.kill('SIGKILL');
    await exited;
    // the workers finish what the dead coordinator had sent
    await waitFor('an idle queue', async () => {
      const c = await inspect.getJobCounts('waiting', 'active', 'delayed');
      return (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) === 0;
    });

    const resume = spawn(process.execPath, [BIN, 'resume', '1', '--db', db, '--redis', redis.url], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    resume.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    resume.stdout.resume();
    const code = await new Promise((r) => resume.once('exit', r));
    expect(stderr).not.toMatch(/internal error/);
    expect(code).toBe(0);
    expect(stderr).toMatch(new RegExp(`taking over run 1 from pid ${child.pid} `));
    const picked = Number(/; (\d+) results picked up from redis/.exec(stderr)?.[1]);
    expect(picked).toBeGreaterThanOrEqual(1);
    expect(stderr).toMatch(/redis: worker \S+ backend auto concurrency 1: \d+ jobs/);

    const store = openStore(db, { readonly: true });
    expect(checkRun(store, 1, { budget: 16 })).toEqual([]);
    store.close();
    // every job of both coordinators was trained once: no id finished twice on any worker
    const done = workers.flatMap((w, i) => [...w.log().slice(logStart[i]).matchAll(/job (b[0-9a-f]{40}) done/g)].map((m) => m[1]));
    expect(done.length).toBeGreaterThan(0);
    expect(new Set(done).size).toBe(done.length);
  });
});
