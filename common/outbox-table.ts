import { bigserial, index, jsonb, text, type PgSchema } from 'drizzle-orm/pg-core';
import { createdAt, instant } from './columns.ts';
import { sql } from 'drizzle-orm';

/**
 * The transactional outbox of one schema: rows written in the same transaction
 * as the change they announce, published to a BullMQ queue by the relay.
 */
export function outboxTable(schema: PgSchema) {
  return schema.table(
    'outbox',
    {
      id: bigserial('id', { mode: 'number' }).primaryKey(),
      /** BullMQ queue the row is published to (declared with its job in a module's jobs.ts). */
      queue: text('queue').notNull(),
      /** BullMQ job name. */
      name: text('name').notNull(),
      /** BullMQ job id: publishing the same row twice adds one job. */
      jobId: text('job_id').notNull(),
      payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
      createdAt: createdAt(),
      publishedAt: instant('published_at'),
    },
    (t) => [
      index()
        .on(t.id)
        .where(sql`${t.publishedAt} is null`),
      // The rows of one queue published in a time window (the notifications' recovery sweep looks at a day of announcements).
      index()
        .on(t.queue, t.publishedAt)
        .where(sql`${t.publishedAt} is not null`),
    ],
  );
}

/** An outbox table made by outboxTable(). */
export type OutboxTable = ReturnType<typeof outboxTable>;
