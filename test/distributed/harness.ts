/**
 * What the distributed tests share: a real redis-server (Debian's package) on a free loopback
 * port, started, restarted and stopped by the test itself; real worker processes (the CLI's
 * `optsearch worker`, or the poison fixture) started with tsx; and the database checks every fault
 * test ends with.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSearchSpace } from '../../src/search/space.ts';
import type { Store } from '../../src/store/db.ts';
import { resolveTaskList } from '../../src/tasks/spec.ts';

export const ROOT = new URL('../..', import.meta.url).pathname;
export const BIN = join(ROOT, 'bin/optsearch.mjs');

/** Why redis-server cannot run here, or undefined when it can. */
export function redisMissing(): string | undefined {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (r.error) return `redis-server is not installed (${(r.error as NodeJS.ErrnoException).code}; Debian: apt-get install redis-server)`;
  return r.status === 0 ? undefined : `redis-server --version failed: ${r.stderr.trim()}`;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export interface RedisOptions {
  readonly password?: string;
  /** Certificate files: the server then listens with TLS only. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly ca: string };
}

export interface RedisServer {
  readonly port: number;
  /** redis:// or rediss:// URL, with the password when there is one. */
  readonly url: string;
  /**
   * SIGTERM (redis writes its append-only file and exits), then the same server again on the same
   * port and data; wipe: with its data gone, as a server without persistence comes back.
   */
  restart(opts?: { downMs?: number; wipe?: boolean }): Promise<void>;
  stop(): Promise<void>;
  /** A redis-cli command's output (plain text), e.g. cli('DBSIZE'). */
  cli(...args: string[]): string;
}

/** A redis-server with append-only persistence in a fresh directory, on a free loopback port. */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'optsearch-redis-'));
  const port = await freePort();
  const args = ['--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--protected-mode', 'yes', '--maxmemory-policy', 'noeviction'];
  if (opts.password) args.push('--requirepass', opts.password);
  if (opts.tls) args.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', opts.tls.cert, '--tls-key-file', opts.tls.key, '--tls-ca-cert-file', opts.tls.ca, '--tls-auth-clients', 'no');
  else args.push('--port', String(port));
  let proc: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const p = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    proc = p;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        out += d.toString();
        if (/Ready to accept connections/.test(out)) resolve();
      };
      p.stdout?.on('data', onData);
      p.stderr?.on('data', onData);
      p.once('exit', (code) => reject(new Error(`redis-server exited with ${code}: ${out.slice(-500)}`)));
    });
  };
  const halt = async (): Promise<void> => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  };
  await launch();
  const auth = opts.password ? `:${opts.password}@` : '';
  const cliArgs = ['-p', String(port), ...(opts.password ? ['--no-auth-warning', '-a', opts.password] : [])];
  return {
    port,
    url: `${opts.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    async restart({ downMs = 500, wipe = false } = {}) {
      await halt();
      if (wipe) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
      }
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
    cli: (...a) => spawnSync('redis-cli', [...cliArgs, ...a], { encoding: 'utf8' }).stdout.trim(),
  };
}

export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** stderr so far. */
  log(): string;
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Spawns `node <args>` and resolves once its stderr says it is ready (or rejects when it exits first). */
export async function spawnWorker(args: readonly string[], env: NodeJS.ProcessEnv = {}, ready = /waiting for batch jobs/): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (err += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, sig) => resolve(code ?? sig ?? -1)));
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (ready.test(err)) {
        clearInterval(t);
        resolve();
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(t);
      reject(new Error(`worker exited (${code}) before it was ready: ${err.slice(-800)}`));
    });
  });
  return {
    child,
    pid: child.pid as number,
    log: () => err,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** `optsearch worker` on one thread, quick to notice a dead peer, one line per job. */
export function cliWorker(url: string, extra: readonly string[] = []): Promise<WorkerProcess> {
  return spawnWorker([BIN, 'worker', '--redis', url, '--concurrency', '1', '--stall-timeout', '2', '--verbose', ...extra]);
}

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A finished run holds together: done with its budget trained, births without gaps, no evaluation
 * twice, and every trained program evaluated on every task x seed x lr multiplier of the run's
 * space at its fidelity (a child stopped at a screen only on what the screen trains).
 */
export function checkRun(store: Store, runId: number, expect: { budget: number }): string[] {
  const problems: string[] = [];
  const run = store.db.prepare('SELECT status, trained, config FROM runs WHERE id = ?').get(runId) as { status: string; trained: number; config: string };
  if (run.status !== 'done' || run.trained !== expect.budget) problems.push(`run ${runId} is ${run.status} with ${run.trained}/${expect.budget} trained`);
  const config = JSON.parse(run.config) as { space: string; tasks: string | null };
  const space = loadSearchSpace(config.space);
  const tasks = resolveTaskList(config.tasks ?? space.tasks.join(','));
  const full = tasks.length * space.seedsPerEvaluation * space.lrMultipliers.length;
  const births = store.db.prepare('SELECT birth FROM lineage WHERE run_id = ? ORDER BY birth').pluck().all(runId) as number[];
  if (births.some((b, i) => b !== i)) problems.push(`births have gaps or repeats: ${births.join(',')}`);
  const dups = store.db
    .prepare('SELECT COUNT(*) FROM (SELECT program_id, task, config_hash, numeric_class, fidelity, seed, lr_multiplier, COUNT(*) c FROM evaluations GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING c > 1)')
    .pluck()
    .get() as number;
  if (dups > 0) problems.push(`${dups} evaluations stored twice`);
  const hasScreen = (store.db.prepare("SELECT COUNT(*) FROM pragma_table_info('lineage') WHERE name = 'screen'").pluck().get() as number) > 0;
  const trained = store.db
    .prepare(
      `SELECT l.program_id AS id, ${hasScreen ? "MAX(l.screen = 'stopped')" : '0'} AS stopped,
         (SELECT COUNT(*) FROM evaluations e WHERE e.program_id = l.program_id AND e.fidelity = ?) AS n
       FROM lineage l WHERE l.run_id = ? AND l.source = 'trained' GROUP BY l.program_id`,
    )
    .all(space.fidelity, runId) as { id: number; stopped: number; n: number }[];
  for (const t of trained) {
    const want = t.stopped ? tasks.length * (space.screen?.seeds ?? 0) * space.lrMultipliers.length : full;
    if (t.n !== want) problems.push(`program ${t.id} has ${t.n} of ${want} evaluations`);
  }
  if (trained.length === 0) problems.push('no trained program');
  return problems;
}
