import { describe, expect, it } from 'vitest';
import { batchJobId, canonicalJson, decodeResult, encodeResult, runNamespace } from '../../src/distributed/codec.ts';
import { parseRedisUrl, RedisAccessError } from '../../src/distributed/connection.ts';
import type { BatchJob, TrainResult } from '../../src/vocabulary/index.ts';

const job: BatchJob = {
  programText: 'def train(w, g, m, v, lr):\n  update = g * lr\n  return update, m, v\n',
  task: 'quadratic',
  fidelity: 1,
  runs: [
    { seed: 1, lrMultiplier: 1 },
    { seed: 2, lrMultiplier: 3, baseline: { checkpointStep: 75, checkpointLoss: 0.0015 } },
  ],
  backend: 'simd',
};

describe('queue job ids', () => {
  it('depend on the content and the namespace, not on key order', () => {
    const reordered = JSON.parse(JSON.stringify({ backend: job.backend, runs: job.runs.map((r) => ({ ...r })).reverse().reverse(), fidelity: 1, task: job.task, programText: job.programText })) as BatchJob;
    expect(batchJobId('run-1', reordered)).toBe(batchJobId('run-1', job));
    expect(batchJobId('run-1', job)).toMatch(/^b[0-9a-f]{40}$/);
    expect(batchJobId('run-2', job)).not.toBe(batchJobId('run-1', job));
    expect(batchJobId('run-1', { ...job, runs: [job.runs[0] as BatchJob['runs'][0]] })).not.toBe(batchJobId('run-1', job));
    expect(batchJobId('run-1', { ...job, fidelity: 10 })).not.toBe(batchJobId('run-1', job));
    expect(canonicalJson({ b: 1, a: { d: undefined, c: [2, { y: 1, x: 0 }] } })).toBe('{"a":{"c":[2,{"x":0,"y":1}]},"b":1}');
  });

  it("a run's namespace is stable for the run and differs between databases' runs of the same id", () => {
    const run = { id: 3, name: 'laptop-7-3', createdAt: '2026-12-01T10:00:00.000Z' };
    expect(runNamespace(run)).toBe(runNamespace({ ...run }));
    expect(runNamespace({ ...run, createdAt: '2026-12-02T10:00:00.000Z' })).not.toBe(runNamespace(run));
  });
});

describe('results through Redis', () => {
  it('come back exactly, NaN and infinities included', () => {
    const r: TrainResult = {
      status: 'diverged',
      reason: 'NaN',
      task: 'quadratic',
      fidelity: 1,
      seed: 1,
      initialLoss: 0.5,
      finalLoss: null,
      lossFloor: 0,
      metric: null,
      metricName: 'max |w - w*|',
      higherIsBetter: false,
      checkpointStep: 75,
      checkpointLoss: null,
      lossCurve: [
        [1, 0.5],
        [2, Infinity],
        [3, Number.NaN],
        [4, -Infinity],
      ],
      steps: 3,
      seconds: 0.01,
      backend: 'simd',
    };
    const back = decodeResult(encodeResult({ results: [r], worker: 'h/1/aa', host: 'h', backend: 'simd', seconds: 0.02 }));
    expect(back.results).toEqual([r]);
    expect(Object.is(back.results[0]?.lossCurve[2]?.[1], Number.NaN)).toBe(true);
    expect(back.seconds).toBe(0.02);
    expect(() => decodeResult('{"x":1}')).toThrow(/without results/);
  });
});

describe('redis URLs', () => {
  it('accept redis:// and rediss:// with a password and a database, and never print the password', () => {
    const t = parseRedisUrl('rediss://:s3cret@queue.example.org:6380/2');
    expect(t).toMatchObject({ tls: true, host: 'queue.example.org', port: 6380, db: 2, hasPassword: true });
    expect(t.display).toBe('rediss://:***@queue.example.org:6380/2');
    expect(parseRedisUrl('redis://127.0.0.1')).toMatchObject({ port: 6379, db: 0, tls: false, display: 'redis://127.0.0.1' });
    expect(parseRedisUrl('redis://user:pw@h:1').display).toBe('redis://user:***@h:1');
  });

  it('refuse other schemes, a non-numeric database and non-URLs in one line without the password', () => {
    for (const [url, re] of [
      ['http://h:6379', /a http:\/\/ URL/],
      ['redis://h:6379/jobs', /database number/],
      ['h:6379', /must look like/],
      ['//:pw@:6379', /must look like/],
    ] as const) {
      let err: unknown;
      try {
        parseRedisUrl(url);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RedisAccessError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('pw');
      expect((err as Error).message).not.toContain('\n');
    }
  });
});
