import { and, asc, count, eq, getTableColumns, gt, inArray, lte, or, sql } from 'drizzle-orm';
import type { Database } from '../../common/db.ts';
import { events } from './db.ts';

export type EventRow = typeof events.$inferSelect;
export type NewEvent = typeof events.$inferInsert;

/** The only code that touches the events schema's tables. */
export class EventsRepository {
  constructor(private readonly db: Database) {}

  /** One statement for any number of ids. */
  byIds(ids: readonly string[]): Promise<EventRow[]> {
    return this.db.select().from(events).where(inArray(events.id, [...ids]));
  }

  /**
   * The first `first` events of each user, by startsAt then id, in one
   * statement: a row_number() window per user keeps the cut inside SQL.
   */
  async firstByUserIds(userIds: readonly string[], first: number): Promise<EventRow[]> {
    const ranked = this.db
      .select({
        ...getTableColumns(events),
        rank: sql<number>`row_number() over (partition by ${events.userId} order by ${events.startsAt}, ${events.id})`.as('rank'),
      })
      .from(events)
      .where(inArray(events.userId, [...userIds]))
      .as('ranked');
    const rows = await this.db
      .select()
      .from(ranked)
      .where(lte(ranked.rank, first))
      .orderBy(asc(ranked.userId), asc(ranked.startsAt), asc(ranked.id));
    return rows.map(({ rank: _rank, ...row }) => row);
  }

  /** `limit` events after the cursor, ordered by startsAt then id. */
  page(limit: number, after: readonly [Date, string] | null): Promise<EventRow[]> {
    return this.db
      .select()
      .from(events)
      .where(after ? or(gt(events.startsAt, after[0]), and(eq(events.startsAt, after[0]), gt(events.id, after[1]))) : undefined)
      .orderBy(asc(events.startsAt), asc(events.id))
      .limit(limit);
  }

  async count(): Promise<number> {
    const [row] = await this.db.select({ n: count() }).from(events);
    return row?.n ?? 0;
  }

  async create(event: NewEvent & { id: string; startsAt: Date }): Promise<EventRow> {
    const [row] = await this.db.insert(events).values(event).returning();
    return row!;
  }
}
