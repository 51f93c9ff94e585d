import { index, pgSchema, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, instant, uuidPrimaryKey } from '../../common/columns.ts';

export const eventsSchema = pgSchema('events');

export const events = eventsSchema.table(
  'events',
  {
    id: uuidPrimaryKey(),
    /** The organizer, a User of the users subgraph (no cross-schema foreign key). */
    userId: uuid('user_id').notNull(),
    name: text('name').notNull(),
    description: text('description'),
    startsAt: instant('starts_at').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('events_user_starts_idx').on(t.userId, t.startsAt, t.id), index('events_starts_idx').on(t.startsAt, t.id)],
);
