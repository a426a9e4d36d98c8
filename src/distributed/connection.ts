/**
 * Reaching Redis: the connection options every client here shares, and a probe that turns an
 * unreachable server or a refused password into one line before any queue is touched.
 */
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';
import { RedisAccessError, type RedisTarget } from './url.ts';

export { parseRedisUrl, RedisAccessError, type RedisTarget } from './url.ts';

export interface ConnectOptions {
  /** TLS settings for rediss:// (a private CA, a client certificate); NODE_EXTRA_CA_CERTS also works. */
  readonly tls?: TlsOptions;
}

/**
 * Options for every client (queue, events, worker, registry): commands wait through an outage
 * instead of failing (maxRetriesPerRequest null), and reconnecting backs off to at most 5 s.
 */
export function clientOptions(target: RedisTarget, opts: ConnectOptions = {}): RedisOptions & { url: string } {
  return {
    url: target.url,
    maxRetriesPerRequest: null,
    connectTimeout: 10_000,
    // ioredis waits this long for a socket to close on disconnect, keeping a failed process alive
    disconnectTimeout: 200,
    retryStrategy: (times: number) => Math.min(250 * 2 ** Math.min(times, 5), 5_000),
    ...(target.tls ? { tls: { ...(opts.tls ?? {}) } } : {}),
  };
}

/** A plain client with the shared options (the caller listens for 'error'). */
export function createClient(target: RedisTarget, opts: ConnectOptions = {}): Redis {
  const { url, ...rest } = clientOptions(target, opts);
  return new Redis(url, rest);
}

/** Why a connection attempt failed, in the user's words. */
function describeFailure(target: RedisTarget, e: unknown): string {
  const m = (e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '';
  if (/WRONGPASS|invalid password|invalid username-password/i.test(m)) {
    return `redis at ${target.display} refused the password (${m.replace(/^ReplyError: /, '')})`;
  }
  if (/NOAUTH/i.test(m)) return `redis at ${target.display} needs a password: give it in the URL, redis://:PASSWORD@${target.host}:${target.port}`;
  if (/ECONNREFUSED/.test(m)) return `cannot reach redis at ${target.display}: connection refused (is redis-server running and listening there?)`;
  if (/ENOTFOUND|EAI_AGAIN/.test(m)) return `cannot reach redis at ${target.display}: unknown host '${target.host}'`;
  if (/ETIMEDOUT|timed out/i.test(m)) return `cannot reach redis at ${target.display}: the connection timed out`;
  if (/certificate|SSL|TLS|EPROTO|self.signed/i.test(m)) return `TLS to redis at ${target.display} failed: ${m} (a private CA goes in NODE_EXTRA_CA_CERTS)`;
  return `redis at ${target.display}: ${m}`;
}

export interface ServerInfo {
  readonly version: string;
  /** null when the server refuses CONFIG GET (managed services often do). */
  readonly maxmemoryPolicy: string | null;
  /** 'aof', 'rdb', 'aof+rdb', 'none', or null when unknown. */
  readonly persistence: string | null;
}

/**
 * Connects once without retrying, checks the password with PING and reads what the docs ask to
 * check (version, eviction policy, persistence); throws RedisAccessError with one line.
 */
export async function probeRedis(target: RedisTarget, opts: ConnectOptions = {}, timeoutMs = 10_000): Promise<ServerInfo> {
  const { url, ...rest } = clientOptions(target, opts);
  const client = new Redis(url, { ...rest, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, enableOfflineQueue: false });
  let lastError: unknown;
  client.on('error', (e) => (lastError = e));
  try {
    await client.connect();
    await client.ping();
    const info = await client.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '?';
    let maxmemoryPolicy: string | null = null;
    let persistence: string | null = null;
    try {
      const policy = (await client.config('GET', 'maxmemory-policy')) as string[];
      maxmemoryPolicy = policy[1] ?? null;
      const aof = ((await client.config('GET', 'appendonly')) as string[])[1] === 'yes';
      const rdb = (((await client.config('GET', 'save')) as string[])[1] ?? '').trim() !== '';
      persistence = aof && rdb ? 'aof+rdb' : aof ? 'aof' : rdb ? 'rdb' : 'none';
    } catch {
      // CONFIG is disabled on this server: the docs' settings cannot be checked from here
    }
    return { version, maxmemoryPolicy, persistence };
  } catch (e) {
    throw new RedisAccessError(describeFailure(target, lastError ?? e));
  } finally {
    client.disconnect();
  }
}

/** Warnings about settings that lose work (docs/distributed.md): eviction and no persistence. */
export function settingWarnings(target: RedisTarget, info: ServerInfo): string[] {
  const out: string[] = [];
  if (info.maxmemoryPolicy !== null && info.maxmemoryPolicy !== 'noeviction') {
    out.push(`redis at ${target.display} has maxmemory-policy ${info.maxmemoryPolicy}: it may evict queued jobs and results; set maxmemory-policy noeviction`);
  }
  if (info.persistence === 'none') {
    out.push(`redis at ${target.display} keeps nothing on disk (no appendonly, no save): a restart loses the queue (jobs are re-sent, results in flight are trained again); set appendonly yes`);
  }
  return out;
}
