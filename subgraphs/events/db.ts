import { index, pgSchema, text, timestamp, uuid } from 'drizzle-orm/pg-core';

export const eventsSchema = pgSchema('events');

export const events = eventsSchema.table(
  'events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** The organizer, a User of the users subgraph (no cross-schema foreign key). */
    userId: uuid('user_id').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    startsAt: timestamp('starts_at', { withTimezone: true, precision: 3 }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [index('events_user_starts_idx').on(t.userId, t.startsAt, t.id), index('events_starts_idx').on(t.startsAt, t.id)],
);
