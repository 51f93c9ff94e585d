/**
 * The backup schedules' settings, read by the backup process (workers/backup/main.ts),
 * the workers process (which runs the schedules under npm start and compose) and
 * `npm run backup`.
 */
import cronParser from 'cron-parser';
import { z } from 'zod';
import { defineSettings, delays, local, type ConfigOf } from '../../common/config.ts';
import { databaseUrlSettings } from '../../common/databases.ts';
import { SUBGRAPHS } from '../../subgraphs/index.ts';

/** A BullMQ cron pattern (five fields, or six with seconds first), read in UTC as BullMQ will. */
export const cron = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine(
      (value) => {
        try {
          cronParser.parseExpression(value, { tz: 'UTC' }).next();
          return value.trim().length > 0;
        } catch {
          return false;
        }
      },
      { message: 'expected a cron pattern, e.g. "0 0 * * *" (minute hour day month weekday) or six fields with seconds first' },
    );

/**
 * The backup settings (BACKUP_*), WORKER_LOCK_MS and every subgraph's own database (each distinct
 * database is dumped), as the processes that run backups declare them.
 */
export const backupGroup = {
  ...databaseUrlSettings(SUBGRAPHS.map((s) => s.name)),
  BACKUP_URL: z.url().optional().describe("Where the day's backup archive is uploaded (PUT /backups/<name>); default the simulated store on EXTERNAL_PORT."),
  BACKUP_DIR: z.string().min(1).default('./backups').describe('Where the workers keep database dumps and the archives built from them.'),
  BACKUP_DUMP_EVERY_MS: z.coerce
    .number()
    .int()
    .refine((value) => value === 0 || value >= 1000, { message: 'expected 0 (off) or at least 1000 ms' })
    .default(300000)
    .describe('A pg_dump of the database this often (one per interval, however many worker replicas run); 0 turns the backup schedules off in this process.'),
  BACKUP_UPLOAD_CRON: cron('0 0 * * *').describe("When the day's archive is uploaded to BACKUP_URL, in UTC (five fields, or six with seconds first)."),
  BACKUP_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(1)
    .default(7)
    .describe('Dumps older than this are deleted once an accepted upload holds them; archives older than this are deleted.'),
  BACKUP_UPLOAD_TIMEOUT_MS: z.coerce
    .number()
    .int()
    .min(100)
    .default(120000)
    .describe('Timeout of one upload attempt (a timeout is a failure, retried later the same day).'),
  BACKUP_UPLOAD_RETRY_DELAYS_MS: delays('60000,300000,900000,3600000').describe(
    'Delays before each retry of a failed upload; the last repeats until the UTC day ends.',
  ),
  WORKER_LOCK_MS: z.coerce
    .number()
    .int()
    .min(500)
    .default(30000)
    .describe('BullMQ lock of an active job; a job whose worker died is retried once its lock lapses (checked as often).'),
};

/** BACKUP_URL's default, the simulated store on EXTERNAL_PORT. */
export const deriveBackup = (env: { BACKUP_URL?: string | undefined; EXTERNAL_PORT: number }) => ({ BACKUP_URL: env.BACKUP_URL ?? local(env.EXTERNAL_PORT) });

export const backupSettings = defineSettings('backup', backupGroup, { derive: deriveBackup });

export type BackupProcessConfig = ConfigOf<typeof backupSettings>;
