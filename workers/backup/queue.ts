import { defineQueue, UNTIL_IT_SUCCEEDS } from '../../common/jobs.ts';

/** Database backups: `dump` and `upload` jobs made by two job schedulers (workers/backup/index.ts); an upload is retried after each BACKUP_UPLOAD_RETRY_DELAYS_MS delay until it succeeds. */
export const backupsQueue = defineQueue('backups', (config: { BACKUP_UPLOAD_RETRY_DELAYS_MS: readonly number[] }) => ({
  attempts: UNTIL_IT_SUCCEEDS,
  backoff: { type: 'custom' },
  delays: config.BACKUP_UPLOAD_RETRY_DELAYS_MS,
}));
