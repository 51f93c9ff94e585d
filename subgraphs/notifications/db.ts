import { index, integer, jsonb, pgSchema, text } from 'drizzle-orm/pg-core';
import { instant, timestamps, uuidPrimaryKey } from '../../common/columns.ts';
import { outboxTable } from '../../common/outbox-table.ts';

export const notificationsSchema = pgSchema('notifications');

export const notificationStatus = notificationsSchema.enum('notification_status', ['QUEUED', 'RETRYING', 'SENT', 'FAILED']);

export const notifications = notificationsSchema.table(
  'notifications',
  {
    id: uuidPrimaryKey(),
    /** The source event: one notification per eventId. */
    eventId: text('event_id').notNull().unique(),
    type: text('type').notNull(),
    /**
     * The recipient, a User of the users subgraph. Text rather than uuid:
     * external producers name users by whatever id they were given, and an id
     * no user has simply resolves to a null recipient.
     */
    userId: text('user_id'),
    /** When the source event happened, as its producer said. */
    occurredAt: instant('occurred_at').notNull().defaultNow(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    status: notificationStatus('status').notNull().default('QUEUED'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    ...timestamps(),
    sentAt: instant('sent_at'),
  },
  (t) => [
    index('notifications_created_idx').on(t.createdAt, t.id),
    index('notifications_status_created_idx').on(t.status, t.createdAt, t.id),
    index('notifications_user_created_idx').on(t.userId, t.createdAt, t.id),
  ],
);

export const notificationsOutbox = outboxTable(notificationsSchema);
