// Runs the backup schedules alone (workers/index.ts runs them with every other worker).
import { loadConfig } from '../../common/config.ts';
import { connect } from '../../common/db.ts';
import { onShutdown } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { closeRedis, createRedis } from '../../common/redis.ts';
import { startBackups } from './index.ts';

const config = loadConfig();
const logger = createLogger('backup-workers', config.LOG_LEVEL);
const database = connect(config.DATABASE_URL, { max: 4 });
const connection = createRedis(config.REDIS_URL, { role: 'worker', logger, name: 'backup-workers' });
const backups = startBackups({ config, db: database.db, connection, logger });
logger.info({ prefix: config.QUEUE_PREFIX, dir: config.BACKUP_DIR }, 'backup workers started');
onShutdown(logger, async () => {
  await backups.close();
  await closeRedis(connection);
  await database.close();
});
