import type { PersistedQueryOptions } from '@apollo/server';
import type { GatewayConfig as Config } from '../settings.ts';
import type { Logger } from '../../common/logger.ts';
import { counter } from '../../common/metrics.ts';
import { closeRedis, createRedis } from '../../common/redis.ts';

type KeyValueCache = NonNullable<PersistedQueryOptions['cache']>;

/** A Redis command of the APQ cache not answered in this long counts as a miss (the client then sends the text). */
export const APQ_REDIS_TIMEOUT_MS = 250;

/** Logs "APQ cache unavailable" at most this often while Redis stays unreachable. */
const LOG_EVERY_MS = 5000;

const metrics = {
  unavailable: counter({
    name: 'junction_gateway_apq_cache_unavailable_total',
    help: 'Automatic persisted query lookups and registrations that could not reach Redis (a lookup then answers PERSISTED_QUERY_NOT_FOUND and the client sends the text).',
    labelNames: ['command'],
  }),
};

type ApqSettings = Pick<Config, 'REDIS_URL' | 'QUEUE_PREFIX' | 'APQ_TTL_SECONDS'>;

export interface ApqCache extends KeyValueCache {
  close(): Promise<void>;
}

/**
 * Apollo Server's automatic persisted queries kept in Redis, under
 * `<QUEUE_PREFIX>:apq:<sha256>` (Apollo adds its own `apq:` before the hash),
 * for APQ_TTL_SECONDS, so a hash one gateway replica registered is known to
 * every replica on that Redis. While Redis cannot be reached nothing fails:
 * a lookup is a miss (PERSISTED_QUERY_NOT_FOUND; the client sends the text,
 * which runs) and a registration is dropped, at once when the connection is
 * down (no offline queue) or after APQ_REDIS_TIMEOUT_MS when Redis does not answer.
 */
export function createApqCache(settings: ApqSettings, logger: Logger): ApqCache {
  const redis = createRedis(settings.REDIS_URL, { role: 'producer', logger, name: 'gateway-apq', commandTimeoutMs: APQ_REDIS_TIMEOUT_MS });
  const prefix = `${settings.QUEUE_PREFIX}:`;
  let lastLogged = 0;
  const unavailable = (command: 'get' | 'set', error: unknown) => {
    metrics.unavailable.inc({ command });
    const now = Date.now();
    if (now - lastLogged < LOG_EVERY_MS) return;
    lastLogged = now;
    logger.warn({ err: error }, 'APQ cache unavailable: Redis unreachable; clients send the query text meanwhile');
  };
  return {
    async get(key) {
      try {
        return (await redis.get(prefix + key)) ?? undefined;
      } catch (error) {
        unavailable('get', error);
        return undefined;
      }
    },
    async set(key, value, options) {
      try {
        await redis.set(prefix + key, value, 'EX', options?.ttl ?? settings.APQ_TTL_SECONDS);
      } catch (error) {
        unavailable('set', error);
      }
    },
    async delete(key) {
      try {
        await redis.del(prefix + key);
      } catch (error) {
        unavailable('set', error);
      }
    },
    close: () => closeRedis(redis),
  };
}
