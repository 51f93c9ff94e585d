import { count, inArray } from 'drizzle-orm';
import type { Database } from '../../common/db.ts';
import { firstPerParent, pageAfter, type Ordering } from '../../common/sql.ts';
import { events } from './db.ts';

export type EventRow = typeof events.$inferSelect;
export type NewEvent = typeof events.$inferInsert;

/** Events' order: startsAt, then id. */
const BY_START: Ordering = { keys: [events.startsAt, events.id], direction: 'asc' };

/** The only code that touches the events schema's tables. */
export class EventsRepository {
  constructor(private readonly db: Database) {}

  /** One statement for any number of ids. */
  byIds(ids: readonly string[]): Promise<EventRow[]> {
    return this.db
      .select()
      .from(events)
      .where(inArray(events.id, [...ids]));
  }

  /**
   * The first `first` events of each user, by startsAt then id, in one
   * statement: a row_number() window per user keeps the cut inside SQL.
   */
  firstByUserIds(userIds: readonly string[], first: number): Promise<EventRow[]> {
    return firstPerParent(this.db, events, { parent: events.userId, parentIds: userIds, ordering: BY_START, first });
  }

  /** `limit` events after the cursor, ordered by startsAt then id. */
  page(limit: number, after: readonly [Date, string] | null): Promise<EventRow[]> {
    return pageAfter(this.db, events, { ordering: BY_START, after, limit });
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
