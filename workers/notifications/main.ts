// Runs the notification workers alone (workers/index.ts runs them with every other worker).
import { loadConfig } from '../../common/config.ts';
import { connect } from '../../common/db.ts';
import { onShutdown } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { QueueSet } from '../../common/queues.ts';
import { closeRedis, createRedis } from '../../common/redis.ts';
import { startNotificationWorkers } from './index.ts';

const config = loadConfig();
const logger = createLogger('notification-workers', config.LOG_LEVEL);
const database = connect(config.DATABASE_URL);
const producer = createRedis(config.REDIS_URL, { role: 'producer', logger, name: 'notification-workers-producer' });
const queues = new QueueSet(producer, config.QUEUE_PREFIX);
const workers = await startNotificationWorkers({ db: database.db, config, queues, logger });
logger.info({ prefix: config.QUEUE_PREFIX }, 'notification workers started');
onShutdown(logger, async () => {
  await workers.close();
  await queues.close();
  await closeRedis(producer);
  await database.close();
});
