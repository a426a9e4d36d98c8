/**
 * The Redis URL a user gives (redis:// or rediss://, with an optional password and database
 * number) and the form of it that may be printed (never the password). No client library here:
 * the CLI checks --redis without loading one.
 */

/** A Redis URL that cannot be used, an unreachable server or a refused password: one line for the user. */
export class RedisAccessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisAccessError';
  }
}

export interface RedisTarget {
  /** The URL as given (with its password): only ever handed to the client. */
  readonly url: string;
  /** The URL with the password replaced by ***: the only form that is printed. */
  readonly display: string;
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly hasPassword: boolean;
}

const URL_FORM = 'redis://[:password@]host[:port][/db] or rediss://... for TLS';

export function parseRedisUrl(url: string): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RedisAccessError(`--redis must look like ${URL_FORM}, got '${redactLoose(url)}'`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new RedisAccessError(`--redis must look like ${URL_FORM}, got a ${u.protocol}// URL`);
  }
  if (u.hostname === '') throw new RedisAccessError(`--redis needs a host: ${URL_FORM}`);
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbText = u.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d+$/.test(dbText)) throw new RedisAccessError(`--redis: the path must be a database number, got '/${dbText}'`);
  const db = dbText === '' ? 0 : Number(dbText);
  const hasPassword = u.password !== '';
  const auth = u.username !== '' || hasPassword ? `${u.username}${hasPassword ? ':***' : ''}@` : '';
  return {
    url,
    display: `${u.protocol}//${auth}${u.host}${db === 0 ? '' : `/${db}`}`,
    tls: u.protocol === 'rediss:',
    host: u.hostname,
    port,
    db,
    hasPassword,
  };
}

/** Best effort for a string that is not even a URL: hide whatever sits between '//' and '@'. */
function redactLoose(s: string): string {
  return s.replace(/\/\/[^@/]*@/, '//***@');
}
