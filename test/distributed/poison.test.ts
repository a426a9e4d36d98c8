/**
 * A job that always fails: on these workers a poisoned program kills the pool thread that trains
 * it, on every worker and every attempt. It is recorded as failed after the attempts, once, and
 * the search goes on to its budget.
 */
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runNamespace } from '../../src/distributed/codec.ts';
import { parseRedisUrl } from '../../src/distributed/connection.ts';
import { createQueuePool, DEFAULT_ATTEMPTS } from '../../src/distributed/queue-pool.ts';
import { startSearch } from '../../src/runner/search.ts';
import { openStore } from '../../src/store/db.ts';
import { getRun } from '../../src/store/queries.ts';
import { skipWithout } from '../tools.ts';
import { poisoned } from './fixtures/poison.ts';
import { checkRun, redisMissing, spawnWorker, startRedis, type RedisServer, type WorkerProcess } from './harness.ts';

const skip = skipWithout('redis-server', redisMissing());
const FIXTURE = fileURLToPath(new URL('./fixtures/poison-worker.ts', import.meta.url));
let dir: string;
let redis: RedisServer;
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'optsearch-poison-'));
  redis = await startRedis();
  workers = await Promise.all([0, 1].map(() => spawnWorker(['--import', 'tsx', FIXTURE, redis.url])));
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.kill()));
  await redis?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skip)('a job that always fails', () => {
  it(`is recorded as failed after ${DEFAULT_ATTEMPTS} attempts, once, and the search goes on`, async () => {
    const store = openStore(join(dir, 'poison.sqlite'));
    const pool = await createQueuePool({ target: parseRedisUrl(redis.url), size: 2 });
    const budget = 6;
    const out = await startSearch(
      store,
      { space: 'laptop', tasks: 'quadratic', budget, timeLimitSeconds: null, workers: 2, seed: 4, deterministic: true, backend: 'simd', funnelEntrants: 0, funnelFidelities: [] },
      undefined,
      { pool, onProgress: (p) => pool.setNamespace(runNamespace(getRun(store, p.runId) as NonNullable<ReturnType<typeof getRun>>)) },
    );
    const counters = pool.counters();
    await pool.close();

    expect(out.status).toBe('done');
    expect(checkRun(store, out.run.id, { budget })).toEqual([]);
    const rows = store.db.prepare('SELECT p.raw, e.status, e.reason FROM evaluations e JOIN programs p ON p.id = e.program_id').all() as { raw: string; status: string; reason: string | null }[];
    const bad = rows.filter((r) => poisoned(r.raw));
    const good = rows.filter((r) => !poisoned(r.raw));
    expect(bad.length).toBeGreaterThan(0);
    expect(good.length).toBeGreaterThan(0);
    for (const r of bad) {
      expect(r.status).toBe('failed');
      expect(r.reason).toMatch(new RegExp(`^failed on all ${DEFAULT_ATTEMPTS} attempts: worker died: .*exit.*7`));
    }
    for (const r of good) expect(r.status).not.toBe('failed');
    // each poisoned job was tried exactly DEFAULT_ATTEMPTS times, across both workers
    const attempts = new Map<string, number>();
    for (const w of workers) for (const m of w.log().matchAll(/job (b[0-9a-f]{40}) attempt \d+ failed/g)) attempts.set(m[1] as string, (attempts.get(m[1] as string) ?? 0) + 1);
    // one failed queue job per batch job of a poisoned program (a program's runs may be split into several)
    expect(attempts.size).toBe(counters.failedJobs);
    expect(attempts.size).toBeGreaterThanOrEqual(new Set(bad.map((r) => r.raw)).size);
    for (const n of attempts.values()) expect(n).toBe(DEFAULT_ATTEMPTS);
    store.close();
  });
});
