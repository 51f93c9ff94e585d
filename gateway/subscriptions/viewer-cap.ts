import { randomUUID } from 'node:crypto';
import type { Logger } from '../../common/logger.ts';
import { counter } from '../../common/metrics.ts';
import { closeRedis, createRedis, isRedisReady, type RedisConnection } from '../../common/redis.ts';

/** How long a place stays taken without its gateway renewing it: a SIGKILLed gateway's places free themselves after this. */
export const LEASE_MS = 30_000;
/** A Redis command of the cap not answered in this long counts as Redis being away (the process's own count decides). */
const REDIS_TIMEOUT_MS = 1000;

const fallbacks = counter({
  name: 'junction_gateway_subscription_cap_fallbacks_total',
  help: "Subscriptions admitted by this gateway process's own count because Redis could not be asked (SUBSCRIPTIONS_PER_VIEWER then holds per process, not across replicas).",
});

/**
 * Takes a place if the viewer holds fewer than ARGV[3] (places whose lease ran out are dropped first).
 * KEYS[1]: the viewer's places, a sorted set scored by lease expiry. ARGV: now, expiry, max, member, key TTL (ms).
 */
const TAKE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

/** One open subscription's place among its viewer's. */
export interface Place {
  release(): void;
}

export interface ViewerCap {
  /** A place for one more subscription of `viewerId`, or null when they hold `max` already. */
  take(viewerId: string): Promise<Place | null>;
  close(): Promise<void>;
}

/**
 * SUBSCRIPTIONS_PER_VIEWER across every gateway replica on one Redis: each
 * viewer's open subscriptions are members of a sorted set
 * (`<QUEUE_PREFIX>:subscriptions:viewer:<id>`) scored by a lease that the
 * gateway holding them renews every LEASE_MS / 3, so the places of a gateway
 * that died without ending its streams free themselves within LEASE_MS. While
 * Redis cannot be asked nothing fails: the process's own count decides, and
 * junction_gateway_subscription_cap_fallbacks_total counts it.
 */
export function createViewerCap(settings: { REDIS_URL: string; QUEUE_PREFIX: string; SUBSCRIPTIONS_PER_VIEWER: number }, logger: Logger): ViewerCap {
  const max = settings.SUBSCRIPTIONS_PER_VIEWER;
  const redis: RedisConnection = createRedis(settings.REDIS_URL, {
    role: 'producer',
    logger,
    name: 'gateway-subscription-cap',
    commandTimeoutMs: REDIS_TIMEOUT_MS,
  });
  redis.on('error', () => {});
  const instance = randomUUID();
  let next = 0;
  /** This process's places: member → the viewer's key, and each viewer's count here. */
  const held = new Map<string, string>();
  const local = new Map<string, number>();
  const keyOf = (viewerId: string) => `${settings.QUEUE_PREFIX}:subscriptions:viewer:${viewerId}`;
  let warned = 0;
  const warn = (error: unknown) => {
    if (Date.now() - warned < 60_000) return;
    warned = Date.now();
    logger.warn({ err: error }, 'subscription cap: Redis unreachable; SUBSCRIPTIONS_PER_VIEWER is counted per gateway process meanwhile');
  };

  /** Waits (at most REDIS_TIMEOUT_MS) for a connection still being made, e.g. just after the gateway started. */
  const connected = async (): Promise<void> => {
    if (isRedisReady(redis) || redis.status === 'end' || redis.status === 'close' || redis.status === 'reconnecting') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, REDIS_TIMEOUT_MS);
      function done() {
        clearTimeout(timer);
        redis.off('ready', done);
        resolve();
      }
      redis.once('ready', done);
    });
  };

  const renew = setInterval(() => {
    if (held.size === 0) return;
    const expiry = Date.now() + LEASE_MS;
    const pipeline = redis.pipeline();
    for (const [member, key] of held) {
      pipeline.zadd(key, 'XX', expiry, member);
      pipeline.pexpire(key, LEASE_MS * 2);
    }
    pipeline.exec().catch(warn);
  }, LEASE_MS / 3);
  renew.unref();

  return {
    async take(viewerId) {
      const key = keyOf(viewerId);
      const member = `${instance}:${(next += 1)}`;
      const here = local.get(viewerId) ?? 0;
      let admitted: boolean;
      try {
        await connected();
        const now = Date.now();
        admitted = (await redis.eval(TAKE, 1, key, now, now + LEASE_MS, max, member, LEASE_MS * 2)) === 1;
      } catch (error) {
        warn(error);
        fallbacks.inc();
        admitted = here < max;
      }
      if (!admitted) return null;
      held.set(member, key);
      local.set(viewerId, here + 1);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          held.delete(member);
          const left = (local.get(viewerId) ?? 1) - 1;
          if (left > 0) local.set(viewerId, left);
          else local.delete(viewerId);
          redis.zrem(key, member).catch(warn);
        },
      };
    },
    async close() {
      clearInterval(renew);
      if (held.size > 0) {
        const pipeline = redis.pipeline();
        for (const [member, key] of held) pipeline.zrem(key, member);
        await pipeline.exec().catch(() => {});
        held.clear();
      }
      await closeRedis(redis);
    },
  };
}
