import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { BackupProcessConfig as Config } from './settings.ts';
import type { Database } from '../../common/db.ts';
import type { Logger } from '../../common/logger.ts';
import { UNTIL_IT_SUCCEEDS } from '../../common/jobs.ts';
import { closeWorker, retryDelays } from '../../common/queues.ts';
import type { UploadRow } from './db.ts';
import { backupsQueue } from './queue.ts';
import { listArchives, listDumps, utcDay, type ArchiveFile, type DumpFile } from './files.ts';
import { watchBackups } from './metrics.ts';
import { BackupService, type BackupConfig, type UploadAttempt } from './service.ts';
import type { RedisConnection } from '../../common/redis.ts';

/** Job names on the `backups` queue, and the ids of the two job schedulers that make them. */
export const BACKUP_JOBS = {
  /** One pg_dump into BACKUP_DIR. No payload. */
  dump: 'dump',
  /** The day's upload. Payload `{ day? }`: set on the first attempt, so retries stay on that UTC day. */
  upload: 'upload',
} as const;

export const BACKUP_SCHEDULERS = { dump: 'backup-dump', upload: 'backup-upload' } as const;

export interface UploadJobData {
  day?: string;
}

export type UploadJobResult = UploadAttempt | { day: string; result: 'day-over' };

export type BackupWorkerConfig = BackupConfig &
  Pick<Config, 'QUEUE_PREFIX' | 'BACKUP_DUMP_EVERY_MS' | 'BACKUP_UPLOAD_CRON' | 'BACKUP_UPLOAD_RETRY_DELAYS_MS' | 'WORKER_LOCK_MS'>;

export interface BackupWorkerDeps {
  config: BackupWorkerConfig;
  db: Database;
  /** Every database to dump (default DATABASE_URL alone); the ledger is in `db`. */
  databaseUrls?: readonly string[];
  /** A `worker` connection from common/redis.ts: the schedulers are set once Redis answers, however long that takes. */
  connection: RedisConnection;
  logger: Logger;
}

export interface ScheduleStatus {
  id: string;
  job: string;
  every?: number;
  pattern?: string;
  tz?: string;
  /** The next run, ISO 8601; null when Redis did not say. */
  next: string | null;
}

export interface BackupStatus {
  dir: string;
  dumps: (Pick<DumpFile, 'name' | 'size' | 'sha256'> & { time: string })[];
  archives: Pick<ArchiveFile, 'name' | 'size' | 'sha256' | 'day'>[];
  uploads: {
    day: string;
    name: string;
    outcome: UploadRow['outcome'];
    attempts: number;
    lastStatus: number | null;
    lastError: string | null;
    dumps: number | null;
    size: number | null;
    updatedAt: string;
  }[];
  schedules: ScheduleStatus[];
}

const kept = { removeOnComplete: { count: 500 }, removeOnFail: { count: 500 } };

/**
 * The backup schedules of the workers process: two BullMQ job schedulers on
 * the `backups` queue (a dump every BACKUP_DUMP_EVERY_MS, the upload at
 * BACKUP_UPLOAD_CRON in UTC) and the worker that runs their jobs. Every
 * replica upserts the same two schedulers, so there is still one dump per
 * interval and one upload job per cron tick, whichever replica runs it.
 */
export function startBackups({ config, db, databaseUrls, connection, logger }: BackupWorkerDeps) {
  const log = logger.child({ worker: backupsQueue.name });
  const service = new BackupService(config, db, log, databaseUrls);
  const queue = new Queue(backupsQueue.name, { connection, prefix: config.QUEUE_PREFIX });
  queue.on('error', (error) => log.warn({ err: error }, 'backups queue error'));
  const unwatch = watchBackups(service);

  const enabled = config.BACKUP_DUMP_EVERY_MS > 0;
  const scheduled = (async () => {
    if (!enabled) {
      log.info('backup schedules off in this process (BACKUP_DUMP_EVERY_MS=0)');
      return;
    }
    await queue.upsertJobScheduler(BACKUP_SCHEDULERS.dump, { every: config.BACKUP_DUMP_EVERY_MS }, { name: BACKUP_JOBS.dump, opts: { attempts: 1, ...kept } });
    await queue.upsertJobScheduler(
      BACKUP_SCHEDULERS.upload,
      { pattern: config.BACKUP_UPLOAD_CRON, tz: 'UTC' },
      { name: BACKUP_JOBS.upload, data: {} satisfies UploadJobData, opts: { attempts: UNTIL_IT_SUCCEEDS, backoff: { type: 'custom' }, ...kept } },
    );
    log.info({ dumpEveryMs: config.BACKUP_DUMP_EVERY_MS, uploadCron: config.BACKUP_UPLOAD_CRON, dir: config.BACKUP_DIR }, 'backup schedules set');
  })().catch((error) => log.error({ err: error }, 'could not set the backup schedules'));

  const processor = async (job: Job): Promise<unknown> => {
    if (job.name === BACKUP_JOBS.dump) {
      // Every database, in turn; the job's result names the first (DATABASE_URL's) and lists them all.
      const dumps = (await service.dumpAll()).map((dump) => ({ name: dump.name, size: dump.size, sha256: dump.sha256 }));
      return { ...dumps[0]!, dumps };
    }
    if (job.name === BACKUP_JOBS.upload) {
      const today = utcDay(new Date());
      let day = (job.data as UploadJobData).day;
      if (!day) {
        day = today;
        await job.updateData({ ...job.data, day } satisfies UploadJobData);
      }
      // A retry due after midnight leaves that day alone: the next scheduled upload has its own day.
      if (day !== today) return { day, result: 'day-over' } satisfies UploadJobResult;
      const attempt = await service.upload({ day });
      if (attempt.result === 'failed') throw new Error(attempt.error ?? 'upload failed');
      if (attempt.result === 'rejected') throw new UnrecoverableError(attempt.error ?? 'upload rejected');
      return attempt;
    }
    throw new UnrecoverableError(`unknown backup job "${job.name}"`);
  };

  const worker = new Worker(backupsQueue.name, processor, {
    autorun: enabled,
    connection,
    prefix: config.QUEUE_PREFIX,
    // A long dump does not hold the day's upload back.
    concurrency: 2,
    settings: { backoffStrategy: retryDelays(config.BACKUP_UPLOAD_RETRY_DELAYS_MS) },
    lockDuration: config.WORKER_LOCK_MS,
    stalledInterval: config.WORKER_LOCK_MS,
    maxStalledCount: 2,
  });
  worker.on('error', (error) => log.warn({ err: error }, 'backups worker error'));
  worker.on('failed', (job, error) => {
    if (job?.name === BACKUP_JOBS.upload && job.attemptsMade < (job.opts.attempts ?? 1))
      log.warn({ err: error, attempt: job.attemptsMade }, 'backup upload failed; retrying later today');
  });

  let closing: Promise<void> | undefined;
  return {
    service,
    queue,
    worker,
    /** Resolves once both schedulers are set (or setting them failed and was logged). */
    scheduled,
    async status(): Promise<BackupStatus> {
      const [dumps, archives, ledger, schedulers] = await Promise.all([
        listDumps(service.dir),
        listArchives(service.dir),
        service.uploads(),
        queue.getJobSchedulers(0, -1, true),
      ]);
      return {
        dir: service.dir,
        dumps: dumps.map((d) => ({ name: d.name, size: d.size, sha256: d.sha256, time: d.time.toISOString() })),
        archives: archives.map((a) => ({ name: a.name, size: a.size, sha256: a.sha256, day: a.day })),
        uploads: ledger.map((u) => ({
          day: u.day,
          name: u.name,
          outcome: u.outcome,
          attempts: u.attempts,
          lastStatus: u.lastStatus,
          lastError: u.lastError,
          dumps: u.dumps,
          size: u.size,
          updatedAt: u.updatedAt.toISOString(),
        })),
        schedules: schedulers.map((s) => ({
          id: s.key,
          job: s.name,
          ...(s.every ? { every: s.every } : {}),
          ...(s.pattern ? { pattern: s.pattern, tz: s.tz } : {}),
          next: s.next ? new Date(s.next).toISOString() : null,
        })),
      };
    },
    /** Stops taking jobs after the active ones (a dump in progress finishes); safe to call twice. */
    close(): Promise<void> {
      closing ??= (async () => {
        unwatch();
        await closeWorker(worker, connection);
        await queue.close();
        service.close();
      })();
      return closing;
    },
  };
}

export type Backups = ReturnType<typeof startBackups>;
