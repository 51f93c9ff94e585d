/**
 * The query shapes every repository shares, over any drizzle table: a page
 * after a cursor (keyset pagination) and the first N rows of each parent
 * (row_number() over each parent's rows). They know columns, not domains.
 */
import { and, asc, desc, eq, getTableColumns, gt, inArray, lt, lte, or, sql, type SQL, type SQLWrapper } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Database } from './db.ts';

/**
 * A total order of a table's rows: its keys (columns or SQL expressions, the
 * last one unique, such as the id), all ascending or all descending.
 */
export interface Ordering {
  keys: readonly SQLWrapper[];
  direction: 'asc' | 'desc';
}

/** ORDER BY terms of an ordering. */
export function orderBy(ordering: Ordering): SQL[] {
  return ordering.keys.map((key) => (ordering.direction === 'asc' ? asc(key) : desc(key)));
}

/**
 * The rows strictly after `after` (the keys of the last row seen) in
 * `ordering`: (k1 > v1) or (k1 = v1 and k2 > v2) …, with < when descending.
 * Undefined without a cursor.
 */
export function afterCursor(ordering: Ordering, after: readonly unknown[] | null): SQL | undefined {
  if (after === null) return undefined;
  const beyond = ordering.direction === 'asc' ? gt : lt;
  return or(...ordering.keys.map((key, i) => and(...ordering.keys.slice(0, i).map((prefix, j) => eq(prefix, after[j])), beyond(key, after[i]))));
}

/** `column` (a timestamp) is more than `ms` before now(), by the database's clock, as the column was written. */
export function olderThan(column: SQLWrapper, ms: number): SQL {
  return lt(column, sql`now() - make_interval(secs => ${ms / 1000})`);
}

/** Ascending by one unique key (an id): the order a sweep pages through rows in. */
export const byKey = (key: SQLWrapper): Ordering => ({ keys: [key], direction: 'asc' });

export interface PageQuery {
  ordering: Ordering;
  /** The keys of the last row of the previous page, or null for the first page. */
  after: readonly unknown[] | null;
  limit: number;
  /** A filter, applied before the cursor. */
  where?: SQL | undefined;
}

// drizzle cannot type a query over a generic table, so the helpers below query
// it as a PgTable and return what it selects, the table's own rows, as T's.

/** `limit` rows of `table` after the cursor, in the ordering: one statement. */
export function pageAfter<T extends PgTable>(db: Database, table: T, page: PageQuery): Promise<T['$inferSelect'][]> {
  return db
    .select()
    .from(table as PgTable)
    .where(and(page.where, afterCursor(page.ordering, page.after)))
    .orderBy(...orderBy(page.ordering))
    .limit(page.limit) as Promise<T['$inferSelect'][]>;
}

export interface PerParentQuery {
  /** The column naming each row's parent (a user id, a product id …). */
  parent: PgColumn;
  parentIds: readonly string[];
  /** The order within each parent. */
  ordering: Ordering;
  /** How many rows of each parent, at most. */
  first: number;
  /** A filter, applied before the cut. */
  where?: SQL | undefined;
}

/**
 * The first `first` rows of each parent in the ordering, in one statement: a
 * row_number() window per parent keeps the cut inside SQL. Rows come grouped
 * by parent, each parent's in the ordering.
 */
export async function firstPerParent<T extends PgTable>(db: Database, table: T, query: PerParentQuery): Promise<T['$inferSelect'][]> {
  const ranked = db
    .select({
      ...getTableColumns(table as PgTable),
      rank: sql<number>`row_number() over (partition by ${query.parent} order by ${sql.join(orderBy(query.ordering), sql`, `)})`.as('rank'),
    })
    .from(table as PgTable)
    .where(and(inArray(query.parent, [...query.parentIds]), query.where))
    .as('ranked');
  const rows = await db
    .select()
    .from(ranked)
    .where(lte(ranked.rank, query.first))
    .orderBy(sql`${sql.identifier(query.parent.name)}`, asc(ranked.rank));
  return rows.map(({ rank: _rank, ...row }) => row) as T['$inferSelect'][];
}
