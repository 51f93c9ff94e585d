import { sql } from 'drizzle-orm';
import { boolean, index, pgSchema, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { outboxTable } from '../../common/outbox-table.ts';

export const usersSchema = pgSchema('users');

export const users = usersSchema.table(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    email: text('email').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    // Emails are unique whatever their case.
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
    index('users_created_at_id_idx').on(t.createdAt, t.id),
  ],
);

/** Last-known-good enrichment per user. */
export const enrichments = usersSchema.table('enrichments', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  /** false when the enrichment service answered 404 (nothing known). */
  found: boolean('found').notNull(),
  company: text('company'),
  jobTitle: text('job_title'),
  location: text('location'),
  fetchedAt: timestamp('fetched_at', { withTimezone: true, precision: 3 }).notNull(),
});

export const usersOutbox = outboxTable(usersSchema);
