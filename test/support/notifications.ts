import { randomUUID } from 'node:crypto';
import { createAuthenticator } from '../../common/auth.ts';
import { parseConfig, type Config } from '../../scripts/settings.ts';
import { listen } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import type { QueueSet } from '../../common/queues.ts';
import type { createRedis } from '../../common/redis.ts';
import { QUEUE_NAMES } from '../../subgraphs/index.ts';
import { createNotificationsSubgraph } from '../../subgraphs/notifications/server.ts';
import { createWorkersApp } from '../../workers/http.ts';
import { startNotificationWorkers, type NotificationWorkers } from '../../workers/notifications/index.ts';
import { OutboxRelay } from '../../workers/outbox-relay.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { gqlData } from './graphql.ts';
import { startTestIdentity, type TestIdentity } from './identity.ts';
import { startTestProvider, type Behaviour, type TestProvider } from './notify-provider.ts';
import { eventually } from './wait.ts';
import { closeTestQueues, openTestQueues } from './queues.ts';
import { dropKeys } from './orders.ts';

/**
 * What every notification test stands on: a fresh database, a test provider
 * (NOTIFY_URL), the settings, and the queues under a BullMQ prefix of their own.
 */
export interface NotificationBase {
  db: TestDatabase;
  provider: TestProvider;
  /** The settings `config` was parsed from, e.g. for a worker process of its own. */
  env: Record<string, string>;
  config: Config;
  producer: ReturnType<typeof createRedis>;
  queues: QueueSet;
  /** Waits until every one of `eventIds` is a SENT notification. */
  allSent(eventIds: readonly string[], timeoutMs?: number): Promise<void>;
  /** Stops the relay, empties the queues, drops the database. */
  close(): Promise<void>;
}

export interface NotificationBaseOptions {
  /** Settings over the base's (DATABASE_URL, QUEUE_PREFIX, NOTIFY_URL, OUTBOX_POLL_MS=50). */
  env?: Record<string, string>;
  /** How the provider answers (default: accepts everything). */
  behaviour?: Behaviour;
  /** Also run the outbox relay, publishing the outbox rows to the queues. */
  relay?: boolean;
  /** The PostgreSQL cluster to create the database in (e.g. a PrivatePostgres's admin URL); default the shared one. */
  adminUrl?: string;
}

export async function startNotificationBase(label: string, options: NotificationBaseOptions = {}): Promise<NotificationBase> {
  const db = await createTestDatabase(label, options.adminUrl);
  const provider = await startTestProvider(options.behaviour);
  const env = {
    DATABASE_URL: db.url,
    QUEUE_PREFIX: `jt-${label}-${randomUUID().slice(0, 8)}`,
    NOTIFY_URL: provider.url,
    OUTBOX_POLL_MS: '50',
    ...options.env,
  };
  const config = parseConfig(env);
  const { producer, queues } = await openTestQueues(config.REDIS_URL, config.QUEUE_PREFIX);
  const logger = createLogger(label, process.env.LOG_LEVEL ?? 'silent');
  const relay = options.relay ? new OutboxRelay({ db, queues, redis: producer, config, logger }).start() : undefined;
  return {
    db,
    provider,
    env,
    config,
    producer,
    queues,
    allSent: async (eventIds, timeoutMs) => {
      await eventually(
        async () => {
          const rows = await db.sql`select status from notifications.notifications where event_id in ${db.sql(eventIds)}`;
          return rows.length === eventIds.length && rows.every((row) => row.status === 'SENT');
        },
        timeoutMs,
        `${eventIds.join(', ')} SENT`,
      );
    },
    async close() {
      await relay?.close();
      await closeTestQueues(queues, producer);
      await provider.close();
      await db.drop();
      // Nothing of this base's left in the shared Redis (its prefix is its own: jt-<label>-<random>), nor of a prefix derived from it.
      await dropKeys(config.REDIS_URL, `${config.QUEUE_PREFIX}*`);
    },
  };
}

export interface NotificationRig extends NotificationBase {
  workers: NotificationWorkers;
  /** The notifications subgraph's /graphql URL. */
  url: string;
  /** The workers app's base URL (/metrics, /admin/queues). */
  workersBase: string;
  /** The rig's identity provider, and an admin's headers (retryNotification, Bull Board). */
  identity: TestIdentity;
  admin: Record<string, string>;
  /** ingestEvent with the rig's API key, `payload` added to the event's; returns the mutation's data. */
  ingest(eventId: string, userId?: string, payload?: Record<string, unknown>): Promise<{ ingestEvent: { eventId: string; status: string } }>;
  /** The notification row of an eventId, straight from the database. */
  row(eventId: string): Promise<{ id: string; status: string; attempts: number; last_error: string | null; sent_at: Date | null } | undefined>;
  /** Waits until the row of eventId has that status. */
  settled(eventId: string, status: 'SENT' | 'FAILED', timeoutMs?: number): Promise<NonNullable<Awaited<ReturnType<NotificationRig['row']>>>>;
}

const KEY = 'notification-rig-ingest-key';

/**
 * The notifications capability on its own, as the workers process runs it:
 * the base with the outbox relay, the notification workers, the notifications
 * subgraph and the workers' HTTP app, all on free ports. `env` overrides
 * settings (INGEST_API_KEY included: `ingest` sends the one in force);
 * `adminUrl` puts the database on another cluster (a PrivatePostgres, to stop).
 */
export async function startNotificationRig(label: string, env: Record<string, string> = {}, adminUrl?: string): Promise<NotificationRig> {
  const logger = createLogger(label, process.env.LOG_LEVEL ?? 'silent');
  const identity = await startTestIdentity();
  const base = await startNotificationBase(label, { env: { ...identity.env, INGEST_API_KEY: KEY, ...env }, relay: true, adminUrl });
  const { db, config, queues } = base;
  const workers = await startNotificationWorkers({ db: db.db, config, queues, logger });
  const subgraph = await createNotificationsSubgraph({ db: db.db, config, logger });
  const subgraphHttp = await listen(subgraph.app, 0);
  const board = createWorkersApp({ queues: queues.only(QUEUE_NAMES), logger, auth: createAuthenticator(config) });
  const boardHttp = await listen(board.app, 0);
  const url = `${subgraphHttp.url}/graphql`;

  const row: NotificationRig['row'] = async (eventId) => {
    const [found] = await db.sql`select id, status, attempts, last_error, sent_at from notifications.notifications where event_id = ${eventId}`;
    return found as Awaited<ReturnType<NotificationRig['row']>>;
  };
  return {
    ...base,
    workers,
    url,
    workersBase: boardHttp.url,
    identity,
    admin: await identity.headers(`admin-${label}`, ['admin']),
    ingest: (eventId, userId = randomUUID(), payload = {}) =>
      gqlData(
        url,
        `mutation($input: IngestEventInput!) { ingestEvent(input: $input) { eventId status } }`,
        { input: { eventId, eventType: 'order_shipped', timestamp: new Date().toISOString(), payload: { userId, ...payload } } },
        { 'x-api-key': config.INGEST_API_KEY },
      ),
    row,
    settled: (eventId, status, timeoutMs = 15_000) =>
      eventually(
        async () => {
          const found = await row(eventId);
          return found?.status === status ? found : undefined;
        },
        timeoutMs,
        `${eventId} ${status}`,
      ),
    async close() {
      await workers.close();
      await subgraphHttp.close();
      await subgraph.close();
      await boardHttp.close();
      board.close();
      await base.close();
      await identity.close();
    },
  };
}
