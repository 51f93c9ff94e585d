import { bigint, integer, pgSchema, text } from 'drizzle-orm/pg-core';
import { instant, timestamps } from '../../common/columns.ts';

/** The backups' own schema: the upload ledger. */
export const backupsSchema = pgSchema('backups');

/**
 * How a day's upload ended:
 * - `pending`: being tried, or the last attempt failed (5xx, timeout, refused connection) and a retry is due;
 * - `accepted`: the backup service stored the archive (2xx); nothing more is sent that day;
 * - `slot-used`: the service answered 429, its one upload of the day is taken; nothing more is sent that day;
 * - `rejected`: the service refused the archive itself (another 4xx); retrying it cannot help.
 */
export const UPLOAD_OUTCOMES = ['pending', 'accepted', 'slot-used', 'rejected'] as const;
export type UploadOutcome = (typeof UPLOAD_OUTCOMES)[number];

export const uploadOutcome = backupsSchema.enum('upload_outcome', UPLOAD_OUTCOMES);

/** The ledger: one row per UTC day, so a day's upload slot is used at most once. */
export const uploads = backupsSchema.table('uploads', {
  /** The UTC day of the upload (the backup service's slot), YYYY-MM-DD. */
  day: text('day').primaryKey(),
  /** The archive's name at the backup service. */
  name: text('name').notNull(),
  outcome: uploadOutcome('outcome').notNull().default('pending'),
  /** Upload attempts made that day. */
  attempts: integer('attempts').notNull().default(0),
  /** HTTP status of the last answer; null when there was none (timeout, refused connection). */
  lastStatus: integer('last_status'),
  lastError: text('last_error'),
  /** Time of the newest dump in the archive sent; dumps up to it are off-site once `accepted`. */
  coversTo: instant('covers_to'),
  dumps: integer('dumps'),
  size: bigint('size', { mode: 'number' }),
  sha256: text('sha256'),
  ...timestamps(),
});

export type UploadRow = typeof uploads.$inferSelect;
