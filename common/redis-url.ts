/**
 * What a REDIS_URL names, read without connecting (config validation uses it;
 * common/redis.ts connects to it). Four forms:
 *
 * - `redis://[[user]:password@]host[:port][/db]`, `rediss://…` (TLS): one Redis, as ioredis reads it;
 * - `redis+sentinel://[[user]:password@]host[:port][,host[:port]…]/<master name>[/db][?sentinelPassword=…&sentinelUsername=…]`:
 *   the Sentinels (port 26379 by default) that say which Redis is the primary of
 *   `<master name>`; the credentials are the data nodes', the query's the Sentinels';
 * - `redis+cluster://[[user]:password@]host[:port][,host[:port]…]`: some nodes of a Redis Cluster (port 6379 by default).
 */
export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | ({ kind: 'sentinel'; sentinels: RedisNode[]; masterName: string; db: number; sentinelUsername?: string; sentinelPassword?: string } & RedisCredentials)
  | ({ kind: 'cluster'; nodes: RedisNode[] } & RedisCredentials);

export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisCredentials {
  username?: string;
  password?: string;
}

export const REDIS_URL_FORMS =
  'redis://host:port[/db], rediss://… (TLS), redis+sentinel://host:port[,host:port…]/<master name>[/db] or redis+cluster://host:port[,host:port…]';

export class RedisUrlError extends Error {
  override name = 'RedisUrlError';
}

const DEFAULT_PORT = { sentinel: 26379, cluster: 6379 } as const;
const SENTINEL_QUERY = ['sentinelUsername', 'sentinelPassword'] as const;

/** Reads a REDIS_URL; throws RedisUrlError saying what is wrong with it. */
export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') {
    if (!URL.canParse(url)) throw new RedisUrlError(`not a URL; expected ${REDIS_URL_FORMS}`);
    return { kind: 'standalone', url };
  }
  if (scheme === 'redis+sentinel') return sentinelTarget(url.slice(scheme.length + 3));
  if (scheme === 'redis+cluster') return clusterTarget(url.slice(scheme.length + 3));
  if (scheme === 'rediss+sentinel' || scheme === 'rediss+cluster')
    throw new RedisUrlError(`TLS to a Sentinel or a Cluster is not supported; expected ${REDIS_URL_FORMS}`);
  throw new RedisUrlError(`expected ${REDIS_URL_FORMS}`);
}

/** The Redis Cluster hash tag of keys that start with `prefix` (what is between its first `{` and the next `}`, when not empty), or undefined. */
export function hashTagOf(prefix: string): string | undefined {
  const open = prefix.indexOf('{');
  if (open === -1) return undefined;
  const close = prefix.indexOf('}', open + 1);
  return close > open + 1 ? prefix.slice(open + 1, close) : undefined;
}

/** The parts after `scheme://`: credentials, hosts, path segments and query. */
function split(rest: string) {
  const end = rest.search(/[/?#]/);
  const authority = end === -1 ? rest : rest.slice(0, end);
  const tail = end === -1 ? '' : rest.slice(end);
  if (tail.includes('#')) throw new RedisUrlError('a fragment (#…) means nothing here');
  const question = tail.indexOf('?');
  const path = question === -1 ? tail : tail.slice(0, question);
  const query = question === -1 ? '' : tail.slice(question + 1);
  const at = authority.lastIndexOf('@');
  const credentials = at === -1 ? {} : credentialsOf(authority.slice(0, at));
  const hosts = at === -1 ? authority : authority.slice(at + 1);
  return { credentials, hosts, segments: path.split('/').filter(Boolean).map(decode), query: new URLSearchParams(query) };
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new RedisUrlError('bad percent-encoding');
  }
}

function credentialsOf(userinfo: string): RedisCredentials {
  const colon = userinfo.indexOf(':');
  const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? '' : decode(userinfo.slice(colon + 1));
  return { ...(username ? { username } : {}), ...(password ? { password } : {}) };
}

function nodesOf(hosts: string, defaultPort: number): RedisNode[] {
  if (!hosts) throw new RedisUrlError('names no host');
  return hosts.split(',').map((entry) => {
    const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/i.exec(entry.trim());
    const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
    if (!match || port < 1 || port > 65535) throw new RedisUrlError(`"${entry}" is not host[:port]`);
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

function sentinelTarget(rest: string): RedisTarget {
  const { credentials, hosts, segments, query } = split(rest);
  const sentinels = nodesOf(hosts, DEFAULT_PORT.sentinel);
  const [masterName, db = '0', ...extra] = segments;
  if (!masterName) throw new RedisUrlError('names no master: redis+sentinel://host:port[,host:port…]/<master name>[/db]');
  if (extra.length > 0 || !/^\d+$/.test(db)) throw new RedisUrlError(`the path is /<master name>[/db], with db a number: got /${segments.join('/')}`);
  for (const key of query.keys()) {
    if (!(SENTINEL_QUERY as readonly string[]).includes(key))
      throw new RedisUrlError(`unknown option "${key}"; a Sentinel URL takes ${SENTINEL_QUERY.join(', ')}`);
  }
  const sentinelUsername = query.get('sentinelUsername') ?? undefined;
  const sentinelPassword = query.get('sentinelPassword') ?? undefined;
  return {
    kind: 'sentinel',
    sentinels,
    masterName,
    db: Number(db),
    ...credentials,
    ...(sentinelUsername ? { sentinelUsername } : {}),
    ...(sentinelPassword ? { sentinelPassword } : {}),
  };
}

function clusterTarget(rest: string): RedisTarget {
  const { credentials, hosts, segments, query } = split(rest);
  const nodes = nodesOf(hosts, DEFAULT_PORT.cluster);
  if (segments.length > 0) throw new RedisUrlError('a Redis Cluster has no databases but 0: drop the /path');
  if ([...query.keys()].length > 0) throw new RedisUrlError('a Cluster URL takes no options');
  return { kind: 'cluster', nodes, ...credentials };
}
