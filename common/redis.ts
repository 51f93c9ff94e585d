import { Cluster, Redis } from 'ioredis';
import type { Logger } from './logger.ts';
import { parseRedisUrl } from './redis-url.ts';

/**
 * How a connection is used:
 * - `worker`: BullMQ workers block on Redis and must wait out outages, so
 *   commands are never given up (`maxRetriesPerRequest: null`, BullMQ's requirement).
 * - `producer`: code that adds jobs fails fast while Redis is down
 *   (`enableOfflineQueue: false`), so the caller can leave the work where it is
 *   (an outbox row) and try again later instead of hanging.
 */
export type RedisRole = 'worker' | 'producer';

/** A connection from createRedis: one Redis (also when found through Sentinel), or a Redis Cluster. BullMQ and the rate limiter take either. */
export type RedisConnection = Redis | Cluster;

export interface RedisOptions {
  role: RedisRole;
  logger?: Logger;
  /** Connection name shown by CLIENT LIST. */
  name?: string;
  /** A command not answered in this long fails (e.g. a frozen Redis); none by default. */
  commandTimeoutMs?: number;
}

/** Reconnect forever, at most 2 s apart. */
const reconnectDelay = (times: number) => Math.min(100 * times, 2000);

/**
 * An ioredis connection for `role` to what `url` names (common/redis-url.ts):
 * one Redis; the primary the Sentinels name, followed across failovers; or a
 * Redis Cluster. Reconnects forever (at most 2 s apart) and logs errors at most every 5 s.
 */
export function createRedis(url: string, { role, logger, name, commandTimeoutMs }: RedisOptions): RedisConnection {
  const target = parseRedisUrl(url);
  const worker = role === 'worker';
  const options = { connectionName: name, commandTimeout: commandTimeoutMs, maxRetriesPerRequest: worker ? null : 1 };
  let redis: RedisConnection;
  switch (target.kind) {
    case 'standalone':
      redis = new Redis(target.url, { ...options, retryStrategy: reconnectDelay, enableOfflineQueue: worker });
      break;
    case 'sentinel': {
      const { kind: _, masterName, ...sentinel } = target;
      // failoverDetector: on the Sentinels' +switch-master the connection moves to the new primary at once. Without it, a
      // primary demoted while it still runs (SENTINEL FAILOVER, a partition) takes writes for ~10 s until the Sentinels
      // reconfigure it, and those are lost. (patches/ioredis: its subscriptions end with the connection, also after quit().)
      redis = new Redis({ ...options, ...sentinel, name: masterName, failoverDetector: true, retryStrategy: reconnectDelay, enableOfflineQueue: worker });
      break;
    }
    case 'cluster': {
      const { kind: _, nodes, ...credentials } = target;
      // The Cluster keeps the offline queue (its nodes' are always on); it retries when no node answers.
      redis = new Cluster(nodes, { clusterRetryStrategy: reconnectDelay, enableOfflineQueue: worker, redisOptions: { ...options, ...credentials } });
      break;
    }
  }
  let lastLogged = 0;
  const log = (error: Error, node?: string) => {
    const now = Date.now();
    if (now - lastLogged < 5000) return;
    lastLogged = now;
    logger?.warn({ err: error, role, connection: name, ...(node ? { node } : {}) }, 'redis connection error');
  };
  // Without a listener ioredis prints every failed reconnection to stderr.
  redis.on('error', (error: Error) => log(error));
  if (redis instanceof Cluster) redis.on('node error', (error: Error, node: string) => log(error, node));
  return redis;
}

/** True when `redis` can take commands now; a producer checks this before it starts work that needs Redis. */
export function isRedisReady(redis: RedisConnection): boolean {
  return redis.status === 'ready';
}

/** Closes a connection, also when it never connected; safe to call twice. */
export async function closeRedis(redis: RedisConnection): Promise<void> {
  if (redis.status === 'end') return;
  try {
    if (redis.status === 'ready') await redis.quit();
    else redis.disconnect();
  } catch {
    redis.disconnect();
  }
}
