/**
 * Errors by type, not by message: what is the user's to fix becomes one line and exit code 2; a
 * bug anywhere (here: mutate() throwing something other than MutationFailure) surfaces as itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { userError } from '../../src/cli/commands/search.ts';
import { CliError } from '../../src/cli/errors.ts';
import { createEvaluationPool } from '../../src/pool/pool.ts';
import { ConfigError, ResumeError } from '../../src/runner/errors.ts';
import { resumeSearch, startSearch, validateConfig, type SearchConfig } from '../../src/runner/search.ts';
import { MutationFailure } from '../../src/search/mutate.ts';
import { openStore } from '../../src/store/db.ts';
import { getLease, LeaseError } from '../../src/store/lease.ts';
import { getRun } from '../../src/store/queries.ts';

/** When set, the search's mutate() throws it (a stand-in for a bug in the mutation code). */
let mutateThrows: Error | null = null;
vi.mock('../../src/search/mutate.ts', async (original) => {
  const real = await original<typeof import('../../src/search/mutate.ts')>();
  return {
    ...real,
    mutate: (...args: Parameters<typeof real.mutate>) => {
      if (mutateThrows) throw mutateThrows;
      return real.mutate(...args);
    },
  };
});

const dir = mkdtempSync(join(tmpdir(), 'optsearch-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config: SearchConfig = {
  space: 'laptop',
  tasks: 'quadratic',
  budget: 4,
  timeLimitSeconds: null,
  workers: 1,
  seed: 2,
  deterministic: true,
  backend: 'reference',
  funnelEntrants: 0,
  funnelFidelities: [],
};

describe('typed errors', () => {
  it('validateConfig throws ConfigError for each bad field', () => {
    const bad: [Partial<SearchConfig>, RegExp][] = [
      [{ budget: 0 }, /^budget must be a positive integer, got 0$/],
      [{ workers: 1.5 }, /^workers must be a positive integer/],
      [{ seed: -1 }, /^seed must be a non-negative integer/],
      [{ timeLimitSeconds: 0 }, /^time limit must be positive/],
      [{ funnelEntrants: -2 }, /^funnel entrants must be a non-negative integer/],
    ];
    for (const [patch, message] of bad) {
      let caught: unknown;
      try {
        validateConfig({ ...config, ...patch });
      } catch (e) {
        caught = e;
      }
      expect(caught, JSON.stringify(patch)).toBeInstanceOf(ConfigError);
      expect((caught as Error).message).toMatch(message);
    }
    expect(() => validateConfig(config)).not.toThrow();
  });

  it("the CLI turns the user's errors into one-line CliErrors and lets every other error through", () => {
    for (const e of [new ConfigError('c'), new ResumeError('r'), new LeaseError('l')]) {
      expect(() => userError(e)).toThrow(CliError);
      expect(() => userError(e)).toThrow(e.message);
    }
    // A RangeError or TypeError is a bug (an internal error), whatever its message says.
    for (const e of [new RangeError('budget must be positive'), new TypeError('x is undefined'), new MutationFailure('m')]) {
      let thrown: unknown;
      try {
        userError(e);
      } catch (t) {
        thrown = t;
      }
      expect(thrown).toBe(e);
    }
  });

  it('resuming a finished run is a ResumeError that leaves the run as it was and frees the lease', async () => {
    const store = openStore(join(dir, 'done.sqlite'));
    const pool = createEvaluationPool({ size: 1 });
    try {
      const out = await startSearch(store, config, undefined, { pool });
      expect(out.status).toBe('done');
      const before = getRun(store, out.run.id);
      await expect(resumeSearch(store, out.run.id, { pool })).rejects.toThrow(ResumeError);
      await expect(resumeSearch(store, out.run.id, { pool })).rejects.toThrow(/is already done \(pass a larger --budget/);
      expect(getRun(store, out.run.id)).toEqual(before);
      expect(getLease(store, out.run.id)).toBeUndefined();
      await expect(resumeSearch(store, 99, { pool })).rejects.toThrow(new ResumeError('no run with id 99'));
    } finally {
      await pool.close();
      store.close();
    }
  }, 60_000);

  it('an error from mutate() other than MutationFailure stops the search as itself and marks the run failed', async () => {
    const store = openStore(join(dir, 'bug.sqlite'));
    const pool = createEvaluationPool({ size: 1 });
    const bug = new TypeError("cannot read properties of undefined (reading 'args')");
    mutateThrows = bug;
    try {
      await expect(startSearch(store, config, 'bug', { pool })).rejects.toBe(bug);
      expect(getRun(store, 'bug')).toMatchObject({ status: 'failed', statusReason: bug.message });
      expect(getLease(store, getRun(store, 'bug')!.id)).toBeUndefined();
    } finally {
      mutateThrows = null;
      await pool.close();
      store.close();
    }
  }, 60_000);
});
