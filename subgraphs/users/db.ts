import { sql } from 'drizzle-orm';
import { boolean, index, pgSchema, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { instant, timestamps, uuidPrimaryKey } from '../../common/columns.ts';
import { outboxTable } from '../../common/outbox-table.ts';

export const usersSchema = pgSchema('users');

export const users = usersSchema.table(
  'users',
  {
    id: uuidPrimaryKey(),
    name: text('name').notNull(),
    email: text('email').notNull(),
    ...timestamps(),
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
  fetchedAt: instant('fetched_at').notNull(),
});

export const usersOutbox = outboxTable(usersSchema);
