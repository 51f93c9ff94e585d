import { timestamp, uuid } from 'drizzle-orm/pg-core';

/** A row's id: a UUID that PostgreSQL generates. */
export const uuidPrimaryKey = () => uuid('id').primaryKey().defaultRandom();

/** A point in time: timestamptz to the millisecond, what a DateTime carries. */
export const instant = (name: string) => timestamp(name, { withTimezone: true, precision: 3 });
