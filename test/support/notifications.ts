import { randomUUID } from 'node:crypto';
import { createAuthenticator } from '../../common/auth.ts';
import { parseConfig, type Config } from '../../common/config.ts';
import { listen } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { QueueSet } from '../../common/queues.ts';
import { closeRedis, createRedis } from '../../common/redis.ts';
import { QUEUE_NAMES } from '../../subgraphs/index.ts';
import { createNotificationsSubgraph } from '../../subgraphs/notifications/server.ts';
import { createWorkersApp } from '../../workers/http.ts';
import { startNotificationWorkers, type NotificationWorkers } from '../../workers/notifications/index.ts';
import { OutboxRelay } from '../../workers/outbox-relay.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { gqlData } from './graphql.ts';
import { startTestIdentity, type TestIdentity } from './identity.ts';
import { eventually, startTestProvider, type TestProvider } from './notify-provider.ts';

export interface NotificationRig {
  db: TestDatabase;
  config: Config;
  provider: TestProvider;
  queues: QueueSet;
  workers: NotificationWorkers;
  /** The notifications subgraph's /graphql URL. */
  url: string;
  /** The workers app's base URL (/metrics, /admin/queues). */
  workersBase: string;
  /** The rig's identity provider, and an admin's headers (retryNotification, Bull Board). */
  identity: TestIdentity;
  admin: Record<string, string>;
  /** ingestEvent with the rig's API key; returns the mutation's data. */
  ingest(eventId: string, userId?: string): Promise<{ ingestEvent: { eventId: string; status: string } }>;
  /** The notification row of an eventId, straight from the database. */
  row(eventId: string): Promise<{ id: string; status: string; attempts: number; last_error: string | null; sent_at: Date | null } | undefined>;
  /** Waits until the row of eventId has that status. */
  settled(eventId: string, status: 'SENT' | 'FAILED', timeoutMs?: number): Promise<NonNullable<Awaited<ReturnType<NotificationRig['row']>>>>;
  close(): Promise<void>;
}

const KEY = 'notification-rig-ingest-key';

/**
 * The notifications capability on its own, as the workers process runs it:
 * a fresh database, a test provider (NOTIFY_URL), the outbox relay, the
 * notification workers, the notifications subgraph and the workers' HTTP app,
 * all on free ports with a BullMQ prefix of their own. `env` overrides settings.
 */
export async function startNotificationRig(label: string, env: Record<string, string> = {}): Promise<NotificationRig> {
  const logger = createLogger(label, process.env.LOG_LEVEL ?? 'silent');
  const db = await createTestDatabase(label);
  const provider = await startTestProvider();
  const identity = await startTestIdentity();
  const config = parseConfig({
    ...identity.env,
    DATABASE_URL: db.url,
    QUEUE_PREFIX: `jt-${label}-${randomUUID().slice(0, 8)}`,
    NOTIFY_URL: provider.url,
    INGEST_API_KEY: KEY,
    OUTBOX_POLL_MS: '50',
    ...env,
  });
  const producer = createRedis(config.REDIS_URL, { role: 'producer' });
  await new Promise((resolve) => producer.once('ready', resolve));
  const queues = new QueueSet(producer, config.QUEUE_PREFIX);
  const relay = new OutboxRelay({ db, queues, redis: producer, config, logger }).start();
  const workers = await startNotificationWorkers({ db: db.db, config, logger });
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
    db,
    config,
    provider,
    queues,
    workers,
    url,
    workersBase: boardHttp.url,
    identity,
    admin: await identity.headers(`admin-${label}`, ['admin']),
    ingest: (eventId, userId = randomUUID()) =>
      gqlData(
        url,
        `mutation($input: IngestEventInput!) { ingestEvent(input: $input) { eventId status } }`,
        { input: { eventId, eventType: 'order_shipped', timestamp: new Date().toISOString(), payload: { userId } } },
        { 'x-api-key': KEY },
      ),
    row,
    settled: (eventId, status, timeoutMs = 15_000) =>
      eventually(async () => {
        const found = await row(eventId);
        return found?.status === status ? found : undefined;
      }, timeoutMs, `${eventId} ${status}`),
    async close() {
      await workers.close();
      await relay.close();
      await subgraphHttp.close();
      await subgraph.close();
      await boardHttp.close();
      board.close();
      for (const queue of queues.all()) await queue.obliterate({ force: true }).catch(() => {});
      await queues.close();
      await closeRedis(producer);
      await provider.close();
      await identity.close();
      await db.drop();
    },
  };
}
