import { readFileSync } from 'node:fs';
import type { Queue } from 'bullmq';
import { parse } from 'graphql';
import { QueueSet } from '../../common/queues.ts';
import { closeRedis, createRedis, isRedisReady, type RedisConnection } from '../../common/redis.ts';
import type { SubgraphDeps } from '../../common/subgraph-module.ts';
import type { NotificationsConfig } from './settings.ts';
import { createSubgraphApp } from '../../common/subgraph.ts';
import { createContext } from './context.ts';
import type { Expect, Same } from '../../common/type-checks.ts';
import type { NotificationStatus as SchemaNotificationStatus, Resolvers } from './generated/resolvers.ts';
import type { NotificationStatus } from './repository.ts';
import { notificationsQueue } from './jobs.ts';
import { NotificationsRepository } from './repository.ts';
import { Mutation } from './resolvers/Mutation.ts';
import { Notification } from './resolvers/Notification.ts';
import { Query } from './resolvers/Query.ts';
import { User } from './resolvers/User.ts';

export const typeDefs = parse(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

const resolvers: Resolvers = { Query, Mutation, Notification, User };

/** Resolves when `redis` is ready or `ms` have passed, whichever comes first. */
function readyWithin(redis: RedisConnection, ms: number): Promise<void> {
  if (isRedisReady(redis)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    redis.once('ready', done);
  });
}

export interface NotificationsDeps extends SubgraphDeps<NotificationsConfig> {
  /** The delivery queue retryNotification puts failed jobs back on. Default: one on REDIS_URL under QUEUE_PREFIX, opened on first use. */
  deliveries?: Queue;
}

/** The notifications subgraph as an express app; index.ts listens, tests use it on a free port. */
export async function createNotificationsSubgraph({ db, config, logger, deliveries }: NotificationsDeps) {
  const repo = new NotificationsRepository(db);
  if (config.ingestKeyGenerated) {
    // No INGEST_API_KEY given: ingestEvent takes this run's generated key (shown outside production only).
    logger.warn(config.production ? {} : { ingestApiKey: config.INGEST_API_KEY }, 'INGEST_API_KEY is not set; ingestEvent takes a key generated for this run');
  }
  // Only retryNotification needs Redis: connect on first use, so the subgraph serves without it.
  let own: { redis: RedisConnection; queues: QueueSet } | undefined;
  const deliveryQueue = async (): Promise<Queue> => {
    if (deliveries) return deliveries;
    if (!own) {
      const redis = createRedis(config.REDIS_URL, { role: 'producer', logger, name: 'notifications-subgraph' });
      own = { redis, queues: new QueueSet(redis, config.QUEUE_PREFIX) };
    }
    // Give a fresh connection a moment to connect; BullMQ would wait for it forever, so fail fast instead.
    await readyWithin(own.redis, 1000);
    if (!isRedisReady(own.redis)) throw new Error(`Redis is not reachable (${own.redis.status})`);
    return own.queues.get(notificationsQueue.name);
  };
  const subgraph = await createSubgraphApp(
    { db, config, logger },
    { name: 'notifications', typeDefs, resolvers, context: (base) => createContext(repo, config, deliveryQueue, base) },
  );
  return {
    ...subgraph,
    async close() {
      if (!own) return;
      await own.queues.close();
      await closeRedis(own.redis);
    },
  };
}

/** The domain's enum types are the schema's (generated/resolvers.ts), declared apart so that the code the generated types name imports none of them: tsc fails here when they part. */
export type EnumsAreTheSchemas = Expect<Same<NotificationStatus, SchemaNotificationStatus>>;
