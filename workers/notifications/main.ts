// Runs the notification workers alone (workers/index.ts runs them with every other worker).
import { loadConfig } from '../../common/config.ts';
import { connect } from '../../common/db.ts';
import { onShutdown } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { startNotificationWorkers } from './index.ts';

const config = loadConfig();
const logger = createLogger('notification-workers', config.LOG_LEVEL);
const database = connect(config.DATABASE_URL);
const workers = await startNotificationWorkers({ db: database.db, config, logger });
logger.info({ prefix: config.QUEUE_PREFIX }, 'notification workers started');
onShutdown(logger, async () => {
  await workers.close();
  await database.close();
});
