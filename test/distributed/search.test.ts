/**
 * A search through Redis is the same search: three real worker processes give the lineage and
 * evaluations of the local pool, and a coordinator with no worker says so while it waits.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNamespace } from '../../src/distributed/codec.ts';
import { parseRedisUrl } from '../../src/distributed/connection.ts';
import { createQueuePool, type QueuePool } from '../../src/distributed/queue-pool.ts';
import { createEvaluationPool } from '../../src/pool/pool.ts';
import { startSearch, type SearchConfig } from '../../src/runner/search.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { getRun } from '../../src/store/queries.ts';
import { readFileSync } from 'node:fs';
import { skipWithout } from '../tools.ts';
import { checkRun, cliWorker, redisMissing, startRedis, waitFor, type RedisServer, type WorkerProcess } from './harness.ts';

const skip = skipWithout('redis-server', redisMissing());
let dir: string;
let redis: RedisServer;
let workers: WorkerProcess[] = [];

const config: SearchConfig = {
  space: 'laptop',
  tasks: 'quadratic,logreg-cancer',
  budget: 10,
  timeLimitSeconds: null,
  workers: 3,
  seed: 11,
  deterministic: true,
  backend: 'simd',
  funnelEntrants: 1,
  funnelFidelities: [10],
};

/** The run as plain rows: what the same search on another transport must reproduce. */
function history(store: Store, runId: number) {
  const lineage = store.db
    .prepare(`SELECT l.birth, p.raw, l.parent_birth AS parent, l.mutation, l.fitness, l.source FROM lineage l JOIN programs p ON p.id = l.program_id WHERE l.run_id = ? ORDER BY l.birth`)
    .all(runId);
  const evaluations = store.db
    .prepare(
      `SELECT p.raw, e.task, e.fidelity, e.seed, e.lr_multiplier, e.fitness, e.status, e.reason, e.backend FROM evaluations e
       JOIN programs p ON p.id = e.program_id WHERE e.run_id = ? ORDER BY p.raw, e.task, e.fidelity, e.seed`,
    )
    .all(runId);
  const funnel = store.db.prepare('SELECT p.raw, f.fidelity, f.fitness FROM funnel_results f JOIN programs p ON p.id = f.program_id WHERE f.run_id = ? ORDER BY 1, 2').all(runId);
  return { lineage, evaluations, funnel };
}

beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'optsearch-dist-'));
  redis = await startRedis();
  workers = await Promise.all([0, 1, 2].map(() => cliWorker(redis.url)));
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skip)('a search over Redis', () => {
  it('on 3 worker processes gives the same lineage, evaluations and funnel as the local pool with the same seed', async () => {
    const local = openStore(join(dir, 'local.sqlite'));
    const pool = createEvaluationPool({ size: 3 });
    const a = await startSearch(local, config, undefined, { pool });
    await pool.close();

    const remote = openStore(join(dir, 'redis.sqlite'));
    const notices: string[] = [];
    const queue: QueuePool = await createQueuePool({ target: parseRedisUrl(redis.url), size: 3, notice: (l) => notices.push(l) });
    const b = await startSearch(remote, config, undefined, {
      pool: queue,
      // as the CLI does: the first progress of a run names the namespace of its jobs
      onProgress: (p) => queue.setNamespace(runNamespace(getRun(remote, p.runId) as NonNullable<ReturnType<typeof getRun>>)),
    });
    const stats = queue.stats();
    // the registry follows each worker's last heartbeat
    const seen = await waitFor('the workers to report every job', async () => {
      const w = await queue.refreshWorkers();
      return w.reduce((s, x) => s + x.jobs, 0) >= stats.completed && w;
    });
    await queue.close();

    expect(a.status).toBe('done');
    expect(b.status).toBe('done');
    expect(history(remote, b.run.id)).toEqual(history(local, a.run.id));
    expect(checkRun(remote, b.run.id, { budget: config.budget })).toEqual([]);
    expect(history(remote, b.run.id).funnel.length).toBeGreaterThan(0);
    // every job went through the queue, and each worker reported its host and backend
    expect(stats.completed).toBe(stats.submitted);
    expect(queue.namespace()).toBe(runNamespace(getRun(remote, b.run.id) as NonNullable<ReturnType<typeof getRun>>));
    expect(seen.map((w) => w.pid).sort()).toEqual(workers.map((w) => w.pid).sort());
    for (const w of seen) expect(w).toMatchObject({ host: hostname(), backend: 'auto', concurrency: 1 });
    // each worker trained some of them (one line per job with --verbose)
    for (const w of workers) expect(w.log()).toMatch(/job b[0-9a-f]{40} done/);
    expect(notices.filter((n) => /warning/.test(n))).toEqual([]);
    local.close();
    remote.close();
  });

  it('with no worker connected, the coordinator says so instead of waiting silently, and goes on when one connects', async () => {
    // database 5 of the same server: its own queue, with no worker listening
    const target = parseRedisUrl(`${redis.url}/5`);
    const notices: string[] = [];
    const queue = await createQueuePool({ target, size: 1, notice: (l) => notices.push(l), workersMs: 200, idleNoticeMs: 500 });
    const program = readFileSync(new URL('../../search-spaces/programs/lion.prog', import.meta.url), 'utf8');
    const pending = queue.run({ programText: program, task: 'quadratic', fidelity: 1, runs: [{ seed: 1, lrMultiplier: 1 }], backend: 'simd' });
    const said = await waitFor('the no-worker notice', () => notices.find((n) => /^no worker is connected/.test(n)));
    expect(said).toBe(`no worker is connected to ${target.display}: 1 batch jobs are waiting in the queue; start one with: optsearch worker --redis ${target.display}`);
    const late = await cliWorker(target.url);
    try {
      const [r] = await pending;
      expect(r?.status).toBe('ok');
      expect(notices.some((n) => new RegExp(`^redis: worker ${hostname()}/${late.pid} connected \\(backend auto, concurrency 1\\)`).test(n))).toBe(true);
    } finally {
      await queue.close();
      await late.kill();
    }
  });
});
