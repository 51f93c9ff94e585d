import { Redis } from 'ioredis';
import type { Logger } from './logger.ts';

/**
 * How a connection is used:
 * - `worker`: BullMQ workers block on Redis and must wait out outages, so
 *   commands are never given up (`maxRetriesPerRequest: null`, BullMQ's requirement).
 * - `producer`: code that adds jobs fails fast while Redis is down
 *   (`enableOfflineQueue: false`), so the caller can leave the work where it is
 *   (an outbox row) and try again later instead of hanging.
 */
export type RedisRole = 'worker' | 'producer';

export interface RedisOptions {
  role: RedisRole;
  logger?: Logger;
  /** Connection name shown by CLIENT LIST. */
  name?: string;
  /** A command not answered in this long fails (e.g. a frozen Redis); none by default. */
  commandTimeoutMs?: number;
}

/** An ioredis connection for `role`; reconnects forever (at most 2 s apart) and logs errors at most every 5 s. */
export function createRedis(url: string, { role, logger, name, commandTimeoutMs }: RedisOptions): Redis {
  const redis = new Redis(url, {
    connectionName: name,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (times) => Math.min(100 * times, 2000),
    ...(role === 'worker' ? { maxRetriesPerRequest: null } : { enableOfflineQueue: false, maxRetriesPerRequest: 1 }),
  });
  let lastLogged = 0;
  // Without a listener ioredis prints every failed reconnection to stderr.
  redis.on('error', (error: Error) => {
    const now = Date.now();
    if (now - lastLogged < 5000) return;
    lastLogged = now;
    logger?.warn({ err: error, role, connection: name }, 'redis connection error');
  });
  return redis;
}

/** True when `redis` can take commands now; a producer checks this before it starts work that needs Redis. */
export function isRedisReady(redis: Redis): boolean {
  return redis.status === 'ready';
}

/** Closes a connection, also when it never connected; safe to call twice. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    if (redis.status === 'ready') await redis.quit();
    else redis.disconnect();
  } catch {
    redis.disconnect();
  }
}
