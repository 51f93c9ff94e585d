// The notification workers alone, as a process of their own (workers/index.ts runs them with every other
// worker): `node --import tsx test/support/notification-workers-process.ts`, which
// workers/notifications/test/crash.int.test.ts SIGKILLs mid-delivery.
import { Databases } from '../../common/db.ts';
import { workersSettings } from '../../workers/settings.ts';
import { onShutdown } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { QueueSet } from '../../common/queues.ts';
import { closeRedis, createRedis } from '../../common/redis.ts';
import notificationsModule from '../../subgraphs/notifications/module.ts';
import { outboxOwner } from '../../workers/outbox-relay.ts';
import { startNotificationWorkers } from '../../workers/notifications/index.ts';

const config = workersSettings.load();
const logger = createLogger('notification-workers', config.LOG_LEVEL);
// Notifications' database, and each announcing subgraph's for its outbox.
const databases = new Databases(config);
const producer = createRedis(config.REDIS_URL, { role: 'producer', logger, name: 'notification-workers-producer' });
const queues = new QueueSet(producer, config.QUEUE_PREFIX);
const workers = await startNotificationWorkers({
  db: databases.of(notificationsModule.name).db,
  outboxDb: (table) => databases.of(outboxOwner(table)).db,
  config,
  queues,
  logger,
});
logger.info({ prefix: config.QUEUE_PREFIX }, 'notification workers started');
onShutdown(logger, async () => {
  await workers.close();
  await queues.close();
  await closeRedis(producer);
  await databases.close();
});
