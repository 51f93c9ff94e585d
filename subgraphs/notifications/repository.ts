import { and, count, eq, inArray, isNull, ne, notExists, sql } from 'drizzle-orm';
import type { Database } from '../../common/db.ts';
import { byKey, firstPerParent, olderThan, pageAfter, type Ordering } from '../../common/sql.ts';
import { columnsOf, names, statement, value } from '../../common/statement.ts';
import { notifications, notificationsOutbox } from './db.ts';
import { OUTBOX_CHANNEL } from '../../common/queues.ts';
import { deliverNotification, deliveryJobData } from './jobs.ts';

export type NotificationRow = typeof notifications.$inferSelect;
/** A notification's status: the schema's NotificationStatus (server.ts checks they are the same). */
export type NotificationStatus = 'QUEUED' | 'RETRYING' | 'SENT' | 'FAILED';

/** Notifications' order: newest first (createdAt, then id, descending). */
const NEWEST_FIRST: Ordering = { keys: [notifications.createdAt, notifications.id], direction: 'desc' };

/** A source event, validated: what ingestEvent and the notification-events worker record. */
export interface SourceEvent {
  eventId: string;
  type: string;
  userId: string;
  occurredAt: Date;
  payload: Record<string, unknown>;
  /** Carried on into the delivery job for tracing: its logs carry the ids, its span continues the trace of `traceparent`. */
  requestId?: string;
  correlationId?: string;
  traceparent?: string;
}

export interface Recorded {
  eventId: string;
  status: NotificationStatus;
  /** False when the eventId was already known: nothing new was written. */
  created: boolean;
}

/**
 * A source event recorded in one statement: the notification (unless its
 * eventId is known), its delivery job's outbox row, and a NOTIFY that wakes
 * the outbox relay at commit rather than at its next poll.
 */
const RECORD = statement<
  typeof notifications,
  { eventId: string; type: string; userId: string; occurredAt: string; payload: string; queue: string; name: string; jobId: string; job: string }
>(
  notifications,
  sql`with recorded as (
      insert into ${notifications} (${names(notifications.eventId, notifications.type, notifications.userId, notifications.occurredAt, notifications.payload)})
      values (${value('eventId')}, ${value('type')}, ${value('userId')}, ${value('occurredAt')}::timestamptz, ${value('payload')}::jsonb)
      on conflict (${names(notifications.eventId)}) do nothing
      returning *),
    outbox as (
      insert into ${notificationsOutbox} (${names(notificationsOutbox.queue, notificationsOutbox.name, notificationsOutbox.jobId, notificationsOutbox.payload)})
      select ${value('queue')}::text, ${value('name')}::text, ${value('jobId')}::text, ${value('job')}::jsonb from recorded)
    select ${columnsOf(notifications, 'recorded')}, pg_notify(${OUTBOX_CHANNEL}, 'notifications') from recorded`,
);

/**
 * A source event's notification alone, unless its eventId is known: for a
 * caller that adds the delivery job itself once this has committed (the
 * notification-events worker), so no outbox row, relay pass or NOTIFY.
 */
const RECORD_NOTIFICATION = statement<typeof notifications, { eventId: string; type: string; userId: string; occurredAt: string; payload: string }>(
  notifications,
  sql`insert into ${notifications} as recorded (${names(notifications.eventId, notifications.type, notifications.userId, notifications.occurredAt, notifications.payload)})
    values (${value('eventId')}, ${value('type')}, ${value('userId')}, ${value('occurredAt')}::timestamptz, ${value('payload')}::jsonb)
    on conflict (${names(notifications.eventId)}) do nothing
    returning ${columnsOf(notifications, 'recorded')}`,
);

/** The notification columns both record statements insert. */
function notificationValues(event: SourceEvent) {
  return {
    eventId: event.eventId,
    type: event.type,
    userId: event.userId,
    occurredAt: event.occurredAt.toISOString(),
    payload: JSON.stringify(event.payload),
  };
}

/** The only code that touches the notifications schema's tables. */
export class NotificationsRepository {
  // Every delivery runs these two: built once, and prepared by PostgreSQL on each connection.
  private readonly beginAttemptStatement;
  private readonly markSentStatement;

  constructor(private readonly db: Database) {
    const unsent = and(eq(notifications.eventId, sql.placeholder('eventId')), ne(notifications.status, 'SENT'));
    this.beginAttemptStatement = db
      .update(notifications)
      .set({ attempts: sql`${notifications.attempts} + 1`, updatedAt: sql`now()` })
      .where(unsent)
      .returning()
      .prepare('notifications_begin_attempt');
    this.markSentStatement = db
      .update(notifications)
      .set({ status: 'SENT', sentAt: sql`now()`, lastError: null, updatedAt: sql`now()` })
      .where(unsent)
      .prepare('notifications_mark_sent');
  }

  /** One statement for any number of ids. */
  byIds(ids: readonly string[]): Promise<NotificationRow[]> {
    return this.db
      .select()
      .from(notifications)
      .where(inArray(notifications.id, [...ids]));
  }

  async byEventId(eventId: string): Promise<NotificationRow | undefined> {
    const [row] = await this.db.select().from(notifications).where(eq(notifications.eventId, eventId));
    return row;
  }

  /**
   * The newest `first` notifications of each user, in one statement: a
   * row_number() window per user keeps the cut inside SQL.
   */
  newestByUserIds(userIds: readonly string[], first: number): Promise<NotificationRow[]> {
    return firstPerParent(this.db, notifications, { parent: notifications.userId, parentIds: userIds, ordering: NEWEST_FIRST, first });
  }

  /** `limit` notifications after the cursor, newest first (createdAt, then id, descending); `recipientId` null: everyone's. */
  page(status: NotificationStatus | null, limit: number, after: readonly [Date, string] | null, recipientId: string | null): Promise<NotificationRow[]> {
    const where = and(status ? eq(notifications.status, status) : undefined, recipientId !== null ? eq(notifications.userId, recipientId) : undefined);
    return pageAfter(this.db, notifications, { ordering: NEWEST_FIRST, after, limit, where });
  }

  async count(status: NotificationStatus | null, recipientId: string | null): Promise<number> {
    const [row] = await this.db
      .select({ n: count() })
      .from(notifications)
      .where(and(status ? eq(notifications.status, status) : undefined, recipientId !== null ? eq(notifications.userId, recipientId) : undefined));
    return row?.n ?? 0;
  }

  /**
   * Records a source event once: the QUEUED notification and its delivery
   * outbox row in one statement (RECORD). A known eventId changes nothing and
   * reports the existing notification's status. ingestEvent's path: nothing
   * runs a mutation again, so the outbox is what gets its job added.
   */
  async record(event: SourceEvent): Promise<Recorded> {
    const job = deliverNotification.message(deliveryJobData(event, event));
    const [inserted] = await RECORD(this.db, {
      ...notificationValues(event),
      queue: job.queue,
      name: job.name,
      jobId: job.jobId,
      job: JSON.stringify(job.payload),
    });
    return this.outcome(event, inserted);
  }

  /**
   * Records a source event once, as record() does, but writes no delivery
   * outbox row (RECORD_NOTIFICATION): the caller adds the delivery job itself
   * after this returns, also when the eventId was known and the notification
   * still waits on delivery (its earlier add may never have happened). For a
   * caller that is run again until it has added the job: the
   * notification-events worker, whose BullMQ job is retried, or re-run when
   * its worker dies. A notification left with neither job nor outbox row is
   * put back by the delivery recovery sweep (waitingOnDelivery).
   */
  async recordWithoutOutbox(event: SourceEvent): Promise<Recorded> {
    const [inserted] = await RECORD_NOTIFICATION(this.db, notificationValues(event));
    return this.outcome(event, inserted);
  }

  /** What record() and recordWithoutOutbox() report: the row they inserted, else the existing one's status. */
  private async outcome(event: SourceEvent, inserted: NotificationRow | undefined): Promise<Recorded> {
    if (inserted) return { eventId: event.eventId, status: inserted.status, created: true };
    const [existing] = await this.db.select({ status: notifications.status }).from(notifications).where(eq(notifications.eventId, event.eventId));
    return { eventId: event.eventId, status: existing!.status, created: false };
  }

  /**
   * Counts a delivery attempt that is about to be made. Undefined when there
   * is nothing to send: no such notification, or it is SENT already.
   */
  async beginAttempt(eventId: string): Promise<NotificationRow | undefined> {
    const [row] = await this.beginAttemptStatement.execute({ eventId });
    return row;
  }

  /** Takes back an attempt counted by beginAttempt that was never made (the provider's breaker refused the call). */
  async uncountAttempt(eventId: string): Promise<void> {
    await this.db
      .update(notifications)
      .set({ attempts: sql`greatest(${notifications.attempts} - 1, 0)`, updatedAt: sql`now()` })
      .where(and(eq(notifications.eventId, eventId), ne(notifications.status, 'SENT')));
  }

  /** The provider accepted the notification. */
  async markSent(eventId: string): Promise<void> {
    await this.markSentStatement.execute({ eventId });
  }

  /**
   * An attempt failed: RETRYING when another is scheduled, else FAILED. With
   * `unchangedForMs` (the recovery sweep's), only if the row is still waiting
   * on its job and has not changed for that long. True when the row changed.
   */
  async markAttemptFailed(eventId: string, error: string, final: boolean, unchangedForMs?: number): Promise<boolean> {
    const changed = await this.db
      .update(notifications)
      .set({ status: final ? 'FAILED' : 'RETRYING', lastError: error.slice(0, 1000), updatedAt: sql`now()` })
      .where(and(eq(notifications.eventId, eventId), unchangedForMs === undefined ? ne(notifications.status, 'SENT') : this.waitingSince(unchangedForMs)))
      .returning({ id: notifications.id });
    return changed.length > 0;
  }

  /**
   * Notifications waiting on their delivery job (QUEUED, RETRYING) with no
   * change for `olderThanMs`, `limit` of them by id after `after`: what the
   * recovery sweep looks at. One whose delivery outbox row is still
   * unpublished is left out: publishing it is the relay's work. One with no
   * outbox row at all (recordWithoutOutbox: the notification-events worker
   * adds its job) is looked at like a published one.
   */
  waitingOnDelivery(olderThanMs: number, limit: number, after?: string): Promise<NotificationRow[]> {
    const unpublished = this.db
      .select({ id: notificationsOutbox.id })
      .from(notificationsOutbox)
      .where(and(isNull(notificationsOutbox.publishedAt), eq(sql`${notificationsOutbox.payload}->>'eventId'`, notifications.eventId)));
    const where = and(this.waitingSince(olderThanMs), notExists(unpublished));
    return pageAfter(this.db, notifications, { ordering: byKey(notifications.id), after: after === undefined ? null : [after], limit, where });
  }

  /** Of `eventIds`, those recorded as a notification. */
  async recorded(eventIds: readonly string[]): Promise<Set<string>> {
    if (eventIds.length === 0) return new Set();
    const rows = await this.db
      .select({ eventId: notifications.eventId })
      .from(notifications)
      .where(inArray(notifications.eventId, [...eventIds]));
    return new Set(rows.map((row) => row.eventId));
  }

  private waitingSince(ms: number) {
    return and(inArray(notifications.status, ['QUEUED', 'RETRYING']), olderThan(notifications.updatedAt, ms));
  }

  /**
   * FAILED -> QUEUED. `requeue` puts the delivery job back while the row is
   * locked, so the status changes only when the job is really queued again.
   * Undefined for an unknown id; `retried: false` when it was not FAILED.
   */
  retry(id: string, requeue: (row: NotificationRow) => Promise<void>): Promise<{ row: NotificationRow; retried: boolean } | undefined> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.select().from(notifications).where(eq(notifications.id, id)).for('update');
      if (!row) return undefined;
      if (row.status !== 'FAILED') return { row, retried: false };
      await requeue(row);
      const [updated] = await tx
        .update(notifications)
        .set({ status: 'QUEUED', updatedAt: sql`now()` })
        .where(eq(notifications.id, id))
        .returning();
      return { row: updated!, retried: true };
    });
  }
}
