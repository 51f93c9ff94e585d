// Runs the backup schedules alone (workers/index.ts runs them with every other worker).
import { distinctDatabaseUrls } from '../../common/databases.ts';
import { backupSettings } from './settings.ts';
import { connect } from '../../common/db.ts';
import { onShutdown } from '../../common/http.ts';
import { createLogger } from '../../common/logger.ts';
import { closeRedis, createRedis } from '../../common/redis.ts';
import { SUBGRAPHS } from '../../subgraphs/index.ts';
import { startBackups } from './index.ts';

const config = backupSettings.load();
const logger = createLogger('backup-workers', config.LOG_LEVEL);
// The ledger in DATABASE_URL; the dumps of every distinct database (each subgraph's own, when it has one).
const database = connect(config.DATABASE_URL, { max: 4 });
const databaseUrls = distinctDatabaseUrls(
  config,
  SUBGRAPHS.map((s) => s.name),
);
const connection = createRedis(config.REDIS_URL, { role: 'worker', logger, name: 'backup-workers' });
const backups = startBackups({ config, db: database.db, databaseUrls, connection, logger });
logger.info({ prefix: config.QUEUE_PREFIX, dir: config.BACKUP_DIR }, 'backup workers started');
onShutdown(logger, async () => {
  await backups.close();
  await closeRedis(connection);
  await database.close();
});
