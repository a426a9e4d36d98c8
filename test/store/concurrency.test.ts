import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/db.ts';
import { createRun, findEvaluation, getRun, listRuns, recordEvaluation, upsertProgram } from '../../src/store/queries.ts';

const REPO = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'optsearch-conc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const countEvaluations = (db: Database.Database): number => db.prepare('SELECT COUNT(*) FROM evaluations').pluck().get() as number;

describe('a reader while a writer writes (WAL)', () => {
  it('two connections: the reader sees the last commit, never a half-written transaction, and is never blocked', () => {
    const path = join(dir, 'two.sqlite');
    const writer = openStore(path);
    const run = createRun(writer, { name: 'w', space: 'x', seed: 1, config: {} });
    const reader = openStore(path, { readonly: true, busyTimeoutMs: 0 });
    const p = upsertProgram(writer, { raw: 'p', size: 1 });
    for (let batch = 0; batch < 5; batch++) {
      writer.transaction(() => {
        for (let i = 0; i < 100; i++) {
          recordEvaluation(writer, { programId: p, task: 't', configHash: 'c', numericClass: 'float64', fidelity: 1, seed: batch * 100 + i, fitness: i, metrics: {}, status: 'ok', runId: run.id });
          if (i % 25 === 0) {
            // Mid-transaction: the reader sees exactly the previous batches, with no wait.
            expect(countEvaluations(reader.db)).toBe(batch * 100);
            expect(listRuns(reader)).toHaveLength(1);
          }
          if (batch === 2 && i === 50) {
            // A second read-write opening (a CLI command beside a search) does not wait for the lock either.
            const other = openStore(path, { busyTimeoutMs: 0 });
            expect(countEvaluations(other.db)).toBe(200);
            other.close();
          }
        }
      });
      expect(countEvaluations(reader.db)).toBe((batch + 1) * 100);
    }
    expect(findEvaluation(reader, { programId: p }, { task: 't', configHash: 'c', numericClass: 'float64', fidelity: 1, seed: 499 })?.fitness).toBe(99);
    reader.close();
    writer.close();
  });

  it('a writer in a child process killed with SIGKILL mid-run: every committed transaction is there, no partial one, the file is sound', async () => {
    const path = join(dir, 'killed.sqlite');
    openStore(path).close();
    const child = join(dir, 'writer.ts');
    // Each transaction writes one program and 20 evaluations of it, then reports the commit on stdout.
    writeFileSync(
      child,
      `import { openStore } from ${JSON.stringify(join(REPO, 'src/store/db.ts'))};
       import { createRun, recordEvaluation, upsertProgram, saveRunState } from ${JSON.stringify(join(REPO, 'src/store/queries.ts'))};
       const store = openStore(${JSON.stringify(path)});
       const run = createRun(store, { name: 'child', space: 'x', seed: 1, config: {} });
       for (let t = 0; ; t++) {
         store.transaction(() => {
           const p = upsertProgram(store, { raw: 'program ' + t, size: t });
           for (let k = 0; k < 20; k++) {
             recordEvaluation(store, { programId: p, task: 'task', fidelity: 1, seed: k, fitness: t + k / 100, metrics: { t }, status: 'ok', runId: run.id });
           }
           saveRunState(store, run.id, { rngState: { s: [t, 1, 2, 3], spare: null }, evolutionState: { t }, generated: t + 1, trained: t + 1 });
         });
         process.stdout.write('committed ' + t + '\\n');
       }
      `,
    );
    const proc = spawn(process.execPath, ['--import', 'tsx', child], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let lastCommitted = -1;
    let stderr = '';
    let buffered = '';
    proc.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^committed (\d+)$/.exec(line);
        if (m) lastCommitted = Number(m[1]);
      }
    });
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((res) => proc.on('exit', (_code, signal) => res(signal)));

    // Read while it writes: counts only grow and are always whole transactions (multiples of 20).
    const deadline = Date.now() + 30_000;
    while (lastCommitted < 300 && Date.now() < deadline && proc.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    expect(stderr).toBe('');
    expect(lastCommitted).toBeGreaterThanOrEqual(300);
    const reader = openStore(path, { readonly: true });
    let previous = 0;
    for (let i = 0; i < 20; i++) {
      const c = countEvaluations(reader.db);
      expect(c % 20).toBe(0);
      expect(c).toBeGreaterThanOrEqual(previous);
      previous = c;
      await new Promise((r) => setTimeout(r, 5));
    }
    reader.close();

    proc.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const committed = lastCommitted;
    expect(existsSync(`${path}-wal`)).toBe(true);

    const s = openStore(path);
    expect(s.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(s.db.pragma('foreign_key_check')).toEqual([]);
    const rows = s.db.prepare('SELECT p.size AS t, COUNT(e.id) AS n FROM programs p LEFT JOIN evaluations e ON e.program_id = p.id GROUP BY p.id ORDER BY p.size').all() as { t: number; n: number }[];
    // Every transaction reported as committed is present, whole; at most one more (committed before it could report).
    expect(rows.length === committed + 1 || rows.length === committed + 2).toBe(true);
    rows.forEach((r, i) => {
      expect(r.t).toBe(i);
      expect(r.n).toBe(20);
    });
    const run = getRun(s, 'child')!;
    expect(run.generated).toBe(rows.length);
    expect(run.status).toBe('running');
    s.close();
  }, 60_000);
});
