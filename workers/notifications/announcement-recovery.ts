import { and, eq, not } from 'drizzle-orm';
import type { WorkersConfig as Config } from '../settings.ts';
import type { Database } from '../../common/db.ts';
import { byKey, olderThan, pageAfter } from '../../common/sql.ts';
import { notificationEventsQueue, type NotificationsRepository } from '../../subgraphs/notifications/module.ts';
import { addOutboxJob, loadOutboxes, type OutboxRow, type OutboxTable } from '../outbox-relay.ts';
import { batches, RecoverySweep, type SweepDependencies } from '../recovery-sweep.ts';

/** How far back the sweep looks at announcements: a day (or two sweep intervals, if NOTIFY_RECOVERY_MS is longer). */
export const ANNOUNCEMENT_HORIZON_MS = 24 * 3600 * 1000;

export interface AnnouncementRecoveryOptions extends SweepDependencies {
  /** The database of every outbox, unless `dbOf` says otherwise. */
  db: Database;
  /** Each outbox's database (its owner's: users' and orders' may live apart from notifications'). Default `db` for all. */
  dbOf?: (table: OutboxTable) => Database;
  /** Tells which announced events are recorded as notifications. */
  repo: NotificationsRepository;
  /** NOTIFY_RECOVERY_MS, and the settings the events' job options are drawn from. */
  config: Config;
  /** The outboxes announcements are written to. Default loadOutboxes() (users' and orders' hold them). */
  tables?: readonly OutboxTable[];
  /** Default ANNOUNCEMENT_HORIZON_MS (at least twice NOTIFY_RECOVERY_MS). */
  horizonMs?: number;
}

/** The event an announcement row carries: its eventId, which is its job id unless the payload names one. */
const eventIdOf = (row: OutboxRow) => (typeof row.payload.eventId === 'string' ? row.payload.eventId : row.jobId);

/** requeued: an announced event published again (or run again). */
export type AnnouncementRecovery = RecoverySweep<OutboxRow, 'requeued'>;

/**
 * The announced events (USER_SIGNUP, ORDER_CONFIRMED, ORDER_FAILED) that the
 * relay published to `notification-events` but that no notification records:
 * had Redis lost the job before the notification-events worker recorded it,
 * no notification row would exist for the delivery sweep to find. Every
 * NOTIFY_RECOVERY_MS it reads, from each outbox (through the modules, as the
 * relay does), the announcements published between NOTIFY_RECOVERY_MS and the
 * horizon ago, drops those whose eventId is recorded (one query per batch),
 * and looks at the job of the rest: a missing one is published again from its
 * outbox row, under the same job id (the eventId; recording is once per
 * eventId anyway); a completed one (its notification gone with a database
 * restore) runs again. One that failed for good (a malformed event, 5 real
 * failures) stays in the failed set: running it again would fail again. Rows
 * older than the horizon are not read again, so no sweep reads the whole
 * history; docs/architecture.md ("Recovery sweeps") says what that leaves.
 * The announcements are read from each outbox's own database and checked
 * against the notifications' in a separate query: nothing here needs one
 * transaction across the two.
 */
export function announcementRecovery(options: AnnouncementRecoveryOptions): AnnouncementRecovery {
  const { db, repo, config } = options;
  const horizonMs = options.horizonMs ?? Math.max(ANNOUNCEMENT_HORIZON_MS, 2 * config.NOTIFY_RECOVERY_MS);
  /** `limit` announcements of `table` after the id `after` published between NOTIFY_RECOVERY_MS and the horizon ago. */
  const published = (table: OutboxTable, after: number | undefined, limit: number): Promise<OutboxRow[]> => {
    const where = and(
      eq(table.queue, notificationEventsQueue.name),
      olderThan(table.publishedAt, config.NOTIFY_RECOVERY_MS),
      not(olderThan(table.publishedAt, horizonMs)),
    );
    return pageAfter(options.dbOf?.(table) ?? db, table, { ordering: byKey(table.id), after: after === undefined ? null : [after], limit, where });
  };
  return new RecoverySweep<OutboxRow, 'requeued'>({
    ...options,
    name: 'announcement recovery',
    everyMs: config.NOTIFY_RECOVERY_MS,
    async *rows(batchSize) {
      for (const table of options.tables ?? (await loadOutboxes())) {
        for await (const batch of batches<OutboxRow, number>(
          (after, limit) => published(table, after, limit),
          (row) => row.id,
          batchSize,
        )) {
          const recorded = await repo.recorded(batch.map(eventIdOf));
          const unrecorded = batch.filter((row) => !recorded.has(eventIdOf(row)));
          if (unrecorded.length > 0) yield unrecorded;
        }
      }
    },
    jobIdOf: (row) => row.jobId,
    logFields: (row) => ({ eventId: eventIdOf(row), type: row.name }),
    requeue: (row) => addOutboxJob(options.queue, row, config),
    lost: 'announced event lost from Redis before it was recorded: published again',
    completed: {
      // Recorded meanwhile (the batch was read before its job finished): nothing to do.
      unfinished: async (row) => (await repo.recorded([eventIdOf(row)])).size === 0,
      warning: 'announced event completed but not recorded (a restored database): recorded again',
    },
  });
}
