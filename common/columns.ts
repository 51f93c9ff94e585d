import { timestamp, uuid } from 'drizzle-orm/pg-core';

/** A row's id: a UUID that PostgreSQL generates. */
export const uuidPrimaryKey = () => uuid('id').primaryKey().defaultRandom();

/** A point in time: timestamptz to the millisecond, what a DateTime carries. */
export const instant = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });

/** When a row was written first: now() on insert. */
export const createdAt = () => instant('created_at').notNull().defaultNow();

/** A record's created_at and updated_at, both now() on insert; the code that changes the row sets updated_at. */
export const timestamps = () => ({ createdAt: createdAt(), updatedAt: instant('updated_at').notNull().defaultNow() });
