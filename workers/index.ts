import { pathToFileURL } from 'node:url';
import { createAuthenticator } from '../common/auth.ts';
import { distinctDatabaseUrls } from '../common/databases.ts';
import { Databases } from '../common/db.ts';
import { workersSettings, type WorkersConfig as Config } from './settings.ts';
import { listen, onShutdown } from '../common/http.ts';
import { createLogger, type Logger } from '../common/logger.ts';
import { startTracing } from '../common/tracing.ts';
import { QueueSet } from '../common/queues.ts';
import { closeRedis, createRedis } from '../common/redis.ts';
import { startBackups, type Backups } from './backup/index.ts';
import { createWorkersApp } from './http.ts';
import { OutboxRelay, outboxOwner, type OutboxTable } from './outbox-relay.ts';
import { SUBGRAPHS } from '../subgraphs/index.ts';
import notificationsModule from '../subgraphs/notifications/module.ts';
import ordersModule from '../subgraphs/orders/module.ts';
import { WORKER_QUEUES } from './queues.ts';
import { startNotificationWorkers } from './notifications/index.ts';
import { startOrderWorker } from './orders/worker.ts';

export interface RunningWorkers {
  /** The producer side of every queue (Bull Board, metrics, tests). */
  queues: QueueSet;
  /** The backup schedules and their status (GET /admin/backups). */
  backups: Backups;
  /** Connection states for /health. */
  health(): Record<string, unknown>;
  /** For /ready: true while the worker connection to Redis is up and every database it uses answers within a second; `down` names what is not. */
  ready(): Promise<{ ready: boolean; redis: string; database: 'up' | 'down'; down: ('redis' | 'postgresql')[] }>;
  /** Stops taking jobs, lets active ones finish, then closes every connection; safe to call twice. */
  close(): Promise<void>;
}

/**
 * Every background worker of Junction in this process: the outbox relay, the
 * order worker, the notification workers and the backup schedules (add new workers here, each with its close()).
 */
export async function startWorkers(config: Config, logger: Logger): Promise<RunningWorkers> {
  // Each table in its owning subgraph's database (<NAME>_DATABASE_URL, DATABASE_URL unless set), one pool per distinct
  // database. A job holds a connection only inside its short transactions: half the job concurrency (plus the relay's) is ample.
  const databases = new Databases(config, { max: Math.max(10, Math.ceil(config.ORDER_CONCURRENCY / 2) + 4) });
  const outboxDb = (table: OutboxTable) => databases.of(outboxOwner(table));
  // Producers fail fast while Redis is down (the outbox rows wait); workers wait Redis out.
  const producer = createRedis(config.REDIS_URL, { role: 'producer', logger, name: 'workers-producer' });
  const connection = createRedis(config.REDIS_URL, { role: 'worker', logger, name: 'workers' });
  const queues = new QueueSet(producer, config.QUEUE_PREFIX);

  const relay = new OutboxRelay({
    db: databases.main,
    dbOf: outboxDb,
    queues,
    redis: producer,
    config,
    logger: logger.child({ component: 'outbox-relay' }),
  }).start();
  // Orders' transitions (and the events they announce) in orders' database; inventory is reached over HTTP.
  const orders = await startOrderWorker({ config, db: databases.of(ordersModule.name).db, connection, queues, logger });
  const notifications = await startNotificationWorkers({
    config,
    db: databases.of(notificationsModule.name).db,
    outboxDb: (table) => outboxDb(table).db,
    queues,
    logger: logger.child({ component: 'notifications' }),
  });
  // The backup ledger lives in DATABASE_URL; every distinct database is dumped.
  const backups = startBackups({
    config,
    db: databases.main.db,
    databaseUrls: distinctDatabaseUrls(
      config,
      SUBGRAPHS.map((s) => s.name),
    ),
    connection,
    logger,
  });

  // Consumers first (active jobs drain), then the relay, then the connections.
  const stops: (() => Promise<void>)[] = [() => orders.close(), () => notifications.close(), () => backups.close(), () => relay.close()];

  let closing: Promise<void> | undefined;
  return {
    queues,
    backups,
    health: () => ({ redis: connection.status, producer: producer.status }),
    async ready() {
      const answers = await Promise.all(
        databases
          .all()
          .map((handle) =>
            Promise.race([
              handle.sql`select 1`.then(() => 'up' as const),
              new Promise<'down'>((resolve) => setTimeout(() => resolve('down'), 1000).unref()),
            ]).catch(() => 'down' as const),
          ),
      );
      const db = answers.every((answer) => answer === 'up') ? ('up' as const) : ('down' as const);
      const down = [...(connection.status === 'ready' ? [] : ['redis' as const]), ...(db === 'up' ? [] : ['postgresql' as const])];
      return { ready: down.length === 0, redis: connection.status, database: db, down };
    },
    close() {
      closing ??= (async () => {
        for (const stop of stops) await stop().catch((error) => logger.error({ err: error }, 'worker close failed'));
        await queues.close();
        await closeRedis(producer);
        await closeRedis(connection);
        await databases.close();
      })();
      return closing;
    },
  };
}

async function main(): Promise<void> {
  const config = workersSettings.load();
  const tracing = await startTracing('workers', config.OTEL_EXPORTER_OTLP_ENDPOINT);
  const logger = createLogger('workers', config.LOG_LEVEL);
  const workers = await startWorkers(config, logger);
  const web = createWorkersApp({
    queues: workers.queues.only(WORKER_QUEUES),
    logger,
    auth: createAuthenticator(config),
    health: workers.health,
    ready: () => workers.ready(),
    backups: workers.backups,
  });
  const http = await listen(web.app, config.WORKERS_PORT, config.HOST);
  logger.info({ url: http.url, board: `${http.url}/admin/queues` }, 'workers running');
  onShutdown(logger, async () => {
    await http.close();
    web.close();
    await workers.close();
    await tracing?.shutdown();
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
