/**
 * Access to Redis: a password in the URL, TLS with rediss://, and one clear line (exit 2, the
 * password never printed) when the password is wrong or missing or the server is not there.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRedisUrl } from '../../src/distributed/connection.ts';
import { createQueuePool } from '../../src/distributed/queue-pool.ts';
import { skipWithout } from '../tools.ts';
import { BIN, redisMissing, ROOT, spawnWorker, startRedis, type RedisServer } from './harness.ts';

const opensslMissing = (): string | undefined => (spawnSync('openssl', ['version']).status === 0 ? undefined : 'openssl is not installed (Debian: apt-get install openssl)');
const skip = skipWithout('redis-server', redisMissing()) || skipWithout('openssl (certificates for the TLS test)', opensslMissing());
const PASSWORD = 'pw-Secret-42';
let dir: string;
let plain: RedisServer;
let tls: RedisServer;
let ca: string;
let refusals: Record<'wrongPassword' | 'noPassword' | 'search' | 'gone' | 'bad' | 'untrusted', Promise<{ status: number | null; stderr: string }>>;

/** The CLI as a child process: its exit status and stderr (several run at once). */
function cli(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('exit', (status) => resolve({ status, stderr }));
  });
}

/** A private CA and a server certificate for 127.0.0.1, made with openssl. */
function makeCertificates(into: string): { cert: string; key: string; ca: string } {
  const run = (...a: string[]) => {
    const r = spawnSync('openssl', a, { cwd: into, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${a[0]}: ${r.stderr}`);
  };
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=optsearch test CA', '-keyout', 'ca.key', '-out', 'ca.pem');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
  run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'server.pem', '-extfile', 'san.cnf');
  return { cert: join(into, 'server.pem'), key: join(into, 'server.key'), ca: join(into, 'ca.pem') };
}

beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'optsearch-access-'));
  spawnSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1\\n' > ${join(dir, 'san.cnf')}`]);
  const certs = makeCertificates(dir);
  ca = certs.ca;
  [plain, tls] = await Promise.all([startRedis({ password: PASSWORD }), startRedis({ password: PASSWORD, tls: certs })]);
  // the refusals below are independent: started together, each test awaits its own
  const p = plain.port;
  refusals = {
    wrongPassword: cli(['worker', '--redis', `redis://:wrong-one@127.0.0.1:${p}`, '--concurrency', '1']),
    noPassword: cli(['worker', '--redis', `redis://127.0.0.1:${p}`]),
    search: cli(['search', '--tasks', 'quadratic', '--budget', '2', '--db', join(dir, 'never.sqlite'), '--redis', `redis://:nope@127.0.0.1:${p}`]),
    gone: cli(['worker', '--redis', 'redis://127.0.0.1:1']),
    bad: cli(['worker', '--redis', 'http://127.0.0.1:6379']),
    untrusted: cli(['worker', '--redis', tls.url]),
  };
});

afterAll(async () => {
  await Promise.all([plain?.stop(), tls?.stop()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(skip)('access to redis', () => {
  it('a worker pointed at a wrong password fails with one clear line, exit 2, the password not printed', async () => {
    const r = await refusals.wrongPassword;
    expect(r.status).toBe(2);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^optsearch: redis at redis://:\\*\\*\\*@127\\.0\\.0\\.1:${plain.port} refused the password \\(WRONGPASS`));
    expect(r.stderr).not.toContain('wrong-one');
  });

  it('no password, no server, a bad URL: one line each, and search --redis writes no database', async () => {
    const db = join(dir, 'never.sqlite');
    const [noPassword, search, gone, bad] = await Promise.all([refusals.noPassword, refusals.search, refusals.gone, refusals.bad]);
    expect(noPassword.status).toBe(2);
    expect(noPassword.stderr.trimEnd()).toBe(`optsearch: redis at redis://127.0.0.1:${plain.port} needs a password: give it in the URL, redis://:PASSWORD@127.0.0.1:${plain.port}`);
    expect(search.status).toBe(2);
    expect(search.stderr.trimEnd().split('\n').at(-1)).toMatch(/^optsearch: redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+ refused the password/);
    expect(existsSync(db)).toBe(false);
    expect(gone.status).toBe(2);
    expect(gone.stderr.trimEnd()).toBe('optsearch: cannot reach redis at redis://127.0.0.1:1: connection refused (is redis-server running and listening there?)');
    expect(bad.status).toBe(2);
    expect(bad.stderr.trimEnd()).toBe("optsearch: --redis must look like redis://[:password@]host[:port][/db] or rediss://... for TLS, got a http:// URL");
  });

  it('rediss:// with a password works end to end: a worker (CA from NODE_EXTRA_CA_CERTS) trains a job sent over TLS', async () => {
    const url = tls.url;
    expect(url).toMatch(/^rediss:\/\/:pw-Secret-42@127\.0\.0\.1:\d+$/);
    // without the private CA the certificate is refused, in one line
    const untrusted = await refusals.untrusted;
    expect(untrusted.status).toBe(2);
    expect(untrusted.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(untrusted.stderr).toMatch(/^optsearch: TLS to redis at rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+ failed: .*certificate.*NODE_EXTRA_CA_CERTS/);

    const worker = await spawnWorker([BIN, 'worker', '--redis', url, '--concurrency', '1'], { NODE_EXTRA_CA_CERTS: ca });
    try {
      const pool = await createQueuePool({ target: parseRedisUrl(url), size: 1, connect: { tls: { ca: readFileSync(ca) } } });
      const program = readFileSync(new URL('../../search-spaces/programs/lion.prog', import.meta.url), 'utf8');
      const [r] = await pool.run({ programText: program, task: 'quadratic', fidelity: 1, runs: [{ seed: 3, lrMultiplier: 1 }], backend: 'simd' });
      const seen = await pool.refreshWorkers();
      await pool.close();
      expect(r?.status).toBe('ok');
      expect(seen.map((w) => w.pid)).toEqual([worker.pid]);
    } finally {
      await worker.kill();
    }
  });
});
