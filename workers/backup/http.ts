import { Router } from 'express';
import type { Logger } from '../../common/logger.ts';
import type { BackupStatus } from './index.ts';

export interface BackupStatusSource {
  status(): Promise<BackupStatus>;
}

/**
 * `GET /admin/backups`: dumps, archives, the upload ledger and the next
 * scheduled runs, as JSON. Mount it behind the admin gate (workers/http.ts
 * mounts it after `adminPages`, which needs the admin role under /admin).
 */
export function backupStatusRoutes(backups: BackupStatusSource, logger: Logger): Router {
  const router = Router();
  router.get('/admin/backups', async (_req, res) => {
    try {
      res.json(await backups.status());
    } catch (error) {
      logger.error({ err: error }, 'backup status failed');
      res.status(503).json({ error: `backup status unavailable: ${(error as Error).message}` });
    }
  });
  return router;
}
